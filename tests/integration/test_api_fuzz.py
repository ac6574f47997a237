"""Random input against every endpoint: never a 5xx, always the error shape.

A small stand-in for Schemathesis (not installed): Hypothesis draws bodies and
path parameters for each operation of the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from api_fixtures import Api, make_api, seed_loan, seed_people
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIELDS = [
    "username",
    "role",
    "password",
    "display_name",
    "team",
    "region",
    "skills",
    "capacity",
    "reason",
    "label",
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=80),
    st.sampled_from(["collector", "admin", "<script>alert(1)</script>", "' OR 1=1 --"]),
    st.lists(st.text(max_size=10), max_size=3),
)
BODIES = st.one_of(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6), VALUES)
PARAMS = st.one_of(st.text(min_size=1, max_size=40), st.integers(-(2**70), 2**70).map(str))


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    for built in make_api(database_url):
        with built.store.begin() as conn:
            seed_people(conn)
            seed_loan(conn, "L1", "B1", officer="lo")
        yield built


def _operations(api: Api) -> list[tuple[str, str]]:
    spec = api.client.get("/openapi.json").json()
    return sorted((m.upper(), p) for p, ops in spec["paths"].items() for m in ops)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_server_errors_on_random_input(api: Api, data: st.DataObject) -> None:
    method, template = data.draw(st.sampled_from(_operations(api)))
    path = template
    while "{" in path:
        head, _, rest = path.partition("{")
        _, _, tail = rest.partition("}")
        path = head + quote(data.draw(PARAMS), safe="") + tail
    user = data.draw(st.sampled_from(["ad", "co", "au", "su", None]))
    headers = api.auth(user) if user else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if method == "POST":
        if template.endswith("/auth/token"):
            kwargs["data"] = {"username": data.draw(st.text(max_size=20)), "password": "x"}
        else:
            kwargs["json"] = data.draw(BODIES)
    response = api.client.request(method, path, **kwargs)
    assert response.status_code < 500, (method, path, kwargs, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "details"}


def test_script_and_sql_payloads_are_stored_inertly(api: Api) -> None:
    payloads = ["<script>alert(1)</script>", "' OR 1=1 --", "x'); DROP TABLE users; --"]
    for n, text in enumerate(payloads):
        created = api.client.post(
            "/api/v1/users",
            json={"username": f"p{n}", "role": "collector", "display_name": text, "team": "t"},
            headers=api.auth("ad"),
        )
        assert created.status_code == 201, created.text
        shown = api.client.get(f"/api/v1/users/p{n}", headers=api.auth("ad")).json()
        assert shown["display_name"] == text
    assert len(api.client.get("/api/v1/users", headers=api.auth("ad")).json()) >= 14
    page = api.client.get("/auth/login?lang=<script>")
    assert "<script>" not in page.text


def test_edge_values_are_client_errors(api: Api) -> None:
    admin = api.auth("ad")
    huge = str(2**70)
    for method, path, body in [
        ("GET", f"/api/v1/approvals/{huge}", None),
        ("GET", f"/api/v1/approvals/-{huge}", None),
        ("POST", f"/api/v1/approvals/{huge}/approve", {}),
        ("GET", "/api/v1/users/a%00b", None),
        ("GET", "/api/v1/loans/L%001", None),
        ("GET", "/api/v1/users?role=a%00", None),
        ("POST", "/api/v1/users", {"username": "zz", "role": "collector", "capacity": 2**70}),
        ("POST", "/api/v1/users", {"username": "zz", "role": "collector", "team": "a\x00"}),
        ("POST", "/api/v1/users/co/disable", {"reason": "a\x00b"}),
    ]:
        response = api.client.request(method, path, json=body, headers=admin)
        assert 400 <= response.status_code < 500, (path, response.text)
    for name in ["a\x00b", "x" * 500, "138 1234 5678"]:
        login = api.client.post("/api/v1/auth/token", data={"username": name, "password": "pw"})
        assert login.status_code == 401
    bad_key = api.client.get("/api/v1/me", headers={"X-API-Key": "pl_zz\x01_secret"})
    assert bad_key.status_code == 401
