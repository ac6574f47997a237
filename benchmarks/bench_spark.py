"""Benchmark: the Spark engine (``spark_states``) on local mode at a few book sizes.

    .venv/bin/python benchmarks/bench_spark.py --loans 10000 50000 200000 --master 'local[2]'

For each size: simulate the book (``postloan.sim``), turn the simulator's feed
frames into the store's batch frames directly (what the import would load:
schedule ``balance`` = principal − cumulative principal due, ``source`` =
"feed", no ``first_due_date``, no reversals, rates without trailing zeros;
rows in the store's order: equal to the imported frames, checked on 500 loans), then
time ``spark_states`` on a warm session (start-up and a first 1,000-loan job on
cold Python workers are timed once, apart) and the
local engine (``engines.compute_states(engine="local")``) on the same book
(on a ``--sample`` of whole loans when the local engine is the slow per-loan
reference), whose rows must equal Spark's. Peak memory is the largest
sum of RSS over this process and all its descendants (the JVM and the Python
workers), sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from datetime import date
from pathlib import Path

import polars as pl


def store_frames(loans: int, months: int, seed: int) -> tuple[tuple[pl.DataFrame, ...], date]:
    from postloan.sim import SimConfig, simulate

    result = simulate(SimConfig.default(), loans=loans, months=months, seed=seed)
    book = result.loans.with_columns(
        pl.lit(None, pl.Date).alias("first_due_date"),
        # the import writes rates without trailing zeros ("0.1020" -> "0.102")
        pl.col("annual_rate").str.replace(r"(\.\d*?)0+$", "$1").str.strip_suffix("."),
    ).select(
        "loan_id",
        "borrower_id",
        "product",
        "principal",
        "annual_rate",
        "term",
        "frequency",
        "day_count",
        "method",
        "disbursement_date",
        "first_due_date",
        "officer_id",
        "branch",
        "currency",
        "fee_per_period",
    )
    schedules = (
        result.schedules.sort("loan_id", "seq")
        .join(book.select("loan_id", "principal"), on="loan_id")
        .with_columns(
            (pl.col("principal") - pl.col("principal_due").cum_sum().over("loan_id")).alias(
                "balance"
            ),
            pl.lit("feed").alias("source"),
        )
        .drop("principal")
    )
    txns = result.transactions.with_columns(pl.lit(None, pl.Utf8).alias("reverses")).sort(
        "loan_id", "value_date", "txn_id"
    )
    marks = result.loan_marks.sort("loan_id", "start_date", "mark_id")
    as_of = result.monthly["as_of"].max()
    assert isinstance(as_of, date)
    return (book.sort("loan_id"), schedules, txns, marks), as_of


def _tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(stat[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


class PeakRss:
    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _tree_rss(os.getpid()))

    def __enter__(self) -> PeakRss:
        self.peak = _tree_rss(os.getpid())
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loans", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from postloan.batch.book import BookFrames
    from postloan.batch.engines import compute_states, local_kernel_name
    from postloan.batch.spark_engine import kernel_name, spark_session, spark_states
    from postloan.domain.policy import ServicingPolicy

    policy = ServicingPolicy.default()
    t0 = time.perf_counter()
    spark_session(args.master)
    startup = time.perf_counter() - t0
    print(f"spark session start-up ({args.master}): {startup:.1f} s; kernel {kernel_name()}")
    # the first job pays for starting the Python workers and importing the kernel
    frames, on = store_frames(1_000, args.months, args.seed)
    t0 = time.perf_counter()
    spark_states(*frames, on, policy, master=args.master)
    warmup = time.perf_counter() - t0
    print(f"first job (1,000 loans, cold workers): {warmup:.1f} s", flush=True)
    rows = []
    for n in args.loans:
        t0 = time.perf_counter()
        frames, on = store_frames(n, args.months, args.seed)
        built = time.perf_counter() - t0
        with PeakRss() as rss:
            t0 = time.perf_counter()
            states = spark_states(*frames, on, policy, master=args.master)
            spark_s = time.perf_counter() - t0
        sample = frames
        if local_kernel_name() == "reference" and n > args.sample:
            # the per-loan reference is slow: time it on a sample of whole loans
            ids = frames[0]["loan_id"].sample(args.sample, seed=1).implode()
            sample = tuple(f.filter(pl.col("loan_id").is_in(ids)) for f in frames)
        t0 = time.perf_counter()
        local = compute_states(BookFrames(*sample), on, policy, engine="local")
        local_s = time.perf_counter() - t0
        same = (
            states.join(local.select("loan_id"), on="loan_id", how="semi")
            .sort("loan_id")
            .equals(local.sort("loan_id"))
        )
        row = {
            "loans": n,
            "business_date": on.isoformat(),
            "schedule_rows": frames[1].height,
            "transactions": frames[2].height,
            "states": states.height,
            "build_s": round(built, 1),
            "spark_s": round(spark_s, 1),
            "spark_loans_per_s": round(n / spark_s),
            "peak_rss_gb": round(rss.peak / 2**30, 2),
            "local_engine": local_kernel_name(),
            "local_loans": sample[0].height,
            "local_s": round(local_s, 2),
            "local_loans_per_s": round(sample[0].height / local_s),
            "rows_equal": same,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(
            json.dumps({"startup_s": startup, "first_job_s": warmup, "runs": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
