"""The monthly loop: who pays what, when, vectorised over loans.

Arrears are tracked the way postloan counts them (``arrears.Arrears``): ``cursor``
is the number of instalments fully paid, oldest first; a loan is ``n = dues so far
− cursor`` instalments behind and its DPD at a month-end is the days since the due
date of instalment ``cursor``. Every repayment is built with the exact amount that
settles the instalments the simulator means to settle under postloan's allocation
and 罚息, so postloan's own replay of the feeds gives the same DPD and bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from postloan.sim.arrears import Arrears
from postloan.sim.behaviour import Behaviour
from postloan.sim.calendar import SimCalendar
from postloan.sim.oracle import Oracle
from postloan.sim.population import RATE_SCALE, Book

__all__ = ["EngineOutput", "Schedules", "run"]

# transaction types and channels (codes in the output arrays)
TXN_TYPES = ["repayment", "failed_debit", "write_off"]
CHANNELS = ["auto_debit", "transfer", "app", "restructure", "litigation"]
TREATMENTS = ["restructure_offer", "restructure_accepted", "litigation_filed", "litigation_closed"]


@dataclass
class Schedules:
    """Dense per-loan schedule arrays (loan × instalment), from the schedule kernel."""

    cum_total: np.ndarray  # int64 (n, T+1): principal + interest of instalments before k
    cum_principal: np.ndarray  # int64 (n, T+1)
    due: np.ndarray  # int32 (n, T): due day numbers


@dataclass
class EngineOutput:
    txn: dict[str, list[np.ndarray]] = field(default_factory=dict)
    monthly: list[pl.DataFrame] = field(default_factory=list)
    truth: list[pl.DataFrame] = field(default_factory=list)
    events: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, store: dict[str, list[np.ndarray]], **cols: np.ndarray) -> None:
        for k, v in cols.items():
            store.setdefault(k, []).append(v)


def build_schedules(book: Book, sched: pl.DataFrame) -> Schedules:
    n, t_max = book.n, int(book.term.max())
    loan_idx = np.repeat(np.arange(n), book.term)
    seq = sched["seq"].to_numpy().astype(np.int64) - 1
    principal = np.zeros((n, t_max), dtype=np.int64)
    total = np.zeros((n, t_max), dtype=np.int64)
    due = np.zeros((n, t_max), dtype=np.int32)
    p = sched["principal_due"].to_numpy()
    principal[loan_idx, seq] = p
    total[loan_idx, seq] = p + sched["interest_due"].to_numpy() + sched["fee_due"].to_numpy()
    due[loan_idx, seq] = sched["due_date"].cast(pl.Int32).to_numpy()
    cum_total = np.zeros((n, t_max + 1), dtype=np.int64)
    np.cumsum(total, axis=1, out=cum_total[:, 1:])
    cum_principal = np.zeros((n, t_max + 1), dtype=np.int64)
    np.cumsum(principal, axis=1, out=cum_principal[:, 1:])
    return Schedules(cum_total, cum_principal, due)


def run(
    book: Book, cal: SimCalendar, beh: Behaviour, sch: Schedules, seed: int, oracle: Oracle
) -> EngineOutput:
    """Simulate internal months 0 .. cal.total-1 (back book, then the window); month-end
    rows (``monthly``, ``truth``) are kept for the window only, by window month."""
    n = book.n
    rows = np.arange(n)
    out = EngineOutput()
    ar = Arrears(sch.cum_total, sch.cum_principal, sch.due, book.rate_num, RATE_SCALE)
    cursor = ar.cursor  # instalments fully paid (the same array, updated by ``ar.advance``)
    closed = np.zeros(n, dtype=bool)
    charged = np.zeros(n, dtype=bool)  # charged off (closed, reported apart; may still recover)
    lit_state = np.zeros(n, dtype=np.int8)  # 0 none, 1 in court, 2 done
    lit_end = np.zeros(n, dtype=np.int64)
    z = book.mu.copy()
    term = book.term.astype(np.int64)
    orig = book.orig_month.astype(np.int64)
    phi, sigma = oracle.phi, oracle.sigma
    costs = beh.costs

    for t in range(cal.total):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7, t])))
        u = rng.random((12, n))
        eps = rng.standard_normal(n)
        started = orig < t
        z = np.where(started, book.mu + phi * (z - book.mu) + sigma * eps, z)
        open_ = (orig <= t) & ~closed
        count_prev = np.clip(t - 1 - orig, 0, term)
        count_now = np.clip(t - orig, 0, term)
        has_due = count_now > count_prev
        kd = np.minimum(count_prev, term - 1)
        n0 = count_prev - cursor
        ms, me, mlen = int(cal.month_start[t]), int(cal.month_end[t]), int(cal.month_len[t])
        due_day = sch.due[rows, kd]
        days_left = me - due_day
        shock = beh.shock[t, book.region]
        cost = np.zeros(n, dtype=np.float64)
        paid = np.zeros(n, dtype=np.int64)
        any_day = ms + (u[9] * mlen).astype(np.int64)

        def pay(
            idx: np.ndarray,
            amount: np.ndarray,
            day: np.ndarray,
            channel: int,
            t: int = t,
            paid: np.ndarray = paid,
        ) -> None:
            out.add(
                out.txn,
                loan=idx.astype(np.int32),
                type=np.zeros(len(idx), dtype=np.int8),
                amount=amount,
                day=day.astype(np.int32),
                channel=np.full(len(idx), channel, dtype=np.int8),
                month=np.full(len(idx), t, dtype=np.int16),
            )
            np.add.at(paid, idx, amount)

        settle = ar.settle_amount

        # --- litigation: filing, cases in court, resolution --------------------------
        in_court = (orig <= t) & (lit_state == 1)
        resolving = np.flatnonzero(in_court & (lit_end == t))
        if beh.litigation_at > 0:
            filing = np.flatnonzero(open_ & (lit_state == 0) & (n0 >= beh.litigation_at))
            lo, hi = beh.lit_months
            lit_end[filing] = t + lo + (u[10, filing] * (hi - lo + 1)).astype(np.int64)
            lit_state[filing] = 1
            cost[filing] += costs["litigation_filing"]
            out.add(
                out.events,
                loan=filing.astype(np.int32),
                kind=np.full(len(filing), 2, np.int8),
                month=np.full(len(filing), t, np.int16),
            )
        if len(resolving):
            full = u[11, resolving] < beh.lit_full
            share = rng.beta(beh.lit_beta[0], beh.lit_beta[1], size=len(resolving))
            day = any_day[resolving]
            fi = resolving[full]
            owed_last = count_now[fi] - 1
            amount = settle(fi, owed_last, day[full])
            amount += sch.cum_principal[fi, term[fi]] - sch.cum_principal[fi, count_now[fi]]
            nxt = np.minimum(count_now[fi], term[fi] - 1)
            has_next = count_now[fi] < term[fi]
            amount += np.where(
                has_next,
                (sch.cum_total[fi, nxt + 1] - sch.cum_total[fi, nxt])
                - (sch.cum_principal[fi, nxt + 1] - sch.cum_principal[fi, nxt]),
                0,
            )
            pay(fi, amount, day[full], 4)
            ar.advance(fi, term[fi], day[full])
            pi = resolving[~full]
            j = np.floor(share[~full] * (count_prev[pi] - cursor[pi])).astype(np.int64)
            part = pi[j >= 1]
            if len(part):
                amount = settle(part, cursor[part] + j[j >= 1] - 1, day[~full][j >= 1])
                pay(part, amount, day[~full][j >= 1], 4)
                ar.advance(part, cursor[part] + j[j >= 1], day[~full][j >= 1])
            lit_state[resolving] = 2
            recovered = paid[resolving]
            cost[resolving] += costs["litigation_share"] * recovered / 100
            out.add(
                out.events,
                loan=resolving.astype(np.int32),
                kind=np.full(len(resolving), 3, np.int8),
                month=np.full(len(resolving), t, np.int16),
            )

        active = open_ & started & (lit_state != 1)
        active[resolving] = False

        # --- current loans with an instalment due -------------------------------------
        cur = active & (n0 == 0) & has_due
        cost[cur] += beh.reminders * costs["reminder"]
        cur_i = np.flatnonzero(cur)
        hit_miss = u[0, cur_i] < beh.miss(z[cur_i], shock[cur_i])
        miss = np.zeros(n, dtype=bool)
        miss[cur_i[hit_miss]] = True
        ontime = cur_i[~hit_miss]
        early = (u[9, ontime] * (beh.days_early + 1)).astype(np.int64)
        day = np.maximum(due_day[ontime] - early, ms)
        amount = settle(ontime, kd[ontime], day)
        pay(ontime, amount, day, 0)
        ar.advance(ontime, cursor[ontime] + 1, day)
        # A payoff needs two instalments left after this one: money for just the last
        # instalment is held by postloan as an advance for it, not read as a payoff.
        po = ontime[
            (kd[ontime] < term[ontime] - 2) & (days_left[ontime] >= 1) & (u[1, ontime] < beh.payoff)
        ]
        if len(po):
            day = due_day[po] + 1 + (u[10, po] * days_left[po]).astype(np.int64)
            nxt = kd[po] + 1
            amount = (sch.cum_principal[po, term[po]] - sch.cum_principal[po, nxt]) + (
                (sch.cum_total[po, nxt + 1] - sch.cum_total[po, nxt])
                - (sch.cum_principal[po, nxt + 1] - sch.cum_principal[po, nxt])
            )
            pay(po, amount, day, 2)
            ar.advance(po, term[po], day)

        missed = np.flatnonzero(miss)
        cost[missed] += beh.contacts * costs["contact"]
        fail = missed[u[4, missed] < beh.failed_share]
        _txn(
            out,
            fail,
            sch.cum_total[fail, kd[fail] + 1] - sch.cum_total[fail, kd[fail]],
            due_day[fail],
            1,
            t,
        )
        p_late = beh.late(z[missed], book.dark[missed])
        late = missed[(days_left[missed] >= 1) & (u[2, missed] < p_late)]
        day = due_day[late] + 1 + (u[9, late] * days_left[late]).astype(np.int64)
        amount = settle(late, kd[late], day)
        pay(late, amount, day, 1)
        ar.advance(late, cursor[late] + 1, day)
        rest = np.setdiff1d(missed, late, assume_unique=True)
        _partial(beh, pay, ar, rest[u[3, rest] < beh.partial_share], u, due_day)

        # --- delinquent loans -----------------------------------------------------------
        dl = np.flatnonzero(active & (n0 >= 1))
        cost[dl] += beh.contacts * costs["contact"]
        nd = n0[dl]
        offered = dl[nd == beh.restructure_at]
        accepted = offered[u[7, offered] < beh.acceptance]
        cost[offered] += costs["restructure"]
        out.add(
            out.events,
            loan=offered.astype(np.int32),
            kind=np.zeros(len(offered), np.int8),
            month=np.full(len(offered), t, np.int16),
        )
        out.add(
            out.events,
            loan=accepted.astype(np.int32),
            kind=np.ones(len(accepted), np.int8),
            month=np.full(len(accepted), t, np.int16),
        )
        odds = beh.cure_odds(z[dl], book.dark[dl], shock[dl])
        p_cure = beh.cure_plain(nd, odds)
        rcure = np.zeros(len(dl), dtype=bool)
        if len(accepted):
            acc_mask = np.isin(dl, accepted)
            rcure = acc_mask & (u[8, dl] < beh.restructure_cure)
        cure = rcure | (u[5, dl] < p_cure)
        one = ~cure & (u[6, dl] < beh.roll_back(odds))
        ci = dl[cure]
        day = any_day[ci]
        amount = settle(ci, count_now[ci] - 1, day)
        pay(ci, amount, day, 1)
        if rcure.any():  # relabel the restructure cures' channel
            out.txn["channel"][-1][rcure[cure]] = 3
        ar.advance(ci, count_now[ci], day)
        oi = dl[one]
        day = any_day[oi]
        amount = settle(oi, cursor[oi], day)
        pay(oi, amount, day, 1)
        ar.advance(oi, cursor[oi] + 1, day)
        ri = dl[~cure & ~one]
        fail = ri[has_due[ri] & (u[4, ri] < beh.failed_share)]
        _txn(
            out,
            fail,
            sch.cum_total[fail, kd[fail] + 1] - sch.cum_total[fail, kd[fail]],
            due_day[fail],
            1,
            t,
        )
        _partial(beh, pay, ar, ri[u[3, ri] < beh.partial_share], u, any_day)

        # --- month-end --------------------------------------------------------------------
        closed |= (cursor >= term) & (orig <= t)
        charged_now = np.zeros(0, dtype=np.int64)
        if beh.charge_off_dpd >= 0:
            cand = np.flatnonzero((orig <= t) & ~closed & (count_now > cursor))
            c = np.minimum(cursor[cand], term[cand] - 1)
            charged_now = cand[me - sch.due[cand, c] > beh.charge_off_dpd]
            if len(charged_now):
                ci, cn = cursor[charged_now], count_now[charged_now]
                amount = (
                    sch.cum_total[charged_now, cn]
                    - sch.cum_total[charged_now, ci]
                    - ar.paid_on_oldest(charged_now)
                    + sch.cum_principal[charged_now, term[charged_now]]
                    - sch.cum_principal[charged_now, cn]
                )
                _txn(out, charged_now, np.maximum(amount, 1), np.full(len(charged_now), me), 2, t)
                closed[charged_now] = True
                charged[charged_now] = True
        # open loans, and loans that closed this month (their money and costs count)
        now = np.zeros(n, dtype=bool)
        now[charged_now] = True
        rec = np.flatnonzero(((orig <= t) & ~closed) | (closed & ((paid > 0) | (cost > 0) | now)))
        shut = closed[rec]
        n_end = np.maximum(count_now[rec] - cursor[rec], 0)
        c = np.minimum(cursor[rec], term[rec] - 1)
        dpd = np.where(n_end > 0, me - sch.due[rec, c], 0)
        balance = sch.cum_principal[rec, term[rec]] - sch.cum_principal[rec, cursor[rec]]
        balance -= np.where(cursor[rec] < term[rec], ar.paid_principal(rec), 0)
        overdue = sch.cum_total[rec, count_now[rec]] - sch.cum_total[rec, cursor[rec]]
        overdue = np.maximum(overdue - ar.paid_on_oldest(rec), 0)
        window = t - cal.offset
        if window < 0:
            continue
        out.monthly.append(
            pl.DataFrame(
                {
                    "loan": rec.astype(np.int32),
                    "month": np.full(len(rec), window, np.int16),
                    "dpd": dpd.astype(np.int32),
                    "overdue_instalments": n_end.astype(np.int16),
                    "principal_outstanding": balance,
                    "overdue_amount": overdue,
                    "paid": paid[rec],
                    "contact_cost": np.round(cost[rec] * 100).astype(np.int64),
                    "in_litigation": lit_state[rec] == 1,
                    "closed": shut,
                    "charged_off": charged[rec],
                    "z": z[rec].astype(np.float32),
                }
            )
        )
        keep = ~shut
        end_open, n_end, dpd = rec[keep], n_end[keep], dpd[keep]
        pd90, pd180 = oracle.truth(t, end_open, z[end_open], n_end, dpd)
        out.truth.append(
            pl.DataFrame(
                {
                    "loan": end_open.astype(np.int32),
                    "month": np.full(len(end_open), window, np.int16),
                    "pd_90dpd_90d": pd90,
                    "pd_90dpd_180d": pd180,
                }
            )
        )
    return out


def _txn(
    out: EngineOutput, idx: np.ndarray, amount: np.ndarray, day: np.ndarray, kind: int, t: int
) -> None:
    """Record a non-repayment transaction (1 failed debit, 2 write-off)."""
    out.add(
        out.txn,
        loan=idx.astype(np.int32),
        type=np.full(len(idx), kind, dtype=np.int8),
        amount=amount,
        day=day.astype(np.int32),
        channel=np.zeros(len(idx), dtype=np.int8),
        month=np.full(len(idx), t, dtype=np.int16),
    )


def _partial(
    beh: Behaviour,
    pay: Callable[[np.ndarray, np.ndarray, np.ndarray, int], None],
    ar: Arrears,
    idx: np.ndarray,
    u: np.ndarray,
    day: np.ndarray,
) -> None:
    """A part payment (a share of the instalment) on the oldest unpaid instalment,
    always less than what settles it."""
    d = day[idx]
    c = ar.cursor[idx]
    inst = ar.cum_total[idx, c + 1] - ar.cum_total[idx, c]
    frac = beh.partial_lo + u[10, idx] * (beh.partial_hi - beh.partial_lo)
    amount = np.minimum(np.floor(frac * inst).astype(np.int64), ar.debt(idx, d) - 1)
    ok = amount > 0
    idx, amount, d = idx[ok], amount[ok], d[ok]
    pay(idx, amount, d, 1)
    ar.part_pay(idx, amount, d)
