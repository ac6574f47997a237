"""A short-lived, in-process cache of bearer token → user, so that a read does not
pay a database round trip to authenticate (issue 8: the work queue and case page
under load).

Why it is safe: a token is only cached after the full check (signature, expiry,
user active and at the token's ``version``); a hit still honours the token's own
expiry; entries live ``ttl`` seconds at most (default 5 s); the cache is cleared in
this process whenever a user is disabled, an approval (e.g. a role change) is
decided, or a session ends; and state-changing requests never use it (they always
read the user row). So a role change or a disabled user takes effect at once in
this process and within ``ttl`` seconds in the others, and never for a write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from postloan.security.users import User

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    user: User
    token_expires: datetime
    stale_at: float


class TokenCache:
    """Bearer token → user, for ``ttl`` seconds of ``monotonic`` time."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}

    def get(self, token: str, now: datetime) -> User | None:
        """The cached user of ``token``, or None (absent, stale, or the token expired)."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry.stale_at <= self._monotonic() or entry.token_expires <= now:
            self._entries.pop(token, None)
            return None
        return entry.user

    def put(self, token: str, user: User, token_expires: datetime) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded: refilled by the next reads
        self._entries[token] = _Entry(user, token_expires, self._monotonic() + self.ttl)

    def clear(self) -> None:
        """Forget every user (a user or role changed, or a session ended)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
