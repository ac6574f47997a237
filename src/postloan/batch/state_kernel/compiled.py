"""The walk compiled: one loop per loan over its events (numba, ``nogil``).

``Walker.run`` in numpy takes the ``r``-th event of every loan in one pass; a
36-instalment book needs some 70 passes of gathers and scatters over a million
loans, and that bookkeeping, not the arithmetic, was the cost. Here each loan
walks its own events in order, touching only its own instalments, so the
working set stays in cache. The rules are the numpy walker's, line for line on
one loan (see ``walk``'s docstring for why a pointer is enough); the parity
tests hold both to the per-loan reference.

Payoffs (money beyond the held instalment) are left to the caller: the loop
stops that loan after the event, records the day and the money, and
``Walker.run`` settles them with the vectorised ``_payoffs`` (exact day counts,
the domain ``payoff`` where int64 could overflow), then resumes the loan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from postloan.batch.state_kernel.dates import NEVER, NONE

#: Event kinds, in their order inside one day: repayments, then the write-off, then
#: held money meets what fell due (``transactions._SAME_DAY_ORDER``,
#: ``Ledger.apply_advance``); a restructuring takes effect (classification only).
REPAY, WRITE_OFF, ADVANCE, MARK = 2, 4, 5, 6

#: allocation component codes (``order``)
PENALTY, FEE, INTEREST, PRINCIPAL = 0, 1, 2, 3

# Rows of the 2-D arrays the loop takes (few arguments: numba counts references
# per argument on every call, so many separate arrays would cost more than the work).
#: ``S``, the walk's per-loan state (int64; ``walk.Walk``'s fields are views of its rows)
(P, RP, RI, RF, RPEN, SP, ADVANCE_HELD, CREDIT) = range(8)
(PAID_PENALTY, PAID_FEE, PAID_INTEREST, PAID_PRINCIPAL) = range(8, 12)
(CHARGED_OFF, SINCE_AT_CHARGE_OFF, WRITTEN_OFF, PENALTY_WRITTEN_OFF) = range(12, 16)
(CATEGORY, CURE, LAST_DEFAULT, SEG, SINCE_LAST, ANCHOR, NEXT_RESTRUCTURING) = range(16, 23)
STATE_ROWS = 23
#: ``F``, flags (bool)
CLOSED, FALLBACK = 0, 1
#: ``L``, the book's per-loan columns
(START, END, RATE_NUM, RATE_DEN, EV_START, RESTRUCTURED_END) = range(6)
FORBORNE_START, FORBORNE_END = 6, 7
#: ``J``, the book's per-instalment columns
DUE, PRINCIPAL_DUE, INTEREST_DUE, FEE_DUE, PENALTY_FROM, DAILY = range(6)
#: ``E``, events
EV_DAY, EV_KIND, EV_AMOUNT = range(3)
#: ``C``, the policy as integers; the allocation order follows from ``ORDER``
(LAG, GRACE, CURE_BY_MONTHS, CURE_MONTHS, CURE_PERIODS) = range(5)
(SUBSTANDARD, DOUBTFUL, LOSS, OBSERVATION_PERIODS, OBSERVATION_MONTHS, STAGE3) = range(5, 11)
ORDER = 11  # .. 14
#: IFRS 9 probation: the shorter and the longer period (months), whether the longer
#: one is the forborne one, and the stage 2 threshold
PROBATION_SHORT, PROBATION_LONG, FORBORNE_LONGER, STAGE2 = range(15, 19)
#: ``OUT``, ``finish``'s output columns (per loan)
(O_STATUS, O_DPD, O_SINCE, O_CATEGORY, O_CODE, O_STAGE) = range(6)
(O_PRINCIPAL, O_OVERDUE_PRINCIPAL, O_OVERDUE_INTEREST, O_OVERDUE_FEE) = range(6, 10)
(O_INTEREST, O_FEE, O_PENALTY, O_PENALTY_CHARGED, O_ADVANCE) = range(10, 15)
(O_NEXT_DAY, O_NEXT_AMOUNT, O_TOTAL_PAID, O_RECOVERED, O_LAST_PAYMENT) = range(15, 20)
OUTPUT_ROWS = 20


#: The loops take arrays from the caller and allocate nothing, so they are compiled
#: without numba's runtime (``_nrt=False``): with it, every inlined helper took and
#: dropped a reference on each array it was given, two atomic updates a call, which
#: were a tenth of the kernel's CPU time.
_loop = njit(cache=True, nogil=True, _nrt=False)


# ---- calendar -----------------------------------------------------------------------


@_loop
def _civil(z: int) -> tuple[int, int, int]:
    """Day number → (year, month, day) (proleptic Gregorian)."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return y, m, d


@_loop
def _day_of(y: int, m: int, d: int) -> int:
    y -= 1 if m <= 2 else 0
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@_loop
def add_months(day: int, months: int) -> int:
    """``dates.add_months_days`` on one day number (``NONE``/``NEVER`` unchanged)."""
    if day <= NONE or day >= NEVER:
        return day
    y, m, d = _civil(day)
    total = y * 12 + (m - 1) + months
    ny, nm = total // 12, total % 12 + 1
    following = _day_of(ny + 1, 1, 1) if nm == 12 else _day_of(ny, nm + 1, 1)
    length = following - _day_of(ny, nm, 1)
    return _day_of(ny, nm, min(d, length))


# ---- one loan's helpers (inlined into ``walk``) -----------------------------------

_inline = njit(cache=True, nogil=True, inline="always", _nrt=False)


@_inline
def _after(values: Any, row: int, lo: int, hi: int, x: int) -> int:
    """First ``j`` in ``lo .. hi - 1`` with ``values[row, j] > x`` (sorted), else ``hi``.

    Takes the 2-D array and a row rather than the row's view, which would be an
    array of its own to build on every call."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[row, mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@_inline
def _range_sum(J: Any, row: int, lo: int, hi: int) -> int:
    total = 0
    for j in range(lo, hi):
        total += J[row, j]
    return total


@_inline
def _load(S: Any, J: Any, i: int, j: int, t: int) -> None:
    S[P, i] = j
    S[RP, i] = J[PRINCIPAL_DUE, j]
    S[RI, i] = J[INTEREST_DUE, j]
    S[RF, i] = J[FEE_DUE, j]
    S[RPEN, i] = J[DAILY, j] * max(0, t - J[PENALTY_FROM, j])
    S[SP, i] = t - 1


@_inline
def _settle(S: Any, L: Any, J: Any, i: int, through: int) -> None:
    p = S[P, i]
    days = 0
    if p < L[END, i]:
        days = max(0, through - max(S[SP, i] + 1, J[PENALTY_FROM, p]) + 1)
    num, den = L[RATE_NUM, i], L[RATE_DEN, i]
    S[RPEN, i] += (2 * S[RP, i] * num + den) // (2 * den) * days
    S[SP, i] = max(S[SP, i], through)


@_inline
def _take(S: Any, i: int, owed: int, paid: int, money: int) -> int:
    take = min(money, S[owed, i])
    S[owed, i] -= take
    S[paid, i] += take
    return money - take


@_inline
def _waterfall(S: Any, F: Any, L: Any, J: Any, N: Any, C: Any, i: int, money: int, t: int) -> int:
    """Money to instalments due by ``t``, oldest first; returns what is left."""
    end = L[END, i]
    while True:
        p = S[P, i]
        if money <= 0 or p >= end or J[DUE, p] > t:
            return money
        _settle(S, L, J, i, t - 1)
        for k in range(ORDER, ORDER + 4):
            c = C[k]
            if c == PENALTY:
                money = _take(S, i, RPEN, PAID_PENALTY, money)
            elif c == FEE:
                money = _take(S, i, RF, PAID_FEE, money)
            elif c == INTEREST:
                money = _take(S, i, RI, PAID_INTEREST, money)
            else:
                money = _take(S, i, RP, PAID_PRINCIPAL, money)
        if S[RP, i] + S[RI, i] + S[RF, i] + S[RPEN, i] != 0:
            return money
        nxt = min(N[p + 1], end)
        if nxt >= end:
            F[CLOSED, i] = True
            S[P, i] = end
            return money
        _load(S, J, i, nxt, t)


@_inline
def _since(S: Any, L: Any, J: Any, C: Any, i: int, day: int) -> int:
    p = S[P, i]
    if p < L[END, i] and J[DUE, p] + C[LAG] <= day:
        return J[DUE, p]
    return NONE


@_inline
def _category(C: Any, dpd: int) -> int:
    if dpd > C[LOSS]:
        return 4
    if dpd > C[DOUBTFUL]:
        return 3
    if dpd > C[SUBSTANDARD]:
        return 2
    return 1 if dpd > 0 else 0


@_loop
def _cure_done_on(L: Any, J: Any, C: Any, i: int, cure: int) -> int:
    if C[CURE_BY_MONTHS]:
        return add_months(cure, C[CURE_MONTHS])
    target = _after(J, DUE, L[START, i], L[END, i], cure) + C[CURE_PERIODS] - 1
    if target < L[END, i]:
        return J[DUE, target] + C[GRACE] + 1
    return NEVER


@_loop
def _obs_done_on(L: Any, J: Any, C: Any, i: int, anchor: int) -> int:
    if anchor == NONE:
        return NEVER
    lo, hi = L[START, i], L[END, i]
    first = _after(J, DUE, lo, hi, anchor)
    if first >= hi:
        return NEVER
    start = J[DUE, first]
    k = _after(J, DUE, lo, hi, start) + C[OBSERVATION_PERIODS] - 1
    if k >= hi:
        return NEVER
    return max(J[DUE, k] + C[GRACE] + 1, add_months(start, C[OBSERVATION_MONTHS]))


@_inline
def _restructuring_on(S: Any, L: Any, RD: Any, i: int, day: int) -> bool:
    k = S[NEXT_RESTRUCTURING, i]
    return k < L[RESTRUCTURED_END, i] and RD[k] == day


@_loop
def _step_day(
    S: Any, L: Any, J: Any, C: Any, i: int, day: int, dpd: int, restructured: bool
) -> int:
    """``Walker.step_day`` on one loan; returns category × 256 + reason code."""
    prev = S[ANCHOR, i]
    second = restructured and prev != NONE
    anchor = day if restructured else prev
    if anchor != NONE and dpd > 0:
        anchor = day
    if anchor != NONE and _obs_done_on(L, J, C, i, anchor) <= day:
        anchor = NONE
    observing = anchor != NONE
    floor = _category(C, dpd)
    base = floor
    lift = observing and floor < 1
    if lift:
        floor, base = 1, 5
    obs_flag = observing and not lift and floor == 1
    up = second and floor < 3
    if up:
        floor, base = 3, 6
    obs_flag = obs_flag and not up
    sec_flag = second and not up and floor == 3
    held = S[CATEGORY, i]
    follows = held < 2 or floor >= held
    cured = dpd == 0 and floor < 2
    cure_start = NONE
    if cured:
        cure_start = S[CURE, i] if S[CURE, i] != NONE else day
    done = (not follows) and cured and not observing
    if done:
        done = _cure_done_on(L, J, C, i, cure_start) <= day
    own = base * 8 + (1 if obs_flag else 0) + (2 if sec_flag else 0)
    if follows:
        code = own
    elif observing:
        code = 5 * 8
    elif done:
        code = own + 4
    elif cured:
        code = 8 * 8
    else:
        code = 7 * 8
    category = floor if (follows or done) else held
    S[CATEGORY, i] = category
    S[CURE, i] = NONE if (follows or done) else cure_start
    S[ANCHOR, i] = anchor
    if dpd > C[STAGE3]:
        S[LAST_DEFAULT, i] = day
    return category * 256 + code


@_inline
def _quiet(S: Any, L: Any, J: Any, RD: Any, C: Any, i: int, first: int, last: int) -> bool:
    if S[CATEGORY, i] != 0 or S[ANCHOR, i] != NONE or S[CURE, i] != NONE:
        return False
    p = S[P, i]
    if p < L[END, i] and J[DUE, p] + C[LAG] <= last:
        return False
    return not _restructuring_on(S, L, RD, i, first)


@_loop
def _span(S: Any, F: Any, L: Any, J: Any, RD: Any, C: Any, i: int, first: int, last: int) -> None:
    """``Walker._span`` on one loan: classification over ``first .. last``."""
    if _restructuring_on(S, L, RD, i, first) and not F[CLOSED, i]:
        since = _since(S, L, J, C, i, first)
        _step_day(S, L, J, C, i, first, first - since if since != NONE else 0, True)
        S[NEXT_RESTRUCTURING, i] += 1
        first += 1
    p = S[P, i]
    if p >= L[END, i] or F[CLOSED, i]:
        S[CATEGORY, i] = 0
        S[CURE, i] = NONE
        S[ANCHOR, i] = NONE
        return
    since = J[DUE, p]
    pdf = since + C[LAG]
    b1 = min(last, pdf - 1)
    has1 = b1 >= first
    held = S[CATEGORY, i]
    npl = held >= 2
    anchor = S[ANCHOR, i]
    obs_end = first
    if anchor != NONE and has1:
        obs_end = _obs_done_on(L, J, C, i, anchor)
    cure0 = S[CURE, i] if S[CURE, i] != NONE else first
    cured = False
    if npl and has1:
        cured = max(_cure_done_on(L, J, C, i, cure0), obs_end) <= b1
    still = obs_end > b1
    category, cure = held, S[CURE, i]
    if has1:
        if npl:
            category = 0 if cured else held
        else:
            category = 1 if still else 0
        cure = cure0 if (npl and not cured) else NONE
        if not still:
            anchor = NONE
    if last >= max(first, pdf):
        dpd_end = last - since
        floor = _category(C, dpd_end)
        category = max(category, floor) if category >= 2 else floor
        cure = NONE
        if anchor != NONE:
            anchor = last
        if dpd_end > C[STAGE3]:
            S[LAST_DEFAULT, i] = last
    S[CATEGORY, i] = category
    S[CURE, i] = cure
    S[ANCHOR, i] = anchor


@_inline
def _repay(S: Any, F: Any, L: Any, J: Any, N: Any, C: Any, i: int, t: int, amount: int) -> int:
    """A repayment; returns the money for a payoff (``> 0``: the caller settles it)."""
    money = _waterfall(S, F, L, J, N, C, i, amount, t) + S[ADVANCE_HELD, i]
    S[ADVANCE_HELD, i] = 0
    p, end = S[P, i], L[END, i]
    has = p < end
    stuck = has and J[DUE, p] <= t and money > 0
    owed = S[RP, i] + S[RI, i] + S[RF, i] + S[RPEN, i] if has else 0
    held = min(money, owed)
    excess = money - held
    future = S[RP, i] + _range_sum(J, PRINCIPAL_DUE, p + 1, end) if has else 0
    if stuck:
        F[FALLBACK, i] = True
    if excess == 0 or future == 0:
        S[ADVANCE_HELD, i] = held
        S[CREDIT, i] += excess
        return 0
    return 0 if stuck else money


@_loop
def _write_off(S: Any, F: Any, L: Any, J: Any, i: int, t: int) -> None:
    if S[ADVANCE_HELD, i] > 0:
        F[FALLBACK, i] = True
    _settle(S, L, J, i, t - 1)
    p, lo, end = S[P, i], L[START, i], L[END, i]
    has = p < end
    nxt = p + 1 if has else end
    k_due = max(_after(J, DUE, lo, end, t), nxt)
    k_pen = max(_after(J, PENALTY_FROM, lo, end, t - 1), nxt)
    due_now = has and J[DUE, p] <= t
    later_penalty = 0
    for j in range(nxt, k_pen):
        later_penalty += J[DAILY, j] * (t - J[PENALTY_FROM, j])
    charges = _range_sum(J, INTEREST_DUE, nxt, k_due) + _range_sum(J, FEE_DUE, nxt, k_due)
    principal = (S[RP, i] if has else 0) + _range_sum(J, PRINCIPAL_DUE, nxt, end)
    own = S[RI, i] + S[RF, i] + S[RPEN, i] if due_now else 0
    S[WRITTEN_OFF, i] = principal + own + charges + later_penalty
    S[PENALTY_WRITTEN_OFF, i] = (S[RPEN, i] if due_now else 0) + later_penalty
    S[CHARGED_OFF, i] = t
    S[SINCE_AT_CHARGE_OFF, i] = S[SINCE_LAST, i]
    for row in (RP, RI, RF, RPEN):
        S[row, i] = 0
    S[P, i] = end


@_loop
def walk(
    S: Any,
    F: Any,
    L: Any,
    J: Any,
    N: Any,
    E: Any,
    RD: Any,
    C: Any,
    loans: Any,
    cursor: Any,
    stop: Any,
    payoff_day: Any,
    payoff_money: Any,
) -> int:
    """Apply events ``cursor[i] .. stop[i] - 1`` of each loan ``i`` in ``loans``.

    ``N`` is the book's ``owing_next``, ``RD`` its restructuring days. A repayment
    that needs a payoff ends that loan's turn: ``payoff_money[i] > 0`` and
    ``payoff_day[i]`` are set, ``cursor[i]`` points past the event. Returns how many
    loans stopped so."""
    stopped = 0
    for q in range(loans.shape[0]):
        i = loans[q]
        k = cursor[i]
        payoff_money[i] = 0
        while k < stop[i]:
            row = L[EV_START, i] + k
            k += 1
            t, kind = E[EV_DAY, row], E[EV_KIND, row]
            if S[CHARGED_OFF, i] != NONE or F[FALLBACK, i]:
                continue
            if t > S[SEG, i]:
                if not _quiet(S, L, J, RD, C, i, S[SEG, i], t - 1):
                    _span(S, F, L, J, RD, C, i, S[SEG, i], t - 1)
                S[SINCE_LAST, i] = _since(S, L, J, C, i, t - 1)
                S[SEG, i] = t
            if kind == REPAY:
                money = _repay(S, F, L, J, N, C, i, t, E[EV_AMOUNT, row])
                if money > 0:
                    payoff_day[i] = t
                    payoff_money[i] = money
                    stopped += 1
                    break
            elif kind == WRITE_OFF:
                _write_off(S, F, L, J, i, t)
            elif kind == ADVANCE and S[ADVANCE_HELD, i] > 0:
                S[ADVANCE_HELD, i] = _waterfall(S, F, L, J, N, C, i, S[ADVANCE_HELD, i], t)
                if S[ADVANCE_HELD, i] > 0:
                    F[FALLBACK, i] = True
        cursor[i] = k
    return stopped


@njit(cache=True, nogil=True)  # allocates its result: needs the runtime
def first_due_after(L: Any, J: Any, loans: Any, days: Any) -> Any:
    """Per loan of ``loans``: the first instalment due after ``days`` (else its end)."""
    out = np.empty(loans.shape[0], np.int64)
    for q in range(loans.shape[0]):
        i = loans[q]
        out[q] = _after(J, DUE, L[START, i], L[END, i], days[q])
    return out


@_loop
def _probation_kept(L: Any, FB: Any, C: Any, i: int, lo: int, on: int) -> bool:
    """Whether the longer probation applies over ``lo .. on``: restructured marks
    cover every day of it (forborne probation longer), or none (shorter)."""
    fs, fe = L[FORBORNE_START, i], L[FORBORNE_END, i]
    j = _after(FB, 0, fs, fe, lo) - 1
    ok = j >= fs
    if C[FORBORNE_LONGER]:
        return ok and FB[1, j] >= on
    covers_lo = ok and FB[1, j] >= lo
    nxt = j + 1 if ok else fs
    starts_before = nxt < fe and FB[0, nxt] <= on
    return not covers_lo and not starts_before


@_loop
def finish(
    S: Any,
    F: Any,
    L: Any,
    J: Any,
    N: Any,
    E: Any,
    RD: Any,
    C: Any,
    FB: Any,
    stop: Any,
    on: int,
    OUT: Any,
    lo: int,
    hi: int,
) -> None:
    """The business date ``on`` for loans ``lo .. hi - 1``: classify the days up to it,
    step it, and write the state columns into ``OUT`` (``O_*`` rows). ``stop``: each
    loan's events up to ``on`` (money in counts those). Advances ``S``/``F`` in place."""
    for i in range(lo, hi):
        co = S[CHARGED_OFF, i] != NONE
        if not co and not F[FALLBACK, i] and S[SEG, i] <= on - 1:
            if not _quiet(S, L, J, RD, C, i, S[SEG, i], on - 1):
                _span(S, F, L, J, RD, C, i, S[SEG, i], on - 1)
        if not co:
            _settle(S, L, J, i, on)
        since = S[SINCE_AT_CHARGE_OFF, i] if co else _since(S, L, J, C, i, on)
        dpd = on - since if since != NONE and since < on else 0
        closed = F[CLOSED, i] and not co
        start, end = L[START, i], L[END, i]
        # five categories: the step on the date (open loans), else closed / charged off
        category, code = 0, 0
        if closed:
            code = 9 * 8
        elif co:
            category, code = 4, 10 * 8
        elif not F[FALLBACK, i]:
            restructured = _restructuring_on(S, L, RD, i, on)
            calm = S[CATEGORY, i] == 0 and S[ANCHOR, i] == NONE and S[CURE, i] == NONE
            if not (calm and dpd == 0 and not restructured):  # else: normal, "current"
                both = _step_day(S, L, J, C, i, on, dpd, restructured)
                category, code = both // 256, both % 256
        # IFRS 9: in default, or still in probation after the last default day
        last_default = S[LAST_DEFAULT, i]
        probation = False
        if last_default != NONE:
            lo = add_months(last_default + 1, C[PROBATION_SHORT])
            hi = add_months(last_default + 1, C[PROBATION_LONG])
            probation = on < lo or (on < hi and _probation_kept(L, FB, C, i, lo, on))
        if closed:
            stage = 1
        elif co or dpd > C[STAGE3] or probation:
            stage = 3
        else:
            stage = 2 if dpd > C[STAGE2] else 1
        # amounts: the pointer's instalment and the untouched ones after it
        p = S[P, i]
        has = p < end and not co
        nxt = p + 1 if has else end
        k_lt = max(_after(J, DUE, start, end, on - 1), nxt)
        k_le = max(_after(J, DUE, start, end, on), nxt)
        k_pen = max(_after(J, PENALTY_FROM, start, end, on), nxt)
        pdue = J[DUE, p] if has else 0
        rp = S[RP, i] if has else 0
        ri = S[RI, i] if has else 0
        rf = S[RF, i] if has else 0
        rpen = S[RPEN, i] if has else 0
        own_lt = has and pdue < on
        own_le = has and pdue <= on
        # the untouched instalments after the pointer: what is due, owed, accruing
        principal, later_penalty = rp, 0
        overdue_p, overdue_i, overdue_f = (rp, ri, rf) if own_lt else (0, 0, 0)
        owed_i, owed_f = (ri, rf) if own_le else (0, 0)
        for j in range(nxt, end):
            principal += J[PRINCIPAL_DUE, j]
            if j < k_lt:
                overdue_p += J[PRINCIPAL_DUE, j]
                overdue_i += J[INTEREST_DUE, j]
                overdue_f += J[FEE_DUE, j]
            if j < k_le:
                owed_i += J[INTEREST_DUE, j]
                owed_f += J[FEE_DUE, j]
            if j < k_pen:
                later_penalty += J[DAILY, j] * (on + 1 - J[PENALTY_FROM, j])
        penalty = rpen + later_penalty
        # next due: the first instalment due on or after the date still owing, net of
        # what is held in advance
        own_up = has and pdue >= on
        j0 = p if own_up else min(N[k_lt], end)
        j0_ok = has and j0 < end
        owed0, j1, owed1 = 0, end, 0
        if own_up:
            owed0 = rp + ri + rf + rpen
        elif j0_ok:
            owed0 = J[PRINCIPAL_DUE, j0] + J[INTEREST_DUE, j0] + J[FEE_DUE, j0]
        if j0_ok:
            j1 = min(N[j0 + 1], end)
        j1_ok = j0_ok and j1 < end
        if j1_ok:
            owed1 = J[PRINCIPAL_DUE, j1] + J[INTEREST_DUE, j1] + J[FEE_DUE, j1]
        adv = 0 if co else S[ADVANCE_HELD, i]
        next_day, next_amount = NONE, 0
        if j0_ok and owed0 > adv:
            next_day, next_amount = J[DUE, j0], owed0 - adv
        elif j0_ok and j1_ok and owed1 > adv - owed0:
            next_day, next_amount = J[DUE, j1], owed1 - (adv - owed0)
        elif j0_ok and j1_ok:
            F[FALLBACK, i] = True  # more than one instalment held in advance
        # money in: repayments, recoveries after the write-off day
        total, recovered, last = 0, 0, NONE
        charged = S[CHARGED_OFF, i]
        for row in range(L[EV_START, i], L[EV_START, i] + stop[i]):
            if E[EV_KIND, row] == REPAY:
                day, amount = E[EV_DAY, row], E[EV_AMOUNT, row]
                total += amount
                if co and day > charged:
                    recovered += amount
                last = max(last, day)
        last_due = J[DUE, end - 1] if end > start else NONE
        if co:
            status = 2
        elif closed:
            status = 1
        else:
            status = 3 if last_due != NONE and on > last_due else 0
        OUT[O_STATUS, i] = status
        OUT[O_DPD, i] = dpd
        OUT[O_SINCE, i] = since
        OUT[O_CATEGORY, i] = category
        OUT[O_CODE, i] = code
        OUT[O_STAGE, i] = stage
        OUT[O_PRINCIPAL, i] = principal
        OUT[O_OVERDUE_PRINCIPAL, i] = overdue_p
        OUT[O_OVERDUE_INTEREST, i] = overdue_i
        OUT[O_OVERDUE_FEE, i] = overdue_f
        OUT[O_INTEREST, i] = owed_i
        OUT[O_FEE, i] = owed_f
        OUT[O_PENALTY, i] = penalty
        OUT[O_PENALTY_CHARGED, i] = S[PAID_PENALTY, i] + penalty + S[PENALTY_WRITTEN_OFF, i]
        OUT[O_ADVANCE, i] = adv
        OUT[O_NEXT_DAY, i] = next_day
        OUT[O_NEXT_AMOUNT, i] = next_amount
        OUT[O_TOTAL_PAID, i] = total
        OUT[O_RECOVERED, i] = recovered
        OUT[O_LAST_PAYMENT, i] = last
