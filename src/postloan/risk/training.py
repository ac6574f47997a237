"""Train and evaluate the behavioural models on the store's history.

``postloan model train --purpose`` reads the labelled observations of
``postloan.risk.datasets.training_frame`` (month-end features, outcomes from
later states), trains on the first 12 observation months and tests out of time
on the later ones, registers the model, and — when the simulator's ground truth
is at hand — scores the same test rows with the simulator's true probability
(``oracle_auc``): the best AUC any model could reach on those rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from postloan.domain.errors import NotFound, ValidationError
from postloan.risk.metrics import evaluate, psi_from_reference
from postloan.risk.models import Kind, TrainedModel, train

if TYPE_CHECKING:
    from postloan.config import Settings

__all__ = [
    "evaluate_model",
    "oracle_figures",
    "purpose_recipe",
    "train_purpose",
    "truth_frame",
]

#: Purpose → the simulator's ground-truth column of the same event.
TRUTH_COLUMNS = {"bscore": "pd_90dpd_90d", "bscore180": "pd_90dpd_180d"}


def purpose_recipe(settings: Settings, purpose: str) -> tuple[list[str], list[str], dict[str, int]]:
    """(features, categorical, monotone) for ``purpose`` from the feature registry:
    the risk direction of each feature (reversed for the C-score, whose event is a
    cure), overridden by ``config.yaml`` ``risk: monotone: {feature: 1|-1|0}``."""
    from postloan.batch.steps.features import FEATURES
    from postloan.policy_config import read_config

    sign = -1 if purpose == "cscore" else 1
    features = [f.name for f in FEATURES]
    categorical = [f.name for f in FEATURES if f.categorical]
    monotone = {f.name: sign * f.direction for f in FEATURES if f.direction and not f.categorical}
    risk = read_config(settings.config_file).get("risk") or {}
    for name, value in dict(risk.get("monotone") or {}).items():
        if name not in features:
            raise ValidationError(f"config.yaml risk.monotone: no feature {name!r}")
        if int(value) == 0:
            monotone.pop(name, None)
        else:
            monotone[name] = int(np.sign(int(value)))
    return features, categorical, monotone


def truth_frame(settings: Settings, path: Path | None = None) -> pl.DataFrame | None:
    """The simulator's ``truth.parquet`` (``path``, or the newest under
    ``$POSTLOAN_HOME/demo``), or None."""
    if path is None:
        found = sorted(
            (settings.home / "demo").glob("sim-*/truth.parquet"), key=lambda p: p.stat().st_mtime
        )
        if not found:
            return None
        path = found[-1]
    if not path.exists():
        raise ValidationError(f"no truth file {path}")
    return pl.read_parquet(path)


def oracle_figures(
    model: TrainedModel, test: pl.DataFrame, target: str, truth: pl.DataFrame | None
) -> dict[str, Any]:
    """``oracle_auc`` (AUC of the simulator's true probability on the test rows that
    have one), the model's ``auc_on_oracle_rows`` and their ratio; {} without truth."""
    column = TRUTH_COLUMNS.get(model.purpose)
    if truth is None or column is None or column not in truth.columns or test.height == 0:
        return {}
    joined = test.join(
        truth.select(
            pl.col("loan_id").cast(pl.Utf8),
            pl.col("as_of").cast(pl.Date).alias("business_date"),
            pl.col(column).alias("_oracle"),
        ),
        on=["loan_id", "business_date"],
        how="inner",
    )
    y = joined.get_column(target).cast(pl.Int8).to_numpy()
    if joined.height == 0 or y.min() == y.max():
        return {}
    oracle = evaluate(y, joined.get_column("_oracle").to_numpy()).auc
    mine = evaluate(y, model.predict_proba(joined)).auc
    return {
        "oracle_auc": round(oracle, 6),
        "auc_on_oracle_rows": round(mine, 6),
        "auc_to_oracle": round(mine / oracle, 6),
        "oracle_rows": joined.height,
    }


def _split(frame: pl.DataFrame, meta: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    from postloan.risk.datasets import out_of_time_split

    return out_of_time_split(frame, dict(meta))


def train_purpose(
    settings: Settings,
    purpose: str,
    *,
    window: str | None = None,
    kind: Kind = "lgbm",
    seed: int = 7,
    params: Mapping[str, Any] | None = None,
    truth: Path | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """Train ``purpose`` on the store's history (out-of-time test), register it and
    return (model, figures). Figures: the test ``auc ks gini brier``, ``oracle_auc``
    when the simulator's truth exists, rows, events, windows, ``model_id``."""
    from postloan.risk.datasets import training_frame
    from postloan.risk.registry import register
    from postloan.store.db import open_store

    store = open_store(settings)
    try:
        frame, target, meta = training_frame(store, purpose, window)
    finally:
        store.close()
    features, categorical, monotone = purpose_recipe(settings, purpose)
    features = [f for f in features if f in frame.columns]
    categorical = [c for c in categorical if c in features]
    fit, test = _split(frame, meta)
    if fit.height == 0 or fit.get_column(target).n_unique() < 2:
        raise NotFound(
            f"no snapshot history to train {purpose}: {fit.height} observations before "
            f"{meta['oot_split']} and they need both outcomes"
        )
    model = train(
        fit,
        target,
        kind=kind,
        purpose=purpose,
        features=features,
        categorical=categorical,
        monotone={k: v for k, v in monotone.items() if k in features},
        seed=seed,
        params=params,
    )
    figures: dict[str, Any] = {"rows": fit.height, "events": int(fit.get_column(target).sum())}
    if test.height and test.get_column(target).n_unique() == 2:
        y = test.get_column(target).cast(pl.Int8).to_numpy()
        p = model.predict_proba(test)
        figures |= evaluate(y, p).as_dict()
        figures |= {"test_rows": test.height, "test_events": int(y.sum())}
        ref = model.reference["probability"]
        figures["psi"] = round(psi_from_reference(ref["edges"], ref["shares"], p), 6)
        figures |= oracle_figures(model, test, target, truth_frame(settings, truth))
    else:
        figures["test_rows"] = test.height
        figures["note"] = (
            f"no out-of-time test: {test.height} matured observations from "
            f"{meta['oot_split']} on, and they need both outcomes"
        )
    dates = fit.get_column("business_date")
    train_window: tuple[date, date] = (dates.min(), dates.max())  # type: ignore[assignment]
    model_id = register(
        settings,
        model,
        training_window=train_window,
        data_hash=str(meta["data_hash"]),
        metrics={"test": {k: figures[k] for k in figures if k not in ("rows", "events")}},
        params={"oot_split": meta["oot_split"], "window": window, "kind": kind},
    )
    figures |= {
        "model_id": model_id,
        "purpose": purpose,
        "kind": kind,
        "target": target,
        "training_window": [d.isoformat() for d in train_window],
        "oot_split": meta["oot_split"].isoformat(),
    }
    return model, figures


def evaluate_model(
    settings: Settings,
    model_id: str,
    *,
    frame: pl.DataFrame | None = None,
    target: str | None = None,
    window: str | None = None,
    truth: Path | None = None,
) -> dict[str, Any]:
    """``auc ks gini brier psi`` (and ``oracle_auc`` with the simulator's truth) of a
    registered model: on ``frame``/``target`` when given, otherwise on the store's
    matured observations after the model's training window (out of time)."""
    from postloan.risk.registry import load

    model = load(settings, model_id)
    if frame is None:
        from postloan.risk.datasets import training_frame
        from postloan.store.db import open_store

        store = open_store(settings)
        try:
            full, target, meta = training_frame(store, model.purpose, window)
        finally:
            store.close()
        if model.training_window is not None:
            frame = full.filter(pl.col("business_date") > model.training_window[1])
        else:
            frame = _split(full, meta)[1]
        if frame.height == 0:
            raise NotFound(
                f"no matured observations after the training window of {model_id} "
                f"({model.training_window}); close more business dates or pass --data"
            )
    if target is None:
        raise ValidationError("say which column holds the outcome (--target)")
    y = frame.get_column(target).cast(pl.Int8).to_numpy()
    p = model.predict_proba(frame)
    ref = model.reference["probability"]
    out: dict[str, Any] = {"model_id": model_id, "rows": frame.height, "events": int(y.sum())}
    out |= evaluate(y, p).as_dict()
    out["psi"] = round(psi_from_reference(ref["edges"], ref["shares"], p), 6)
    if "business_date" in frame.columns and "loan_id" in frame.columns:
        out |= oracle_figures(model, frame, target, truth_frame(settings, truth))
    return out


def monitor_date(settings: Settings, model_id: str, day: date | None = None) -> dict[str, Any]:
    """Monitoring of ``model_id`` on the ``features`` snapshot of ``day`` (default:
    the latest): PSI of the probability and of every feature against the training
    sample, and — when that date's outcome window has matured — realised AUC/KS
    and the calibration table (``postloan.risk.monitoring.monitor``)."""
    from postloan.risk.datasets import training_frame
    from postloan.risk.monitoring import monitor
    from postloan.risk.registry import load
    from postloan.risk.scoring import population
    from postloan.store.snapshots import SnapshotStore

    model = load(settings, model_id)
    snaps = SnapshotStore(settings.snapshot_dir)
    dates = snaps.dates("features")
    if not dates:
        raise NotFound("no features snapshot yet: close a business date first (`postloan eod`)")
    day = day or dates[-1]
    if day not in dates:
        raise NotFound(f"no features snapshot of {day} (latest {dates[-1]})")
    frame = population(snaps.read("features", day), model.purpose)
    outcomes = None
    try:
        labelled, target, _ = training_frame(settings, model.purpose, f"{day}:{day}")
        if labelled.height:
            frame, outcomes = labelled, labelled.get_column(target).cast(pl.Int8).to_numpy()
    except NotFound:
        pass  # the outcome window of ``day`` has not matured: stability only
    doc = monitor(model, frame, outcomes)
    return {"date": day.isoformat(), **doc}
