"""Contact, promise, action-timing and alert KPIs from the store, each checked against a
hand count of the rows the test wrote (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import insert

from postloan.analytics import operations
from postloan.analytics.kpis import ratio
from postloan.store.db import Store
from postloan.store.tables import Base

ON = date(2026, 10, 31)
NOW = datetime(2026, 10, 31, 12, tzinfo=UTC)


def t(name: str):  # noqa: ANN201 - a Table
    return Base.metadata.tables[name]


def case(conn, case_id: int, collector: str) -> None:  # noqa: ANN001
    conn.execute(
        insert(t("collection_cases")).values(
            case_id=case_id,
            borrower_id=f"B{case_id}",
            state="open",
            opened_on=ON - timedelta(days=40),
            source="delinquency",
            assigned_to=collector,
            updated_by="system",
            updated_at=NOW,
        )
    )


def test_contact_promise_and_action_timing(store: Store) -> None:
    outcomes = ["right_party", "promise", "refused", "no_answer", "wrong_number", "promise"]
    with store.begin() as conn:
        case(conn, 1, "alice")
        for i, outcome in enumerate(outcomes):
            conn.execute(
                insert(t("collection_contacts")).values(
                    case_id=1,
                    collector="alice",
                    channel="call",
                    outcome=outcome,
                    business_date=ON - timedelta(days=i),
                    contacted_at=NOW,
                )
            )
        conn.execute(  # outside the 30-day window: not counted
            insert(t("collection_contacts")).values(
                case_id=1,
                collector="alice",
                channel="call",
                outcome="right_party",
                business_date=ON - timedelta(days=45),
                contacted_at=NOW,
            )
        )
        for i in range(2):
            conn.execute(
                insert(t("collection_promises")).values(
                    case_id=1,
                    amount=1000,
                    currency="CNY",
                    created_on=ON - timedelta(days=i),
                    promised_date=ON + timedelta(days=3),
                    state="open",
                    created_by="alice",
                )
            )
        events = [("L1", 10, "entered_delinquency", "M1"), ("L2", 5, "bucket_up", "M2")]
        events += [("L3", 3, "entered_delinquency", "M1")]
        for loan, ago, kind, to in events:
            conn.execute(
                insert(t("loan_events")).values(
                    event_id=f"{loan}{kind}",
                    loan_id=loan,
                    business_date=ON - timedelta(days=ago),
                    event_type=kind,
                    from_value=None,
                    to_value=to,
                )
            )
        for loan, ago in (("L1", 8), ("L1", 2), ("L2", 5)):
            conn.execute(
                insert(t("collection_actions")).values(
                    loan_id=loan,
                    borrower_id="B1",
                    business_date=ON - timedelta(days=ago),
                    action="sms",
                    kind="automated",
                    template=f"t{ago}",
                    segment="s",
                    strategy_version="v1",
                    group="champion",
                    days_past_due=1,
                    status="enqueued",
                )
            )
    with store.begin() as conn:
        rates = operations.contact_rates(conn, ON)
        timing = operations.days_to_first_action_by_bucket(conn, ON)
    reached = sum(1 for o in outcomes if o in ("right_party", "promise", "refused"))
    assert rates["contacts"] == len(outcomes)
    assert rates["right_party_contact_rate"] == ratio(reached, len(outcomes))
    assert rates["ptp_rate"] == ratio(2, reached)
    # L1 entered 10 days ago, first action 8 days ago: 2 days; L3 never acted on
    assert timing["first"] == {"median": "2", "p90": 2, "entries": 2, "without_action": 1}
    assert timing["M2"] == {"median": "0", "p90": 0, "entries": 1, "without_action": 0}


def test_alert_precision_and_lead_time(store: Store) -> None:
    alerted = {  # loan -> days before ON of its first alert
        "A1": 100,
        "A2": 110,
        "A3": 95,
        "A4": 20,
        "model:m1": 100,  # a model-monitoring alert: about a model, not counted
    }
    with store.begin() as conn:
        for i, (loan, ago) in enumerate(alerted.items()):
            conn.execute(
                insert(t("alerts")).values(
                    alert_key=f"k{i}",
                    rule_id="model_monitoring" if loan.startswith("model:") else "r",
                    loan_id=loan,
                    business_date=ON - timedelta(days=ago),
                    severity="high",
                    owner_role="risk_analyst",
                    state="open",
                    version=1,
                    sla_due_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    # A1 went 90+ 60 days after its alert (hit), A2 never (miss), A3 150 days later
    # would be outside the horizon but ON is only 95 days on: a miss; B1 went 90+
    # in the window without any alert; A4 went 90+ 10 days ago (lead 10 days)
    first90 = {"A1": ON - timedelta(days=40), "B1": ON - timedelta(days=5)}
    first90["A4"] = ON - timedelta(days=10)
    rows = []
    for loan in ("A1", "A2", "A3", "A4", "B1"):
        for ago in range(0, 130, 5):
            d = ON - timedelta(days=ago)
            hit = loan in first90 and d >= first90[loan]
            rows.append((loan, d, 95 if hit else 0))
    states = pl.DataFrame(
        rows,
        schema={"loan_id": pl.Utf8, "business_date": pl.Date, "days_past_due": pl.Int32},
        orient="row",
    ).lazy()
    with store.begin() as conn:
        got = operations.alert_quality(conn, ON, states)
    assert got["alerted_loans"] == 3  # A1, A2, A3 alerted 90-119 days ago
    assert got["alert_precision"] == ratio(1, 3)
    lead = got["alert_lead_time"]
    assert lead == {"median": "10", "p90": 10, "loans": 2, "without_alert": 1}
