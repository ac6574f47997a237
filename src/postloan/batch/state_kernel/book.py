"""The native kernel's inputs: one row per loan, one per instalment (CSR), one per event.

``prepare`` decides which loans the kernel computes itself and which go to the
per-loan reference whole (``fallback``): loans with marks, with fee, penalty,
waiver or reversal transactions up to the business date, with a schedule or a
transaction the reference would reject, or with amounts whose penalty product
could leave int64. Everything else is numbers: day numbers, int64 minor units,
and the exact daily penalty rate of each loan as a fraction ``num / den``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import polars as pl

from postloan.batch.state_kernel.dates import I64, NEVER, day_number
from postloan.domain.marks import MarkKind
from postloan.domain.penalty import daily_penalty_rate
from postloan.domain.policy import ServicingPolicy

#: Transaction types the kernel applies itself (others send the loan to the reference).
NATIVE_TXNS = ("repayment", "failed_debit", "write_off", "disbursement")
#: Event order inside one day: repayments, then the write-off, then held money meets
#: what fell due (``transactions._SAME_DAY_ORDER``, ``Ledger.apply_advance``).
REPAY, WRITE_OFF, ADVANCE = 2, 4, 5
#: A restructuring takes effect (classification only; the ledger ignores it).
MARK = 6
RESTRUCTURED = "restructured"
_SAFE = 1 << 61


@dataclass(slots=True)
class Book:
    """Loans the kernel computes, ordered by event count (most first)."""

    loan_id: list[str]
    row: I64  # index of the loan in the loans frame
    disb: I64
    rate_num: I64
    rate_den: I64
    # instalments, CSR over loans (start[i] .. end[i])
    start: I64
    end: I64
    principal: I64
    interest: I64
    fee: I64
    due: I64
    past_due_from: I64
    penalty_from: I64  # first accruing day, not before disbursement
    daily: I64  # a day's penalty on the scheduled principal
    owing_next: I64  # first instalment at or after j (same loan) that owes anything; end if none
    # events, CSR over loans
    ev_start: I64
    ev_count: I64
    ev_day: I64
    ev_kind: I64
    ev_amount: I64
    # restructuring days (CSR) and the merged spans restructured marks cover (CSR)
    restructured_start: I64
    restructured_end: I64
    restructured_day: I64
    forborne_start: I64
    forborne_end: I64
    forborne_lo: I64
    forborne_hi: I64


def _rates(annual: pl.Series, policy: ServicingPolicy) -> tuple[I64, I64]:
    """Each loan's exact daily penalty rate as (numerator, denominator)."""
    uniq = annual.unique().to_list()
    table: dict[str, Fraction] = {}
    for text in uniq:
        rate = daily_penalty_rate(Decimal(str(text)), policy.penalty)
        table[text] = rate if policy.penalty.accrue else Fraction(0)
    nums = pl.Series([table[t].numerator for t in uniq], dtype=pl.Int64)
    dens = pl.Series([table[t].denominator for t in uniq], dtype=pl.Int64)
    lookup = pl.DataFrame({"annual_rate": pl.Series(uniq, dtype=pl.Utf8), "n": nums, "d": dens})
    joined = pl.DataFrame({"annual_rate": annual}).join(
        lookup, on="annual_rate", how="left", maintain_order="left"
    )
    return joined["n"].to_numpy().astype(np.int64), joined["d"].to_numpy().astype(np.int64)


def _days(series: pl.Series) -> I64:
    return series.cast(pl.Int32).to_numpy().astype(np.int64)


def prepare(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
) -> tuple[Book, list[str]]:
    """The native book and the ids of the loans left to the reference."""
    on = day_number(business_date)
    base = loans.select("loan_id", "annual_rate", "disbursement_date").with_row_index("row")
    base = base.filter(pl.col("disbursement_date") <= business_date)
    disb_of = base.select("loan_id", pl.col("disbursement_date").alias("_disb"))
    txns = transactions.with_row_index("_order").join(disb_of, on="loan_id", how="inner")
    known = txns.filter(pl.col("value_date") <= business_date)
    # marks that start after the business date change nothing on it
    marks_now = marks.filter(pl.col("start_date") <= business_date)
    bad: set[str] = set(marks_now.filter(pl.col("kind") != RESTRUCTURED)["loan_id"].to_list())
    bad.update(
        marks.filter(
            pl.col("start_date").is_null()
            | (pl.col("end_date") < pl.col("start_date"))
            | ~pl.col("kind").is_in([k.value for k in MarkKind])
        )["loan_id"].to_list()
    )
    bad.update(
        known.filter(~pl.col("type").is_in(NATIVE_TXNS) | (pl.col("value_date") < pl.col("_disb")))[
            "loan_id"
        ].to_list()
    )
    bad.update(
        txns.filter(
            (pl.col("amount") < 0)
            | pl.col("amount").is_null()
            | ((pl.col("type") == "reversal") & pl.col("reverses").fill_null("").eq(""))
        )["loan_id"].to_list()
    )
    sched = schedules.join(disb_of, on="loan_id", how="inner").sort("loan_id", "seq")
    checks = sched.group_by("loan_id").agg(
        (
            (pl.col("seq").min() < 1)
            | (pl.col("seq").n_unique() != pl.len())
            | ~pl.col("due_date").is_sorted()
            | (pl.min_horizontal("principal_due", "interest_due", "fee_due").min() < 0)
            | pl.any_horizontal(
                pl.col("principal_due", "interest_due", "fee_due", "due_date").is_null()
            ).any()
        ).alias("bad"),
        pl.col("principal_due").sum().alias("p_sum"),
    )
    bad.update(checks.filter(pl.col("bad"))["loan_id"].to_list())
    has_schedule = set(checks["loan_id"].to_list())
    bad.update(x for x in base["loan_id"].to_list() if x not in has_schedule)
    num, den = _rates(base["annual_rate"], policy)
    base = base.with_columns(pl.Series("_num", num), pl.Series("_den", den))
    base = base.join(checks.select("loan_id", "p_sum"), on="loan_id", how="left")
    overflow = base.filter(
        pl.col("p_sum").is_null()
        | (pl.col("p_sum").cast(pl.Float64) * pl.col("_num").cast(pl.Float64) * 4 >= _SAFE)
        | (pl.col("_den").cast(pl.Float64) * 4 >= _SAFE)
    )
    bad.update(overflow["loan_id"].to_list())
    fallback = sorted(bad & set(base["loan_id"].to_list()))
    native = base.join(
        pl.DataFrame({"loan_id": pl.Series(fallback, dtype=pl.Utf8)}), on="loan_id", how="anti"
    )

    # events: repayments and write-offs up to the business date, then held-money days
    ev = known.filter(pl.col("type").is_in(("repayment", "write_off"))).join(
        native.select("loan_id"), on="loan_id", how="semi"
    )
    ev = ev.select(
        "loan_id",
        pl.col("value_date").cast(pl.Int32).cast(pl.Int64).alias("day"),
        pl.when(pl.col("type") == "repayment")
        .then(REPAY)
        .otherwise(WRITE_OFF)
        .cast(pl.Int64)
        .alias("kind"),
        pl.col("amount").cast(pl.Int64),
        pl.col("_order").cast(pl.Int64),
    )
    sched = sched.join(native.select("loan_id"), on="loan_id", how="semi")
    owing_days = (
        sched.filter((pl.col("principal_due") + pl.col("interest_due") + pl.col("fee_due")) > 0)
        .select("loan_id", pl.col("due_date").cast(pl.Int32).cast(pl.Int64).alias("due"))
        .unique()
        .sort("loan_id", "due")
    )
    repay_days = ev.filter(pl.col("kind") == REPAY).select("loan_id", "day").unique()
    held = (
        repay_days.sort("loan_id", "day")
        .join_asof(
            owing_days.with_columns(pl.col("due").alias("day_key")).sort("loan_id", "day_key"),
            left_on="day",
            right_on="day_key",
            by="loan_id",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .filter(pl.col("due").is_not_null() & (pl.col("due") <= on))
        .select("loan_id", pl.col("due").alias("day"))
        .unique()
        .with_columns(
            pl.lit(ADVANCE, pl.Int64).alias("kind"),
            pl.lit(0, pl.Int64).alias("amount"),
            pl.lit(0, pl.Int64).alias("_order"),
        )
    )
    restructured = marks_now.join(native.select("loan_id", "disbursement_date"), on="loan_id")
    mark_days = (
        restructured.filter(pl.col("start_date") >= pl.col("disbursement_date"))
        .select(
            "loan_id",
            pl.col("start_date").cast(pl.Int32).cast(pl.Int64).alias("day"),
            pl.lit(MARK, pl.Int64).alias("kind"),
            pl.lit(0, pl.Int64).alias("amount"),
            pl.lit(0, pl.Int64).alias("_order"),
        )
        .unique()
    )
    events = pl.concat([ev, held.select(ev.columns), mark_days.select(ev.columns)])
    counts = events.group_by("loan_id").agg(pl.len().alias("n_events"))
    native = native.join(counts, on="loan_id", how="left").with_columns(
        pl.col("n_events").fill_null(0)
    )
    native = native.sort(["n_events", "loan_id"], descending=[True, False])
    native = native.with_row_index("k")
    keyed = native.select("loan_id", "k")
    events = events.join(keyed, on="loan_id").sort("k", "day", "kind", "_order")
    sched = sched.join(keyed, on="loan_id").sort("k", "seq")
    mark_days = mark_days.join(keyed, on="loan_id").sort("k", "day")
    spans = _merged_spans(restructured.join(keyed, on="loan_id"))

    disb = _days(native["disbursement_date"])
    k_sched = sched["k"].to_numpy().astype(np.int64)
    n = native.height
    sizes = np.bincount(k_sched, minlength=n).astype(np.int64)
    end = np.cumsum(sizes)
    start = end - sizes
    due = _days(sched["due_date"])
    principal = sched["principal_due"].to_numpy().astype(np.int64)
    interest = sched["interest_due"].to_numpy().astype(np.int64)
    fee = sched["fee_due"].to_numpy().astype(np.int64)
    rate_num = native["_num"].to_numpy().astype(np.int64)
    rate_den = native["_den"].to_numpy().astype(np.int64)
    pnum, pden = rate_num[k_sched], rate_den[k_sched]
    daily = (2 * principal * pnum + pden) // (2 * pden)
    past_due_from = due + (policy.delinquency.grace_days + 1)
    penalty_from = np.maximum(due + (policy.penalty.grace_days + 1), disb[k_sched])
    owing = (principal + interest + fee) > 0
    owing_next = _next_owing(owing, end[k_sched])
    ev_k = events["k"].to_numpy().astype(np.int64)
    ev_count = np.bincount(ev_k, minlength=n).astype(np.int64)
    ev_start = np.cumsum(ev_count) - ev_count
    r_k = mark_days["k"].to_numpy().astype(np.int64)
    r_count = np.bincount(r_k, minlength=n).astype(np.int64)
    f_k = spans["k"].to_numpy().astype(np.int64)
    f_count = np.bincount(f_k, minlength=n).astype(np.int64)
    book = Book(
        restructured_start=np.cumsum(r_count) - r_count,
        restructured_end=np.cumsum(r_count),
        restructured_day=mark_days["day"].to_numpy().astype(np.int64),
        forborne_start=np.cumsum(f_count) - f_count,
        forborne_end=np.cumsum(f_count),
        forborne_lo=spans["lo"].to_numpy().astype(np.int64),
        forborne_hi=spans["hi"].to_numpy().astype(np.int64),
        loan_id=native["loan_id"].to_list(),
        row=native["row"].to_numpy().astype(np.int64),
        disb=disb,
        rate_num=rate_num,
        rate_den=rate_den,
        start=start,
        end=end,
        principal=principal,
        interest=interest,
        fee=fee,
        due=due,
        past_due_from=past_due_from,
        penalty_from=penalty_from,
        daily=daily,
        owing_next=owing_next,
        ev_start=ev_start,
        ev_count=ev_count,
        ev_day=events["day"].to_numpy().astype(np.int64),
        ev_kind=events["kind"].to_numpy().astype(np.int64),
        ev_amount=events["amount"].to_numpy().astype(np.int64),
    )
    return book, fallback


def _next_owing(owing: np.ndarray, loan_end: I64) -> I64:
    """For each instalment j: the first j' >= j of the same loan that owes something,
    else the loan's end (one past its last instalment). Extended by one sentinel slot."""
    size = owing.shape[0]
    idx = np.where(owing, np.arange(size, dtype=np.int64), np.int64(size))
    # reverse running minimum, reset at loan ends: take min with the loan end
    rev = np.minimum.accumulate(idx[::-1])[::-1]
    out = np.minimum(rev, loan_end)
    return np.concatenate((out, np.array([size], dtype=np.int64)))


def _merged_spans(marks: pl.DataFrame) -> pl.DataFrame:
    """Per loan (``k``), the day spans restructured marks cover, overlapping or
    adjacent ones merged; an open end is ``NEVER``."""
    spans = marks.select(
        "k",
        pl.col("start_date").cast(pl.Int32).cast(pl.Int64).alias("lo"),
        pl.col("end_date").cast(pl.Int32).cast(pl.Int64).fill_null(NEVER).alias("hi"),
    ).sort("k", "lo")
    reach = pl.col("hi").cum_max().over("k").shift(1).over("k")
    spans = spans.with_columns(
        ((reach.is_null()) | (pl.col("lo") > reach + 1)).cast(pl.Int64).alias("_new")
    ).with_columns(pl.col("_new").cum_sum().over("k").alias("_g"))
    return (
        spans.group_by("k", "_g")
        .agg(pl.col("lo").min(), pl.col("hi").max())
        .sort("k", "lo")
        .select("k", "lo", "hi")
    )
