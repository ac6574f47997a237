"""What every request needs: the store, the token signer, the policy, a clock, and the
short-lived cache of authenticated bearer tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from postloan.api.authcache import TokenCache
from postloan.security.config import SecurityPolicy
from postloan.security.ratelimit import SlidingWindow
from postloan.security.tokens import TokenSigner
from postloan.store import Store

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiContext:
    store: Store
    signer: TokenSigner
    policy: SecurityPolicy
    clock: Clock
    login_by_user: SlidingWindow
    login_by_client: SlidingWindow
    auth_cache: TokenCache = field(default_factory=TokenCache)
