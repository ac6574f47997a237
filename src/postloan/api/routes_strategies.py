"""Collections strategies: list versions, view, validate, dry-run, propose activation
(maker-checker: a second risk manager approves under ``/approvals``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from sqlalchemy import select

from postloan.api.deps import Ctx, require
from postloan.api.schemas import ApprovalRef, Text
from postloan.collections.activation import STRATEGIES, active_strategy, propose_activation
from postloan.collections.dry_run import dry_run
from postloan.collections.strategy_io import check_templates, default_text, parse_text
from postloan.security.scope import not_found
from postloan.security.users import User
from postloan.store.snapshots import SnapshotStore

router = APIRouter(prefix="/api/v1", tags=["strategies"])
Viewer = Annotated[User, Depends(require("strategy.view"))]
Version = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]
MAX_TEXT = 200_000


class StrategyRow(BaseModel):
    version: str
    name: str
    status: str
    sha256: str | None
    proposed_by: str | None
    proposed_at: datetime | None
    approval_id: int | None
    activated_by: str | None
    activated_at: datetime | None


class StrategyOut(StrategyRow):
    body: str


class StrategyText(BaseModel):
    text: Text = Field(min_length=1, max_length=MAX_TEXT, description="strategy YAML or JSON")


class Validated(BaseModel):
    valid: bool
    version: str
    name: str
    segments: int
    groups: dict[str, int]


class DryRunIn(BaseModel):
    date: date
    text: Text | None = Field(
        default=None, max_length=MAX_TEXT, description="a strategy to try; default: the active one"
    )


class DryRunOut(BaseModel):
    date: str
    strategy_version: str
    loans_considered: int
    segments: list[dict[str, Any]]
    actions_due: list[dict[str, Any]]


_COLUMNS = [STRATEGIES.c[name] for name in StrategyRow.model_fields]
_SHIPPED = {"status": "shipped default", "sha256": None} | dict.fromkeys(
    ("proposed_by", "proposed_at", "approval_id", "activated_by", "activated_at")
)


@router.get("/strategies", response_model=list[StrategyRow])
def strategies(ctx: Ctx, _user: Viewer) -> Any:
    """Stored versions (proposed, active, retired), newest proposal first; the shipped
    default is listed while no version is active."""
    with ctx.store.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(*_COLUMNS))]
    rows.sort(key=lambda r: (r["proposed_at"] is not None, r["proposed_at"]), reverse=True)
    if not any(r["status"] == "active" for r in rows):
        shipped = parse_text(default_text(), "default strategy")
        rows.append({"version": shipped.version, "name": shipped.name} | _SHIPPED)
    return rows


@router.get("/strategies/{version}", response_model=StrategyOut)
def strategy(version: Version, ctx: Ctx, _user: Viewer) -> Any:
    with ctx.store.begin() as conn:
        row = conn.execute(
            select(*_COLUMNS, STRATEGIES.c.body).where(STRATEGIES.c.version == version)
        ).first()
    if row is not None:
        return dict(row._mapping)
    shipped = parse_text(default_text(), "default strategy")
    if shipped.version == version:
        return {"version": version, "name": shipped.name, "body": default_text()} | _SHIPPED
    raise not_found("strategy", version)


@router.post("/strategies/validate", response_model=Validated)
def validate(body: StrategyText, _user: Viewer) -> Validated:
    """Check a strategy text (``422`` with the problems when it is not valid)."""
    parsed = parse_text(body.text, "strategy")
    check_templates(parsed, "strategy")
    return Validated(
        valid=True,
        version=parsed.version,
        name=parsed.name,
        segments=len(parsed.segments),
        groups=dict(parsed.groups),
    )


@router.post("/strategies/dry-run", response_model=DryRunOut)
def dry_run_strategy(body: DryRunIn, ctx: Ctx, _user: Viewer) -> Any:
    """Loans per segment and group and the actions due on ``date``; nothing is written."""
    with ctx.store.begin() as conn:
        parsed = parse_text(body.text, "strategy") if body.text else active_strategy(conn)
        snapshots = SnapshotStore(ctx.store.settings.snapshot_dir)
        return dry_run(conn, snapshots, parsed, body.date)


@router.post("/strategies", response_model=ApprovalRef, status_code=202)
def propose(
    body: StrategyText, ctx: Ctx, user: Annotated[User, Depends(require("strategy.propose"))]
) -> ApprovalRef:
    """Store the strategy as a proposed version and ask for its activation."""
    with ctx.store.begin() as conn:
        approval_id = propose_activation(conn, body.text, "strategy", user=user.username)
    return ApprovalRef(approval_id=approval_id, state="pending")
