"""The monitoring history table: record a run per model and date, re-running a
date replaces it, and history() filters and decodes (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

from postloan.risk.monitoring_history import history, record
from postloan.store import Store


def _doc(model_id: str, psi_p: float, auc: float | None = None) -> dict[str, Any]:
    band = "shift" if psi_p >= 0.25 else "watch" if psi_p >= 0.10 else "stable"
    alerts = (
        []
        if band == "stable"
        else [{"kind": "psi", "subject": "probability", "value": psi_p, "band": band}]
    )
    return {
        "model_id": model_id,
        "rows": 100,
        "psi": {"probability": psi_p, "features": {"dpd": 0.02, "max_dpd_12m": 0.31}},
        "bands": {"probability": band},
        "realised": None if auc is None else {"auc": auc, "ks": 0.4, "gini": 2 * auc - 1},
        "realised_rows": None if auc is None else 80,
        "calibration": None if auc is None else [{"bin": 1, "count": 8, "predicted": 0.1}],
        "alerts": alerts,
    }


def test_record_replace_and_filter(store: Store) -> None:
    d1, d2, d3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
    with store.begin() as conn:
        record(conn, _doc("b1", 0.05), d2, "bscore")
        record(conn, _doc("b1", 0.12), d1, "bscore")
        record(conn, _doc("c1", 0.30, auc=0.81), d2, "cscore")
        record(conn, _doc("b1", 0.26, auc=float("nan")), d3, "bscore")
        record(conn, _doc("b1", 0.27), d3, "bscore")  # re-run of d3 replaces it
    with store.begin() as conn:
        rows = history(conn)
        assert [(r["business_date"], r["model_id"]) for r in rows] == [
            (d1, "b1"),
            (d2, "b1"),
            (d2, "c1"),
            (d3, "b1"),
        ]
        assert [r["band"] for r in rows] == ["watch", "stable", "shift", "shift"]
        assert rows[-1]["psi_probability"] == 0.27 and rows[-1]["realised_auc"] is None
        assert rows[0]["feature_psi"] == {"dpd": 0.02, "max_dpd_12m": 0.31}
        c = rows[2]
        assert c["realised_auc"] == 0.81 and c["realised_ks"] == 0.4 and c["realised_rows"] == 80
        assert c["calibration"] == [{"bin": 1, "count": 8, "predicted": 0.1}]
        assert c["alerts"][0]["band"] == "shift"
        assert [r["business_date"] for r in history(conn, model_id="b1", start=d2)] == [d2, d3]
        assert [r["model_id"] for r in history(conn, purpose="cscore")] == ["c1"]
        assert [r["business_date"] for r in history(conn, end=d1)] == [d1]
        assert history(conn, model_id="nope") == []


def test_cli_and_api_read_the_history(database_url: str) -> None:
    import json as _json
    from collections.abc import Iterator

    from api_fixtures import make_api, seed_people
    from typer.testing import CliRunner

    from postloan.cli import _register, app
    from postloan.domain.errors import ValidationError
    from postloan.risk.registry import model_dir

    _register()
    apis: Iterator[Any] = make_api(database_url)
    api = next(apis)
    try:
        with api.store.begin() as conn:
            seed_people(conn)
            record(conn, _doc("b1", 0.12), date(2026, 3, 1), "bscore")
            record(conn, _doc("b1", 0.30, auc=0.8), date(2026, 3, 2), "bscore")
            record(conn, _doc("c1", 0.01), date(2026, 3, 2), "cscore")
        runner = CliRunner()
        out = runner.invoke(app, ["model", "monitoring", "b1", "--json"], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        rows = _json.loads(out.output)["monitoring"]
        assert [(r["business_date"], r["band"]) for r in rows] == [
            ("2026-03-01", "watch"),
            ("2026-03-02", "shift"),
        ]
        text = runner.invoke(app, ["model", "monitoring", "--purpose", "cscore"]).output
        assert "c1" in text and "b1" not in text and "(stable)" in text
        bad = runner.invoke(app, ["model", "monitoring", "--purpose", "nope"])
        assert isinstance(bad.exception, ValidationError)

        url = "/api/v1/models/b1/monitoring"
        assert api.client.get(url, headers=api.auth("rm")).status_code == 404  # unregistered
        folder = model_dir(api.store.settings, "b1")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.json").write_text('{"model_id": "b1"}', encoding="utf-8")
        got = api.client.get(url + "?from=2026-03-02", headers=api.auth("rm"))
        assert got.status_code == 200, got.text
        body = got.json()
        assert [r["business_date"] for r in body] == ["2026-03-02"]
        assert body[0]["realised_auc"] == 0.8 and body[0]["feature_psi"]["max_dpd_12m"] == 0.31
        assert api.client.get(url, headers=api.auth("co")).status_code == 403
    finally:
        apis.close()
