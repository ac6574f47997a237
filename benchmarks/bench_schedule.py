"""Benchmark: vectorised schedules for a realistic loan book vs the per-loan reference.

    .venv/bin/python benchmarks/bench_schedule.py --loans 1000000

Times ``postloan.batch.generate_schedules`` (best of 3) on a generated book,
times the reference ``generate_schedule`` on a sample and extrapolates, checks
that both agree on that sample, and prints loans/s, instalments/s and speed-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl

from postloan.batch import generate_schedules
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.schedule import LoanTerms, Method, generate_schedule

# (share, method, frequency, term range) — mostly monthly annuity, as a consumer book is.
MIX = [
    (0.66, "annuity", "monthly", (6, 36)),
    (0.12, "equal_principal", "monthly", (6, 36)),
    (0.08, "annuity", "weekly", (4, 52)),
    (0.05, "flat", "monthly", (3, 24)),
    (0.04, "annuity", "fortnightly", (6, 26)),
    (0.03, "interest_only", "monthly", (3, 12)),
    (0.02, "bullet", "days:30", (1, 6)),
]
DAY_COUNTS = (["30/360"] * 5) + (["act/365f"] * 3) + ["act/360", "act/act-fineract"]


def make_book(n: int, seed: int = 20240131) -> pl.DataFrame:
    """A loan book of ``n`` loans: principals 1,000–300,000 CNY, rates 3.5%–36%."""
    rng = np.random.default_rng(seed)
    shares = np.array([m[0] for m in MIX])
    kind = rng.choice(len(MIX), size=n, p=shares / shares.sum())
    lows = np.array([m[3][0] for m in MIX])
    highs = np.array([m[3][1] for m in MIX])
    term = rng.integers(lows[kind], highs[kind] + 1)
    principal = rng.integers(1_000, 300_001, size=n) * 100
    rate_bp = rng.integers(350, 3601, size=n)  # basis points → "0.xxxx"
    rates = np.array([str(Decimal(int(b)) / 10_000) for b in range(3601)])
    start = date(2022, 1, 1)
    offset = rng.integers(0, 4 * 365, size=n)
    disbursed = np.datetime64(start) + offset.astype("timedelta64[D]")
    fee = np.where(rng.random(n) < 0.2, rng.integers(1, 50, size=n) * 100, 0)
    return pl.DataFrame(
        {
            "loan_id": [f"L{i:08d}" for i in range(n)],
            "principal": principal.astype(np.int64),
            "annual_rate": rates[rate_bp],
            "term": term.astype(np.int32),
            "frequency": np.array([m[2] for m in MIX])[kind],
            "day_count": np.array(DAY_COUNTS)[rng.integers(0, len(DAY_COUNTS), size=n)],
            "method": np.array([m[1] for m in MIX])[kind],
            "disbursement_date": disbursed,
            "fee_per_period": fee.astype(np.int64),
        }
    ).with_columns(pl.lit(None, dtype=pl.Date).alias("first_due_date"))


def reference_terms(book: pl.DataFrame) -> list[LoanTerms]:
    return [
        LoanTerms(
            principal=r["principal"],
            annual_rate=Decimal(r["annual_rate"]),
            term=r["term"],
            frequency=Frequency.parse(r["frequency"]),
            day_count=DayCount.parse(r["day_count"]),
            method=Method.parse(r["method"]),
            disbursement_date=r["disbursement_date"],
            fee_per_period=r["fee_per_period"],
        )
        for r in book.iter_rows(named=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="loans for the baseline")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="kernel threads (default: auto)")
    args = parser.parse_args()

    book = make_book(args.loans)
    load = os.getloadavg()[0]
    times = []
    cpu = []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        schedules = generate_schedules(book, threads=args.threads)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        del schedules
    best = min(times)
    rows = sum(1 if m == "bullet" else t for m, t in book.select("method", "term").iter_rows())

    sample = book.head(min(args.sample, args.loans))
    terms = reference_terms(sample)
    t0 = time.perf_counter()
    expected = [generate_schedule(t) for t in terms]
    ref_time = time.perf_counter() - t0
    ref_rate = len(terms) / ref_time
    got = generate_schedules(sample)
    flat = [
        (i.seq, i.due_date, i.principal, i.interest, i.fee, i.balance)
        for schedule in expected
        for i in schedule
    ]
    agree = flat == got.drop("loan_id").rows()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.2f}")
    print(f"loans: {args.loans:,}  instalments: {rows:,}")
    runs = ", ".join(f"{t:.2f}" for t in times)
    print(f"kernel: best of {args.repeat} = {best:.2f} s  (runs: {runs})")
    print(f"kernel CPU time per run: {', '.join(f'{c:.2f}' for c in cpu)} s")
    print(f"kernel: {args.loans / best:,.0f} loans/s, {rows / best:,.0f} instalments/s")
    print(f"reference: {len(terms):,} loans in {ref_time:.2f} s = {ref_rate:,.0f} loans/s")
    print(f"reference extrapolated to {args.loans:,} loans: {args.loans / ref_rate:.1f} s")
    print(f"speed-up: {args.loans / best / ref_rate:.0f}x; sample identical to reference: {agree}")


if __name__ == "__main__":
    main()
