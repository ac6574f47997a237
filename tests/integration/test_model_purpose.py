"""`postloan model train --purpose bscore` and `model evaluate` on a hand-written
snapshot store with the simulator's kind of ground truth: out-of-time test,
registry entry, oracle AUC next to the model's."""

from __future__ import annotations

import calendar
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from postloan.cli import _register, app
from postloan.config import load_settings
from postloan.risk import registry
from postloan.store.snapshots import SnapshotStore

_register()
runner = CliRunner()
MONTH_ENDS = [
    date(y, m, calendar.monthrange(y, m)[1])
    for y, m in [(2025, k) for k in range(1, 13)] + [(2026, k) for k in range(1, 6)]
]
PER_MONTH = 250


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def history(postloan_home: Path) -> Path:
    """Each month-end observes new performing loans; a bad one shows 91 DPD 20 days
    later. ``truth.parquet`` holds the probability the outcome was drawn with."""
    rng = np.random.default_rng(4)
    snaps = SnapshotStore(load_settings().snapshot_dir)
    truth = []
    for k, day in enumerate(MONTH_ENDS):
        ids = [f"L{k:02d}-{i:03d}" for i in range(PER_MONTH)]
        max_dpd = rng.choice([0, 0, 0, 0, 5, 15, 29, 45, 70], PER_MONTH).astype(np.int32)
        ratio = rng.uniform(0.2, 1.2, PER_MONTH)
        p = 1 / (1 + np.exp(-(-3.2 + 0.05 * max_dpd - 1.5 * (ratio - 0.7))))
        bad = rng.uniform(size=PER_MONTH) < p
        snaps.write(
            "features",
            day,
            pl.DataFrame(
                {
                    "loan_id": ids,
                    "dpd": np.zeros(PER_MONTH, dtype=np.int32),
                    "max_dpd_12m": max_dpd,
                    "pay_to_due_6m": ratio,
                    "principal_outstanding": np.full(PER_MONTH, 50_000, dtype=np.int64),
                    "product": rng.choice(["consumer", "sme"], PER_MONTH),
                }
            ),
        )
        snaps.write("loan_state", day, _states(ids, 0))
        event = day + timedelta(days=20)
        snaps.write(
            "loan_state", event, _states([i for i, b in zip(ids, bad, strict=True) if b], 91)
        )
        truth.append(pl.DataFrame({"loan_id": ids, "as_of": [day] * PER_MONTH,
                                   "pd_90dpd_90d": p}))  # fmt: skip
    snaps.write("loan_state", date(2026, 9, 30), _states(["L00-000"], 0))
    path = postloan_home / "truth.parquet"
    pl.concat(truth).write_parquet(path)
    return path


def _states(ids: list[str], dpd: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"loan_id": ids, "days_past_due": [dpd] * len(ids), "status": ["active"] * len(ids)},
        schema_overrides={"days_past_due": pl.Int32, "loan_id": pl.Utf8},
    )


@pytest.mark.parametrize("kind", ["lgbm", "scorecard"])
def test_purpose_training_is_out_of_time_and_registered(history: Path, kind: str) -> None:
    doc = json.loads(cli("model", "train", "--purpose", "bscore", "--kind", kind,
                         "--truth", str(history), "--json"))  # fmt: skip
    assert doc["training_window"] == ["2025-01-31", "2025-12-31"]
    assert doc["oot_split"] == "2026-01-31"
    assert doc["rows"] == 12 * PER_MONTH and doc["test_rows"] == 5 * PER_MONTH
    assert {"auc", "ks", "gini", "brier", "psi"} <= set(doc)
    assert 0.5 < doc["oracle_auc"] <= 1 and doc["oracle_rows"] == 5 * PER_MONTH
    # Same features and outcome law: the model comes close to the truth.
    assert doc["auc_on_oracle_rows"] >= 0.9 * doc["oracle_auc"]
    model = registry.load(load_settings(), doc["model_id"])
    assert model.purpose == "bscore" and model.kind == kind
    assert set(model.features) == {"dpd", "max_dpd_12m", "pay_to_due_6m",
                                   "principal_outstanding", "product"}  # fmt: skip
    assert "product" in model.encoding.categories
    assert model.params["monotone"]["max_dpd_12m"] == 1
    assert model.params["monotone"]["pay_to_due_6m"] == -1
    again = json.loads(cli("model", "evaluate", doc["model_id"], "--truth", str(history),
                           "--json"))  # fmt: skip
    assert again["rows"] == 5 * PER_MONTH
    assert again["auc"] == pytest.approx(doc["auc"]) and again["oracle_auc"] == doc["oracle_auc"]
    assert again["psi"] < 0.1


def test_monitor_a_date_with_matured_outcomes(history: Path) -> None:
    doc = json.loads(cli("model", "train", "--purpose", "bscore", "--json"))
    seen = json.loads(cli("model", "monitor", doc["model_id"], "--date", "2026-03-31", "--json"))
    assert seen["date"] == "2026-03-31" and seen["rows"] == PER_MONTH
    assert set(seen["psi"]["features"]) == set(registry.load(load_settings(),
                                                             doc["model_id"]).features)  # fmt: skip
    assert seen["realised"]["auc"] > 0.6 and len(seen["calibration"]) == 10
    assert all(a["kind"] in ("psi", "auc") for a in seen["alerts"])
    text = cli("model", "monitor", doc["model_id"])  # the latest date, 2026-05-31
    assert "2026-05-31" in text and "psi probability" in text
