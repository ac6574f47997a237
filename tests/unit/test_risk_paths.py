"""Grouped path attributions (the batch's fast path): the same raw score and
attributions as walking every tree on its own, and the fused top-3 ranking is
exactly ``top_drivers`` of the full attribution matrix."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from postloan.risk.lgbm import _group_trees
from postloan.risk.models import TrainedModel, train
from postloan.risk.reasons import top_drivers


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    rng = np.random.default_rng(9)
    n = 4000
    dpd = rng.choice([0, 0, 0, 3, 10, 25, 45, 80], size=n)
    util = rng.uniform(0, 1, n)
    noise = rng.normal(size=(n, 4))
    product = rng.choice(["consumer", "credit_line", "sme"], n)
    logit = -3 + 0.04 * dpd + 1.2 * util + 0.3 * noise[:, 0] + (product == "sme") * 0.6
    frame = pl.DataFrame(
        {
            "max_dpd_12m": dpd,
            "utilisation": util,
            **{f"x{j}": noise[:, j] for j in range(4)},
            "product": product,
            "bad": rng.uniform(size=n) < 1 / (1 + np.exp(-logit)),
        }
    )
    return train(frame, "bad", kind="lgbm", params={"num_boost_round": 60})


def _per_tree(model: TrainedModel, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference: each tree's leaf table, looked up and summed one tree at a time."""
    engine = model.engine
    leaves = np.asarray(engine.booster.predict(X, pred_leaf=True))  # type: ignore[union-attr]
    raw = np.zeros(X.shape[0])
    contrib = np.zeros((X.shape[0], len(model.features)))
    for t, tree in enumerate(engine.trees):  # type: ignore[union-attr]
        li = leaves[:, t].astype(np.int64)
        raw += tree.values[li]
        contrib[:, tree.features] += tree.table[li]
    return raw, contrib


def test_groups_cover_every_tree_once_and_stay_small(model: TrainedModel) -> None:
    trees = model.engine.trees  # type: ignore[union-attr]
    groups = _group_trees(trees, limit=512)
    members = sorted(t for g in groups for t in g.trees)
    assert members == list(range(len(trees)))
    assert all(g.values.size <= 512 for g in groups)
    assert len(groups) < len(trees)  # trees were actually combined


def test_grouped_paths_equal_tree_by_tree(model: TrainedModel) -> None:
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "max_dpd_12m": rng.choice([0, 5, 30, 90], 3000),
            "utilisation": rng.uniform(0, 1, 3000),
            **{f"x{j}": rng.normal(size=3000) for j in range(4)},
            "product": rng.choice(["consumer", "sme", "unknown"], 3000),
        }
    )
    X = model.matrix(frame)
    X[::7, 1] = np.nan  # missing values follow the trees' default directions
    raw, contrib = model.engine.explain(X, "path")
    want_raw, want = _per_tree(model, X)
    assert np.allclose(raw, want_raw, atol=1e-9)
    assert np.allclose(raw, model.engine.raw(X))
    assert np.allclose(contrib, want, atol=1e-5)
    fused_raw, top = model.engine.explain_top(X, 3)  # type: ignore[union-attr]
    assert np.array_equal(fused_raw, raw)
    assert np.array_equal(top, top_drivers(contrib, 3))
    assert (top[:, 0] >= 0).any()


def _messy(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Missing values, exact zeros, unseen categories."""
    dpd = rng.choice([0.0, 0.0, 3.0, 10.0, 25.0, 45.0, 80.0, np.nan], size=n)
    util = np.where(rng.uniform(size=n) < 0.2, 0.0, rng.uniform(0, 1, n))
    return pl.DataFrame(
        {
            "max_dpd_12m": dpd,
            "utilisation": util,
            "x0": rng.normal(size=n),
            "product": pl.Series(
                [None if p == "-" else p for p in rng.choice(["consumer", "sme", "-"], n)],
                dtype=pl.Utf8,
            ),
        }
    )


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_leaf_tables_equal_lightgbm_pred_leaf(zero_as_missing: bool) -> None:
    from postloan.risk.lgbm_leaves import build

    rng = np.random.default_rng(5)
    frame = _messy(rng, 4000)
    dpd = np.nan_to_num(frame["max_dpd_12m"].to_numpy(), nan=60.0)
    logit = -3 + 0.04 * dpd + 1.5 * frame["utilisation"].to_numpy()
    frame = frame.with_columns(pl.Series("bad", rng.uniform(size=4000) < 1 / (1 + np.exp(-logit))))
    model = train(
        frame,
        "bad",
        kind="lgbm",
        params={"num_boost_round": 40, "zero_as_missing": zero_as_missing},
    )
    engine = model.engine
    tables = build(engine.booster.dump_model(), engine.booster, len(model.features))  # type: ignore[union-attr]
    assert tables is not None
    X = model.matrix(_messy(np.random.default_rng(6), 5000))
    X[::9, 3] = 7.0  # a category code the model never saw
    X[::10, 3] = -1.0
    want = np.asarray(engine.booster.predict(X, pred_leaf=True), dtype=np.int32)  # type: ignore[union-attr]
    assert np.array_equal(tables.leaves(X), want.T)


def test_too_many_cells_falls_back_to_pred_leaf(
    model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postloan.risk import lgbm_leaves
    from postloan.risk.lgbm import LgbmEngine

    engine = model.engine
    assert isinstance(engine, LgbmEngine)
    fresh = LgbmEngine(engine.model_text, engine.n_features)
    monkeypatch.setattr(lgbm_leaves, "CELL_LIMIT", 1)
    assert fresh.leaf_tables() is None
    X = model.matrix(
        _messy(np.random.default_rng(2), 500).with_columns(
            pl.lit(0.1).alias("x1"), pl.lit(0.2).alias("x2"), pl.lit(0.3).alias("x3")
        )
    )
    raw, top = fresh.explain_top(X, 3)
    assert np.allclose(raw, engine.raw(X))
    assert np.array_equal(top, engine.explain_top(X, 3)[1])
