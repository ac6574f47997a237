"""``postloan dispatch``: the outbox worker (email, SMS, webhooks, in-app notes)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer

from postloan.cli import app
from postloan.domain.errors import ValidationError
from postloan.domain.money import format_minor


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"--now {text!r} is not an ISO-8601 time (e.g. 2026-03-02T09:30:00+08:00)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@app.command()
def dispatch(
    once: Annotated[
        bool, typer.Option("--once", help="Send what is ready now, then stop / 发送一轮后退出")
    ] = False,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Set the clock (ISO-8601; UTC if no offset) / 设定当前时间"),
    ] = None,
    poll: Annotated[float, typer.Option(help="Seconds between passes when idle")] = 2.0,
) -> None:
    """Send the contact outbox under the conduct rules (runs until interrupted).

    发送外呼消息队列（短信、邮件、Webhook、站内备注），遵守催收行为规范。
    """
    from postloan.config import load_settings
    from postloan.contact.dispatcher import ENDPOINT_ENV, Dispatcher, SimClock, utc_now
    from postloan.contact.settings import load_contact_settings
    from postloan.store import open_store

    start = _parse_now(now)
    settings = load_settings()
    cfg = load_contact_settings(settings)
    store = open_store(settings)
    worker = Dispatcher(store, cfg, clock=SimClock(start) if start else utc_now)
    try:
        if once:
            report = worker.run_once()
        else:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            typer.echo(f"dispatching ({', '.join(worker.channels)}); Ctrl-C to stop")
            report = worker.run(stop, poll_seconds=poll)
    finally:
        worker.close()
        store.close()
    typer.echo(
        f"sent {report.sent}, deferred {report.deferred}, cancelled {report.cancelled}, "
        f"failed {report.failed}, dead {report.dead}, reconciled {report.reconciled}, "
        f"resent {report.requeued}; cost {format_minor(report.cost_minor, cfg.cost_currency)} "
        f"{cfg.cost_currency}"
    )
    for channel, count in sorted(report.waiting.items()):
        typer.echo(
            f"{channel}: {count} message(s) stay queued: no endpoint configured "
            f"(set {ENDPOINT_ENV[channel]})"
        )
