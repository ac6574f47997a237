"""Maker-checker approvals over HTTP: list, show, approve (and apply), reject."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from postloan.api.deps import Ctx, require
from postloan.api.schemas import MAX_INT32, ApprovalOut, ReasonIn
from postloan.security import approvals as service
from postloan.security.permissions import APPROVAL_KINDS, has_permission
from postloan.security.scope import not_found
from postloan.security.users import User

router = APIRouter(prefix="/api/v1", tags=["approvals"])
Viewer = Annotated[User, Depends(require("approval.view"))]
State = Literal["pending", "approved", "rejected", "applied"]
ApprovalId = Annotated[int, Path(ge=1, le=MAX_INT32)]


def visible(user: User, approval: service.Approval) -> bool:
    """Auditors and admins see every approval; others theirs and those they may decide."""
    if user.role in ("auditor", "admin") or approval.maker == user.username:
        return True
    kind = approval.action.split(".", 1)[0]
    return kind in APPROVAL_KINDS and has_permission(user.role, APPROVAL_KINDS[kind][1])


@router.get("/approvals", response_model=list[ApprovalOut])
def approvals(
    ctx: Ctx,
    user: Viewer,
    state: Annotated[State | None, Query()] = None,
    mine: bool = False,
) -> list[ApprovalOut]:
    with ctx.store.begin() as conn:
        found = service.list_approvals(conn, state=state, maker=user.username if mine else None)
    return [ApprovalOut(**a.public()) for a in found if visible(user, a)]


@router.get("/approvals/{approval_id}", response_model=ApprovalOut)
def approval_detail(approval_id: ApprovalId, ctx: Ctx, user: Viewer) -> ApprovalOut:
    with ctx.store.begin() as conn:
        approval = service.get_approval(conn, approval_id)
    if not visible(user, approval):
        raise not_found("approval", str(approval_id))
    return ApprovalOut(**approval.public())


def _decide(
    ctx: Ctx, user: User, approval_id: ApprovalId, approve: bool, reason: str | None
) -> ApprovalOut:
    with ctx.store.begin() as conn:
        if not visible(user, service.get_approval(conn, approval_id)):
            raise not_found("approval", str(approval_id))
        decided = service.decide(
            conn,
            approval_id,
            checker=user.username,
            approve=approve,
            reason=reason,
            policy=ctx.policy,
            now=ctx.clock(),
        )
    ctx.auth_cache.clear()  # an applied role change ends the user's cached tokens now
    return ApprovalOut(**decided.public())


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalOut)
def approve(approval_id: ApprovalId, body: ReasonIn, ctx: Ctx, user: Viewer) -> ApprovalOut:
    """Approve and apply (the checker must not be the maker, and needs the limit)."""
    return _decide(ctx, user, approval_id, True, body.reason)


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalOut)
def reject(approval_id: ApprovalId, body: ReasonIn, ctx: Ctx, user: Viewer) -> ApprovalOut:
    """Reject (a reason for the maker is required)."""
    return _decide(ctx, user, approval_id, False, body.reason)
