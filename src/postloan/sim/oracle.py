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
        due: np.ndarray,
        phi: float,
        sigma: float,
        nodes: int = 5,
    ) -> None:
        self.book, self.cal, self.beh, self.due = book, cal, beh, due
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
        b, beh, cal = self.book, self.beh, self.cal
        k = len(idx)
        pd90 = np.ones(k)
        pd180 = np.ones(k)
        live = np.flatnonzero((dpd <= OVER_DPD) & (n_now <= 3))
        if len(live) == 0:
            return pd90, pd180
        li = idx[live]
        mu, dev = b.mu[li], z[live] - b.mu[li]
        orig = b.orig_month[li].astype(np.int64)
        term = b.term.astype(np.int64)[li]
        dark = b.dark[li]
        region = b.region[li]
        day = b.disb_day[li].astype(np.int64)
        g = self.g
        prob = np.zeros((4, g, len(li)))  # P(n, node) not yet hit
        prob[n_now[live], :, np.arange(len(li))] = self.weights
        hit = np.zeros(len(li))
        for h in range(1, HORIZON + 1):
            m = t + h
            zn = mu + self.phi**h * dev + self.sd[h] * self.x[:, None]  # (g, loans)
            shock = beh.shock[m, region]
            has_due = (m - orig) <= term
            days_left = cal.month_len[m] - day
            payoff = np.where(
                has_due & (m - orig - 1 < term - 1) & (days_left >= 1), beh.payoff, 0.0
            )
            p_miss = beh.miss(zn, shock)
            p_late = np.where(days_left >= 1, beh.late(zn, dark), 0.0)
            odds = beh.cure_odds(zn, dark, shock)
            one = beh.roll_back(odds)
            new = np.zeros_like(prob)
            p0 = prob[0]
            new[0] += np.where(has_due, p0 * ((1 - p_miss) * (1 - payoff) + p_miss * p_late), p0)
            to_next = np.where(has_due, p0 * p_miss * (1 - p_late), 0.0)
            new[1] += to_next
            for n in (1, 2, 3):
                pn = prob[n]
                cure = beh.cure(np.full(len(li), n), odds)
                stay = (1 - cure) * one
                worse = (1 - cure) * (1 - one)
                new[0] += pn * cure
                # with a new due: one paid keeps n, none paid adds one; matured: n-1 / n
                new[n] += np.where(has_due, pn * stay, pn * worse)
                if n + 1 <= 3:
                    new[n + 1] += np.where(has_due, pn * worse, 0.0)
                else:
                    hit += np.where(has_due, pn * worse, 0.0).sum(axis=0)
                new[n - 1] += np.where(has_due, 0.0, pn * stay)
            # states past 90 DPD at this month-end are hits
            count = np.minimum(term, m - orig)
            for n in (1, 2, 3):
                oldest = count - n
                due_day = cal.month_start[orig + 1 + np.maximum(oldest, 0)] + day - 1
                over = (oldest >= 0) & (cal.month_end[m] - due_day > OVER_DPD)
                hit += np.where(over, new[n].sum(axis=0), 0.0)
                new[n][:, over] = 0.0
            if h < HORIZON:
                prob = np.einsum("nal,ab->nbl", new, self.trans[h - 1])
            else:
                prob = new
            if h == 3:
                pd90[live] = hit
        pd180[live] = hit
        np.clip(pd90, 0.0, 1.0, out=pd90)
        np.clip(pd180, pd90, 1.0, out=pd180)
        return pd90, pd180
