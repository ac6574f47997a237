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

    seq: npt.NDArray[np.int32]
    due: npt.NDArray[np.int32]
    principal: I64
    interest: I64
    balance: I64


#: A float quotient this close to a half minor unit is settled exactly. Quotients
#: stay below 2**38 (the kernel sends larger ones to the reference), where float64
#: error is under 1e-4 of a minor unit.
_NEAR_HALF = 1e-3


def round_half_up_ratio(
    a: I64, num: I64, den: I64, ratio: F64 | None = None, *, signed: bool = True
) -> I64:
    """``round_half_up(a × num / den)`` exactly, for ``a`` of shape (n,) or (n, k)
    and ``num``, ``den`` (and ``ratio = num / den`` in float64) of shape (n,).

    Needs ``num ≥ 0``, ``0 < den < 2**60`` and ``|result| < 2**38``. The float
    result is right unless it lies within ``_NEAR_HALF`` of a half; those few are
    checked with ``t = 2·a·num − (2q − 1)·den``, whose true value is small, so
    uint64 arithmetic modulo 2**64 gives it exactly: ``q`` is right iff
    ``0 ≤ t < 2·den``. ``signed=False`` promises ``a ≥ 0``.
    """
    if signed and a.size and a.min() < 0:
        magnitude = round_half_up_ratio(np.abs(a), num, den, ratio, signed=False)
        result: I64 = np.where(a < 0, -magnitude, magnitude)
        return result
    if ratio is None:
        ratio = num / den
    wide = a.ndim == 2
    y = a * (ratio[:, None] if wide else ratio)
    y += 0.5
    q = np.floor(y)
    y -= q
    near = y < _NEAR_HALF
    near |= y > 1 - _NEAR_HALF
    rounded: I64 = q.astype(np.int64)
    hit = np.flatnonzero(near)
    if hit.size:
        flat = rounded.reshape(-1)
        rows = hit // a.shape[1] if wide else hit
        qs = flat[hit]
        d = den[rows]
        exact = 2 * a.reshape(-1)[hit].view(np.uint64) * num[rows].view(np.uint64)
        t = (exact - (2 * qs.view(np.uint64) - 1) * d.view(np.uint64)).view(np.int64)
        flat[hit] = qs - (t < 0) + (t >= 2 * d)
    return rounded


def _equal_part(total: I64, n: I64) -> I64:
    """``round_half_up(total / n)`` for ``total ≥ 0``: each of ``n`` equal parts."""
    part: I64 = (2 * total + n) // (2 * n)
    return part


def _split_part(total: I64, n: I64) -> I64:
    """Each of ``n`` equal parts of ``total`` with the last taking the remainder: the
    rounded part, or ``total // n`` where rounding up would leave the last part negative."""
    part = _equal_part(total, n)
    floor: I64 = total // n
    return np.where(part * (n - 1) > total, floor, part)


@dataclass(frozen=True, slots=True)
class _Periods:
    """What the due dates give each period (period-major) and each loan."""

    counts: list[int]  # loans with a period j: the first counts[j] of the block
    starts: list[int]  # where period j starts in the period-major arrays
    period_num: I64  # exact period rate = period_num / block.rate_den
    ratio: F64  # the same in float64
    total_days: I64  # per loan: sum of day-count numerators over the whole term
    factor: F64  # per loan: annuity factor Σ_k Π_{j≤k} 1/(1+r_j) (annuity blocks only)


def schedule_block(block: Block, tables: DateTables, sink: Sink) -> None:
    """Write every instalment of the loans in ``block`` into ``sink``."""
    term = block.term
    counts = np.searchsorted(-term, -np.arange(int(term[0])), side="left")
    starts = np.concatenate(([0], np.cumsum(counts)))
    periods = _periods(block, tables, sink, counts.tolist(), starts.tolist())
    if block.method is Method.ANNUITY:
        _annuity(block, periods, sink)
        return
    principal = block.principal
    if block.method is Method.BULLET:
        whole = round_half_up_ratio(principal, block.rate_num * periods.total_days, block.rate_den)
        sink.seq[block.first_row] = 1
        sink.principal[block.first_row] = principal
        sink.interest[block.first_row] = whole
        sink.balance[block.first_row] = 0
        return
    if block.method is Method.INTEREST_ONLY:
        part_of = np.zeros_like(principal)
        interest_of = None
    elif block.method is Method.EQUAL_PRINCIPAL:
        part_of = _split_part(principal, term)
        interest_of = None
    else:  # FLAT: principal and whole-term interest each in equal parts
        part_of = _split_part(principal, term)
        whole = round_half_up_ratio(principal, block.rate_num * periods.total_days, block.rate_den)
        interest_part = _split_part(whole, term)
        interest_of = (interest_part, whole - interest_part * (term - 1))
    _fixed_parts(block, periods, sink, part_of, interest_of)


def _periods(
    block: Block, tables: DateTables, sink: Sink, counts: list[int], starts: list[int]
) -> _Periods:
    """Walk the due dates once: write them to ``sink`` and work out each period's rate.

    A bullet loan has one instalment, due on its last due date."""
    total = starts[-1]
    loans = len(block.term)
    period_num = np.empty(total, dtype=np.int64)
    ratio = np.empty(total)
    total_days = np.zeros(loans, dtype=np.int64)
    discount = np.ones(loans)
    factor = np.zeros(loans)
    den = block.rate_den.astype(np.float64)
    previous = block.disbursement  # the last due date (prefixes only shrink)
    at = block.anchor - tables.first_day
    anchor_at = tables.month_index[at] - tables.first_month
    anchor_day0 = tables.day_of_month[at] - 1
    steps = block.count * block.first_step  # periods × count from the anchor
    bullet = block.method is Method.BULLET
    annuity = block.method is Method.ANNUITY
    for j, c in enumerate(counts):
        s = starts[j]
        if block.monthly:
            due = step_months(tables, anchor_at[:c], anchor_day0[:c], steps[:c])
        else:
            due = block.anchor[:c] + steps[:c]
        steps[:c] += block.count[:c]
        days = fraction_numerator(tables, previous[:c], due, block.day_count)
        previous = due
        total_days[:c] += days
        num = period_num[s : s + c]
        np.multiply(block.rate_num[:c], days, out=num)
        r = ratio[s : s + c]
        np.divide(num, den[:c], out=r)
        if annuity:
            discount[:c] /= 1.0 + r
            factor[:c] += discount[:c]
        if bullet:
            ending = counts[j + 1] if j + 1 < len(counts) else 0
            sink.due[block.first_row[ending:c]] = due[ending:]
        else:
            rows = block.first_row[:c] + j
            sink.due[rows] = due
            sink.seq[rows] = j + 1
    return _Periods(counts, starts, period_num, ratio, total_days, factor)


def _fixed_parts(
    block: Block,
    periods: _Periods,
    sink: Sink,
    part_of: I64,
    interest_of: tuple[I64, I64] | None,
) -> None:
    """Equal principal, interest-only and flat: the principal part of each period is
    fixed in advance (``part_of``, the last period takes the rest); interest is on the
    balance, or fixed too (flat: ``interest_of`` = (regular, last))."""
    principal = block.principal
    part_of_last = principal - part_of * (block.term - 1)
    balance = principal.copy()
    counts = periods.counts
    for j, c in enumerate(counts):
        s = periods.starts[j]
        ending = counts[j + 1] if j + 1 < len(counts) else 0
        rows = block.first_row[:c] + j
        b = balance[:c]
        if interest_of is None:
            num = periods.period_num[s : s + c]
            interest = round_half_up_ratio(b, num, block.rate_den[:c], periods.ratio[s : s + c])
        else:
            interest = interest_of[0][:c].copy()
            interest[ending:] = interest_of[1][ending:c]
        part = part_of[:c].copy()
        part[ending:] = part_of_last[ending:c]
        b -= part
        sink.interest[rows] = interest
        sink.principal[rows] = part
        sink.balance[rows] = b


def _level_payments(block: Block, periods: _Periods) -> I64:
    """``level_payment`` of each loan: float64, with the reference for near-halves."""
    term = block.term
    principal = block.principal
    exact = principal / periods.factor
    floor = np.floor(exact)
    frac = exact - floor
    payment = floor.astype(np.int64) + (frac >= 0.5)
    zero_rate = block.rate_num * periods.total_days == 0
    payment = np.where(zero_rate, _equal_part(principal, term), payment)
    # float64 error of a product and sum over `term` periods stays far below this
    tolerance = exact * (term + 10) * 1e-14 + 1e-9
    near = (np.abs(frac - 0.5) <= tolerance) & ~zero_rate
    for i in np.flatnonzero(near).tolist():
        den = int(block.rate_den[i])
        nums = (int(periods.period_num[periods.starts[j] + i]) for j in range(int(term[i])))
        payment[i] = level_payment(int(principal[i]), [Fraction(n, den) for n in nums])
    return payment


def _annuity(block: Block, periods: _Periods, sink: Sink) -> None:
    """Level instalments at the level payment ``p``, written as they are computed;
    then ``amortize_annuity``'s check whether ``p ± 1`` brings the final
    instalment closer, run only for the loans where it can.

    Why most loans need no check: let ``d`` = final instalment − ``p``. While no
    period clamps its principal part (to 0 or to the balance), paying ``p − 1``
    leaves each balance at least one unit higher than the period before, so the
    final instalment grows by at least ``n − 1`` and its gap to ``p − 1`` is at
    least ``n − |d|`` (and more than ``|d|`` when ``d ≥ 0``); ``p + 1`` mirrors
    this. A neighbour can only be strictly closer when ``|d| > n/2``. Clamping
    is ruled out for the neighbours from the level run itself: their balances
    differ from it by at most ``U_j`` (``U_0 = 0``, ``U_{j+1} = U_j(1 + r_j) + 2``),
    so a principal part with that much room on both sides cannot clamp. Loans
    without the room, or with ``|d|`` near ``n/2``, run the neighbours for real.
    """
    payment = _level_payments(block, periods)
    loans = len(payment)
    balance = block.principal.copy()
    spread = np.zeros(loans)  # U_j
    cramped = np.zeros(loans, dtype=bool)
    final_gap = np.zeros(loans, dtype=np.int64)
    counts = periods.counts
    den = block.rate_den
    for j, c in enumerate(counts):
        s = periods.starts[j]
        ending = counts[j + 1] if j + 1 < len(counts) else 0
        b = balance[:c]
        r = periods.ratio[s : s + c]
        owed = round_half_up_ratio(b, periods.period_num[s : s + c], den[:c], r, signed=False)
        part = np.subtract(payment[:c], owed)
        # room for the neighbours in the periods that are not the loan's last
        u = spread[:ending]
        ur = u * r[:ending]
        room = part[:ending]
        cramped[:ending] |= (room < ur + _ROOM) | (room + u + ur + _ROOM > b[:ending])
        u += ur
        u += 2.0
        np.maximum(part, 0, out=part)
        np.minimum(part, b, out=part)
        part[ending:] = b[ending:]
        final_gap[ending:c] = part[ending:] + owed[ending:] - payment[ending:c]
        b -= part
        rows = block.first_row[:c] + j
        sink.interest[rows] = owed
        sink.principal[rows] = part
        sink.balance[rows] = b
    term = block.term
    check = np.flatnonzero((term > 1) & (cramped | (2 * np.abs(final_gap) + _ROOM > term)))
    if check.size == 0:
        return
    gaps = _neighbour_gaps(block, periods, check, payment[check])
    level_gap = np.abs(final_gap[check])
    lower = gaps[:, 0] < level_gap
    best = np.where(lower, gaps[:, 0], level_gap)
    move = np.where(gaps[:, 1] < best, 1, np.where(lower, -1, 0))
    moved = np.flatnonzero(move)
    if moved.size:
        _rerun(block, periods, sink, check[moved], payment[check[moved]] + move[moved])


#: Safety margin (minor units) in the neighbour-room test of ``_annuity``.
_ROOM = 3.0


def _neighbour_gaps(block: Block, periods: _Periods, loans: I64, payment: I64) -> I64:
    """|final instalment − payment| at ``payment − 1`` and ``payment + 1`` (columns)
    for the block positions ``loans`` (ascending)."""
    counts = periods.counts
    pay = np.stack([payment - 1, payment + 1], axis=1)
    balance = np.repeat(block.principal[loans][:, None], 2, axis=1)
    gaps = np.zeros((len(loans), 2), dtype=np.int64)
    for j, c in enumerate(counts):
        k = int(np.searchsorted(loans, c))
        if k == 0:
            break
        ending = int(np.searchsorted(loans, counts[j + 1])) if j + 1 < len(counts) else 0
        at = loans[:k]
        row = periods.starts[j] + at
        b = balance[:k]
        owed = round_half_up_ratio(
            b, periods.period_num[row], block.rate_den[at], periods.ratio[row], signed=False
        )
        part = np.subtract(pay[:k], owed)
        np.maximum(part, 0, out=part)
        np.minimum(part, b, out=part)
        part[ending:] = b[ending:]
        b -= part
        gaps[ending:k] = np.abs(part[ending:] + owed[ending:] - pay[ending:k])
    return gaps


def _rerun(block: Block, periods: _Periods, sink: Sink, loans: I64, payment: I64) -> None:
    """Annuity rows of the block positions ``loans`` (ascending) at ``payment``."""
    counts = periods.counts
    balance = block.principal[loans]
    for j, c in enumerate(counts):
        k = int(np.searchsorted(loans, c))
        if k == 0:
            break
        ending = int(np.searchsorted(loans, counts[j + 1])) if j + 1 < len(counts) else 0
        at = loans[:k]
        row = periods.starts[j] + at
        b = balance[:k]
        owed = round_half_up_ratio(
            b, periods.period_num[row], block.rate_den[at], periods.ratio[row], signed=False
        )
        part = np.subtract(payment[:k], owed)
        np.maximum(part, 0, out=part)
        np.minimum(part, b, out=part)
        part[ending:] = b[ending:]
        b -= part
        rows = block.first_row[at] + j
        sink.interest[rows] = owed
        sink.principal[rows] = part
        sink.balance[rows] = b
