"""The bearer-token cache (postloan.api.authcache): reads skip the user lookup for a
few seconds, but a disabled user or a role change ends cached tokens at once in this
process, writes always re-check the user, and other processes' changes win within
the TTL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from api_fixtures import Api, make_api, seed_people
from sqlalchemy import event, text

from postloan.api.authcache import TokenCache


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    for built in make_api(database_url):
        with built.store.begin() as conn:
            seed_people(conn)
        yield built


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _statements(api: Api) -> list[str]:
    seen: list[str] = []

    @event.listens_for(api.store.engine, "before_cursor_execute")
    def grab(*args: object) -> None:
        seen.append(str(args[2]))

    return seen


def test_a_cached_read_needs_no_database(api: Api) -> None:
    me = api.auth("co")
    assert api.client.get("/api/v1/me", headers=me).json()["username"] == "co"
    seen = _statements(api)
    for _ in range(3):
        assert api.client.get("/api/v1/me", headers=me).status_code == 200
    assert seen == []  # /me is the user: nothing left to read once the token is cached
    assert len(api.ctx.auth_cache) == 1


def test_disabling_a_user_ends_their_cached_token_at_once(api: Api) -> None:
    token = api.auth("co")
    assert api.client.get("/api/v1/me", headers=token).status_code == 200
    done = api.client.post(
        "/api/v1/users/co/disable", json={"reason": "left"}, headers=api.auth("ad")
    )
    assert done.status_code == 200
    refused = api.client.get("/api/v1/me", headers=token)
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"


def test_another_process_change_wins_within_the_ttl_and_writes_never_wait(api: Api) -> None:
    ticks = Ticks()
    api.ctx.auth_cache = TokenCache(ttl=5.0, monotonic=ticks)
    token = api.auth("co")
    assert api.client.get("/api/v1/me", headers=token).status_code == 200
    with api.store.begin() as conn:  # as `postloan user disable` would, from the CLI
        conn.execute(
            text("UPDATE users SET active = :f, version = version + 1 WHERE username = :u"),
            {"f": False, "u": "co"},
        )
    assert api.client.get("/api/v1/me", headers=token).status_code == 200  # still cached
    write = api.client.post(
        "/api/v1/cases/1/contacts",
        json={"outcome": "no_answer", "expected_version": 1},
        headers=token,
    )
    assert write.status_code == 401  # a change is always authorised against the user row
    ticks.now += 5.0
    assert api.client.get("/api/v1/me", headers=token).status_code == 401


def test_an_expired_token_is_not_served_from_the_cache(api: Api) -> None:
    token = api.auth("co")
    assert api.client.get("/api/v1/me", headers=token).status_code == 200
    api.clock.advance(minutes=61)  # the test tokens live 60 minutes
    assert api.client.get("/api/v1/me", headers=token).status_code == 401


def test_the_cache_is_bounded() -> None:
    from postloan.security.users import User

    ticks = Ticks()
    cache = TokenCache(ttl=5.0, max_entries=3, monotonic=ticks)
    from api_fixtures import T0

    for k in range(5):
        cache.put(f"t{k}", User(username=f"u{k}", display_name="", role="collector"), T0)
    assert len(cache) <= 3
    cache.put("t", User(username="u", display_name="", role="collector"), T0 + timedelta(hours=1))
    assert cache.get("t", T0) is not None and cache.get("t", T0 + timedelta(hours=1)) is None
    assert TokenCache(ttl=0).get("t", T0) is None
