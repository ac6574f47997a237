"""Open the operational store: an engine on the configured URL, upgraded to the
newest schema on first use (Alembic, run in-process; no alembic.ini needed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from postloan.config import Settings, load_settings
from postloan.domain.errors import ConfigError
from postloan.security.pii import PiiCipher

MIGRATIONS = Path(__file__).parent / "migrations"


class Store:
    """The operational database plus the PII cipher of this installation."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @cached_property
    def cipher(self) -> PiiCipher:
        return PiiCipher.from_dir(self.settings.keys_dir)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction (committed on success)."""
        with self.engine.begin() as conn:
            yield conn

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk loads of large feeds
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as err:
        raise ConfigError(
            f"database URL is not usable ({err}); set POSTLOAN_DATABASE_URL to "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def open_store(settings: Settings | None = None, *, migrate: bool = True) -> Store:
    """The store named by ``settings`` (default: the environment), at the newest schema."""
    settings = settings or load_settings()
    if settings.database_url.startswith("sqlite"):
        settings.ensure_home()
    engine = make_engine(settings.database_url)
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as err:
            engine.dispose()
            reason = str(err.orig).splitlines()[0] if err.orig else str(err)
            raise ConfigError(
                f"cannot open the database ({reason}); check POSTLOAN_DATABASE_URL "
                "and that the server is running"
            ) from None
    return Store(engine, settings)
