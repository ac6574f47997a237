"""Model monitoring for a scoring run: stability against the training sample,
realised discrimination once outcomes are known, and calibration.

PSI of the probability and of every feature uses the bins stored with the model
at training time (``model.reference``), so a run compares like with like. A
PSI band crossing (0.10 watch, 0.25 shift) or a realised AUC more than 0.05
below the training AUC raises a model alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from postloan.risk.metrics import (
    calibration_table,
    evaluate,
    psi_band,
    psi_from_reference,
    table_rows,
)
from postloan.risk.models import TrainedModel

__all__ = ["AUC_DROP", "monitor", "monitor_run"]

AUC_DROP = 0.05


def _severity(band: str) -> str:
    return {"shift": "high", "watch": "medium"}.get(band, "low")


def _stability(
    model: TrainedModel, X: np.ndarray, p: np.ndarray
) -> tuple[float, dict[str, float], dict[str, str], list[dict[str, Any]]]:
    """PSI of the probability and of every feature, their bands and the PSI alerts."""
    ref = model.reference
    psi_p = psi_from_reference(ref["probability"]["edges"], ref["probability"]["shares"], p)
    feature_psi = {
        name: psi_from_reference(
            ref["features"][name]["edges"], ref["features"][name]["shares"], X[:, j]
        )
        for j, name in enumerate(model.features)
        if name in ref.get("features", {})
    }
    alerts: list[dict[str, Any]] = []
    bands = {"probability": psi_band(psi_p)} | {f: psi_band(v) for f, v in feature_psi.items()}
    values = {"probability": psi_p, **feature_psi}
    for subject, band in bands.items():
        if band != "stable":
            alerts.append(
                {
                    "kind": "psi",
                    "subject": subject,
                    "value": round(values[subject], 6),
                    "band": band,
                    "severity": _severity(band),
                    "message": f"PSI of {subject} is {values[subject]:.3f} ({band})",
                }
            )
    return psi_p, feature_psi, bands, alerts


def _realised(
    model: TrainedModel, y: np.ndarray, p: np.ndarray
) -> tuple[dict[str, float], list[dict[str, Any]], list[dict[str, Any]]]:
    """Realised AUC/KS/Gini/Brier, the calibration table and an AUC-drop alert."""
    if y.size != p.size:
        from postloan.domain.errors import ValidationError

        raise ValidationError(f"{y.size} outcomes for {p.size} scored rows")
    realised = evaluate(y, p).as_dict()
    calibration = table_rows(calibration_table(y, p))
    alerts: list[dict[str, Any]] = []
    trained = (model.metrics.get("test") or model.metrics.get("train") or {}).get("auc")
    if trained is not None and realised["auc"] == realised["auc"]:
        if realised["auc"] < float(trained) - AUC_DROP:
            alerts.append(
                {
                    "kind": "auc",
                    "subject": "auc",
                    "value": realised["auc"],
                    "band": "drop",
                    "severity": "high",
                    "message": (
                        f"realised AUC {realised['auc']:.3f} is more than {AUC_DROP} "
                        f"below the AUC at training ({float(trained):.3f})"
                    ),
                }
            )
    return realised, calibration, alerts


def _doc(
    model: TrainedModel,
    rows: int,
    stability: tuple[float, dict[str, float], dict[str, str], list[dict[str, Any]]],
    realised: tuple[dict[str, float], list[dict[str, Any]], list[dict[str, Any]]] | None,
    realised_rows: int | None,
) -> dict[str, Any]:
    psi_p, feature_psi, bands, alerts = stability
    return {
        "model_id": model.model_id,
        "rows": rows,
        "psi": {
            "probability": round(psi_p, 6),
            "features": {k: round(v, 6) for k, v in feature_psi.items()},
        },
        "bands": bands,
        "realised": realised[0] if realised else None,
        "realised_rows": realised_rows,
        "calibration": realised[1] if realised else None,
        "alerts": alerts + (realised[2] if realised else []),
    }


def monitor(
    model: TrainedModel,
    frame: pl.DataFrame,
    outcomes: Sequence[int] | np.ndarray | pl.Series | None = None,
) -> dict[str, Any]:
    """Monitoring figures of scoring ``frame`` with ``model``.

    ``outcomes`` (0/1, aligned with ``frame``'s rows) are the realised targets of
    a matured window; without them only stability is measured. Returns
    ``{"model_id", "rows", "psi": {"probability", "features": {…}}, "bands",
    "realised" (auc, ks, gini, brier) or None, "realised_rows", "calibration"
    (decile rows) or None, "alerts": [{"kind", "subject", "value", "band",
    "severity", "message"}]}``.
    """
    X = model.matrix(frame)
    p = model.calibrator(model.engine.raw(X))
    realised = None
    if outcomes is not None:
        realised = _realised(model, np.asarray(outcomes, dtype=np.int8), p)
    return _doc(model, int(p.size), _stability(model, X, p), realised, p.size if realised else None)


def monitor_run(
    model: TrainedModel,
    frame: pl.DataFrame,
    probability: np.ndarray,
    matured: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """:func:`monitor` of a scoring run that already has its probabilities (the SCORE
    step's), so the model is not evaluated again: ``frame`` gives the features'
    PSI, ``probability`` the score's. ``matured`` is (outcomes, probabilities) of an
    earlier run whose outcome window has closed (realised AUC/KS, calibration)."""
    X = model.matrix(frame)
    p = np.asarray(probability, dtype=np.float64)
    realised = None
    if matured is not None and matured[0].size:
        y, p_old = matured
        realised = _realised(model, np.asarray(y, dtype=np.int8), np.asarray(p_old))
    rows = int(matured[0].size) if realised and matured is not None else None
    return _doc(model, int(p.size), _stability(model, X, p), realised, rows)
