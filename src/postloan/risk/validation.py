"""Out-of-sample figures of a model recipe on a flat labelled table: stratified
K-fold cross-validation or a held-out 30%, the way a bank checks a model on its
own historical extract (``postloan model train --data``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from postloan.domain.errors import ValidationError
from postloan.risk.metrics import evaluate
from postloan.risk.models import Kind, train

__all__ = ["cross_validate", "holdout"]

FIGURES = ("auc", "ks", "gini", "brier")


def _fit_and_score(
    frame: pl.DataFrame,
    target: str,
    fit_idx: np.ndarray,
    test_idx: np.ndarray,
    y: np.ndarray,
    **kw: Any,
) -> dict[str, float]:
    model = train(frame[fit_idx], target, **kw)
    p = model.predict_proba(frame[test_idx])
    return evaluate(y[test_idx], p).as_dict()


def cross_validate(
    frame: pl.DataFrame,
    target: str,
    folds: int,
    *,
    kind: Kind = "lgbm",
    seed: int = 7,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    monotone: Mapping[str, int] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Means over ``folds`` stratified folds of AUC, KS, Gini and Brier (each fold's
    model trained on the other folds), plus ``folds`` and the per-fold figures."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise ValidationError("--cv needs at least 2 folds")
    y = frame.get_column(target).cast(pl.Int8).to_numpy()
    if int(np.bincount(y, minlength=2).min()) < folds:
        raise ValidationError(f"too few events for {folds} folds")
    kw = {
        "kind": kind,
        "seed": seed,
        "features": features,
        "categorical": categorical,
        "monotone": monotone,
        "params": params,
    }
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    per_fold = [
        _fit_and_score(frame, target, fit, test, y, **kw)
        for fit, test in split.split(np.zeros(y.size), y)
    ]
    means = {k: round(float(np.mean([f[k] for f in per_fold])), 6) for k in FIGURES}
    sds = {f"{k}_sd": round(float(np.std([f[k] for f in per_fold])), 6) for k in FIGURES}
    return {**means, **sds, "folds": folds, "per_fold": per_fold}


def holdout(
    frame: pl.DataFrame,
    target: str,
    *,
    test_size: float = 0.3,
    kind: Kind = "lgbm",
    seed: int = 7,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    monotone: Mapping[str, int] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """AUC, KS, Gini and Brier on a stratified held-out ``test_size`` share."""
    from sklearn.model_selection import train_test_split

    y = frame.get_column(target).cast(pl.Int8).to_numpy()
    fit, test = train_test_split(
        np.arange(y.size), test_size=test_size, stratify=y, random_state=seed
    )
    figures = _fit_and_score(
        frame,
        target,
        np.sort(fit),
        np.sort(test),
        y,
        kind=kind,
        seed=seed,
        features=features,
        categorical=categorical,
        monotone=monotone,
        params=params,
    )
    return {**figures, "holdout": test_size, "test_rows": int(test.size)}
