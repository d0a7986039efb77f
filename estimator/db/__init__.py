"""The benchmark database: schema, queries, and export/import."""

from .database import Database, open_db

__all__ = ["Database", "open_db"]
