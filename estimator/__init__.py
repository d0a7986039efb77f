"""leti-view's measurement and estimation core: graph reader, benchmark database, estimator."""

__version__ = "0.1.0"
