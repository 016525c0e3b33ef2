"""Database engine, sessions and the declarative base every model shares."""

from shared.db.base import Base, UTCDateTime, utcnow
from shared.db.session import Database, get_database

__all__ = ["Base", "Database", "UTCDateTime", "get_database", "utcnow"]
