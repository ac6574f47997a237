"""The per-loan aggregations behind FEATURES (``features.feature_base``).

Every aggregation is keyed by the loan's row number in the feature base
(``loan_rows.KEY``), not by its string id: the book's tables are in loan-id
order, so the key costs one binary search per loan, and grouping and joining
on a small integer is several times faster than hashing 9M loan-id strings per
partition. The expressions are the ones the registry documents (windows of
91 / 183 / 365 days ending on the business date, today included).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from postloan.batch.steps.loan_rows import KEY, keyed

WINDOWS = {"3m": 91, "6m": 183, "12m": 365}
#: A repayment below this share of the regular instalment counts as partial.
PARTIAL_SHARE = 0.9
#: Columns of the ``peers`` frame: the same borrowers' loans held outside this frame.
PEER_COLUMNS = ("loan_id", "borrower_id", "days_past_due", "status")


def window(col: str, days: int, business_date: date) -> pl.Expr:
    return (pl.col(col) > business_date - timedelta(days=days)) & (pl.col(col) <= business_date)


def history_aggs(base: pl.DataFrame, history: pl.DataFrame, business_date: date) -> pl.LazyFrame:
    """Max DPD and months in arrears per window: earlier snapshots plus today."""
    today = base.lazy().select(KEY, "business_date", "days_past_due")
    hist = pl.concat(
        [
            keyed(history, base["loan_id"]).lazy().select(KEY, "business_date", "days_past_due"),
            today,
        ],
        how="vertical_relaxed",
    ).filter(pl.col("business_date") <= business_date)
    month = pl.col("business_date").dt.year().cast(pl.Int32) * 12 + pl.col(
        "business_date"
    ).dt.month().cast(pl.Int32)
    masked = []
    for w, days in WINDOWS.items():
        inside = pl.col("business_date") > business_date - timedelta(days=days)
        masked.append(pl.when(inside).then(pl.col("days_past_due")).alias(f"_d_{w}"))
        masked.append(pl.when(inside & (pl.col("days_past_due") > 0)).then(month).alias(f"_m_{w}"))
    return (
        hist.with_columns(masked)
        .group_by(KEY)
        .agg(
            *(pl.col(f"_d_{w}").max().cast(pl.Int32).alias(f"_max_dpd_{w}") for w in WINDOWS),
            *(
                pl.col(f"_m_{w}")
                .drop_nulls()
                .n_unique()
                .cast(pl.Int32)
                .alias(f"_arrears_months_{w}")
                for w in WINDOWS
            ),
        )
    )


def schedule_aggs(schedules: pl.DataFrame, business_date: date) -> pl.LazyFrame:
    """Instalments remaining, amounts due per window, and the regular instalment
    (``schedules`` keyed)."""
    amount = pl.col("principal_due") + pl.col("interest_due") + pl.col("fee_due")
    masked = [
        amount.alias("_amount"),
        (pl.col("due_date") > business_date).alias("_future"),
        pl.when(pl.col("due_date") <= business_date).then(amount).otherwise(0).alias("_a_life"),
        *(
            pl.when(window("due_date", WINDOWS[w], business_date))
            .then(amount)
            .otherwise(0)
            .alias(f"_a_{w}")
            for w in ("3m", "6m")
        ),
    ]
    return (
        schedules.lazy()
        .select(KEY, "due_date", "principal_due", "interest_due", "fee_due")
        .with_columns(masked)
        .group_by(KEY)
        .agg(
            pl.col("_future").sum().cast(pl.Int32).alias("_remaining"),
            pl.col("_amount").sum().alias("_sum"),
            pl.col("_amount").sort_by("due_date").last().alias("_last"),
            pl.len().alias("_n"),
            pl.col("_a_life").sum().alias("_due_life"),
            pl.col("_a_3m").sum().alias("_due_3m"),
            pl.col("_a_6m").sum().alias("_due_6m"),
        )
        # the regular instalment: the mean of all but the last (which carries a
        # balloon or the rounding remainder); a single instalment is itself
        .with_columns(
            pl.when(pl.col("_n") > 1)
            .then((pl.col("_sum") - pl.col("_last")) / (pl.col("_n") - 1))
            .otherwise(pl.col("_last"))
            .round(0)
            .cast(pl.Int64)
            .alias("_instalment")
        )
        .drop("_sum", "_last", "_n")
    )


def overdue_instalments(
    schedules: pl.DataFrame, base: pl.DataFrame, business_date: date
) -> pl.LazyFrame:
    """Instalments due from the overdue-since date to yesterday (delinquent loans
    only: a join with the few late loans, not a column over every schedule row)."""
    late = base.lazy().filter(pl.col("overdue_since").is_not_null())
    return (
        schedules.lazy()
        .select(KEY, "due_date")
        .join(late.select(KEY, "overdue_since"), on=KEY)
        .filter(
            (pl.col("due_date") >= pl.col("overdue_since")) & (pl.col("due_date") < business_date)
        )
        .group_by(KEY)
        .agg(pl.len().cast(pl.Int32).alias("_overdue_instalments"))
    )


def txn_aggs(txns: pl.DataFrame, instalment: pl.Series, business_date: date) -> list[pl.LazyFrame]:
    """Payments, failed debits and partial payments per window (``txns`` keyed;
    reversed payments removed: :func:`without_reversed`; ``instalment``: the regular
    instalment by row number, null without a schedule).
    Three small aggregations (all repayments; repayments of the last 6 months;
    failed debits) instead of nine masked columns over every transaction; a loan
    without rows in one of them gets nulls, which the features read as 0."""
    txns = txns.with_columns(instalment.gather(txns[KEY]).alias("_instalment"))
    live = txns.lazy().filter(pl.col("value_date") <= business_date)
    money = pl.col("amount")
    recent = pl.col("value_date") > business_date - timedelta(days=WINDOWS["6m"])
    w3 = window("value_date", WINDOWS["3m"], business_date)
    pays = live.filter(pl.col("type") == "repayment")
    partial = (money.cast(pl.Float64) < pl.col("_instalment") * PARTIAL_SHARE).fill_null(False)
    return [
        pays.group_by(KEY).agg(money.sum().alias("_paid_life")),
        pays.filter(recent)
        .group_by(KEY)
        .agg(
            money.filter(w3).sum().alias("_paid_3m"),
            money.sum().alias("_paid_6m"),
            w3.sum().cast(pl.Int32).alias("_payments_3m"),
            (partial & w3).sum().cast(pl.Int32).alias("_partial_3m"),
            partial.sum().cast(pl.Int32).alias("_partial_6m"),
        ),
        live.filter(pl.col("type") == "failed_debit")
        .group_by(KEY)
        .agg(
            w3.sum().cast(pl.Int32).alias("_failed_3m"),
            recent.sum().cast(pl.Int32).alias("_failed_6m"),
            pl.col("value_date").max().alias("_last_failed"),
        ),
    ]


def without_reversed(txns: pl.DataFrame, business_date: date) -> pl.DataFrame:
    """``txns`` without the transactions that a reversal up to today undoes.

    A reversal names a transaction of its own loan (``domain.transactions``), so
    with the :data:`KEY` column only the rows of loans that have a reversal are
    matched against the reversed ids: a partition's million transaction ids are
    not all hashed for the few hundred reversals among them."""
    if not (txns["type"] == "reversal").any():
        return txns
    undone = txns.filter((pl.col("type") == "reversal") & (pl.col("value_date") <= business_date))
    reversed_ids = undone.select(pl.col("reverses").cast(pl.Utf8).alias("txn_id"))
    if KEY not in txns.columns:
        return txns.join(reversed_ids, on="txn_id", how="anti", maintain_order="left")
    rows = (
        txns.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"), KEY, "txn_id")
        .filter(pl.col(KEY).is_in(undone[KEY].unique().implode()))
        .join(reversed_ids, on="txn_id", how="semi")["_row"]
    )
    if rows.len() == 0:
        return txns
    keep = np.ones(txns.height, dtype=bool)
    keep[rows.to_numpy()] = False
    return txns.filter(pl.Series(keep))


def restructure_aggs(marks: pl.DataFrame, business_date: date) -> pl.LazyFrame:
    """Restructured marks starting on or before today (``marks`` keyed)."""
    return (
        marks.lazy()
        .filter((pl.col("kind") == "restructured") & (pl.col("start_date") <= business_date))
        .group_by(KEY)
        .agg(pl.len().cast(pl.Int32).alias("_restructures"))
    )


def borrower_aggs(
    base: pl.DataFrame, borrower: pl.Series, peers: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The borrower's other loans: those in this frame plus ``peers`` (their states on
    the same date, for borrowers whose loans sit in other partitions of the book), so
    the figures do not depend on how the book is partitioned. A borrower with one
    loan gets 0; a closed loan gets no row (null). ``borrower`` is aligned with
    ``base``. Most borrowers have one loan, so the detailed figures are computed
    for the others only."""
    own = base.select(KEY, "loan_id", "days_past_due", "status").with_columns(
        borrower.alias("borrower_id")
    )
    if peers is not None and peers.height:
        schema = own.select(PEER_COLUMNS).schema
        others = peers.select(PEER_COLUMNS).join(own.select("loan_id"), on="loan_id", how="anti")
        own = pl.concat(
            [own, others.cast(schema).with_columns(pl.lit(None, pl.UInt32).alias(KEY))],
            how="diagonal",
        )
    live = own.filter(pl.col("status") != "closed").select(KEY, "borrower_id", "days_past_due")
    live = live.with_columns(pl.len().over("borrower_id").cast(pl.Int32).alias("_b_n"))
    single = live.filter((pl.col("_b_n") == 1) & pl.col(KEY).is_not_null()).select(
        KEY,
        pl.col("_b_n").alias("_b_loans"),
        pl.lit(0, pl.Int32).alias("_b_other_delinquent"),
        pl.lit(0, pl.Int32).alias("_b_other_max_dpd"),
    )
    multi = live.filter(pl.col("_b_n") > 1)
    dpd = pl.col("days_past_due")
    per = multi.group_by("borrower_id").agg(
        (dpd > 0).sum().cast(pl.Int32).alias("_b_late"),
        dpd.max().alias("_b_max"),
    )
    multi = multi.join(per, on="borrower_id")
    at_max = (
        multi.filter(dpd == pl.col("_b_max"))
        .group_by("borrower_id")
        .agg(pl.len().cast(pl.Int32).alias("_b_at_max"))
    )
    second = (
        multi.filter(dpd < pl.col("_b_max"))
        .group_by("borrower_id")
        .agg(dpd.max().alias("_b_second"))
    )
    mine = (
        multi.filter(pl.col(KEY).is_not_null())
        .join(at_max, on="borrower_id", how="left")
        .join(second, on="borrower_id", how="left")
    )
    alone_at_max = (dpd == pl.col("_b_max")) & (pl.col("_b_at_max") == 1)
    shared = mine.select(
        KEY,
        pl.col("_b_n").alias("_b_loans"),
        ((pl.col("_b_late") - (dpd > 0).cast(pl.Int32)) > 0)
        .cast(pl.Int32)
        .alias("_b_other_delinquent"),
        pl.when(alone_at_max)
        .then(pl.col("_b_second").fill_null(0))
        .otherwise(pl.col("_b_max"))
        .cast(pl.Int32)
        .alias("_b_other_max_dpd"),
    )
    return pl.concat([single, shared.cast(single.schema)])


def collections_aggs(
    ids: pl.Series,
    contacts: pl.DataFrame | None,
    promises: pl.DataFrame | None,
    business_date: date,
) -> list[pl.DataFrame]:
    """Unreachable attempts (30 days) and broken promises (90 days), keyed; an
    empty list when there are no contacts or promises."""
    out = []
    if contacts is not None and contacts.height:
        out.append(
            keyed(contacts, ids)
            .filter(window("contact_date", 30, business_date) & ~pl.col("reached"))
            .group_by(KEY)
            .agg(pl.len().cast(pl.Int32).alias("_unreachable_30d"))
        )
    if promises is not None and promises.height:
        out.append(
            keyed(promises, ids)
            .filter(
                window("promised_date", 90, business_date)
                & (pl.col("promised_date") < business_date)
                & (pl.col("kept") == False)  # noqa: E712 (null = not yet decided)
            )
            .group_by(KEY)
            .agg(pl.len().cast(pl.Int32).alias("_broken_90d"))
        )
    return out
