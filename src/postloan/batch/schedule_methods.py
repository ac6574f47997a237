"""The five repayment methods over a block of like loans, period by period.

A :class:`Block` holds loans that share a method, a day count and a frequency
unit, sorted by term with the longest first: the loans still running in period
``j`` are then the first ``counts[j]`` of the block, and those whose last
period is ``j`` are the tail of that prefix. Rows come back period-major (all
first instalments, then all second ones …); the caller puts them in loan order.
The arithmetic mirrors ``postloan.domain.schedule`` step for step.
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
    fee: I64
    rate_num: I64
    rate_den: I64
    count: I64  # months or days per period
    anchor: I64  # day number the due dates are counted from
    first_step: I64  # periods from the anchor to the first due date (0 or 1)
    disbursement: I64


@dataclass(frozen=True, slots=True)
class Rows:
    """Instalment rows; ``loan`` is the position of the row's loan in its block."""

    loan: I64
    seq: I64
    due: I64
    principal: I64
    interest: I64
    fee: I64
    balance: I64


def round_half_up_ratio(a: I64, num: I64, den: I64) -> I64:
    """``round_half_up(a × num / den)`` exactly, element-wise (broadcasting).

    Needs ``num ≥ 0``, ``0 < den < 2**61`` and a result below 2**50. The float
    quotient is within one of the true floor; the remainder ``a·num − q·den`` is
    then small, so uint64 arithmetic modulo 2**64 gives it exactly.
    """
    negative = a < 0
    signed = bool(negative.any())
    mag = np.abs(a) if signed else a
    q = np.floor(mag.astype(np.float64) * num.astype(np.float64) / den).astype(np.int64)
    rem = (
        mag.view(np.uint64) * num.view(np.uint64) - q.view(np.uint64) * den.view(np.uint64)
    ).view(np.int64)
    while True:
        low = rem < 0
        high = rem >= den
        if not (low.any() or high.any()):
            break
        q += high.astype(np.int64) - low
        rem += np.where(low, den, 0) - np.where(high, den, 0)
    q += 2 * rem >= den
    result: I64 = np.where(negative, -q, q) if signed else q
    return result


def _equal_part(total: I64, n: I64) -> I64:
    """``round_half_up(total / n)`` for ``total ≥ 0``: each of ``n`` equal parts."""
    part: I64 = (2 * total + n) // (2 * n)
    return part


def schedule_block(block: Block, tables: DateTables) -> Rows:
    """Every instalment row of the loans in ``block``."""
    term = block.term
    longest = int(term[0])
    # counts[j]: loans with a period j (term > j); starts[j]: first row of period j.
    counts = np.searchsorted(-term, -np.arange(longest), side="left")
    starts = np.concatenate(([0], np.cumsum(counts)))
    due, days = _dates_and_days(block, tables, counts, starts)
    pos = np.arange(int(starts[-1]), dtype=np.int64) - np.repeat(starts[:-1], counts)
    seq = np.repeat(np.arange(1, longest + 1, dtype=np.int64), counts)
    last = seq == term[pos]
    period_num = block.rate_num[pos] * days
    total_days = np.bincount(pos, weights=days, minlength=len(term)).astype(np.int64)
    principal = block.principal
    fee = block.fee[pos]
    if block.method is Method.ANNUITY:
        return _annuity(block, counts, starts, pos, seq, due, fee, period_num, total_days)
    if block.method is Method.EQUAL_PRINCIPAL:
        return _equal_principal(block, counts, starts, pos, seq, due, fee, period_num)
    if block.method is Method.INTEREST_ONLY:
        p = principal[pos]
        interest = round_half_up_ratio(p, period_num, block.rate_den[pos])
        part = np.where(last, p, 0)
        return Rows(pos, seq, due, part, interest, fee, p - part)
    whole_term = round_half_up_ratio(principal, block.rate_num * total_days, block.rate_den)
    if block.method is Method.BULLET:
        at = np.flatnonzero(last)
        loan = pos[at]
        zero = np.zeros(len(at), dtype=np.int64)
        return Rows(loan, zero + 1, due[at], principal[loan], whole_term[loan], fee[at], zero)
    # FLAT: principal and whole-term interest each split in equal parts.
    p_part = _equal_part(principal, term)
    i_part = _equal_part(whole_term, term)
    p_last = principal - p_part * (term - 1)
    i_last = whole_term - i_part * (term - 1)
    part = np.where(last, p_last[pos], p_part[pos])
    interest = np.where(last, i_last[pos], i_part[pos])
    balance = np.where(last, 0, principal[pos] - p_part[pos] * seq)
    return Rows(pos, seq, due, part, interest, fee, balance)


def _dates_and_days(block: Block, tables: DateTables, counts: I64, starts: I64) -> tuple[I64, I64]:
    """Due date and day-count numerator of every row (period-major)."""
    total = int(starts[-1])
    due = np.empty(total, dtype=np.int64)
    days = np.empty(total, dtype=np.int64)
    previous = block.disbursement.copy()
    at = block.anchor - tables.first_day
    anchor_month = tables.month_index[at]
    anchor_day = tables.day_of_month[at]
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
    return due, days


def _equal_principal(
    block: Block,
    counts: I64,
    starts: I64,
    pos: I64,
    seq: I64,
    due: I64,
    fee: I64,
    period_num: I64,
) -> Rows:
    term = block.term
    part_of = _equal_part(block.principal, term)
    part_of_last = block.principal - part_of * (term - 1)
    balance = block.principal.copy()
    total = len(pos)
    parts = np.empty(total, dtype=np.int64)
    interest = np.empty(total, dtype=np.int64)
    balances = np.empty(total, dtype=np.int64)
    n = len(counts)
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        ending = int(counts[j + 1]) if j + 1 < n else 0
        b = balance[:c]
        interest[s : s + c] = round_half_up_ratio(b, period_num[s : s + c], block.rate_den[:c])
        part = part_of[:c].copy()
        part[ending:] = part_of_last[ending:c]
        b -= part
        parts[s : s + c] = part
        balances[s : s + c] = b
    return Rows(pos, seq, due, parts, interest, fee, balances)


def _level_payments(
    block: Block, counts: I64, starts: I64, period_num: I64, total_days: I64
) -> I64:
    """``level_payment`` of each loan: float64, with the reference for near-halves."""
    term = block.term
    loans = len(term)
    den = block.rate_den.astype(np.float64)
    discount = np.ones(loans)
    factor = np.zeros(loans)
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        discount[:c] /= 1.0 + period_num[s : s + c] / den[:c]
        factor[:c] += discount[:c]
    principal = block.principal
    exact = principal / factor
    floor = np.floor(exact)
    frac = exact - floor
    payment = floor.astype(np.int64) + (frac >= 0.5)
    zero_rate = block.rate_num * total_days == 0
    payment = np.where(zero_rate, _equal_part(principal, term), payment)
    tolerance = exact * (term + 10) * 1e-14 + 1e-9
    near = (np.abs(frac - 0.5) <= tolerance) & ~zero_rate
    for i in np.flatnonzero(near).tolist():
        exact_den = int(block.rate_den[i])
        rates = [
            Fraction(int(period_num[int(starts[j]) + i]), exact_den) for j in range(int(term[i]))
        ]
        payment[i] = level_payment(int(principal[i]), rates)
    return payment


def _annuity(
    block: Block,
    counts: I64,
    starts: I64,
    pos: I64,
    seq: I64,
    due: I64,
    fee: I64,
    period_num: I64,
    total_days: I64,
) -> Rows:
    """Level instalments, tried at the level payment and one minor unit either side;
    each loan keeps the one whose final instalment lands closest (``amortize_annuity``)."""
    base = _level_payments(block, counts, starts, period_num, total_days)
    payment = np.stack([base, base - 1, base + 1])
    balance = np.repeat(block.principal[None, :], 3, axis=0)
    total = len(pos)
    parts = np.empty((3, total), dtype=np.int64)
    interest = np.empty((3, total), dtype=np.int64)
    balances = np.empty((3, total), dtype=np.int64)
    gap = np.empty((3, len(base)), dtype=np.int64)
    n = len(counts)
    for j, c in enumerate(counts.tolist()):
        s = int(starts[j])
        ending = int(counts[j + 1]) if j + 1 < n else 0
        b = balance[:, :c]
        owed = round_half_up_ratio(b, period_num[s : s + c], block.rate_den[:c])
        part = np.minimum(b, np.maximum(payment[:, :c] - owed, 0))
        part[:, ending:] = b[:, ending:]
        b -= part
        parts[:, s : s + c] = part
        interest[:, s : s + c] = owed
        balances[:, s : s + c] = b
        gap[:, ending:c] = np.abs(part[:, ending:] + owed[:, ending:] - payment[:, ending:c])
    choice = np.zeros(len(base), dtype=np.int64)
    best = gap[0]
    lower = gap[1] < best
    choice[lower] = 1
    best = np.where(lower, gap[1], best)
    choice[gap[2] < best] = 2
    choice[block.term == 1] = 0
    pick = choice[pos]
    rows = np.arange(total)
    return Rows(pos, seq, due, parts[pick, rows], interest[pick, rows], fee, balances[pick, rows])
