"""ROLL_EVENTS on hand-made state frames: each event type, stable ids, no events
without a change."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.batch.steps.events import EVENT_SCHEMA, event_id, roll_events
from postloan.domain.policy import ServicingPolicy

D = date(2026, 3, 10)
POLICY = ServicingPolicy.default()


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    base = {
        "days_past_due": 0,
        "bucket": "M0",
        "classification": "normal",
        "ifrs9_stage": 1,
        "status": "active",
    }
    return pl.DataFrame([{**base, **r} for r in rows]).cast(
        {"days_past_due": pl.Int32, "ifrs9_stage": pl.Int8}
    )


def events_of(prev: dict[str, Any], curr: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = roll_events(
        frame([{"loan_id": "L1", **prev}]), frame([{"loan_id": "L1", **curr}]), D, POLICY
    )
    return [(r["event_type"], r["from_value"], r["to_value"]) for r in out.to_dicts()]


def test_entering_delinquency_moves_bucket_class_and_stage() -> None:
    got = events_of(
        {},
        {"days_past_due": 1, "bucket": "M1", "classification": "special_mention"},
    )
    assert got == [
        ("entered_delinquency", "0", "1"),
        ("bucket_up", "M0", "M1"),
        ("classification_changed", "normal", "special_mention"),
    ]


def test_cure_and_bucket_down() -> None:
    got = events_of({"days_past_due": 40, "bucket": "M2", "ifrs9_stage": 2}, {})
    assert got == [("bucket_down", "M2", "M0"), ("cured", "40", "0"), ("stage_changed", "2", "1")]


def test_status_transitions() -> None:
    assert events_of({}, {"status": "closed"}) == [("closed", "active", "closed")]
    assert events_of({}, {"status": "matured"}) == [("matured", "active", "matured")]
    got = events_of(
        {"days_past_due": 211, "bucket": "M7+"},
        {"days_past_due": 211, "bucket": "WO", "status": "charged_off"},
    )
    assert got == [("bucket_up", "M7+", "WO"), ("charged_off", "active", "charged_off")]


def test_a_loan_new_today_has_no_events() -> None:
    prev = frame([{"loan_id": "L1"}])
    curr = frame([{"loan_id": "L1"}, {"loan_id": "L2", "days_past_due": 3, "bucket": "M1"}])
    out = roll_events(prev, curr, D, POLICY)
    assert out.height == 0
    assert dict(out.schema) == EVENT_SCHEMA


def test_event_ids_hash_loan_date_and_type() -> None:
    out = roll_events(
        frame([{"loan_id": "L1"}]), frame([{"loan_id": "L1", "status": "closed"}]), D, POLICY
    )
    assert out["event_id"].to_list() == [event_id("L1", D, "closed")]
    assert event_id("L1", D, "closed") != event_id("L1", date(2026, 3, 11), "closed")
    assert len(event_id("L1", D, "closed")) == 32


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=1, max_size=30), st.integers(0, 400))
def test_same_state_gives_no_events_and_ids_are_unique(dpds: list[int], shift: int) -> None:
    rows = [{"loan_id": f"L{i:03d}", "days_past_due": d} for i, d in enumerate(dpds)]
    same = frame(rows)
    assert roll_events(same, same, D, POLICY).height == 0
    moved = frame([{**r, "days_past_due": (r["days_past_due"] + shift) % 401} for r in rows])
    out = roll_events(same, moved, D, POLICY)
    assert out["event_id"].n_unique() == out.height
    assert out["loan_id"].to_list() == sorted(out["loan_id"].to_list())
