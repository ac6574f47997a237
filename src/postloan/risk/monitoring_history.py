"""The monitoring history of the models: one row per model and scoring date
(table ``model_monitoring``), written by the close of business and read by the
web page, the CLI (``postloan model monitoring``) and the API.

:func:`record` stores the output of :func:`postloan.risk.monitoring.monitor`;
re-running a date replaces its row, so the history holds one run per date.
``band`` is the PSI band of the probability (``stable`` < 0.10 ≤ ``watch`` <
0.25 ≤ ``shift``); the bands of the features are in ``alerts``. No heavy imports:
reading the history must not load the modelling engine.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select

from postloan.store.tables_risk import ModelMonitoring

__all__ = ["history", "record", "row_of"]

_T: Table = ModelMonitoring.__table__  # type: ignore[assignment]


def _band(value: float) -> str:
    """Same thresholds as :func:`postloan.risk.metrics.psi_band` (which imports sklearn)."""
    return "shift" if value >= 0.25 else "watch" if value >= 0.10 else "stable"


def _num(value: Any) -> float | None:
    """A finite float or None (an AUC is NaN when the window has one class only)."""
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def row_of(doc: dict[str, Any], business_date: date, purpose: str) -> dict[str, Any]:
    """The ``model_monitoring`` row of a :func:`~postloan.risk.monitoring.monitor` result."""
    realised = doc.get("realised") or {}
    psi_p = float(doc["psi"]["probability"])
    return {
        "model_id": str(doc["model_id"] or purpose),
        "business_date": business_date,
        "purpose": purpose,
        "rows": int(doc["rows"]),
        "psi_probability": psi_p,
        "band": (doc.get("bands") or {}).get("probability") or _band(psi_p),
        "feature_psi": json.dumps(doc["psi"]["features"], sort_keys=True),
        "realised_auc": _num(realised.get("auc")),
        "realised_ks": _num(realised.get("ks")),
        "realised_gini": _num(realised.get("gini")),
        "realised_rows": doc.get("realised_rows") if doc.get("realised") else None,
        "calibration": (
            json.dumps(doc["calibration"]) if doc.get("calibration") is not None else None
        ),
        "alerts": json.dumps(doc.get("alerts") or [], ensure_ascii=False),
        "created_at": datetime.now(UTC),
    }


def record(
    conn: Connection, doc: dict[str, Any], business_date: date, purpose: str
) -> dict[str, Any]:
    """Store (or replace) the monitoring of ``doc['model_id']`` on ``business_date``."""
    row = row_of(doc, business_date, purpose)
    conn.execute(
        delete(_T).where(
            _T.c.model_id == row["model_id"], _T.c.business_date == row["business_date"]
        )
    )
    conn.execute(insert(_T).values(**row))
    return row


def history(
    conn: Connection,
    *,
    model_id: str | None = None,
    purpose: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Monitoring rows ordered by business date (then model), filtered by model,
    purpose and an inclusive date range. Each dict: ``business_date`` (date),
    ``model_id``, ``purpose``, ``rows``, ``psi_probability`` (float), ``band``
    (``stable``/``watch``/``shift``), ``feature_psi`` (name → float),
    ``realised_auc``/``realised_ks``/``realised_gini`` (float or None, set once
    the outcome window of the scores of date − horizon has matured),
    ``realised_rows``, ``calibration`` (list of decile rows or None), ``alerts``
    (list of dicts: kind, subject, value, band, severity, message) and ``created_at``."""
    query = select(_T)
    if model_id is not None:
        query = query.where(_T.c.model_id == model_id)
    if purpose is not None:
        query = query.where(_T.c.purpose == purpose)
    if start is not None:
        query = query.where(_T.c.business_date >= start)
    if end is not None:
        query = query.where(_T.c.business_date <= end)
    query = query.order_by(_T.c.business_date, _T.c.model_id)
    out = []
    for r in conn.execute(query).mappings():
        out.append(
            {
                "business_date": r["business_date"],
                "model_id": r["model_id"],
                "purpose": r["purpose"],
                "rows": int(r["rows"]),
                "psi_probability": float(r["psi_probability"]),
                "band": r["band"],
                "feature_psi": {k: float(v) for k, v in json.loads(r["feature_psi"]).items()},
                "realised_auc": _num(r["realised_auc"]),
                "realised_ks": _num(r["realised_ks"]),
                "realised_gini": _num(r["realised_gini"]),
                "realised_rows": r["realised_rows"],
                "calibration": json.loads(r["calibration"]) if r["calibration"] else None,
                "alerts": json.loads(r["alerts"]),
                "created_at": r["created_at"],
            }
        )
    return out
