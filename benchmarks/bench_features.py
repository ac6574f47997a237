"""Benchmark: FEATURES and the ALERTS rule evaluation on a large synthetic book (issue 5).

    .venv/bin/python benchmarks/bench_features.py [--loans 1000000] [--parts 4]

A synthetic book shaped like the simulator's (12 monthly instalments a loan,
~8 transactions, DPD history rows for the delinquent loans) is cut into
``--parts`` partitions of whole loans, as the close of business streams them.
Timed: ``compute_features`` (all registry features) per partition and in total;
then ``alert_base`` + the shipped rules (``alert_rules.evaluate``) over the whole
date. Baseline in the same run: the registry before this issue (12 features,
state and DPD history only, read from git ``007f5dc``) on the same partitions.
Figures are printed as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

D = date(2026, 6, 30)
BASELINE_COMMIT = "007f5dc"


def book(n: int, seed: int = 1) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"L{i:08d}" for i in range(n)])
    disb = np.datetime64("2025-07-01") + rng.integers(0, 180, n).astype("timedelta64[D]")
    late = rng.random(n) < 0.08
    dpd = np.where(late, rng.integers(1, 120, n), 0).astype(np.int32)
    inst = rng.integers(500_00, 5_000_00, n)
    state = pl.DataFrame(
        {
            "loan_id": ids,
            "business_date": [D] * n,
            "status": np.where(rng.random(n) < 0.05, "closed", "active"),
            "bucket": np.where(late, "M1", "M0"),
            "days_past_due": dpd,
            "overdue_since": pl.Series(
                np.where(
                    late, np.datetime64(D) - dpd.astype("timedelta64[D]"), np.datetime64("NaT")
                )
            ).cast(pl.Date),
            "principal_outstanding": inst * 6,
            "overdue_principal": np.where(late, inst, 0),
            "overdue_interest": np.where(late, inst // 10, 0),
            "overdue_fee": np.zeros(n, dtype=np.int64),
            "penalty_outstanding": np.where(late, inst // 100, 0),
            "principal_paid": inst * 5,
            "last_payment_date": pl.Series(
                np.datetime64(D) - rng.integers(0, 60, n).astype("timedelta64[D]")
            ).cast(pl.Date),
            "failed_debits": rng.integers(0, 3, n).astype(np.int32),
            "next_due_date": pl.Series(
                np.datetime64(D) + rng.integers(1, 30, n).astype("timedelta64[D]")
            ).cast(pl.Date),
        }
    )
    loans = pl.DataFrame(
        {
            "loan_id": ids,
            "borrower_id": [f"B{i // 2:08d}" for i in range(n)],
            "product": rng.choice(["consumer", "credit_line", "sme"], n),
            "principal": inst * 11,
            "annual_rate": rng.choice(["0.06", "0.12", "0.18", "0.24"], n),
            "term": np.full(n, 12, dtype=np.int32),
            "disbursement_date": pl.Series(disb).cast(pl.Date),
            "officer_id": rng.choice([f"O{i}" for i in range(500)], n),
            "branch": rng.choice([f"BR{i}" for i in range(50)], n),
        }
    )
    k = 12
    schedules = pl.DataFrame(
        {
            "loan_id": np.repeat(ids, k),
            "seq": np.tile(np.arange(1, k + 1, dtype=np.int32), n),
            "due_date": pl.Series(
                np.repeat(disb, k) + (np.tile(np.arange(1, k + 1), n) * 30).astype("timedelta64[D]")
            ).cast(pl.Date),
            "principal_due": np.repeat(inst - inst // 10, k),
            "interest_due": np.repeat(inst // 10, k),
            "fee_due": np.zeros(n * k, dtype=np.int64),
        }
    )
    t = 8
    txns = pl.DataFrame(
        {
            "txn_id": [f"T{i}" for i in range(n * t)],
            "loan_id": np.repeat(ids, t),
            "type": rng.choice(["repayment", "repayment", "repayment", "failed_debit"], n * t),
            "amount": np.repeat(inst, t) * rng.choice([1.0, 1.0, 0.5], n * t).astype(np.int64),
            "value_date": pl.Series(
                np.repeat(disb, t) + rng.integers(0, 360, n * t).astype("timedelta64[D]")
            ).cast(pl.Date),
            "reverses": pl.Series([None] * (n * t), dtype=pl.Utf8),
        }
    )
    h_ids = ids[late]
    days = 30
    history = pl.DataFrame(
        {
            "loan_id": np.repeat(h_ids, days),
            "business_date": pl.Series(
                np.datetime64(D)
                - np.tile(np.arange(1, days + 1) * 10, len(h_ids)).astype("timedelta64[D]")
            ).cast(pl.Date),
            "days_past_due": rng.integers(1, 90, len(h_ids) * days).astype(np.int32),
        }
    )
    return {
        "state": state,
        "loans": loans,
        "schedules": schedules,
        "transactions": txns,
        "history": history,
    }


def baseline_module() -> Any:
    """The feature registry as it was before this issue (git ``007f5dc``)."""
    source = subprocess.run(
        ["git", "show", f"{BASELINE_COMMIT}:src/postloan/batch/steps/features.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "features_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("features_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["features_before"] = module
    spec.loader.exec_module(module)
    return module


def split(frames: dict[str, pl.DataFrame], parts: int) -> list[dict[str, pl.DataFrame]]:
    ids = frames["loans"].select("loan_id").with_row_index("i")
    out = []
    for p in range(parts):
        own = ids.filter(pl.col("i") % parts == p).select("loan_id")
        out.append({k: v.join(own, on="loan_id", how="semi") for k, v in frames.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=4)
    args = parser.parse_args()

    from postloan.batch.steps.features import FEATURES, compute_features
    from postloan.config import load_settings
    from postloan.risk.alert_rules import evaluate
    from postloan.risk.alerts import alert_base, load_rules, with_previous_scores

    t0 = time.perf_counter()
    frames = book(args.loans)
    parts = split(frames, args.parts)
    build_s = time.perf_counter() - t0
    before = baseline_module()

    def run(new: bool) -> tuple[float, list[float], list[pl.DataFrame]]:
        times, outs = [], []
        for f in parts:
            t = time.perf_counter()
            if new:
                out = compute_features(
                    f["state"],
                    f["loans"],
                    f["schedules"],
                    f["history"],
                    D,
                    transactions=f["transactions"],
                )
            else:
                out = before.compute_features(
                    f["state"], f["loans"], f["schedules"], f["history"], D
                )
            times.append(time.perf_counter() - t)
            outs.append(out)
        return sum(times), times, outs

    base_total, base_parts, _ = run(False)
    new_total, new_parts, outs = run(True)
    features = pl.concat(outs)
    t = time.perf_counter()
    abase = pl.concat(
        [
            alert_base(f["state"], o, f["loans"], D, transactions=f["transactions"])
            for f, o in zip(parts, outs, strict=True)
        ]
    )
    abase = with_previous_scores(abase, None)
    candidates = evaluate(abase, load_rules(load_settings()), D)
    alerts_s = time.perf_counter() - t
    print(  # noqa: T201
        json.dumps(
            {
                "loans": args.loans,
                "partitions": args.parts,
                "book_rows": {k: v.height for k, v in frames.items()},
                "build_s": round(build_s, 1),
                "features": len(FEATURES),
                "features_s": round(new_total, 2),
                "features_s_per_partition": [round(x, 2) for x in new_parts],
                "baseline_features": len(before.FEATURES),
                "baseline_s": round(base_total, 2),
                "baseline_s_per_partition": [round(x, 2) for x in base_parts],
                "alert_base_and_rules_s": round(alerts_s, 2),
                "alert_candidates": candidates.height,
                "rows_out": features.height,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
