"""Every loan's state on a business date, in bulk: the batch twin of the reference.

``loan_states(loans, schedules, transactions, marks, business_date, policy)``
returns exactly what ``postloan.batch.reference.reference_states_frame`` returns
(``STATE_SCHEMA``, one row per loan disbursed on or before the date, sorted by
loan id, every field equal); ``tests/unit/test_state_kernel_parity.py`` holds it
to that on simulated books and generated edge cases.

How. The frames become flat arrays (``book.prepare``: loans in loan-id order,
instalments and events as CSR rows per loan). Then each loan is walked over its
own events in order by a compiled loop (``compiled``, numba, no GIL: ranges of
loans run on ``THREADS`` threads), with the ledger reduced to a pointer per loan
(``walk`` says why that is exact), penalty in closed form between events, and the
classification and IFRS 9 state machines advanced a span at a time; a second
compiled loop finishes the business date. Repayments, failed debits, write-offs,
recoveries, money paid ahead (held as an advance) and full payoffs are native.

The rest goes to the reference, whole loans at a time (``fallback_ids``): loans
with marks, with fee, penalty, waiver or reversal transactions, with partial
principal prepayments (they re-amortize), or inputs the reference rejects; and
every loan when the policy asks for horizontal allocation, ``early_payment:
prepayment``, more than one instalment held in advance or materiality thresholds.
A loan's result never depends on the other loans in the frames.

The day before too. ``loan_states_pair(loans, schedules, transactions, marks,
business_date, policy)`` returns ``(states on D - 1, states on D)``, each exactly
what ``loan_states`` returns for that date, for the price of about one call: the
book is prepared once (for D), the walk applies every event dated before D,
the day before is finished on a copy of the walk's state (over the events and
failed debits up to D - 1), then the walk goes on with day D's events and D is
finished. Loans the reference computes on D are computed by it on D - 1 too.

Spark. ``loan_states_arrow(loans, schedules, transactions, marks, business_date,
policy)`` takes the four tables as ``pyarrow.Table``s holding a set of WHOLE
loans (e.g. one ``applyInArrow`` group after ``repartition`` by loan id) and
returns a ``pyarrow.Table`` with ``STATE_SCHEMA``; it is ``loan_states`` on the
polars frames rebuilt from them. Input columns are the store's batch frames
(``postloan.store.repository``: ``loans_frame``, ``schedules_frame``,
``transactions_frame``, ``marks_frame``). Deterministic and free of I/O.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from postloan.batch.reference import (
    STATE_SCHEMA,
    iter_books,
    reference_states,
    reference_states_frame,
    states_frame,
)
from postloan.batch.state_kernel import compiled_book
from postloan.batch.state_kernel.book import Book, prepare
from postloan.batch.state_kernel.dates import day_number
from postloan.batch.state_kernel.finish import CATEGORY_NAMES, STATUS, dates, finish
from postloan.batch.state_kernel.walk import Walker
from postloan.domain.policy import AllocationOrder, EarlyPayment, ServicingPolicy
from postloan.domain.schedule import LoanTerms
from postloan.feeds.loaders import terms_from_row

__all__ = [
    "KernelRun",
    "loan_states",
    "loan_states_arrow",
    "loan_states_pair",
    "native_policy",
    "run_kernel",
    "run_kernel_pair",
]

#: Worker threads for the compiled walk (ranges of whole loans), and the book size worth
#: splitting.
THREADS = max(1, min(4, os.cpu_count() or 1))
PART_MIN_LOANS = 50_000


def native_policy(policy: ServicingPolicy) -> bool:
    """Whether the kernel computes loans itself under ``policy`` (else all go to the reference)."""
    d, pre = policy.delinquency, policy.prepayment
    return (
        policy.allocation.order is AllocationOrder.VERTICAL
        and pre.early_payment is EarlyPayment.ADVANCE
        and pre.advance_max_instalments == 1
        and d.materiality_absolute == 0
        and d.materiality_relative == 0
    )


class KernelRun:
    """One run's result and how many loans went to the reference (``fallback_ids``)."""

    def __init__(self, states: pl.DataFrame, fallback_ids: list[str], native: int) -> None:
        self.states = states
        self.fallback_ids = fallback_ids
        self.native = native

    @property
    def fallback_share(self) -> float:
        total = self.native + len(self.fallback_ids)
        return len(self.fallback_ids) / total if total else 0.0


def loan_states(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
) -> pl.DataFrame:
    """``reference_states_frame``'s result, computed in bulk (see the module docstring)."""
    return run_kernel(loans, schedules, transactions, marks, business_date, policy).states


def run_kernel(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
) -> KernelRun:
    """``loan_states`` with the fallback count (benchmarks report it)."""
    if not native_policy(policy):
        states = reference_states_frame(
            loans, schedules, transactions, marks, business_date, policy
        )
        return KernelRun(states, states["loan_id"].to_list(), 0)
    book, fallback = prepare(
        loans, schedules, transactions, marks, business_date, policy, threads=_threads_for(loans)
    )
    cache: dict[int, LoanTerms] = {}

    def terms_for(row: int) -> LoanTerms:
        if row not in cache:
            cache[row] = terms_from_row(loans.row(row, named=True))
        return cache[row]

    cols, late = _walk_parts(book, day_number(business_date), policy, terms_for)
    keep = ~late
    fallback = sorted(set(fallback) | set(book.loan_id.filter(pl.Series(late)).to_list()))
    native = _native_frame(loans, business_date, book.row[keep], book.loan_id, cols, keep)
    parts = [native]
    if fallback:
        parts.append(
            _reference(loans, schedules, transactions, marks, business_date, policy, fallback)
        )
    states = pl.concat(parts).sort("loan_id")
    return KernelRun(states, fallback, native.height)


def _walk_parts(
    book: Book, on: int, policy: ServicingPolicy, terms_for: Callable[[int], LoanTerms]
) -> tuple[dict[str, Any], np.ndarray]:
    """Walk and finish the book, its loans split over worker threads (the compiled
    loops release the GIL); each loan's result is the same whichever thread has it."""
    walker = Walker(book, on, policy, terms_for, _threads(book))
    walker.run()
    return finish(walker)


def _threads(book: Book) -> int:
    return THREADS if book.start.shape[0] >= PART_MIN_LOANS else 1


def _threads_for(loans: pl.DataFrame) -> int:
    return THREADS if loans.height >= PART_MIN_LOANS else 1


def loan_states_pair(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(loan_states(..., business_date - 1 day, ...), loan_states(..., business_date, ...))``
    in about the time of one call (see the module docstring)."""
    before, on = run_kernel_pair(loans, schedules, transactions, marks, business_date, policy)
    return before.states, on.states


def run_kernel_pair(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
) -> tuple[KernelRun, KernelRun]:
    """``loan_states_pair`` with each date's fallback count."""
    day_before = business_date - timedelta(days=1)
    if not native_policy(policy):
        both = _reference_pair(loans, schedules, transactions, marks, business_date, policy, None)
        return (
            KernelRun(both[0], both[0]["loan_id"].to_list(), 0),
            KernelRun(both[1], both[1]["loan_id"].to_list(), 0),
        )
    book, fallback = prepare(
        *(loans, schedules, transactions, marks, business_date, policy),
        day_before=True,
        threads=_threads_for(loans),
    )
    cache: dict[int, LoanTerms] = {}

    def terms_for(row: int) -> LoanTerms:
        if row not in cache:
            cache[row] = terms_from_row(loans.row(row, named=True))
        return cache[row]

    on = day_number(business_date)
    (cols_b, late_b), (cols, late) = _walk_pair(book, on, policy, terms_for)
    # the day before: loans disbursed by then; the reference computes the loans it
    # computes on D (a superset of those it would on D - 1: same results, parity)
    due_b = book.disb < on
    keep_b = ~late_b & due_b
    keep = ~late
    late_ids = set(book.loan_id.filter(pl.Series(late)).to_list())
    late_ids_b = set(book.loan_id.filter(pl.Series(late_b & due_b)).to_list())
    fb = sorted(set(fallback) | late_ids)
    fb_b = sorted(set(fallback) | late_ids_b)
    native = _native_frame(loans, business_date, book.row[keep], book.loan_id, cols, keep)
    native_b = _native_frame(loans, day_before, book.row[keep_b], book.loan_id, cols_b, keep_b)
    ref_b, ref = _reference_pair(
        loans, schedules, transactions, marks, business_date, policy, (fb_b, fb)
    )
    return (
        KernelRun(pl.concat([native_b, ref_b]).sort("loan_id"), fb_b, native_b.height),
        KernelRun(pl.concat([native, ref]).sort("loan_id"), fb, native.height),
    )


def _walk_pair(
    book: Book, on: int, policy: ServicingPolicy, terms_for: Callable[[int], LoanTerms]
) -> tuple[tuple[dict[str, Any], np.ndarray], tuple[dict[str, Any], np.ndarray]]:
    """One walk, finished on the day before (on a copy of its state, over the events
    up to then) and, after day ``on``'s events, on ``on``."""
    count_b = compiled_book.events_before(book.ev_start, book.ev_count, book.E, on)
    walker = Walker(book, on, policy, terms_for, _threads(book))
    walker.run(stop=count_b)
    result_b = finish(walker.fork(on - 1, count_b, book.failed_debits_before))
    walker.run(first=count_b)
    return result_b, finish(walker)


def _reference_pair(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
    ids: tuple[list[str], list[str]] | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The reference on the day before (loans ``ids[0]``) and on ``business_date``
    (``ids[1]``; ``None``: every loan), each loan's domain values built once."""
    if ids is not None:
        chosen = pl.DataFrame(
            {"loan_id": pl.Series(sorted(set(ids[0]) | set(ids[1])), dtype=pl.Utf8)}
        )
        loans, schedules, transactions, marks = (
            f.join(chosen, on="loan_id", how="semi", maintain_order="left")
            for f in (loans, schedules, transactions, marks)
        )
    books = list(iter_books(loans, schedules, transactions, marks))
    if ids is None:
        before, on = books, books
    else:
        want_b, want = set(ids[0]), set(ids[1])
        before = [b for b in books if b.loan_id in want_b]
        on = [b for b in books if b.loan_id in want]
    day_before = business_date - timedelta(days=1)
    return (
        states_frame(reference_states(before, day_before, policy)),
        states_frame(reference_states(on, business_date, policy)),
    )


def _reference(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
    ids: list[str],
) -> pl.DataFrame:
    chosen = pl.DataFrame({"loan_id": pl.Series(ids, dtype=pl.Utf8)})

    def only(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(chosen, on="loan_id", how="semi", maintain_order="left")

    return reference_states_frame(
        only(loans), only(schedules), only(transactions), only(marks), business_date, policy
    )


def _native_frame(
    loans: pl.DataFrame,
    business_date: date,
    rows: np.ndarray,
    book_ids: pl.Series,
    cols: dict[str, Any],
    keep: np.ndarray,
) -> pl.DataFrame:
    def col(name: str) -> np.ndarray:
        out: np.ndarray = cols[name][keep]
        return out

    reasons = cols["_reasons"]
    charged = col("_charged_off")
    frame = pl.DataFrame(
        {
            "loan_id": book_ids.filter(pl.Series(keep)),
            "currency": loans["currency"].gather(rows),
            "business_date": pl.repeat(business_date, int(keep.sum()), eager=True, dtype=pl.Date),
            "status": _labels(STATUS, col("_status")),
            "days_past_due": pl.Series(col("days_past_due"), dtype=pl.Int32),
            "overdue_since": dates(col("overdue_since")),
            "classification": _labels(CATEGORY_NAMES, col("_category")),
            "classification_reasons": _reason_lists(reasons, col("_reason")),
            "ifrs9_stage": pl.Series(col("ifrs9_stage"), dtype=pl.Int8),
            "_charged_day": pl.Series(charged, dtype=pl.Int64),
            **{
                k: pl.Series(col(k), dtype=pl.Int64)
                for k in (
                    "principal_outstanding",
                    "overdue_principal",
                    "overdue_interest",
                    "overdue_fee",
                    "interest_outstanding",
                    "fee_outstanding",
                    "penalty_outstanding",
                    "principal_paid",
                    "interest_paid",
                    "fee_paid",
                    "penalty_paid",
                    "penalty_charged",
                    "written_off",
                    "credit_balance",
                    "advance_balance",
                    "next_due_amount",
                )
            },
            "next_due_date": dates(col("next_due_date")),
            "last_payment_date": dates(col("last_payment_date")),
            "total_paid": pl.Series(col("total_paid"), dtype=pl.Int64),
            "recovered": pl.Series(col("recovered"), dtype=pl.Int64),
            "failed_debits": pl.Series(col("failed_debits"), dtype=pl.Int32),
        }
    )
    labels = cols["_bucket_labels"]
    frame = frame.with_columns(
        bucket=_labels(labels, col("_bucket")),
        waived=pl.lit(0, pl.Int64),
    )
    return frame.select([pl.col(k).cast(v) for k, v in STATE_SCHEMA.items()])


def _labels(names: Any, codes: np.ndarray) -> pl.Series:
    return pl.Series(list(names), dtype=pl.Utf8).gather(codes.astype(np.int64))


def _reason_lists(table: dict[int, list[str]], codes: np.ndarray) -> pl.Series:
    keys = sorted(table)
    position = np.searchsorted(np.array(keys, dtype=np.int64), codes.astype(np.int64))
    lists = pl.Series([table[k] for k in keys], dtype=pl.List(pl.Utf8))
    return lists.gather(position)


def loan_states_arrow(
    loans: Any,
    schedules: Any,
    transactions: Any,
    marks: Any,
    business_date: date,
    policy: ServicingPolicy,
) -> Any:
    """``loan_states`` on ``pyarrow.Table``s of whole loans; returns a ``pyarrow.Table``."""

    def frame(table: Any) -> pl.DataFrame:
        out = pl.from_arrow(table)
        assert isinstance(out, pl.DataFrame)
        return out

    states = loan_states(
        frame(loans), frame(schedules), frame(transactions), frame(marks), business_date, policy
    )
    return states.to_arrow()
