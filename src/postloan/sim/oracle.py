"""Ground truth: the model's own probability that a loan reaches 90+ DPD.

For every open loan at a month-end the oracle propagates a small Markov chain
over (overdue instalments n ∈ {0,1,2,3}, latent-risk node) for 6 months, with
the same monthly probabilities the engine draws against (``Behaviour``), and
reports the probability of being more than 90 days past due at one of the next
3 (``pd_90dpd_90d``) or 6 (``pd_90dpd_180d``) month-ends. The latent risk
follows its AR(1): given today's ``z``, ``z`` h months ahead is normal with mean
``mu + phi^h (z − mu)`` and sd ``s_h``; it is integrated with ``nodes``
equal-probability quadrature points per month, linked month to month by the
exact conditional normal probabilities of moving between them. The region shocks
of the configuration are part of the model and are known to the oracle. It never
looks at the simulated future.
"""

from __future__ import annotations

import math

import numpy as np

from postloan.sim.behaviour import Behaviour
from postloan.sim.calendar import SimCalendar
from postloan.sim.population import Book

__all__ = ["Oracle"]

HORIZON = 6
CHUNK = 32_768
OVER_DPD = 90


def _phi_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _bins(g: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-probability bins of N(0,1): edges (g+1) and the conditional mean in each."""
    edges = [-math.inf]
    for k in range(1, g):
        lo, hi = -10.0, 10.0
        for _ in range(80):  # bisection for the k/g quantile
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _phi_cdf(mid) < k / g else (lo, mid)
        edges.append((lo + hi) / 2)
    edges.append(math.inf)
    pdf = [0.0 if math.isinf(e) else math.exp(-e * e / 2) / math.sqrt(2 * math.pi) for e in edges]
    nodes = np.array([(pdf[k] - pdf[k + 1]) * g for k in range(g)])
    return np.array(edges), nodes


class Oracle:
    def __init__(
        self,
        book: Book,
        cal: SimCalendar,
        beh: Behaviour,
        phi: float,
        sigma: float,
        nodes: int = 5,
    ) -> None:
        self.book, self.cal, self.beh = book, cal, beh
        self.phi, self.sigma, self.g = phi, sigma, nodes
        edges, x = _bins(nodes)
        self.x = x
        self.weights = np.full(nodes, 1 / nodes)
        # sd of z_{t+h} given z_t, and the node-to-node transition matrices.
        self.sd = np.array(
            [sigma * math.sqrt(sum(phi ** (2 * k) for k in range(h))) for h in range(HORIZON + 1)]
        )
        self.trans = []
        for h in range(1, HORIZON):
            mean = phi * self.sd[h] * x / self.sd[h + 1]
            spread = sigma / self.sd[h + 1]
            mat = np.empty((nodes, nodes))
            for a in range(nodes):
                cdf = [
                    _phi_cdf((e - mean[a]) / spread)
                    if not math.isinf(e)
                    else (0.0 if e < 0 else 1.0)
                    for e in edges
                ]
                mat[a] = np.diff(cdf)
            self.trans.append(mat / mat.sum(axis=1, keepdims=True))

    def truth(
        self, t: int, idx: np.ndarray, z: np.ndarray, n_now: np.ndarray, dpd: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(pd_90dpd_90d, pd_90dpd_180d) of loans ``idx`` at the end of month ``t``."""
        k = len(idx)
        pd90 = np.ones(k)
        pd180 = np.ones(k)
        live = (dpd <= OVER_DPD) & (n_now <= 3)
        # Current loans first (their chain starts in state 0, so fewer states are live
        # in the first months), in chunks that stay in cache.
        for group in (np.flatnonzero(live & (n_now == 0)), np.flatnonzero(live & (n_now > 0))):
            for lo in range(0, len(group), CHUNK):
                part = group[lo : lo + CHUNK]
                pd90[part], pd180[part] = self._chain(t, idx[part], z[part], n_now[part])
        np.clip(pd90, 0.0, 1.0, out=pd90)
        np.clip(pd180, pd90, 1.0, out=pd180)
        return pd90, pd180

    def _chain(
        self, t: int, li: np.ndarray, z: np.ndarray, n_now: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        b, beh, cal = self.book, self.beh, self.cal
        size = len(li)
        mu = b.mu[li]
        dev = z - mu
        orig = b.orig_month[li].astype(np.int64)
        term = b.term[li].astype(np.int64)
        dark = b.dark[li]
        region = b.region[li]
        day = b.disb_day[li].astype(np.int64)
        top = int(n_now.max())
        prob = np.zeros((4, self.g, size))  # P(n overdue, z node), not yet 90+
        prob[n_now, :, np.arange(size)] = self.weights
        hit = np.zeros(size)
        pd90 = hit
        k_cure = np.exp(-self.beh.cure_logit[np.minimum(np.arange(1, 4), len(beh.cure_logit)) - 1])
        ar = beh.acceptance * beh.restructure_cure
        for h in range(1, HORIZON + 1):
            m = t + h
            reach = min(3, top + h)  # highest state that can hold mass after this step
            zn = mu + self.phi**h * dev + self.sd[h] * self.x[:, None]  # (nodes, loans)
            shock = beh.shock[m, region]
            due = ((m - orig) <= term).astype(np.float64)
            matured = 1.0 - due
            days_left = cal.month_len[m] - day
            payoff = np.where(
                (due > 0) & (m - orig - 1 < term - 2) & (days_left >= 1), beh.payoff, 0.0
            )
            p_miss = beh.miss(zn, shock)
            p_late = beh.late(zn, dark) * (days_left >= 1)
            new = np.zeros_like(prob)
            p0 = prob[0]
            stay0 = (1 - p_miss) * (1 - payoff) + p_miss * p_late
            new[0] = p0 * (due * stay0 + matured)
            new[1] = p0 * (due * p_miss * (1 - p_late))
            if top + h - 1 >= 1:
                odds = beh.cure_odds(zn, dark, shock)
                one = beh.roll_back(odds)
                for n in range(1, min(3, top + h - 1) + 1):
                    pn = prob[n]
                    cure = 1 / (1 + k_cure[n - 1] * odds)
                    if n == beh.restructure_at:
                        cure = ar + (1 - ar) * cure
                    stay = (1 - cure) * one
                    worse = (1 - cure) - stay
                    new[0] += pn * cure
                    # a new due: paying one keeps n, paying none adds one; matured: n-1 / n
                    new[n] += pn * (due * stay + matured * worse)
                    if n < 3:
                        new[n + 1] += pn * worse * due
                    else:
                        hit = hit + (pn * worse * due).sum(axis=0)
                    new[n - 1] += pn * stay * matured
            # states more than 90 days past due at this month-end are hits
            count = np.minimum(term, m - orig)
            for n in range(1, reach + 1):
                oldest = count - n
                due_day = cal.month_start[orig + 1 + np.maximum(oldest, 0)] + day - 1
                over = (oldest >= 0) & (cal.month_end[m] - due_day > OVER_DPD)
                if over.any():
                    hit = hit + np.where(over, new[n].sum(axis=0), 0.0)
                    new[n][:, over] = 0.0
            prob = np.matmul(self.trans[h - 1].T, new) if h < HORIZON else new
            if h == 3:
                pd90 = hit.copy()
        return pd90, hit
