"""The native kernel's inputs: one row per loan, one per instalment (CSR), one per event.

``prepare`` decides which loans the kernel computes itself and which go to the
per-loan reference whole (``fallback``): loans with marks, with fee, penalty,
waiver or reversal transactions up to the business date, with a schedule or a
transaction the reference would reject, or with amounts whose penalty product
could leave int64. Everything else is numbers: day numbers, int64 minor units,
and the exact daily penalty rate of each loan as a fraction ``num / den``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import polars as pl

from postloan.batch.state_kernel import compiled_book
from postloan.batch.state_kernel.compiled import (
    DAILY,
    DUE,
    EV_AMOUNT,
    EV_DAY,
    EV_KIND,
    FEE_DUE,
    INTEREST_DUE,
    PENALTY_FROM,
    PRINCIPAL_DUE,
)
from postloan.batch.state_kernel.dates import I64, NEVER, day_number
from postloan.batch.state_kernel.ranges import cuts, frozen, in_ranges
from postloan.domain.daycount import DayCount
from postloan.domain.errors import PostLoanError
from postloan.domain.marks import MarkKind
from postloan.domain.penalty import daily_penalty_rate
from postloan.domain.policy import ServicingPolicy

#: Transaction types the kernel applies itself (others send the loan to the reference).
NATIVE_TXNS = ("repayment", "failed_debit", "write_off", "disbursement")
RESTRUCTURED = "restructured"
_SAFE = 1 << 61


@dataclass(slots=True)
class Book:
    """Loans the kernel computes, in loan-id order, as flat arrays (CSR per loan)."""

    loan_id: pl.Series
    row: I64  # index of the loan in the loans frame
    disb: I64
    rate_num: I64
    rate_den: I64
    annual_num: I64  # the contract rate as a fraction (payoff interest)
    annual_den: I64
    day_count: I64  # index into ``list(DayCount)``
    # instalments, CSR over loans (start[i] .. end[i])
    start: I64
    end: I64
    principal: I64
    interest: I64
    fee: I64
    due: I64
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
    failed_debits: I64  # failed debits up to the business date, per loan
    #: failed debits up to the day before (``prepare(..., day_before=True)``), else empty
    failed_debits_before: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    #: the instalment and event columns above are rows of these (``compiled``'s layout)
    J: I64 = field(default_factory=lambda: np.zeros((6, 0), np.int64))
    E: I64 = field(default_factory=lambda: np.zeros((3, 0), np.int64))


def _rates(annual: pl.Series, policy: ServicingPolicy) -> tuple[I64, I64, I64, I64]:
    """Each loan's exact daily penalty rate and annual rate as (numerator, denominator)
    pairs; rates too long for int64 come back as 2^62 (the loan goes to the reference)."""
    uniq = annual.unique().to_list()
    rows = []
    for text in uniq:
        annual_rate = Fraction(Decimal(str(text)))
        rate = daily_penalty_rate(Decimal(str(text)), policy.penalty)
        rate = rate if policy.penalty.accrue else Fraction(0)
        rows.append(
            [
                min(x, _SAFE)
                for x in (
                    rate.numerator,
                    rate.denominator,
                    annual_rate.numerator,
                    annual_rate.denominator,
                )
            ]
        )
    names = ("n", "d", "an", "ad")
    lookup = pl.DataFrame(
        {"annual_rate": pl.Series(uniq, dtype=pl.Utf8)}
        | {k: pl.Series([r[i] for r in rows], dtype=pl.Int64) for i, k in enumerate(names)}
    )
    joined = pl.DataFrame({"annual_rate": annual}).join(
        lookup, on="annual_rate", how="left", maintain_order="left"
    )
    n, d, an, ad = (joined[k].to_numpy().astype(np.int64, copy=False) for k in names)
    return n, d, an, ad


def _day_counts(texts: pl.Series) -> I64:
    """Index into ``list(DayCount)`` per loan; -1 for a name the reference rejects."""
    kinds = list(DayCount)
    table: dict[str, int] = {}
    for text in texts.unique().to_list():
        try:
            table[text] = kinds.index(DayCount.parse(str(text)))
        except PostLoanError:
            table[text] = -1
    out: I64 = (
        texts.replace_strict(table, return_dtype=pl.Int64).to_numpy().astype(np.int64, copy=False)
    )
    return out


def _days(series: pl.Series) -> I64:
    return series.cast(pl.Int32).to_numpy().astype(np.int64, copy=False)


def _distinct(keys: I64) -> I64:
    """Sorted distinct values (a sort and a diff: faster than ``np.unique`` here; the
    sort is skipped when the keys already come sorted, as the store's order gives them)."""
    x = keys if keys.size < 2 or bool(np.all(keys[1:] >= keys[:-1])) else np.sort(keys)
    keep = np.ones(x.size, bool)
    keep[1:] = x[1:] != x[:-1]
    out: I64 = x[keep]
    return out


def _with_loan_index(frame: pl.DataFrame, keyed: pl.DataFrame) -> tuple[pl.DataFrame, I64]:
    """``frame``'s rows of known loans and their loan index ``k``, in ``frame``'s order.

    Joins the runs of equal loan ids (one per loan when rows come grouped by loan,
    as the store gives them) instead of every row."""
    runs = frame["loan_id"].rle()
    lengths = runs.struct.field("len").to_numpy().astype(np.int64, copy=False)
    values = runs.struct.field("value").rename("loan_id").to_frame()
    k_run = (
        values.join(keyed, on="loan_id", how="left", maintain_order="left")["k"]
        .fill_null(-1)
        .to_numpy()
        .astype(np.int64, copy=False)
    )
    k = np.repeat(k_run, lengths)
    known = k >= 0
    if bool(known.all()):
        return frame, k
    return frame.filter(pl.Series(known)), k[known]


def _fill(row: I64, series: pl.Series, missing: int) -> None:
    """Copy ``series`` (an integer column; nulls as ``missing``) into ``row``, a chunk
    at a time: a single-chunk column without nulls is Polars' own buffer, so each
    value is copied once, widened to int64 on the way, with no whole-column
    intermediate (a 36M-row schedule's columns are 288 MB each)."""
    if series.null_count():
        series = series.fill_null(missing)
    at = 0
    for chunk in series.get_chunks():
        size = chunk.len()
        row[at : at + size] = chunk.to_numpy()
        at += size


def _int64(series: pl.Series, missing: int) -> I64:
    """The column as int64, nulls as ``missing``: Polars' own buffer (read-only) when
    it is int64 without nulls, so the big schedule columns are not copied."""
    if series.null_count():
        series = series.fill_null(missing)
    out: I64 = series.to_numpy().astype(np.int64, copy=False)
    return out


def _days_or(series: pl.Series, missing: int) -> I64:
    out: I64 = series.cast(pl.Int32).cast(pl.Int64).fill_null(missing).to_numpy()
    return out.astype(np.int64, copy=False)


def _codes(values: pl.Series, names: tuple[str, ...]) -> I64:
    """Index of each value in ``names``; -1 for anything else (or null)."""
    table = {name: k for k, name in enumerate(names)}
    out: I64 = (
        values.replace_strict(table, default=-1, return_dtype=pl.Int64)
        .fill_null(-1)
        .to_numpy()
        .astype(np.int64, copy=False)
    )
    return out


def _flag(bad: np.ndarray, k: I64, mask: np.ndarray) -> None:
    bad[k[mask]] = True


def prepare(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
    day_before: bool = False,
    threads: int = 1,
) -> tuple[Book, list[str]]:
    """The native book and the ids of the loans left to the reference.

    ``day_before``: also count each loan's failed debits up to the day before the
    business date (``Book.failed_debits_before``, for ``loan_states_pair``).
    ``threads``: the compiled loops run on ranges of whole loans on this many threads."""
    on = day_number(business_date)
    base = (
        loans.select("loan_id", "annual_rate", "day_count", "disbursement_date")
        .with_row_index("row")
        .filter(pl.col("disbursement_date") <= business_date)
        .sort("loan_id")
        .with_row_index("k")
    )
    keyed = base.select("loan_id", pl.col("k").cast(pl.Int64))
    n = base.height
    bad = np.zeros(n, bool)
    disb_all = _days(base["disbursement_date"])

    # transactions: only the types the kernel applies, none before disbursement
    txns, tk = _with_loan_index(
        transactions.select("loan_id", "type", "amount", "value_date", "reverses"), keyed
    )  # keeps the feed's order
    tday = _days(txns["value_date"])
    ttype = _codes(txns["type"], NATIVE_TXNS)
    amount = _int64(txns["amount"], -1)
    known = tday <= on
    _flag(bad, tk, known & ((ttype < 0) | (tday < disb_all[tk])))
    reversal_without = (txns["type"] == "reversal") & txns["reverses"].fill_null("").eq("")
    _flag(bad, tk, (amount < 0) | reversal_without.to_numpy())
    del txns, reversal_without
    failed = np.bincount(tk[known & (ttype == 1)], minlength=n).astype(np.int64, copy=False)
    failed_before = (
        np.bincount(tk[(tday < on) & (ttype == 1)], minlength=n).astype(np.int64, copy=False)
        if day_before
        else failed[:0]
    )

    # marks: restructured ones are native; marks starting after the date change nothing
    mk = marks.join(keyed, on="loan_id", how="inner")
    kinds = {k.value for k in MarkKind}
    invalid = (
        mk["start_date"].is_null()
        | (mk["end_date"] < mk["start_date"]).fill_null(False)
        | ~mk["kind"].is_in(list(kinds))
    )
    now = (mk["start_date"] <= business_date).fill_null(False)
    mark_k = mk["k"].to_numpy().astype(np.int64, copy=False)
    _flag(bad, mark_k, (invalid | (now & (mk["kind"] != RESTRUCTURED))).to_numpy())

    # schedules, in (loan, seq) order, checked as the reference checks them
    sc, sk = _with_loan_index(
        schedules.select("loan_id", "seq", "due_date", "principal_due", "interest_due", "fee_due"),
        keyed,
    )
    seq = _int64(sc["seq"], 0)
    if sk.size > 1 and not bool(
        np.all((sk[1:] > sk[:-1]) | ((sk[1:] == sk[:-1]) & (seq[1:] >= seq[:-1])))
    ):
        order = np.lexsort((seq, sk))
        sc = sc[order]
        sk, seq = sk[order], seq[order]
    nulls = sc.select(
        pl.any_horizontal(pl.col("principal_due", "interest_due", "fee_due", "due_date").is_null())
    ).to_series()
    # the instalment columns go straight into their rows of J (one copy, chunk by chunk)
    J = np.empty((6, sc.height), np.int64)
    _fill(J[DUE], sc["due_date"].cast(pl.Int32), 0)
    _fill(J[PRINCIPAL_DUE], sc["principal_due"], 0)
    _fill(J[INTEREST_DUE], sc["interest_due"], 0)
    _fill(J[FEE_DUE], sc["fee_due"], 0)
    broken, sizes_all, p_sum = compiled_book.check_schedules(
        *frozen(sk, seq, J[DUE], J[PRINCIPAL_DUE], J[INTEREST_DUE], J[FEE_DUE], nulls.to_numpy()),
        n,
    )
    bad |= broken | (sizes_all == 0)

    num, den, a_num, a_den = _rates(base["annual_rate"], policy)
    day_count = _day_counts(base["day_count"])
    bad |= (day_count < 0) | (a_num >= _SAFE) | (a_den >= _SAFE) | (den * 4.0 >= _SAFE)
    bad |= p_sum * num.astype(np.float64) * 4 >= _SAFE
    fallback = base["loan_id"].filter(pl.Series(bad)).to_list()
    del sc, nulls, broken, seq

    # the native book: loans renumbered in loan-id order
    keep = ~bad
    new_k = np.cumsum(keep) - 1
    if not bool(keep.all()):  # else every row stays and ``new_k`` is the identity
        srow = keep[sk]
        sk, J = new_k[sk[srow]], np.ascontiguousarray(J[:, srow])
    native = base.filter(pl.Series(keep))
    n = native.height
    disb = disb_all[keep]
    end = np.cumsum(np.bincount(sk, minlength=n)).astype(np.int64, copy=False)
    m = sk.shape[0]
    owing_next = np.empty(m + 1, np.int64)
    owing_next[m] = m
    columns = frozen(sk, disb, num[keep], den[keep], end)
    lag = policy.penalty.grace_days + 1
    loan_cuts = cuts(n, threads)
    row_cuts = [0] + [int(end[c - 1]) for c in loan_cuts[1:-1]] + [m]

    def instalment_rows(lo: int, hi: int) -> None:
        compiled_book.instalments(*columns[:4], lag, columns[4], J, owing_next, lo, hi)

    in_ranges(row_cuts, instalment_rows)
    start = np.empty_like(end)
    start[:1] = 0
    start[1:] = end[:-1]

    # events: repayments and write-offs (feed order), held-money days, restructuring days
    mrow = (now & (mk["kind"] == RESTRUCTURED)).to_numpy() & keep[mark_k]
    m_k = new_k[mark_k[mrow]]
    m_start = _days(mk["start_date"].filter(pl.Series(mrow)))
    m_end = _days_or(mk["end_date"].filter(pl.Series(mrow)), NEVER)
    key_shift, off = np.int64(1 << 22), np.int64(1 << 21)
    day_key = _distinct(
        (m_k * key_shift + (m_start + off))[m_start >= disb[m_k]] if m_k.size else m_k
    )
    r_k, r_day = day_key // key_shift, day_key % key_shift - off
    r_count = np.bincount(r_k, minlength=n).astype(np.int64, copy=False)
    r_start = np.zeros(n + 1, np.int64)
    np.cumsum(r_count, out=r_start[1:])
    first, rows = compiled_book.feed_rows(*frozen(tk, tday, ttype, new_k, keep), on, n)
    fixed = frozen(first, rows, tday, ttype, amount, J, owing_next, start, end, r_start, r_day)
    # one pass: each loan writes its events into room for as many as it can have
    # (the walk reads a loan's ``ev_count`` events from its ``ev_start``)
    bounds = compiled_book.event_bounds(first, r_start)
    ev_count = np.zeros(n, np.int64)
    ev_start = np.cumsum(bounds) - bounds
    E = np.empty((3, int(bounds.sum())), np.int64)

    def loans_range(lo: int, hi: int) -> None:
        scratch = np.empty((4, compiled_book.event_scratch(bounds, lo, hi)), np.int64)
        compiled_book.events(*fixed, on, ev_count, ev_start, E, scratch, lo, hi)

    in_ranges(loan_cuts, loans_range)
    del first, rows
    del tk, tday, ttype, amount, known
    order = np.lexsort((m_start, m_k))
    span_k, span_lo, span_hi = compiled_book.merged_spans(
        *frozen(m_k[order], m_start[order], m_end[order])
    )
    f_count = np.bincount(span_k, minlength=n).astype(np.int64, copy=False)
    book = Book(
        restructured_start=r_start[:-1].copy(),
        restructured_end=r_start[1:].copy(),
        restructured_day=r_day,
        forborne_start=np.cumsum(f_count) - f_count,
        forborne_end=np.cumsum(f_count),
        forborne_lo=span_lo,
        forborne_hi=span_hi,
        loan_id=native["loan_id"],
        row=native["row"].to_numpy().astype(np.int64, copy=False),
        disb=disb,
        rate_num=num[keep],
        rate_den=den[keep],
        annual_num=a_num[keep],
        annual_den=a_den[keep],
        day_count=day_count[keep],
        start=start,
        end=end,
        principal=J[PRINCIPAL_DUE],
        interest=J[INTEREST_DUE],
        fee=J[FEE_DUE],
        due=J[DUE],
        penalty_from=J[PENALTY_FROM],
        daily=J[DAILY],
        owing_next=owing_next,
        ev_start=ev_start,
        ev_count=ev_count,
        ev_day=E[EV_DAY],
        ev_kind=E[EV_KIND],
        ev_amount=E[EV_AMOUNT],
        failed_debits=failed[keep],
        failed_debits_before=failed_before[keep] if day_before else failed_before,
        J=J,
        E=E,
    )
    return book, fallback
