"""Flat tables to model matrices: one encoding shared by training and scoring.

A model sees a float64 matrix: numeric and boolean columns as numbers, dates as
days since 1970-01-01, every other column as a category code (the index of its
level in the training data; an unseen level or a null is NaN, i.e. missing).
The :class:`Encoding` is stored with the model, so scoring encodes exactly as
training did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from postloan.domain.errors import ValidationError

__all__ = ["Encoding", "binary_target", "fit_encoding", "read_table"]


def _is_numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype == pl.Boolean or dtype.is_temporal()


@dataclass
class Encoding:
    """Feature order and the category levels of the categorical features."""

    features: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def categorical_index(self) -> list[int]:
        return [i for i, f in enumerate(self.features) if f in self.categories]

    def expressions(self, schema: Mapping[str, pl.DataType]) -> list[pl.Expr]:
        exprs = []
        for name in self.features:
            if name not in schema:
                raise ValidationError(
                    f"the table has no column {name!r}, which the model needs "
                    f"(features: {', '.join(self.features)})"
                )
            col = pl.col(name)
            if name in self.categories:
                levels = self.categories[name]
                code = col.cast(pl.Utf8).replace_strict(
                    levels, list(range(len(levels))), default=None, return_dtype=pl.Float64
                )
                exprs.append(code.alias(name))
            elif schema[name] == pl.Date:
                exprs.append(col.cast(pl.Int32).cast(pl.Float64).alias(name))
            elif schema[name].is_temporal():
                exprs.append(col.dt.epoch("d").cast(pl.Float64).alias(name))
            else:
                exprs.append(col.cast(pl.Float64).alias(name))
        return exprs

    def matrix(self, frame: pl.DataFrame, order: Literal["c", "fortran"] = "c") -> np.ndarray:
        """The n × p float64 matrix of ``frame``, NaN for missing; C order (rows
        contiguous, for LightGBM) or Fortran order (columns contiguous)."""
        if not self.features:
            return np.empty((frame.height, 0))
        out = frame.select(self.expressions(frame.schema)).fill_nan(None)
        return out.to_numpy(order=order).astype(np.float64, copy=False)

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "categories": self.categories}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Encoding:
        return cls(list(data["features"]), {k: list(v) for k, v in data["categories"].items()})


def fit_encoding(
    frame: pl.DataFrame,
    target: str,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    exclude: Sequence[str] = ("loan_id",),
) -> Encoding:
    """The encoding of ``frame``: every column but the target (and ``exclude``)
    unless ``features`` names them; non-numeric and ``categorical`` columns as
    categories with their levels sorted (so the codes do not depend on row order)."""
    names = (
        list(features)
        if features is not None
        else [c for c in frame.columns if c != target and c not in exclude]
    )
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValidationError(f"no column {', '.join(map(repr, missing))} in the training table")
    if target in names:
        raise ValidationError(f"the target {target!r} cannot also be a feature")
    if not names:
        raise ValidationError("the training table has no feature columns")
    forced = set(categorical or ())
    cats: dict[str, list[str]] = {}
    for name in names:
        dtype = frame.schema[name]
        if name in forced or not _is_numeric(dtype):
            values = frame.get_column(name).cast(pl.Utf8).drop_nulls().unique().sort()
            cats[name] = values.to_list()
    return Encoding(names, cats)


def binary_target(frame: pl.DataFrame, target: str, positive: str | None = None) -> np.ndarray:
    """The target column as 0/1 int8: ``== positive`` when given (compared as text),
    otherwise the column must already be 0/1 or boolean."""
    if target not in frame.columns:
        raise ValidationError(
            f"no target column {target!r} (columns: {', '.join(frame.columns[:30])})"
        )
    col = frame.get_column(target)
    if col.null_count():
        raise ValidationError(f"the target {target!r} has {col.null_count()} empty values")
    if positive is not None and col.dtype == pl.Boolean:
        truthy = positive.strip().lower() in ("true", "1", "yes", "y", "t")
        y = (col == truthy).cast(pl.Int8).to_numpy()
    elif positive is not None:
        text = col.cast(pl.Utf8)
        y = (text == positive).cast(pl.Int8).to_numpy()
        if not y.any():
            seen = ", ".join(map(repr, text.unique().sort().head(10).to_list()))
            raise ValidationError(
                f"--positive {positive!r} never occurs in {target!r} (values: {seen})"
            )
    else:
        try:
            y = col.cast(pl.Int8).to_numpy()
        except pl.exceptions.InvalidOperationError:
            raise ValidationError(
                f"the target {target!r} is not 0/1: say which value is the event (--positive)"
            ) from None
        if not np.isin(y, (0, 1)).all():
            raise ValidationError(
                f"the target {target!r} is not 0/1: say which value is the event (--positive)"
            )
    if y.min() == y.max():
        raise ValidationError(f"the target {target!r} has one class only; a model needs both")
    return y.astype(np.int8)


def read_table(path: Path) -> pl.DataFrame:
    """A CSV or Parquet file as a frame (CSV types inferred from the whole file)."""
    if not path.exists():
        raise ValidationError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
        if suffix in (".csv", ".txt", ".gz"):
            return pl.read_csv(path, infer_schema_length=None, null_values=["", "NA", "NaN"])
    except (pl.exceptions.PolarsError, OSError) as err:
        raise ValidationError(f"cannot read {path}: {err}") from None
    raise ValidationError(f"{path}: expected a .csv or .parquet file")
