"""leti-view's local web viewer: a Flask app serving Netron with latency overlays."""
