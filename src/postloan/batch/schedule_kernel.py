"""Repayment schedules for a whole loan book at once (frame in, frame out).

:func:`generate_schedules` is the batch twin of
``postloan.domain.schedule.generate_schedule`` and agrees with it in every minor
unit and every due date (tests/unit/test_schedule_kernel_parity.py holds it to
that). Loans are grouped by (method, day count, frequency unit) and sorted by
term, longest first, so period ``j`` of a group is a contiguous prefix of it:
Python loops over periods, numpy over loans.

Exactness. Money is int64 minor units. A period rate is the exact fraction
``rate_num × day_num / (rate_den × year_den)``; ``round_half_up(balance × rate)``
is a float64 product, settled with exact integer arithmetic wherever it lies
near half a minor unit (see ``round_half_up_ratio``). The level payment is a
float64 annuity factor; within float error of half a minor unit it is
recomputed with the reference ``level_payment``. Loans whose numbers could
leave that safe range (rates with more than 12 decimals, amounts of 10^15
minor units or more, a term's interest of 2^37 minor units or more) are handed
to the reference ``generate_schedule`` whole. No I/O and deterministic (the
optional threads write disjoint rows): it can run inside Spark ``mapInArrow``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeVar

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from postloan.batch.calendar_arrays import I64, YEAR_DENOMINATOR, DateTables
from postloan.batch.schedule_methods import Block, Sink, schedule_block
from postloan.domain.calendar import Frequency, FrequencyUnit
from postloan.domain.daycount import DayCount
from postloan.domain.errors import FeedError, InvalidTerms, PostLoanError
from postloan.domain.schedule import LoanTerms, Method, generate_schedule

__all__ = [
    "LOAN_COLUMNS",
    "SCHEDULE_SCHEMA",
    "SCHEDULE_SPARK_SCHEMA",
    "generate_schedules",
    "schedule_arrow_batches",
]

#: Input columns :func:`generate_schedules` reads (``first_due_date`` and
#: ``fee_per_period`` may be absent; other columns are ignored).
LOAN_COLUMNS: dict[str, pl.DataType] = {
    "loan_id": pl.String(),
    "principal": pl.Int64(),
    "annual_rate": pl.String(),
    "term": pl.Int32(),
    "frequency": pl.String(),
    "day_count": pl.String(),
    "method": pl.String(),
    "disbursement_date": pl.Date(),
    "first_due_date": pl.Date(),
    "fee_per_period": pl.Int64(),
}

#: Output: one row per instalment, amounts in minor units.
SCHEDULE_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.String(),
    "seq": pl.Int32(),
    "due_date": pl.Date(),
    "principal_due": pl.Int64(),
    "interest_due": pl.Int64(),
    "fee_due": pl.Int64(),
    "balance": pl.Int64(),
}

#: ``SCHEDULE_SCHEMA`` as a Spark DDL string, for ``mapInArrow(..., schema)``.
SCHEDULE_SPARK_SCHEMA = (
    "loan_id string, seq int, due_date date, principal_due long, interest_due long, "
    "fee_due long, balance long"
)

_METHODS = list(Method)
_DAY_COUNTS = list(DayCount)
_MAX_RATE_DEN = 10**12  # rates with up to 12 decimals run vectorised
_MAX_AMOUNT = 10**15  # minor units; larger amounts go to the reference
_MAX_PRODUCT = 2**61  # bound on rate numerator × day numerator and on denominators
_EPOCH = date(1970, 1, 1)
_MIN_LOANS_PER_THREAD = 50_000  # below this, threads cost more than they save

T = TypeVar("T")


class _Book:
    """The loans as parallel arrays in input order, plus the parsed look-up values."""

    def __init__(self, loans: pl.DataFrame) -> None:
        missing = [c for c in LOAN_COLUMNS if c not in loans.columns and c not in _OPTIONAL]
        if missing:
            raise FeedError(f"the loans frame lacks column(s): {', '.join(missing)}")
        self.ids = loans["loan_id"].cast(pl.String)
        for name in LOAN_COLUMNS:
            if name in loans.columns and name not in _OPTIONAL:
                self._no_nulls(loans[name], name)
        rate_codes, self.rates = self._lookup(loans["annual_rate"], _parse_rate, "annual_rate")
        self.rate_code = rate_codes
        fractions = [Fraction(r) for r in self.rates]
        # Rates whose fraction would not fit the int64 path keep 0/1 here and
        # are flagged for the reference.
        fits = [f.denominator <= _MAX_RATE_DEN and f.numerator < _MAX_PRODUCT for f in fractions]
        self.rate_fits = np.array(fits, dtype=bool)[rate_codes]
        self.rate_num = np.array(
            [f.numerator if ok else 0 for f, ok in zip(fractions, fits, strict=True)], np.int64
        )[rate_codes]
        self.rate_den = np.array(
            [f.denominator if ok else 1 for f, ok in zip(fractions, fits, strict=True)], np.int64
        )[rate_codes]
        freq_codes, self.frequencies = self._lookup(
            loans["frequency"], Frequency.parse, "frequency"
        )
        self.frequency_code = freq_codes
        self.month_unit = np.array(
            [f.unit is FrequencyUnit.MONTH for f in self.frequencies], dtype=bool
        )[freq_codes]
        self.count = np.array([f.count for f in self.frequencies], dtype=np.int64)[freq_codes]
        dc_codes, day_counts = self._lookup(loans["day_count"], DayCount.parse, "day_count")
        self.day_count = np.array([_DAY_COUNTS.index(d) for d in day_counts], np.int64)[dc_codes]
        m_codes, methods = self._lookup(loans["method"], Method.parse, "method")
        self.method = np.array([_METHODS.index(m) for m in methods], np.int64)[m_codes]
        self.principal = _ints(loans["principal"])
        self.term = _ints(loans["term"])
        self.disbursement = _days(loans["disbursement_date"])
        if "fee_per_period" in loans.columns:
            self.fee = _ints(loans["fee_per_period"].fill_null(0))
        else:
            self.fee = np.zeros(loans.height, dtype=np.int64)
        if "first_due_date" in loans.columns:
            first_due = loans["first_due_date"]
            self.has_first_due = first_due.is_not_null().to_numpy()
            days = _days(first_due)
            self.anchor = np.where(self.has_first_due, days, self.disbursement)
        else:
            self.has_first_due = np.zeros(loans.height, dtype=bool)
            self.anchor = self.disbursement
        self.first_step = np.where(self.has_first_due, 0, 1).astype(np.int64)
        self._check()

    def _no_nulls(self, column: pl.Series, name: str) -> None:
        if column.null_count():
            first = self.ids.filter(column.is_null())[0]
            raise InvalidTerms(f"loan {first}: {name} is missing")

    def _lookup(
        self, column: pl.Series, parse: Callable[[str], T], name: str
    ) -> tuple[I64, list[T]]:
        texts = column.cast(pl.String)
        unique = texts.unique(maintain_order=True).to_list()
        values = []
        for text in unique:
            try:
                values.append(parse(text))
            except PostLoanError as err:
                first = self.ids.filter(texts == text)[0]
                raise InvalidTerms(f"loan {first}: {name}: {err}") from None
        codes = texts.cast(pl.Enum(unique)).to_physical().to_numpy().astype(np.int64)
        return codes, values

    def _check(self) -> None:
        problems = (
            (self.principal <= 0, "principal must be positive"),
            (self.term < 1, "term must be at least 1 period"),
            (self.fee < 0, "fee per period must not be negative"),
            (
                self.has_first_due & (self.anchor <= self.disbursement),
                "first due date must be after the disbursement date",
            ),
        )
        for bad, message in problems:
            if bad.any():
                first = self.ids[int(np.argmax(bad))]
                raise InvalidTerms(f"loan {first}: {message} ({int(bad.sum())} loan(s))")

    def last_due_bound(self) -> I64:
        """A day on or after every loan's last due date."""
        steps = self.count * (self.term - 1 + self.first_step)
        by_days = self.anchor + steps
        by_months = self.anchor + 31 * (steps + 1)
        bound: I64 = np.where(self.month_unit, by_months, by_days)
        return bound

    def terms(self, i: int) -> LoanTerms:
        """The reference terms of loan ``i``."""
        first_due = _EPOCH + timedelta(days=int(self.anchor[i])) if self.has_first_due[i] else None
        return LoanTerms(
            principal=int(self.principal[i]),
            annual_rate=self.rates[int(self.rate_code[i])],
            term=int(self.term[i]),
            frequency=self.frequencies[int(self.frequency_code[i])],
            day_count=_DAY_COUNTS[int(self.day_count[i])],
            method=_METHODS[int(self.method[i])],
            disbursement_date=_EPOCH + timedelta(days=int(self.disbursement[i])),
            first_due_date=first_due,
            fee_per_period=int(self.fee[i]),
        )


_OPTIONAL = ("first_due_date", "fee_per_period")


def _ints(column: pl.Series) -> I64:
    result: I64 = column.cast(pl.Int64).to_numpy().astype(np.int64, copy=False)
    return result


def _days(column: pl.Series) -> I64:
    days = column.cast(pl.Date).to_physical().cast(pl.Int64).fill_null(0)
    result: I64 = days.to_numpy().astype(np.int64, copy=False)
    return result


def _parse_rate(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidTerms(f"{text!r} is not a decimal rate such as 0.0948") from None
    if not value.is_finite() or value < 0:
        raise InvalidTerms(f"annual rate must be a non-negative number, got {text!r}")
    return value


def generate_schedules(loans: pl.DataFrame, *, threads: int | None = None) -> pl.DataFrame:
    """The contractual schedules of every loan in ``loans`` (columns: ``LOAN_COLUMNS``).

    ``threads`` caps the worker threads (default: the CPU count, at most 4; pass 1
    inside an engine such as Spark that already runs one task per core).

    One row per instalment, in input-loan order then ``seq``; columns as
    ``SCHEDULE_SCHEMA``. Raises ``InvalidTerms`` naming the first loan whose terms
    cannot produce a schedule and ``FeedError`` when a required column is missing.
    """
    if loans.height == 0:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    book = _Book(loans)
    bound = book.last_due_bound()
    tables = DateTables.covering(int(book.disbursement.min()) - 2, int(bound.max()) + 3)
    year_den = np.array([YEAR_DENOMINATOR[d] for d in _DAY_COUNTS], dtype=np.int64)
    reference = _needs_reference(book, bound, year_den)
    rate_num = book.rate_num
    rate_den = book.rate_den * year_den[book.day_count]
    per_loan = np.where(book.method == _METHODS.index(Method.BULLET), 1, book.term)
    first_row = np.concatenate(([0], np.cumsum(per_loan)[:-1]))
    total = int(per_loan.sum())
    sink = Sink(
        np.empty(total, dtype=np.int32),
        np.empty(total, dtype=np.int32),
        *(np.empty(total, dtype=np.int64) for _ in range(3)),
    )
    key = (book.method * len(_DAY_COUNTS) + book.day_count) * 2 + book.month_unit
    key = np.where(reference, -1, key)
    order = np.lexsort((-book.term, key))
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    groups = [g for g in np.split(order, cuts) if key[g[0]] >= 0]
    if threads is None:
        threads = min(os.cpu_count() or 1, 4)
    if threads > 1 and len(order) >= _MIN_LOANS_PER_THREAD * 2:
        # Interleaved slices of a block are blocks too (still longest term first);
        # numpy releases the GIL in its loops, so threads share the work.
        groups = [g[w::threads] for g in groups for w in range(threads) if w < len(g)]
    blocks = [
        Block(
            method=_METHODS[int(book.method[g[0]])],
            day_count=_DAY_COUNTS[int(book.day_count[g[0]])],
            monthly=bool(book.month_unit[g[0]]),
            principal=book.principal[g],
            term=book.term[g],
            rate_num=rate_num[g],
            rate_den=rate_den[g],
            count=book.count[g],
            anchor=book.anchor[g],
            first_step=book.first_step[g],
            disbursement=book.disbursement[g],
            first_row=first_row[g],
        )
        for g in groups
    ]
    blocks.sort(key=lambda b: -len(b.term))
    if threads > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda b: schedule_block(b, tables, sink), blocks))
    else:
        for block in blocks:
            schedule_block(block, tables, sink)
    for i in np.flatnonzero(reference).tolist():
        _reference_rows(book, i, sink, int(first_row[i]))
    return _frame(book, sink, per_loan)


def schedule_arrow_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``generate_schedules`` over Arrow record batches, for Spark ``mapInArrow``.

    A loan is one row of the loans frame, so any partitioning of the loans
    gives whole schedules. One thread per call: Spark already runs a task per core.
    """
    for batch in batches:
        loans = pl.from_arrow(batch)
        assert isinstance(loans, pl.DataFrame)
        schedules = generate_schedules(loans, threads=1)
        yield from schedules.to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches()


def _needs_reference(book: _Book, bound: I64, year_den: I64) -> np.ndarray:
    """Loans whose integers could overflow int64 in the vectorised path."""
    den = book.rate_den.astype(np.float64)
    num = book.rate_num.astype(np.float64)
    span = (bound - book.disbursement + 4 * book.term + 4).astype(np.float64)
    day_num = span * np.where(year_den[book.day_count] > 364, 366.0, 1.0)
    return (
        ~book.rate_fits
        | (num * day_num >= _MAX_PRODUCT)
        | (book.principal >= _MAX_AMOUNT)
        | (num / den * day_num / year_den[book.day_count] * book.principal >= 2.0**37)
    )


def _reference_rows(book: _Book, i: int, sink: Sink, first_row: int) -> None:
    """Schedule loan ``i`` with the per-loan reference, straight into ``sink``."""
    for k, instalment in enumerate(generate_schedule(book.terms(i))):
        row = first_row + k
        sink.seq[row] = instalment.seq
        sink.due[row] = (instalment.due_date - _EPOCH).days
        sink.principal[row] = instalment.principal
        sink.interest[row] = instalment.interest
        sink.balance[row] = instalment.balance


def _frame(book: _Book, sink: Sink, per_loan: I64) -> pl.DataFrame:
    loan_index = np.repeat(np.arange(len(per_loan), dtype=np.uint32), per_loan)
    return pl.DataFrame(
        {
            "loan_id": book.ids.gather(loan_index),
            "seq": sink.seq,
            "due_date": pl.Series(sink.due).cast(pl.Date),
            "principal_due": sink.principal,
            "interest_due": sink.interest,
            "fee_due": book.fee[loan_index],
            "balance": sink.balance,
        },
        schema=SCHEDULE_SCHEMA,
    )
