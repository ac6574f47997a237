"""Model quality and stability figures: AUC, KS, Gini, Brier, PSI, calibration table.

PSI bands (industry convention, also optbinning's): below 0.10 stable, 0.10–0.25
a shift to watch, 0.25 and above a significant shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

__all__ = [
    "PSI_SHIFT",
    "PSI_WATCH",
    "Metrics",
    "calibration_table",
    "evaluate",
    "ks_statistic",
    "psi",
    "psi_band",
    "psi_from_reference",
    "reference_bins",
]

PSI_WATCH = 0.10
PSI_SHIFT = 0.25
_EPS = 1e-4


@dataclass(frozen=True)
class Metrics:
    auc: float
    ks: float
    gini: float
    brier: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in asdict(self).items()}


def ks_statistic(y_true: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the score distributions of the
    events and the non-events (max TPR − FPR over thresholds)."""
    fpr, tpr, _ = roc_curve(y_true, p)
    return float(np.max(tpr - fpr))


def evaluate(y_true: Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray) -> Metrics:
    """AUC, KS, Gini (2·AUC − 1) and Brier score of probabilities ``p`` for 0/1 ``y_true``."""
    y = np.asarray(y_true, dtype=np.int8)
    prob = np.asarray(p, dtype=np.float64)
    if y.min() == y.max():
        nan = float("nan")
        return Metrics(nan, nan, nan, float(brier_score_loss(y, prob, labels=[0, 1])))
    auc = float(roc_auc_score(y, prob))
    return Metrics(auc, ks_statistic(y, prob), 2 * auc - 1, float(brier_score_loss(y, prob)))


def reference_bins(values: np.ndarray, bins: int = 10) -> tuple[list[float], list[float]]:
    """Inner bin edges (quantiles of ``values``, ties merged) and the share of
    ``values`` in each of the ``len(edges) + 1`` bins plus a last bin for missing."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[~np.isnan(v)]
    if finite.size == 0:
        edges: list[float] = []
    else:
        qs = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
        edges = sorted({float(q) for q in qs})
    return edges, _shares(v, edges)


def _shares(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    v = np.asarray(values, dtype=np.float64)
    missing = np.isnan(v)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), v[~missing], side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    total = max(v.size, 1)
    shares: list[float] = (counts / total).tolist()
    return shares


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(np.asarray(expected, dtype=np.float64), _EPS, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_from_reference(
    edges: Sequence[float], expected_shares: Sequence[float], actual: np.ndarray
) -> float:
    """PSI of ``actual`` against a stored reference (see :func:`reference_bins`)."""
    return _psi(np.asarray(expected_shares), np.asarray(_shares(actual, edges)))


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``: bins are the
    deciles (``bins`` quantiles) of ``expected``; Σ (a − e) · ln(a / e)."""
    edges, shares = reference_bins(np.asarray(expected), bins)
    return psi_from_reference(edges, shares, np.asarray(actual))


def psi_band(value: float) -> str:
    """``stable`` (< 0.10), ``watch`` (0.10–0.25) or ``shift`` (≥ 0.25)."""
    if value >= PSI_SHIFT:
        return "shift"
    if value >= PSI_WATCH:
        return "watch"
    return "stable"


def calibration_table(y_true: np.ndarray, p: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Predicted against observed event rate by ``bins`` quantile groups of ``p``
    (deciles by default): ``bin, count, predicted, observed``."""
    y = np.asarray(y_true, dtype=np.float64)
    prob = np.asarray(p, dtype=np.float64)
    if prob.size == 0:
        return pl.DataFrame(
            schema={
                "bin": pl.Int32,
                "count": pl.Int64,
                "predicted": pl.Float64,
                "observed": pl.Float64,
            }
        )
    order = np.argsort(prob, kind="stable")
    group = np.empty(prob.size, dtype=np.int32)
    group[order] = (np.arange(prob.size) * bins) // prob.size + 1
    frame = pl.DataFrame({"bin": group, "p": prob, "y": y})
    return (
        frame.group_by("bin")
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("p").mean().alias("predicted"),
            pl.col("y").mean().alias("observed"),
        )
        .sort("bin")
    )


def table_rows(table: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
        for row in table.to_dicts()
    ]
