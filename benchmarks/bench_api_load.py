"""Load on the collector's endpoints (issue 8 acceptance): the work queue and the case page.

    .venv/bin/python benchmarks/bench_api_load.py [--database-url URL] [--loans 100000]
        [--cases 5000] [--collectors 50] [--seconds 10] [--concurrency 16] [--workers 1]

Seeds a fresh PostgreSQL schema (default: a new schema in ``$POSTLOAN_TEST_PG_URL``;
``. .ci/start-postgres.sh`` starts one) with ``--loans`` loans, their borrowers and
current states, and ``--cases`` open collection cases spread over ``--collectors``
collectors; starts the API (``postloan serve --no-dispatch`` for one worker,
``uvicorn --factory --workers N`` for more) on 127.0.0.1, and runs the load
generator in a separate process (asyncio + httpx, ``--concurrency`` connections,
each request as a random collector with a bearer token). Per endpoint it prints
requests/s, p50/p99 latency and requests per second of server CPU (the server's
process tree, from /proc; an upper bound that does not depend on what else runs on
the machine), with ``/api/v1/health`` (no login, one ``SELECT 1``) as the baseline
of the same run:

- work queue: ``GET /api/v1/cases?size=50`` (scope filter, count, page, DPD per case);
- case page: ``GET /api/v1/cases/{id}`` of one of the caller's cases (scope check,
  case, loans, promises, tasks, contacts).

Acceptance target: ≥ 500 requests/s with p99 < 150 ms on each of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

FIRST_DAY = date(2024, 1, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}", schema


def seed(home: Path, url: str, loans: int, cases: int, collectors: int) -> dict[str, Any]:
    """The book, the users and one bearer token per collector; the cases per collector."""
    os.environ["POSTLOAN_HOME"] = str(home)
    os.environ["POSTLOAN_DATABASE_URL"] = url
    import polars as pl
    from sqlalchemy import insert

    from postloan.config import load_settings
    from postloan.security.tokens import TokenSigner, load_or_create_key
    from postloan.security.users import add_user
    from postloan.store import open_store
    from postloan.store.bulk import upsert
    from postloan.store.tables_collections import CollectionCase, CollectionCaseLoan

    settings = load_settings()
    store = open_store(settings)
    now = datetime.now(UTC)
    ids = [f"L{i:07d}" for i in range(loans)]
    borrowers = [f"B{i:07d}" for i in range(loans)]
    names = [f"col{k:03d}" for k in range(collectors)]
    started = time.perf_counter()
    with store.begin() as conn:
        users = {n: add_user(conn, username=n, role="collector", password=None) for n in names}
        add_user(conn, username="sup", role="supervisor", password=None)
        upsert(
            conn,
            "borrowers",
            pl.DataFrame({"borrower_id": borrowers, "name": [f"借款人{i}" for i in range(loans)]}),
            ["borrower_id"],
        )
        upsert(
            conn,
            "loans",
            pl.DataFrame(
                {
                    "loan_id": ids,
                    "borrower_id": borrowers,
                    "product": ["cash"] * loans,
                    "principal": [1_200_000] * loans,
                    "annual_rate": ["0.12"] * loans,
                    "term": [12] * loans,
                    "frequency": ["monthly"] * loans,
                    "day_count": ["30/360"] * loans,
                    "method": ["annuity"] * loans,
                    "disbursement_date": [
                        FIRST_DAY + timedelta(days=i % 365) for i in range(loans)
                    ],
                    "officer_id": [f"lo{i % 40:02d}" for i in range(loans)],
                    "currency": ["CNY"] * loans,
                    "fee_per_period": [0] * loans,
                }
            ),
            ["loan_id"],
        )
        late = set(range(0, loans, max(loans // cases, 1))[:cases])
        upsert(
            conn,
            "loan_state_current",
            pl.DataFrame(
                {
                    "loan_id": ids,
                    "business_date": [date(2026, 11, 28)] * loans,
                    "days_past_due": [(i % 120) + 1 if i in late else 0 for i in range(loans)],
                    "bucket": ["M1" if i in late else "current" for i in range(loans)],
                    "classification": [
                        "special_mention" if i in late else "normal" for i in range(loans)
                    ],
                    "ifrs9_stage": [2 if i in late else 1 for i in range(loans)],
                    "principal_outstanding": [600_000] * loans,
                    "overdue_principal": [50_000 if i in late else 0 for i in range(loans)],
                    "overdue_interest": [6_000 if i in late else 0 for i in range(loans)],
                    "penalty_outstanding": [0] * loans,
                    "updated_at": [now] * loans,
                }
            ),
            ["loan_id"],
        )
        mine: dict[str, list[int]] = {n: [] for n in names}
        rows = []
        for k, i in enumerate(sorted(late)):
            owner = names[k % collectors]
            rows.append(
                {
                    "case_id": k + 1,
                    "borrower_id": borrowers[i],
                    "open_key": borrowers[i],
                    "state": "open",
                    "opened_on": date(2026, 11, 1) + timedelta(days=k % 27),
                    "source": "delinquency",
                    "bucket": "M1",
                    "queue": "phone",
                    "assigned_to": owner,
                    "version": 1,
                    "restructured": 0,
                    "in_legal": 0,
                    "updated_by": "system",
                    "updated_at": now,
                }
            )
            mine[owner].append(k + 1)
        conn.execute(insert(CollectionCase), rows)
        conn.execute(
            insert(CollectionCaseLoan),
            [
                {"case_id": r["case_id"], "loan_id": ids[i], "added_on": date(2026, 11, 1)}
                for r, i in zip(rows, sorted(late), strict=True)
            ],
        )
    seeded = time.perf_counter() - started
    signer = TokenSigner(load_or_create_key(settings.keys_dir))
    tokens = {
        n: signer.issue(u, kind="access", now=now, ttl=timedelta(hours=2)) for n, u in users.items()
    }
    store.close()
    return {"tokens": tokens, "cases": mine, "seed_seconds": round(seeded, 1)}


async def _load_one(
    base: str, plan: dict[str, Any], endpoint: str, seconds: float, concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    names = sorted(plan["tokens"])
    rng = random.Random(7)

    def request() -> tuple[str, dict[str, str]]:
        if endpoint == "health":
            return "/api/v1/health", {}
        who = rng.choice(names)
        auth = {"Authorization": f"Bearer {plan['tokens'][who]}"}
        if endpoint == "queue":
            return "/api/v1/cases?size=50", auth
        return f"/api/v1/cases/{rng.choice(plan['cases'][who])}", auth

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                path, headers = request()
                t0 = time.perf_counter()
                response = await client.get(path, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000, 1),
        "errors": errors,
    }


def load_main(plan_file: str, base: str, endpoint: str, seconds: float, concurrency: int) -> None:
    """The load-generator process: one line of JSON for one endpoint."""
    plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    asyncio.run(_load_one(base, plan, endpoint, 1.0, concurrency))  # warm-up
    result = asyncio.run(_load_one(base, plan, endpoint, seconds, concurrency))
    sys.stdout.write(json.dumps(result) + "\n")


def _cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and its child processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, total = {root}, 0.0
    for pid, (ppid, _cpu) in sorted(stats.items()):
        if ppid in tree:
            tree.add(pid)
    for pid in tree:
        total += stats.get(pid, (0, 0.0))[1]
    return total


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit("the API server exited; run it by hand to see why")
        try:
            if httpx.get(f"{base}/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the API server did not start within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("POSTLOAN_TEST_PG_URL"))
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--collectors", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--load", nargs=3, metavar=("PLAN", "BASE", "ENDPOINT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.load:
        load_main(*args.load, args.seconds, args.concurrency)
        return
    if not args.database_url or not args.database_url.startswith("postgresql"):
        raise SystemExit(
            "give --database-url postgresql+psycopg://… (or run . .ci/start-postgres.sh)"
        )
    home = Path(tempfile.mkdtemp(prefix="postloan-bench-load-"))
    url, schema = _schema_url(args.database_url)
    plan = seed(home, url, args.loans, args.cases, args.collectors)
    plan_file = home / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "POSTLOAN_HOME": str(home), "POSTLOAN_DATABASE_URL": url}
    if args.workers == 1:
        command = [sys.executable, "-m", "postloan", "serve", "--no-dispatch", "--port", str(port)]
    else:
        command = [
            sys.executable, "-m", "uvicorn", "postloan.api.app:create_app", "--factory",
            "--workers", str(args.workers), "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        _wait(base, server)
        for endpoint in ("health", "queue", "case"):
            cpu = _cpu_seconds(server.pid)
            generator = subprocess.run(
                [sys.executable, __file__, "--load", str(plan_file), base, endpoint]
                + ["--seconds", str(args.seconds), "--concurrency", str(args.concurrency)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(generator.stdout.strip().splitlines()[-1])
            used = _cpu_seconds(server.pid) - cpu  # includes the 1 s warm-up
            result["server_cpu_s"] = round(used, 1)
            result["per_server_cpu_s"] = round(result["requests"] / max(used, 1e-9), 1)
            results[endpoint] = result
    finally:
        server.terminate()
        server.wait(timeout=20)
        from sqlalchemy import create_engine

        engine = create_engine(args.database_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()
    report = {
        "loans": args.loans,
        "open_cases": args.cases,
        "collectors": args.collectors,
        "server_workers": args.workers,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "seed_seconds": plan["seed_seconds"],
        "health (baseline)": results["health"],
        "work queue GET /cases?size=50": results["queue"],
        "case page GET /cases/{id}": results["case"],
    }
    sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
