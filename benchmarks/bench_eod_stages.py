"""Benchmark: the close of business's stages around the loan-state kernel, A/B.

    .venv/bin/python benchmarks/bench_eod_stages.py [--loans 1000000] [--partitions 4]
        [--terms 36] [--baseline 0fb248d] [--threads 2]

Times what ``run_date`` does per partition besides the kernel and the database —
read the book mirror, ROLL_EVENTS, FEATURES, SCORE, ALERTS, STRATEGY (plan), the
spill — then KPI_SNAPSHOT and the snapshot files, on ``bench_eod.py``'s cached
simulation. The kernel's state pairs are computed once (current code) and
cached, so both sides time the same inputs. Baseline in the same run: the
package at git ``--baseline`` (``git archive``, on ``PYTHONPATH``), its own book
mirror format included. Each side runs in a child process, alternating, twice;
wall and CPU seconds per stage are printed as JSON with the load average, and
the two sides' snapshot partitions are checked to hold the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
STAGES = ("read_book", "ROLL_EVENTS", "FEATURES", "SCORE", "ALERTS", "STRATEGY")
SPILLED = ("state", "events", "features", "scores", "alert_base", "strategy_input")
TABLES = {
    "loan_state": "state",
    "loan_events": "events",
    "features": "features",
    "scores": "scores",
}


def mirror(src: Path, book: Path, partitions: int) -> str:
    """The book mirror of the cached simulation, in this package's format."""
    import polars as pl

    from postloan.batch.book import BookFrames, write_book

    sys.path.insert(0, str(HERE.parent))
    from bench_eod import NAMES, _with_loan_columns

    frames = [pl.read_parquet(src / f"{name}.parquet") for name in NAMES]
    frames[0] = _with_loan_columns(frames[0])
    write_book(BookFrames(*frames), book, partitions)
    return str(json.loads((src / "meta.json").read_text())["business_date"])


def prepare(src: Path, work: Path, partitions: int) -> str:
    """Book mirror (current format) and each partition's cached state pair."""

    from postloan.batch.book import read_partition
    from postloan.batch.engines import compute_state_pair
    from postloan.batch.steps.events import COMPARED
    from postloan.domain.policy import ServicingPolicy

    on = mirror(src, work / "book", partitions)
    policy = ServicingPolicy.from_dict({})
    for i in range(partitions):
        book = read_partition(work / "book", i)
        prev, state = compute_state_pair(book, date.fromisoformat(on), policy, "local")
        state.write_parquet(work / f"state-{i}.parquet")
        prev.select(COMPARED).write_parquet(work / f"prev-{i}.parquet")
    return str(on)


def measure(work: Path, book: Path, out: Path, on: date) -> dict[str, Any]:
    """In a child: the partition loop and snapshot writes of ``run_date``."""
    import hashlib

    import polars as pl
    from numba import njit

    from postloan.batch.book import partition_count, read_partition
    from postloan.batch.spill import DateFrames, Spill
    from postloan.batch.steps import REGISTRY, StepContext
    from postloan.batch.steps.features import empty_history
    from postloan.domain.policy import ServicingPolicy
    from postloan.store.snapshots import SnapshotStore

    njit(lambda x: x + 1)(1)  # numba started, as the loan-state kernel leaves it in a close
    policy = ServicingPolicy.from_dict({})
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    mark = [time.perf_counter(), time.process_time()]

    def lap(stage: str) -> None:
        w, c = time.perf_counter(), time.process_time()
        wall[stage] = wall.get(stage, 0.0) + w - mark[0]
        cpu[stage] = cpu.get(stage, 0.0) + c - mark[1]
        mark[:] = [w, c]

    spill = Spill(out / "work")
    steps = [REGISTRY[n] for n in STAGES[1:]]
    for i in range(partition_count(book)):
        frames = read_partition(book, i)
        lap("read_book")
        ctx = StepContext(on, policy, {}, None)
        ctx.frames.update(
            loans=frames.loans,
            schedules=frames.schedules,
            transactions=frames.transactions,
            marks=frames.marks,
            state=pl.read_parquet(work / f"state-{i}.parquet"),
            prev_state=pl.read_parquet(work / f"prev-{i}.parquet"),
            history=empty_history(),
        )
        lap("cached state (not counted)")
        for step in steps:
            step.run(ctx)
            lap(step.name)
        for key in SPILLED:
            if key in ctx.frames:
                frame = ctx.frames[key]
                if "loan_id" in frame.columns and frame.height > 1:
                    frame = frame.sort("loan_id", maintain_order=True)  # as the runner does
                spill.put(key, i, frame)
        lap("spill")
    whole = StepContext(on, policy, DateFrames(spill), None)
    REGISTRY["KPI_SNAPSHOT"].run(whole)
    lap("KPI_SNAPSHOT")
    snapshots = SnapshotStore(out / "snapshots")
    for table, key in TABLES.items():
        path = snapshots.write_stream(table, on, spill.pieces(key))
        hashlib.sha256(path.read_bytes()).hexdigest()  # the runner hashes each file
    snapshots.write("kpi", on, whole.frames["kpi"])
    lap("snapshots")
    spill.remove()
    counted = [k for k in wall if not k.startswith("cached")]
    import postloan

    return {
        "package": str(Path(postloan.__file__).parent),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "wall_s": {k: round(v, 3) for k, v in wall.items()},
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "total_wall_s": round(sum(wall[k] for k in counted), 2),
        "total_cpu_s": round(sum(cpu[k] for k in counted), 2),
    }


def baseline_src(commit: str, into: Path) -> Path:
    """The package at ``commit``, extracted from git (``src`` only)."""
    blob = subprocess.run(
        ["git", "archive", commit, "src"], cwd=HERE.parent.parent, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def same_rows(a: Path, b: Path) -> bool:
    import polars as pl

    for path in sorted(a.rglob("part-0.parquet")):
        if not pl.read_parquet(path).equals(pl.read_parquet(b / path.relative_to(a))):
            return False
    return True


def child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, str(HERE), *args], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(run.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--terms", type=int, default=36)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--baseline", default="0fb248d")
    ap.add_argument("--threads", type=int, default=2, help="POLARS_MAX_THREADS of the children")
    ap.add_argument("--_prepare", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_measure", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--_mirror", nargs=3, help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns._mirror:
        src, book, parts = ns._mirror
        print(json.dumps({"on": mirror(Path(src), Path(book), int(parts))}))  # noqa: T201
        return
    if ns._prepare:
        src, work, parts = ns._prepare
        print(json.dumps({"on": prepare(Path(src), Path(work), int(parts))}))  # noqa: T201
        return
    if ns._measure:
        work, book, out, on = ns._measure
        result = measure(Path(work), Path(book), Path(out), date.fromisoformat(on))
        print(json.dumps(result))  # noqa: T201
        return
    sys.path.insert(0, str(HERE.parent))
    from bench_eod import build, cache_dir

    src = cache_dir(ns.loans, ns.months, ns.seed, ns.terms)
    if not (src / "meta.json").exists():
        build(ns.loans, ns.months, ns.seed, ns.terms)
    tmp = Path(tempfile.mkdtemp(prefix="bench-eod-stages-"))
    try:
        env = {**os.environ, "POLARS_MAX_THREADS": str(ns.threads)}
        env["POSTLOAN_HOME"] = str(tmp / "home")
        work = tmp / "work"
        work.mkdir()
        on = child(["--_prepare", str(src), str(work), str(ns.partitions)], env)["on"]
        old_src = baseline_src(ns.baseline, tmp / "baseline-src")
        old_env = {**env, "PYTHONPATH": str(old_src)}
        old_book = tmp / "baseline-book"  # the baseline's own mirror format
        child(["--_mirror", str(src), str(old_book), str(ns.partitions)], old_env)
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
        for _ in range(2):
            for side, side_env, book in (
                ("baseline", old_env, old_book),
                ("current", env, work / "book"),
            ):
                out = tmp / f"out-{side}"
                shutil.rmtree(out, ignore_errors=True)
                runs[side].append(
                    child(["--_measure", str(work), str(book), str(out), on], side_env)
                )
        report = {
            "loans": ns.loans,
            "partitions": ns.partitions,
            "business_date": on,
            "threads": ns.threads,
            "baseline": ns.baseline,
            "runs": runs,
            "best_total_wall_s": {k: min(r["total_wall_s"] for r in v) for k, v in runs.items()},
            "best_total_cpu_s": {k: min(r["total_cpu_s"] for r in v) for k, v in runs.items()},
            "same_rows": same_rows(
                tmp / "out-baseline" / "snapshots", tmp / "out-current" / "snapshots"
            ),
        }
        print(json.dumps(report, indent=2))  # noqa: T201
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
