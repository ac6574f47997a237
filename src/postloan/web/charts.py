"""ECharts options (plain JSON) for the dashboard; the page script only renders them."""

from __future__ import annotations

from typing import Any

from postloan.web import queries
from postloan.web.i18n import text

BAND_COLOURS = ["#2f7d32", "#9e9d24", "#f9a825", "#ef6c00", "#c62828", "#6a1b9a", "#37474f"]


def _yuan(minor: int) -> float:
    # chart coordinates only: amounts shown as text are formatted from integers
    return round(minor / 100, 2)


def dashboard(
    lang: str,
    trend: list[dict[str, Any]],
    buckets: list[dict[str, Any]],
    categories: list[dict[str, Any]],
    rolls: queries.RollRates | None,
    vintages: dict[str, list[list[float]]],
    alerts_age: list[dict[str, Any]],
    cases_age: list[dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    def t(key: str, **params: Any) -> str:
        return text(lang, key, **params)

    options: dict[str, dict[str, Any]] = {}
    options["trend"] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 50, "right": 20, "top": 30, "bottom": 30},
        "xAxis": {"type": "category", "data": [r["date"].isoformat() for r in trend]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "name": t("dash.npl"),
                "type": "line",
                "data": [round(100 * r["npl_ratio"], 2) for r in trend],
            },
            {
                "name": t("dash.dpd90"),
                "type": "line",
                "data": [round(100 * r["dpd90_ratio"], 2) for r in trend],
            },
        ],
    }
    options["buckets"] = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "data": [b["key"] for b in buckets]},
        "yAxis": {"type": "value"},
        "series": [
            {
                "type": "bar",
                "name": t("common.balance"),
                "data": [_yuan(b["balance"]) for b in buckets],
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
                        "name": t(f"cat.{c['key']}"),
                        "value": _yuan(c["balance"]),
                        "itemStyle": {"color": BAND_COLOURS[i % len(BAND_COLOURS)]},
                    }
                    for i, c in enumerate(categories)
                ],
            }
        ],
    }
    if rolls is not None:
        options["rolls"] = {
            "tooltip": {"position": "top"},
            "grid": {"left": 70, "right": 20, "top": 10, "bottom": 60},
            "xAxis": {
                "type": "category",
                "data": rolls.buckets,
                "name": t("dash.roll_to"),
                "nameLocation": "middle",
                "nameGap": 28,
            },
            "yAxis": {
                "type": "category",
                "data": rolls.buckets,
                "name": t("dash.roll_from"),
                "inverse": True,
            },
            "visualMap": {
                "min": 0,
                "max": 100,
                "show": False,
                "inRange": {"color": ["#e3f2fd", "#1565c0", "#b71c1c"]},
            },
            "series": [
                {
                    "type": "heatmap",
                    "data": rolls.cells,
                    "label": {"show": True},
                }
            ],
        }
    options["vintage"] = {
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
            {"name": name, "type": "line", "data": points} for name, points in vintages.items()
        ],
    }
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
