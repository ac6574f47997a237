"""Each loan's oldest unpaid instalment, tracked exactly as postloan's servicing sees it.

postloan settles money oldest instalment first and, inside one, penalty → fee →
interest → principal; 罚息 accrues each day from the day after the due date on the
instalment's unpaid principal at ``multiple`` × rate / ``day_basis`` (defaults 1.5
and 360), rounded half-up per instalment per day, after that day's payments.
Instalments after the oldest are never touched by a part payment (it is always
less than the oldest's debt), so their penalty is the full-principal daily amount
times the days overdue; only the oldest needs state: its unpaid principal, the
interest and penalty paid on it, and the penalty accrued up to a day. With that,
every amount the simulator pays is exact: a payment meant to settle instalments
``cursor..last`` settles exactly those, and a part payment leaves the oldest unpaid.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Arrears"]

_MULT_NUM, _MULT_DEN, _DAY_BASIS = 3, 2, 360  # postloan's default penalty policy: 1.5, 360


class Arrears:
    """``cursor`` = instalments fully paid; the rest describes instalment ``cursor``."""

    def __init__(
        self,
        cum_total: np.ndarray,
        cum_principal: np.ndarray,
        due: np.ndarray,
        rate_num: np.ndarray,
        rate_den: int,
    ) -> None:
        n = len(rate_num)
        self.cum_total, self.cum_principal, self.due = cum_total, cum_principal, due
        self.rate_num = rate_num.astype(np.int64) * _MULT_NUM
        self.den = _MULT_DEN * _DAY_BASIS * rate_den
        rows = np.arange(n)
        self.cursor = np.zeros(n, dtype=np.int64)
        self.principal_left = self._principal(rows, self.cursor)  # of instalment cursor
        self.interest_paid = np.zeros(n, dtype=np.int64)
        self.penalty_paid = np.zeros(n, dtype=np.int64)
        self.penalty_accrued = np.zeros(n, dtype=np.int64)  # through day ``accrued_to``
        self.accrued_to = due[:, 0].astype(np.int64)

    def _principal(self, idx: np.ndarray, k: np.ndarray) -> np.ndarray:
        k = np.minimum(k, self.cum_total.shape[1] - 2)
        return np.asarray(self.cum_principal[idx, k + 1] - self.cum_principal[idx, k])

    def _interest(self, idx: np.ndarray, k: np.ndarray) -> np.ndarray:
        k = np.minimum(k, self.cum_total.shape[1] - 2)
        total = self.cum_total[idx, k + 1] - self.cum_total[idx, k]
        return np.asarray(total - self._principal(idx, k))

    def daily_penalty(self, idx: np.ndarray, principal: np.ndarray) -> np.ndarray:
        """One day of 罚息 on ``principal`` overdue: round_half_up(p × 1.5 × rate / 360)."""
        num = principal * self.rate_num[idx]
        return np.asarray((2 * num + self.den) // (2 * self.den))

    def _penalty(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Penalty accrued on instalment ``cursor`` through ``day - 1``."""
        extra = np.maximum(0, day - 1 - self.accrued_to[idx])
        daily = self.daily_penalty(idx, self.principal_left[idx])
        return np.asarray(self.penalty_accrued[idx] + daily * extra)

    def debt(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """What settles instalment ``cursor`` on ``day`` (before that day's accrual)."""
        c = self.cursor[idx]
        return np.asarray(
            self.principal_left[idx]
            + self._interest(idx, c)
            - self.interest_paid[idx]
            + self._penalty(idx, day)
            - self.penalty_paid[idx]
        )

    def settle_amount(self, idx: np.ndarray, last: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Money that settles instalments ``cursor..last`` (inclusive) on ``day``."""
        c = self.cursor[idx]
        amount = self.debt(idx, day)
        amount += self.cum_total[idx, last + 1] - self.cum_total[idx, c + 1]
        span = last - c
        for j in range(1, int(span.max(initial=0)) + 1):
            m = span >= j
            i, k = idx[m], c[m] + j
            late = np.maximum(0, day[m] - self.due[i, k] - 1)
            amount[m] += self.daily_penalty(i, self._principal(i, k)) * late
        return amount

    def advance(self, idx: np.ndarray, new_cursor: np.ndarray, day: np.ndarray) -> None:
        """Instalments before ``new_cursor`` were settled on ``day``; start on the next."""
        self.cursor[idx] = new_cursor
        k = np.minimum(new_cursor, self.cum_total.shape[1] - 2)
        p = self._principal(idx, k)
        due = self.due[idx, k].astype(np.int64)
        start = np.maximum(due, day - 1)  # overdue already: accrued on full principal so far
        self.principal_left[idx] = p
        self.interest_paid[idx] = 0
        self.penalty_paid[idx] = 0
        self.accrued_to[idx] = start
        self.penalty_accrued[idx] = self.daily_penalty(idx, p) * (start - due)

    def part_pay(self, idx: np.ndarray, amount: np.ndarray, day: np.ndarray) -> None:
        """Apply ``amount`` (less than ``debt``) to instalment ``cursor`` on ``day``:
        penalty, then interest, then principal."""
        pen = self._penalty(idx, day)
        self.penalty_accrued[idx] = pen
        self.accrued_to[idx] = np.maximum(self.accrued_to[idx], day - 1)
        to_pen = np.minimum(amount, pen - self.penalty_paid[idx])
        self.penalty_paid[idx] += to_pen
        rest = amount - to_pen
        owed_interest = self._interest(idx, self.cursor[idx]) - self.interest_paid[idx]
        to_int = np.minimum(rest, owed_interest)
        self.interest_paid[idx] += to_int
        self.principal_left[idx] -= rest - to_int

    def paid_principal(self, idx: np.ndarray) -> np.ndarray:
        """Principal already paid on instalment ``cursor``."""
        return np.asarray(self._principal(idx, self.cursor[idx]) - self.principal_left[idx])

    def paid_on_oldest(self, idx: np.ndarray) -> np.ndarray:
        """Principal and interest already paid on instalment ``cursor``."""
        c = self.cursor[idx]
        return np.asarray(
            self._principal(idx, c) - self.principal_left[idx] + self.interest_paid[idx]
        )
