"""Monitoring in the close of business: after SCORE commits, each active model's
run is measured and recorded (``model_monitoring``, one row per model and date),
and a band crossing raises a model alert for the risk managers.

- Stability: PSI of today's probabilities (the SCORE step's, not re-computed)
  and of every feature of the scored population against the training sample.
- Realised discrimination: the ``scores`` snapshot of exactly (date − horizon)
  — 30 days for the C-score, 90/180 for the B-scores — holds the probabilities
  the same model gave then; the outcomes of those loans come from the
  ``loan_state`` snapshots in (date − horizon, date] (:mod:`postloan.risk.labels`).
  No snapshot of that date, or a different model then → no realised figures
  (``None``), never a guess.
- Alerts: one per model, band and date (``watch``/``shift`` of PSI, ``drop`` of
  realised AUC), key ``model:{model_id}:{band}:{date}``, rule ``model_monitoring``,
  routed to the ``risk_manager`` role; the subjects that crossed are in ``detail``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from sqlalchemy import Connection

from postloan.risk.labels import label, outcome_event, target_of
from postloan.risk.monitoring_history import record
from postloan.risk.scoring import population

if TYPE_CHECKING:
    from postloan.batch.steps import CommitContext
    from postloan.config import Settings
    from postloan.risk.models import TrainedModel

__all__ = ["RULE_ID", "commit_monitoring", "matured_outcomes", "model_alerts"]

RULE_ID = "model_monitoring"
OWNER_ROLE = "risk_manager"
_SEVERITY = {"shift": "high", "drop": "high", "watch": "medium"}
_SLA_HOURS = {"high": 24, "medium": 72}


def matured_outcomes(
    settings: Settings, purpose: str, model_id: str, business_date: date
) -> tuple[np.ndarray, np.ndarray] | None:
    """(outcomes, probabilities) of the loans ``model_id`` scored on date − horizon,
    or None when that run is not in the snapshot store."""
    from postloan.store.snapshots import SnapshotStore

    snaps = SnapshotStore(settings.snapshot_dir)
    horizon = target_of(purpose).horizon_days
    then = business_date - timedelta(days=horizon)
    if then not in snaps.dates("scores"):
        return None
    old = snaps.read("scores", then).filter(
        (pl.col("purpose") == purpose) & (pl.col("model_id") == model_id)
    )
    if old.height == 0:
        return None
    later = (
        snaps.scan("loan_state", then + timedelta(days=1), business_date)
        .select("loan_id", "business_date", "days_past_due", "status")
        .filter(outcome_event(purpose))
        .join(old.select("loan_id").lazy(), on="loan_id", how="semi")
        .collect()
    )
    obs = old.select("loan_id", pl.lit(then, dtype=pl.Date).alias("business_date"), "probability")
    labelled = label(obs, later, purpose)
    column = target_of(purpose).column
    return (
        labelled.get_column(column).cast(pl.Int8).to_numpy(),
        labelled.get_column("probability").to_numpy(),
    )


def model_alerts(doc: Mapping[str, Any], purpose: str, business_date: date) -> pl.DataFrame:
    """Alert candidates (``postloan.risk.alert_rules.CANDIDATE_SCHEMA``) of a monitoring
    run: one per band crossed, with every subject that crossed it."""
    from postloan.risk.alert_rules import CANDIDATE_SCHEMA

    model_id = str(doc["model_id"] or purpose)
    by_band: dict[str, list[dict[str, Any]]] = {}
    for alert in doc.get("alerts") or []:
        by_band.setdefault(str(alert["band"]), []).append(alert)
    rows = []
    for band, items in sorted(by_band.items()):
        severity = _SEVERITY.get(band, "medium")
        rows.append(
            {
                "alert_key": f"model:{model_id}:{band}:{business_date.isoformat()}",
                "rule_id": RULE_ID,
                "loan_id": f"model:{model_id}",
                "borrower_id": None,
                "severity": severity,
                "owner_role": OWNER_ROLE,
                "owner_team": None,
                "owner_user": None,
                "sla_hours": _SLA_HOURS[severity],
                "detail": json.dumps(
                    {
                        "model_id": model_id,
                        "purpose": purpose,
                        "band": band,
                        "subjects": {a["subject"]: a["value"] for a in items},
                    },
                    ensure_ascii=False,
                ),
            }
        )
    return pl.DataFrame(rows, schema=CANDIDATE_SCHEMA)


def commit_monitoring(
    conn: Connection, ctx: CommitContext, models: Mapping[str, TrainedModel]
) -> list[dict[str, Any]]:
    """Record the monitoring of each model that scored today and raise its alerts;
    the recorded rows. Re-running the date replaces the rows and adds no alert."""
    from postloan.risk.alerts import raise_alerts
    from postloan.risk.monitoring import monitor_run

    scores = ctx.frames.get("scores")
    features = ctx.frames.get("features")
    if scores is None or features is None or scores.height == 0:
        return []
    out = []
    for purpose, model in models.items():
        model_id = model.model_id or purpose
        run = scores.filter((pl.col("purpose") == purpose) & (pl.col("model_id") == model_id))
        if run.height == 0:
            continue
        frame = population(features, purpose)
        matured = matured_outcomes(ctx.settings, purpose, model_id, ctx.business_date)
        doc = monitor_run(model, frame, run.get_column("probability").to_numpy(), matured)
        doc["model_id"] = model_id
        out.append(record(conn, doc, ctx.business_date, purpose))
        candidates = model_alerts(doc, purpose, ctx.business_date)
        raise_alerts(conn, candidates, ctx.business_date, ctx.now, ctx.run_id)
    return out
