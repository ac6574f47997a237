"""Users (admin), health and one scope-checked loan view.

A route parses, calls one service function of :mod:`postloan.security` inside
one transaction (committed before the response is sent) and returns a schema;
authorisation is checked by :func:`require` and again by the services.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import text

from postloan.api.deps import Ctx, require
from postloan.api.schemas import (
    ApiKeyIn,
    ApiKeyOut,
    ApprovalRef,
    HealthOut,
    LoanOut,
    ReasonIn,
    RoleChangeIn,
    UserIn,
    UserOut,
)
from postloan.security.scope import authorize_object
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
Viewer = Annotated[User, Depends(require("user.view"))]
Admin = Annotated[User, Depends(require("user.manage"))]
NO_NUL = r"^[^\x00]+$"
Username = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]
LoanId = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]


def _out(user: User) -> UserOut:
    return UserOut(**user.public())


@router.get("/health", response_model=HealthOut, tags=["system"])
def health(ctx: Ctx) -> HealthOut:
    """Liveness and database reachability; needs no login."""
    with ctx.store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return HealthOut(status="ok", database=ctx.store.dialect)


@router.get("/users", response_model=list[UserOut], tags=["users"])
def users(
    ctx: Ctx,
    _user: Viewer,
    role: Annotated[str | None, Query(max_length=32, pattern=NO_NUL)] = None,
) -> list[UserOut]:
    with ctx.store.begin() as conn:
        return [_out(u) for u in list_users(conn, role=role)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def create_user(body: UserIn, ctx: Ctx, admin: Admin) -> UserOut:
    with ctx.store.begin() as conn:
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
    return _out(user)


@router.get("/users/{username}", response_model=UserOut, tags=["users"])
def user_detail(username: Username, ctx: Ctx, _user: Viewer) -> UserOut:
    with ctx.store.begin() as conn:
        return _out(get_user(conn, username))


@router.post("/users/{username}/role", response_model=ApprovalRef, status_code=202, tags=["users"])
def change_role(username: Username, body: RoleChangeIn, ctx: Ctx, admin: Admin) -> ApprovalRef:
    """Propose a role change; a second admin approves it under /approvals."""
    with ctx.store.begin() as conn:
        approval_id = propose_role_change(
            conn, username, body.role, maker=admin.username, reason=body.reason
        )
    return ApprovalRef(approval_id=approval_id, state="pending")


@router.post("/users/{username}/disable", response_model=UserOut, tags=["users"])
def disable(username: Username, body: ReasonIn, ctx: Ctx, admin: Admin) -> UserOut:
    with ctx.store.begin() as conn:
        user = set_active(
            conn, username, False, actor=admin.username, actor_role=admin.role, reason=body.reason
        )
    ctx.auth_cache.clear()  # their cached bearer tokens end now, not at the cache's TTL
    return _out(user)


@router.post(
    "/users/{username}/api-keys", response_model=ApiKeyOut, status_code=201, tags=["users"]
)
def new_api_key(username: Username, body: ApiKeyIn, ctx: Ctx, admin: Admin) -> ApiKeyOut:
    """A long-lived API key for a system integration; shown once, stored hashed."""
    with ctx.store.begin() as conn:
        key = create_api_key(
            conn,
            username,
            actor=admin.username,
            actor_role=admin.role,
            label=body.label,
            now=ctx.clock(),
        )
    return ApiKeyOut(api_key=key)


@router.get("/loans/{loan_id}", response_model=LoanOut, tags=["loans"])
def loan(
    loan_id: LoanId, ctx: Ctx, user: Annotated[User, Depends(require("loan.view"))]
) -> LoanOut:
    """A loan's terms, within the caller's data scope (404 outside it)."""
    with ctx.store.begin() as conn:
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
