"""Scoring 1M loans whose features are already computed: probability, points,
band and the top 3 reasons (zh-CN), for the LightGBM model and the scorecard.

Baselines in the same run: scoring loan by loan (one-row frames, as a per-request
scorer would), timed on a sample and extrapolated to the whole book; and for
LightGBM the implementation before this one: leaves from LightGBM's ``pred_leaf``
tree walks, path attributions tree by tree, reasons ranked after the whole
attribution matrix is built.
Wall and CPU seconds are printed with the load average (the machine is shared).

    .venv/bin/python benchmarks/bench_scoring.py [--loans 1000000] [--features 30]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import polars as pl

import postloan.risk  # noqa: F401  (sets OMP_WAIT_POLICY before LightGBM loads)
from postloan.risk.models import train


def book(n: int, p: int, seed: int = 11) -> pl.DataFrame:
    """A synthetic book: ``p − 2`` numeric features (DPD-like counts and ratios),
    a product and a region category, and a 0/1 outcome driven by some of them."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {"loan_id": [f"L{i:07d}" for i in range(n)]}
    logit = np.full(n, -4.0)
    for j in range(p - 2):
        if j % 3 == 0:
            x = rng.choice([0, 0, 0, 0, 0, 2, 8, 20, 45, 95], size=n).astype(np.int32)
            logit += 0.02 * x / (1 + j // 6)
        elif j % 3 == 1:
            x = rng.uniform(0, 1, n)
            logit += (0.8 if j < 10 else 0.1) * x
        else:
            x = rng.normal(size=n)
        cols[f"f{j:02d}"] = x
    cols["product"] = rng.choice(["consumer", "credit_line", "sme"], n)
    cols["region"] = rng.choice([f"CN-{k}" for k in range(11, 66, 5)], n)
    logit += (np.asarray(cols["product"]) == "sme") * 0.5
    cols["bad"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pl.DataFrame(cols)


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    return best_wall_cpu(fn, repeat)[0]


def best_wall_cpu(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The best wall and the best CPU seconds (all threads) of ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def tree_by_tree(model):  # type: ignore[no-untyped-def]
    """Score+reasons the way before leaf tables and tree groups: ``pred_leaf``, one
    group per tree, the whole n × p attribution matrix, then ranked."""
    from postloan.risk.lgbm import _group_trees
    from postloan.risk.reasons import top_drivers

    engine = model.engine
    grouped, tables = engine._grouped(), engine.leaf_tables()
    engine._groups = _group_trees(engine.trees, limit=1)
    engine._leaves = False  # LightGBM's pred_leaf walks the trees

    def run(frame: pl.DataFrame) -> None:
        raw, contrib = engine.explain(model.matrix(frame), "path")
        top_drivers(contrib, 3)
        model.calibrator(raw)

    def restore() -> None:
        engine._groups, engine._leaves = grouped, tables

    return run, restore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=30)
    ap.add_argument("--train", type=int, default=50_000)
    ap.add_argument("--sample", type=int, default=1_000, help="per-loan baseline sample")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    frame = book(args.loans, args.features)
    features = frame.drop("bad")
    print(f"book: {args.loans:,} loans × {args.features} features; {load()}")
    for kind in ("lgbm", "scorecard"):
        start = time.perf_counter()
        model = train(frame.head(args.train), "bad", kind=kind)  # type: ignore[arg-type]
        fit = time.perf_counter() - start
        trees = len(model.engine.trees) if kind == "lgbm" else 0  # type: ignore[union-attr]
        scored = model.score(features)
        assert scored.height == args.loans and scored["reason_1"].null_count() < args.loans
        whole, whole_cpu = best_wall_cpu(lambda m=model: m.score(features), args.repeat)
        sample = features.head(args.sample)
        start = time.perf_counter()
        for i in range(sample.height):
            model.score(sample.slice(i, 1))
        per_loan = (time.perf_counter() - start) / sample.height
        baseline = per_loan * args.loans
        shape = f", {trees} trees" if trees else ""
        print(
            f"{kind:<10} trained on {args.train:,} in {fit:.1f} s{shape}; "
            f"score+reasons {args.loans:,}: {whole:.2f} s wall, {whole_cpu:.2f} s CPU "
            f"({args.loans / whole / 1e6:.2f} M loans/s; {load()}) | loan by loan: "
            f"{per_loan * 1e3:.2f} ms/loan → {baseline:.0f} s extrapolated, "
            f"{baseline / whole:.0f}× slower"
        )
        if kind == "lgbm":
            run, restore = tree_by_tree(model)
            old, old_cpu = best_wall_cpu(lambda r=run: r(features), args.repeat)
            restore()
            print(
                f"{'':<10} baseline, pred_leaf + attributions tree by tree then ranked: "
                f"{old:.2f} s wall, {old_cpu:.2f} s CPU → now {old_cpu / whole_cpu:.2f}× less CPU"
            )
            X = model.matrix(features)
            plain = best_of(lambda m=model, x=X: m.engine.raw(x), args.repeat)
            print(
                f"{'':<10} LightGBM's own predict of the same matrix (no reasons, no frame): "
                f"{plain:.2f} s (it walks every tree; the leaf tables replace that walk)"
            )
            del X
            few = features.head(2_000)
            shap = best_of(lambda m=model, f=few: m.score(f, reasons="shap"), 1)
            print(
                f"{'':<10} exact TreeSHAP reasons: {shap / few.height * 1e6:.0f} µs/loan → "
                f"{shap / few.height * args.loans:.0f} s for {args.loans:,} (why the batch "
                "uses path attributions)"
            )


if __name__ == "__main__":
    main()
