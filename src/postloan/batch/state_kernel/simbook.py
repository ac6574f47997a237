"""Store-shaped batch frames straight from a simulation (no feed files, no database).

``postloan.sim.simulate`` returns feed-shaped frames; the importer would add the
columns the store keeps. For the loan-state computation only these matter, so a
big benchmark book skips the import: ``first_due_date`` is null (the simulator's
schedules are given), a schedule row's ``balance`` is the principal still
scheduled after it, ``source`` is ``"feed"``, and transactions get a null
``reverses``. Which loans, instalments and transactions there are, and every
amount and date, are the simulator's.
"""

from __future__ import annotations

import polars as pl

from postloan.sim.runner import SimResult
from postloan.store.repository import LOANS_FRAME_SCHEMA

__all__ = ["store_frames"]


def store_frames(
    result: SimResult,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(loans, schedules, transactions, marks) typed like ``postloan.store.repository``."""
    income = result.borrowers.select("borrower_id", "monthly_income")
    loans = (
        result.loans.with_columns(pl.lit(None, pl.Date).alias("first_due_date"))
        .join(income, on="borrower_id", how="left", maintain_order="left")
        .select(pl.col(c).cast(t) for c, t in LOANS_FRAME_SCHEMA.items())
    )
    schedules = result.schedules.sort("loan_id", "seq").with_columns(
        (
            pl.col("principal_due").sum().over("loan_id")
            - pl.col("principal_due").cum_sum().over("loan_id")
        ).alias("balance"),
        pl.lit("feed").alias("source"),
    )
    transactions = result.transactions.with_columns(pl.lit(None, pl.Utf8).alias("reverses"))
    marks = result.loan_marks
    return loans, schedules, transactions, marks
