"""The five repayment methods over a block of like loans, period by period.

A :class:`Block` holds loans that share a method, a day count and a frequency
unit, sorted by term with the longest first: the loans still running in period
``j`` are then the first ``counts[j]`` of the block, and those whose last
period is ``j`` are the tail of that prefix. Rows are written straight into the
output columns (a :class:`Sink`) at ``first_row + seq - 1``. The arithmetic
mirrors ``postloan.domain.schedule`` step for step.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from postloan.batch.calendar_arrays import I64, DateTables, fraction_numerator, step_months
from postloan.domain.daycount import DayCount
from postloan.domain.schedule import Method, level_payment

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Block:
    """Loans of one (method, day count, frequency unit), longest term first.

    ``rate_num / rate_den`` times a period's day-count numerator is that period's
    exact rate (``rate_den`` already includes the day count's year denominator).
    """

    method: Method
    day_count: DayCount
    monthly: bool
    principal: I64
    term: I64
    rate_num: I64
    rate_den: I64
    count: I64  # months or days per period
    anchor: I64  # day number the due dates are counted from
    first_step: I64  # periods from the anchor to the first due date (0 or 1)
    disbursement: I64
    first_row: I64  # output row of each loan's first instalment


@dataclass(frozen=True, slots=True)
class Sink:
    """Output columns, already in (loan, seq) order."""

    due: I64
    principal: I64
    interest: I64
    balance: I64


def round_half_up_ratio(a: I64, num: I64, den: I64, ratio: F64 | None = None) -> I64:
    """``round_half_up(a × num / den)`` exactly, element-wise (broadcasting).

    Needs ``num ≥ 0``, ``0 < den < 2**61`` and ``|result| < 2**49``; ``ratio`` is
    ``num / den`` in float64 when the caller has it. The float quotient is within
    one of the true floor, so the remainder ``a·num − q·den`` is small and uint64
    arithmetic modulo 2**64 gives it exactly; one correction step then suffices.
    """
    negative = a < 0
    signed = bool(negative.any())
    mag = np.abs(a) if signed else a
    if ratio is None:
        ratio = num / den
    q = np.floor(mag * ratio).astype(np.int64)
    exact = mag.view(np.uint64) * num.view(np.uint64)
    rem = (exact - q.view(np.uint64) * den.view(np.uint64)).view(np.int64)
    low = rem < 0
    high = rem >= den
    q += high
    q -= low
    rem += den * (low.astype(np.int64) - high)
    q += 2 * rem >= den
    result: I64 = np.where(negative, -q, q) if signed else q
    return result


def _equal_part(total: I64, n: I64) -> I64:
    """``round_half_up(total / n)`` for ``total ≥ 0``: each of ``n`` equal parts."""
    part: I64 = (2 * total + n) // (2 * n)
    return part


def schedule_block(block: Block, tables: DateTables, sink: Sink) -> None:
    """Write every instalment of the loans in ``block`` into ``sink``."""
    term = block.term
    longest = int(term[0])
    # counts[j]: loans with a period j (term > j); starts[j]: first row of period j.
    counts = np.searchsorted(-term, -np.arange(longest), side="left")
    starts = np.concatenate(([0], np.cumsum(counts)))
    due, days = _dates_and_days(block, tables, counts, starts, sink)
    pos = np.arange(int(starts[-1]), dtype=np.int64) - np.repeat(starts[:-1], counts)
    period_num = block.rate_num[pos] * days
    total_days = np.bincount(pos, weights=days, minlength=len(term)).astype(np.int64)
    if block.method is Method.ANNUITY:
        _annuity(block, counts, starts, pos, period_num, total_days, sink)
        return
    if block.method is Method.EQUAL_PRINCIPAL:
        _equal_principal(block, counts, starts, period_num, sink)
        return
    principal = block.principal
    seq = np.repeat(np.arange(1, longest + 1, dtype=np.int64), counts)
    last = seq == term[pos]
    rows = block.first_row[pos] + seq - 1
    if block.method is Method.INTEREST_ONLY:
        p = principal[pos]
        sink.interest[rows] = round_half_up_ratio(p, period_num, block.rate_den[pos])
        sink.principal[rows] = np.where(last, p, 0)
        sink.balance[rows] = np.where(last, 0, p)
        return
    whole_term = round_half_up_ratio(principal, block.rate_num * total_days, block.rate_den)
    if block.method is Method.BULLET:
        at = np.flatnonzero(last)
        loan = pos[at]
        sink.due[block.first_row[loan]] = due[at]
        sink.principal[block.first_row] = principal
        sink.interest[block.first_row] = whole_term
        sink.balance[block.first_row] = 0
        return
    # FLAT: principal and whole-term interest each split in equal parts.
    p_part = _equal_part(principal, term)
    i_part = _equal_part(whole_term, term)
    p_last = principal - p_part * (term - 1)
    i_last = whole_term - i_part * (term - 1)
    sink.principal[rows] = np.where(last, p_last[pos], p_part[pos])
    sink.interest[rows] = np.where(last, i_last[pos], i_part[pos])
    sink.balance[rows] = np.where(last, 0, principal[pos] - p_part[pos] * seq)


def _dates_and_days(
    block: Block, tables: DateTables, counts: I64, starts: I64, sink: Sink
) -> tuple[I64, I64]:
    """Due date and day-count numerator of every row (period-major); all but
    bullet loans also get their due dates written to ``sink``."""
    total = int(starts[-1])
    due = np.empty(total, dtype=np.int64)
    days = np.empty(total, dtype=np.int64)
    previous = block.disbursement.copy()
    at = block.anchor - tables.first_day
    anchor_month = tables.month_index[at]
    anchor_day = tables.day_of_month[at]
    write = block.method is not Method.BULLET
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        steps = block.count[:c] * (block.first_step[:c] + j)
        if block.monthly:
            d = step_months(tables, anchor_month[:c], anchor_day[:c], steps)
        else:
            d = block.anchor[:c] + steps
        days[s : s + c] = fraction_numerator(tables, previous[:c], d, block.day_count)
        due[s : s + c] = d
        previous[:c] = d
        if write:
            sink.due[block.first_row[:c] + j] = d
    return due, days


def _equal_principal(block: Block, counts: I64, starts: I64, period_num: I64, sink: Sink) -> None:
    term = block.term
    part_of = _equal_part(block.principal, term)
    part_of_last = block.principal - part_of * (term - 1)
    balance = block.principal.copy()
    n = len(counts)
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        ending = int(counts[j + 1]) if j + 1 < n else 0
        rows = block.first_row[:c] + j
        b = balance[:c]
        sink.interest[rows] = round_half_up_ratio(b, period_num[s : s + c], block.rate_den[:c])
        part = part_of[:c].copy()
        part[ending:] = part_of_last[ending:c]
        b -= part
        sink.principal[rows] = part
        sink.balance[rows] = b


def _level_payments(
    block: Block, counts: I64, starts: I64, ratio: F64, period_num: I64, total_days: I64
) -> I64:
    """``level_payment`` of each loan: float64, with the reference for near-halves."""
    term = block.term
    loans = len(term)
    discount = np.ones(loans)
    factor = np.zeros(loans)
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        discount[:c] /= 1.0 + ratio[s : s + c]
        factor[:c] += discount[:c]
    principal = block.principal
    exact = principal / factor
    floor = np.floor(exact)
    frac = exact - floor
    payment = floor.astype(np.int64) + (frac >= 0.5)
    zero_rate = block.rate_num * total_days == 0
    payment = np.where(zero_rate, _equal_part(principal, term), payment)
    # float64 error of a product and sum over `term` periods stays far below this
    tolerance = exact * (term + 10) * 1e-14 + 1e-9
    near = (np.abs(frac - 0.5) <= tolerance) & ~zero_rate
    for i in np.flatnonzero(near).tolist():
        exact_den = int(block.rate_den[i])
        rates = [Fraction(int(period_num[int(starts[j]) + i]), exact_den) for j in range(term[i])]
        payment[i] = level_payment(int(principal[i]), rates)
    return payment


def _annuity(
    block: Block,
    counts: I64,
    starts: I64,
    pos: I64,
    period_num: I64,
    total_days: I64,
    sink: Sink,
) -> None:
    """Level instalments, with the payment moved by one minor unit when that brings
    the final instalment closer to it (``amortize_annuity``): the three candidates
    run side by side to pick one, then the chosen one is written."""
    ratio = period_num / block.rate_den[pos]
    base = _level_payments(block, counts, starts, ratio, period_num, total_days)
    n = len(counts)
    payment = np.stack([base, base - 1, base + 1])
    balance = np.repeat(block.principal[None, :], 3, axis=0)
    gap = np.empty((3, len(base)), dtype=np.int64)
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        ending = int(counts[j + 1]) if j + 1 < n else 0
        b = balance[:, :c]
        owed = round_half_up_ratio(b, period_num[s : s + c], block.rate_den[:c], ratio[s : s + c])
        part = np.minimum(b, np.maximum(payment[:, :c] - owed, 0))
        part[:, ending:] = b[:, ending:]
        b -= part
        gap[:, ending:c] = np.abs(part[:, ending:] + owed[:, ending:] - payment[:, ending:c])
    choice = np.zeros(len(base), dtype=np.int64)
    best = gap[0]
    lower = gap[1] < best
    choice[lower] = 1
    best = np.where(lower, gap[1], best)
    choice[gap[2] < best] = 2
    choice[block.term == 1] = 0
    chosen = payment[choice, np.arange(len(base))]
    single = block.principal.copy()
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        ending = int(counts[j + 1]) if j + 1 < n else 0
        rows = block.first_row[:c] + j
        b = single[:c]
        owed = round_half_up_ratio(b, period_num[s : s + c], block.rate_den[:c], ratio[s : s + c])
        part = np.minimum(b, np.maximum(chosen[:c] - owed, 0))
        part[ending:] = b[ending:]
        b -= part
        sink.interest[rows] = owed
        sink.principal[rows] = part
        sink.balance[rows] = b
