"""``postloan cases``: list, show, log a contact, record a promise to pay.

Changes take ``--version`` (the case version you read with ``show``); a stale
one is refused with exit code 5 so that nobody overwrites a colleague's work.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from postloan.cli import app

cases_app = typer.Typer(no_args_is_help=True, help="Collection cases (催收案件)")
app.add_typer(cases_app, name="cases")


def _t(zh: str, en: str) -> str:
    return en if os.environ.get("POSTLOAN_LANG", "zh-CN").lower().startswith("en") else zh


@contextmanager
def _conn() -> Iterator[Connection]:
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            yield conn
    finally:
        store.close()


def _today(conn: Connection, on: str | None) -> date:
    from postloan.batch.pipeline import last_closed_business_date
    from postloan.commands.eod import parse_date

    chosen = parse_date(on, "--date") or last_closed_business_date(conn)
    if chosen is None:
        from postloan.domain.errors import ValidationError

        raise ValidationError(_t("请用 --date 指定营业日", "give the business date with --date"))
    return chosen


def _print(doc: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    rows = doc if isinstance(doc, list) else [doc]
    if not rows:
        typer.echo(_t("（无）", "(none)"))
        return
    table = Table(*rows[0].keys())
    for row in rows:
        table.add_row(*(str(v) if v is not None else "" for v in row.values()))
    Console().print(table)


@cases_app.command("list")
def list_command(
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue")] = None,
    collector: Annotated[str | None, typer.Option("--collector", help="Tasks of")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Open cases (or a collector's task queue with --collector)."""
    from postloan.collections.service import list_cases, list_queue

    with _conn() as conn:
        if collector is not None:
            _print(list_queue(conn, collector=collector, queue=queue), as_json)
        else:
            _print(list_cases(conn, queue=queue), as_json)


@cases_app.command("show")
def show(
    case_id: Annotated[int, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One case with its loans, version and tasks."""
    from postloan.collections.service import get_case, list_queue

    with _conn() as conn:
        doc = get_case(conn, case_id).public()
        doc["tasks"] = [t for t in list_queue(conn) if t["case_id"] == case_id]
    if as_json:
        _print(doc, True)
        return
    tasks = doc.pop("tasks")
    _print(doc, False)
    _print(tasks, False)


@cases_app.command("contact")
def contact(
    case_id: Annotated[int, typer.Argument()],
    outcome: Annotated[str, typer.Option("--outcome", help="right_party, no_answer, …")],
    user: Annotated[str, typer.Option("--user", help="The collector")],
    version: Annotated[int, typer.Option("--version", help="Case version you read")],
    channel: Annotated[str, typer.Option("--channel")] = "phone",
    task: Annotated[int | None, typer.Option("--task", help="Task this completes")] = None,
    on: Annotated[str | None, typer.Option("--date")] = None,
) -> None:
    """Log a contact attempt and its outcome."""
    from postloan.collections.service import log_contact

    with _conn() as conn:
        contact_id = log_contact(
            conn,
            case_id,
            outcome,
            collector=user,
            expected_version=version,
            business_date=_today(conn, on),
            channel=channel,
            task_id=task,
        )
    typer.echo(_t(f"已记录联系 {contact_id}", f"contact {contact_id} logged"))


@cases_app.command("promise")
def promise(
    case_id: Annotated[int, typer.Argument()],
    amount: Annotated[str, typer.Option("--amount", help="Promised amount, e.g. 1200.50")],
    by: Annotated[str, typer.Option("--by", help="Promised date YYYY-MM-DD")],
    user: Annotated[str, typer.Option("--user", help="The collector")],
    version: Annotated[int, typer.Option("--version", help="Case version you read")],
    on: Annotated[str | None, typer.Option("--date")] = None,
) -> None:
    """Record a promise to pay."""
    from decimal import Decimal, InvalidOperation

    from postloan.collections.service import record_promise
    from postloan.commands.eod import parse_date
    from postloan.domain.errors import ValidationError

    try:
        minor = Decimal(amount) * 100
    except InvalidOperation:
        raise ValidationError(f"--amount: {amount!r} is not an amount") from None
    if minor != minor.to_integral_value():
        raise ValidationError(f"--amount: {amount} has more than 2 decimals")
    promised = parse_date(by, "--by")
    assert promised is not None
    with _conn() as conn:
        promise_id = record_promise(
            conn,
            case_id,
            amount=int(minor),
            promised_date=promised,
            collector=user,
            expected_version=version,
            business_date=_today(conn, on),
        )
    typer.echo(_t(f"已记录还款承诺 {promise_id}", f"promise {promise_id} recorded"))
