"""Where postloan keeps its state, read from the environment.

``POSTLOAN_HOME`` (default ``~/.postloan``) holds the SQLite file, the Parquet
snapshot store, models and keys. ``POSTLOAN_DATABASE_URL`` overrides the
database (for example ``postgresql+psycopg://user@host/postloan``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    database_url: str

    @property
    def snapshot_dir(self) -> Path:
        return self.home / "snapshots"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def config_file(self) -> Path:
        return self.home / "config.yaml"

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    home = Path(env.get("POSTLOAN_HOME") or Path.home() / ".postloan").expanduser()
    url = env.get("POSTLOAN_DATABASE_URL") or f"sqlite:///{home / 'postloan.db'}"
    return Settings(home=home, database_url=url)
