"""Planning: segments, due actions by offset, the same-day first action, conditions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from postloan.collections.planner import INPUT_SCHEMA, path_counts, plan_actions
from postloan.collections.strategy_io import default_strategy, parse_text

D = date(2026, 10, 10)
STRATEGY = parse_text(
    """
version: p1
score: {bands: [{name: low, min: 0, max: 0.1}, {name: high, min: 0.1}]}
segments:
  - name: current
    priority: 1
    when: {buckets: [M0]}
    path: [{action: pre_due_reminder, anchor: due, offset: -3, template: pre_due_reminder}]
  - name: risky
    priority: 2
    when: {score_bands: [high]}
    path:
      - {action: sms, offset: 1, template: overdue}
      - {action: call, offset: 2}
  - name: rest
    priority: 3
    path:
      - {action: sms, offset: 1, template: overdue}
      - {action: call, offset: 3, no_open_promise: true}
      - {action: field_visit, offset: 30, min_overdue: 100000}
""",
    "p.yaml",
)


def loan(loan_id: str, dpd: int, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "loan_id": loan_id,
        "borrower_id": "B" + loan_id,
        "product": "cash",
        "region": "CN-31",
        "bucket": "M0" if dpd == 0 else "M1",
        "days_past_due": dpd,
        "next_due_date": D + timedelta(days=20),
        "balance": 500_000,
        "overdue_amount": 200_000 if dpd else 0,
        "entered_today": False,
        "score": None,
        "promise_state": "none",
        "restructured": False,
        "in_legal": False,
    }
    row.update(extra)
    return row


def plan(*rows: dict[str, Any]) -> list[tuple[str, str]]:
    frame = pl.DataFrame(list(rows), schema=INPUT_SCHEMA)
    out = plan_actions(frame, STRATEGY, D)
    assert set(out["strategy_version"]) <= {"p1"}
    return list(zip(out["loan_id"], out["action"], strict=True))


def test_actions_fall_due_on_their_offset() -> None:
    assert plan(loan("a", 1), loan("b", 3), loan("c", 4), loan("d", 2, score=0.5)) == [
        ("a", "sms"),
        ("b", "call"),
        ("d", "call"),
    ]


def test_a_pre_due_reminder_three_days_before() -> None:
    soon = loan("p", 0, next_due_date=D + timedelta(days=3))
    later = loan("q", 0, next_due_date=D + timedelta(days=4))
    assert plan(soon, later) == [("p", "pre_due_reminder")]


def test_a_loan_entering_delinquency_late_gets_its_first_message_today() -> None:
    assert plan(loan("g", 5, entered_today=True), loan("h", 5)) == [("g", "sms")]


def test_conditions_open_promise_and_minimum_overdue() -> None:
    assert plan(loan("a", 3, promise_state="open")) == []
    assert plan(loan("a", 30, overdue_amount=99_999)) == []
    assert plan(loan("a", 30)) == [("a", "field_visit")]


def test_path_counts_and_groups_on_the_default_strategy() -> None:
    rows = [loan(f"L{i}", 1 + i % 40, balance=100_000 * i) for i in range(400)]
    frame = pl.DataFrame(rows, schema=INPUT_SCHEMA)
    counts = path_counts(frame, default_strategy())
    assert counts["loans"].sum() == 400
    assert set(counts["segment"]) == {"standard", "high_balance"}
    by_group = counts.group_by("group").agg(pl.col("loans").sum())
    share = dict(zip(by_group["group"], by_group["loans"], strict=True))
    assert 0.7 < share["champion"] / 400 < 0.9
