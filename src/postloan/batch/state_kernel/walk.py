"""The walk: every loan's events in order, with the ledger kept as a pointer per loan.

Why a pointer is enough. With the vertical allocation order every payment settles
instalments oldest first, so at any time instalments before the pointer (the first
one still owing) are settled, the pointer's instalment may be part-paid, and the
ones after it are untouched: their principal is as scheduled and the penalty on
one of them is ``daily × days`` since it started accruing (``penalty``'s rounding
point is one instalment-day). Only the pointer's instalment carries state
(``rp ri rf rpen``, penalty settled through day ``sp``).

Between two events of a loan its overdue-since date is fixed (the pointer's due
date from its first past-due day on), so DPD rises by one a day; the five-category
classification and the IFRS 9 stage are advanced a whole span at a time, as
``replay``'s fast path does, and stepped exactly on the business date.

The loops are compiled (``compiled``: one loan at a time over its own instalments
and events); this module holds the state, runs them, and settles payoffs in bulk.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import numpy as np

from postloan.batch.calendar_arrays import YEAR_DENOMINATOR, DateTables, fraction_numerator
from postloan.batch.state_kernel import compiled, compiled_book
from postloan.batch.state_kernel.book import Book
from postloan.batch.state_kernel.dates import I64, NONE
from postloan.batch.state_kernel.ranges import cuts, frozen, in_ranges
from postloan.domain.daycount import DayCount
from postloan.domain.policy import Component, CureRule, ServicingPolicy
from postloan.domain.prepayment import payoff
from postloan.domain.schedule import Instalment, LoanTerms

T = TypeVar("T")

_EPOCH = date(1970, 1, 1)


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


def _views(S: I64, F: np.ndarray) -> Walk:
    """The ``Walk`` whose fields are the rows of ``S`` and ``F`` (``compiled``'s layout)."""
    return Walk(
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
        closed=F[compiled.CLOSED],
        charged_off=S[compiled.CHARGED_OFF],
        since_at_charge_off=S[compiled.SINCE_AT_CHARGE_OFF],
        written_off=S[compiled.WRITTEN_OFF],
        penalty_written_off=S[compiled.PENALTY_WRITTEN_OFF],
        fallback=F[compiled.FALLBACK],
        category=S[compiled.CATEGORY],
        cure=S[compiled.CURE],
        last_default=S[compiled.LAST_DEFAULT],
        seg=S[compiled.SEG],
        since_last=S[compiled.SINCE_LAST],
        anchor=S[compiled.ANCHOR],
        next_restructuring=S[compiled.NEXT_RESTRUCTURING],
    )


class Walker:
    def __init__(
        self,
        book: Book,
        on: int,
        policy: ServicingPolicy,
        terms_for: Callable[[int], LoanTerms],
        threads: int = 1,
    ) -> None:
        self.b = book
        #: the compiled loops release the GIL: loans are split over this many threads
        self.threads = threads
        self.on = on
        self.policy = policy
        self.terms_for = terms_for
        #: an instalment is past due from ``due + past_due_lag`` (``first_past_due_day``)
        self.past_due_lag = policy.delinquency.grace_days + 1
        self._date_tables: DateTables | None = None
        n = book.start.shape[0]
        # the compiled loops take a few 2-D arrays (``compiled``'s row constants); the
        # book's instalment and event columns are rows of them (``prepare``)
        self.J, self.E = book.J, book.E
        first = np.minimum(book.owing_next[book.start], book.end) if n else book.end.copy()
        self.S = np.zeros((compiled.STATE_ROWS, n), np.int64)
        self.F = np.zeros((2, n), bool)
        S = self.S
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
        # the first instalment owing is the pointer, untouched, penalty through disbursement - 1
        live = np.nonzero(first < book.end)[0]
        j = first[live]
        S[compiled.P] = first
        S[compiled.RP, live] = book.principal[j]
        S[compiled.RI, live] = book.interest[j]
        S[compiled.RF, live] = book.fee[j]
        S[compiled.RPEN, live] = book.daily[j] * np.maximum(
            0, book.disb[live] - book.penalty_from[j]
        )
        S[compiled.SP] = book.disb - 1
        #: events up to the walker's date, per loan, and its failed debits (``fork``)
        self.stop = book.ev_count
        self.failed_debits = book.failed_debits
        self.w = _views(self.S, self.F)
        self.shared = self._shared()

    def each_range(self, work: Callable[[int, int], T], size: int | None = None) -> list[T]:
        """``work(lo, hi)`` over ``0 .. size`` (default: every loan), a contiguous range
        per thread; each loan is in one range, so threads never touch the same loan."""
        return in_ranges(cuts(self.S.shape[1] if size is None else size, self.threads), work)

    def fork(self, on: int, stop: I64, failed_debits: I64) -> Walker:
        """A walker on an earlier date ``on`` sharing the book, with a copy of this
        one's state (finishing it leaves this one untouched); ``stop``: each loan's
        events up to ``on``."""
        other = copy.copy(self)
        other.on, other.stop, other.failed_debits = on, stop, failed_debits
        other.S, other.F = self.S.copy(), self.F.copy()
        other.w = _views(other.S, other.F)
        return other

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
        loans = np.flatnonzero(cursor < stop)
        args = self.args

        def part(lo: int, hi: int) -> int:
            stopped: int = compiled.walk(*args, loans[lo:hi], cursor, stop, day, money)
            return stopped

        while loans.size:
            if not sum(self.each_range(part, loans.size)):
                break
            paying = loans[money[loans] > 0]
            self._payoffs(paying, day[paying], money[paying])
            loans = paying[cursor[paying] < stop[paying]]
        return self.w

    def _shared(self) -> tuple[I64, ...]:
        """The compiled loops' read-only arrays (``L J N E RD C``, then ``FB``), as
        read-only views, so the loops are typed (and cached) once."""
        b, policy = self.b, self.policy
        c, s = policy.classification, policy.ifrs9
        order = policy.allocation.components
        if sorted(order) != sorted(Component):
            raise ValueError(f"the allocation order must name each component once: {order}")
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
                *(codes[x] for x in order),
                *sorted((s.probation_months, s.forborne_probation_months)),
                s.forborne_probation_months > s.probation_months,
                s.stage2_over_dpd,
            ],
            np.int64,
        )
        loans = np.stack(
            (
                b.start,
                b.end,
                b.rate_num,
                b.rate_den,
                b.ev_start,
                b.restructured_end,
                b.forborne_start,
                b.forborne_end,
            )
        )
        return (
            *frozen(loans, self.J, b.owing_next, self.E, b.restructured_day, rules),
            *frozen(np.stack((b.forborne_lo, b.forborne_hi))),
        )

    @property
    def args(self) -> tuple[I64, ...]:
        """``compiled.walk``'s first eight arguments (``S F L J N E RD C``)."""
        return (self.S, self.F, *self.shared[:6])

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
        f = compiled.first_due_after(self.shared[0], self.shared[1], idx, t)  # not yet due
        balance = compiled_book.principal_after(self.shared[0], self.shared[1], idx, f)
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
