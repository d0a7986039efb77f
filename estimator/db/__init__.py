"""The benchmark database: schema and its revisions, queries, work claiming, export/import."""

from .database import Database, open_db, upgrade_db

__all__ = ["Database", "open_db", "upgrade_db"]
