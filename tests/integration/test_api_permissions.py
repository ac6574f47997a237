"""The permission matrix: every API endpoint × every role, and data scope across users."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from api_fixtures import (
    ONE_PER_ROLE,
    Api,
    make_api,
    seed_case,
    seed_loan,
    seed_people,
)
from sqlalchemy import Connection

from postloan.security import approvals
from postloan.security.approvals import Approval, propose, register_handler
from postloan.security.permissions import APPROVAL_KINDS, has_permission
from postloan.security.roles import Role

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
def api(database_url: str) -> Iterator[Api]:
    register_handler("waiver.grant", _noop)
    for built in make_api(database_url):
        with built.store.begin() as conn:
            seed_people(conn)
            seed_loan(conn, "L-LO", "B1", officer="lo")
            seed_case(conn, "B1", "L-LO", collector="co")
        yield built
    approvals._HANDLERS.pop("waiver.grant", None)


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
]


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
    path = template.format(username=target, approval_id=approval_id, loan_id="L-LO")
    body: dict[str, Any] | None = None
    if method == "POST":
        body = {"reason": "matrix test"}
        if path.endswith("/role"):
            body = {"role": "supervisor", "reason": "matrix test"}
        elif path == "/api/v1/users":
            body = {"username": _fresh_user(api), "role": "collector"}
        elif path.endswith("/api-keys"):
            body = {"label": "matrix"}
    return api.client.request(method, path, json=body, headers=api.auth(user))


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
        elif template.endswith("{loan_id}") and role == "loan_officer":
            assert response.status_code == 200, label  # lo is the loan's officer
        elif template.endswith("{loan_id}") and role == "collector":
            assert response.status_code == 200, label  # co holds the loan's open case
        else:
            assert response.status_code in (200, 201, 202), label


def test_without_credentials_everything_but_health_is_401(api: Api) -> None:
    for method, template, permission in ENDPOINTS:
        path = template.format(username="co", approval_id=1, loan_id="L-LO")
        response = api.client.request(method, path, json={} if method == "POST" else None)
        if permission is None:
            assert response.status_code == 200
        else:
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"


def test_auditor_changes_nothing(api: Api) -> None:
    for method, template, _ in ENDPOINTS:
        if method == "POST":
            assert _call(api, "auditor", method, template).status_code in (403, 404)


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
