"""``postloan schedule``: print or write repayment schedules."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from postloan.cli import app
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.errors import InvalidTerms, ValidationError
from postloan.domain.money import format_minor, parse_amount
from postloan.domain.schedule import LoanTerms, Method, generate_schedule


def _decimal(text: str, name: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"--{name}: {text!r} is not a decimal number") from None


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--{name}: {text!r} is not a date (YYYY-MM-DD)") from None


@app.command("schedule")
def schedule_command(
    principal: Annotated[str | None, typer.Option(help="Amount lent, a decimal string")] = None,
    rate: Annotated[str | None, typer.Option(help="Nominal annual rate, e.g. 0.0948")] = None,
    periods: Annotated[int | None, typer.Option(help="Number of instalments")] = None,
    frequency: Annotated[str, typer.Option(help="monthly|fortnightly|weekly|days:N")] = "monthly",
    day_count: Annotated[str, typer.Option("--day-count", help="30/360, act/365f, …")] = "30/360",
    start: Annotated[str | None, typer.Option(help="Disbursement date YYYY-MM-DD")] = None,
    first_due: Annotated[str | None, typer.Option("--first-due", help="First due date")] = None,
    method: Annotated[
        str, typer.Option(help="annuity|equal_principal|interest_only|bullet|flat")
    ] = "annuity",
    fee: Annotated[str, typer.Option(help="Fee per instalment")] = "0",
    currency: Annotated[str, typer.Option(help="ISO currency code")] = "CNY",
    output_format: Annotated[str, typer.Option("--format", help="json|table")] = "table",
    loans: Annotated[
        Path | None, typer.Option(help="A loans feed: schedule every loan in it")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="With --loans: the schedules feed to write")
    ] = None,
) -> None:
    """Generate a repayment schedule for one loan, or for every loan in a loans feed."""
    if loans is not None:
        from postloan.commands.schedule_feed import schedule_loans_feed

        schedule_loans_feed(loans, out)
        return
    missing = [
        n
        for n, v in (
            ("principal", principal),
            ("rate", rate),
            ("periods", periods),
            ("start", start),
        )
        if v is None
    ]
    if missing:
        raise ValidationError(
            "missing option(s): " + ", ".join(f"--{m}" for m in missing) + " (or pass --loans FILE)"
        )
    assert principal is not None and rate is not None and periods is not None and start is not None
    terms = LoanTerms(
        principal=parse_amount(principal, currency),
        annual_rate=_decimal(rate, "rate"),
        term=periods,
        frequency=Frequency.parse(frequency),
        day_count=DayCount.parse(day_count),
        method=Method.parse(method),
        disbursement_date=_date(start, "start"),
        first_due_date=_date(first_due, "first-due") if first_due else None,
        fee_per_period=parse_amount(fee, currency),
        currency=currency,
    )
    rows = [
        {
            "seq": i.seq,
            "due_date": i.due_date.isoformat(),
            "principal": format_minor(i.principal, currency),
            "interest": format_minor(i.interest, currency),
            "fee": format_minor(i.fee, currency),
            "total": format_minor(i.total, currency),
            "balance": format_minor(i.balance, currency),
        }
        for i in generate_schedule(terms)
    ]
    if output_format == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif output_format == "table":
        _print_table(rows)
    else:
        raise InvalidTerms(f"--format must be json or table, not {output_format!r}")


def _print_table(rows: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    columns = ("seq", "due_date", "principal", "interest", "fee", "total", "balance")
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row[k]) for k in columns))
    Console().print(table)
