"""Security settings from ``config.yaml`` (sections ``security:`` and ``approvals:``).

A missing section means the defaults below. Approval limits are integer minor
units per role and approval kind; a checker whose role has no limit for a kind
may approve only proposals without an amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher

from postloan.config import Settings, load_settings
from postloan.domain.errors import ConfigError
from postloan.policy_config import read_config
from postloan.security.passwords import DEFAULT, hasher

DEFAULT_LIMITS: dict[str, dict[str, int]] = {
    # role -> approval kind -> largest amount (minor units) the role may approve
    "supervisor": {"waiver": 1_000_000, "restructuring": 20_000_000},
    "risk_manager": {"waiver": 10_000_000, "restructuring": 100_000_000, "writeoff": 100_000_000},
}


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    token_minutes: int = 60
    session_minutes: int = 480
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    login_attempts_per_minute: int = 10
    password_min_length: int = 8
    argon2_time_cost: int = DEFAULT.time_cost
    argon2_memory_kib: int = DEFAULT.memory_cost
    argon2_parallelism: int = DEFAULT.parallelism
    approval_limits: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_LIMITS.items()}
    )

    def limit(self, role: str, kind: str) -> int | None:
        return self.approval_limits.get(role, {}).get(kind)

    def hasher(self) -> PasswordHasher:
        return hasher(self.argon2_time_cost, self.argon2_memory_kib, self.argon2_parallelism)


def _int(section: dict[str, Any], key: str, default: int, where: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number ≥ 0, not {value!r}")
    return value


def load_security_policy(settings: Settings | None = None) -> SecurityPolicy:
    """The security policy of this installation (defaults where config.yaml is silent)."""
    settings = settings or load_settings()
    data = read_config(settings.config_file)
    where = str(settings.config_file)
    sec = data.get("security") or {}
    appr = data.get("approvals") or {}
    if not isinstance(sec, dict) or not isinstance(appr, dict):
        raise ConfigError(f"{where}: 'security' and 'approvals' must be mappings")
    defaults = SecurityPolicy()
    limits = {k: dict(v) for k, v in DEFAULT_LIMITS.items()}
    raw_limits = appr.get("limits") or {}
    if not isinstance(raw_limits, dict):
        raise ConfigError(f"{where}: approvals.limits must map role -> kind -> amount")
    for role, kinds in raw_limits.items():
        if not isinstance(kinds, dict):
            raise ConfigError(f"{where}: approvals.limits.{role} must map kind -> amount")
        for kind in kinds:
            limits.setdefault(str(role), {})[str(kind)] = _int(
                kinds, kind, 0, f"{where}: approvals.limits.{role}"
            )
    return SecurityPolicy(
        token_minutes=_int(sec, "token_minutes", defaults.token_minutes, where),
        session_minutes=_int(sec, "session_minutes", defaults.session_minutes, where),
        lockout_threshold=_int(sec, "lockout_threshold", defaults.lockout_threshold, where),
        lockout_minutes=_int(sec, "lockout_minutes", defaults.lockout_minutes, where),
        login_attempts_per_minute=_int(
            sec, "login_attempts_per_minute", defaults.login_attempts_per_minute, where
        ),
        password_min_length=_int(sec, "password_min_length", defaults.password_min_length, where),
        argon2_time_cost=max(1, _int(sec, "argon2_time_cost", defaults.argon2_time_cost, where)),
        argon2_memory_kib=max(8, _int(sec, "argon2_memory_kib", defaults.argon2_memory_kib, where)),
        argon2_parallelism=max(
            1, _int(sec, "argon2_parallelism", defaults.argon2_parallelism, where)
        ),
        approval_limits=limits,
    )
