"""What one import run carries between feeds, and small helpers the loaders share."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Connection

from postloan.feeds.quarantine import Quarantine
from postloan.feeds.readers import LINE
from postloan.feeds.validation import ValidatedFeed
from postloan.store.bulk import read_frame
from postloan.store.db import Store


@dataclass
class RunContext:
    store: Store
    run_id: str
    quarantine: Quarantine
    loans_loaded: list[str] = field(default_factory=list)


@dataclass
class Counts:
    loaded: int = 0
    held: int = 0
    flagged: int = 0


def loan_currencies(conn: Connection) -> pl.DataFrame:
    return read_frame(
        conn, "SELECT loan_id, currency FROM loans", {"loan_id": pl.Utf8, "currency": pl.Utf8}
    )


def body(vf: ValidatedFeed, ctx: RunContext) -> pl.DataFrame:
    return vf.valid.drop(LINE).with_columns(pl.lit(ctx.run_id).alias("import_run_id"))
