"""Monitoring in the close of business (SQLite and PostgreSQL): each date the
active model scores, a ``model_monitoring`` row records PSI against the training
sample; a band crossing raises one model alert for the risk managers per model,
band and date; a re-run replaces the row and adds no alert; realised AUC/KS come
from the scores snapshot of date − horizon and the states since."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from postloan.batch.pipeline import run_date
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.risk import registry
from postloan.risk.models import train
from postloan.risk.monitoring_history import history
from postloan.risk.monitoring_step import matured_outcomes
from postloan.store import Store
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables_risk import Alert

D1 = date(2026, 10, 6)
D2 = date(2026, 10, 7)


def _shifted_model(store: Store) -> str:
    """A B-score trained on loans 200 months older than the sample book's: the PSI
    of ``months_on_book`` is far in the ``shift`` band on any date."""
    rng = np.random.default_rng(3)
    n = 2000
    dpd = rng.choice([0, 0, 0, 0, 3, 10, 25], size=n)
    frame = pl.DataFrame(
        {
            "dpd": dpd,
            "max_dpd_12m": dpd + rng.choice([0, 5, 40], size=n),
            "months_on_book": rng.integers(200, 260, n),
            "bad": rng.uniform(size=n) < 1 / (1 + np.exp(3 - 0.08 * dpd)),
        }
    )
    model = train(frame, "bad", kind="lgbm", purpose="bscore", params={"num_boost_round": 20})
    model_id = registry.register(
        store.settings, model, training_window=None, data_hash="t", metrics={}, params={}
    )
    registry.activate(store.settings, model_id, user="rm1")
    return model_id


@pytest.fixture
def book(store: Store) -> Store:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    store.settings.config_file.write_text("eod:\n  disabled: [STRATEGY]\n", encoding="utf-8")
    return store


def _model_alerts(store: Store) -> list[dict[str, object]]:
    with store.begin() as conn:
        rows = conn.execute(
            select(Alert.__table__).where(Alert.rule_id == "model_monitoring").order_by(Alert.id)
        ).mappings()
        return [dict(r) for r in rows]


def test_monitoring_recorded_per_date_alerted_once_and_realised(book: Store) -> None:
    model_id = _shifted_model(book)
    run_date(book, D1)
    snaps = SnapshotStore(book.settings.snapshot_dir)
    # the same model's scores 90 days before D2: the loans 90+ DPD on D2 scored high
    state = snaps.read("loan_state", D2 - timedelta(days=1))
    bad = state.filter(pl.col("days_past_due") >= 60)["loan_id"].to_list()
    good = state.filter(pl.col("days_past_due") == 0)["loan_id"].to_list()
    assert bad and good
    old = pl.DataFrame(
        {
            "loan_id": bad + good,
            "purpose": "bscore",
            "model_id": model_id,
            "probability": [0.8] * len(bad) + [0.05] * len(good),
        }
    )
    snaps.write("scores", D2 - timedelta(days=90), old)
    run_date(book, D2)
    with book.begin() as conn:
        rows = history(conn, model_id=model_id)
    assert [r["business_date"] for r in rows] == [D1, D2]
    scored = snaps.read("scores", D2).filter(pl.col("purpose") == "bscore").height
    day2 = rows[1]
    assert day2["rows"] == scored > 0 and day2["purpose"] == "bscore"
    assert day2["feature_psi"]["months_on_book"] >= 0.25
    assert set(day2["feature_psi"]) == {"dpd", "max_dpd_12m", "months_on_book"}
    assert rows[0]["realised_auc"] is None  # no scores snapshot of D1 − 90
    outcome = matured_outcomes(book.settings, "bscore", model_id, D2)
    assert outcome is not None
    y, p = outcome
    # second way: the event is 90+ DPD (or charged off) on a state after D2 − 90
    later = snaps.scan("loan_state", D2 - timedelta(days=89), D2).collect()
    events = set(
        later.filter((pl.col("days_past_due") >= 90) | (pl.col("status") == "charged_off"))[
            "loan_id"
        ]
    )
    assert int(y.sum()) == len(events & set(bad + good)) > 0
    assert day2["realised_rows"] == len(bad) + len(good)
    assert day2["realised_auc"] is not None and 0.5 < day2["realised_auc"] <= 1.0
    assert day2["realised_ks"] is not None and day2["calibration"]
    alerts = _model_alerts(book)
    shift = [a for a in alerts if a["alert_key"] == f"model:{model_id}:shift:{D2.isoformat()}"]
    assert len(shift) == 1 and shift[0]["owner_role"] == "risk_manager"
    assert shift[0]["severity"] == "high" and shift[0]["state"] == "new"
    assert "months_on_book" in json.loads(str(shift[0]["detail"]))["subjects"]
    assert {a["business_date"] for a in alerts} == {D1, D2}
    run_date(book, D2)  # re-run: the row is replaced, no alert is added
    assert _model_alerts(book) == alerts
    with book.begin() as conn:
        again = history(conn, model_id=model_id)
    assert len(again) == 2 and again[1]["feature_psi"] == day2["feature_psi"]
