"""Benchmark: one full close of business (``run_date``) end to end.

    .venv/bin/python benchmarks/bench_eod.py --loans 1000000 [--partitions N]

The book is simulated once and cached as store-shaped Parquet frames
(``postloan.batch.state_kernel.simbook.store_frames``; the same cache folder as
``bench_eod_kernel.py``, ``bench-out/eod-kernel-<loans>-<months>-<seed>/``, so
the two benchmarks share one simulation). It is then written as the book
mirror (``write_book``, N loan-id range partitions; by default the product's own
partition size, ``book.LOANS_PER_PARTITION`` loans each) of a fresh ``POSTLOAN_HOME``
with an empty SQLite database — what ``postloan import`` leaves behind, without
the hours of loading 36M rows into SQLite. The timed run is a child process:
``run_date`` on the business date (the simulation's last month-end) with the
default steps, i.e. a full recompute (no earlier snapshot, so ROLL_EVENTS also
computes the previous day), snapshots written, database upserts committed.
Its wall time and peak RSS (``ru_maxrss``) are printed as JSON, with the time
of each stage from the runner's progress events.

``--next`` then times the following day in the same home: a daily run that
reads yesterday's snapshot (one date of kernel work, changed rows upserted).
``--replicate K`` streams a K-times larger book made of K copies of the
simulated one (loan ids prefixed), e.g. ``--loans 1000000 --replicate 10``.
``--homes DIR`` puts the run's home under DIR (default ``bench-out``), so runs of
different code can go side by side. ``--sample N`` also times
``engine="reference"`` (the per-loan reference) and ``engine="local"`` on an
N-loan sample of the same book, for the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

NAMES = ("loans", "schedules", "transactions", "marks")


def cache_dir(loans: int, months: int, seed: int, terms: int = 0) -> Path:
    suffix = f"-t{terms}" if terms else ""
    return Path("bench-out") / f"eod-kernel-{loans}-{months}-{seed}{suffix}"


def build(loans: int, months: int, seed: int, terms: int = 0) -> None:
    from postloan.batch.state_kernel.simbook import store_frames
    from postloan.sim import SimConfig, simulate

    out = cache_dir(loans, months, seed, terms)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    config = SimConfig.default()
    if terms:  # every product lends over ``terms`` months: a schedule row per month
        products = config["products"]
        config = config.with_overrides(
            {"products": {name: {"terms": {terms: 1.0}} for name in products}}
        )
    result = simulate(config, loans=loans, months=months, seed=seed)
    on = result.truth["as_of"].max()
    frames = store_frames(result)
    del result
    for name, frame in zip(NAMES, frames, strict=True):
        frame.write_parquet(out / f"{name}.parquet")
    (out / "meta.json").write_text(
        json.dumps({"business_date": str(on), "simulate_s": time.perf_counter() - t0})
    )


def home_dir(loans: int, months: int, seed: int, partitions: int) -> Path:
    return Path("bench-out") / f"eod-home-{loans}-{months}-{seed}-p{partitions}"


def setup(
    loans: int,
    months: int,
    seed: int,
    partitions: int,
    sample: int,
    replicate: int = 1,
    terms: int = 0,
    root: str = "bench-out",
) -> dict[str, Any]:
    """A fresh POSTLOAN_HOME under ``root`` holding the mirror (and one for the sample)."""
    import polars as pl

    from postloan.batch.book import BookFrames, write_book

    src = cache_dir(loans, months, seed, terms)
    frames = [pl.read_parquet(src / f"{name}.parquet") for name in NAMES]
    frames[0] = _with_loan_columns(frames[0])
    home = Path(root) / home_dir(loans, months, seed, partitions).name
    if terms:
        home = home.parent / f"{home.name}-t{terms}"
    if replicate > 1:
        home = home.parent / f"{home.name}-x{replicate}"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    t0 = time.perf_counter()
    written = write_book(BookFrames(*frames), home / "book", partitions or None)
    if replicate > 1:
        _replicate(home / "book", written, replicate)
    mirror_s = time.perf_counter() - t0
    if sample:
        ids = frames[0].select("loan_id").gather_every(max(1, frames[0].height // sample))
        part = [f.join(ids, on="loan_id", how="semi", maintain_order="left") for f in frames]
        for engine in ("reference", "local"):
            write_book(BookFrames(*part), home.parent / f"{home.name}-{engine}" / "book", 1)
    return {
        "mirror_write_s": round(mirror_s, 2),
        "home": str(home),
        "schedule_rows": frames[1].height * replicate,
        "transactions": frames[2].height * replicate,
    }


def _with_loan_columns(loans: Any) -> Any:
    """A cached loans frame (from an older simbook) with every current loans-frame
    column, the missing ones as typed nulls."""
    import polars as pl

    from postloan.store.repository import LOANS_FRAME_SCHEMA

    missing = [pl.lit(None, t).alias(c) for c, t in LOANS_FRAME_SCHEMA.items() if c not in loans]
    return loans.with_columns(missing).select(list(LOANS_FRAME_SCHEMA))


def _replicate(root: Path, partitions: int, copies: int) -> None:
    """K copies of the book as one K-times larger book: copy k's loan, borrower,
    transaction and mark ids are prefixed ``R<k>-`` (sorting after copy k−1's ids
    for k ≤ 9, so the partitions stay loan-id ranges in order) and its partitions
    numbered after copy k−1's."""
    import polars as pl

    from postloan.batch.book import MANIFEST, SPLIT_FILE, TABLES

    for k in range(1, copies):
        for p in range(partitions):
            src = root / f"part-{p:04d}"
            dst = root / f"part-{k * partitions + p:04d}"
            dst.mkdir()
            for name in TABLES:
                frame = pl.read_parquet(src / f"{name}.parquet")
                frame = frame.with_columns((pl.lit(f"R{k}-") + pl.col("loan_id")).alias("loan_id"))
                if "borrower_id" in frame.columns:  # each copy's borrowers are new people
                    frame = frame.with_columns(
                        (pl.lit(f"R{k}-") + pl.col("borrower_id")).alias("borrower_id")
                    )
                if "txn_id" in frame.columns:
                    frame = frame.with_columns(
                        (pl.lit(f"R{k}-") + pl.col("txn_id")).alias("txn_id")
                    )
                if "mark_id" in frame.columns:
                    frame = frame.with_columns(
                        (pl.lit(f"R{k}-") + pl.col("mark_id")).alias("mark_id")
                    )
                frame.write_parquet(dst / f"{name}.parquet", compression="zstd")
    split_file = root / SPLIT_FILE
    if split_file.exists():  # copy k's split borrowers: the same loans, renamed, moved
        split = pl.read_parquet(split_file)
        copied = [
            split.with_columns(
                (pl.lit(f"R{k}-") + pl.col("loan_id")).alias("loan_id"),
                (pl.lit(f"R{k}-") + pl.col("borrower_id")).alias("borrower_id"),
                (pl.col("part") + k * partitions).alias("part"),
            )
            for k in range(1, copies)
        ]
        pl.concat([split, *copied]).write_parquet(split_file)
    manifest = json.loads((root / MANIFEST).read_text())
    manifest["partitions"] = partitions * copies
    manifest["loans"] = manifest["loans"] * copies
    (root / MANIFEST).write_text(json.dumps(manifest))


def measure(home: Path, on: date, engine: str) -> dict[str, Any]:
    """In the child: open a fresh store on ``home`` and close ``on``."""
    try:  # as ``postloan eod`` does before Polars loads
        from postloan.allocator import tune_polars_allocator

        tune_polars_allocator()
    except ImportError:  # a baseline from before it existed
        pass
    os.environ["POSTLOAN_HOME"] = str(home.resolve())
    os.environ.pop("POSTLOAN_DATABASE_URL", None)
    from postloan.batch.pipeline import run_date
    from postloan.store import open_store

    store = open_store()
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)

    timings: dict[str, float] = {}

    def report(event: str, **fields: Any) -> None:
        if event == "timings":
            timings.update(fields["seconds"])
            return
        key = event if event != "partition_done" else f"partition_{fields['partition']}"
        marks[key] = round(time.perf_counter() - t0, 2)

    result = run_date(store, on, engine=engine, report=report)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    store.close()
    return {
        "engine": engine,
        "loans": result.loans,
        "events": result.events,
        "wall_s": round(wall, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        # CPU seconds of this process during the close (both cores: up to 2 × wall)
        "cpu_user_s": round(after.ru_utime - before.ru_utime, 2),
        "cpu_system_s": round(after.ru_stime - before.ru_stime, 2),
        "minor_faults": after.ru_minflt - before.ru_minflt,
        "stages_s": marks,
        "seconds_by_stage": timings,
    }


def child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--partitions",
        type=int,
        default=0,
        help="book mirror partitions (default 0: the product's default size)",
    )
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--on", default=None, help="business date (default: last simulated month)")
    ap.add_argument("--engine", default="local")
    ap.add_argument("--next", action="store_true", help="also time the following day's run")
    ap.add_argument(
        "--replicate", type=int, default=1, help="K copies of the book (e.g. 10 × 1M = 10M)"
    )
    ap.add_argument("--_measure", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_setup", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--homes",
        default="bench-out",
        help="folder for the run's POSTLOAN_HOME (default bench-out; one per concurrent run)",
    )
    ap.add_argument(
        "--terms", type=int, default=0, help="every loan over N months (default: the sim's mix)"
    )
    ap.add_argument("--_build", nargs=4, type=int, help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns._build:
        build(*ns._build)
        return
    if ns._setup:  # a child of its own, so the parent stays small (ru_maxrss survives exec)
        sizes = (ns.loans, ns.months, ns.seed, ns.partitions, ns.sample, ns.replicate, ns.terms)
        info = setup(*sizes, root=ns.homes)
        print(json.dumps(info))  # noqa: T201
        return
    if ns._measure:
        home, on, engine = ns._measure
        print(json.dumps(measure(Path(home), date.fromisoformat(on), engine)))  # noqa: T201
        return
    src = cache_dir(ns.loans, ns.months, ns.seed, ns.terms)
    if not (src / "meta.json").exists():
        build_args = [str(ns.loans), str(ns.months), str(ns.seed), str(ns.terms)]
        subprocess.run([sys.executable, __file__, "--_build", *build_args], check=True)
    on = ns.on or json.loads((src / "meta.json").read_text())["business_date"]
    sizes = ["--loans", str(ns.loans), "--months", str(ns.months), "--seed", str(ns.seed)]
    sizes += ["--partitions", str(ns.partitions), "--sample", str(ns.sample)]
    sizes += ["--replicate", str(ns.replicate), "--terms", str(ns.terms), "--homes", ns.homes]
    info = child(["--_setup", *sizes])
    home = Path(info["home"])
    # the mirror was just written: let the OS put it on disk first, or the timed close
    # competes with the setup's write-back (an import runs long before a close)
    t0 = time.perf_counter()
    os.sync()
    info["sync_s"] = round(time.perf_counter() - t0, 2)
    report: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "loans_simulated": ns.loans,
        "replicated": ns.replicate,
        "partitions": json.loads((home / "book" / "manifest.json").read_text())["partitions"],
        "business_date": on,
        **info,
        "run": child(["--_measure", str(home), on, ns.engine]),
    }
    if ns.next:  # the following day in the same home: a daily run from yesterday's snapshot
        following = (date.fromisoformat(on) + timedelta(days=1)).isoformat()
        report["next_day"] = child(["--_measure", str(home), following, ns.engine])
    if ns.sample:
        ref = child(["--_measure", f"{home}-reference", on, "reference"])
        loc = child(["--_measure", f"{home}-local", on, "local"])
        report["sample"] = {"reference": ref, "local": loc}
        full = report["run"]
        per_loan_ref = ref["wall_s"] / max(ref["loans"], 1)
        per_loan_full = full["wall_s"] / max(full["loans"], 1)
        report["speedup_vs_reference"] = round(per_loan_ref / per_loan_full, 1)
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
