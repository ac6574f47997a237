"""The life of an outbox message, as a state machine (pure).

``queued`` → ``sending`` (claimed under a lease) → ``sent`` | ``failed`` (will be
retried after a backoff) → ``dead`` after N tries. ``cancelled`` when the reason
for the message vanished (paid, promise made, opted out). A ``sending`` message
whose lease expired is reconciled with the provider before it is sent again.
"""

from __future__ import annotations

import random
from datetime import timedelta
from enum import StrEnum

from postloan.domain.errors import PostLoanError


class IllegalTransition(PostLoanError):
    """A message was asked to move along an edge the state machine does not have."""

    exit_code = 5


class MessageState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


S = MessageState

TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    S.QUEUED: frozenset({S.SENDING, S.CANCELLED}),
    # a lease-expired message goes back to queued (reconciled: not received)
    S.SENDING: frozenset({S.SENT, S.FAILED, S.DEAD, S.QUEUED, S.CANCELLED}),
    S.FAILED: frozenset({S.SENDING, S.CANCELLED}),
    S.SENT: frozenset(),
    S.DEAD: frozenset({S.QUEUED}),  # an operator may requeue a dead letter
    S.CANCELLED: frozenset(),
}

#: States the dispatcher picks up (when ``not_before`` has passed).
READY = (S.QUEUED.value, S.FAILED.value)


def transition(current: MessageState | str, target: MessageState) -> MessageState:
    """``target`` if the edge exists, else ``IllegalTransition``."""
    cur = MessageState(current)
    if target not in TRANSITIONS[cur]:
        raise IllegalTransition(f"a {cur.value} message cannot become {target.value}")
    return target


def after_failure(attempts: int, max_attempts: int) -> MessageState:
    """``dead`` once ``attempts`` reached ``max_attempts``, else ``failed`` (retried)."""
    return S.DEAD if attempts >= max_attempts else S.FAILED


def backoff(
    attempts: int,
    *,
    base_seconds: float = 30.0,
    cap_seconds: float = 3600.0,
    rng: random.Random | None = None,
) -> timedelta:
    """Exponential backoff with full jitter: uniform in [0.5, 1.5) × base × 2^(attempts-1)."""
    raw = min(cap_seconds, base_seconds * (2 ** max(0, attempts - 1)))
    factor = 0.5 + (rng or random).random()
    return timedelta(seconds=min(cap_seconds, raw * factor))
