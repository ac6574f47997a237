"""Recovery commands: ``postloan restructure|waive|writeoff|concessions|legal|agencies``.

Thin wrappers over :mod:`postloan.collections.concessions`, ``legal`` and
``agencies``. Restructurings, waivers and write-offs are proposals: another
person approves them with ``postloan approvals approve ID --user CHECKER``.
Amounts are given in major units (``1200.50``) and stored in minor units.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from postloan.cli import app
from postloan.commands.cases import _print, _t, _today
from postloan.domain.errors import ValidationError

legal_app = typer.Typer(no_args_is_help=True, help="Legal cases (诉讼)")
agencies_app = typer.Typer(no_args_is_help=True, help="External collection agencies (委外催收)")
concessions_app = typer.Typer(
    no_args_is_help=True, help="Restructurings, waivers and write-offs (重组、减免、核销)"
)
app.add_typer(legal_app, name="legal")
app.add_typer(agencies_app, name="agencies")
app.add_typer(concessions_app, name="concessions")

User = Annotated[str, typer.Option("--user", help="Who does it (an active user)")]
On = Annotated[str | None, typer.Option("--date", help="Business date YYYY-MM-DD")]
AsJson = Annotated[bool, typer.Option("--json")]


@contextmanager
def _conn() -> Iterator[Connection]:
    """One transaction; afterwards the book mirror is rebuilt if it changed the books
    (schedules, transactions, marks), so the next close of business sees the change."""
    from postloan.collections.servicing import refresh_book_if_stale
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            yield conn
        refresh_book_if_stale(store)
    finally:
        store.close()


def _minor(text: str, option: str = "--amount") -> int:
    try:
        minor = Decimal(text) * 100
    except InvalidOperation:
        raise ValidationError(f"{option}: {text!r} is not an amount") from None
    if minor != minor.to_integral_value() or minor < 0:
        raise ValidationError(f"{option}: {text} is not an amount ≥ 0 with at most 2 decimals")
    return int(minor)


def _proposed(kind_zh: str, kind_en: str, concession_id: int, approval_id: int) -> None:
    typer.echo(
        _t(
            f"已提交{kind_zh} {concession_id}，待审批 {approval_id}"
            f"（postloan approvals approve {approval_id} --user 审批人）",
            f"{kind_en} {concession_id} proposed; approval {approval_id} is pending "
            f"(postloan approvals approve {approval_id} --user CHECKER)",
        )
    )


@app.command("restructure")
def restructure(
    loan_id: Annotated[str, typer.Argument()],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="extension | deferral | reduced_instalment | rate_reduction | capitalisation",
        ),
    ],
    user: User,
    periods: Annotated[int, typer.Option("--periods", help="Periods added/deferred")] = 0,
    new_rate: Annotated[str | None, typer.Option("--rate", help="New annual rate")] = None,
    capitalise: Annotated[
        bool, typer.Option("--capitalise-arrears", help="Arrears become principal")
    ] = False,
    effective: Annotated[str | None, typer.Option("--effective", help="YYYY-MM-DD")] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    on: On = None,
) -> None:
    """Propose a restructuring (new schedule from the servicing core, affordability check)."""
    from postloan.collections import concessions as cc
    from postloan.collections.daily import load_collections_settings
    from postloan.commands.eod import parse_date
    from postloan.config import load_settings

    params: dict[str, Any] = {"periods": periods, "capitalise_arrears": capitalise}
    if new_rate is not None:
        params["new_rate"] = new_rate
    ratio = load_collections_settings(load_settings()).max_debt_ratio
    with _conn() as conn:
        today = _today(conn, on)
        concession_id = cc.propose_restructuring(
            conn,
            loan_id=loan_id,
            kind=kind,
            params=params,
            maker=user,
            business_date=today,
            effective_date=parse_date(effective, "--effective"),
            max_debt_ratio=ratio,
            reason=reason,
        )
        row = cc.get_concession(conn, concession_id)
    _proposed("重组", "restructuring", concession_id, row["approval_id"])
    _print(row["params"], False)


@app.command("waive")
def waive(
    loan_id: Annotated[str, typer.Argument()],
    kind: Annotated[str, typer.Option("--kind", help="penalty | fee | interest | principal")],
    amount: Annotated[str, typer.Option("--amount", help="e.g. 120.50")],
    user: User,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    on: On = None,
) -> None:
    """Propose a waiver (or the waived part of a settlement)."""
    from postloan.collections import concessions as cc

    with _conn() as conn:
        concession_id = cc.propose_waiver(
            conn,
            loan_id=loan_id,
            kind=kind,
            amount=_minor(amount),
            maker=user,
            business_date=_today(conn, on),
            reason=reason,
        )
        approval_id = cc.get_concession(conn, concession_id)["approval_id"]
    _proposed("减免", "waiver", concession_id, approval_id)


@app.command("writeoff")
def writeoff(
    loan_id: Annotated[str, typer.Argument()],
    user: User,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    on: On = None,
) -> None:
    """Propose charging a loan off (a risk manager approves)."""
    from postloan.collections import concessions as cc

    with _conn() as conn:
        concession_id = cc.propose_writeoff(
            conn, loan_id=loan_id, maker=user, business_date=_today(conn, on), reason=reason
        )
        approval_id = cc.get_concession(conn, concession_id)["approval_id"]
    _proposed("核销", "write-off", concession_id, approval_id)


@concessions_app.command("list")
def concessions_list(
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    loan: Annotated[str | None, typer.Option("--loan")] = None,
    as_json: AsJson = False,
) -> None:
    """Restructurings, waivers and write-offs, newest first."""
    from postloan.collections.concessions import list_concessions

    with _conn() as conn:
        rows = list_concessions(conn, kind=kind, loan_id=loan)
    if not as_json:
        rows = [{k: v for k, v in r.items() if k not in ("params", "result")} for r in rows]
    _print(rows, as_json)


@legal_app.command("refer")
def legal_refer(
    loan_id: Annotated[str, typer.Argument()],
    user: User,
    court: Annotated[str | None, typer.Option("--court")] = None,
    lawyer: Annotated[str | None, typer.Option("--lawyer")] = None,
    firm: Annotated[str | None, typer.Option("--firm")] = None,
    cost: Annotated[str, typer.Option("--cost", help="Cost of this step")] = "0",
    on: On = None,
) -> None:
    """Refer a loan to litigation."""
    from postloan.collections.legal import refer

    with _conn() as conn:
        legal_id = refer(
            conn,
            loan_id=loan_id,
            actor=user,
            business_date=_today(conn, on),
            court=court,
            lawyer=lawyer,
            firm=firm,
            cost=_minor(cost, "--cost"),
        )
    typer.echo(_t(f"已移交诉讼：法律案件 {legal_id}", f"legal case {legal_id} opened"))


@legal_app.command("advance")
def legal_advance(
    legal_id: Annotated[int, typer.Argument()],
    to_state: Annotated[str, typer.Option("--to", help="filed, hearing, judgment, …, closed")],
    user: User,
    version: Annotated[int, typer.Option("--version", help="Version you read")],
    cost: Annotated[str, typer.Option("--cost", help="Cost of this step")] = "0",
    court: Annotated[str | None, typer.Option("--court")] = None,
    lawyer: Annotated[str | None, typer.Option("--lawyer")] = None,
    firm: Annotated[str | None, typer.Option("--firm")] = None,
    on: On = None,
) -> None:
    """Move a legal case to its next state."""
    from postloan.collections.legal import advance

    with _conn() as conn:
        row = advance(
            conn,
            legal_id,
            to_state,
            expected_version=version,
            actor=user,
            business_date=_today(conn, on),
            cost=_minor(cost, "--cost"),
            court=court,
            lawyer=lawyer,
            firm=firm,
        )
    typer.echo(_t(f"法律案件 {legal_id}：{row['state']}", f"legal case {legal_id}: {row['state']}"))


@legal_app.command("recover")
def legal_recover(
    legal_id: Annotated[int, typer.Argument()],
    amount: Annotated[str, typer.Option("--amount")],
    user: User,
    reference: Annotated[str | None, typer.Option("--ref", help="Court/bank reference")] = None,
    on: On = None,
) -> None:
    """Post money recovered through the court."""
    from postloan.collections.legal import record_recovery

    with _conn() as conn:
        recovery_id = record_recovery(
            conn,
            legal_id,
            amount=_minor(amount),
            value_date=_today(conn, on),
            actor=user,
            reference=reference,
        )
    typer.echo(_t(f"已入账回收 {recovery_id}", f"recovery {recovery_id} posted"))


@legal_app.command("list")
def legal_list(
    state: Annotated[str | None, typer.Option("--state")] = None, as_json: AsJson = False
) -> None:
    from postloan.collections.legal import list_legal

    with _conn() as conn:
        _print(list_legal(conn, state=state), as_json)


@agencies_app.command("add")
def agency_add(
    agency_id: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option("--name")],
    rate: Annotated[str, typer.Option("--commission", help="e.g. 0.15")],
    user: User,
    on: On = None,
) -> None:
    """List an agency on the register."""
    from postloan.collections.agencies import register_agency

    with _conn() as conn:
        register_agency(
            conn,
            agency_id=agency_id,
            name=name,
            commission_rate=rate,
            actor=user,
            listed_on=_today(conn, on),
        )
    typer.echo(_t(f"已登记委外机构 {agency_id}", f"agency {agency_id} listed"))


@agencies_app.command("list")
def agency_list(as_json: AsJson = False) -> None:
    from postloan.collections.agencies import list_agencies

    with _conn() as conn:
        _print(list_agencies(conn), as_json)


@agencies_app.command("place")
def agency_place(
    loan_id: Annotated[str, typer.Argument()],
    agency: Annotated[str, typer.Option("--agency")],
    user: User,
    on: On = None,
) -> None:
    """Place a loan with a listed agency."""
    from postloan.collections.agencies import place

    with _conn() as conn:
        placement_id = place(
            conn, agency_id=agency, loan_id=loan_id, actor=user, business_date=_today(conn, on)
        )
    typer.echo(_t(f"已委外：委案 {placement_id}", f"placement {placement_id} made"))


@agencies_app.command("recall")
def agency_recall(
    placement_id: Annotated[int, typer.Argument()],
    user: User,
    version: Annotated[int, typer.Option("--version")],
    on: On = None,
) -> None:
    from postloan.collections.agencies import recall

    with _conn() as conn:
        recall(
            conn, placement_id, expected_version=version, actor=user, business_date=_today(conn, on)
        )
    typer.echo(_t(f"已撤回委案 {placement_id}", f"placement {placement_id} recalled"))


@agencies_app.command("collect")
def agency_collect(
    placement_id: Annotated[int, typer.Argument()],
    amount: Annotated[str, typer.Option("--amount")],
    user: User,
    reference: Annotated[str | None, typer.Option("--ref")] = None,
    on: On = None,
) -> None:
    """Post money an agency collected (commission at the placement's rate)."""
    from postloan.collections.agencies import record_collection

    with _conn() as conn:
        recovery_id = record_collection(
            conn,
            placement_id,
            amount=_minor(amount),
            value_date=_today(conn, on),
            actor=user,
            reference=reference,
        )
    typer.echo(_t(f"已入账回收 {recovery_id}", f"recovery {recovery_id} posted"))


@agencies_app.command("export")
def agency_export(
    agency: Annotated[str, typer.Argument()],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    user: User,
    on: On = None,
) -> None:
    """Write the agency's placements with minimal, masked personal data (CSV)."""
    from postloan.collections.agencies import placement_export
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            text, count = placement_export(conn, store.cipher, agency, _today(conn, on), actor=user)
    finally:
        store.close()
    out.write_text(text, encoding="utf-8")
    typer.echo(_t(f"已导出 {count} 笔委案到 {out}", f"{count} placements written to {out}"))
