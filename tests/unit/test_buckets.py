"""Delinquency buckets from DPD; charged-off loans apart."""

from __future__ import annotations

import pytest

from postloan.domain.buckets import bucket_for
from postloan.domain.errors import ConfigError
from postloan.domain.policy import Bucket, BucketPolicy

DEFAULT = BucketPolicy()


@pytest.mark.parametrize(
    ("dpd", "label"),
    [
        (0, "M0"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (90, "M3"),
        (91, "M4"),
        (120, "M4"),
        (121, "M5"),
        (150, "M5"),
        (151, "M6"),
        (180, "M6"),
        (181, "M7+"),
        (5_000, "M7+"),
    ],
)
def test_default_buckets(dpd: int, label: str) -> None:
    assert bucket_for(dpd, DEFAULT) == label


def test_charged_off_loans_are_reported_apart() -> None:
    assert bucket_for(400, DEFAULT, charged_off=True) == "WO"
    assert bucket_for(0, BucketPolicy(charged_off_label="核销"), charged_off=True) == "核销"


def test_configured_ranges() -> None:
    policy = BucketPolicy(buckets=(Bucket("C", 0, 0), Bucket("X", 1, 29), Bucket("30+", 30)))
    assert [bucket_for(d, policy) for d in (0, 1, 29, 30, 999)] == ["C", "X", "X", "30+", "30+"]


@pytest.mark.parametrize(
    "buckets",
    [
        (),
        (Bucket("A", 1, None),),  # does not start at 0
        (Bucket("A", 0, 10), Bucket("B", 12, None)),  # gap
        (Bucket("A", 0, 10), Bucket("B", 5, None)),  # overlap
        (Bucket("A", 0, None), Bucket("B", 1, None)),  # open-ended before the last
        (Bucket("A", 0, 10),),  # last not open-ended
    ],
)
def test_inconsistent_ranges_are_refused(buckets: tuple[Bucket, ...]) -> None:
    with pytest.raises(ConfigError):
        BucketPolicy(buckets=buckets)
