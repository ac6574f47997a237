"""The business date itself: the last classification step and the state columns."""

from __future__ import annotations

import numpy as np
import polars as pl

from postloan.batch.state_kernel import compiled
from postloan.batch.state_kernel.dates import I64, NONE
from postloan.batch.state_kernel.walk import Walker
from postloan.domain.policy import Component

_CATEGORIES = ("normal", "special_mention", "substandard", "doubtful", "loss")

#: ``finish``'s columns and their rows in the compiled output
_COLUMNS = {
    "_status": compiled.O_STATUS,
    "days_past_due": compiled.O_DPD,
    "overdue_since": compiled.O_SINCE,
    "_category": compiled.O_CATEGORY,
    "_reason": compiled.O_CODE,
    "ifrs9_stage": compiled.O_STAGE,
    "principal_outstanding": compiled.O_PRINCIPAL,
    "overdue_principal": compiled.O_OVERDUE_PRINCIPAL,
    "overdue_interest": compiled.O_OVERDUE_INTEREST,
    "overdue_fee": compiled.O_OVERDUE_FEE,
    "interest_outstanding": compiled.O_INTEREST,
    "fee_outstanding": compiled.O_FEE,
    "penalty_outstanding": compiled.O_PENALTY,
    "penalty_charged": compiled.O_PENALTY_CHARGED,
    "advance_balance": compiled.O_ADVANCE,
    "next_due_date": compiled.O_NEXT_DAY,
    "next_due_amount": compiled.O_NEXT_AMOUNT,
    "total_paid": compiled.O_TOTAL_PAID,
    "recovered": compiled.O_RECOVERED,
    "last_payment_date": compiled.O_LAST_PAYMENT,
}


def reasons_of(walker: Walker, code: int) -> list[str]:
    """The reason codes ``compiled.step_day`` encodes: base × 8 + flags."""
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


def _buckets(walker: Walker, dpd: I64, charged_off: np.ndarray) -> tuple[I64, list[str]]:
    buckets = walker.policy.buckets
    labels = [x.label for x in buckets.buckets] + [buckets.charged_off_label]
    bucket = np.full(dpd.shape[0], len(buckets.buckets) - 1, np.int64)
    for k in range(len(buckets.buckets) - 1, -1, -1):
        x = buckets.buckets[k]
        inside = (dpd >= x.min_dpd) & (True if x.max_dpd is None else dpd <= x.max_dpd)
        bucket = np.where(inside, k, bucket)
    return np.where(charged_off, len(labels) - 1, bucket), labels


def finish(walker: Walker) -> tuple[dict[str, object], np.ndarray]:
    """Columns for every loan of the book (in its order) on the walker's date, and the
    fallback mask. Advances the walker's state to the date (``Walker.fork`` first to
    keep it)."""
    w = walker.w
    n = walker.S.shape[1]
    out = np.empty((compiled.OUTPUT_ROWS, n), np.int64)
    shared = walker.shared

    def part(lo: int, hi: int) -> None:
        compiled.finish(*walker.args, shared[6], walker.stop, walker.on, out, lo, hi)

    walker.each_range(part)
    cols: dict[str, object] = {name: out[row] for name, row in _COLUMNS.items()}
    code = out[compiled.O_CODE]
    used = np.nonzero(np.bincount(code, minlength=1))[0]
    charged_off = w.charged_off != NONE
    bucket, labels = _buckets(walker, out[compiled.O_DPD], charged_off)
    cols |= {
        "principal_paid": w.paid[Component.PRINCIPAL],
        "interest_paid": w.paid[Component.INTEREST],
        "fee_paid": w.paid[Component.FEE],
        "penalty_paid": w.paid[Component.PENALTY],
        "written_off": w.written_off,
        "credit_balance": w.credit,
        "_charged_off": w.charged_off,
        "failed_debits": walker.failed_debits,
        "_reasons": {int(x): reasons_of(walker, int(x)) for x in used},
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
