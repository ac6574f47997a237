"""Web UI page latency on loopback (issue 8).

    .venv/bin/python benchmarks/bench_web.py [--seconds 5] [--threads 4] [--days 4]

Seeds a fresh SQLite store from the sample feeds (47 loans) and closes ``--days``
business dates, starts ``postloan serve``-style uvicorn (one process) and, from
this separate process, logs in through the web form and fetches pages with httpx
clients in threads. Per page it prints requests/s and p50/p99 latency, with
``/api/v1/health`` (no authentication, no database query) as the baseline of the
same run: the dashboard (analytics figures, cached per close; the first request of
the whole book and of one product's cut is timed cold), the work queue and the case
page (scope check, masked borrower, conduct guard, schedules, history).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

PASSWORD = "bench-pass-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(home: Path, days: int) -> tuple[int, str]:
    os.environ["POSTLOAN_HOME"] = str(home)
    os.environ.pop("POSTLOAN_DATABASE_URL", None)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(
        "security:\n  argon2_time_cost: 1\n  argon2_memory_kib: 64\n  argon2_parallelism: 1\n"
        "  login_attempts_per_minute: 1000\n",
        encoding="utf-8",
    )
    from sqlalchemy import text

    from postloan.batch.pipeline import run_range
    from postloan.collections import service
    from postloan.commands.demo import sample_feeds_dir
    from postloan.feeds.importer import import_directory
    from postloan.security.config import load_security_policy
    from postloan.security.users import add_user
    from postloan.store import open_store

    store = open_store()
    try:
        import_directory(sample_feeds_dir(), store)
        run_range(store, [date(2026, 10, 1) + timedelta(days=i) for i in range(days)])
        policy = load_security_policy(store.settings)
        with store.begin() as conn:
            add_user(conn, username="co", role="collector", password=PASSWORD, policy=policy)
            add_user(conn, username="rm", role="risk_manager", password=PASSWORD, policy=policy)
            cases = [r[0] for r in conn.execute(text("SELECT case_id FROM collection_cases"))]
            product = str(conn.execute(text("SELECT MIN(product) FROM loans")).scalar_one())
            for case_id in cases:
                case = service.get_case(conn, case_id)
                service.assign(conn, case_id, "co", expected_version=case.version, actor="system")
        return int(cases[0]), product
    finally:
        store.close()


def _compute_times(product: str) -> None:
    """CPU time of the dashboard's figures computed cold, in this process (less noisy
    than wall time on a shared machine), and of the old page queries it replaced."""
    from postloan.analytics.dashboard import load_context
    from postloan.config import load_settings
    from postloan.store.snapshots import SnapshotStore
    from postloan.web import dashboard_view, queries

    settings = load_settings()
    snaps = SnapshotStore(settings.snapshot_dir)
    for label, by, value in (("whole book", "", ""), (f"product={product}", "product", product)):
        dashboard_view.clear()
        t0 = time.process_time()
        dashboard_view.portfolio(settings, snaps, by, value)
        cpu = 1000 * (time.process_time() - t0)
        print(f"dashboard figures cold ({label}): {cpu:.1f} ms CPU")  # noqa: T201
    buckets = load_context(settings).buckets
    t0 = time.process_time()
    queries.kpi_trend(snaps)
    queries.roll_rates(snaps, buckets)
    cpu = 1000 * (time.process_time() - t0)
    print(f"old page queries (trend + roll counts only): {cpu:.1f} ms CPU")  # noqa: T201


def _login(base: str, username: str) -> httpx.Cookies:
    with httpx.Client(base_url=base) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        done = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
        )
        assert done.status_code in (200, 303), done.status_code
        return client.cookies


def _measure(
    base: str, path: str, cookies: httpx.Cookies | None, seconds: float, threads: int
) -> tuple[float, float, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, cookies=cookies) as client:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                response = client.get(path)
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status_code}")
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, 1000 * cuts[49], 1000 * cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--days", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        case_id, product = _seed(home, args.days)
        _compute_times(product)
        port = _free_port()
        env = {**os.environ, "POSTLOAN_HOME": str(home)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "postloan.api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            collector, risk = _login(base, "co"), _login(base, "rm")
            cut = f"/?by=product&value={product}"
            with httpx.Client(base_url=base, cookies=risk) as client:
                for label, path in (("whole book", "/"), (f"cut product={product}", cut)):
                    t0 = time.perf_counter()
                    assert client.get(path).status_code == 200
                    cold = 1000 * (time.perf_counter() - t0)
                    print(f"first dashboard request ({label}, cold cache): {cold:.1f} ms")  # noqa: T201
            rows = [
                ("GET /api/v1/health (baseline)", "/api/v1/health", None),
                ("GET / dashboard (risk manager)", "/", risk),
                ("GET / dashboard, one product (cut)", cut, risk),
                ("GET /queue (collector)", "/queue", collector),
                (f"GET /cases/{case_id} (collector)", f"/cases/{case_id}", collector),
            ]
            print(
                f"{args.threads} client threads, {args.seconds:.0f} s per page, "  # noqa: T201
                f"{args.days} business dates closed, 47 loans"
            )
            for label, path, cookies in rows:
                rate, p50, p99 = _measure(base, path, cookies, args.seconds, args.threads)
                print(f"{label:<40} {rate:8.1f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")  # noqa: T201
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
