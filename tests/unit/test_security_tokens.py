"""Signed tokens, CSRF tokens, the login rate limiter and language negotiation."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from postloan.api.i18n import negotiate
from postloan.security.ratelimit import SlidingWindow, TooManyAttempts
from postloan.security.tokens import NotAuthenticated, TokenSigner, load_or_create_key
from postloan.security.users import User

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
SIGNER = TokenSigner(b"k" * 32)
CORA = User(username="cora", display_name="Cora", role="collector", version=3)
TOKEN = SIGNER.issue(CORA, kind="access", now=NOW, ttl=timedelta(minutes=5))


def test_a_token_carries_user_version_and_expiry() -> None:
    claims = SIGNER.verify(TOKEN, kind="access", now=NOW + timedelta(minutes=4))
    assert (claims.username, claims.version, claims.kind) == ("cora", 3, "access")
    with pytest.raises(NotAuthenticated, match="expired"):
        SIGNER.verify(TOKEN, kind="access", now=NOW + timedelta(minutes=5))
    with pytest.raises(NotAuthenticated):
        SIGNER.verify(TOKEN, kind="session", now=NOW)  # a bearer token is no session
    with pytest.raises(NotAuthenticated):
        TokenSigner(b"x" * 32).verify(TOKEN, kind="access", now=NOW)


@given(position=st.integers(0, len(TOKEN) - 1), char=st.sampled_from("AQgw-_0."))
def test_any_change_to_a_token_is_refused(position: int, char: str) -> None:
    forged = TOKEN[:position] + char + TOKEN[position + 1 :]
    if forged == TOKEN:
        return
    try:
        claims = SIGNER.verify(forged, kind="access", now=NOW)
    except NotAuthenticated:
        return
    # only base64 slack (unused low bits of the last character) may survive, unchanged
    assert claims == SIGNER.verify(TOKEN, kind="access", now=NOW)


def test_csrf_tokens() -> None:
    login = SIGNER.new_login_csrf()
    assert SIGNER.check_login_csrf(login)
    assert not SIGNER.check_login_csrf(login.split(".")[0] + ".forged")
    assert not SIGNER.check_login_csrf("")
    assert SIGNER.csrf_for("jti-1") != SIGNER.csrf_for("jti-2")


def test_the_key_file_is_private_and_stable(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path / "keys")
    assert load_or_create_key(tmp_path / "keys") == first and len(first) == 32
    mode = stat.S_IMODE(os.stat(tmp_path / "keys" / "auth.key").st_mode)
    assert mode == 0o600


def test_sliding_window() -> None:
    window = SlidingWindow(limit=3, window=60)
    assert [window.hit("a", t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert window.hit("b", 3)  # keys are independent
    assert window.hit("a", 60.5)  # the first hit left the window
    with pytest.raises(TooManyAttempts, match="wait 60 seconds"):
        window.check("a", 60.6)


def _request(headers: dict[str, str], query: str = "") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "headers": raw, "query_string": query.encode()})


@pytest.mark.parametrize(
    ("header", "query", "expected"),
    [
        ({}, "", "zh-CN"),
        ({"Accept-Language": "en-US,en;q=0.9"}, "", "en"),
        ({"Accept-Language": "fr-FR, en;q=0.5, zh;q=0.8"}, "", "zh-CN"),
        ({"Accept-Language": "de"}, "", "zh-CN"),
        ({"Accept-Language": "en"}, "lang=zh-CN", "zh-CN"),
        ({"Cookie": "postloan_lang=en"}, "", "en"),
        ({"Accept-Language": "zh-TW;q=0, en;q=0.1"}, "", "en"),
    ],
)
def test_language_negotiation(header: dict[str, str], query: str, expected: str) -> None:
    assert negotiate(_request(header, query)) == expected
