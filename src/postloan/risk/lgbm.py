"""The LightGBM model: monotone where the direction is known, categories native,
early stopping on a validation split, deterministic on 2 threads.

Reasons. Exact TreeSHAP (``pred_contrib=True``) costs ~250 µs per loan on this
machine for a 100-tree model (4 min for 1M loans), so the batch uses *path
attributions* (Saabas): every split on a loan's path through a tree moves the
prediction from the node's mean to the child's mean, and that move is credited
to the split feature. Per tree this is a table leaf → contributions, so a loan's
drivers are table look-ups after one ``pred_leaf`` pass — the same pass that
gives the raw score (the sum of the leaf values). Trees are scored in small
groups (:class:`_Group`): a loan's leaves in a group's trees form one code that
indexes their summed table, so the gathers follow the features those trees use
together (a third fewer than tree by tree), and the top-3 drivers are ranked
block by block while the attributions are in cache (:meth:`LgbmEngine.explain_top`).
The leaves themselves come from look-up tables (:mod:`postloan.risk.lgbm_leaves`,
checked against ``pred_leaf`` when built) rather than LightGBM's tree walks.
Exact SHAP is available with ``method="shap"`` for a few loans (an individual
explanation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from postloan.risk.calibration import Calibrator, fit_calibrator
from postloan.risk.tabular import Encoding

if TYPE_CHECKING:
    from postloan.risk.lgbm_leaves import LeafTables

__all__ = ["DEFAULT_PARAMS", "LgbmEngine", "fit_lgbm"]

#: LightGBM parameters (any of them can be overridden with ``params``).
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "max_cat_to_onehot": 4,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
#: Training controls that are not LightGBM parameters.
TRAIN_DEFAULTS: dict[str, Any] = {
    "num_boost_round": 1000,
    "early_stopping_rounds": 50,
    "valid_fraction": 0.2,
    "calibration": "auto",
}
CHUNK = 65536
BLOCK = 8192
THREADS = 2
#: Leaf combinations of a tree group (its table rows): small enough for the L2 cache.
GROUP_LEAVES = 4096
LOOKAHEAD = 32


@dataclass
class _Tree:
    features: np.ndarray  # the features the tree splits on
    table: np.ndarray  # leaves × len(features): path contributions (float64)
    values: np.ndarray  # leaf values
    bias: float  # root mean


def _walk(
    node: Mapping[str, Any],
    parent: float | None,
    feature: int | None,
    path: dict[int, float],
    leaves: dict[int, tuple[dict[int, float], float]],
) -> None:
    value = float(node["leaf_value"] if "leaf_index" in node else node["internal_value"])
    here = dict(path)
    if parent is not None and feature is not None:
        here[feature] = here.get(feature, 0.0) + value - parent
    if "leaf_index" in node:
        leaves[int(node["leaf_index"])] = (here, value)
        return
    split = int(node["split_feature"])
    _walk(node["left_child"], value, split, here, leaves)
    _walk(node["right_child"], value, split, here, leaves)


def _trees(dump: Mapping[str, Any]) -> list[_Tree]:
    out = []
    for info in dump["tree_info"]:
        root = info["tree_structure"]
        leaves: dict[int, tuple[dict[int, float], float]] = {}
        _walk(root, None, None, {}, leaves)
        used = sorted({f for contrib, _ in leaves.values() for f in contrib})
        pos = {f: j for j, f in enumerate(used)}
        table = np.zeros((len(leaves), len(used)))
        values = np.zeros(len(leaves))
        for leaf, (contrib, value) in leaves.items():
            values[leaf] = value
            for f, c in contrib.items():
                table[leaf, pos[f]] = c
        bias = float(root["leaf_value"] if "leaf_index" in root else root["internal_value"])
        out.append(_Tree(np.asarray(used, dtype=np.int64), table, values, bias))
    return out


@dataclass
class _Group:
    """Trees scored together: a loan's leaves in them form one code (Σ leaf · stride)
    that indexes the summed contributions, so the gathers follow the features the
    trees use together rather than each tree's (trees share most features)."""

    trees: list[int]
    strides: list[int]
    features: np.ndarray  # union of the trees' features
    table: np.ndarray  # len(features) × combinations, float32, feature-major
    values: np.ndarray  # combinations: summed leaf values (float64)


def _group_trees(trees: list[_Tree], limit: int = GROUP_LEAVES) -> list[_Group]:
    """Greedy groups of trees (leaf combinations ≤ ``limit``): each next member is the
    tree among the next few that adds the fewest new features."""
    remaining = list(range(len(trees)))
    groups = []
    while remaining:
        members = [remaining.pop(0)]
        used = set(trees[members[0]].features.tolist())
        size = len(trees[members[0]].values)
        while remaining:
            fits = [i for i in remaining[:LOOKAHEAD] if size * len(trees[i].values) <= limit]
            if not fits:
                break
            best = min(fits, key=lambda i: len(set(trees[i].features.tolist()) - used))
            remaining.remove(best)
            members.append(best)
            used |= set(trees[best].features.tolist())
            size *= len(trees[best].values)
        groups.append(_combine(trees, members, sorted(used)))
    return groups


def _combine(trees: list[_Tree], members: list[int], features: list[int]) -> _Group:
    pos = {f: j for j, f in enumerate(features)}
    shape = [len(trees[t].values) for t in members]
    table = np.zeros((*shape, len(features)))
    values = np.zeros(shape)
    for axis, t in enumerate(members):
        tree = trees[t]
        full = np.zeros((shape[axis], len(features)))
        full[:, [pos[int(f)] for f in tree.features]] = tree.table
        view = [1] * len(shape)
        view[axis] = shape[axis]
        table += full.reshape(*view, len(features))
        values += tree.values.reshape(view)
    strides = [int(np.prod(shape[k + 1 :], dtype=np.int64)) for k in range(len(shape))]
    flat = table.reshape(-1, len(features))
    return _Group(
        members,
        strides,
        np.asarray(features, dtype=np.int64),
        np.ascontiguousarray(flat.T, dtype=np.float32),
        values.reshape(-1),
    )


@dataclass
class LgbmEngine:
    """A fitted booster (as LightGBM's text model) and its path-attribution tables."""

    model_text: str
    n_features: int
    _booster: Any = field(default=None, repr=False)
    _tables: list[_Tree] | None = field(default=None, repr=False)
    _groups: list[_Group] | None = field(default=None, repr=False)
    _leaves: LeafTables | Literal[False] | None = field(default=None, repr=False)

    @property
    def booster(self) -> Any:
        if self._booster is None:
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=self.model_text)
        return self._booster

    @property
    def trees(self) -> list[_Tree]:
        if self._tables is None:
            self._tables = _trees(self.booster.dump_model())
        return self._tables

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw log-odds."""
        if X.shape[0] == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(X, raw_score=True, num_threads=2))

    def explain(self, X: np.ndarray, method: str = "path") -> tuple[np.ndarray, np.ndarray]:
        """Raw log-odds and the n × p contributions toward them (``path`` or ``shap``)."""
        n = X.shape[0]
        if n == 0:
            return np.zeros(0), np.zeros((0, self.n_features))
        if method == "shap":
            c = np.asarray(self.booster.predict(X, pred_contrib=True, num_threads=2))
            return c.sum(axis=1), c[:, : self.n_features]
        if method != "path":
            raise ValueError(f"unknown reason method {method!r} (path or shap)")
        contrib = np.empty((n, self.n_features), dtype=np.float32)

        def keep(lo: int, acc: np.ndarray) -> None:
            contrib[lo : lo + acc.shape[0]] = acc

        return self._paths(X, keep), contrib

    def explain_top(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw log-odds and the indices of each loan's ``k`` largest positive path
        attributions (:func:`postloan.risk.reasons.top_drivers` of :meth:`explain`),
        ranked block by block while the attributions are in cache (the batch path)."""
        from postloan.risk.reasons import top_of_block

        n = X.shape[0]
        top = np.full((n, k), -1, dtype=np.int64)

        def rank(lo: int, acc: np.ndarray) -> None:
            top[lo : lo + acc.shape[0]] = top_of_block(acc, k)

        raw = self._paths(X, rank) if n else np.zeros(0)
        return raw, top

    def _paths(self, X: np.ndarray, sink: Callable[[int, np.ndarray], None]) -> np.ndarray:
        """Raw log-odds of ``X``; each block's path attributions (m × p float32, C
        order) go to ``sink(first_row, block)``."""
        n = X.shape[0]
        groups = self._grouped()
        raw = np.empty(n)
        n_trees = len(self.trees)

        tables = self.leaf_tables()

        def work(start: int) -> None:
            stop = min(n, start + CHUNK)
            if tables is None:
                leaves = self.booster.predict(X[start:stop], pred_leaf=True, num_threads=1)
                leaves = np.asarray(leaves, dtype=np.int32).reshape(-1, n_trees)
            for lo in range(0, stop - start, BLOCK):
                if tables is None:
                    leaf = np.ascontiguousarray(leaves[lo : lo + BLOCK].T)
                else:
                    leaf = tables.leaves(X[start + lo : min(stop, start + lo + BLOCK)])
                m = leaf.shape[1]
                acc = np.zeros((self.n_features, m), dtype=np.float32)
                total = np.zeros(m)
                code = np.empty(m, dtype=np.int32)
                part = np.empty(m, dtype=np.int32)
                tmp = np.empty(m, dtype=np.float32)
                for g in groups:
                    np.multiply(leaf[g.trees[0]], g.strides[0], out=code)
                    for t, stride in zip(g.trees[1:], g.strides[1:], strict=True):
                        np.multiply(leaf[t], stride, out=part)
                        code += part
                    total += np.take(g.values, code)
                    for j, f in enumerate(g.features):
                        np.take(g.table[j], code, out=tmp)
                        acc[f] += tmp
                raw[start + lo : start + lo + m] = total
                sink(start + lo, np.ascontiguousarray(acc.T))

        # The C prediction and NumPy's gathers release the GIL, so two threads keep
        # both cores busy; blocks of 8k rows keep the sums in cache.
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(work, range(0, n, CHUNK)))
        return raw

    def leaf_tables(self) -> LeafTables | None:
        """The look-up tables that replace ``pred_leaf`` (None: keep ``pred_leaf``)."""
        if self._leaves is None:
            from postloan.risk.lgbm_leaves import build

            built = build(self.booster.dump_model(), self.booster, self.n_features)
            self._leaves = built if built is not None else False
        return self._leaves or None

    def _grouped(self) -> list[_Group]:
        if self._groups is None:
            self._groups = _group_trees(self.trees)
        return self._groups

    def importance(self) -> np.ndarray:
        """Total gain of each feature (in feature order)."""
        return np.asarray(self.booster.feature_importance(importance_type="gain"), dtype=float)


def fit_lgbm(
    X: np.ndarray,
    y: np.ndarray,
    encoding: Encoding,
    *,
    monotone: Mapping[str, int] | None = None,
    seed: int = 7,
    params: Mapping[str, Any] | None = None,
) -> tuple[LgbmEngine, Calibrator, dict[str, Any]]:
    """Fit on a stratified (1 − valid_fraction) part, stop early on the rest, and
    calibrate on the same held-out rows. Returns the engine, the calibrator and
    what was used (parameters, best iteration)."""
    import lightgbm as lgb
    from sklearn.model_selection import train_test_split

    given = dict(params or {})
    controls = {k: given.pop(k, v) for k, v in TRAIN_DEFAULTS.items()}
    lgb_params = {**DEFAULT_PARAMS, **given, "seed": seed}
    directions = dict(monotone or {})
    unknown = sorted(set(directions) - set(encoding.features))
    if unknown:
        from postloan.domain.errors import ValidationError

        raise ValidationError(f"monotone constraint on unknown feature(s): {', '.join(unknown)}")
    cats = set(encoding.categories)
    constraints = [
        0 if f in cats else int(np.sign(directions.get(f, 0))) for f in encoding.features
    ]
    if any(constraints):
        lgb_params["monotone_constraints"] = constraints
    idx = np.arange(X.shape[0])
    fit_idx, val_idx = train_test_split(
        idx, test_size=float(controls["valid_fraction"]), stratify=y, random_state=seed
    )
    cat_index = encoding.categorical_index
    ds_fit = lgb.Dataset(
        X[fit_idx],
        y[fit_idx],
        feature_name=[f"f{i}" for i in range(X.shape[1])],
        categorical_feature=cat_index,
        free_raw_data=True,
        params={"verbosity": -1},
    )
    ds_val = lgb.Dataset(X[val_idx], y[val_idx], reference=ds_fit)
    booster = lgb.train(
        lgb_params,
        ds_fit,
        num_boost_round=int(controls["num_boost_round"]),
        valid_sets=[ds_val],
        callbacks=[lgb.early_stopping(int(controls["early_stopping_rounds"]), verbose=False)],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    text = booster.model_to_string(num_iteration=best)
    engine = LgbmEngine(text, len(encoding.features))
    calibrator = fit_calibrator(engine.raw(X[val_idx]), y[val_idx], str(controls["calibration"]))
    info = {
        "lightgbm": {k: v for k, v in lgb_params.items() if k != "monotone_constraints"},
        "monotone": {f: c for f, c in zip(encoding.features, constraints, strict=True) if c},
        "best_iteration": best,
        "calibration": calibrator.method,
        **controls,
    }
    return engine, calibrator, info
