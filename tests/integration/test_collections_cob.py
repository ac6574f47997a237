"""The STRATEGY step in the close of business: cases, same-day first action,
outbox and tasks with version and group, idempotent re-runs, SLA escalation, KPIs."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postloan.batch.pipeline import run_date
from postloan.collections import service as sv
from postloan.collections.activation import active_strategy
from postloan.collections.kpis import collection_kpis, first_human_task_sla
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store.tables import LoanEvent
from postloan.store.tables_contact import ContactOutbox

START = date(2026, 10, 13)  # L00032 cures on 10-14 and is delinquent again on 10-15
CONFIG = """
collections:
  supervisor: sup1
  collectors:
    - {username: c1, capacity: 5, skills: [phone, supervisor]}
    - {username: c2, capacity: 5, skills: [phone]}
"""


@pytest.fixture
def closed(store: Store, postloan_home: Path) -> Store:
    postloan_home.mkdir(parents=True, exist_ok=True)
    (postloan_home / "config.yaml").write_text(CONFIG, encoding="utf-8")
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    for i in range(7):
        run_date(store, START + timedelta(days=i))
    return store


def counts(store: Store) -> list[int]:
    with store.begin() as conn:
        tables = (sv.CASES, sv.ACTIONS, sv.TASKS, ContactOutbox.__table__)
        return [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables]


def test_the_strategy_step_over_a_week(closed: Store) -> None:
    """One week of closes (the slow part) checked from every side."""
    new_delinquency_gets_a_case_and_its_first_message_the_same_day(closed)
    human_actions_become_assigned_tasks_and_escalate_after_their_sla(closed)
    rerunning_a_date_creates_nothing_new(closed)
    first_human_task_within_the_strategy_sla(closed)
    an_alert_about_a_delinquent_borrower_joins_or_opens_a_case(closed)


def first_human_task_within_the_strategy_sla(closed: Store) -> None:
    """Acceptance: over the week of closes, p90 of days to the first human task is within
    the strategy's SLA (first human offset + sla_days of the paths)."""
    with closed.begin() as conn:
        sla = first_human_task_sla(active_strategy(conn))
        human = collection_kpis(conn, START + timedelta(days=6))["days_to_first_action"]["by_kind"][
            "human"
        ]
    assert sla == 4  # standard path: call on day 3, one day to do it
    assert human["p90"] is not None and human["p90"] <= sla
    assert human["episodes"] > 0


def an_alert_about_a_delinquent_borrower_joins_or_opens_a_case(closed: Store) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from postloan.collections.from_alerts import cases_from_alerts
    from postloan.store.tables_risk import Alert

    day = START + timedelta(days=6)
    now = datetime(2026, 10, 19, 18, tzinfo=UTC)
    alert = {
        "rule_id": "other_loan_delinquent",
        "loan_id": "L00002",
        "borrower_id": "B0002",
        "business_date": day,
        "severity": "medium",
        "owner_role": "loan_officer",
        "state": "open",
        "version": 1,
        "sla_due_at": now,
        "created_at": now,
        "updated_at": now,
    }
    low = {
        **alert,
        "alert_key": "k2",
        "rule_id": "failed_debit",
        "severity": "low",
        "loan_id": "L00003",
        "borrower_id": "B0003",
    }
    with closed.begin() as conn:
        conn.execute(insert(Alert.__table__), [{**alert, "alert_key": "k1"}, low])
        opened = cases_from_alerts(conn, day)
        assert len(opened) == 1
        case = sv.get_case(conn, opened[0])
        assert case.borrower_id == "B0002" and "L00002" in case.loan_ids
        assert sv.open_case_of(conn, "B0003") is None  # a low failed-debit alert is not
        assert cases_from_alerts(conn, day) == opened  # a re-run opens nothing new
        assert conn.execute(
            select(func.count()).select_from(sv.CASES).where(sv.CASES.c.source == "alert")
        ).scalar_one() in (0, 1)


def new_delinquency_gets_a_case_and_its_first_message_the_same_day(closed: Store) -> None:
    entered = date(2026, 10, 15)
    with closed.begin() as conn:
        cases = conn.execute(
            select(sv.CASES).where(sv.CASES.c.borrower_id == "B0032").order_by(sv.CASES.c.case_id)
        ).all()
        assert [(c.state, c.opened_on, c.closed_on) for c in cases] == [
            ("resolved", START, date(2026, 10, 14)),
            ("open", entered, None),
        ]
        assert sv.get_case(conn, cases[1].case_id).loan_ids == ("L00032",)
        first = conn.execute(
            select(sv.ACTIONS).where(sv.ACTIONS.c.loan_id == "L00032").order_by("business_date")
        ).first()
        assert first is not None
        assert (first.business_date, first.action, first.kind) == (entered, "sms", "automated")
        assert first.strategy_version == "default-1" and first.group in {"champion", "challenger"}
        assert first.cost == 5 and first.case_id == cases[1].case_id
        out = ContactOutbox.__table__
        message = conn.execute(
            select(out).where(out.c.loan_id == "L00032", out.c.business_date == entered)
        ).one()
        assert (message.step, message.template, message.channel) == ("STRATEGY", "overdue", "sms")
        assert (message.strategy_version, message.group_name) == ("default-1", first.group)
        events = LoanEvent.__table__
        entered = conn.execute(
            select(events.c.loan_id, events.c.business_date).where(
                events.c.event_type == "entered_delinquency"
            )
        ).all()
        assert entered
        for loan_id, on in entered:  # every new delinquency: a message the same day
            kinds = conn.execute(
                select(sv.ACTIONS.c.kind).where(
                    sv.ACTIONS.c.loan_id == loan_id, sv.ACTIONS.c.business_date == on
                )
            ).scalars()
            assert "automated" in set(kinds)
        kpis = collection_kpis(conn, START + timedelta(days=6))
    assert kpis["days_to_first_action"]["median"] == "0"
    assert kpis["days_to_first_action"]["by_kind"]["automated"]["p90"] == 0
    assert set(kpis["champion_challenger"]) <= {"champion", "challenger"}
    assert kpis["cost_per_account"] != "0.00"


def rerunning_a_date_creates_nothing_new(closed: Store) -> None:
    before = counts(closed)
    run_date(closed, START + timedelta(days=6))
    run_date(closed, START + timedelta(days=2))
    assert counts(closed) == before


def human_actions_become_assigned_tasks_and_escalate_after_their_sla(closed: Store) -> None:
    with closed.begin() as conn:
        task = conn.execute(select(sv.TASKS).where(sv.TASKS.c.loan_id == "L00032")).one()
    # the standard path calls on D+3 (champion) or D+2 (challenger)
    assert task.action == "call" and task.skill == "phone"
    assert task.queue == f"{task.bucket}/phone/{task.region}"
    assert task.assigned_to in {"c1", "c2"} and task.due_on == task.created_on + timedelta(days=1)
    assert task.state == "escalated" and task.escalated_to == "sup1"
    with closed.begin() as conn:
        loads = conn.execute(
            select(sv.TASKS.c.assigned_to, func.count()).group_by(sv.TASKS.c.assigned_to)
        ).all()
        queue = sv.list_queue(conn, collector="sup1")
    assert max(n for _, n in loads) - min(n for _, n in loads) <= 1  # balanced
    assert task.task_id in {t["task_id"] for t in queue}
