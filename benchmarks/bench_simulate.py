"""Benchmark: the portfolio simulator end to end (simulate + write the feeds).

    .venv/bin/python benchmarks/bench_simulate.py --loans 1000000 --months 36

Each size runs in a child process of its own so the peak RSS
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``) belongs to that run alone.
The baseline is the same simulator on ``--baseline`` loans (default 100,000) in
the same invocation: the report shows how the big run scales against it
(1.00 = perfectly linear). Targets: 100k loans × 36 months under 20 s;
1M loans × 36 months within 3 minutes and 8 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(loans: int, months: int, seed: int, out: Path, fmt: str) -> dict[str, float]:
    """Run once in this process; returns the timings."""
    from postloan.sim import SimConfig, simulate, write_feeds

    t0 = time.perf_counter()
    result = simulate(SimConfig.default(), loans=loans, months=months, seed=seed)
    t1 = time.perf_counter()
    paths = write_feeds(result, out, fmt)
    t2 = time.perf_counter()
    return {
        "loans": loans,
        "months": months,
        "simulate_s": t1 - t0,
        "write_s": t2 - t1,
        "total_s": t2 - t0,
        "transactions": result.transactions.height,
        "schedule_rows": result.schedules.height,
        "truth_rows": result.truth.height,
        "bytes_written": sum(p.stat().st_size for p in paths),
    }


def child(loans: int, months: int, seed: int, fmt: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--loans",
            str(loans),
            "--months",
            str(months),
            "--seed",
            str(seed),
            "--format",
            fmt,
            "--out",
            tmp,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        wall0 = time.perf_counter()
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - wall0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["process_wall_s"] = wall  # includes interpreter start and imports
    # ru_maxrss of children is the max over all children so far: runs go smallest first.
    figures["peak_rss_gb"] = max(peak_kb, before) * 1024 / 1e9
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--baseline", type=int, default=100_000, help="loans in the baseline run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.loans, args.months, args.seed, args.out, args.format)))
        return

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    sizes = sorted({args.baseline, args.loans})
    runs = {n: child(n, args.months, args.seed, args.format) for n in sizes}
    print(
        f"{'loans':>10} {'months':>6} {'simulate s':>10} {'write s':>8} {'wall s':>8} "
        f"{'peak GB':>8} {'loans/s':>9} {'txns':>11} {'truth rows':>11}"
    )
    for n, r in runs.items():
        print(
            f"{n:>10,} {args.months:>6} {r['simulate_s']:>10.1f} {r['write_s']:>8.1f} "
            f"{r['process_wall_s']:>8.1f} {r['peak_rss_gb']:>8.2f} "
            f"{n / r['total_s']:>9,.0f} {r['transactions']:>11,} {r['truth_rows']:>11,}"
        )
    if args.loans != args.baseline:
        base, big = runs[args.baseline], runs[args.loans]
        expected = base["total_s"] * args.loans / args.baseline
        print(
            f"baseline ({args.baseline:,} loans) scaled to {args.loans:,}: {expected:.1f} s; "
            f"measured {big['total_s']:.1f} s (scaling factor {big['total_s'] / expected:.2f}, "
            "1.00 = linear)"
        )


if __name__ == "__main__":
    main()
