"""The operational store: SQLAlchemy tables, Alembic migrations, repositories."""

from postloan.store.db import Store, open_store

__all__ = ["Store", "open_store"]
