"""Write a ``SimResult`` as the feed files a bank would send, plus the simulator's own files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from postloan.domain.errors import ConfigError
from postloan.sim.runner import SimResult

__all__ = ["FEED_FILES", "EXTRA_FILES", "write_feeds"]

FEED_FILES = ("borrowers", "contacts", "loans", "schedules", "loan_marks", "transactions")
EXTRA_FILES = ("truth", "sim_monthly", "treatments")

_SLICE = 1_000_000

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
        money = [money_text(c) for c in _AMOUNTS.get(name, [])]
        path = out / f"{name}.{fmt}"
        _write(frames[name], money, path, fmt)
        written.append(path)
    extras = {
        "truth": result.truth,
        "sim_monthly": result.monthly,
        "treatments": result.treatments,
    }
    for name in EXTRA_FILES:
        path = out / f"{name}.parquet"
        _write(extras[name], [], path, "parquet")
        written.append(path)
    return written


def _write(frame: pl.DataFrame, exprs: list[pl.Expr], path: Path, fmt: str) -> None:
    """Write in slices of ``_SLICE`` rows (one Parquet row group each), so formatting
    amounts as text never holds a second copy of a large frame; deterministic."""
    if fmt == "csv":
        with path.open("wb") as fh:
            for k, off in enumerate(range(0, max(frame.height, 1), _SLICE)):
                part = frame.slice(off, _SLICE).with_columns(exprs)
                part.write_csv(fh, include_header=k == 0)
        return
    first = frame.head(0).with_columns(exprs).to_arrow()
    with pq.ParquetWriter(path, first.schema, compression="zstd", write_statistics=False) as w:
        for off in range(0, frame.height, _SLICE):
            part = frame.slice(off, _SLICE).with_columns(exprs).to_arrow()
            w.write_table(part.cast(first.schema), row_group_size=_SLICE)
