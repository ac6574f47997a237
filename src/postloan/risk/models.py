"""One fitted model of either kind, and :func:`train`.

A :class:`TrainedModel` scores a frame of features: a calibrated probability of
the target event, points (a scorecard's own points, or for LightGBM the same
base/PDO transform of the log-odds: ``score = base − PDO/ln 2 · ln(odds_event ·
base_odds)``, so 600 points mean odds of 50:1 against the event and 20 points
double them), a band ``A``–``E`` by probability, and the top 3 reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
import polars as pl

from postloan.domain.errors import ValidationError
from postloan.risk.calibration import Calibrator
from postloan.risk.lgbm import LgbmEngine
from postloan.risk.metrics import reference_bins
from postloan.risk.reasons import REASONS, reason_columns, top_drivers
from postloan.risk.scorecard import ScorecardEngine
from postloan.risk.tabular import Encoding, binary_target, fit_encoding

__all__ = ["BANDS", "DEFAULT_POINTS", "TrainedModel", "train"]

Kind = Literal["lgbm", "scorecard"]
BANDS = ("A", "B", "C", "D", "E")
#: 600 points at odds 50:1 against the event, 20 points to double the odds.
DEFAULT_POINTS: dict[str, float] = {"base_points": 600.0, "base_odds": 50.0, "pdo": 20.0}
#: Band edges on the probability: A < 1% ≤ B < 3% ≤ C < 10% ≤ D < 30% ≤ E.
DEFAULT_BAND_EDGES = (0.01, 0.03, 0.10, 0.30)
_MODEL_KEYS = ("base_points", "base_odds", "pdo", "band_edges")


@dataclass
class TrainedModel:
    """A fitted model: encoding, engine, calibration, points, bands and metadata."""

    model_id: str | None
    kind: Kind
    purpose: str
    features: list[str]
    encoding: Encoding
    engine: LgbmEngine | ScorecardEngine
    calibrator: Calibrator
    points: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_POINTS))
    band_edges: tuple[float, ...] = DEFAULT_BAND_EDGES
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    training_window: tuple[date, date] | None = None
    data_hash: str | None = None
    created_at: datetime | None = None
    target: str | None = None

    # -- scoring -----------------------------------------------------------------
    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """The model's feature matrix of ``frame`` (a scorecard reads it by column)."""
        order: Literal["c", "fortran"] = "fortran" if self.kind == "scorecard" else "c"
        return self.encoding.matrix(frame, order)

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        """Calibrated P(target) for each row of ``frame``."""
        return self.calibrator(self.engine.raw(self.matrix(frame)))

    def points_of(self, p: np.ndarray) -> np.ndarray:
        """Points of probabilities ``p`` (base/PDO transform of the log-odds)."""
        factor = self.points["pdo"] / math.log(2)
        offset = self.points["base_points"] - factor * math.log(self.points["base_odds"])
        out: np.ndarray = offset + factor * (np.log1p(-p) - np.log(p))
        return out

    def bands_of(self, p: np.ndarray) -> pl.Series:
        idx = np.searchsorted(np.asarray(self.band_edges), p, side="right")
        return pl.Series("band", list(BANDS), dtype=pl.Utf8).gather(idx)

    def score(
        self, frame: pl.DataFrame, *, lang: str = "zh-CN", reasons: str = "auto"
    ) -> pl.DataFrame:
        """``loan_id`` (if present), ``probability``, ``score`` (Int32 points), ``band``,
        ``reason_1..3`` (feature names) and ``reason_text_1..3`` (in ``lang``).

        ``reasons``: ``auto`` (path attributions for LightGBM, lost points for a
        scorecard) or ``shap`` (exact TreeSHAP, slow: for a few loans)."""
        X = self.matrix(frame)
        if isinstance(self.engine, ScorecardEngine):
            raw, drivers, pts = self.engine.explain_points(X)
            top = top_drivers(drivers, REASONS)
        elif reasons == "auto":
            raw, top = self.engine.explain_top(X, REASONS)  # path attributions, ranked
        else:
            raw, drivers = self.engine.explain(X, reasons)
            top = top_drivers(drivers, REASONS)
        p = self.calibrator(raw)
        if not isinstance(self.engine, ScorecardEngine):
            pts = self.points_of(p)
        cols: list[pl.Series] = []
        if "loan_id" in frame.columns:
            cols.append(frame.get_column("loan_id"))
        cols += [
            pl.Series("probability", p, dtype=pl.Float64),
            pl.Series("score", np.rint(pts).astype(np.int32), dtype=pl.Int32),
            self.bands_of(p),
            *reason_columns(top, self.features, lang),
        ]
        return pl.DataFrame(cols)

    def drivers(self, frame: pl.DataFrame, reasons: str = "auto") -> np.ndarray:
        """n × p contributions toward the event (LightGBM) or points lost (scorecard)."""
        method = "path" if reasons == "auto" else reasons
        return self.engine.explain(self.matrix(frame), method)[1]

    # -- persistence ---------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """Everything but the engine, as JSON-ready values."""
        return {
            "model_id": self.model_id,
            "kind": self.kind,
            "purpose": self.purpose,
            "target": self.target,
            "features": self.features,
            "encoding": self.encoding.to_dict(),
            "calibration": self.calibrator.to_dict(),
            "points": self.points,
            "band_edges": list(self.band_edges),
            "params": self.params,
            "metrics": self.metrics,
            "reference": self.reference,
            "training_window": (
                [d.isoformat() for d in self.training_window] if self.training_window else None
            ),
            "data_hash": self.data_hash,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def _reference(model: TrainedModel, X: np.ndarray) -> dict[str, Any]:
    """Bins and shares of the score and of every feature on the training sample,
    the baseline of the PSI monitoring."""
    p = model.calibrator(model.engine.raw(X))
    edges, shares = reference_bins(p)
    ref: dict[str, Any] = {"probability": {"edges": edges, "shares": shares}, "features": {}}
    for j, name in enumerate(model.features):
        if name in model.encoding.categories:
            k = len(model.encoding.categories[name])
            cat_edges = [c + 0.5 for c in range(k - 1)]
            from postloan.risk.metrics import _shares

            ref["features"][name] = {"edges": cat_edges, "shares": _shares(X[:, j], cat_edges)}
        else:
            e, s = reference_bins(X[:, j])
            ref["features"][name] = {"edges": e, "shares": s}
    return ref


def train(
    frame: pl.DataFrame,
    target: str,
    *,
    kind: Kind = "lgbm",
    purpose: str = "custom",
    features: Sequence[str] | None = None,
    monotone: Mapping[str, int] | None = None,
    categorical: Sequence[str] | None = None,
    seed: int = 7,
    params: Mapping[str, Any] | None = None,
) -> TrainedModel:
    """Fit a model of ``kind`` to predict ``target`` (0/1 or boolean; 1 = the event).

    ``features``: the columns to use (default: all but the target and ``loan_id``);
    non-numeric columns and ``categorical`` ones are categories. ``monotone``:
    feature → +1 (risk rises with the value) or −1. ``params``: LightGBM parameters
    and training controls (``num_boost_round``, ``early_stopping_rounds``,
    ``valid_fraction``, ``calibration``) or scorecard controls (``C``,
    ``max_n_prebins``, ``min_prebin_size``), plus ``base_points``, ``base_odds``,
    ``pdo`` and ``band_edges`` for either kind."""
    if kind not in ("lgbm", "scorecard"):
        raise ValidationError(f"unknown model kind {kind!r} (lgbm or scorecard)")
    y = binary_target(frame, target)
    encoding = fit_encoding(frame, target, features, categorical)
    X = encoding.matrix(frame)
    given = dict(params or {})
    model_opts = {k: given.pop(k) for k in _MODEL_KEYS if k in given}
    points = {k: float(model_opts.get(k, v)) for k, v in DEFAULT_POINTS.items()}
    band_edges = tuple(float(e) for e in model_opts.get("band_edges", DEFAULT_BAND_EDGES))
    if len(band_edges) != len(BANDS) - 1 or list(band_edges) != sorted(band_edges):
        raise ValidationError("band_edges: four increasing probabilities (A|B|C|D|E)")
    engine: LgbmEngine | ScorecardEngine
    if kind == "lgbm":
        from postloan.risk.lgbm import fit_lgbm

        engine, calibrator, info = fit_lgbm(
            X, y, encoding, monotone=monotone, seed=seed, params=given
        )
    else:
        from postloan.risk.scorecard import fit_scorecard

        engine, info = fit_scorecard(X, y, encoding, monotone=monotone, points=points, params=given)
        calibrator = Calibrator("platt")
    model = TrainedModel(
        model_id=None,
        kind=kind,
        purpose=purpose,
        features=list(encoding.features),
        encoding=encoding,
        engine=engine,
        calibrator=calibrator,
        points=points,
        band_edges=band_edges,
        params={**info, **model_opts, "seed": seed},
        created_at=datetime.now(UTC).replace(microsecond=0),
        target=target,
    )
    model.reference = _reference(model, X)
    from postloan.risk.metrics import evaluate

    model.metrics = {"train": evaluate(y, model.calibrator(engine.raw(X))).as_dict()}
    model.metrics["train"]["rows"] = int(y.size)
    model.metrics["train"]["events"] = int(y.sum())
    return model
