"""Champion/challenger: a stable hash split with the configured shares."""

from __future__ import annotations

from postloan.collections.split import assign_group, assign_groups, hash_point


def test_the_group_depends_only_on_loan_and_salt() -> None:
    shares = {"champion": 80, "challenger": 20}
    first = assign_groups([f"L{i}" for i in range(500)], "s1", shares)
    again = assign_groups([f"L{i}" for i in range(500)], "s1", dict(shares))
    assert first == again
    other_salt = assign_groups([f"L{i}" for i in range(500)], "s2", shares)
    assert first != other_salt


def test_shares_are_respected_on_a_large_book() -> None:
    groups = assign_groups([f"LN{i:06d}" for i in range(20_000)], "exp", {"a": 70, "b": 30})
    share_a = groups.count("a") / len(groups)
    assert 0.68 < share_a < 0.72


def test_a_single_group_takes_everyone_and_points_are_in_range() -> None:
    assert set(assign_groups(["x", "y"], "s", {"champion": 100})) == {"champion"}
    assert all(0 <= hash_point(f"L{i}", "s") < 10_000 for i in range(100))
    assert assign_group("L1", "s", {"a": 50, "b": 50}) in {"a", "b"}
