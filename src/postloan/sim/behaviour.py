"""How borrowers behave each month: the probabilities shared by the engine and the oracle.

One loan-month, given the latent risk ``z`` (logit scale) and the number ``n`` of
instalments overdue at the previous month-end:

- ``n = 0`` and an instalment falls due: the borrower misses it with ``miss``
  (reminders before the due date lower it); a miss is paid late within the same
  month with ``late`` (early contact raises it); an instalment paid on time may be
  followed by a full payoff with ``payoff``.
- ``n ≥ 1``: the borrower pays all arrears (and this month's instalment) with
  ``cure``, else pays the oldest instalment only with ``roll_back``, else pays
  nothing (or a part). A restructuring offer at ``n = restructure_at_overdue`` is
  accepted with ``restructure_acceptance`` and then cures with ``restructure_cure``.

The engine draws against exactly these numbers and the oracle propagates them,
so the oracle's probabilities are the model's own.
"""

from __future__ import annotations

import math

import numpy as np

from postloan.domain.errors import ConfigError
from postloan.sim.config import SimConfig

__all__ = ["Behaviour"]


class Behaviour:
    """The behaviour and treatment parameters of one configuration, ready to evaluate."""

    def __init__(
        self, cfg: SimConfig, regions: list[str], months_total: int, offset: int = 0
    ) -> None:
        b, t, s = cfg["behaviour"], cfg["treatment"], cfg["strategy"]
        self.miss_logit = float(b["miss_logit"])
        self.late_logit = float(b["late_same_month_logit"])
        self.late_z = float(b["late_z_slope"])
        self.cure_logit = np.array([float(x) for x in b["cure_logit"]], dtype=np.float64)
        if len(self.cure_logit) == 0:
            raise ConfigError("behaviour.cure_logit needs at least one value")
        self.cure_z = float(b["cure_z_slope"])
        self.roll_back_logit = float(b["roll_back_logit"])
        self.payoff = float(b["payoff_monthly"])
        self.partial_share = float(b["partial_share"])
        lo, hi = (float(x) for x in b["partial_fraction"])
        if not 0 < lo <= hi <= 0.6:
            raise ConfigError(
                "behaviour.partial_fraction must be [lo, hi] with 0 < lo <= hi <= 0.6"
            )
        self.partial_lo, self.partial_hi = lo, hi
        self.failed_share = float(b["failed_debit_share"])
        self.days_early = int(b["on_time_days_early"])
        self.dark_shift = float(b["lost_contact_cure_shift"])

        reminders = list(s.get("reminder_days_before_due") or [])
        contacts = sorted(int(d) for d in (s.get("contact_days_after_due") or []))
        if any(d < 1 for d in contacts):
            raise ConfigError(
                "strategy.contact_days_after_due must be days >= 1 after the due date"
            )
        self.reminders = len(reminders)
        self.contacts = len(contacts)
        self.reminder_effect = float(t["reminder_effect"]) * math.sqrt(self.reminders)
        if contacts:
            first = float(t["contact_effect"]) * math.exp(
                -contacts[0] / float(t["contact_decay_days"])
            )
            follow = float(t["contact_followup_effect"]) * (len(contacts) - 1)
            fatigue = float(t["fatigue_per_contact"]) * max(
                0, len(contacts) - int(t["fatigue_threshold"])
            )
            self.contact_effect = first + follow - fatigue
        else:
            self.contact_effect = 0.0
        r = s.get("restructure_at_overdue")
        self.restructure_at = int(r) if r is not None else -1
        lit = s.get("litigation_at_overdue")
        self.litigation_at = int(lit) if lit is not None else -1
        if lit is not None and self.litigation_at < 4:
            raise ConfigError(
                "strategy.litigation_at_overdue must be at least 4 overdue instalments (90+ DPD) "
                "or null"
            )
        co = s.get("charge_off_after_dpd")
        self.charge_off_dpd = int(co) if co is not None else -1
        if co is not None and self.charge_off_dpd < 90:
            raise ConfigError("strategy.charge_off_after_dpd must be at least 90 days (or null)")
        self.acceptance = float(t["restructure_acceptance"]) if self.restructure_at > 0 else 0.0
        self.restructure_cure = float(t["restructure_cure"])
        self.costs = {k: float(v) for k, v in t["costs"].items()}
        self.lit_months = tuple(int(x) for x in t["litigation_months"])
        self.lit_beta = tuple(float(x) for x in t["litigation_recovery_beta"])
        self.lit_full = float(t["litigation_full_share"])

        # Region shocks by internal month (added to the miss logit, taken off cure logits);
        # from_month / to_month count window months (0 = calendar.start_month).
        self.shock = np.zeros((months_total, len(regions)), dtype=np.float64)
        for shock in cfg["macro"]["shocks"] or []:
            try:
                region, start, size = (
                    shock["region"],
                    int(shock["from_month"]),
                    float(shock["size"]),
                )
            except (KeyError, TypeError, ValueError):
                raise ConfigError(
                    "macro.shocks entries need region, from_month and size, e.g. "
                    "{region: CN-44, from_month: 9, size: 0.6}"
                ) from None
            if region not in regions:
                raise ConfigError(f"macro.shocks: region {region!r} is not in regions")
            until = shock.get("to_month")
            stop = months_total if until is None else offset + int(until) + 1
            self.shock[max(0, offset + start) : stop, regions.index(region)] += size

    # -- the probabilities -------------------------------------------------------------
    def miss(self, z: np.ndarray, shock: np.ndarray) -> np.ndarray:
        return _sigmoid(self.miss_logit + z + shock - self.reminder_effect)

    def late(self, z: np.ndarray, dark: np.ndarray) -> np.ndarray:
        eff = np.where(dark, 0.0, self.contact_effect)
        return _sigmoid(self.late_logit - self.late_z * z + eff)

    def cure_odds(self, z: np.ndarray, dark: np.ndarray, shock: np.ndarray) -> np.ndarray:
        """``E`` with cure(n) = 1 / (1 + exp(-cure_logit[n]) · E), roll_back likewise."""
        eff = np.where(dark, self.dark_shift, self.contact_effect)
        return np.asarray(np.exp(self.cure_z * z - eff + shock))

    def cure(self, n: np.ndarray, odds: np.ndarray) -> np.ndarray:
        k = np.exp(-self.cure_logit[np.clip(n, 1, len(self.cure_logit)) - 1])
        base = 1 / (1 + k * odds)
        ar = self.acceptance * self.restructure_cure
        return np.asarray(np.where(n == self.restructure_at, ar + (1 - ar) * base, base))

    def cure_plain(self, n: np.ndarray, odds: np.ndarray) -> np.ndarray:
        k = np.exp(-self.cure_logit[np.clip(n, 1, len(self.cure_logit)) - 1])
        return np.asarray(1 / (1 + k * odds))

    def roll_back(self, odds: np.ndarray) -> np.ndarray:
        return np.asarray(1 / (1 + math.exp(-self.roll_back_logit) * odds))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))
