"""Strategy files: validation messages, overlap and unreachable segments, the default."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.collections.strategy import parse_strategy
from postloan.collections.strategy_io import default_strategy, parse_text
from postloan.domain.errors import ValidationError

SMS = [{"action": "sms", "offset": 1, "template": "overdue"}]


def doc(*segments: dict[str, Any]) -> dict[str, Any]:
    return {"version": "t1", "segments": list(segments)}


def seg(name: str, priority: int, **when: Any) -> dict[str, Any]:
    return {"name": name, "priority": priority, "when": when, "path": copy.deepcopy(SMS)}


def errors_of(document: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as err:
        parse_strategy(document, "s.yaml")
    return str(err.value)


def test_the_default_strategy_is_valid_and_has_a_challenger() -> None:
    strategy = default_strategy()
    assert strategy.groups == {"champion": 80, "challenger": 20}
    standard = next(s for s in strategy.segments if s.name == "standard")
    assert standard.path("challenger") != standard.path("champion")


def test_same_priority_overlap_is_an_error_with_an_example() -> None:
    message = errors_of(doc(seg("a", 1, buckets=["M1", "M2"]), seg("b", 1, buckets=["M2"])))
    assert "s.yaml: segments: a and b have the same priority 1" in message
    assert "buckets=M2" in message


def test_disjoint_segments_of_one_priority_are_fine() -> None:
    parse_strategy(
        doc(
            seg("low", 1, balance={"max": 1000}),
            seg("high", 1, balance={"min": 1000}),
            seg("m1", 0, buckets=["M1"], restructured=True),
            seg("m1b", 0, buckets=["M1"], restructured=False),
        )
    )


def test_a_segment_shadowed_by_earlier_ones_is_unreachable() -> None:
    message = errors_of(
        doc(
            seg("small", 1, balance={"max": 500}),
            seg("large", 2, balance={"min": 500}),
            seg("m1", 3, buckets=["M1"]),
        )
    )
    assert "m1 is unreachable" in message and "small, large" in message


def test_field_errors_name_the_file_and_field() -> None:
    bad = doc(
        {
            "name": "x",
            "priority": 1,
            "when": {"promise_states": ["maybe"], "colour": "red"},
            "path": [
                {"action": "teleport", "offset": 1},
                {"action": "sms", "offset": 0},
                {"action": "call", "anchor": "due", "offset": -2},
            ],
        }
    )
    message = errors_of(bad)
    assert "s.yaml: segments[0] (x).when.promise_states: unknown value 'maybe'" in message
    assert "unknown condition 'colour'" in message
    assert "unknown action 'teleport'" in message
    assert "path[1].offset: must be at least 1 day" in message
    assert "call is work on a case, so it needs anchor delinquency" in message


def test_shares_must_add_up_and_variants_name_groups() -> None:
    document = doc(seg("a", 1))
    document["experiment"] = {"salt": "x", "groups": {"champion": 60, "challenger": 30}}
    document["segments"][0]["variants"] = {"nobody": SMS}
    message = errors_of(document)
    assert "shares must add up to 100, not 90" in message
    assert "variants.nobody: no such group" in message


def test_automated_templates_come_from_the_contact_catalogue() -> None:
    text = "version: t\nsegments:\n- {name: a, priority: 1, path: [{action: sms, offset: 1}]}\n"
    with pytest.raises(ValidationError, match="template 'sms' is not in the contact catalogue"):
        parse_text(text, "f.yaml")


BUCKETS = ["M0", "M1", "M2", "M3"]


@st.composite
def segment_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 4))
    out = []
    for i in range(n):
        when: dict[str, Any] = {}
        if draw(st.booleans()):
            when["buckets"] = draw(st.lists(st.sampled_from(BUCKETS), min_size=1, unique=True))
        if draw(st.booleans()):
            when["restructured"] = draw(st.booleans())
        if draw(st.booleans()):
            low = draw(st.integers(0, 3)) * 100
            when["balance"] = {"min": low, "max": low + draw(st.integers(1, 3)) * 100}
        out.append(seg(f"s{i}", draw(st.integers(1, 2)), **when))
    return out


def _brute(segments: list[dict[str, Any]]) -> tuple[bool, set[str]]:
    """Overlap / reachable by trying every loan of a small universe."""

    def matches(s: dict[str, Any], bucket: str, restr: bool, bal: int) -> bool:
        w = s["when"]
        if "buckets" in w and bucket not in w["buckets"]:
            return False
        if "restructured" in w and w["restructured"] != restr:
            return False
        b = w.get("balance")
        return not (b and not b["min"] <= bal < b["max"])

    overlap, reached = False, set()
    for bucket in [*BUCKETS, "M9"]:
        for restr in (False, True):
            for bal in range(0, 800, 50):
                hit = [s for s in segments if matches(s, bucket, restr, bal)]
                if not hit:
                    continue
                best = min(s["priority"] for s in hit)
                top = [s for s in hit if s["priority"] == best]
                overlap |= len(top) > 1
                reached |= {s["name"] for s in top}
    return overlap, reached


@settings(max_examples=150, deadline=None)
@given(segment_sets())
def test_validation_agrees_with_brute_force(segments: list[dict[str, Any]]) -> None:
    overlap, reached = _brute(segments)
    unreachable = {s["name"] for s in segments} - reached
    try:
        parse_strategy(doc(*segments), "p.yaml")
    except ValidationError as err:
        message = str(err)
        assert overlap or unreachable
        assert ("have the same priority" in message) == overlap
        for name in unreachable:
            assert f"{name} is unreachable" in message
    else:
        assert not overlap and not unreachable
