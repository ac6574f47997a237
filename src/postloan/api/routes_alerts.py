"""The alert inbox: list/filter, detail and the moves new → acknowledged → actioned
→ closed, optimistic-locked on the version the caller saw (stale: ``409``).
A loan officer sees the alerts of their own loans only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from postloan.api.deps import Ctx, require
from postloan.api.pagination import Page, PageParams, page_params
from postloan.api.queries_scope import loan_id_filter
from postloan.api.schemas import MAX_INT32, Text
from postloan.risk import alerts as service
from postloan.security.scope import authorize_object
from postloan.security.users import User
from postloan.store.tables_risk import Alert

router = APIRouter(prefix="/api/v1", tags=["alerts"])
Viewer = Annotated[User, Depends(require("alert.view"))]
Worker = Annotated[User, Depends(require("alert.update"))]
Paging = Annotated[PageParams, Depends(page_params)]
NO_NUL = r"^[^\x00]+$"
AlertId = Annotated[int, Path(ge=1, le=MAX_INT32)]
Filter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)]
State = Literal["new", "acknowledged", "actioned", "closed"]


class AlertOut(BaseModel):
    id: int
    alert_key: str
    rule_id: str
    loan_id: str
    business_date: date
    severity: str
    owner_role: str
    owner_team: str | None
    owner_user: str | None
    state: str
    version: int
    sla_due_at: datetime
    detail: dict[str, Any] | None


class AlertMoveIn(BaseModel):
    expected_version: int = Field(ge=1, le=MAX_INT32)
    note: Text | None = Field(default=None, max_length=2000)


def _visible(ctx: Ctx, user: User, alert_id: int) -> service.AlertView:
    with ctx.store.begin() as conn:
        found = service.get_alert(conn, alert_id)
        authorize_object(conn, user, "alert.view", "loan", found.loan_id)
    return found


@router.get("/alerts", response_model=Page[AlertOut])
def alerts(
    ctx: Ctx,
    user: Viewer,
    paging: Paging,
    state: Annotated[State | None, Query()] = None,
    rule_id: Filter = None,
    severity: Filter = None,
    owner: Filter = None,
    loan_id: Filter = None,
) -> Page[AlertOut]:
    """Alerts in scope, newest first; ``owner`` matches the owner user, team or role."""
    query = select(Alert.id).where(loan_id_filter(user, Alert.loan_id))
    for column, value in [
        (Alert.state, state),
        (Alert.rule_id, rule_id),
        (Alert.severity, severity),
        (Alert.loan_id, loan_id),
    ]:
        if value is not None:
            query = query.where(column == value)
    if owner is not None:
        query = query.where(
            (Alert.owner_user == owner) | (Alert.owner_team == owner) | (Alert.owner_role == owner)
        )
    with ctx.store.begin() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        ids = conn.execute(
            query.order_by(Alert.id.desc()).offset(paging.offset).limit(paging.size)
        ).scalars()
        items = [AlertOut(**service.get_alert(conn, i).as_json()) for i in list(ids)]
    return Page(items=items, total=int(total), page=paging.page, size=paging.size)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def alert(alert_id: AlertId, ctx: Ctx, user: Viewer) -> AlertOut:
    return AlertOut(**_visible(ctx, user, alert_id).as_json())


def _move(ctx: Ctx, user: User, alert_id: int, target: str, body: AlertMoveIn) -> AlertOut:
    with ctx.store.begin() as conn:
        found = service.get_alert(conn, alert_id)
        authorize_object(conn, user, "alert.update", "loan", found.loan_id)
        moved = service.move_alert(
            conn,
            alert_id,
            target,
            user=user.username,
            role=user.role,
            now=ctx.clock(),
            expected_version=body.expected_version,
            note=body.note,
        )
    return AlertOut(**moved.as_json())


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: AlertId, body: AlertMoveIn, ctx: Ctx, user: Worker) -> AlertOut:
    return _move(ctx, user, alert_id, "acknowledged", body)


@router.post("/alerts/{alert_id}/action", response_model=AlertOut)
def action(alert_id: AlertId, body: AlertMoveIn, ctx: Ctx, user: Worker) -> AlertOut:
    """Mark the alert actioned (something was done about it)."""
    return _move(ctx, user, alert_id, "actioned", body)


@router.post("/alerts/{alert_id}/close", response_model=AlertOut)
def close(alert_id: AlertId, body: AlertMoveIn, ctx: Ctx, user: Worker) -> AlertOut:
    """Close the alert (from new or acknowledged: a false alarm)."""
    return _move(ctx, user, alert_id, "closed", body)
