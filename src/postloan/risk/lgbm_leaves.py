"""Leaf indices of a LightGBM model by table look-ups instead of tree walks.

LightGBM's ``pred_leaf`` walks every tree for every row (≈5 CPU s for 1M loans ×
107 trees here), most of the batch's scoring time. Here each feature value is
first turned into a *code* once per row (its interval among all the model's
thresholds on that feature; zero, missing and each category their own code).
In one tree, a feature's code decides every split on that feature, so it maps
to a *pattern* (the outcomes of those splits); the combination of a tree's
patterns is a *cell*, and a cell decides the leaf. Per tree and row that is one
small-table gather per feature the tree uses, plus one for the leaf.

Split semantics follow LightGBM's ``NumericalDecision``/``CategoricalDecision``,
and :func:`build` checks the tables against ``pred_leaf`` on probe rows that
take every code of every feature; any difference, or a tree with too many
cells, returns None and the caller keeps ``pred_leaf``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LeafTables", "build"]

#: The largest cell table of one tree (int16 leaves: 64 KiB, in the L2 cache).
CELL_LIMIT = 32768
_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a C float)
PROBE_ROWS = 4096


@dataclass
class _Feature:
    index: int
    numeric: bool
    thresholds: np.ndarray  # numeric: sorted unique thresholds
    categories: int  # categorical: codes 0..categories-1, then "other"

    @property
    def codes(self) -> int:
        # numeric: K + 1 intervals, zero, missing; categorical: categories + other
        return len(self.thresholds) + 3 if self.numeric else self.categories + 1

    def encode(self, x: np.ndarray) -> np.ndarray:
        if self.numeric:
            k = len(self.thresholds)
            code = np.searchsorted(self.thresholds, x, side="left").astype(np.int32)
            code[np.abs(x) <= _ZERO] = k + 1
            code[np.isnan(x)] = k + 2
            return code
        with np.errstate(invalid="ignore"):
            ok = (x >= 0) & (x < self.categories)
        code = np.full(x.shape, self.categories, dtype=np.int32)
        code[ok] = x[ok].astype(np.int32)
        return code

    def representatives(self) -> np.ndarray:
        """One value per code (probe rows)."""
        if not self.numeric:
            return np.append(np.arange(self.categories, dtype=np.float64), [np.nan])
        t = self.thresholds
        # each threshold itself (code i: the boundary is where a rounding slip would
        # show), a value above the last, zero and missing
        inner = np.concatenate([t, [t[-1] + 1.0 if len(t) else 1.0]])
        return np.concatenate([inner, [0.0, np.nan]])


@dataclass
class _Tree:
    features: list[int]  # positions in LeafTables.features
    luts: list[np.ndarray]  # per feature: code → pattern × stride (int32)
    leaf_of_cell: np.ndarray  # int32


@dataclass
class LeafTables:
    features: list[_Feature]
    trees: list[_Tree]

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """Leaf index of every tree (rows) for every row of ``X`` (columns): the
        transpose of ``pred_leaf``."""
        m = X.shape[0]
        codes = [
            f.encode(np.ascontiguousarray(X[:, f.index], dtype=np.float64)) for f in self.features
        ]
        out = np.empty((len(self.trees), m), dtype=np.int32)
        cell = np.empty(m, dtype=np.int32)
        part = np.empty(m, dtype=np.int32)
        for t, tree in enumerate(self.trees):
            if not tree.features:
                out[t] = tree.leaf_of_cell[0]
                continue
            np.take(tree.luts[0], codes[tree.features[0]], out=cell)
            for f, lut in zip(tree.features[1:], tree.luts[1:], strict=True):
                np.take(lut, codes[f], out=part)
                cell += part
            np.take(tree.leaf_of_cell, cell, out=out[t])
        return out


def _nodes(root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if "leaf_index" in node:
            continue
        out.append(node)
        stack += [node["left_child"], node["right_child"]]
    return out


def _goes_left(node: Mapping[str, Any], feature: _Feature) -> np.ndarray:
    """Outcome (True = left) of ``node``'s split for every code of its feature."""
    if node["decision_type"] == "==":
        cats = {int(c) for c in str(node["threshold"]).split("||")}
        left = np.zeros(feature.codes, dtype=bool)
        left[[c for c in cats if c < feature.categories]] = True
        return left
    thr = float(node["threshold"])
    k = len(feature.thresholds)
    i = int(np.searchsorted(feature.thresholds, thr))
    left = np.arange(k + 3) <= i
    missing, default = node["missing_type"], bool(node["default_left"])
    zero_left = default if missing == "Zero" else 0.0 <= thr
    left[k + 1] = zero_left
    left[k + 2] = default if missing == "NaN" else zero_left
    return left


def _tree(root: Mapping[str, Any], feats: dict[int, int], table: list[_Feature]) -> _Tree | None:
    nodes = _nodes(root)
    if not nodes:
        return _Tree([], [], np.array([int(root["leaf_index"])], dtype=np.int32))
    by_feature: dict[int, list[Mapping[str, Any]]] = {}
    for node in nodes:
        by_feature.setdefault(feats[int(node["split_feature"])], []).append(node)
    used = sorted(by_feature)
    outcomes: dict[int, np.ndarray] = {}  # id(node) → pattern outcome column
    luts, sizes, pattern_rows = [], [], []
    for f in used:
        splits = by_feature[f]
        matrix = np.stack([_goes_left(n, table[f]) for n in splits], axis=1)
        patterns, inverse = np.unique(matrix, axis=0, return_inverse=True)
        luts.append(inverse.reshape(-1).astype(np.int32))
        sizes.append(len(patterns))
        pattern_rows.append((splits, patterns))
    cells = int(np.prod(sizes, dtype=np.int64))
    if cells > CELL_LIMIT:
        return None
    strides = [int(np.prod(sizes[k + 1 :], dtype=np.int64)) for k in range(len(sizes))]
    index = np.indices(sizes).reshape(len(sizes), -1)  # pattern of each feature per cell
    for k, (splits, patterns) in enumerate(pattern_rows):
        for j, node in enumerate(splits):
            outcomes[id(node)] = patterns[index[k], j]
    leaf = np.empty(cells, dtype=np.int32)

    def assign(node: Mapping[str, Any], where: np.ndarray) -> None:
        if "leaf_index" in node:
            leaf[where] = int(node["leaf_index"])
            return
        go = outcomes[id(node)][where]
        assign(node["left_child"], where[go])
        assign(node["right_child"], where[~go])

    assign(root, np.arange(cells))
    return _Tree(used, [lut * s for lut, s in zip(luts, strides, strict=True)], leaf)


def build(dump: Mapping[str, Any], booster: Any, n_features: int) -> LeafTables | None:
    """The look-up tables of a model (``booster.dump_model()``), checked against
    ``pred_leaf`` on probe rows; None when unsupported or not identical."""
    numeric: dict[int, set[float]] = {}
    categorical: dict[int, int] = {}
    roots = [info["tree_structure"] for info in dump["tree_info"]]
    for root in roots:
        for node in _nodes(root):
            f = int(node["split_feature"])
            if node["decision_type"] == "==":
                cats = [int(c) for c in str(node["threshold"]).split("||")]
                categorical[f] = max(categorical.get(f, 0), max(cats) + 1)
            elif node["decision_type"] == "<=":
                numeric.setdefault(f, set()).add(float(node["threshold"]))
            else:
                return None
    if set(numeric) & set(categorical):
        return None
    table: list[_Feature] = []
    feats: dict[int, int] = {}
    for f in sorted(set(numeric) | set(categorical)):
        feats[f] = len(table)
        if f in numeric:
            table.append(_Feature(f, True, np.array(sorted(numeric[f])), 0))
        else:
            table.append(_Feature(f, False, np.zeros(0), categorical[f]))
    trees = []
    for root in roots:
        tree = _tree(root, feats, table)
        if tree is None:
            return None
        trees.append(tree)
    tables = LeafTables(table, trees)
    probe = _probe(table, n_features)
    want = np.asarray(booster.predict(probe, pred_leaf=True, num_threads=1), dtype=np.int32)
    if not np.array_equal(tables.leaves(probe), want.reshape(len(probe), -1).T):
        return None
    return tables


def _probe(table: list[_Feature], n_features: int) -> np.ndarray:
    """Rows in which every feature takes every one of its codes (cycled, shuffled)."""
    rng = np.random.default_rng(0)
    rows = max(PROBE_ROWS, max((f.codes for f in table), default=1) * 4)
    X = np.zeros((rows, n_features))
    for f in table:
        values = f.representatives()
        X[:, f.index] = rng.permutation(np.resize(values, rows))
    return X
