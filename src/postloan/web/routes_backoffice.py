"""The back-office forms. On the case page: propose a write-off, open and advance a
legal case, record a court recovery, place a loan with an agency, post what the
agency collected and recall it; each answers with the case's work area (an HTMX
swap), its message in the user's language. And the agency register (``/agencies``):
list and delist agencies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from postloan.collections import agencies
from postloan.security.scope import authorize
from postloan.web import backoffice, queries
from postloan.web.pages import Ctx, HtmlRoute, PageUser, render
from postloan.web.routes import _case_work, _minor_units, _t

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]


@router.post("/cases/{case_id}/write-offs", response_class=HTMLResponse)
def propose_writeoff(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    loan_id: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        approval_id = backoffice.propose_case_writeoff(
            conn, user, case_id, loan_id=loan_id, on=queries.business_date(conn), reason=reason
        )
    message = _t(request, "bo.writeoff_proposed", id=approval_id)
    return _case_work(request, ctx, user, case_id, "ok", message)


@router.post("/cases/{case_id}/legal", response_class=HTMLResponse)
def refer_to_legal(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    loan_id: Annotated[str, Form(max_length=64)],
    court: Text = "",
    lawyer: Text = "",
    firm: Text = "",
    cost: Annotated[str, Form(max_length=20)] = "0",
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        legal_id = backoffice.refer_to_legal(
            conn,
            user,
            case_id,
            loan_id=loan_id,
            on=queries.business_date(conn),
            court=court,
            lawyer=lawyer,
            firm=firm,
            cost_minor=_minor_units(cost or "0"),
        )
    return _case_work(
        request, ctx, user, case_id, "ok", _t(request, "bo.legal_opened", id=legal_id)
    )


@router.post("/cases/{case_id}/legal/{legal_id}/advance", response_class=HTMLResponse)
def advance_legal(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    legal_id: int,
    version: Annotated[int, Form()],
    to_state: Annotated[str, Form(max_length=20)],
    cost: Annotated[str, Form(max_length=20)] = "0",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        moved = backoffice.advance_legal(
            conn,
            user,
            case_id,
            legal_id,
            to_state=to_state,
            expected_version=version,
            on=queries.business_date(conn),
            cost_minor=_minor_units(cost or "0"),
            note=note,
        )
    state = _t(request, "legal." + moved["state"])
    message = _t(request, "bo.legal_moved", id=legal_id, state=state)
    return _case_work(request, ctx, user, case_id, "ok", message)


@router.post("/cases/{case_id}/legal/{legal_id}/recoveries", response_class=HTMLResponse)
def legal_recovery(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    legal_id: int,
    amount: Annotated[str, Form(max_length=20)],
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        backoffice.record_legal_recovery(
            conn,
            user,
            case_id,
            legal_id,
            amount_minor=_minor_units(amount),
            on=queries.business_date(conn),
        )
    return _case_work(request, ctx, user, case_id, "ok", _t(request, "bo.recovery_posted"))


@router.post("/cases/{case_id}/placements", response_class=HTMLResponse)
def place(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    loan_id: Annotated[str, Form(max_length=64)],
    agency_id: Annotated[str, Form(max_length=64)],
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        placement_id = backoffice.place_with_agency(
            conn,
            user,
            case_id,
            loan_id=loan_id,
            agency_id=agency_id,
            on=queries.business_date(conn),
        )
    message = _t(request, "bo.placed", id=placement_id, agency=agency_id)
    return _case_work(request, ctx, user, case_id, "ok", message)


@router.post("/cases/{case_id}/placements/{placement_id}/recall", response_class=HTMLResponse)
def recall(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    placement_id: int,
    version: Annotated[int, Form()],
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        backoffice.recall_from_agency(
            conn,
            user,
            case_id,
            placement_id,
            expected_version=version,
            on=queries.business_date(conn),
        )
    message = _t(request, "bo.recalled", id=placement_id)
    return _case_work(request, ctx, user, case_id, "ok", message)


@router.post("/cases/{case_id}/placements/{placement_id}/collections", response_class=HTMLResponse)
def agency_collection(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    placement_id: int,
    amount: Annotated[str, Form(max_length=20)],
    reference: Text = "",
) -> HTMLResponse:
    """Post money the agency collected (commission at the placement's rate)."""
    with ctx.store.begin() as conn:
        recovery_id = backoffice.record_agency_collection(
            conn,
            user,
            case_id,
            placement_id,
            amount_minor=_minor_units(amount),
            reference=reference,
            on=queries.business_date(conn),
        )
    message = _t(request, "bo.agency_collected", id=recovery_id, placement=placement_id)
    return _case_work(request, ctx, user, case_id, "ok", message)


@router.get("/agencies", response_class=HTMLResponse)
def agencies_page(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    """The agency register: every agency with its commission rate and listing dates."""
    authorize(user, "legal.view")
    with ctx.store.begin() as conn:
        listed = _register(conn)
    return render(request, "agencies.html", user, agencies=listed, flash=None)


@router.post("/agencies", response_class=HTMLResponse)
def register_agency(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    agency_id: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    commission_rate: Annotated[str, Form(max_length=20)],
) -> HTMLResponse:
    authorize(user, "legal.manage")
    with ctx.store.begin() as conn:
        agencies.register_agency(
            conn,
            agency_id=agency_id,
            name=name.strip(),
            commission_rate=commission_rate.strip(),
            actor=user.username,
            listed_on=queries.business_date(conn),
        )
        listed = _register(conn)
    flash = ("ok", _t(request, "agencies.registered", id=agency_id))
    return render(request, "_agencies.html", user, agencies=listed, flash=flash)


@router.post("/agencies/{agency_id}/delist", response_class=HTMLResponse)
def delist_agency(request: Request, ctx: Ctx, user: PageUser, agency_id: str) -> HTMLResponse:
    authorize(user, "legal.manage")
    with ctx.store.begin() as conn:
        agencies.delist_agency(conn, agency_id, actor=user.username, on=queries.business_date(conn))
        listed = _register(conn)
    flash = ("ok", _t(request, "agencies.delisted", id=agency_id))
    return render(request, "_agencies.html", user, agencies=listed, flash=flash)


def _register(conn: Connection) -> list[dict[str, Any]]:
    """The agencies with their commission rates as decimals (shown as percentages)."""
    return [
        {**a, "commission_rate": Decimal(str(a["commission_rate"]))}
        for a in agencies.list_agencies(conn)
    ]


__all__ = ["router"]
