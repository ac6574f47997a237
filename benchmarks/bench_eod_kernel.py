"""Benchmark: the vectorised loan-state kernel against the per-loan reference.

    .venv/bin/python benchmarks/bench_eod_kernel.py --loans 1000000

The book is simulated once (``postloan.sim.simulate``, 36 months of history by
default), turned into store-shaped frames with
``postloan.batch.state_kernel.simbook.store_frames`` and cached as Parquet under
``bench-out/eod-kernel-<loans>-<months>-<seed>/``. The timed run is a child
process of its own, so its peak RSS (``ru_maxrss`` of the child) covers reading
the cached frames and one full recompute of every loan's state on the business
date (default: the simulation's last month-end). The reference
(``reference_states_frame``) is timed on a sample of loans in the same child,
after the big run; the kernel is also run on that sample and must agree with it.
Targets (1M loans, ~36M schedule rows): ≤ 15 s wall, ≤ 6 GB peak, ≥ 50× speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

NAMES = ("loans", "schedules", "transactions", "marks")


def book_dir(loans: int, months: int, seed: int) -> Path:
    return Path("bench-out") / f"eod-kernel-{loans}-{months}-{seed}"


def build(loans: int, months: int, seed: int) -> None:
    """Simulate and cache the book (in this process; the caller is a child)."""
    from postloan.batch.state_kernel.simbook import store_frames
    from postloan.sim import SimConfig, simulate

    out = book_dir(loans, months, seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = simulate(SimConfig.default(), loans=loans, months=months, seed=seed)
    on = result.truth["as_of"].max()
    frames = store_frames(result)
    del result
    for name, frame in zip(NAMES, frames, strict=True):
        frame.write_parquet(out / f"{name}.parquet")
    (out / "meta.json").write_text(
        json.dumps({"business_date": str(on), "simulate_s": time.perf_counter() - t0})
    )


def measure(loans: int, months: int, seed: int, on: str | None, sample: int) -> dict[str, object]:
    import polars as pl

    from postloan.batch.reference import reference_states_frame
    from postloan.batch.state_kernel import run_kernel
    from postloan.domain.policy import ServicingPolicy

    src = book_dir(loans, months, seed)
    meta = json.loads((src / "meta.json").read_text())
    day = date.fromisoformat(on or meta["business_date"])
    policy = ServicingPolicy.default()
    t0 = time.perf_counter()
    frames = [pl.read_parquet(src / f"{name}.parquet") for name in NAMES]
    t1 = time.perf_counter()
    run = run_kernel(*frames, day, policy)
    t2 = time.perf_counter()
    rss_kernel = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    states = run.states.height
    # the reference on a sample of loans (every k-th loan id), and the kernel on it
    ids = frames[0].select("loan_id").gather_every(max(1, frames[0].height // sample))
    part = [f.join(ids, on="loan_id", how="semi", maintain_order="left") for f in frames]
    del run
    t3 = time.perf_counter()
    ref = reference_states_frame(*part, day, policy)
    t4 = time.perf_counter()
    small = run_kernel(*part, day, policy)
    return {
        "loans": frames[0].height,
        "schedule_rows": frames[1].height,
        "transactions": frames[2].height,
        "business_date": str(day),
        "states": states,
        "read_s": t1 - t0,
        "kernel_s": t2 - t1,
        "peak_rss_gb": rss_kernel,
        "fallback_loans": len(small.fallback_ids),
        "sample_states": ref.height,
        "reference_s": t4 - t3,
        "sample_identical": small.states.equals(ref, null_equal=True),
        "sample_fallback_share": small.fallback_share,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--date", default=None, help="business date (default: last month-end)")
    ap.add_argument("--sample", type=int, default=2_000, help="loans timed through the reference")
    ap.add_argument("--child", choices=("build", "measure"), default=None)
    args = ap.parse_args()
    if args.child == "build":
        build(args.loans, args.months, args.seed)
        return
    if args.child == "measure":
        print(json.dumps(measure(args.loans, args.months, args.seed, args.date, args.sample)))
        return
    base = [
        sys.executable,
        __file__,
        "--loans",
        str(args.loans),
        "--months",
        str(args.months),
        "--seed",
        str(args.seed),
        "--sample",
        str(args.sample),
    ]
    if args.date:
        base += ["--date", args.date]
    if not (book_dir(args.loans, args.months, args.seed) / "meta.json").exists():
        t0 = time.perf_counter()
        subprocess.run([*base, "--child", "build"], check=True)
        print(f"built and cached the book in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    out = subprocess.run([*base, "--child", "measure"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r = json.loads(out.stdout.strip().splitlines()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    per_loan_ref = r["reference_s"] / max(r["sample_states"], 1)
    per_loan_kernel = r["kernel_s"] / max(r["states"], 1)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"book: {r['loans']:,} loans, {r['schedule_rows']:,} schedule rows, "
        f"{r['transactions']:,} transactions; business date {r['business_date']}"
    )
    print(
        f"kernel: {r['states']:,} loan states in {r['kernel_s']:.2f} s "
        f"(read {r['read_s']:.2f} s; child wall {wall:.1f} s)"
    )
    print(f"peak RSS: {r['peak_rss_gb']:.2f} GB after the kernel, {peak:.2f} GB for the child")
    print(
        f"reference on a sample: {r['sample_states']:,} loans in {r['reference_s']:.2f} s "
        f"({per_loan_ref * 1e3:.2f} ms/loan); identical to the kernel: {r['sample_identical']}"
    )
    print(f"speed-up: {per_loan_ref / per_loan_kernel:.0f}x per loan")
    print(f"fallback to the reference: {r['sample_fallback_share']:.2%} of sampled loans")


if __name__ == "__main__":
    main()
