"""Throughput of the contact outbox (issue 7): messages prepared and handed to a local sink.

    .venv/bin/python benchmarks/bench_contact.py [--messages 10000] [--baseline 1000] [--http]

On a fresh SQLite store: ``enqueue_many`` N overdue SMS in one transaction, as
the close of business does (a loop of ``enqueue`` on the baseline store), then
one dispatcher pass that claims, guards, checks cancellation, decrypts the
phone number, renders the zh-CN template with Babel amounts, hands each
message to an in-memory sink and records it (state, receipt, contact attempt,
audit entry). ``--http`` adds a pass to the loopback JSON SMS
gateway (real HTTP, keep-alive). The baseline in the same run is the same
dispatcher claiming and committing one message at a time (``batch_size=1``).
Figures are printed as JSON; the target is >= 2,000 messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

AT = datetime(2026, 3, 3, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def _store(home: Path, n: int, *, many: bool = True) -> tuple[object, float]:
    os.environ["POSTLOAN_HOME"] = str(home)
    os.environ.pop("POSTLOAN_DATABASE_URL", None)
    from sqlalchemy import insert

    from postloan.config import load_settings
    from postloan.contact.outbox import enqueue, enqueue_many
    from postloan.store import open_store
    from postloan.store.tables import Borrower

    store = open_store(load_settings())
    cipher = store.cipher
    with store.begin() as conn:
        conn.execute(
            insert(Borrower),
            [
                {
                    "borrower_id": f"B{i}",
                    "name": f"借款人{i}",
                    "phone_enc": cipher.encrypt("phone", f"138{i:08d}"),
                }
                for i in range(n)
            ],
        )
    messages = [
        {
            "loan_id": f"L{i}",
            "borrower_id": f"B{i}",
            "template": "overdue",
            "channel": "sms",
            "business_date": AT.date(),
            "step": "bench",
            "variables": {"days_past_due": 1 + i % 90, "amount_overdue": 10_000 + 37 * i},
        }
        for i in range(n)
    ]
    start = time.perf_counter()
    with store.begin() as conn:
        if many:
            enqueue_many(conn, messages)
        else:
            for message in messages:
                enqueue(conn, **message)  # type: ignore[arg-type]
    return store, time.perf_counter() - start


def _dispatch(store: object, *, batch_size: int, http_url: str | None = None) -> dict[str, float]:
    from postloan.contact.channels import FakeSender
    from postloan.contact.dispatcher import Dispatcher
    from postloan.contact.settings import ContactSettings

    cfg = ContactSettings(sms_url=http_url, batch_size=batch_size, rate_per_second={"sms": 0.0})
    senders = None if http_url else {"sms": FakeSender("sms")}
    worker = Dispatcher(store, cfg, senders=senders, clock=lambda: AT)  # type: ignore[arg-type]
    start, cpu = time.perf_counter(), time.process_time()
    report = worker.run_once()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    worker.close()
    return {
        "sent": report.sent,
        "seconds": round(seconds, 2),
        "per_s": round(report.sent / seconds),
        "cpu_seconds": round(cpu, 2),  # this process only (the HTTP stub's thread included)
        "per_cpu_s": round(report.sent / cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--http", action="store_true")
    args = parser.parse_args()
    out: dict[str, object] = {"messages": args.messages, "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        store, enqueue_s = _store(Path(tmp) / "main", args.messages)
        out["enqueue_many_per_s"] = round(args.messages / enqueue_s)
        out["memory_sink"] = _dispatch(store, batch_size=200)
        store.close()  # type: ignore[attr-defined]
        if args.http:
            from postloan.contact.gateway_stub import GatewayStub

            store, _ = _store(Path(tmp) / "http", args.messages)
            with GatewayStub() as gateway:
                out["http_gateway"] = _dispatch(store, batch_size=200, http_url=gateway.url)
                out["http_received"] = len(gateway.received.messages)
            store.close()  # type: ignore[attr-defined]
        store, loop_s = _store(Path(tmp) / "baseline", args.baseline, many=False)
        out["enqueue_one_by_one_per_s"] = round(args.baseline / loop_s)
        out["baseline_one_per_transaction"] = _dispatch(store, batch_size=1)
        store.close()  # type: ignore[attr-defined]
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main()
