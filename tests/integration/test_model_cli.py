"""`postloan model train/evaluate/list/activate` on files (CSV, Parquet) and the store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from postloan.cli import _register, app
from postloan.domain.errors import NotFound, ValidationError

_register()
runner = CliRunner()
KEYS = {"auc", "ks", "gini", "brier"}


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def fails(error: type[Exception], *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, error), (result.exception, result.output)
    return str(result.exception)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bank-style extract: text status column, a category, numbers, some blanks."""
    rng = np.random.default_rng(21)
    n = 1500
    dpd = rng.choice([0, 0, 0, 5, 20, 60], n)
    income = rng.lognormal(9, 0.5, n).round(0)
    grade = rng.choice(["A", "B", "C", "D"], n)
    logit = -2.2 + 0.04 * dpd - 0.3 * (np.log(income) - 9) + (grade == "D") * 0.8
    bad = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    frame = pl.DataFrame(
        {
            "max_dpd_12m": dpd,
            "income": income,
            "grade": grade,
            "status": np.where(bad, "bad", "good"),
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 40 == 0).then(None).otherwise(pl.col("income"))
                   .alias("income"))  # fmt: skip
    path = tmp_path_factory.mktemp("data") / "extract.csv"
    frame.write_csv(path)
    frame.write_parquet(path.with_suffix(".parquet"))
    return path


@pytest.mark.parametrize("kind", ["lgbm", "scorecard"])
def test_train_on_a_csv_prints_one_json_object(table: Path, kind: str) -> None:
    out = cli("model", "train", "--data", str(table), "--target", "status", "--positive", "bad",
              "--kind", kind, "--json")  # fmt: skip
    doc = json.loads(out)
    assert KEYS <= set(doc)
    assert 0.65 < doc["auc"] <= 1 and doc["gini"] == pytest.approx(2 * doc["auc"] - 1, abs=1e-5)
    assert 0 < doc["ks"] < 1 and 0 < doc["brier"] < 0.25
    assert doc["holdout"] == 0.3 and doc["test_rows"] == 450 and doc["rows"] == 1500


def test_cross_validation_on_parquet_gives_fold_means(table: Path) -> None:
    doc = json.loads(
        cli(
            "model",
            "train",
            "--data",
            str(table.with_suffix(".parquet")),
            "--target",
            "status",
            "--positive",
            "bad",
            "--cv",
            "3",
            "--json",
        )  # fmt: skip
    )
    assert doc["folds"] == 3 and len(doc["per_fold"]) == 3
    assert doc["auc"] == pytest.approx(np.mean([f["auc"] for f in doc["per_fold"]]), abs=1e-6)
    text = cli("model", "train", "--data", str(table), "--target", "status", "--positive", "bad")
    assert re.search(r"auc\s+0\.\d{4}", text) and "brier" in text


def test_user_mistakes_are_plain_errors(table: Path) -> None:
    msg = fails(ValidationError, "model", "train", "--data", str(table), "--target", "nope")
    assert "no target column 'nope'" in msg
    msg = fails(ValidationError, "model", "train", "--data", str(table), "--target", "status",
                "--positive", "BAD")  # fmt: skip
    assert "never occurs" in msg and "'bad'" in msg
    msg = fails(ValidationError, "model", "train", "--data", str(table), "--target", "status")
    assert "--positive" in msg
    assert "lgbm or scorecard" in fails(
        ValidationError, "model", "train", "--data", str(table), "--target", "status",
        "--kind", "xgboost",
    )  # fmt: skip
    assert "no such file" in fails(ValidationError, "model", "train", "--data", "missing.csv",
                                   "--target", "status")  # fmt: skip


def test_purpose_training_without_history_says_so(database_url: str) -> None:
    msg = fails(NotFound, "model", "train", "--purpose", "bscore")
    assert "no snapshot history" in msg
    assert "bscore" in fails(ValidationError, "model", "train", "--purpose", "ascore")


def test_register_list_activate_and_evaluate(table: Path, database_url: str) -> None:
    from postloan.config import load_settings
    from postloan.risk import registry
    from postloan.risk.models import train
    from postloan.risk.tabular import binary_target, read_table

    frame = read_table(table)
    frame = frame.with_columns(pl.Series("status", binary_target(frame, "status", "bad")))
    model = train(frame, "status", kind="scorecard", purpose="custom")
    model_id = registry.register(
        load_settings(), model, training_window=None, data_hash="h", metrics={}, params={}
    )
    assert "no models" not in cli("model", "list")
    listed = json.loads(cli("model", "list", "--json"))["models"]
    assert [m["model_id"] for m in listed] == [model_id] and not listed[0]["active"]
    done = json.loads(cli("model", "activate", model_id, "--user", "installer", "--json"))
    assert done["state"] == "active"
    assert json.loads(cli("model", "list", "--json"))["models"][0]["active"]
    doc = json.loads(
        cli(
            "model",
            "evaluate",
            model_id,
            "--data",
            str(table),
            "--target",
            "status",
            "--positive",
            "bad",
            "--json",
        )  # fmt: skip
    )
    assert KEYS | {"psi"} <= set(doc) and doc["psi"] < 0.01 and doc["auc"] > 0.65
    assert "oracle_auc" not in doc  # no simulator truth for a bank extract
