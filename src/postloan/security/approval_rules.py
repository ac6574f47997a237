"""Maker-checker rules, pure: the approval states and who may decide.

pending → approved → applied, or pending → rejected. The checker is never the
maker, holds the approve permission of the action's kind, and (for a proposal
with an amount) a limit at least as large as the amount.
"""

from __future__ import annotations

from enum import StrEnum

from postloan.domain.errors import IllegalTransition, PermissionDenied, ValidationError
from postloan.security.permissions import APPROVAL_KINDS, approval_kind, has_permission


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"


TRANSITIONS: dict[ApprovalState, frozenset[ApprovalState]] = {
    ApprovalState.PENDING: frozenset({ApprovalState.APPROVED, ApprovalState.REJECTED}),
    ApprovalState.APPROVED: frozenset({ApprovalState.APPLIED}),
    ApprovalState.REJECTED: frozenset(),
    ApprovalState.APPLIED: frozenset(),
}


def move(state: ApprovalState, to: ApprovalState) -> ApprovalState:
    if to not in TRANSITIONS[state]:
        raise IllegalTransition(f"an approval cannot go from {state.value} to {to.value}")
    return to


def kind_of(action: str) -> str:
    """The approval kind of ``action`` (``"waiver.grant"`` → ``"waiver"``)."""
    kind = approval_kind(action)
    if kind is None:
        kinds = ", ".join(f"{k}.*" for k in APPROVAL_KINDS)
        raise ValidationError(f"{action!r} is not a maker-checker action; use one of: {kinds}")
    return kind


def check_maker(maker_role: str, action: str) -> None:
    """A maker needs the propose permission of the kind (``system`` proposes anything)."""
    permission = APPROVAL_KINDS[kind_of(action)][0]
    if maker_role != "system" and not has_permission(maker_role, permission):
        raise PermissionDenied(
            f"role {maker_role!r} may not propose {action!r} (needs {permission!r})"
        )


def check_checker(
    *,
    maker: str,
    checker: str,
    checker_role: str,
    action: str,
    amount_minor: int | None,
    limit_minor: int | None,
) -> None:
    """Raise PermissionDenied unless ``checker`` may decide this proposal."""
    if checker == maker:
        raise PermissionDenied(
            "the checker cannot be the maker: another user with the approve permission "
            "must decide this proposal"
        )
    permission = APPROVAL_KINDS[kind_of(action)][1]
    if not has_permission(checker_role, permission):
        raise PermissionDenied(
            f"role {checker_role!r} may not decide {action!r} (needs {permission!r})"
        )
    if amount_minor is not None and (limit_minor is None or amount_minor > limit_minor):
        shown = "none" if limit_minor is None else str(limit_minor)
        raise PermissionDenied(
            f"amount {amount_minor} (minor units) exceeds the approval limit of role "
            f"{checker_role!r} for {kind_of(action)!r} ({shown}); a user with a higher limit "
            "must decide, or raise approvals.limits in config.yaml"
        )
