"""The batch split gives every loan the group of the one-loan definition."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from postloan.collections.split import assign_group, assign_groups


@given(
    st.lists(st.text(max_size=10), max_size=40),
    st.text(max_size=6),
    st.lists(st.integers(0, 100), min_size=0, max_size=4),
)
def test_batch_groups_are_the_one_loan_groups(ids: list[str], salt: str, cuts: list[int]) -> None:
    shares = {f"g{i}": share for i, share in enumerate(cuts)}
    assert assign_groups(ids, salt, shares) == [assign_group(x, salt, shares) for x in ids]


def test_a_book_split_matches_loan_by_loan() -> None:
    ids = [f"LN{i:07d}" for i in range(5_000)] + ["贷款-1", ""]
    shares = {"champion": 70, "challenger": 20, "holdout": 10}
    assert assign_groups(ids, "exp-2027", shares) == [
        assign_group(x, "exp-2027", shares) for x in ids
    ]
    assert assign_groups(iter(ids), "s", {"only": 100}) == ["only"] * len(ids)
