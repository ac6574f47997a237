"""The book's arrays built by compiled loops (numba): schedule checks, instalment
columns and each loan's events in order.

``book.prepare`` decides which loans the kernel computes and turns the frames into
numbers; these loops do the row-by-row work that took a dozen numpy passes (and as
many fresh 36M-row temporaries) at a million loans: one pass over the schedule rows,
one over each loan's own instalments and events. The results are exactly what the
numpy version gave; the parity tests hold the kernel to the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from postloan.batch.state_kernel.compiled import (
    ADVANCE,
    DAILY,
    DUE,
    END,
    EV_AMOUNT,
    EV_DAY,
    EV_KIND,
    FEE_DUE,
    INTEREST_DUE,
    MARK,
    PENALTY_FROM,
    PRINCIPAL_DUE,
    REPAY,
    WRITE_OFF,
    _after,
)

#: ``book.NATIVE_TXNS`` indices of the transactions that are events
REPAYMENT, WRITTEN_OFF = 0, 2

#: day numbers shifted to be non-negative inside a sort key (as ``book`` keys them)
_OFFSET = 1 << 21


@njit(cache=True, nogil=True)
def check_schedules(
    sk: Any, seq: Any, due: Any, principal: Any, interest: Any, fee: Any, nulls: Any, n: int
) -> tuple[Any, Any, Any]:
    """Per loan (rows in loan, seq order): whether a row is one the reference rejects
    (seq below 1 or repeated, due dates going back, negative or missing amounts), the
    row count and the principal sum (a float, for the overflow guard)."""
    bad = np.zeros(n, np.bool_)
    sizes = np.zeros(n, np.int64)
    principal_sum = np.zeros(n, np.float64)
    for r in range(sk.shape[0]):
        k = sk[r]
        sizes[k] += 1
        principal_sum[k] += principal[r]
        broken = seq[r] < 1 or min(principal[r], interest[r], fee[r]) < 0 or nulls[r]
        if r > 0 and sk[r - 1] == k and (seq[r] == seq[r - 1] or due[r] < due[r - 1]):
            broken = True
        if broken:
            bad[k] = True
    return bad, sizes, principal_sum


@njit(cache=True, nogil=True, _nrt=False)
def instalments(
    sk: Any,
    disb: Any,
    rate_num: Any,
    rate_den: Any,
    penalty_lag: int,
    end: Any,
    J: Any,
    owing_next: Any,
    lo: int,
    hi: int,
) -> None:
    """Rows ``lo .. hi - 1`` (whole loans) of the derived instalment columns of ``J``
    (``compiled``'s rows; due day and amounts are there already): the first accruing
    day and a day's penalty on the scheduled principal; and ``owing_next`` (the first
    instalment at or after ``j`` of the same loan that owes anything, else the loan's
    ``end``)."""
    for r in range(lo, hi):
        k = sk[r]
        J[PENALTY_FROM, r] = max(J[DUE, r] + penalty_lag, disb[k])
        J[DAILY, r] = (2 * J[PRINCIPAL_DUE, r] * rate_num[k] + rate_den[k]) // (2 * rate_den[k])
    nxt = hi
    for r in range(hi - 1, lo - 1, -1):
        k = sk[r]
        if r == hi - 1 or sk[r + 1] != k:
            nxt = end[k]
        if J[PRINCIPAL_DUE, r] + J[INTEREST_DUE, r] + J[FEE_DUE, r] > 0:
            nxt = r
        owing_next[r] = nxt


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _isort(keys: Any, source: Any, lo: int, hi: int) -> None:
    """Stable insertion sort of ``keys[lo:hi]`` (with ``source``): linear on the
    nearly sorted runs a feed gives."""
    for x in range(lo + 1, hi):
        key, src = keys[x], source[x]
        y = x - 1
        while y >= lo and keys[y] > key:
            keys[y + 1] = keys[y]
            source[y + 1] = source[y]
            y -= 1
        keys[y + 1] = key
        source[y + 1] = src


@njit(cache=True, nogil=True, _nrt=False)  # no allocation: no reference counting per loan
def _loan_events(
    k: int,
    rows: Any,
    first: int,
    last: int,
    eday: Any,
    etype: Any,
    J: Any,
    owing_next: Any,
    start: Any,
    end: Any,
    r_start: Any,
    r_day: Any,
    on: int,
    keys: Any,
    source: Any,
    out_keys: Any,
    out_source: Any,
) -> int:
    """Loan ``k``'s events, sorted, into ``out_keys`` (day and kind, the sort key) and
    ``out_source`` (the event row; -1 for a held-money day, -2 for a restructuring
    day); returns how many. Held-money days: for each repayment, the due day of the
    first owing instalment due after it (distinct, not after ``on``)."""
    t = 0
    for q in range(first, last):
        e = rows[q]
        keys[t] = ((eday[e] + _OFFSET) << 3) | (REPAY if etype[e] == REPAYMENT else WRITE_OFF)
        source[t] = e
        t += 1
    _isort(keys, source, 0, t)
    h = t
    lo, hi = start[k], end[k]
    for q in range(first, last):
        e = rows[q]
        if etype[e] != REPAYMENT:
            continue
        j = _after(J, DUE, lo, hi, eday[e])
        if j >= hi:
            continue
        j = owing_next[j]
        if j < hi and J[DUE, j] <= on:
            keys[h] = ((J[DUE, j] + _OFFSET) << 3) | ADVANCE
            source[h] = -1
            h += 1
    _isort(keys, source, t, h)
    distinct = t
    for x in range(t, h):
        if distinct == t or keys[x] != keys[distinct - 1]:
            keys[distinct] = keys[x]
            source[distinct] = -1
            distinct += 1
    h = distinct
    r = h
    for x in range(r_start[k], r_start[k + 1]):  # sorted and distinct already
        keys[r] = ((r_day[x] + _OFFSET) << 3) | MARK
        source[r] = -2
        r += 1
    # merge the three sorted runs (their kinds differ, so no ties across runs)
    a, b, c, count = 0, t, h, 0
    while a < t or b < h or c < r:
        pick, best = -1, 0
        if a < t:
            pick, best = a, keys[a]
        if b < h and (pick < 0 or keys[b] < best):
            pick, best = b, keys[b]
        if c < r and (pick < 0 or keys[c] < best):
            pick, best = c, keys[c]
        out_keys[count] = best
        out_source[count] = source[pick]
        count += 1
        if pick == a and a < t:
            a += 1
        elif pick == b and b < h:
            b += 1
        else:
            c += 1
    return count


@njit(cache=True, nogil=True)
def feed_rows(
    tk: Any, tday: Any, ttype: Any, new_k: Any, keep: Any, on: int, n: int
) -> tuple[Any, Any]:
    """The repayments and write-offs of native loans up to ``on`` (transaction rows:
    loan ``tk`` before renumbering, ``ttype`` a ``book.NATIVE_TXNS`` index), grouped
    by loan in the feed's order (a stable counting sort): ``first`` (CSR over loans)
    and ``rows``."""
    first = np.zeros(n + 1, np.int64)
    applied = np.zeros(tk.shape[0], np.bool_)
    _mark_applied(tk, tday, ttype, keep, on, applied)
    for e in range(tk.shape[0]):
        if applied[e]:
            first[new_k[tk[e]] + 1] += 1
    for k in range(n):
        first[k + 1] += first[k]
    rows = np.empty(first[n], np.int64)
    fill = first[:n].copy()
    for e in range(tk.shape[0]):
        if applied[e]:
            k = new_k[tk[e]]
            rows[fill[k]] = e
            fill[k] += 1
    return first, rows


@njit(cache=True, nogil=True, _nrt=False)
def _mark_applied(tk: Any, tday: Any, ttype: Any, keep: Any, on: int, out: Any) -> None:
    """``out[e]``: whether row ``e`` is a repayment or write-off of a native loan, dated
    on or before ``on`` (compiled without the runtime: no reference counting per row)."""
    for e in range(tk.shape[0]):
        out[e] = _applied(tk, tday, ttype, keep, on, e)


def event_bounds(first: Any, r_start: Any) -> Any:
    """The most events each loan can have: each repayment or write-off, a held-money
    day per repayment, and its restructuring days."""
    return 2 * np.diff(first) + np.diff(r_start)


def event_scratch(bounds: Any, lo: int, hi: int) -> int:
    """Columns of ``events``' scratch for loans ``lo .. hi - 1``."""
    return int(bounds[lo:hi].max()) if hi > lo else 0


@njit(cache=True, nogil=True, _nrt=False)
def events(
    first: Any,
    rows: Any,
    tday: Any,
    ttype: Any,
    amount: Any,
    J: Any,
    owing_next: Any,
    start: Any,
    end: Any,
    r_start: Any,
    r_day: Any,
    on: int,
    count: Any,
    ev_start: Any,
    E: Any,
    scratch: Any,
    lo: int,
    hi: int,
) -> None:
    """Loans ``lo .. hi - 1``' events in (day, kind) order, ties in the feed's order:
    their repayments and write-offs (``feed_rows``), held-money days and
    restructuring days (``r_start`` CSR over loans): written to ``E`` (``compiled``'s
    event rows) from ``ev_start[k]`` (room for :func:`event_bounds` events a loan),
    their number to ``count[k]``. ``scratch``: four rows of at least
    :func:`event_scratch` columns. Compiled without the runtime, so the call per
    loan counts no references."""
    keys, source, out_keys, out_source = scratch[0], scratch[1], scratch[2], scratch[3]
    for k in range(lo, hi):
        c = _loan_events(
            k, rows, first[k], first[k + 1], tday, ttype, J, owing_next, start, end,
            r_start, r_day, on, keys, source, out_keys, out_source,
        )  # fmt: skip
        count[k] = c
        at = ev_start[k]
        for x in range(c):
            src = out_source[x]
            E[EV_DAY, at] = (out_keys[x] >> 3) - _OFFSET
            E[EV_KIND, at] = out_keys[x] & 7
            E[EV_AMOUNT, at] = amount[src] if src >= 0 else 0
            at += 1


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _applied(tk: Any, tday: Any, ttype: Any, keep: Any, on: int, e: int) -> bool:
    """A repayment or write-off of a native loan, dated on or before ``on``."""
    return tday[e] <= on and keep[tk[e]] and (ttype[e] == REPAYMENT or ttype[e] == WRITTEN_OFF)


@njit(cache=True, nogil=True)
def events_before(ev_start: Any, ev_count: Any, E: Any, on: int) -> Any:
    """Per loan: how many of its events are dated before ``on`` (they come in day
    order, so those are a prefix)."""
    n = ev_start.shape[0]
    out = np.empty(n, np.int64)
    for i in range(n):
        lo = ev_start[i]
        out[i] = _after(E, EV_DAY, lo, lo + ev_count[i], on - 1) - lo
    return out


@njit(cache=True, nogil=True)
def principal_after(L: Any, J: Any, loans: Any, first: Any) -> Any:
    """Per loan of ``loans``: the scheduled principal of its instalments from
    ``first`` on (the balance a payoff settles)."""
    out = np.zeros(loans.shape[0], np.int64)
    for q in range(loans.shape[0]):
        for j in range(first[q], L[END, loans[q]]):
            out[q] += J[PRINCIPAL_DUE, j]
    return out


@njit(cache=True, nogil=True)
def merged_spans(k: Any, lo: Any, hi: Any) -> Any:
    """Per loan ``k``, the day spans ``lo .. hi`` (rows sorted by ``k`` then ``lo``)
    with overlapping or adjacent ones merged: ``(k, lo, hi)`` of the merged spans."""
    n = k.shape[0]
    out_k = np.empty(n, np.int64)
    out_lo = np.empty(n, np.int64)
    out_hi = np.empty(n, np.int64)
    m = -1
    for i in range(n):
        if m >= 0 and out_k[m] == k[i] and lo[i] <= out_hi[m] + 1:
            if hi[i] > out_hi[m]:
                out_hi[m] = hi[i]
        else:
            m += 1
            out_k[m] = k[i]
            out_lo[m] = lo[i]
            out_hi[m] = hi[i]
    return out_k[: m + 1], out_lo[: m + 1], out_hi[: m + 1]
