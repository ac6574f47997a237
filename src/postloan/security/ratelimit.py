"""An in-process sliding-window rate limiter for logins (per user name and per client).

One process serves the API (``postloan serve``); behind several workers each keeps
its own window, and the lockout counter in the database still bounds guessing.
"""

from __future__ import annotations

import threading
from collections import deque

from postloan.domain.errors import PermissionDenied


class TooManyAttempts(PermissionDenied):
    code = "too_many_requests"


class SlidingWindow:
    """At most ``limit`` hits per key in any ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> bool:
        """Count one attempt; False when it is over the limit (and is not counted)."""
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys instead of growing forever
                cutoff = now - self.window
                for stale in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
                    del self._hits[stale]
            return True

    def check(self, key: str, now: float) -> None:
        if not self.hit(key, now):
            raise TooManyAttempts(
                f"too many login attempts; wait {int(self.window)} seconds and try again"
            )
