"""Password hashing with argon2id (argon2-cffi; its recommended parameters by default).

The cost parameters come from ``config.yaml`` (``security.argon2_*``) so that a
test installation can make hashing cheap; a stored hash carries its own
parameters, so verifying never depends on the configuration.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from postloan.domain.errors import ValidationError

DEFAULT = PasswordHasher()


@cache
def hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@cache
def _dummy(with_hasher: PasswordHasher) -> str:
    # Verified against when the user does not exist, so both paths cost about the same.
    return with_hasher.hash("postloan-no-such-user")


def hash_password(
    password: str, *, min_length: int = 8, with_hasher: PasswordHasher = DEFAULT
) -> str:
    if len(password) < min_length:
        raise ValidationError(f"the password is too short: use at least {min_length} characters")
    return with_hasher.hash(password)


def verify_password(
    stored: str | None, password: str, *, dummy_with: PasswordHasher = DEFAULT
) -> bool:
    """True when ``password`` matches ``stored`` (a missing hash never matches)."""
    try:
        return DEFAULT.verify(stored or _dummy(dummy_with), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
