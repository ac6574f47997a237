"""API authentication overhead on loopback (issue 8).

    .venv/bin/python benchmarks/bench_api.py [--seconds 5] [--threads 4] [--home DIR]

Starts ``postloan serve`` (uvicorn, one process) on a fresh SQLite store and a
separate load-generator process (httpx clients in threads) on 127.0.0.1. Per
endpoint it prints requests/s and p50/p99 latency, with ``/api/v1/health`` (no
authentication, no database query) as the baseline in the same run:

- ``/api/v1/me`` with a bearer token (HMAC check + one user read);
- ``/api/v1/me`` with an API key (SHA-256 + key and user reads);
- ``/api/v1/loans/{id}`` as a collector (permission + data scope + loan read);
- ``POST /api/v1/auth/token``: logins per second with the default argon2id cost.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(home: Path) -> None:
    os.environ["POSTLOAN_HOME"] = str(home)
    os.environ.pop("POSTLOAN_DATABASE_URL", None)
    from sqlalchemy import insert, text

    from postloan.security.users import add_user
    from postloan.store import open_store
    from postloan.store.tables_collections import CollectionCase, CollectionCaseLoan

    store = open_store()
    with store.begin() as conn:
        add_user(conn, username="al", role="admin", password="bench-pass-1")
        add_user(conn, username="co", role="collector", password="bench-pass-1")
        add_user(conn, username="core", role="supervisor", password=None)
        conn.execute(
            text(
                "INSERT INTO loans (loan_id, borrower_id, product, principal, annual_rate, term, "
                "frequency, day_count, method, disbursement_date, officer_id, currency, "
                "fee_per_period) VALUES ('L1', 'B1', 'cash', 1200000, '0.12', 12, 'monthly', "
                "'30/360', 'annuity', :d, 'lo', 'CNY', 0)"
            ),
            {"d": date(2026, 1, 5)},
        )
        case_id = conn.execute(
            insert(CollectionCase)
            .values(
                borrower_id="B1",
                state="open",
                opened_on=date(2026, 11, 1),
                source="delinquency",
                assigned_to="co",
                updated_by="system",
                updated_at=datetime.now(UTC),
            )
            .returning(CollectionCase.case_id)
        ).scalar_one()
        conn.execute(
            insert(CollectionCaseLoan).values(
                case_id=case_id, loan_id="L1", added_on=date(2026, 11, 1)
            )
        )
    store.close()


def _load(
    base: str, path: str, headers: dict[str, str], seconds: float, threads: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, headers=headers) as client:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                response = client.get(path)
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="postloan-bench-api-"))
    _seed(home)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "postloan", "serve", "--port", str(port)],
        env={**os.environ, "POSTLOAN_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base) as client:
            t0 = time.perf_counter()
            tokens = [
                client.post(
                    "/api/v1/auth/token", data={"username": u, "password": "bench-pass-1"}
                ).json()["access_token"]
                for u in ("al", "co", "al", "co", "al")
            ]
            login_s = (time.perf_counter() - t0) / len(tokens)
            admin = {"Authorization": f"Bearer {tokens[0]}"}
            key = client.post(
                "/api/v1/users/core/api-keys", json={"label": "bench"}, headers=admin
            ).json()["api_key"]
        results = {
            "health (baseline)": _load(base, "/api/v1/health", {}, args.seconds, args.threads),
            "me (bearer)": _load(base, "/api/v1/me", admin, args.seconds, args.threads),
            "me (api key)": _load(
                base, "/api/v1/me", {"X-API-Key": key}, args.seconds, args.threads
            ),
            "loan (collector, scoped)": _load(
                base,
                "/api/v1/loans/L1",
                {"Authorization": f"Bearer {tokens[1]}"},
                args.seconds,
                args.threads,
            ),
        }
        results["login (argon2id default)"] = {"ms_per_login": round(login_s * 1000, 1)}
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
