"""``postloan state``: one loan's servicing state on a business date."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from postloan.cli import app
from postloan.domain.errors import ValidationError
from postloan.domain.loan_state import LoanState, classification_history, loan_state_as_of
from postloan.domain.money import format_minor

#: LoanState fields that are amounts in minor units (printed as decimal strings).
AMOUNT_FIELDS = frozenset(
    {
        "principal_outstanding",
        "overdue_principal",
        "overdue_interest",
        "overdue_fee",
        "interest_outstanding",
        "fee_outstanding",
        "penalty_outstanding",
        "principal_paid",
        "interest_paid",
        "fee_paid",
        "penalty_paid",
        "penalty_charged",
        "waived",
        "written_off",
        "recovered",
        "credit_balance",
        "total_paid",
        "next_due_amount",
        "advance_balance",
    }
)


def state_json(state: LoanState) -> dict[str, object]:
    """The state as JSON: amounts as decimal strings, dates ISO, enums by value."""
    out = state.to_dict()
    cur = state.currency
    for key in AMOUNT_FIELDS & out.keys():
        out[key] = format_minor(int(out[key]), cur)  # type: ignore[call-overload]
    out["schedule"] = [
        {
            **row,
            **{k: format_minor(row[k], cur) for k in ("principal", "interest", "fee", "balance")},
            "total": format_minor(row["principal"] + row["interest"] + row["fee"], cur),
        }
        for row in out["schedule"]  # type: ignore[attr-defined]
    ]
    return out


def _business_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--date: {text!r} is not a date (YYYY-MM-DD)") from None


@app.command("state")
def state_command(
    loan_id: Annotated[str, typer.Argument(help="The loan's id in the loans feed")],
    on: Annotated[str, typer.Option("--date", help="Business date YYYY-MM-DD")],
    output_format: Annotated[str, typer.Option("--format", help="json|table")] = "table",
    history: Annotated[
        bool, typer.Option("--history", help="Also list every classification change")
    ] = False,
    with_schedule: Annotated[
        bool, typer.Option("--schedule/--no-schedule", help="Include the schedule in JSON")
    ] = True,
) -> None:
    """Days past due, bucket, five-category class, IFRS 9 stage and amounts of one loan."""
    from postloan.policy_config import load_policy
    from postloan.store.db import open_store
    from postloan.store.repository import get_loan_terms, get_marks, get_schedule, get_transactions

    business_date = _business_date(on)
    if output_format not in ("json", "table"):
        raise ValidationError(f"--format must be json or table, not {output_format!r}")
    policy = load_policy()
    store = open_store()
    try:
        with store.begin() as conn:
            terms = get_loan_terms(conn, loan_id)
            schedule = get_schedule(conn, loan_id)
            txns = get_transactions(conn, loan_id)
            marks = get_marks(conn, loan_id)
    finally:
        store.close()
    args = (terms, schedule, txns, marks, business_date, policy)
    state = loan_state_as_of(*args, loan_id=loan_id)
    out = state_json(state)
    if not with_schedule:
        out.pop("schedule")
    if history:
        out["classification_history"] = [
            {
                "date": change.day.isoformat(),
                "from": change.from_category.value,
                "to": change.to_category.value,
                "reasons": list(change.reasons),
            }
            for change in classification_history(*args, loan_id=loan_id)
        ]
    if output_format == "json":
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    _print_table(out)


def _print_table(out: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("field", "value", title=f"loan {out['loan_id']} on {out['business_date']}")
    for key, value in out.items():
        if key in ("schedule", "classification_history"):
            continue
        table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    Console().print(table)
