"""The close's STRATEGY commit (``collections.daily.close_day``) on a large book, against a
baseline source tree, with a digest of everything it writes.

1. Capture (once): close the book's first date in a child process up to the STRATEGY
   commit, then save the database as it is at that point (the transaction's writes
   committed, so it can be copied) and the commit's inputs, and stop.
2. Measure: ``close_day`` on the saved inputs, in a transaction rolled back after
   each run, alternately with the current code and the baseline
   (``--baseline-src``, e.g. ``git archive <commit> src | tar -x -C DIR``), each in
   its own process. Prints wall and main-thread CPU seconds, GC seconds, the load
   average, and a digest of the written rows (ids and bytes; the audit entries'
   ``"at"`` time, the outbox's random message id and the row times left out).

    .venv/bin/python benchmarks/bench_strategy_commit.py \\
        --book bench-out/eod-home-1000000-36-7-p4/book --work /tmp/strat \\
        --baseline-src /tmp/base/src
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

BUSINESS_DATE = date(2027, 12, 31)
TABLES = {
    "collection_cases": "case_id",
    "collection_case_loans": "case_id, loan_id",
    "collection_tasks": "task_id",
    "collection_actions": "action_id",
    "contact_outbox": "id",
    "audit_entries": "id",
}
VOLATILE = {"updated_at", "created_at", "message_id", "recorded_at", "leaf_hash"}


def _capture(home: Path, inputs: Path) -> None:
    """Child process: run the close until ``close_day``, save its inputs and exit."""
    import sqlite3

    os.environ["POSTLOAN_HOME"] = str(home)
    os.environ.pop("POSTLOAN_DATABASE_URL", None)
    from postloan.batch import pipeline
    from postloan.collections import daily
    from postloan.store import open_store

    def stop_here(conn: Any, **kwargs: Any) -> None:
        driver = conn.connection.driver_connection
        driver.commit()  # the close's writes so far, so that the file can be copied
        target = sqlite3.connect(inputs / "postloan.db")
        driver.backup(target)
        target.close()
        kwargs["frame"].write_parquet(inputs / "frame.parquet")
        kwargs["state"].write_parquet(inputs / "state.parquet")
        (inputs / "args.pkl").write_bytes(pickle.dumps(kwargs["business_date"]))
        sys.stdout.flush()
        os._exit(0)

    daily.close_day = stop_here  # type: ignore[assignment]
    pipeline.run_date(open_store(), BUSINESS_DATE)
    raise SystemExit("the close ended without a STRATEGY commit")


def _digest(conn: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for table, key in TABLES.items():
        names = [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")]
        columns = [c for c in names if c not in VOLATILE]
        quoted = ", ".join(f'"{c}"' for c in columns)
        digest = hashlib.sha256()
        count = 0
        for row in conn.exec_driver_sql(f"SELECT {quoted} FROM {table} ORDER BY {key}"):
            values = list(row)
            if table == "audit_entries":
                at = columns.index("entry")
                values[at] = re.sub(r'"at":"[^"]*"', '"at":"-"', values[at])
            digest.update(repr(values).encode())
            count += 1
        out[table] = [count, digest.hexdigest()[:16]]
    return out


def _measure(inputs: Path, runs: int) -> None:
    """Child process: ``runs`` timed ``close_day`` calls; one JSON line each."""
    import gc

    os.environ["POSTLOAN_HOME"] = str(inputs)
    os.environ.pop("POSTLOAN_DATABASE_URL", None)
    import contextlib

    import polars as pl

    from postloan.collections import daily
    from postloan.store import open_store

    try:
        from postloan.collections.step import older_objects_frozen as frozen
    except ImportError:  # a baseline without it
        frozen = contextlib.nullcontext  # type: ignore[assignment]
    frame = pl.read_parquet(inputs / "frame.parquet")
    state = pl.read_parquet(inputs / "state.parquet")
    business_date = pickle.loads((inputs / "args.pkl").read_bytes())
    store = open_store()
    spent = [0.0]
    started = [0.0]

    def on_gc(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started[0]

    gc.callbacks.append(on_gc)
    for i in range(runs):
        with store.engine.connect() as conn:
            transaction = conn.begin()
            spent[0] = 0.0
            wall, cpu = time.perf_counter(), time.thread_time()
            with frozen():
                daily.close_day(
                    conn,
                    business_date=business_date,
                    frame=frame,
                    state=state,
                    settings=store.settings,
                )
            row: dict[str, Any] = {
                "wall": round(time.perf_counter() - wall, 3),
                "cpu": round(time.thread_time() - cpu, 3),
                "gc": round(spent[0], 3),
                "load": round(os.getloadavg()[0], 2),
            }
            if i == 0:
                row["digest"] = _digest(conn)
            transaction.rollback()
        print(json.dumps(row), flush=True)


def _child(args: list[str], src: str | None) -> list[dict[str, Any]]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--book", type=Path, help="a bench book (bench_eod.py's HOME/book)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--baseline-src", help="the baseline's src directory")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--capture-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--measure-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.capture_child:
        _capture(Path(args.capture_child[0]), Path(args.capture_child[1]))
        return
    if args.measure_child:
        _measure(Path(args.measure_child), args.runs)
        return
    inputs = args.work / "inputs"
    if not (inputs / "args.pkl").exists():
        if args.book is None:
            parser.error("--book is needed for the first run (to capture the inputs)")
        home = args.work / "home"
        shutil.rmtree(args.work, ignore_errors=True)
        inputs.mkdir(parents=True)
        shutil.copytree(args.book, home / "book", copy_function=os.link)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--work", str(args.work), "--capture-child"]
            + [str(home), str(inputs)],
            check=True,
        )
        print(f"captured the inputs in {time.perf_counter() - started:.1f} s")
        shutil.rmtree(home)
    results: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
    for _ in range(args.rounds):
        for name, src in (("baseline", args.baseline_src), ("current", None)):
            if name == "baseline" and not src:
                continue
            measure = ["--work", str(args.work), "--runs", str(args.runs)]
            results[name] += _child([*measure, "--measure-child", str(inputs)], src)
    for name, rows in results.items():
        if not rows:
            continue
        walls = sorted(r["wall"] for r in rows)
        cpus = sorted(r["cpu"] for r in rows)
        print(
            f"{name:8}  wall {walls[0]:.2f}–{walls[-1]:.2f} (median {walls[len(walls) // 2]:.2f})"
            f"  main-thread CPU {cpus[0]:.2f}–{cpus[-1]:.2f} (median {cpus[len(cpus) // 2]:.2f})"
            f"  GC {min(r['gc'] for r in rows):.2f}–{max(r['gc'] for r in rows):.2f}"
            f"  load {min(r['load'] for r in rows):.2f}–{max(r['load'] for r in rows):.2f}"
        )
    digests = {json.dumps(r["digest"]) for rows in results.values() for r in rows if "digest" in r}
    print("written rows identical across runs:" if len(digests) == 1 else "DIGESTS DIFFER:")
    for text in sorted(digests):
        print(" ", text)


if __name__ == "__main__":
    main()
