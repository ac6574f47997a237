"""Load on the collector's endpoints (issue 8 acceptance): the work queue and the case page.

    .venv/bin/python benchmarks/bench_api_load.py [--database-url URL] [--loans 100000]
        [--cases 5000] [--collectors 50] [--seconds 10] [--concurrency 4] [--workers 2]
        [--generator auto|wrk|python] [--threads 2] [--server launcher|uvicorn] [--keep-schema]

Seeds a fresh PostgreSQL schema (default: a new schema in ``$POSTLOAN_TEST_PG_URL``;
``. .ci/start-postgres.sh`` starts one) with ``--loans`` loans, their borrowers and
current states, and ``--cases`` open collection cases spread over ``--collectors``
collectors; starts the API (``uvicorn postloan.api.app:create_app --factory
--workers N --no-access-log``, what ``postloan serve`` runs, without the per-request
access log) on 127.0.0.1, and runs the load generator in a separate process,
each request as a random collector with a bearer token: ``wrk`` (Debian package
``wrk``, C, with a generated Lua script; ``--generator auto`` uses it when it is on
the PATH) or the Python fallback (asyncio + httpx, which itself needs about a core
for 300 requests/s). Both open ``--concurrency`` keep-alive connections. Per endpoint it prints
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
import shutil
import signal
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


WRK_SCRIPT = """-- generated by benchmarks/bench_api_load.py: %(endpoint)s
local endpoint = "%(endpoint)s"
local tokens = {%(tokens)s}
local cases = {%(cases)s}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter * 7919)
end

function init(args)
  math.randomseed(seed)
end

function request()
  if endpoint == "health" then
    return wrk.format("GET", "/api/v1/health")
  end
  local i = math.random(#tokens)
  local headers = {["Authorization"] = "Bearer " .. tokens[i]}
  if endpoint == "queue" then
    return wrk.format("GET", "/api/v1/cases?size=50", headers)
  end
  local mine = cases[i]
  return wrk.format("GET", "/api/v1/cases/" .. mine[math.random(#mine)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, '
    .. '"max_us": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_script(plan: dict[str, Any], endpoint: str) -> str:
    """The Lua script that makes ``wrk`` request ``endpoint`` as random collectors."""
    names = sorted(plan["tokens"])
    tokens = ", ".join(f'"{plan["tokens"][n]}"' for n in names)
    cases = ", ".join("{" + ", ".join(map(str, plan["cases"][n])) + "}" for n in names)
    return WRK_SCRIPT % {"endpoint": endpoint, "tokens": tokens, "cases": cases}


def load_wrk(
    plan: dict[str, Any],
    base: str,
    endpoint: str,
    seconds: float,
    concurrency: int,
    threads: int,
    server_pid: int,
) -> dict[str, Any]:
    """One endpoint under ``wrk`` (1 s warm-up, then the measured run, whose server CPU
    is measured alone)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(wrk_script(plan, endpoint))
    try:
        result: dict[str, Any] = {}
        cpu = 0.0
        for duration in (1, max(int(round(seconds)), 1)):
            cpu = _cpu_seconds(server_pid)
            run = subprocess.run(
                ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{duration}s"]
                + ["--timeout", "10s", "-s", handle.name, base],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(run.stdout.strip().splitlines()[-1])
        cpu = _cpu_seconds(server_pid) - cpu
    finally:
        os.unlink(handle.name)
    elapsed = result["duration_us"] / 1e6
    return {
        "requests": result["requests"],
        "rps": round(result["requests"] / elapsed, 1),
        "p50_ms": round(result["p50_us"] / 1000, 1),
        "p90_ms": round(result["p90_us"] / 1000, 1),
        "p99_ms": round(result["p99_us"] / 1000, 1),
        "max_ms": round(result["max_us"] / 1000, 1),
        "errors": result["errors"],
        "server_cpu_s": round(cpu, 2),
        "per_server_cpu_s": round(result["requests"] / max(cpu, 1e-9), 1),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(result["requests"], 1), 2),
    }


def serve_main(port: int, workers: int) -> None:
    """The server launcher: ``workers`` uvicorn processes on one listening socket.

    Why not ``uvicorn --workers N``: uvicorn 0.54 binds with ``socket.socket(AF_INET)``
    (protocol 0), and asyncio sets TCP_NODELAY only on sockets whose protocol is
    IPPROTO_TCP, so with the asyncio loop every keep-alive response (h11 writes the
    head and the body separately) waits for the client's delayed ACK: 40+ ms per
    request (health: 152 req/s, p50 45 ms, against 680 req/s, p50 10 ms from one
    worker). Here the socket is made with IPPROTO_TCP and each worker adopts it with
    ``socket.socket(fileno=...)``, which keeps the protocol.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.set_inheritable(True)
    command = [sys.executable, __file__, "--worker-fd", str(sock.fileno())]
    children = [subprocess.Popen(command, pass_fds=[sock.fileno()]) for _ in range(workers)]

    def stop(_signum: int, _frame: Any) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.wait()


def worker_main(fd: int) -> None:
    import uvicorn

    sock = socket.socket(fileno=fd)  # family, type and protocol from the descriptor
    config = uvicorn.Config(
        "postloan.api.app:create_app", factory=True, log_level="warning", access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


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


def server_stack(env: dict[str, str]) -> str:
    """What uvicorn's ``auto`` picks in the server's environment: uvloop + httptools
    (uvicorn[standard]) when importable, else asyncio + h11 (pure Python, slower)."""
    probe = (
        "import importlib.util as u; "
        "print(bool(u.find_spec('uvloop')), bool(u.find_spec('httptools')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    loop = "uvloop" if out[0] == "True" else "asyncio"
    return f"{loop}+{'httptools' if out[1] == 'True' else 'h11'}"


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
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--server",
        choices=["launcher", "uvicorn"],
        default="launcher",
        help="launcher: N uvicorn processes on a TCP_NODELAY-capable socket (default); "
        "uvicorn: `uvicorn --workers N`",
    )
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep-schema", action="store_true", help="keep the seeded schema (for EXPLAIN)"
    )
    parser.add_argument(
        "--load", nargs=3, metavar=("PLAN", "BASE", "ENDPOINT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve_main(*args.serve)
        return
    if args.worker_fd is not None:
        worker_main(args.worker_fd)
        return
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
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    command = [
        sys.executable, "-m", "uvicorn", "postloan.api.app:create_app", "--factory",
        "--workers", str(args.workers), "--port", str(port), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    if args.server == "launcher":
        command = [sys.executable, __file__, "--serve", str(port), str(args.workers)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        _wait(base, server)
        for endpoint in ("health", "queue", "case"):
            cpu = _cpu_seconds(server.pid)
            if generator == "wrk":
                result = load_wrk(
                    plan, base, endpoint, args.seconds, args.concurrency, args.threads, server.pid
                )
            else:
                python = subprocess.run(
                    [sys.executable, __file__, "--load", str(plan_file), base, endpoint]
                    + ["--seconds", str(args.seconds), "--concurrency", str(args.concurrency)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                result = json.loads(python.stdout.strip().splitlines()[-1])
                used = _cpu_seconds(server.pid) - cpu  # includes the 1 s warm-up
                result["server_cpu_s"] = round(used, 1)
                result["per_server_cpu_s"] = round(result["requests"] / max(used, 1e-9), 1)
            results[endpoint] = result
    finally:
        server.terminate()
        server.wait(timeout=20)
        if not args.keep_schema:
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
        "generator": generator,
        "server_stack": server_stack(env),
        "server": args.server,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "seed_seconds": plan["seed_seconds"],
        "schema": schema if args.keep_schema else None,
        "health (baseline)": results["health"],
        "work queue GET /cases?size=50": results["queue"],
        "case page GET /cases/{id}": results["case"],
    }
    sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
