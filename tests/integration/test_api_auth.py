"""Authentication over HTTP: bearer tokens, API keys, web sessions with CSRF, lockout,
rate limits, error format and language, and the audit entries they leave."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import Api, make_api, write_test_config
from sqlalchemy import text

from postloan.security.config import load_security_policy
from postloan.security.users import add_user


@pytest.fixture
def api(database_url: str, postloan_home: Path) -> Iterator[Api]:
    write_test_config(postloan_home)
    for built in make_api(database_url):
        policy = load_security_policy()
        with built.store.begin() as conn:
            for name, role in [("cora", "collector"), ("al", "admin"), ("ada", "admin")]:
                add_user(conn, username=name, role=role, password="secret-pw1", policy=policy)
            add_user(conn, username="core-bank", role="supervisor", password=None)
        yield built


def login(api: Api, user: str, password: str = "secret-pw1", **headers: str):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/api/v1/auth/token", data={"username": user, "password": password}, headers=headers
    )


def actions(api: Api, action: str) -> list[str]:
    with api.store.begin() as conn:
        rows = conn.execute(
            text("SELECT actor FROM audit_entries WHERE action = :a ORDER BY id"), {"a": action}
        )
        return [r[0] for r in rows]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_password_flow_issues_a_token_that_expires(api: Api) -> None:
    response = login(api, "cora")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    me = api.client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.json()["username"] == "cora" and "promise.create" in me.json()["permissions"]
    api.clock.advance(minutes=31)
    expired = api.client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert expired.status_code == 401 and expired.json()["code"] == "not_authenticated"
    forged = body["access_token"][:-2] + ("AA" if not body["access_token"].endswith("AA") else "BB")
    assert api.client.get("/api/v1/me", headers=bearer(forged)).status_code == 401
    assert actions(api, "auth.login") == ["cora"]


def test_errors_are_structured_and_localised(api: Api) -> None:
    zh = login(api, "cora", "wrong-pw")
    en = login(api, "cora", "wrong-pw", **{"Accept-Language": "en-US,en;q=0.9"})
    assert zh.status_code == en.status_code == 401
    assert set(zh.json()) == {"code", "message", "details"}
    assert zh.json()["code"] == en.json()["code"] == "not_authenticated"
    assert zh.json()["message"] == "用户名或密码错误"
    assert en.json()["message"] == "wrong user name or password"
    missing = api.client.get("/api/v1/nowhere", headers={"Accept-Language": "fr, en;q=0.5"})
    assert missing.status_code == 404 and missing.json()["message"].startswith("no such endpoint")
    bad = api.client.post("/api/v1/users", json={"role": 1}, headers=api.auth("al"))
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert {tuple(e["loc"]) for e in bad.json()["details"]["errors"]} >= {("body", "username")}
    assert bad.json()["message"] == "输入不符合要求"
    conflict = api.client.post(
        "/api/v1/users", json={"username": "cora", "role": "collector"}, headers=api.auth("al")
    )
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    assert "already exists" in conflict.json()["details"]["reason"]
    english = api.client.post(
        "/api/v1/users?lang=en",
        json={"username": "cora", "role": "collector"},
        headers=api.auth("al"),
    )
    assert english.json()["message"] == "user 'cora' already exists"


def test_lockout_after_repeated_failures(api: Api) -> None:
    for _ in range(3):
        assert login(api, "cora", "wrong-pw").status_code == 401
    locked = login(api, "cora")  # the right password, but locked now
    assert locked.status_code == 401
    assert "15" in locked.json()["message"] and "锁定" in locked.json()["message"]
    api.clock.advance(minutes=16)
    assert login(api, "cora").status_code == 200
    assert actions(api, "auth.login_failed") == ["cora"] * 4
    assert actions(api, "auth.login") == ["cora"]


def test_login_is_rate_limited(api: Api) -> None:
    codes = [login(api, "nobody", "x").status_code for _ in range(9)]
    assert codes[:8] == [401] * 8 and codes[8] == 429
    limited = login(api, "nobody", "x", **{"Accept-Language": "en"})
    assert limited.json()["code"] == "too_many_requests" and limited.headers["retry-after"]
    api.clock.advance(seconds=61)
    assert login(api, "cora").status_code == 200


def test_api_key_auth(api: Api) -> None:
    issued = api.client.post(
        "/api/v1/users/core-bank/api-keys", json={"label": "core"}, headers=api.auth("al")
    )
    assert issued.status_code == 201
    key = issued.json()["api_key"]
    me = api.client.get("/api/v1/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["username"] == "core-bank"
    with api.store.begin() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys")).scalar_one()
    assert key.split("_", 2)[2] not in stored  # only the digest is at rest
    wrong = api.client.get("/api/v1/me", headers={"X-API-Key": key[:-3] + "xyz"})
    assert wrong.status_code == 401
    disabled = api.client.post(
        "/api/v1/users/core-bank/disable", json={"reason": "retired"}, headers=api.auth("al")
    )
    assert disabled.status_code == 200
    assert api.client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401


def test_role_change_through_the_api_ends_old_tokens(api: Api) -> None:
    old = api.auth("cora")
    proposed = api.client.post(
        "/api/v1/users/cora/role",
        json={"role": "supervisor", "reason": "promoted"},
        headers=api.auth("al"),
    )
    assert proposed.status_code == 202
    approval_id = proposed.json()["approval_id"]
    own = api.client.post(
        f"/api/v1/approvals/{approval_id}/approve", json={}, headers=api.auth("al")
    )
    assert own.status_code == 403 and own.json()["code"] == "permission_denied"
    pending = api.client.get("/api/v1/approvals?state=pending", headers=api.auth("ada")).json()
    assert [a["id"] for a in pending] == [approval_id]
    done = api.client.post(
        f"/api/v1/approvals/{approval_id}/approve", json={"reason": "ok"}, headers=api.auth("ada")
    )
    assert done.status_code == 200 and done.json()["state"] == "applied"
    assert api.client.get("/api/v1/me", headers=old).status_code == 401
    fresh = api.token_for("cora")
    assert api.client.get("/api/v1/me", headers=bearer(fresh)).json()["role"] == "supervisor"
    assert actions(api, "approval.approve") == ["ada"]
    assert actions(api, "user.role_change") == ["ada"]
    again = api.client.post(
        f"/api/v1/approvals/{approval_id}/reject", json={"reason": "late"}, headers=api.auth("ada")
    )
    assert again.status_code == 409


def _login_page(api: Api) -> str:
    page = api.client.get("/auth/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_web_session_with_csrf(api: Api) -> None:
    csrf = _login_page(api)
    form = {"username": "cora", "password": "secret-pw1"}
    rejected = api.client.post("/auth/login", data=form, follow_redirects=False)
    assert rejected.status_code == 403 and rejected.json()["code"] == "csrf_failed"
    forged = api.client.post(
        "/auth/login", data={**form, "csrf_token": "x.y"}, follow_redirects=False
    )
    assert forged.status_code == 403
    ok = api.client.post("/auth/login", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    session_csrf = api.client.cookies.get("postloan_csrf")
    assert api.client.cookies.get("postloan_session") and session_csrf
    assert api.client.get("/api/v1/me").json()["username"] == "cora"
    change = {"username": "x1", "role": "collector"}
    # cora is no admin: with the CSRF header the request reaches authorisation (403 permission)
    no_header = api.client.post("/api/v1/users", json=change)
    assert no_header.status_code == 403 and no_header.json()["code"] == "csrf_failed"
    with_header = api.client.post(
        "/api/v1/users", json=change, headers={"X-CSRF-Token": session_csrf}
    )
    assert with_header.json()["code"] == "permission_denied"
    stolen = api.client.cookies.get("postloan_session")
    out_no_token = api.client.post("/auth/logout", follow_redirects=False)
    assert out_no_token.status_code == 403
    out = api.client.post("/auth/logout", data={"csrf_token": session_csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert api.client.get("/api/v1/me").status_code == 401
    # the session is ended on the server too: a copied cookie no longer works
    api.client.cookies.set("postloan_session", stolen or "")
    assert api.client.get("/api/v1/me").status_code == 401
    assert actions(api, "auth.logout") == ["cora"]


def test_openapi_and_health(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]
    assert all(path.startswith("/api/v1/") for path in spec["paths"])
    assert api.client.get("/api/v1/health").json()["status"] == "ok"
