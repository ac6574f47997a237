"""The points scorecard: optbinning's optimal binning (monotone event rates),
weight of evidence, a logistic regression, and points scaled by base and PDO.

The fitted card is kept as plain tables (per feature: bin edges or category
groups, the points and the log-odds term of each bin), so scoring is a look-up
in NumPy — no pickled optbinning objects, and 1M loans score in well under a
second. A loan's drivers are the points it loses per feature against the best
bin of that feature.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from postloan.risk.tabular import Encoding

__all__ = ["ScorecardEngine", "fit_scorecard"]

TRAIN_DEFAULTS: dict[str, Any] = {"C": 1.0, "max_n_prebins": 20, "min_prebin_size": 0.05}


@dataclass
class ScorecardEngine:
    """Per feature: ``edges`` (numeric) or ``codes`` (category code → bin), and for
    the bins then the missing bin: ``points`` and ``logit`` (coefficient × WoE)."""

    features: list[str]
    bins: list[dict[str, Any]]
    intercept: float
    _cache: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] | None = field(
        default=None, repr=False, compare=False
    )

    def _compiled(self) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """Per feature: (how, lookup, points, logit) as arrays, built once.

        Numeric: ``lookup`` is the edges plus +inf, so ``searchsorted(side="right")``
        sends NaN (sorted last) straight to the missing bin. Categorical: ``lookup``
        maps code → bin, with one more slot (the missing bin) for NaN and unseen."""
        if self._cache is None:
            out = []
            for spec in self.bins:
                pts = np.asarray(spec["points"], dtype=np.float64)
                logit = np.asarray(spec["logit"], dtype=np.float64)
                missing = pts.size - 1
                if "codes" in spec:
                    codes = np.asarray(spec["codes"], dtype=np.int64)
                    lookup = np.append(np.where(codes < 0, missing, codes), missing)
                    out.append(("codes", lookup, pts, logit))
                else:
                    edges = np.append(np.asarray(spec["edges"], dtype=np.float64), np.inf)
                    out.append(("edges", edges, pts, logit))
            self._cache = out
        return self._cache

    def _bins_of(self, j: int, x: np.ndarray) -> np.ndarray:
        how, lookup, _, _ = self._compiled()[j]
        if how == "edges":
            return np.searchsorted(lookup, x, side="right")
        slot = np.where(np.isnan(x), lookup.size - 1, x)
        slot = np.clip(slot, 0, lookup.size - 1).astype(np.int64)
        return lookup[slot]

    def points(self, X: np.ndarray) -> np.ndarray:
        """n × p points."""
        out = np.empty(X.shape)
        for j, (_, _, pts, _) in enumerate(self._compiled()):
            out[:, j] = pts[self._bins_of(j, X[:, j])]
        return out

    def explain(self, X: np.ndarray, method: str = "points") -> tuple[np.ndarray, np.ndarray]:
        """Raw log-odds and the points lost per feature against its best bin (a
        scorecard has one kind of reason, whatever ``method`` asks)."""
        del method
        raw, lost, _ = self.explain_points(X)
        return raw, lost

    def explain_points(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw log-odds, points lost per feature, and the total points — one pass."""
        n = X.shape[0]
        raw = np.full(n, self.intercept)
        lost = np.empty(X.shape, dtype=np.float32, order="F")
        best = 0.0
        Xf = np.asfortranarray(X)  # no copy when the model's matrix is already by column
        for j, (_, _, pts, logit) in enumerate(self._compiled()):
            b = self._bins_of(j, Xf[:, j])
            raw += logit[b]
            top = float(pts.max())
            best += top
            lost[:, j] = top - pts[b]
        total = best - lost.sum(axis=1, dtype=np.float64)
        return raw, lost, total

    def raw(self, X: np.ndarray) -> np.ndarray:
        return self.explain_points(X)[0]

    def total_points(self, X: np.ndarray) -> np.ndarray:
        return self.explain_points(X)[2]

    def to_dict(self) -> dict[str, Any]:
        return {"features": self.features, "bins": self.bins, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScorecardEngine:
        return cls(list(data["features"]), list(data["bins"]), float(data["intercept"]))


def _pandas_frame(X: np.ndarray, encoding: Encoding) -> Any:
    import pandas as pd

    cols: dict[str, Any] = {}
    for j, name in enumerate(encoding.features):
        if name in encoding.categories:
            levels = np.asarray(encoding.categories[name], dtype=object)
            x = X[:, j]
            vals = np.full(x.size, None, dtype=object)
            ok = ~np.isnan(x)
            vals[ok] = levels[x[ok].astype(np.int64)]
            cols[name] = vals
        else:
            cols[name] = X[:, j]
    return pd.DataFrame(cols)


def fit_scorecard(
    X: np.ndarray,
    y: np.ndarray,
    encoding: Encoding,
    *,
    monotone: Mapping[str, int] | None = None,
    points: Mapping[str, float],
    params: Mapping[str, Any] | None = None,
) -> tuple[ScorecardEngine, dict[str, Any]]:
    """Fit the card; ``monotone`` fixes the event-rate trend of a feature (+1 rises
    with the value, −1 falls); other numeric features get a monotone trend of
    the data's own direction (``auto_asc_desc``)."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    controls = {**TRAIN_DEFAULTS, **dict(params or {})}
    directions = dict(monotone or {})
    cats = list(encoding.categories)
    fit_params: dict[str, dict[str, Any]] = {}
    for f in encoding.features:
        if f in encoding.categories:
            continue
        d = int(np.sign(directions.get(f, 0)))
        trend = {1: "ascending", -1: "descending"}.get(d, "auto_asc_desc")
        fit_params[f] = {
            "monotonic_trend": trend,
            "max_n_prebins": int(controls["max_n_prebins"]),
            "min_prebin_size": float(controls["min_prebin_size"]),
        }
    process = BinningProcess(
        list(encoding.features), categorical_variables=cats, binning_fit_params=fit_params
    )
    card = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(C=float(controls["C"]), max_iter=1000),
        scaling_method="pdo_odds",
        scaling_method_params={
            "pdo": float(points["pdo"]),
            "odds": float(points["base_odds"]),
            "scorecard_points": float(points["base_points"]),
        },
    )
    frame = _pandas_frame(X, encoding)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card.fit(frame, y)
    table = card.table(style="detailed")
    fitted = card.binning_process_
    coef = dict(zip(encoding.features, card.estimator_.coef_[0], strict=True))
    bins: list[dict[str, Any]] = []
    for name in encoding.features:
        rows = table[table["Variable"] == name]
        labels = rows["Bin"].astype(str).tolist()
        pts = rows["Points"].to_numpy(dtype=float)
        woe = rows["WoE"].to_numpy(dtype=float)
        regular = [i for i, lab in enumerate(labels) if lab not in ("Special", "Missing")]
        miss = labels.index("Missing")
        order = [*regular, miss]
        spec: dict[str, Any] = {
            "points": pts[order].tolist(),
            "logit": (coef[name] * woe[order]).tolist(),
            "labels": [labels[i] for i in order],
        }
        splits = fitted.get_binned_variable(name).splits
        if name in encoding.categories:
            levels = encoding.categories[name]
            code_bin = np.full(len(levels), -1, dtype=np.int64)
            lookup = {lvl: i for i, lvl in enumerate(levels)}
            for b, group in enumerate(splits):
                for lvl in group:
                    if str(lvl) in lookup:
                        code_bin[lookup[str(lvl)]] = b
            spec["codes"] = code_bin.tolist()
        else:
            spec["edges"] = [float(s) for s in splits]
        bins.append(spec)
    engine = ScorecardEngine(list(encoding.features), bins, float(card.estimator_.intercept_[0]))
    info = {"scorecard": controls, "monotone": {f: directions[f] for f in directions}}
    return engine, info
