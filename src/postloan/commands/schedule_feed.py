"""``postloan schedule --loans FILE [--out FILE]``: schedule every loan of a loans feed.

The feed is read and validated like ``postloan import`` does it; rows that break
a rule are reported on stderr (file, line, column, message) and left out, the
rest go through the vectorised kernel in one call. The result is a schedules
feed (the columns ``postloan import`` expects in schedules.csv) with amounts as
decimal strings in each loan's currency: CSV or Parquet by the extension of
``--out``, CSV on stdout without it. Exit code 3 when any row was rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import typer

from postloan.batch import generate_schedules
from postloan.domain.errors import FeedError
from postloan.feeds.amounts import currency_exponent
from postloan.feeds.readers import read_table
from postloan.feeds.validation import RowError, validate

#: Exit code when the schedules were written but some loan rows were rejected.
EXIT_REJECTED = 3
#: Rejected rows listed one by one on stderr; beyond this only a count.
MAX_LISTED_ERRORS = 50


def schedule_loans_feed(loans: Path, out: Path | None) -> None:
    """Read, validate and schedule ``loans``; write the schedules feed to ``out``."""
    writer = _writer(out)
    feed = validate("loans", read_table(loans), loans)
    errors = feed.errors
    valid = feed.valid
    schedules = schedules_feed(generate_schedules(valid), valid)
    writer(schedules)
    _report(errors, loans, scheduled=valid.height, rows=schedules.height, out=out)
    if errors:
        raise typer.Exit(EXIT_REJECTED)


def schedules_feed(schedules: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """Kernel output as a schedules feed: amounts as decimal strings in each loan's
    currency (``loans`` may lack ``currency``: then CNY), dates as ISO text."""
    if "currency" in loans.columns:
        currencies = loans.select("loan_id", "currency").unique("loan_id", keep="first")
    else:
        currencies = pl.DataFrame(schema={"loan_id": pl.String, "currency": pl.String})
    exponent = currency_exponent(pl.col("currency").fill_null("CNY"))
    return (
        schedules.join(currencies, on="loan_id", how="left", maintain_order="left")
        .with_columns(exponent.alias("_exp"))
        .select(
            "loan_id",
            "seq",
            pl.col("due_date").dt.strftime("%Y-%m-%d"),
            *(
                minor_text(pl.col(c), pl.col("_exp")).alias(c)
                for c in ("principal_due", "interest_due", "fee_due")
            ),
        )
    )


def minor_text(minor: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    """Minor units as a decimal string with ``exponent`` decimals (``format_minor``'s twin)."""
    scale = pl.lit(10, pl.Int64).pow(exponent)
    magnitude = minor.abs()
    whole = (magnitude // scale).cast(pl.String)
    fraction = (magnitude % scale).cast(pl.String).str.zfill(exponent)
    sign = pl.when(minor < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return (
        pl.when(exponent == 0)
        .then(pl.concat_str(sign, whole))
        .otherwise(pl.concat_str(sign, whole, pl.lit("."), fraction))
    )


def _writer(out: Path | None) -> Callable[[pl.DataFrame], None]:
    """How to write the feed, decided before any work so a bad ``--out`` fails fast."""
    if out is None:
        return lambda frame: typer.echo(frame.write_csv(), nl=False)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise FeedError(f"--out {out}: unsupported file type {suffix!r}; use .csv or .parquet")

    def write(frame: pl.DataFrame) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            frame.write_csv(out)
        else:
            frame.write_parquet(out)

    return write


def _report(
    errors: list[RowError], source: Path, *, scheduled: int, rows: int, out: Path | None
) -> None:
    """Rejected rows and a one-line summary, on stderr (stdout may carry the feed)."""
    for e in errors[:MAX_LISTED_ERRORS]:
        where = f"{source.name} line {e.line}" if e.line is not None else source.name
        typer.echo(f"rejected {where}: {e.message}", err=True)
    if len(errors) > MAX_LISTED_ERRORS:
        typer.echo(f"... and {len(errors) - MAX_LISTED_ERRORS} more problem(s)", err=True)
    rejected = len({e.line for e in errors})
    target = str(out) if out is not None else "stdout"
    summary = f"scheduled {scheduled} loan(s), {rows} instalment(s) -> {target}"
    if rejected:
        summary += f"; rejected {rejected} row(s), fix them and run again"
    typer.echo(summary, err=True)
