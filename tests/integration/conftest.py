"""Database fixtures: every store test runs on SQLite and, when
POSTLOAN_TEST_PG_URL is set, on PostgreSQL in a fresh schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from postloan.config import load_settings
from postloan.store import Store, open_store

PG_ENV = "POSTLOAN_TEST_PG_URL"


def _pg_schema_url(base: str, schema: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, postloan_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database URL for an empty database, also set as POSTLOAN_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{postloan_home / 'postloan.db'}"
        monkeypatch.setenv("POSTLOAN_DATABASE_URL", url)
        yield url
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (run `. .ci/start-postgres.sh`)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = _pg_schema_url(base, schema)
    monkeypatch.setenv("POSTLOAN_DATABASE_URL", url)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(load_settings())
    assert opened.settings.database_url == database_url
    try:
        yield opened
    finally:
        opened.close()
