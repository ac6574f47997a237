"""Collections: strategy validation and the vectorised planner (issue 6).

    .venv/bin/python benchmarks/bench_collections.py [--loans 1000000] [--seed 7]

Figures (JSON): the time to validate the shipped strategy (overlap and
reachability by enumeration); the time to segment and plan one business date
for ``--loans`` synthetic loans in arrears or near a due date (the STRATEGY
step's input), and, as the baseline in the same run, a per-loan Python loop
that applies the same rules to a 20,000-loan slice (scaled per loan). Both
plans are checked identical on the slice.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, timedelta

import polars as pl

from postloan.collections.planner import INPUT_SCHEMA, plan_actions, segment_loans
from postloan.collections.strategy import Strategy
from postloan.collections.strategy_io import default_strategy, default_text, parse_text

D = date(2026, 10, 15)
BUCKETS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]


def book(n: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    dpd = [rng.choice([0, 0, 0, rng.randint(1, 200)]) for _ in range(n)]
    return pl.DataFrame(
        {
            "loan_id": [f"L{i:08d}" for i in range(n)],
            "borrower_id": [f"B{i // 2:08d}" for i in range(n)],
            "product": [rng.choice(["cash", "card", "auto"]) for _ in range(n)],
            "region": [rng.choice(["CN-11", "CN-31", "CN-44"]) for _ in range(n)],
            "bucket": [BUCKETS[min(7, (d + 29) // 30)] for d in dpd],
            "days_past_due": dpd,
            "next_due_date": [D + timedelta(days=rng.randint(1, 30)) for _ in range(n)],
            "balance": [rng.randint(1_000, 10_000_000) for _ in range(n)],
            "overdue_amount": [rng.randint(0, 500_000) if d else 0 for d in dpd],
            "entered_today": [d > 1 and rng.random() < 0.01 for d in dpd],
            "score": [rng.random() * 0.4 for _ in range(n)],
            "promise_state": [rng.choice(["none"] * 8 + ["open", "broken"]) for _ in range(n)],
            "restructured": [rng.random() < 0.02 for _ in range(n)],
            "in_legal": [rng.random() < 0.01 for _ in range(n)],
        },
        schema=INPUT_SCHEMA,
    )


def loop_plan(frame: pl.DataFrame, strategy: Strategy) -> list[tuple[str, str]]:
    """The baseline: the same rules, one loan and one action at a time."""
    seg_of = segment_loans(frame, strategy)  # segments/groups as the vectorised path
    by_name = {s.name: s for s in strategy.segments}
    out = []
    for row in seg_of.iter_rows(named=True):
        if row["segment"] is None:
            continue
        path = by_name[row["segment"]].path(row["group"])
        first = next(
            (i for i, a in enumerate(path) if a.kind == "automated" and a.anchor == "delinquency"),
            None,
        )
        ahead = (row["next_due_date"] - D).days
        for i, act in enumerate(path):
            if act.anchor == "delinquency":
                due = row["days_past_due"] == act.offset or (
                    row["entered_today"] and i == first and act.offset < row["days_past_due"]
                )
            else:
                due = ahead == -act.offset
            allowed = row["overdue_amount"] >= act.min_overdue and not (
                act.no_open_promise and row["promise_state"] == "open"
            )
            if due and allowed:
                out.append((row["loan_id"], act.action))
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    text = default_text()
    t = time.perf_counter()
    for _ in range(10):
        parse_text(text, "default")
    validate_ms = (time.perf_counter() - t) / 10 * 1000
    strategy = default_strategy()
    frame = book(args.loans, args.seed)
    t = time.perf_counter()
    plan = plan_actions(frame, strategy, D)
    vector_s = time.perf_counter() - t
    part = frame.head(20_000)
    t = time.perf_counter()
    slow = loop_plan(part, strategy)
    loop_s = (time.perf_counter() - t) * args.loans / part.height
    fast = sorted(zip(*plan_actions(part, strategy, D).select("loan_id", "action"), strict=True))
    assert fast == slow, "vectorised and per-loan plans differ"
    json.dump(
        {
            "loans": args.loans,
            "validate_default_ms": round(validate_ms, 1),
            "plan_seconds": round(vector_s, 2),
            "actions_due": plan.height,
            "loop_baseline_seconds_scaled": round(loop_s, 1),
            "speedup": round(loop_s / vector_s, 1),
        },
        sys.stdout,
        indent=2,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
