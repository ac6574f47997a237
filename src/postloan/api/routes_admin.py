"""Users (admin) and maker-checker approvals, plus health and one scope-checked loan view.

A route parses, calls one service function of :mod:`postloan.security` and returns
a schema; authorisation is checked by the services and by :func:`require`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Connection, text

from postloan.api.deps import Ctx, connection, require
from postloan.api.schemas import (
    ApiKeyIn,
    ApiKeyOut,
    ApprovalOut,
    ApprovalRef,
    HealthOut,
    LoanOut,
    ReasonIn,
    RoleChangeIn,
    UserIn,
    UserOut,
)
from postloan.security import approvals as approvals_service
from postloan.security.permissions import APPROVAL_KINDS, has_permission
from postloan.security.scope import authorize_object, not_found
from postloan.security.tokens import create_api_key
from postloan.security.users import (
    User,
    add_user,
    get_user,
    list_users,
    propose_role_change,
    set_active,
)

router = APIRouter(prefix="/api/v1")
Conn = Annotated[Connection, Depends(connection)]


def _user_out(user: User) -> UserOut:
    return UserOut(**user.public())


@router.get("/health", response_model=HealthOut, tags=["system"])
def health(ctx: Ctx) -> HealthOut:
    """Liveness and database reachability; needs no login."""
    with ctx.store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return HealthOut(status="ok", database=ctx.store.dialect)


@router.get("/users", response_model=list[UserOut], tags=["users"])
def users(
    conn: Conn,
    _user: Annotated[User, Depends(require("user.view"))],
    role: str | None = None,
) -> list[UserOut]:
    return [_user_out(u) for u in list_users(conn, role=role)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def create_user(
    body: UserIn, conn: Conn, ctx: Ctx, admin: Annotated[User, Depends(require("user.manage"))]
) -> UserOut:
    user = add_user(
        conn,
        username=body.username,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
        team=body.team,
        region=body.region,
        skills=body.skills,
        capacity=body.capacity,
        actor=admin.username,
        actor_role=admin.role,
        policy=ctx.policy,
        now=ctx.clock(),
    )
    return _user_out(user)


@router.get("/users/{username}", response_model=UserOut, tags=["users"])
def user_detail(
    username: str, conn: Conn, _user: Annotated[User, Depends(require("user.view"))]
) -> UserOut:
    return _user_out(get_user(conn, username))


@router.post("/users/{username}/role", response_model=ApprovalRef, status_code=202, tags=["users"])
def change_role(
    username: str,
    body: RoleChangeIn,
    conn: Conn,
    admin: Annotated[User, Depends(require("user.manage"))],
) -> ApprovalRef:
    """Propose a role change; a second admin approves it under /approvals."""
    approval_id = propose_role_change(
        conn, username, body.role, maker=admin.username, reason=body.reason
    )
    return ApprovalRef(approval_id=approval_id, state="pending")


@router.post("/users/{username}/disable", response_model=UserOut, tags=["users"])
def disable(
    username: str,
    body: ReasonIn,
    conn: Conn,
    admin: Annotated[User, Depends(require("user.manage"))],
) -> UserOut:
    user = set_active(
        conn, username, False, actor=admin.username, actor_role=admin.role, reason=body.reason
    )
    return _user_out(user)


@router.post(
    "/users/{username}/api-keys", response_model=ApiKeyOut, status_code=201, tags=["users"]
)
def new_api_key(
    username: str,
    body: ApiKeyIn,
    conn: Conn,
    ctx: Ctx,
    admin: Annotated[User, Depends(require("user.manage"))],
) -> ApiKeyOut:
    """A long-lived API key for a system integration; shown once, stored hashed."""
    key = create_api_key(
        conn,
        username,
        actor=admin.username,
        actor_role=admin.role,
        label=body.label,
        now=ctx.clock(),
    )
    return ApiKeyOut(api_key=key)


def _visible(user: User, approval: approvals_service.Approval) -> bool:
    """Auditors and admins see every approval; others theirs and those they may decide."""
    if user.role in ("auditor", "admin") or approval.maker == user.username:
        return True
    kind = approval.action.split(".", 1)[0]
    return kind in APPROVAL_KINDS and has_permission(user.role, APPROVAL_KINDS[kind][1])


@router.get("/approvals", response_model=list[ApprovalOut], tags=["approvals"])
def approvals(
    conn: Conn,
    user: Annotated[User, Depends(require("approval.view"))],
    state: Annotated[Literal["pending", "approved", "rejected", "applied"] | None, Query()] = None,
    mine: bool = False,
) -> list[ApprovalOut]:
    found = approvals_service.list_approvals(
        conn, state=state, maker=user.username if mine else None
    )
    return [ApprovalOut(**a.public()) for a in found if _visible(user, a)]


@router.get("/approvals/{approval_id}", response_model=ApprovalOut, tags=["approvals"])
def approval_detail(
    approval_id: int, conn: Conn, user: Annotated[User, Depends(require("approval.view"))]
) -> ApprovalOut:
    approval = approvals_service.get_approval(conn, approval_id)
    if not _visible(user, approval):
        raise not_found("approval", str(approval_id))
    return ApprovalOut(**approval.public())


def _decide(
    conn: Connection, ctx: Ctx, user: User, approval_id: int, approve: bool, reason: str | None
) -> ApprovalOut:
    approval = approvals_service.get_approval(conn, approval_id)
    if not _visible(user, approval):
        raise not_found("approval", str(approval_id))
    decided = approvals_service.decide(
        conn,
        approval_id,
        checker=user.username,
        approve=approve,
        reason=reason,
        policy=ctx.policy,
        now=ctx.clock(),
    )
    return ApprovalOut(**decided.public())


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalOut, tags=["approvals"])
def approve(
    approval_id: int,
    body: ReasonIn,
    conn: Conn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("approval.view"))],
) -> ApprovalOut:
    """Approve and apply (the checker must not be the maker, and needs the limit)."""
    return _decide(conn, ctx, user, approval_id, True, body.reason)


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalOut, tags=["approvals"])
def reject(
    approval_id: int,
    body: ReasonIn,
    conn: Conn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("approval.view"))],
) -> ApprovalOut:
    return _decide(conn, ctx, user, approval_id, False, body.reason)


@router.get("/loans/{loan_id}", response_model=LoanOut, tags=["loans"])
def loan(loan_id: str, conn: Conn, user: Annotated[User, Depends(require("loan.view"))]) -> LoanOut:
    """A loan's terms, within the caller's data scope (404 outside it)."""
    authorize_object(conn, user, "loan.view", "loan", loan_id)
    row = conn.execute(
        text(
            "SELECT loan_id, borrower_id, product, principal, currency, officer_id "
            "FROM loans WHERE loan_id = :id"
        ),
        {"id": loan_id},
    ).one()
    return LoanOut(
        loan_id=row[0],
        borrower_id=row[1],
        product=row[2],
        principal_minor=int(row[3]),
        currency=row[4],
        officer_id=row[5],
    )
