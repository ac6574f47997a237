"""ALERTS puts a partition's frames side by side when they list the same loans in
the same order; otherwise (other order, missing loans, a column on both sides) it
joins. Either way the result is the left join's."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from postloan.risk.alerts import _by_loan

LEFT = pl.DataFrame({"loan_id": ["A", "B", "C"], "dpd": [0, 5, 40]})


@pytest.mark.parametrize(
    "right",
    [
        pl.DataFrame({"loan_id": ["A", "B", "C"], "branch": ["x", "y", "z"]}),
        pl.DataFrame({"loan_id": ["C", "A", "B"], "branch": ["z", "x", "y"]}),
        pl.DataFrame({"loan_id": ["A", "C"], "branch": ["x", "z"]}),
        pl.DataFrame({"loan_id": ["A", "B", "C"], "dpd": [1, 2, 3]}),  # a clash: suffixed
    ],
)
def test_same_as_a_left_join(right: pl.DataFrame) -> None:
    expected = LEFT.join(right, on="loan_id", how="left")
    assert_frame_equal(_by_loan(LEFT, right), expected)
