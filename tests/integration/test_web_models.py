# ruff: noqa: F811  (the `web` fixture is imported from test_web_pages)
"""The models page over HTTP: per active model, PSI over time with the band lines,
realised AUC/KS once present, the latest feature PSIs worst first with their bands."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from api_fixtures import T0, Api
from test_web_pages import PASSWORD, login, web  # noqa: F401  (web: a fixture)

from postloan.risk import registry
from postloan.risk.models import train
from postloan.risk.monitoring_history import record
from postloan.security.approvals import decide
from postloan.security.config import load_security_policy
from postloan.security.users import add_user
from postloan.web.monitoring_view import band_of, feature_table

D0 = date(2026, 10, 1)


def _active_model(api: Api) -> str:
    rng = np.random.default_rng(1)
    dpd = rng.choice([0, 0, 3, 25], size=400)
    frame = pl.DataFrame({"dpd": dpd, "months_on_book": rng.integers(1, 30, 400), "bad": dpd > 10})
    model = train(frame, "bad", kind="lgbm", purpose="bscore", params={"num_boost_round": 5})
    model_id = registry.register(
        api.store.settings, model, training_window=None, data_hash="t", metrics={}, params={}
    )
    asked = registry.activate(api.store.settings, model_id, user="rm")  # maker-checker
    with api.store.begin() as conn:
        add_user(
            conn,
            username="rm2",
            role="risk_manager",
            password=PASSWORD,
            policy=load_security_policy(api.store.settings),
            now=T0,
        )
        decide(conn, asked["approval_id"], checker="rm2", approve=True, reason="monitored")
    assert registry.active_id(api.store.settings, "bscore") == model_id
    return model_id


def _doc(model_id: str, psi: float, auc: float | None) -> dict[str, Any]:
    features = {"dpd": 0.05, "months_on_book": psi * 2, "<b>x</b>": 0.12}
    return {
        "model_id": model_id,
        "rows": 120,
        "psi": {"probability": psi, "features": features},
        "bands": {"probability": band_of(psi)},
        "realised": None if auc is None else {"auc": auc, "ks": auc - 0.4, "gini": 2 * auc - 1},
        "realised_rows": 100,
        "calibration": None,
        "alerts": [],
    }


def test_models_page_draws_monitoring_over_time(web: Api) -> None:
    model_id = _active_model(web)
    with web.store.begin() as conn:
        for i, (psi, auc) in enumerate([(0.02, None), (0.12, 0.71), (0.3, 0.69)]):
            record(conn, _doc(model_id, psi, auc), D0 + timedelta(days=i), "bscore")
    login(web, "rm")
    page = web.client.get("/models")
    assert page.status_code == 200
    assert f'data-testid="monitoring-{model_id}"' in page.text
    charts = {
        m.group(1): json.loads(m.group(2).replace("&#39;", "'").replace("&#34;", '"'))
        for m in re.finditer(r'id="chart-(psi|realised)-1" data-chart=\'([^\']+)\'', page.text)
    }
    psi = charts["psi"]
    assert psi["xAxis"]["data"] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert psi["series"][0]["data"] == [0.02, 0.12, 0.3]
    assert [m["yAxis"] for m in psi["series"][0]["markLine"]["data"]] == [0.1, 0.25]
    auc, ks = charts["realised"]["series"]
    assert auc["data"] == [None, 0.71, 0.69] and ks["data"] == [None, 0.31, 0.29]
    # the latest features, worst first, escaped
    table = page.text.split('data-testid="feature-psi"')[1].split("</table>")[0]
    assert re.findall(r'class="num">([\d.]+)<', table) == ["0.6000", "0.1200", "0.0500"]
    assert "&lt;b&gt;x&lt;/b&gt;" in table and "<b>x</b>" not in table
    assert "band-shift" in table and "band-watch" in table and "band-stable" in table

    login(web, "co")
    assert web.client.get("/models").status_code == 403


def test_feature_table_and_bands_follow_the_thresholds() -> None:
    assert [band_of(v) for v in (0.0, 0.0999, 0.1, 0.2499, 0.25)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "shift",
    ]
    rows = feature_table({"feature_psi": {"a": 0.1, "b": 0.3, "c": 0.1}})
    assert [(r["feature"], r["band"]) for r in rows] == [
        ("b", "shift"),
        ("a", "watch"),
        ("c", "watch"),
    ]
