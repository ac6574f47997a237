"""ECharts options (plain JSON) for the dashboard; the page script only renders them.
The figures are the analytics functions' (:mod:`postloan.web.dashboard_view`)."""

from __future__ import annotations

from typing import Any

from postloan.web.dashboard_view import Portfolio
from postloan.web.i18n import text

BAND_COLOURS = ["#2f7d32", "#9e9d24", "#f9a825", "#ef6c00", "#c62828", "#6a1b9a", "#37474f"]


def _pct(ratio: str) -> float:
    # chart coordinates only (a ratio string of the KPI document, in percent)
    return round(float(ratio) * 100, 2)


def _yuan(amount: str) -> float:
    # chart coordinates only: amounts shown as text are formatted from the exact strings
    return round(float(amount), 2)


def dashboard(
    lang: str,
    p: Portfolio,
    alerts_age: list[dict[str, Any]],
    cases_age: list[dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Every dashboard chart from the analytics figures of :mod:`postloan.web.dashboard_view`."""

    def t(key: str, **params: Any) -> str:
        return text(lang, key, **params)

    doc = p.doc
    buckets = doc.get("buckets") or {}
    categories = doc.get("five_category") or {}
    options: dict[str, dict[str, Any]] = {}
    options["trend"] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 50, "right": 20, "top": 30, "bottom": 30},
        "xAxis": {"type": "category", "data": [r["date"].isoformat() for r in p.trend]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "name": t("dash.npl"),
                "type": "line",
                "data": [_pct(r["npl_ratio"]) for r in p.trend],
            },
            {
                "name": t("dash.dpd90"),
                "type": "line",
                "data": [_pct(r["dpd90_ratio"]) for r in p.trend],
            },
        ],
    }
    options["buckets"] = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "data": list(buckets)},
        "yAxis": {"type": "value"},
        "series": [
            {
                "type": "bar",
                "name": t("common.balance"),
                "data": [_yuan(b["balance"]) for b in buckets.values()],
                "itemStyle": {"color": "#1565c0"},
            }
        ],
    }
    options["categories"] = {
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["35%", "65%"],
                "data": [
                    {
                        "name": t(f"cat.{key}"),
                        "value": _yuan(c["balance"]),
                        "itemStyle": {"color": BAND_COLOURS[i % len(BAND_COLOURS)]},
                    }
                    for i, (key, c) in enumerate(categories.items())
                ],
            }
        ],
    }
    if p.rolls is not None:
        options["rolls"] = _rolls(p.rolls, t)
    options["vintage"] = _vintages(doc.get("vintages") or {}, t)
    for key, rows in (("alerts_age", alerts_age), ("cases_age", cases_age)):
        options[key] = {
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 40, "right": 20, "top": 20, "bottom": 30},
            "xAxis": {"type": "category", "data": [r["band"] for r in rows]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {
                    "type": "bar",
                    "data": [r["count"] for r in rows],
                    "itemStyle": {"color": "#ef6c00" if key == "alerts_age" else "#455a64"},
                }
            ],
        }
    return options


def _rolls(rolls: dict[str, Any], t: Any) -> dict[str, Any]:
    """Heat map of ``by_count`` (rows: bucket at the start, columns: at the end)."""
    rows = list(rolls["from_states"])
    cols = list(rolls["to_states"])
    cells = [
        [cols.index(to), rows.index(src), _pct(share)]
        for src, line in rolls["by_count"].items()
        for to, share in line.items()
        if float(share) > 0
    ]
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 70, "right": 20, "top": 10, "bottom": 60},
        "xAxis": {
            "type": "category",
            "data": cols,
            "name": t("dash.roll_to"),
            "nameLocation": "middle",
            "nameGap": 28,
        },
        "yAxis": {"type": "category", "data": rows, "name": t("dash.roll_from"), "inverse": True},
        "visualMap": {
            "min": 0,
            "max": 100,
            "show": False,
            "inRange": {"color": ["#e3f2fd", "#1565c0", "#b71c1c"]},
        },
        "series": [{"type": "heatmap", "data": cells, "label": {"show": True}}],
    }


def _vintages(vintages: dict[str, Any], t: Any) -> dict[str, Any]:
    """30+@MOB (point-in-time, balance ÷ originated) of the last 12 vintages."""
    recent = list(vintages.items())[-12:]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 50, "right": 20, "top": 30, "bottom": 40},
        "xAxis": {
            "type": "value",
            "name": t("dash.mob"),
            "nameLocation": "middle",
            "nameGap": 25,
            "minInterval": 1,
        },
        "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "name": name,
                "type": "line",
                "data": [[pt["mob"], _pct(pt["dpd30_pit"])] for pt in item["curve"]],
            }
            for name, item in recent
        ],
    }
