"""Signed, expiring bearer tokens and web sessions, CSRF tokens, long-lived API keys.

Tokens are ``base64url(claims).base64url(HMAC-SHA256(key, kind|claims))`` with the
key in ``$POSTLOAN_HOME/keys/auth.key`` (created 0600 on first use). The claims hold
the user name, the user's ``version`` (a role change, password change or disable
ends every token issued before it), the expiry and a random id. API keys are
``pl_<id>_<secret>``; only SHA-256 of the secret is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from postloan.domain.errors import ConfigError, PermissionDenied
from postloan.security.users import User, audit, find_user
from postloan.store.tables_security import ApiKeyRow, RevokedToken

KEY_FILE = "auth.key"
_HEX = re.compile(r"^[0-9a-f]+$")
API_KEYS = cast(Table, ApiKeyRow.__table__)
REVOKED = cast(Table, RevokedToken.__table__)


class NotAuthenticated(PermissionDenied):
    """No valid credentials (HTTP 401): log in again or send a valid token or key."""

    code = "not_authenticated"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(keys_dir: Path) -> bytes:
    """The token signing key of this installation (32 random bytes, file mode 0600)."""
    path = keys_dir / KEY_FILE
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = keys_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(_b64(os.urandom(32)))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # another process may have won the race: use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    try:
        key = _unb64(path.read_text().strip())
    except (OSError, ValueError) as err:
        raise ConfigError(f"token key {path} is unreadable ({type(err).__name__})") from None
    if len(key) != 32:
        raise ConfigError(f"token key {path} has the wrong length; delete it to make a new one")
    return key


@dataclass(frozen=True, slots=True)
class Claims:
    username: str
    version: int
    kind: str  # access | session
    expires: datetime
    token_id: str


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, label: str, body: str) -> str:
        return _b64(hmac.new(self._key, f"{label}|{body}".encode(), hashlib.sha256).digest())

    def issue(self, user: User, *, kind: str, now: datetime, ttl: timedelta) -> str:
        claims = {
            "sub": user.username,
            "ver": user.version,
            "kind": kind,
            "exp": int((now + ttl).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(kind, body)}"

    def verify(self, token: str, *, kind: str, now: datetime) -> Claims:
        """The claims of a genuine, unexpired token of ``kind``; NotAuthenticated otherwise."""
        body, _, mac = token.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(kind, body)):
            raise NotAuthenticated("the token is not valid; log in again")
        try:
            data = json.loads(_unb64(body))
            claims = Claims(
                username=str(data["sub"]),
                version=int(data["ver"]),
                kind=str(data["kind"]),
                expires=datetime.fromtimestamp(int(data["exp"]), UTC),
                token_id=str(data["jti"]),
            )
        except (ValueError, KeyError, TypeError):
            raise NotAuthenticated("the token is not valid; log in again") from None
        if claims.expires <= now:
            raise NotAuthenticated("the token has expired; log in again")
        return claims

    def csrf_for(self, binding: str) -> str:
        """The CSRF token bound to ``binding`` (a session's token id, or a login nonce)."""
        return self._mac("csrf", binding)

    def new_login_csrf(self) -> str:
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self.csrf_for(nonce)}"

    def check_login_csrf(self, value: str) -> bool:
        nonce, _, mac = value.partition(".")
        return bool(nonce) and hmac.compare_digest(mac, self.csrf_for(nonce))


def revoke(conn: Connection, claims: Claims, *, now: datetime) -> None:
    """End a session before its expiry (logout); expired revocations are purged."""
    conn.execute(delete(REVOKED).where(REVOKED.c.expires_at < now))
    conn.execute(insert(REVOKED).values(token_id=claims.token_id, expires_at=claims.expires))


def is_revoked(conn: Connection, claims: Claims) -> bool:
    found = conn.execute(select(REVOKED.c.token_id).where(REVOKED.c.token_id == claims.token_id))
    return found.first() is not None


def user_of(conn: Connection, claims: Claims) -> User:
    """The user a verified token speaks for, if the token is still current."""
    user = find_user(conn, claims.username)
    if user is None or not user.active or user.version != claims.version:
        raise NotAuthenticated("the token is no longer valid (user changed); log in again")
    return user


def create_api_key(
    conn: Connection,
    username: str,
    *,
    actor: str,
    actor_role: str,
    label: str | None,
    now: datetime,
) -> str:
    """A new API key for ``username``, shown once; only its digest is stored."""
    user = find_user(conn, username)
    if user is None or not user.active:
        raise PermissionDenied(f"user {username!r} does not exist or is disabled")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(API_KEYS).values(
            key_id=key_id,
            username=username,
            key_hash=hashlib.sha256(secret.encode()).hexdigest(),
            label=label,
            created_at=now,
        )
    )
    audit(
        conn,
        actor=actor,
        role=actor_role,
        action="apikey.create",
        object_type="user",
        object_id=username,
        after={"key_id": key_id, "label": label},
    )
    return f"pl_{key_id}_{secret}"


def user_of_api_key(conn: Connection, presented: str, *, now: datetime) -> User:
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != "pl" or len(key_id) != 16 or not secret or not _HEX.match(key_id):
        raise NotAuthenticated("the API key is not valid")
    row = conn.execute(select(API_KEYS).where(API_KEYS.c.key_id == key_id)).mappings().first()
    digest = hashlib.sha256(secret.encode()).hexdigest()
    if (
        row is None
        or row["revoked_at"] is not None
        or not hmac.compare_digest(digest, row["key_hash"])
    ):
        raise NotAuthenticated("the API key is not valid or was revoked")
    user = find_user(conn, row["username"])
    if user is None or not user.active:
        raise NotAuthenticated("the API key's user is disabled")
    last = row["last_used_at"]
    if last is None or last.replace(tzinfo=last.tzinfo or UTC) < now - timedelta(minutes=1):
        # at most one write a minute per key: busy integrations do not write on every call
        conn.execute(update(API_KEYS).where(API_KEYS.c.key_id == key_id).values(last_used_at=now))
    return user


def revoke_api_keys(
    conn: Connection, username: str, *, actor: str, actor_role: str, now: datetime
) -> int:
    done = conn.execute(
        update(API_KEYS)
        .where(API_KEYS.c.username == username, API_KEYS.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit(
        conn,
        actor=actor,
        role=actor_role,
        action="apikey.revoke",
        object_type="user",
        object_id=username,
        after={"revoked": done.rowcount},
    )
    return int(done.rowcount)
