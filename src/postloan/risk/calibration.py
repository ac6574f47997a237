"""Calibrated probabilities from a model's raw score, fitted on held-out rows.

Platt scaling (a logistic curve on the raw log-odds) keeps the ranking and needs
few rows; isotonic regression (a monotone step function, stored as its knots and
applied with linear interpolation) fixes any monotone distortion but needs
more data. ``auto`` takes isotonic from 2,000 held-out rows with 100 events.
Both are stored as plain numbers, so a model file holds no pickled objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["Calibrator", "fit_calibrator"]

P_MIN = 1e-6


@dataclass
class Calibrator:
    method: Literal["platt", "isotonic", "identity"]
    a: float = 1.0
    b: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """P(target) from raw log-odds, clipped to [1e-6, 1 − 1e-6]."""
        r = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            p = np.interp(r, np.asarray(self.x), np.asarray(self.y))
        else:
            p = 1.0 / (1.0 + np.exp(-(self.a * r + self.b)))
        out: np.ndarray = np.clip(p, P_MIN, 1 - P_MIN)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "a": self.a, "b": self.b, "x": self.x, "y": self.y}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        return cls(data["method"], data["a"], data["b"], list(data["x"]), list(data["y"]))


def fit_calibrator(raw: np.ndarray, y: np.ndarray, method: str = "auto") -> Calibrator:
    """Fit ``method`` (``platt``, ``isotonic``, ``auto`` or ``identity``) on held-out
    raw scores ``raw`` and 0/1 outcomes ``y``."""
    r = np.asarray(raw, dtype=np.float64)
    target = np.asarray(y, dtype=np.int8)
    if method == "identity" or target.min() == target.max():
        return Calibrator("identity")
    if method == "auto":
        method = "isotonic" if r.size >= 2000 and target.sum() >= 100 else "platt"
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(r, target)
        return Calibrator("isotonic", x=iso.X_thresholds_.tolist(), y=iso.y_thresholds_.tolist())
    if method != "platt":
        raise ValueError(f"unknown calibration method {method!r}")
    lr = LogisticRegression(C=1e6).fit(r.reshape(-1, 1), target)
    return Calibrator("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
