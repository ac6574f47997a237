"""Write a ``SimResult`` as the feed files a bank would send, plus the simulator's own files."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from postloan.domain.errors import ConfigError
from postloan.sim.runner import SimResult

__all__ = ["FEED_FILES", "EXTRA_FILES", "write_feeds"]

FEED_FILES = ("borrowers", "contacts", "loans", "schedules", "loan_marks", "transactions")
EXTRA_FILES = ("truth", "sim_monthly", "treatments")

_AMOUNTS = {
    "borrowers": ["monthly_income"],
    "loans": ["principal"],
    "schedules": ["principal_due", "interest_due", "fee_due"],
    "transactions": ["amount"],
}


def money_text(col: str) -> pl.Expr:
    """Minor units (int64, 2 decimals) as a decimal string: 123456 → '1234.56'."""
    c = pl.col(col)
    return (
        pl.when(c.is_null())
        .then(None)
        .otherwise((c // 100).cast(pl.String) + "." + (c % 100).cast(pl.String).str.zfill(2))
        .alias(col)
    )


def write_feeds(result: SimResult, out_dir: Path | str, fmt: str = "parquet") -> list[Path]:
    """Write the feeds (+ truth.parquet, sim_monthly.parquet, treatments.parquet) to ``out_dir``.

    Feeds are Parquet (``fmt='parquet'``) or CSV (``'csv'``); the simulator's own
    files are always Parquet. Returns the paths written, in writing order.
    """
    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"--format must be parquet or csv, not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "borrowers": result.borrowers,
        "contacts": result.contacts,
        "loans": result.loans.drop("fee_per_period"),
        "schedules": result.schedules,
        "loan_marks": result.loan_marks,
        "transactions": result.transactions,
    }
    written = []
    for name in FEED_FILES:
        frame = frames[name].with_columns([money_text(c) for c in _AMOUNTS.get(name, [])])
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            frame.write_csv(path)
        else:
            frame.write_parquet(path, compression="zstd", statistics=False)
        written.append(path)
    extras = {
        "truth": result.truth,
        "sim_monthly": result.monthly,
        "treatments": result.treatments,
    }
    for name in EXTRA_FILES:
        path = out / f"{name}.parquet"
        extras[name].write_parquet(path, compression="zstd", statistics=False)
        written.append(path)
    return written
