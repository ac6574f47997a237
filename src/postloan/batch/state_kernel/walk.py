"""The walk: every loan's events in order, all loans at once (rank ``r`` = each loan's
``r``-th event), with the ledger kept as a pointer per loan.

Why a pointer is enough. With the vertical allocation order every payment settles
instalments oldest first, so at any time instalments before the pointer (the first
one still owing) are settled, the pointer's instalment may be part-paid, and the
ones after it are untouched: their principal is as scheduled and the penalty on
one of them is ``daily × days`` since it started accruing (``penalty``'s rounding
point is one instalment-day). Only the pointer's instalment carries state
(``rp ri rf rpen``, penalty settled through day ``sp``).

Between two events of a loan its overdue-since date is fixed (the pointer's due
date from its first past-due day on), so DPD rises by one a day; the five-category
classification and the IFRS 9 stage are advanced a whole span at a time
(``_span``), as ``replay``'s fast path does, and stepped exactly on the business date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from postloan.batch.calendar_arrays import YEAR_DENOMINATOR, DateTables, fraction_numerator
from postloan.batch.state_kernel import compiled
from postloan.batch.state_kernel.book import Book
from postloan.batch.state_kernel.dates import I64, NEVER, NONE, add_months_days
from postloan.domain.daycount import DayCount
from postloan.domain.policy import Component, CureRule, ServicingPolicy
from postloan.domain.prepayment import payoff
from postloan.domain.schedule import Instalment, LoanTerms

_SHIFT = 1 << 22
_OFFSET = 1 << 21
_EPOCH = date(1970, 1, 1)


def _key(loan: I64, day: I64) -> I64:
    out: I64 = loan * _SHIFT + (day + _OFFSET)
    return out


def _frozen(x: I64) -> I64:
    """A read-only view: the compiled walk is typed (and cached) once for read-only
    inputs, whether or not the frame gave writable arrays."""
    out: I64 = x.view()
    out.setflags(write=False)
    return out


@dataclass(slots=True)
class Walk:
    """Per-loan state after the walk (arrays over the book's loans)."""

    p: I64
    rp: I64
    ri: I64
    rf: I64
    rpen: I64
    sp: I64
    advance: I64
    credit: I64
    paid: dict[Component, I64]
    closed: np.ndarray
    charged_off: I64  # day of the write-off, or NONE
    since_at_charge_off: I64
    written_off: I64
    penalty_written_off: I64
    fallback: np.ndarray
    category: I64  # held five-category rank through the day before ``seg``
    cure: I64
    last_default: I64
    seg: I64  # first day not yet classified
    since_last: I64
    anchor: I64  # restructuring observation anchor, or NONE
    next_restructuring: I64  # index into the book's restructuring days
    extra: dict[str, I64] = field(default_factory=dict)


class Walker:
    def __init__(
        self,
        book: Book,
        on: int,
        policy: ServicingPolicy,
        terms_for: Callable[[int], LoanTerms],
    ) -> None:
        self.b = book
        self.on = on
        self.policy = policy
        self.terms_for = terms_for
        #: an instalment is past due from ``due + past_due_lag`` (``first_past_due_day``)
        self.past_due_lag = policy.delinquency.grace_days + 1
        self._date_tables: DateTables | None = None
        n = book.start.shape[0]
        # the compiled loop takes a few 2-D arrays (``compiled``'s row constants); the
        # book's instalment and event columns become rows of them, not copies
        self.J = np.stack(
            (book.due, book.principal, book.interest, book.fee, book.penalty_from, book.daily)
        )
        (book.due, book.principal, book.interest, book.fee, book.penalty_from, book.daily) = self.J
        self.E = np.stack((book.ev_day, book.ev_kind, book.ev_amount))
        book.ev_day, book.ev_kind, book.ev_amount = self.E
        # (loan, day) keys and prefix sums over every instalment, built in place: at
        # 1M loans each is a 17M-row array, and temporaries set the peak memory
        base = np.repeat(np.arange(n, dtype=np.int64) * _SHIFT + _OFFSET, book.end - book.start)
        self.key_due = base + book.due
        base += book.penalty_from
        self.key_pf = base
        del base
        spans_of = np.repeat(np.arange(n, dtype=np.int64), book.forborne_end - book.forborne_start)
        self.key_forborne = _key(spans_of, book.forborne_lo)
        zero = np.zeros(1, dtype=np.int64)
        self.Q = np.empty((5, book.due.shape[0] + 1), np.int64)
        self.Q[:, 0] = 0
        for row, values in ((compiled.PC, book.principal), (compiled.IC, book.interest)):
            np.cumsum(values, out=self.Q[row, 1:])
        for row, values in ((compiled.FC, book.fee), (compiled.DC, book.daily)):
            np.cumsum(values, out=self.Q[row, 1:])
        product = book.daily * book.penalty_from
        np.cumsum(product, out=self.Q[compiled.DPC, 1:])
        del product
        self.pc, self.ic, self.fc, self.dc, self.dpc = self.Q
        first = np.minimum(book.owing_next[book.start], book.end) if n else zero[:0]
        self.S = np.zeros((compiled.STATE_ROWS, n), np.int64)
        self.F = np.zeros((2, n), bool)
        S = self.S
        S[compiled.P] = first
        S[compiled.SP] = book.disb - 1
        for row in (
            compiled.CHARGED_OFF,
            compiled.SINCE_AT_CHARGE_OFF,
            compiled.CURE,
            compiled.LAST_DEFAULT,
            compiled.SINCE_LAST,
            compiled.ANCHOR,
        ):
            S[row] = NONE
        S[compiled.SEG] = book.disb
        S[compiled.NEXT_RESTRUCTURING] = book.restructured_start
        self.F[compiled.CLOSED] = first >= book.end
        self.w = Walk(
            p=S[compiled.P],
            rp=S[compiled.RP],
            ri=S[compiled.RI],
            rf=S[compiled.RF],
            rpen=S[compiled.RPEN],
            sp=S[compiled.SP],
            advance=S[compiled.ADVANCE_HELD],
            credit=S[compiled.CREDIT],
            paid={
                Component.PENALTY: S[compiled.PAID_PENALTY],
                Component.FEE: S[compiled.PAID_FEE],
                Component.INTEREST: S[compiled.PAID_INTEREST],
                Component.PRINCIPAL: S[compiled.PAID_PRINCIPAL],
            },
            closed=self.F[compiled.CLOSED],
            charged_off=S[compiled.CHARGED_OFF],
            since_at_charge_off=S[compiled.SINCE_AT_CHARGE_OFF],
            written_off=S[compiled.WRITTEN_OFF],
            penalty_written_off=S[compiled.PENALTY_WRITTEN_OFF],
            fallback=self.F[compiled.FALLBACK],
            category=S[compiled.CATEGORY],
            cure=S[compiled.CURE],
            last_default=S[compiled.LAST_DEFAULT],
            seg=S[compiled.SEG],
            since_last=S[compiled.SINCE_LAST],
            anchor=S[compiled.ANCHOR],
            next_restructuring=S[compiled.NEXT_RESTRUCTURING],
        )
        live = ~self.w.closed
        self._load(np.nonzero(live)[0], first[live], book.disb[live])

    # ---- helpers --------------------------------------------------------------------

    def _load(self, idx: I64, j: I64, t: I64) -> None:
        """Make instalment ``j`` the pointer of loans ``idx`` at an event on day ``t``:
        untouched, with the penalty accrued through ``t - 1``."""
        b, w = self.b, self.w
        w.p[idx] = j
        w.rp[idx] = b.principal[j]
        w.ri[idx] = b.interest[j]
        w.rf[idx] = b.fee[j]
        w.rpen[idx] = b.daily[j] * np.maximum(0, t - b.penalty_from[j])
        w.sp[idx] = t - 1

    def _daily(self, idx: I64, principal: I64) -> I64:
        num, den = self.b.rate_num[idx], self.b.rate_den[idx]
        out: I64 = (2 * principal * num + den) // (2 * den)
        return out

    def _settle(self, idx: I64, through: I64) -> None:
        """Post the pointer's penalty for the days up to ``through``."""
        w, b = self.w, self.b
        p = w.p[idx]
        ok = p < b.end[idx]
        pf = b.penalty_from[np.where(ok, p, 0)] if p.size else p
        frm = np.maximum(w.sp[idx] + 1, pf)
        days = np.where(ok, np.maximum(0, through - frm + 1), 0)
        w.rpen[idx] += self._daily(idx, w.rp[idx]) * days
        w.sp[idx] = np.maximum(w.sp[idx], through)

    def _comp(self, c: Component) -> I64:
        w = self.w
        return {
            Component.PENALTY: w.rpen,
            Component.FEE: w.rf,
            Component.INTEREST: w.ri,
            Component.PRINCIPAL: w.rp,
        }[c]

    def _waterfall(self, idx: I64, money: I64, t: I64, due_only: bool = True) -> I64:
        """Apply ``money`` (per loan of ``idx``) to instalments oldest first (due on or
        before ``t`` when ``due_only``); returns what is left."""
        b, w = self.b, self.w
        money = money.copy()
        order = self.policy.allocation.components
        pos = np.arange(idx.shape[0])
        while pos.size:
            li = idx[pos]
            p = w.p[li]
            ok = (money[pos] > 0) & (p < b.end[li])
            if due_only:
                ok &= b.due[np.where(ok, p, 0)] <= t[pos]
            pos = pos[ok]
            if not pos.size:
                break
            li, tt = idx[pos], t[pos]
            self._settle(li, tt - 1)
            left = money[pos]
            for c in order:
                arr = self._comp(c)
                take = np.minimum(left, arr[li])
                arr[li] -= take
                w.paid[c][li] += take
                left -= take
            money[pos] = left
            done = (w.rp[li] + w.ri[li] + w.rf[li] + w.rpen[li]) == 0
            pos, li, tt = pos[done], li[done], tt[done]
            nxt = np.minimum(b.owing_next[w.p[li] + 1], b.end[li])
            more = nxt < b.end[li]
            w.closed[li[~more]] = True
            w.p[li[~more]] = b.end[li[~more]]
            self._load(li[more], nxt[more], tt[more])
            pos = pos[more]
        return money

    def _since(self, idx: I64, day: I64) -> I64:
        b, w = self.b, self.w
        p = w.p[idx]
        ok = p < b.end[idx]
        ps = np.where(ok, p, 0)
        due = b.due[ps]
        out: I64 = np.where(ok & (due + self.past_due_lag <= day), due, NONE)
        return out

    def _cure_done_on(self, idx: I64, cure: I64) -> I64:
        c = self.policy.classification
        if c.cure_rule is CureRule.MONTHS:
            return add_months_days(cure, c.cure_months)
        b = self.b
        first = np.searchsorted(self.key_due, _key(idx, cure), side="right")
        target = first + c.cure_periods - 1
        ok = target < b.end[idx]
        grace = self.policy.delinquency.grace_days
        out: I64 = np.where(ok, b.due[np.where(ok, target, 0)] + grace + 1, NEVER)
        return out

    def _category(self, dpd: I64) -> I64:
        c = self.policy.classification
        out: I64 = np.select(
            [dpd > c.loss_over_dpd, dpd > c.doubtful_over_dpd, dpd > c.substandard_over_dpd],
            [4, 3, 2],
            default=np.where(dpd > 0, 1, 0),
        ).astype(np.int64)
        return out

    def _obs_done_on(self, idx: I64, anchor: I64) -> I64:
        """The day a restructuring observation anchored on ``anchor`` completes
        (``classification.observation_completed``), or ``NEVER``."""
        b, c = self.b, self.policy.classification
        first = np.searchsorted(self.key_due, _key(idx, anchor), side="right")
        ok = (anchor != NONE) & (first < b.end[idx])
        start = np.where(ok, b.due[np.where(ok, first, 0)], NONE)
        k = np.searchsorted(self.key_due, _key(idx, start), side="right")
        k = k + c.observation_min_periods - 1
        ok &= k < b.end[idx]
        grace = self.policy.delinquency.grace_days
        periods = b.due[np.where(ok, k, 0)] + grace + 1
        months = add_months_days(start, c.observation_min_months)
        out: I64 = np.where(ok, np.maximum(periods, months), NEVER)
        return out

    def _dpd_on(self, idx: I64, day: I64) -> I64:
        since = self._since(idx, day)
        out: I64 = np.where(since != NONE, day - since, 0)
        return out

    def step_day(self, idx: I64, day: I64, dpd: I64, restructured: np.ndarray) -> tuple[I64, I64]:
        """One exact ``step_classification`` for loans ``idx`` (open, not charged off):
        updates the held state; returns the category and a reason code (``reasons``)."""
        w = self.w
        prev_anchor = w.anchor[idx]
        second = restructured & (prev_anchor != NONE)
        anchor = np.where(restructured, day, prev_anchor)
        anchor = np.where((anchor != NONE) & (dpd > 0), day, anchor)
        sub = np.nonzero(anchor != NONE)[0]
        if sub.size:
            ends = self._obs_done_on(idx[sub], anchor[sub])
            anchor[sub] = np.where(ends <= day[sub], NONE, anchor[sub])
        observing = anchor != NONE
        floor = self._category(dpd)
        base = floor.copy()
        lift = observing & (floor < 1)
        floor = np.where(lift, 1, floor)
        base = np.where(lift, 5, base)
        obs_flag = observing & ~lift & (floor == 1)
        up = second & (floor < 3)
        floor = np.where(up, 3, floor)
        base = np.where(up, 6, base)
        obs_flag &= ~up
        sec_flag = second & ~up & (floor == 3)
        held = w.category[idx]
        follows = (held < 2) | (floor >= held)
        cured = (dpd == 0) & (floor < 2)
        cure_start = np.where(cured, np.where(w.cure[idx] != NONE, w.cure[idx], day), NONE)
        done = ~follows & cured & ~observing
        sub = np.nonzero(done)[0]
        if sub.size:
            done[sub] = self._cure_done_on(idx[sub], cure_start[sub]) <= day[sub]
        own = base * 8 + obs_flag * 1 + sec_flag * 2
        code = np.where(
            follows,
            own,
            np.where(observing, 5 * 8, np.where(done, own + 4, np.where(cured, 8 * 8, 7 * 8))),
        )
        category = np.where(follows | done, floor, held)
        w.category[idx] = category
        w.cure[idx] = np.where(follows | done, NONE, cure_start)
        w.anchor[idx] = anchor
        s3 = self.policy.ifrs9.stage3_over_dpd
        w.last_default[idx] = np.where(dpd > s3, day, w.last_default[idx])
        return category, code.astype(np.int64)

    def restructuring_on(self, idx: I64, day: I64) -> np.ndarray:
        """Whether a restructuring takes effect on ``day`` (the next one not yet used)."""
        b, w = self.b, self.w
        if not b.restructured_day.size:
            return np.zeros(idx.size, bool)
        r = w.next_restructuring[idx]
        ok = r < b.restructured_end[idx]
        hit: np.ndarray = ok & (b.restructured_day[np.where(ok, r, 0)] == day)
        return hit

    def _quiet(self, idx: I64, a: I64, b_: I64) -> np.ndarray:
        """Loans on which ``_span`` would change nothing: normal, no clock running,
        not past due by ``b_`` and no restructuring on ``a``."""
        b, w = self.b, self.w
        p = w.p[idx]
        open_ = p < b.end[idx]
        pdf = b.due[np.where(open_, p, 0)] + self.past_due_lag
        quiet: np.ndarray = (
            (w.category[idx] == 0)
            & (w.anchor[idx] == NONE)
            & (w.cure[idx] == NONE)
            & (~open_ | (pdf > b_))
        )
        if b.restructured_day.size:
            quiet &= ~self.restructuring_on(idx, a)
        return quiet

    def _span(self, idx: I64, a: I64, b_: I64) -> None:
        """Advance the classification and IFRS 9 state of loans ``idx`` over the days
        ``a .. b_`` (inclusive), on which their pointer stays put. A restructuring can
        only take effect on ``a`` (its day is an event): that day is stepped exactly."""
        b, w = self.b, self.w
        hit = self.restructuring_on(idx, a) & ~w.closed[idx]
        if hit.any():
            h = idx[hit]
            self.step_day(h, a[hit], self._dpd_on(h, a[hit]), np.ones(h.size, bool))
            w.next_restructuring[h] += 1
            a = np.where(hit, a + 1, a)
        p = w.p[idx]
        open_ = (p < b.end[idx]) & ~w.closed[idx]
        ps = np.where(open_, p, 0)
        since = b.due[ps]
        pdf = since + self.past_due_lag
        # days before the pointer is past due: DPD 0; an observation may end, a cure
        # may complete (not before the observation ends)
        b1 = np.minimum(b_, pdf - 1)
        has1 = open_ & (b1 >= a)
        held = w.category[idx]
        npl = held >= 2
        anchor = w.anchor[idx]
        observing = anchor != NONE
        obs_end = a.copy()
        sub = np.nonzero(observing & has1)[0]
        if sub.size:
            obs_end[sub] = self._obs_done_on(idx[sub], anchor[sub])
        cure0 = np.where(w.cure[idx] != NONE, w.cure[idx], a)
        free = np.full(idx.size, NEVER, np.int64)
        sub = np.nonzero(npl & has1)[0]
        if sub.size:
            free[sub] = np.maximum(self._cure_done_on(idx[sub], cure0[sub]), obs_end[sub])
        cured = npl & (free <= b1)
        still = obs_end > b1
        cat = np.where(has1, np.where(npl, np.where(cured, 0, held), np.where(still, 1, 0)), held)
        cure = np.where(has1, np.where(npl & ~cured, cure0, NONE), w.cure[idx])
        anchor = np.where(has1 & ~still, NONE, anchor)
        # days past due: DPD rises by one a day; a running observation restarts daily
        a2 = np.maximum(a, pdf)
        has2 = open_ & (b_ >= a2)
        dpd_end = b_ - since
        floor = self._category(dpd_end)
        cat = np.where(has2, np.where(cat >= 2, np.maximum(cat, floor), floor), cat)
        cure = np.where(has2, NONE, cure)
        anchor = np.where(has2 & (anchor != NONE), b_, anchor)
        s3 = self.policy.ifrs9.stage3_over_dpd
        w.last_default[idx] = np.where(has2 & (dpd_end > s3), b_, w.last_default[idx])
        w.category[idx] = np.where(open_, cat, 0)
        w.cure[idx] = np.where(open_, cure, NONE)
        w.anchor[idx] = np.where(open_, anchor, NONE)

    # ---- events -----------------------------------------------------------------------

    def run(self, first: I64 | None = None, stop: I64 | None = None) -> Walk:
        """Apply each loan's events ``first .. stop - 1`` (ranks; default: all of them).

        A loan's events are applied in order whatever the split, so ``run(0, k)``
        then ``run(k, count)`` leaves the same state as ``run()`` (``loan_states_pair``
        finishes the day before in between). The loop is compiled (``compiled.walk``);
        repayments that pay a loan off pause it, are settled here in bulk, and the
        loan goes on with its next event."""
        b = self.b
        n = b.start.shape[0]
        stop = b.ev_count if stop is None else stop
        cursor = np.zeros(n, np.int64) if first is None else first.copy()
        day = np.zeros(n, np.int64)
        money = np.zeros(n, np.int64)
        args = self._compiled()
        loans = np.flatnonzero(cursor < stop)
        while loans.size:
            if not compiled.walk(*args, loans, cursor, stop, day, money):
                break
            paying = loans[money[loans] > 0]
            self._payoffs(paying, day[paying], money[paying])
            loans = paying[cursor[paying] < stop[paying]]
        return self.w

    def _compiled(self) -> tuple[I64, ...]:
        """The compiled loop's arrays (``compiled.walk``'s first nine arguments); the
        read-only ones as read-only views, so the loop is typed (and cached) once."""
        b, policy = self.b, self.policy
        c = policy.classification
        codes = {
            Component.PENALTY: compiled.PENALTY,
            Component.FEE: compiled.FEE,
            Component.INTEREST: compiled.INTEREST,
            Component.PRINCIPAL: compiled.PRINCIPAL,
        }
        rules = np.array(
            [
                self.past_due_lag,
                policy.delinquency.grace_days,
                c.cure_rule is CureRule.MONTHS,
                c.cure_months,
                c.cure_periods,
                c.substandard_over_dpd,
                c.doubtful_over_dpd,
                c.loss_over_dpd,
                c.observation_min_periods,
                c.observation_min_months,
                policy.ifrs9.stage3_over_dpd,
                *(codes[x] for x in policy.allocation.components),
            ],
            np.int64,
        )
        loans = np.stack((b.start, b.end, b.rate_num, b.rate_den, b.ev_start, b.restructured_end))
        return (
            self.S,
            self.F,
            _frozen(loans),
            _frozen(self.J),
            _frozen(np.ascontiguousarray(b.owing_next)),
            _frozen(self.Q),
            _frozen(self.E),
            _frozen(np.ascontiguousarray(b.restructured_day)),
            _frozen(rules),
        )

    def _repay(self, idx: I64, t: I64, amount: I64) -> None:
        b, w = self.b, self.w
        left = self._waterfall(idx, amount, t)
        money = left + w.advance[idx]
        w.advance[idx] = 0
        p = w.p[idx]
        has = p < b.end[idx]
        ps = np.where(has, p, 0)
        stuck = has & (b.due[ps] <= t) & (money > 0)
        owed = np.where(has, w.rp[idx] + w.ri[idx] + w.rf[idx] + w.rpen[idx], 0)
        held = np.minimum(money, owed)
        excess = money - held
        future_principal = np.where(has, w.rp[idx] + self.pc[b.end[idx]] - self.pc[ps + 1], 0)
        simple = (excess == 0) | (future_principal == 0)
        w.advance[idx] = np.where(simple, held, 0)
        w.credit[idx] += np.where(simple, excess, 0)
        w.fallback[idx[stuck]] = True
        big = np.nonzero(~simple & ~stuck)[0]
        if big.size:
            self._payoffs(idx[big], t[big], money[big])

    def _tables(self) -> DateTables:
        if self._date_tables is None:
            b = self.b
            lo = int(min(b.disb.min(), b.due.min())) - 1
            hi = int(max(b.due.max(), self.on)) + 1
            self._date_tables = DateTables.covering(lo, hi)
        return self._date_tables

    def _payoffs(self, idx: I64, t: I64, money: I64) -> None:
        """Money beyond the held instalment (``Ledger._pay_ahead``): when it pays the
        loan off (``prepayment.payoff``: all principal plus the current period's
        interest less what the balance no longer bears) the loan closes; otherwise
        it is a partial prepayment, which re-amortizes: the loan goes to the reference."""
        b = self.b
        f = np.searchsorted(self.key_due, _key(idx, t), side="right")  # first not yet due
        balance = self.pc[b.end[idx]] - self.pc[f]
        first_interest = b.interest[f]
        numer = np.zeros(idx.size, np.int64)
        denom = np.ones(idx.size, np.int64)
        tables = self._tables()
        kinds = list(DayCount)
        codes = b.day_count[idx]
        for code, kind in enumerate(kinds):
            sel = codes == code
            if not sel.any():
                continue
            numer[sel] = fraction_numerator(tables, t[sel], b.due[f[sel]], kind)
            denom[sel] = YEAR_DENOMINATOR[kind]
        a_num, a_den = b.annual_num[idx], b.annual_den[idx]
        # unearned = round_half_up(balance × rate × numer / denom), exact in int64 when safe
        safe = (balance.astype(np.float64) * a_num * np.maximum(numer, 1) * 4 < float(1 << 62)) & (
            a_den.astype(np.float64) * denom * 4 < float(1 << 62)
        )
        x = balance * a_num * numer
        d = a_den * denom
        unearned = (2 * x + d) // (2 * d)
        interest = np.maximum(0, first_interest - unearned)
        total = balance + interest
        for k in np.nonzero(~safe)[0]:
            self._payoff(int(idx[k]), int(t[k]), int(money[k]))
        w = self.w
        ok = safe & (money >= total)
        w.fallback[idx[safe & ~ok]] = True
        i = idx[ok]
        w.paid[Component.PRINCIPAL][i] += balance[ok]
        w.paid[Component.INTEREST][i] += interest[ok]
        w.credit[i] += money[ok] - total[ok]
        w.p[i] = b.end[i]
        w.closed[i] = True
        for arr in (w.rp, w.ri, w.rf, w.rpen):
            arr[i] = 0

    def _payoff(self, i: int, t: int, money: int) -> None:
        """Money beyond the held instalment: a payoff when it covers it, else the
        loan goes to the reference (a partial prepayment re-amortizes)."""
        b, w = self.b, self.w
        lo, hi = int(b.start[i]), int(b.end[i])
        f = lo + int(np.searchsorted(b.due[lo:hi], t, side="right"))
        day = _EPOCH + timedelta(days=t)
        rows = [
            Instalment(
                j - lo + 1,
                _EPOCH + timedelta(days=int(b.due[j])),
                int(b.principal[j]),
                int(b.interest[j]),
                int(b.fee[j]),
                0,
            )
            for j in range(f, hi)
        ]
        (single,) = payoff(self.terms_for(int(b.row[i])), rows, day).instalments
        total = single.principal + single.interest
        if money < total:
            w.fallback[i] = True
            return
        w.paid[Component.PRINCIPAL][i] += single.principal
        w.paid[Component.INTEREST][i] += single.interest
        w.credit[i] += money - total
        w.p[i] = hi
        w.closed[i] = True
        w.rp[i] = w.ri[i] = w.rf[i] = w.rpen[i] = 0

    def _write_off(self, idx: I64, t: I64) -> None:
        b, w = self.b, self.w
        w.fallback[idx[w.advance[idx] > 0]] = True
        self._settle(idx, t - 1)
        p = w.p[idx]
        end = b.end[idx]
        has = p < end
        ps = np.where(has, p, 0)
        nxt = np.where(has, ps + 1, end)
        k_due = np.searchsorted(self.key_due, _key(idx, t), side="right")
        k_pen = np.searchsorted(self.key_pf, _key(idx, t - 1), side="right")
        k_due, k_pen = np.maximum(k_due, nxt), np.maximum(k_pen, nxt)
        due_now = has & (b.due[ps] <= t)
        later_penalty = t * (self.dc[k_pen] - self.dc[nxt]) - (self.dpc[k_pen] - self.dpc[nxt])
        charges = (self.ic[k_due] - self.ic[nxt]) + (self.fc[k_due] - self.fc[nxt])
        principal = np.where(has, w.rp[idx], 0) + self.pc[end] - self.pc[nxt]
        own = np.where(due_now, w.ri[idx] + w.rf[idx] + w.rpen[idx], 0)
        w.written_off[idx] = principal + own + charges + later_penalty
        w.penalty_written_off[idx] = np.where(due_now, w.rpen[idx], 0) + later_penalty
        w.charged_off[idx] = t
        w.since_at_charge_off[idx] = w.since_last[idx]
        for arr in (w.rp, w.ri, w.rf, w.rpen):
            arr[idx] = 0
        w.p[idx] = end
