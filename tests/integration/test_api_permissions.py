"""The permission matrix: every API endpoint × every role, and data scope across users."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from api_fixtures import (
    ONE_PER_ROLE,
    T0,
    Api,
    make_api,
    seed_case,
    seed_loan,
    seed_people,
)
from sqlalchemy import Connection, insert, text

from postloan.collections.strategy_io import default_text
from postloan.security import approvals
from postloan.security.approvals import Approval, propose
from postloan.security.permissions import APPROVAL_KINDS, has_permission
from postloan.security.roles import Role
from postloan.store.tables import Borrower, LoanStateCurrent, ScheduleInstalment
from postloan.store.tables_collections import (
    CollectionAgency,
    CollectionConcession,
    LegalCase,
)
from postloan.store.tables_risk import Alert

ROLE_USER = {
    "loan_officer": "lo",
    "risk_manager": "rm",
    "collector": "co",
    "supervisor": "su",
    "legal": "le",
    "auditor": "au",
    "admin": "ad",
}
_counter = itertools.count()


def _noop(conn: Connection, approval: Approval) -> None:
    del conn, approval


@pytest.fixture
def api(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    # the real handler (collections) comes back afterwards: monkeypatch restores it
    monkeypatch.setitem(approvals._HANDLERS, "waiver.grant", _noop)
    for built in make_api(database_url):
        with built.store.begin() as conn:
            seed_people(conn)
            seed_loan(conn, "L-LO", "B1", officer="lo")
            seed_case(conn, "B1", "L-LO", collector="co")
            seed_domain(conn)
        yield built


def seed_domain(conn: Connection) -> None:
    """What the domain routes of the matrix open: the borrower, a schedule, a current
    state, a restructuring, a legal case and an agency on the loan L-LO."""
    conn.execute(
        insert(Borrower).values(borrower_id="B1", name="Borrower One", monthly_income=5_000_000)
    )
    conn.execute(
        insert(ScheduleInstalment),
        [
            {
                "loan_id": "L-LO",
                "seq": k,
                "due_date": date(2026 + k // 12, k % 12 + 1, 5),
                "principal_due": 100000,
                "interest_due": 0,
                "fee_due": 0,
                "balance": 1200000 - 100000 * k,
                "source": "feed",
            }
            for k in range(1, 13)
        ],
    )
    conn.execute(
        insert(LoanStateCurrent).values(
            loan_id="L-LO",
            business_date=date(2026, 11, 28),
            days_past_due=0,
            bucket="current",
            classification="normal",
            ifrs9_stage=1,
            principal_outstanding=200000,
            overdue_principal=0,
            overdue_interest=0,
            penalty_outstanding=0,
            updated_at=T0,
        )
    )
    conn.execute(
        insert(CollectionConcession).values(
            kind="waiver",
            subtype="penalty",
            loan_id="L-LO",
            amount=100,
            params="{}",
            state="proposed",
            proposed_by="co",
            proposed_on=date(2026, 11, 28),
        )
    )
    conn.execute(
        insert(LegalCase).values(
            loan_id="L-LO",
            state="referred",
            exposure_at_referral=200000,
            referred_on=date(2026, 11, 28),
            updated_by="le",
            updated_at=T0,
        )
    )
    conn.execute(
        insert(CollectionAgency).values(
            agency_id="AG1", name="Agency", commission_rate="0.18", listed_on=date(2026, 1, 1)
        )
    )


def _fresh_alert(api: Api, state: str = "new") -> int:
    with api.store.begin() as conn:
        return int(
            conn.execute(
                insert(Alert)
                .values(
                    alert_key=f"matrix-{next(_counter)}",
                    rule_id="dpd_entry",
                    loan_id="L-LO",
                    borrower_id="B1",
                    business_date=date(2026, 11, 28),
                    severity="high",
                    owner_role="loan_officer",
                    state=state,
                    version=1,
                    sla_due_at=T0,
                    created_at=T0,
                    updated_at=T0,
                )
                .returning(Alert.id)
            ).scalar_one()
        )


def _fresh_case(api: Api) -> int:
    """An open case of its own borrower (one open case per borrower), lo's and co's."""
    n = next(_counter)
    with api.store.begin() as conn:
        seed_loan(conn, f"L-M{n}", f"B-M{n}", officer="lo")
        case_id = seed_case(conn, f"B-M{n}", f"L-M{n}", collector="co")
        conn.execute(
            text("UPDATE collection_cases SET open_key = borrower_id WHERE case_id = :c"),
            {"c": case_id},
        )
        return case_id


def _case_version(api: Api, case_id: int) -> int:
    with api.store.begin() as conn:
        return int(
            conn.execute(
                text("SELECT version FROM collection_cases WHERE case_id = :c"), {"c": case_id}
            ).scalar_one()
        )


def _pending_waiver(api: Api) -> int:
    with api.store.begin() as conn:
        return propose(
            conn,
            maker="system",
            action="waiver.grant",
            object_type="loan",
            object_id="L-LO",
            payload={"n": next(_counter)},
        )


def _fresh_user(api: Api) -> str:
    return f"u{next(_counter)}"


# (method, path template, permission the route requires or None for public)
ENDPOINTS: list[tuple[str, str, str | None]] = [
    ("GET", "/api/v1/health", None),
    ("GET", "/api/v1/me", "*"),
    ("GET", "/api/v1/users", "user.view"),
    ("POST", "/api/v1/users", "user.manage"),
    ("GET", "/api/v1/users/{username}", "user.view"),
    ("POST", "/api/v1/users/{username}/role", "user.manage"),
    ("POST", "/api/v1/users/{username}/disable", "user.manage"),
    ("POST", "/api/v1/users/{username}/api-keys", "user.manage"),
    ("GET", "/api/v1/approvals", "approval.view"),
    ("GET", "/api/v1/approvals/{approval_id}", "approval.view"),
    ("POST", "/api/v1/approvals/{approval_id}/approve", "approval.view"),
    ("POST", "/api/v1/approvals/{approval_id}/reject", "approval.view"),
    ("GET", "/api/v1/loans/{loan_id}", "loan.view"),
    # the domain endpoints (issue 8, second part)
    ("GET", "/api/v1/borrowers", "borrower.view"),
    ("GET", "/api/v1/borrowers/{borrower_id}", "borrower.view"),
    ("GET", "/api/v1/loans", "loan.view"),
    ("GET", "/api/v1/loans/{loan_id}/state", "loan.view"),
    ("GET", "/api/v1/loans/{loan_id}/history", "loan.view"),
    ("GET", "/api/v1/loans/{loan_id}/schedule", "loan.view"),
    ("GET", "/api/v1/loans/{loan_id}/transactions", "loan.view"),
    ("POST", "/api/v1/payments", "payment.post"),
    ("POST", "/api/v1/failed-debits", "payment.post"),
    ("POST", "/api/v1/contact-results", "contact.log"),
    ("GET", "/api/v1/alerts", "alert.view"),
    ("GET", "/api/v1/alerts/{alert_id}", "alert.view"),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge", "alert.update"),
    ("POST", "/api/v1/alerts/{alert_id}/action", "alert.update"),
    ("POST", "/api/v1/alerts/{alert_id}/close", "alert.update"),
    ("GET", "/api/v1/cases", "case.view"),
    ("GET", "/api/v1/cases/{case_id}", "case.view"),
    ("POST", "/api/v1/cases/{case_id}/transition", "case.update"),
    ("POST", "/api/v1/cases/{case_id}/contacts", "contact.log"),
    ("POST", "/api/v1/cases/{case_id}/promises", "promise.create"),
    ("POST", "/api/v1/cases/{case_id}/assign", "case.assign"),
    ("GET", "/api/v1/tasks", "case.view"),
    ("GET", "/api/v1/promises", "case.view"),
    ("GET", "/api/v1/restructurings", "case.view"),
    ("GET", "/api/v1/restructurings/{concession_id}", "case.view"),
    ("POST", "/api/v1/restructurings", "restructuring.propose"),
    ("POST", "/api/v1/waivers", "waiver.propose"),
    ("POST", "/api/v1/write-offs", "writeoff.propose"),
    ("GET", "/api/v1/legal-cases", "legal.view"),
    ("GET", "/api/v1/legal-cases/{legal_id}", "legal.view"),
    ("GET", "/api/v1/agencies", "legal.view"),
    ("GET", "/api/v1/agencies/{agency_id}", "legal.view"),
    ("GET", "/api/v1/strategies", "strategy.view"),
    ("POST", "/api/v1/strategies", "strategy.propose"),
    ("GET", "/api/v1/strategies/{version}", "strategy.view"),
    ("POST", "/api/v1/strategies/validate", "strategy.view"),
    ("POST", "/api/v1/strategies/dry-run", "strategy.view"),
    ("GET", "/api/v1/models", "model.view"),
    ("GET", "/api/v1/models/{model_id}", "model.view"),
    ("GET", "/api/v1/models/{model_id}/monitoring", "model.view"),
    ("POST", "/api/v1/models/{model_id}/activate", "model.propose"),
    ("GET", "/api/v1/kpis", "kpi.view"),
    ("GET", "/api/v1/kpis/series", "kpi.view"),
]
# routes whose object does not exist in the matrix's store (no model registered, no
# date closed): a role holding the permission gets 404 there, the others 403
ABSENT = {
    "/api/v1/models/{model_id}",
    "/api/v1/models/{model_id}/monitoring",
    "/api/v1/models/{model_id}/activate",
    "/api/v1/kpis",
}
STRATEGY_VERSION = default_text().split("version:", 1)[1].split()[0].strip("\"'")
QUERY = {
    "/api/v1/kpis/series": "?from=2026-11-01&to=2026-11-28",
    "/api/v1/borrowers/{borrower_id}": "",
}


def test_the_matrix_lists_every_endpoint(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    routes = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if path != "/api/v1/auth/token"  # the login itself: tested in test_api_auth
    }
    assert routes == {(m, p) for m, p, _ in ENDPOINTS}


def _call(api: Api, role: str, method: str, template: str) -> Any:
    user = ROLE_USER[role]
    target = _fresh_user(api)
    if "{username}" in template:
        with api.store.begin() as conn:
            from postloan.security.users import add_user

            add_user(conn, username=target, role="collector", password=None)
    approval_id = _pending_waiver(api) if "{approval_id}" in template else 0
    alert_id = 0
    if "{alert_id}" in template:
        alert_id = _fresh_alert(api, "acknowledged" if template.endswith("/action") else "new")
    case_id = _fresh_case(api) if "{case_id}" in template or "contact-results" in template else 0
    path = template.format(
        username=target,
        approval_id=approval_id,
        loan_id="L-LO",
        borrower_id="B1",
        alert_id=alert_id,
        case_id=case_id,
        concession_id=1,
        legal_id=1,
        agency_id="AG1",
        version=STRATEGY_VERSION,
        model_id="bscore-20261129-000000",
    ) + QUERY.get(template, "")
    body: dict[str, Any] | None = None
    headers = dict(api.auth(user))
    if method == "POST":
        body = {"reason": "matrix test"}
        if path.endswith("/role"):
            body = {"role": "supervisor", "reason": "matrix test"}
        elif path == "/api/v1/users":
            body = {"username": _fresh_user(api), "role": "collector"}
        elif path.endswith("/api-keys"):
            body = {"label": "matrix"}
        elif path.endswith(("/payments", "/failed-debits")):
            body = {"loan_id": "L-LO", "amount_minor": 1000, "value_date": "2026-11-28"}
            headers["Idempotency-Key"] = str(uuid.uuid4())
        elif path.endswith("/contact-results"):
            body = {"case_id": case_id, "outcome": "no_answer", "expected_version": 1}
        elif "/alerts/" in path:
            body = {"expected_version": 1, "note": "matrix"}
        elif path.endswith("/transition"):
            body = {"to_state": "contacted", "expected_version": _case_version(api, case_id)}
        elif path.endswith("/contacts"):
            body = {"outcome": "no_answer", "expected_version": 1}
        elif path.endswith("/promises"):
            body = {"amount_minor": 5000, "promised_date": "2026-12-02", "expected_version": 1}
        elif path.endswith("/assign"):
            body = {"collector": "co2", "expected_version": 1}
        elif path.endswith(("/strategies", "/validate")):
            body = {"text": default_text()}
        elif path.endswith("/dry-run"):
            body = {"date": "2026-11-28"}
        elif path.endswith("/restructurings"):
            body = {"loan_id": "L-LO", "kind": "extension", "params": {"periods": 3}}
        elif path.endswith("/waivers"):
            body = {"loan_id": "L-LO", "kind": "penalty", "amount_minor": 1}
        elif path.endswith("/write-offs"):
            body = {"loan_id": "L-LO", "reason": "matrix"}
    return api.client.request(method, path, json=body, headers=headers)


def test_every_endpoint_for_every_role(api: Api) -> None:
    for role, (method, template, permission) in itertools.product(ROLE_USER, ENDPOINTS):
        response = _call(api, role, method, template)
        label = (role, method, template, response.status_code, response.text[:200])
        if permission is None or permission == "*":
            assert response.status_code == 200, label
        elif not has_permission(role, permission):
            assert response.status_code == 403, label
            assert response.json()["code"] == "permission_denied", label
        elif "approve" in template or "reject" in template:
            can_decide = has_permission(role, APPROVAL_KINDS["waiver"][1])
            sees_all = role in ("auditor", "admin")
            expected = 200 if can_decide else 403 if sees_all else 404
            assert response.status_code == expected, label
        elif "{approval_id}" in template and not (
            role in ("auditor", "admin") or has_permission(role, APPROVAL_KINDS["waiver"][1])
        ):
            assert response.status_code == 404, label  # not theirs to see
        elif template in ABSENT:
            assert response.status_code == 404, label
        elif template.endswith("{loan_id}") and role == "loan_officer":
            assert response.status_code == 200, label  # lo is the loan's officer
        elif template.endswith("{loan_id}") and role == "collector":
            assert response.status_code == 200, label  # co holds the loan's open case
        else:
            assert response.status_code in (200, 201, 202), label


def test_without_credentials_everything_but_health_is_401(api: Api) -> None:
    for method, template, permission in ENDPOINTS:
        path = template.format(
            username="co",
            approval_id=1,
            loan_id="L-LO",
            borrower_id="B1",
            alert_id=1,
            case_id=1,
            concession_id=1,
            legal_id=1,
            agency_id="AG1",
            version="v1",
            model_id="m1",
        ) + QUERY.get(template, "")
        response = api.client.request(method, path, json={} if method == "POST" else None)
        if permission is None:
            assert response.status_code == 200
        else:
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"


# POSTs that compute and store nothing (an auditor may run them)
COMPUTATIONS = {"/api/v1/strategies/validate", "/api/v1/strategies/dry-run"}


def _audit_size(api: Api) -> int:
    """Audit entries the auditor's own requests wrote."""
    with api.store.begin() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM audit_entries WHERE actor = 'au'")).scalar_one()
        )


def test_auditor_changes_nothing(api: Api) -> None:
    for method, template, _ in ENDPOINTS:
        if method != "POST":
            continue
        before = _audit_size(api)
        response = _call(api, "auditor", method, template)
        if template in COMPUTATIONS:
            assert response.status_code == 200, (template, response.text)
        else:
            assert response.status_code in (403, 404), template
        assert _audit_size(api) == before, template


def test_cross_scope_is_not_found(api: Api) -> None:
    with api.store.begin() as conn:
        seed_loan(conn, "L-LO2", "B2", officer="lo2")
        seed_case(conn, "B2", "L-LO2", collector="co2")
    for user, loan, status in [
        ("lo", "L-LO", 200),
        ("lo", "L-LO2", 404),
        ("lo2", "L-LO", 404),
        ("co", "L-LO", 200),
        ("co", "L-LO2", 404),
        ("co2", "L-LO2", 200),
        ("su", "L-LO2", 200),
        ("au", "L-LO2", 200),
    ]:
        response = api.client.get(f"/api/v1/loans/{loan}", headers=api.auth(user))
        assert response.status_code == status, (user, loan, response.text)
    missing = api.client.get("/api/v1/loans/NOPE", headers=api.auth("co"))
    hidden = api.client.get("/api/v1/loans/L-LO2", headers=api.auth("co"))
    assert missing.json()["code"] == hidden.json()["code"] == "not_found"
    assert missing.status_code == hidden.status_code == 404


def test_seeded_roles_cover_the_design() -> None:
    assert set(ONE_PER_ROLE.values()) == {r.value for r in Role}
    assert set(ROLE_USER) == {r.value for r in Role}


def test_cross_scope_on_every_domain_object_route(api: Api) -> None:
    """Collector A / loan officer A opening B's borrower, loan, case, alert or concession
    gets 404 (or 403 where the role lacks the permission), like a missing object."""
    with api.store.begin() as conn:
        seed_loan(conn, "L-LO2", "B2", officer="lo2")
        conn.execute(insert(Borrower).values(borrower_id="B2", name="Borrower Two"))
        case_id = seed_case(conn, "B2", "L-LO2", collector="co2")
        concession_id = conn.execute(
            insert(CollectionConcession)
            .values(
                kind="waiver",
                subtype="penalty",
                loan_id="L-LO2",
                amount=100,
                params="{}",
                state="proposed",
                proposed_by="co2",
                proposed_on=date(2026, 11, 28),
            )
            .returning(CollectionConcession.concession_id)
        ).scalar_one()
    alert_id = _fresh_alert(api)
    with api.store.begin() as conn:
        conn.execute(text("UPDATE alerts SET loan_id = 'L-LO2' WHERE id = :a"), {"a": alert_id})
    gets = [
        "/api/v1/borrowers/B2",
        "/api/v1/loans/L-LO2/state",
        "/api/v1/loans/L-LO2/history",
        "/api/v1/loans/L-LO2/schedule",
        "/api/v1/loans/L-LO2/transactions",
        f"/api/v1/cases/{case_id}",
        f"/api/v1/alerts/{alert_id}",
        f"/api/v1/restructurings/{concession_id}",
    ]
    posts = [
        (f"/api/v1/cases/{case_id}/transition", {"to_state": "contacted", "expected_version": 1}),
        (f"/api/v1/cases/{case_id}/contacts", {"outcome": "no_answer", "expected_version": 1}),
        (
            f"/api/v1/cases/{case_id}/promises",
            {"amount_minor": 100, "promised_date": "2026-12-01", "expected_version": 1},
        ),
        (
            "/api/v1/contact-results",
            {"case_id": case_id, "outcome": "no_answer", "expected_version": 1},
        ),
        (f"/api/v1/alerts/{alert_id}/acknowledge", {"expected_version": 1}),
        ("/api/v1/write-offs", {"loan_id": "L-LO2"}),
        ("/api/v1/waivers", {"loan_id": "L-LO2", "kind": "penalty", "amount_minor": 1}),
        ("/api/v1/restructurings", {"loan_id": "L-LO2", "kind": "extension", "params": {}}),
    ]
    for user in ("co", "lo"):
        for path in gets:
            response = api.client.get(path, headers=api.auth(user))
            assert response.status_code in (403, 404), (user, path, response.text)
            if response.status_code == 403:
                assert not has_permission(ROLE_NAMES[user], _permission_of("GET", path))
        for path, body in posts:
            response = api.client.post(path, json=body, headers=api.auth(user))
            assert response.status_code in (403, 404), (user, path, response.text)
        for owner, path in [("co2", f"/api/v1/cases/{case_id}"), ("lo2", "/api/v1/borrowers/B2")]:
            assert api.client.get(path, headers=api.auth(owner)).status_code == 200
    mine = api.client.get("/api/v1/loans?size=500", headers=api.auth("co")).json()
    assert "L-LO2" not in {row["loan_id"] for row in mine["items"]}
    assert "L-LO" in {row["loan_id"] for row in mine["items"]}
    queue = api.client.get("/api/v1/cases?size=500", headers=api.auth("co")).json()
    assert queue["total"] == len(queue["items"]) >= 1
    assert {row["assigned_to"] for row in queue["items"]} == {"co"}
    theirs = api.client.get("/api/v1/borrowers?size=500", headers=api.auth("lo2")).json()
    assert [b["borrower_id"] for b in theirs["items"]] == ["B2"]


ROLE_NAMES = {user: role for role, user in ROLE_USER.items()}


def _permission_of(method: str, path: str) -> str:
    for m, template, permission in ENDPOINTS:
        head = template.split("{", 1)[0]
        if m == method and path.startswith(head) and permission is not None:
            return permission
    raise AssertionError(path)
