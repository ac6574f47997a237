"""Risk models: the registry (list, view metrics), the monitoring history of a
model, and a proposal to activate one (maker-checker ``model.activate``: another
risk manager approves it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from postloan.api.deps import Ctx, require
from postloan.api.schemas import ApprovalRef, ReasonIn
from postloan.risk.monitoring_history import history
from postloan.risk.registry import list_models, read_meta
from postloan.security.approvals import propose
from postloan.security.users import User

router = APIRouter(prefix="/api/v1", tags=["models"])
Viewer = Annotated[User, Depends(require("model.view"))]
ModelId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")]


class ModelRow(BaseModel):
    model_id: str
    purpose: str
    kind: str
    created_at: str | None
    training_window: Any
    features: int
    metrics: dict[str, Any] | None
    active: bool


class ModelOut(BaseModel):
    model_id: str
    purpose: str
    kind: str
    created_at: str | None
    training_window: Any
    features: list[Any]
    metrics: dict[str, Any] | None
    active: bool


@router.get("/models", response_model=list[ModelRow])
def models(ctx: Ctx, _user: Viewer) -> Any:
    """Registered models, newest first, with their holdout metrics."""
    return list_models(ctx.store.settings)


@router.get("/models/{model_id}", response_model=ModelOut)
def model(model_id: ModelId, ctx: Ctx, _user: Viewer) -> Any:
    meta = read_meta(ctx.store.settings, model_id)
    live = {m["model_id"] for m in list_models(ctx.store.settings) if m["active"]}
    return {
        "model_id": meta["model_id"],
        "purpose": meta["purpose"],
        "kind": meta["kind"],
        "created_at": meta.get("created_at"),
        "training_window": meta.get("training_window"),
        "features": list(meta.get("features") or []),
        "metrics": meta.get("metrics"),
        "active": meta["model_id"] in live,
    }


class MonitoringRow(BaseModel):
    business_date: date
    model_id: str
    purpose: str
    rows: int
    psi_probability: float
    band: str
    feature_psi: dict[str, float]
    realised_auc: float | None
    realised_ks: float | None
    realised_gini: float | None
    realised_rows: int | None
    calibration: list[dict[str, Any]] | None
    alerts: list[dict[str, Any]]


@router.get("/models/{model_id}/monitoring", response_model=list[MonitoringRow])
def monitoring(
    model_id: ModelId,
    ctx: Ctx,
    _user: Viewer,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Any:
    """The model's monitoring per scoring date (PSI and bands, realised AUC/KS once
    matured, calibration, model alerts), oldest first."""
    read_meta(ctx.store.settings, model_id)  # 404 for a model that is not registered
    with ctx.store.begin() as conn:
        return history(conn, model_id=model_id, start=start, end=end)


@router.post("/models/{model_id}/activate", response_model=ApprovalRef, status_code=202)
def propose_activation(
    model_id: ModelId,
    body: ReasonIn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("model.propose"))],
) -> ApprovalRef:
    """Propose making the model the active one of its purpose."""
    meta = read_meta(ctx.store.settings, model_id)
    with ctx.store.begin() as conn:
        approval_id = propose(
            conn,
            maker=user.username,
            action="model.activate",
            object_type="model",
            object_id=model_id,
            payload={"model_id": model_id, "purpose": meta["purpose"]},
            reason=body.reason,
        )
    return ApprovalRef(approval_id=approval_id, state="pending")
