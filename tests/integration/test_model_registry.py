"""The model registry on disk, activation (direct, then maker-checker once users
exist, audited) and monitoring against the training sample."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select

from postloan.config import load_settings
from postloan.domain.errors import NotFound, PermissionDenied
from postloan.risk import registry
from postloan.risk.models import TrainedModel, train
from postloan.risk.monitoring import monitor
from postloan.store import Store
from postloan.store.tables_audit import AuditEntry


def synthetic(n: int, seed: int) -> pl.DataFrame:
    """Loans whose risk rises with max_dpd_12m and utilisation (as in the unit tests)."""
    rng = np.random.default_rng(seed)
    dpd = rng.choice([0, 0, 0, 0, 0, 3, 10, 25, 45, 80], size=n)
    util = rng.uniform(0, 1, n)
    product = rng.choice(["consumer", "credit_line", "sme"], n)
    logit = -3.5 + 0.045 * dpd + 1.2 * util + (product == "sme") * 0.6
    return pl.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(n)],
            "max_dpd_12m": dpd,
            "utilisation": util,
            "noise": rng.normal(size=n),
            "product": product,
            "bad": rng.uniform(size=n) < 1 / (1 + np.exp(-logit)),
        }
    )


DATA = synthetic(3000, seed=5)


@pytest.fixture(scope="module", params=["lgbm", "scorecard"])
def model(request: pytest.FixtureRequest) -> TrainedModel:
    return train(DATA, "bad", kind=request.param, purpose="bscore", monotone={"max_dpd_12m": 1})


def _register(model: TrainedModel) -> str:
    return registry.register(
        load_settings(), model, training_window=None, data_hash="abc123", metrics={}, params={}
    )


def test_register_and_load_round_trip(model: TrainedModel) -> None:
    from datetime import date

    settings = load_settings()
    model_id = registry.register(
        settings, model, training_window=(date(2025, 1, 31), date(2025, 12, 31)),
        data_hash="abc123", metrics={"test": {"auc": 0.8}}, params={"note": "unit"},
    )  # fmt: skip
    assert re.fullmatch(r"bscore-\d{8}-[0-9a-f]{6}", model_id)
    assert model.model_id == model_id
    folder = settings.models_dir / model_id
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert meta["training_window"] == ["2025-01-31", "2025-12-31"]
    assert meta["data_hash"] == "abc123" and meta["metrics"]["test"]["auc"] == 0.8
    assert meta["features"] == model.features and meta["created_at"]
    assert meta["params"]["note"] == "unit"
    artefact = "model.txt" if model.kind == "lgbm" else "scorecard.json"
    assert (folder / artefact).exists()
    loaded = registry.load(settings, model_id)
    assert loaded.kind == model.kind and loaded.training_window == model.training_window
    assert_frame_equal(loaded.score(DATA), model.score(DATA))
    assert [m["model_id"] for m in registry.list_models(settings)] == [model_id]
    assert registry.active(settings, "bscore") is None
    with pytest.raises(NotFound, match="postloan model list"):
        registry.load(settings, "bscore-20990101-000000")


def test_direct_activation_before_users_exist_is_audited(model: TrainedModel, store: Store) -> None:
    model_id = _register(model)
    done = registry.activate(store.settings, model_id, user="installer")
    assert done["state"] == "active" and done["previous"] is None
    active = registry.active(store.settings, "bscore")
    assert active is not None and active.model_id == model_id
    with store.begin() as conn:
        audit = AuditEntry.__table__
        rows = conn.execute(
            select(audit.c.actor, audit.c.action).where(audit.c.object_id == model_id)
        ).all()
    assert [(r.actor, r.action) for r in rows] == [("installer", "model.activate")]


def test_activation_needs_a_second_risk_manager(model: TrainedModel, store: Store) -> None:
    from postloan.security.approvals import decide
    from postloan.security.users import add_user

    with store.begin() as conn:
        for name in ("rm1", "rm2"):
            add_user(conn, username=name, role="risk_manager", password=None)
    model_id = _register(model)
    asked = registry.activate(store.settings, model_id, user="rm1", reason="better KS")
    assert asked["state"] == "pending"
    assert registry.active(store.settings, "bscore") is None  # not before approval
    with store.begin() as conn, pytest.raises(PermissionDenied):
        decide(conn, asked["approval_id"], checker="rm1", approve=True, reason=None)
    with store.begin() as conn:
        decide(conn, asked["approval_id"], checker="rm2", approve=True, reason="reviewed")
    active = registry.active(store.settings, "bscore")
    assert active is not None and active.model_id == model_id
    doc = json.loads((store.settings.models_dir / "active.json").read_text(encoding="utf-8"))
    assert doc["bscore"]["by"] == "rm2" and doc["bscore"]["approval_id"] == asked["approval_id"]
    with store.begin() as conn:
        audit = AuditEntry.__table__
        row = conn.execute(
            select(audit.c.actor, audit.c.entry).where(
                audit.c.object_id == model_id, audit.c.action == "model.activate"
            )
        ).one()
    assert row.actor == "rm2" and '"risk_manager"' in row.entry


def test_monitoring_flags_a_shifted_feature_and_a_shifted_score(model: TrainedModel) -> None:
    same = monitor(model, DATA, outcomes=DATA["bad"].cast(pl.Int8).to_numpy())
    assert same["alerts"] == []
    assert same["psi"]["probability"] < 0.01
    assert same["realised"]["auc"] > 0.7
    assert len(same["calibration"]) == 10
    observed = [r["observed"] for r in same["calibration"]]
    assert observed[-1] > observed[0]
    rng = np.random.default_rng(9)
    shifted = DATA.with_columns(
        pl.Series("max_dpd_12m", rng.choice([30, 60, 90], DATA.height)),
    )
    drift = monitor(model, shifted)
    subjects = {a["subject"]: a for a in drift["alerts"]}
    assert subjects["max_dpd_12m"]["band"] == "shift"
    assert subjects["probability"]["band"] in ("watch", "shift")
    assert "utilisation" not in subjects
    assert drift["realised"] is None
