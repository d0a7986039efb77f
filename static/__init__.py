"""Our own overlay assets (JS/CSS) served next to the installed Netron package."""
