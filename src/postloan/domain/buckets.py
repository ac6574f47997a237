"""Delinquency buckets: DPD → a label from the configured ranges.

Charged-off loans are reported apart, under ``BucketPolicy.charged_off_label``.
"""

from __future__ import annotations

from postloan.domain.policy import BucketPolicy


def bucket_for(dpd: int, policy: BucketPolicy, charged_off: bool = False) -> str:
    """The bucket label of a loan ``dpd`` days past due."""
    if charged_off:
        return policy.charged_off_label
    for b in policy.buckets:
        if dpd >= b.min_dpd and (b.max_dpd is None or dpd <= b.max_dpd):
            return b.label
    return policy.buckets[-1].label  # unreachable for a valid policy; DPD is never negative
