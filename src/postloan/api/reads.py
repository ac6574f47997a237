"""Connections for the hot read-only routes (the work queue and the case page).

A read-only route needs no ``BEGIN``/``COMMIT``: under PostgreSQL's default READ
COMMITTED every statement takes its own snapshot whether or not it runs inside a
transaction, so an autocommit connection returns exactly what a transaction would,
two round trips cheaper per request. Never use it for a route that writes
(including an audit entry): those need :meth:`postloan.store.Store.begin`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from postloan.store import Store


@contextmanager
def reading(store: Store) -> Iterator[Connection]:
    """An autocommit connection from the store's pool (read-only use)."""
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
