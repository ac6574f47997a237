"""The domain API on a seeded book (sample feeds, two closes): the collector's
journey, real-time payments (DPD, promise, reminders, idempotency), borrower
search and unmasking, loan history, alerts, KPIs and a strategy dry-run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from api_fixtures import Api, make_api, seed_people
from sqlalchemy import text
from typer.testing import CliRunner

from postloan.batch.pipeline import run_range
from postloan.cli import _register, app
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory

_register()  # the CLI's commands, to compare the KPI documents with `postloan kpi`
D1, D2 = date(2026, 10, 14), date(2026, 10, 15)  # L00032 misses a payment: DPD 1 on D2
TODAY = datetime(2026, 10, 16, 9, 0, tzinfo=UTC)
PHONE_B0032 = "13238312912"  # from the sample borrowers feed


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    for built in make_api(database_url):
        built.clock.now = TODAY
        assert import_directory(sample_feeds_dir(), built.store).rejected == 0
        run_range(built.store, [D1, D2])
        with built.store.begin() as conn:
            seed_people(conn)
        yield built


def scalar(api: Api, sql: str, **params: object) -> int:
    with api.store.begin() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def case_of(api: Api, borrower: str) -> dict[str, object]:
    cases = api.client.get("/api/v1/cases?size=500", headers=api.auth("su")).json()["items"]
    return next(c for c in cases if c["borrower_id"] == borrower)


def test_a_collectors_day_and_a_real_time_payment(api: Api) -> None:
    """Assign → work queue → promise → payment keeps it, cures the loan and cancels
    the overdue reminder; a retry creates nothing; a reused key with another body is 409."""
    case = case_of(api, "B0032")
    case_id = int(case["case_id"])  # type: ignore[call-overload]
    assigned = api.client.post(
        f"/api/v1/cases/{case_id}/assign",
        json={"collector": "co", "expected_version": case["version"]},
        headers=api.auth("su"),
    )
    assert assigned.status_code == 200, assigned.text
    everyone = api.client.get("/api/v1/cases?size=5", headers=api.auth("su")).json()
    beyond = api.client.get("/api/v1/cases?size=5&page=99", headers=api.auth("su")).json()
    assert len(everyone["items"]) == 5 and everyone["total"] == beyond["total"] >= 18
    assert beyond["items"] == []
    queue = api.client.get("/api/v1/cases", headers=api.auth("co")).json()
    assert [c["case_id"] for c in queue["items"]] == [case_id] and queue["total"] == 1
    assert queue["items"][0]["days_past_due"] == 1
    detail = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth("co")).json()
    version = detail["version"]
    assert detail["loan_ids"] == ["L00032"] and detail["assigned_to"] == "co"

    promise = api.client.post(
        f"/api/v1/cases/{case_id}/promises",
        json={"amount_minor": 180, "promised_date": "2026-10-18", "expected_version": version},
        headers=api.auth("co"),
    )
    assert promise.status_code == 201, promise.text
    assert promise.json()["state"] == "promise_to_pay"
    stale = api.client.post(
        f"/api/v1/cases/{case_id}/contacts",
        json={"outcome": "no_answer", "expected_version": version},
        headers=api.auth(
            "co",
        ),
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"

    queued = "SELECT count(*) FROM contact_outbox WHERE loan_id = 'L00032' AND state = 'queued'"
    assert scalar(api, queued) >= 1
    txns = "SELECT count(*) FROM transactions WHERE loan_id = 'L00032'"
    before = scalar(api, txns)
    body = {"loan_id": "L00032", "amount_minor": 200, "value_date": "2026-10-16"}
    key = {"Idempotency-Key": "pay-32-1"} | api.auth("su")
    paid = api.client.post("/api/v1/payments", json=body, headers=key)
    assert paid.status_code == 201, paid.text
    out = paid.json()
    assert out["replayed"] is False and out["case_id"] == case_id
    assert out["state"]["days_past_due"] == 0 and out["state"]["business_date"] == "2026-10-16"
    assert out["promises"] == [
        {"promise_id": promise.json()["promise_id"], "state": "kept", "paid": 200}
    ]
    assert out["reminders_cancelled"] >= 1
    assert scalar(api, queued) == 0
    assert scalar(api, txns) == before + 1
    state = api.client.get("/api/v1/loans/L00032/state", headers=api.auth("co")).json()
    assert state["days_past_due"] == 0 and state["business_date"] == "2026-10-16"
    after = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth("co")).json()
    assert after["state"] == "contacted" and after["promises"][0]["state"] == "kept"
    assert scalar(api, "SELECT count(*) FROM audit_entries WHERE action = 'payment.post'") == 1

    again = api.client.post("/api/v1/payments", json=body, headers=key)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["txn_id"] == out["txn_id"] and again.json()["replayed"] is True
    assert scalar(api, txns) == before + 1
    other = api.client.post("/api/v1/payments", json=body | {"amount_minor": 201}, headers=key)
    assert other.status_code == 409 and other.json()["code"] == "conflict"
    assert scalar(api, txns) == before + 1
    assert scalar(api, "SELECT count(*) FROM audit_entries WHERE action = 'payment.post'") == 1

    listed = api.client.get(
        "/api/v1/loans/L00032/transactions?type=repayment&size=500", headers=api.auth("co")
    ).json()
    assert out["txn_id"] in {t["txn_id"] for t in listed["items"]}
    future = api.client.post(
        "/api/v1/payments",
        json=body | {"value_date": "2026-10-17"},
        headers={"Idempotency-Key": "pay-32-2"} | api.auth("su"),
    )
    assert future.status_code == 422
    debit = api.client.post(
        "/api/v1/failed-debits",
        json={"loan_id": "L00032", "amount_minor": 500},
        headers={"Idempotency-Key": "debit-1"} | api.auth("su"),
    )
    assert debit.status_code == 201 and debit.json()["type"] == "failed_debit"
    assert (
        api.client.post(
            "/api/v1/payments", json=body, headers={"Idempotency-Key": "x"} | api.auth("co")
        ).status_code
        == 403
    )


def test_borrowers_loans_alerts_kpis_and_strategies(api: Api) -> None:
    found = api.client.get(f"/api/v1/borrowers?phone={PHONE_B0032}", headers=api.auth("su"))
    assert found.status_code == 200
    people = found.json()["items"]
    assert [p["borrower_id"] for p in people] == ["B0032"] and found.json()["total"] == 1
    assert people[0]["phone"] == "132****2912" and PHONE_B0032 not in found.text
    assert "3096" in people[0]["national_id"] and "198806" not in people[0]["national_id"]
    masked = api.client.get("/api/v1/borrowers/B0032", headers=api.auth("su")).json()
    assert masked["borrower"]["phone"] == "132****2912"
    assert [loan["loan_id"] for loan in masked["loans"]] == ["L00032"]
    assert masked["cases"] and all("****" in (c["phone"] or "****") for c in masked["contacts"])
    no_reason = api.client.get("/api/v1/borrowers/B0032?unmask=true", headers=api.auth("su"))
    assert no_reason.status_code == 422
    clear = api.client.get(
        "/api/v1/borrowers/B0032?unmask=true&reason=borrower%20called", headers=api.auth("su")
    )
    assert clear.json()["borrower"]["phone"] == PHONE_B0032
    assert scalar(api, "SELECT count(*) FROM audit_entries WHERE action = 'pii.unmask'") == 1
    assert (
        api.client.get(
            "/api/v1/borrowers/B0032?unmask=true&reason=x", headers=api.auth("au")
        ).status_code
        == 403
    )

    history = api.client.get("/api/v1/loans/L00032/history", headers=api.auth("au")).json()
    assert [(h["business_date"], h["days_past_due"]) for h in history] == [
        ("2026-10-14", 0),
        ("2026-10-15", 1),
    ]
    late = api.client.get("/api/v1/loans?min_dpd=1&size=500", headers=api.auth("au")).json()
    assert late["total"] == len(late["items"]) > 0
    assert all(row["days_past_due"] >= 1 for row in late["items"])
    paged = api.client.get("/api/v1/loans?page=2&size=10", headers=api.auth("au")).json()
    assert paged["page"] == 2 and len(paged["items"]) == 10 and paged["total"] >= 47
    schedule = api.client.get("/api/v1/loans/L00032/schedule", headers=api.auth("au")).json()
    assert len(schedule) == 24 and schedule[0]["seq"] == 1

    alerts = api.client.get("/api/v1/alerts", headers=api.auth("rm")).json()
    assert alerts["total"] == len(alerts["items"]) >= 1
    first = alerts["items"][0]
    move = {"expected_version": first["version"], "note": "looked at it"}
    acked = api.client.post(
        f"/api/v1/alerts/{first['id']}/acknowledge", json=move, headers=api.auth("rm")
    )
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    stale = api.client.post(
        f"/api/v1/alerts/{first['id']}/close", json=move, headers=api.auth("rm")
    )
    assert stale.status_code == 409

    doc = api.client.get("/api/v1/kpis?date=2026-10-15", headers=api.auth("au"))
    assert doc.status_code == 200, doc.text
    cli = CliRunner().invoke(app, ["kpi", "--date", "2026-10-15", "--json"])
    assert cli.exit_code == 0, cli.output
    assert doc.json() == json.loads(cli.output)
    assert {"npl_ratio", "roll_rates", "vintages"} <= set(doc.json())
    latest = api.client.get("/api/v1/kpis", headers=api.auth("au")).json()
    assert latest["date"] == "2026-10-15"
    series = api.client.get(
        "/api/v1/kpis/series?from=2026-10-01&to=2026-10-31", headers=api.auth("lo")
    ).json()
    assert [d["date"] for d in series] == ["2026-10-14", "2026-10-15"]
    cli = CliRunner().invoke(app, ["kpi", "--from", "2026-10-01", "--to", "2026-10-31"])
    assert cli.exit_code == 0, cli.output
    assert series == json.loads(cli.output)

    dry = api.client.post(
        "/api/v1/strategies/dry-run", json={"date": "2026-10-15"}, headers=api.auth("rm")
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["loans_considered"] > 0
    listed = api.client.get("/api/v1/strategies", headers=api.auth("au")).json()
    shown = api.client.get(f"/api/v1/strategies/{listed[0]['version']}", headers=api.auth("au"))
    assert shown.status_code == 200 and "segments" in shown.json()["body"]
    bad = api.client.post(
        "/api/v1/strategies/validate", json={"text": "version: 1\n"}, headers=api.auth("rm")
    )
    assert bad.status_code == 422
