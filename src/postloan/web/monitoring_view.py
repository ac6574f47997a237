"""Model monitoring over time for the models page: per active model, the PSI of its
score by business date against the 0.10 / 0.25 band lines, realised AUC and KS once
outcome windows have matured, and the latest feature PSIs worst first.

The rows come from :func:`postloan.risk.monitoring_history.history` (written by the
close of business); this module only shapes them into ECharts options and tables.
"""

from __future__ import annotations

from typing import Any

from postloan.web.i18n import text

WATCH, SHIFT = 0.10, 0.25
BAND_COLOUR = {"stable": "#2f7d32", "watch": "#f9a825", "shift": "#c62828"}


def band_of(psi: float) -> str:
    """The PSI band (same thresholds as the monitoring step)."""
    return "shift" if psi >= SHIFT else "watch" if psi >= WATCH else "stable"


def _line(name: str, values: list[float | None], colour: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "line",
        "data": [None if v is None else round(v, 4) for v in values],
        "connectNulls": False,
        "showSymbol": len(values) < 60,
        "itemStyle": {"color": colour},
    }


def psi_chart(lang: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """PSI of the score over business dates with the watch and shift lines."""
    dates = [r["business_date"].isoformat() for r in rows]
    series = _line(text(lang, "mon.psi"), [r["psi_probability"] for r in rows], "#1565c0")
    series["markLine"] = {
        "symbol": "none",
        "silent": True,
        "data": [
            {
                "yAxis": WATCH,
                "name": text(lang, "mon.band.watch"),
                "lineStyle": {"color": BAND_COLOUR["watch"], "type": "dashed"},
                "label": {"formatter": "{b} 0.10"},
            },
            {
                "yAxis": SHIFT,
                "name": text(lang, "mon.band.shift"),
                "lineStyle": {"color": BAND_COLOUR["shift"], "type": "dashed"},
                "label": {"formatter": "{b} 0.25"},
            },
        ],
    }
    y_axis: dict[str, Any] = {"type": "value", "min": 0}
    if max(r["psi_probability"] for r in rows) < 0.35:
        y_axis["max"] = 0.4  # the band lines stay readable; a large PSI sets the scale
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 70, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "data": dates},
        "yAxis": y_axis,
        "series": [series],
    }


def realised_chart(lang: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Realised AUC and KS by business date; None while no window has matured."""
    if all(r["realised_auc"] is None and r["realised_ks"] is None for r in rows):
        return None
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 50, "right": 20, "top": 30, "bottom": 30},
        "xAxis": {"type": "category", "data": [r["business_date"].isoformat() for r in rows]},
        "yAxis": {"type": "value", "min": 0, "max": 1},
        "series": [
            _line(text(lang, "mon.auc"), [r["realised_auc"] for r in rows], "#1565c0"),
            _line(text(lang, "mon.ks"), [r["realised_ks"] for r in rows], "#ef6c00"),
        ],
    }


def feature_table(latest: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest feature PSIs, worst first, each with its band."""
    ranked = sorted(latest["feature_psi"].items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"feature": name, "psi": psi, "band": band_of(psi)} for name, psi in ranked]


def panels(
    lang: str, models: list[dict[str, Any]], history: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One panel per active model: its charts, latest figures, features and alerts."""
    out = []
    for model in models:
        if not model["active"]:
            continue
        rows = history.get(model["model_id"], [])
        latest = rows[-1] if rows else None
        out.append(
            {
                "model": model,
                "rows": len(rows),
                "latest": latest,
                "psi": psi_chart(lang, rows) if rows else None,
                "realised": realised_chart(lang, rows) if rows else None,
                "features": feature_table(latest) if latest else [],
                "alerts": latest["alerts"] if latest else [],
            }
        )
    return out
