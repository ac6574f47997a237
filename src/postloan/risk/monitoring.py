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

__all__ = ["AUC_DROP", "monitor"]

AUC_DROP = 0.05


def _severity(band: str) -> str:
    return {"shift": "high", "watch": "medium"}.get(band, "low")


def monitor(
    model: TrainedModel,
    frame: pl.DataFrame,
    outcomes: Sequence[int] | np.ndarray | pl.Series | None = None,
) -> dict[str, Any]:
    """Monitoring figures of scoring ``frame`` with ``model``.

    ``outcomes`` (0/1, aligned with ``frame``'s rows) are the realised targets of
    a matured window; without them only stability is measured. Returns
    ``{"model_id", "rows", "psi": {"probability", "features": {…}}, "bands",
    "realised" (auc, ks, gini, brier) or None, "calibration" (decile rows) or
    None, "alerts": [{"kind", "subject", "value", "band", "severity", "message"}]}``.
    """
    X = model.matrix(frame)
    p = model.calibrator(model.engine.raw(X))
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
    realised = calibration = None
    if outcomes is not None:
        y = np.asarray(outcomes, dtype=np.int8)
        if y.size != p.size:
            from postloan.domain.errors import ValidationError

            raise ValidationError(f"{y.size} outcomes for {p.size} scored rows")
        realised = evaluate(y, p).as_dict()
        calibration = table_rows(calibration_table(y, p))
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
    return {
        "model_id": model.model_id,
        "rows": int(p.size),
        "psi": {
            "probability": round(psi_p, 6),
            "features": {k: round(v, 6) for k, v in feature_psi.items()},
        },
        "bands": bands,
        "realised": realised,
        "calibration": calibration,
        "alerts": alerts,
    }
