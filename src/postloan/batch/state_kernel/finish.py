"""The business date itself: the last classification step and the state columns."""

from __future__ import annotations

import numpy as np
import polars as pl

from postloan.batch.state_kernel.book import REPAY, Book
from postloan.batch.state_kernel.dates import I64, NONE, add_months_days
from postloan.batch.state_kernel.walk import Walker, _key
from postloan.domain.policy import Component

_CATEGORIES = ("normal", "special_mention", "substandard", "doubtful", "loss")


def reasons_of(walker: Walker, code: int) -> list[str]:
    """The reason codes ``Walker.step_day`` encodes: base × 8 + flags."""
    c = walker.policy.classification
    base = (
        "current",
        "overdue",
        f"dpd_over_{c.substandard_over_dpd}",
        f"dpd_over_{c.doubtful_over_dpd}",
        f"dpd_over_{c.loss_over_dpd}",
        "restructured_observation",
        "second_restructuring",
        "npl_not_cured",
        "cure_probation",
        "closed",
        "charged_off",
    )[code // 8]
    out = [base]
    if code & 1:
        out.append("restructured_observation")
    if code & 2:
        out.append("second_restructuring")
    if code & 4:
        out.append("cure_completed")
    return out


def _covered_throughout(walker: Walker, idx: I64, lo: I64, on: int) -> np.ndarray:
    """Whether restructured marks cover every day of ``lo .. on``."""
    b = walker.b
    j = np.searchsorted(walker.key_forborne, _key(idx, lo), side="right") - 1
    ok = (j >= b.forborne_start[idx]) & (j < b.forborne_end[idx])
    js = np.where(ok, j, 0)
    out: np.ndarray = ok & (b.forborne_hi[js] >= on) if b.forborne_hi.size else ok
    return out


def _uncovered_throughout(walker: Walker, idx: I64, lo: I64, on: int) -> np.ndarray:
    """Whether no restructured mark covers any day of ``lo .. on``."""
    b = walker.b
    if not b.forborne_hi.size:
        return np.ones(idx.size, bool)
    j = np.searchsorted(walker.key_forborne, _key(idx, lo), side="right") - 1
    ok = (j >= b.forborne_start[idx]) & (j < b.forborne_end[idx])
    covers_lo = ok & (b.forborne_hi[np.where(ok, j, 0)] >= lo)
    nxt = np.where(ok, j + 1, b.forborne_start[idx])
    has_next = nxt < b.forborne_end[idx]
    starts_before = has_next & (b.forborne_lo[np.where(has_next, nxt, 0)] <= on)
    out: np.ndarray = ~covers_lo & ~starts_before
    return out


def _repayments(b: Book, charged_off: I64) -> tuple[I64, I64, I64]:
    """Per loan: all repayments, those after the write-off day, the last repayment day."""
    n = b.start.shape[0]
    repay = b.ev_kind == REPAY
    loan = np.repeat(np.arange(n, dtype=np.int64), b.ev_count)
    amount = np.where(repay, b.ev_amount, 0)
    late = repay & (charged_off[loan] != NONE) & (b.ev_day > charged_off[loan])
    total = np.bincount(loan, weights=amount, minlength=n)
    recovered = np.bincount(loan, weights=np.where(late, b.ev_amount, 0), minlength=n)
    last = np.full(n, NONE, np.int64)
    np.maximum.at(last, loan[repay], b.ev_day[repay])
    exact = float(np.abs(amount).sum()) < 2.0**52
    if not exact:  # float weights would round: add exactly
        total_i = np.zeros(n, np.int64)
        rec_i = np.zeros(n, np.int64)
        np.add.at(total_i, loan, amount)
        np.add.at(rec_i, loan, np.where(late, b.ev_amount, 0))
        return total_i, rec_i, last
    return total.astype(np.int64), recovered.astype(np.int64), last


def finish(walker: Walker) -> tuple[dict[str, object], np.ndarray]:
    """Columns for every loan of the book (in its order) and the fallback mask."""
    b, w, policy = walker.b, walker.w, walker.policy
    on = walker.on
    n = b.start.shape[0]
    idx = np.arange(n, dtype=np.int64)
    co = w.charged_off != NONE
    live = ~co & ~w.fallback
    span = np.nonzero(live & (w.seg <= on - 1))[0]
    if span.size:
        walker._span(span, w.seg[span], np.full(span.size, on - 1, np.int64))
    today = np.full(n, on, np.int64)
    walker._settle(idx[~co], today[~co])
    since = np.where(co, w.since_at_charge_off, walker._since(idx, today))
    dpd = np.where((since != NONE) & (since < on), on - since, 0)
    closed = w.closed & ~co
    last_due = np.where(b.end > b.start, b.due[np.maximum(b.end - 1, 0)], NONE)

    # five-category step on the business date (open loans), then closed / charged off
    category = np.zeros(n, np.int64)
    code = np.zeros(n, np.int64)
    step = np.nonzero(~co & ~closed & ~w.fallback)[0]
    if step.size:
        hit = walker.restructuring_on(step, today[step])
        category[step], code[step] = walker.step_day(step, today[step], dpd[step], hit)
    category = np.where(closed, 0, np.where(co, 4, category))
    code = np.where(closed, 9 * 8, np.where(co, 10 * 8, code))

    # IFRS 9 stage: in default, or still in the probation after the last default day
    s = policy.ifrs9
    default = dpd > s.stage3_over_dpd
    after = np.where(w.last_default != NONE, w.last_default + 1, NONE)
    short, long_ = sorted((s.probation_months, s.forborne_probation_months))
    lo, hi = add_months_days(after, short), add_months_days(after, long_)
    if s.forborne_probation_months > s.probation_months:
        kept = _covered_throughout(walker, idx, lo, on)
    else:
        kept = _uncovered_throughout(walker, idx, lo, on)
    probation = (w.last_default != NONE) & ((on < lo) | ((on < hi) & kept))
    stage = np.where(default | probation, 3, np.where(dpd > s.stage2_over_dpd, 2, 1))
    stage = np.where(closed, 1, np.where(co, 3, stage))

    # amounts: the pointer's instalment and the untouched ones after it
    p = w.p
    has = (p < b.end) & ~co
    ps = np.where(has, p, 0)
    nxt = np.where(has, ps + 1, b.end)
    k_lt = np.maximum(np.searchsorted(walker.key_due, _key(idx, today - 1), side="right"), nxt)
    k_le = np.maximum(np.searchsorted(walker.key_due, _key(idx, today), side="right"), nxt)
    k_pen = np.maximum(np.searchsorted(walker.key_pf, _key(idx, today), side="right"), nxt)
    pdue = b.due[ps]
    own_lt = has & (pdue < on)
    own_le = has & (pdue <= on)
    rp = np.where(has, w.rp, 0)
    ri = np.where(has, w.ri, 0)
    rf = np.where(has, w.rf, 0)
    rpen = np.where(has, w.rpen, 0)
    pc, ic, fc = walker.pc, walker.ic, walker.fc
    later_penalty = (on + 1) * (walker.dc[k_pen] - walker.dc[nxt]) - (
        walker.dpc[k_pen] - walker.dpc[nxt]
    )
    penalty_outstanding = rpen + later_penalty
    paid = w.paid

    # next due: the first instalment due on or after the date still owing, net of advance
    k_ge = k_lt
    own_up = has & (pdue >= on)
    j0 = np.where(own_up, ps, np.minimum(b.owing_next[k_ge], b.end))
    j0_ok = has & (j0 < b.end)
    j0s = np.where(j0_ok, j0, 0)
    owed0 = np.where(own_up, rp + ri + rf + rpen, b.principal[j0s] + b.interest[j0s] + b.fee[j0s])
    j1 = np.where(j0_ok, np.minimum(b.owing_next[j0s + 1], b.end), b.end)
    j1_ok = j0_ok & (j1 < b.end)
    j1s = np.where(j1_ok, j1, 0)
    owed1 = b.principal[j1s] + b.interest[j1s] + b.fee[j1s]
    adv = np.where(co, 0, w.advance)
    first = j0_ok & (owed0 > adv)
    second = j0_ok & ~first & j1_ok & (owed1 > adv - owed0)
    beyond = j0_ok & ~first & j1_ok & ~second
    w.fallback |= beyond
    next_day = np.where(first, b.due[j0s], np.where(second, b.due[j1s], NONE))
    next_amount = np.where(first, owed0 - adv, np.where(second, owed1 - (adv - owed0), 0))

    # money in: repayments (events), recoveries after the write-off day
    money = _repayments(b, w.charged_off)

    status = np.where(
        co, 2, np.where(closed, 1, np.where((last_due != NONE) & (on > last_due), 3, 0))
    )
    used = np.nonzero(np.bincount(code, minlength=1))[0]
    reasons = {int(x): reasons_of(walker, int(x)) for x in used}
    buckets = policy.buckets
    labels = [x.label for x in buckets.buckets] + [buckets.charged_off_label]
    bucket = np.full(n, len(buckets.buckets) - 1, np.int64)
    for k in range(len(buckets.buckets) - 1, -1, -1):
        x = buckets.buckets[k]
        inside = (dpd >= x.min_dpd) & (True if x.max_dpd is None else dpd <= x.max_dpd)
        bucket = np.where(inside, k, bucket)
    bucket = np.where(co, len(labels) - 1, bucket)
    cols: dict[str, object] = {
        "_status": status,
        "days_past_due": dpd,
        "overdue_since": since,
        "_category": category,
        "_reason": code,
        "ifrs9_stage": stage,
        "principal_outstanding": rp + pc[b.end] - pc[nxt],
        "overdue_principal": np.where(own_lt, rp, 0) + pc[k_lt] - pc[nxt],
        "overdue_interest": np.where(own_lt, ri, 0) + ic[k_lt] - ic[nxt],
        "overdue_fee": np.where(own_lt, rf, 0) + fc[k_lt] - fc[nxt],
        "interest_outstanding": np.where(own_le, ri, 0) + ic[k_le] - ic[nxt],
        "fee_outstanding": np.where(own_le, rf, 0) + fc[k_le] - fc[nxt],
        "penalty_outstanding": penalty_outstanding,
        "principal_paid": paid[Component.PRINCIPAL],
        "interest_paid": paid[Component.INTEREST],
        "fee_paid": paid[Component.FEE],
        "penalty_paid": paid[Component.PENALTY],
        "penalty_charged": paid[Component.PENALTY] + penalty_outstanding + w.penalty_written_off,
        "written_off": w.written_off,
        "credit_balance": w.credit,
        "advance_balance": adv,
        "next_due_date": next_day,
        "next_due_amount": next_amount,
        "_charged_off": w.charged_off,
        "total_paid": money[0],
        "recovered": money[1],
        "last_payment_date": money[2],
        "failed_debits": b.failed_debits,
        "_reasons": reasons,
        "_bucket": bucket,
        "_bucket_labels": labels,
    }
    return cols, w.fallback.copy()


STATUS = ("active", "closed", "charged_off", "matured")


def dates(values: I64) -> pl.Series:
    """Day numbers to a Date series (``NONE`` → null)."""
    s = pl.Series(values.astype(np.int64))
    return pl.select(
        pl.when(s == NONE).then(None).otherwise(s).cast(pl.Int32).cast(pl.Date)
    ).to_series()


CATEGORY_NAMES = _CATEGORIES
