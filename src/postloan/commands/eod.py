"""``postloan eod``: close one business date, a range, or catch up from the watermark."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer

from postloan.cli import app
from postloan.domain.errors import ValidationError


def parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def json_log(event: str, **fields: Any) -> None:
    """One structured log line on stderr (when stderr is not a terminal)."""
    line = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
    sys.stderr.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    sys.stderr.flush()


@contextmanager
def reporter(dates: list[date]) -> Iterator[Any]:
    """A rich progress bar on a terminal, JSON log lines otherwise."""
    if not sys.stderr.isatty():
        yield json_log
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("close of business", total=None)
        seen: list[str] = []

        def show(event: str, **fields: Any) -> None:
            if event == "date_start":
                seen.append(fields["date"])
                bar.update(
                    task,
                    description=f"eod {fields['date']} (date {len(seen)} of {len(dates)})",
                    total=fields["partitions"],
                    completed=0,
                )
            elif event == "partition_done":
                bar.update(task, completed=fields["partition"])
            elif event == "date_done":
                bar.console.print(
                    f"closed {fields['date']}: {fields['loans']} loans, {fields['events']} events",
                    highlight=False,
                )

        yield show


@app.command("eod")
def eod_command(
    on: Annotated[str | None, typer.Option("--date", help="Close this business date")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First date of a range")] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last date (without --from: from the watermark)")
    ] = None,
    engine: Annotated[str, typer.Option(help="local | spark")] = "local",
    master: Annotated[
        str | None, typer.Option(help="Spark master URL, e.g. local[2] (with --engine spark)")
    ] = None,
) -> None:
    """Close of business: loan states, events, features, KPIs; moves the watermark."""
    from postloan.batch.pipeline import last_closed_business_date, plan_dates, run_range
    from postloan.store.db import open_store

    if engine not in ("local", "spark"):
        raise ValidationError(f"--engine must be local or spark, not {engine!r}")
    if master is not None and engine != "spark":
        raise ValidationError("--master applies to --engine spark only")
    store = open_store()
    try:
        with store.begin() as conn:
            watermark = last_closed_business_date(conn)
        dates = plan_dates(
            watermark,
            parse_date(on, "--date"),
            parse_date(start, "--from"),
            parse_date(end, "--to"),
        )
        if not dates:
            json_log("nothing_to_do", last_closed_business_date=str(watermark))
            return
        with reporter(dates) as report:
            run_range(store, dates, engine=engine, master=master, report=report)
    finally:
        store.close()
