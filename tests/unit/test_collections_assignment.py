"""Assignment: skills, regions, capacity, least-loaded first, continuity with the case."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from postloan.collections.assignment import TaskToAssign, balance, queue_name
from postloan.collections.settings import Collector

A = Collector("a", capacity=2, skills=frozenset({"phone"}), regions=frozenset({"CN-31"}))
B = Collector("b", capacity=3, skills=frozenset({"phone", "field"}))


def test_skills_regions_and_capacity() -> None:
    tasks = [
        TaskToAssign(1, "phone", "CN-31"),
        TaskToAssign(2, "phone", "CN-31"),
        TaskToAssign(3, "field", "CN-31"),
        TaskToAssign(4, "phone", "CN-11"),
        TaskToAssign(5, "legal", "CN-31"),
    ]
    got = balance(tasks, [A, B], {"a": 1})
    assert got == {1: "b", 2: "a", 3: "b", 4: "b"}  # a is full after one more; 5: nobody
    assert queue_name("M1", "phone", None) == "M1/phone/-"


def test_the_case_collector_keeps_the_borrower() -> None:
    tasks = [TaskToAssign(1, "phone", "CN-31")]
    assert balance(tasks, [A, B], {"a": 1}, {1: "a"}) == {1: "a"}
    assert balance(tasks, [A, B], {"a": 2}, {1: "a"}) == {1: "b"}  # a is at capacity


@given(st.lists(st.sampled_from(["phone", "field"]), max_size=30), st.integers(0, 3))
def test_nobody_exceeds_capacity_and_loads_stay_even(skills: list[str], start: int) -> None:
    c1 = Collector("c1", capacity=10, skills=frozenset({"phone", "field"}))
    c2 = Collector("c2", capacity=10, skills=frozenset({"phone", "field"}))
    tasks = [TaskToAssign(i, s, None) for i, s in enumerate(skills)]
    got = balance(tasks, [c1, c2], {"c1": start})
    load = {"c1": start + list(got.values()).count("c1"), "c2": list(got.values()).count("c2")}
    assert all(v <= 10 for v in load.values())
    if len(got) == len(tasks) and len(tasks) >= start:
        assert abs(load["c1"] - load["c2"]) <= 1
