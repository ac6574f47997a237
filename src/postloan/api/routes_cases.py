"""Collections over HTTP: cases (a collector's list is their work queue), case
detail, transitions, contacts, promises, assignment; tasks and promises; the
recovery registers (restructurings/waivers/write-offs, legal cases, agencies).

Every change passes the case version the caller read (``expected_version``); a
stale one is ``409`` (reload and retry), never a silent overwrite.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from postloan.api import queries_cases as q
from postloan.api.deps import Ctx, require
from postloan.api.pagination import Page, PageParams, json_response, page_params
from postloan.api.reads import reading
from postloan.api.routes_events import ContactLogged
from postloan.api.schemas import MAX_INT32, Text
from postloan.security.users import User

router = APIRouter(prefix="/api/v1", tags=["collections"])
CaseViewer = Annotated[User, Depends(require("case.view"))]
LegalViewer = Annotated[User, Depends(require("legal.view"))]
Paging = Annotated[PageParams, Depends(page_params)]
NO_NUL = r"^[^\x00]+$"
CaseId = Annotated[int, Path(ge=1, le=MAX_INT32)]
ObjectId = Annotated[int, Path(ge=1, le=MAX_INT32)]
Filter = Annotated[str | None, Query(min_length=1, max_length=100, pattern=NO_NUL)]


class CaseRow(BaseModel):
    case_id: int
    borrower_id: str
    state: str
    version: int
    opened_on: date
    closed_on: date | None
    bucket: str | None
    region: str | None
    queue: str | None
    assigned_to: str | None
    group: str | None
    loans: int
    days_past_due: int


class CaseOut(BaseModel):
    case_id: int
    borrower_id: str
    state: str
    version: int
    opened_on: date
    closed_on: date | None
    source: str
    bucket: str | None
    region: str | None
    queue: str | None
    assigned_to: str | None
    strategy_version: str | None
    group: str | None
    loan_ids: list[str]


class CaseDetail(CaseOut):
    promises: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    contacts: list[dict[str, Any]]


class TransitionIn(BaseModel):
    to_state: Text = Field(min_length=1, max_length=32)
    expected_version: int = Field(ge=1, le=MAX_INT32)
    reason: Text | None = Field(default=None, max_length=2000)


class ContactIn(BaseModel):
    outcome: Text = Field(min_length=1, max_length=32)
    expected_version: int = Field(ge=1, le=MAX_INT32)
    channel: Text = Field(default="phone", min_length=1, max_length=32)
    note: Text | None = Field(default=None, max_length=2000)
    task_id: int | None = Field(default=None, ge=1, le=MAX_INT32)


class PromiseIn(BaseModel):
    amount_minor: int = Field(gt=0, le=10**15)
    promised_date: date
    expected_version: int = Field(ge=1, le=MAX_INT32)


class PromiseRecorded(BaseModel):
    promise_id: int
    case_id: int
    version: int
    state: str


class AssignIn(BaseModel):
    collector: Text = Field(min_length=1, max_length=64)
    expected_version: int = Field(ge=1, le=MAX_INT32)


class TaskRow(BaseModel):
    task_id: int
    case_id: int
    loan_id: str
    action: str
    queue: str
    skill: str
    state: str
    created_on: date
    due_on: date
    assigned_to: str | None
    escalated_to: str | None


class PromiseRow(BaseModel):
    promise_id: int
    case_id: int
    amount: int
    currency: str
    created_on: date
    promised_date: date
    state: str
    paid: int
    created_by: str


class ConcessionRow(BaseModel):
    concession_id: int
    kind: str
    subtype: str
    case_id: int | None
    loan_id: str
    amount: int
    state: str
    approval_id: int | None
    proposed_by: str
    proposed_on: date
    applied_by: str | None
    applied_on: date | None


class LegalRow(BaseModel):
    legal_id: int
    case_id: int | None
    loan_id: str
    state: str
    court: str | None
    exposure_at_referral: int
    cost: int
    recovered: int
    referred_on: date
    closed_on: date | None
    version: int


class AgencyRow(BaseModel):
    agency_id: str
    name: str
    commission_rate: str
    listed: int
    listed_on: date
    delisted_on: date | None
    open_placements: int


class AgencyDetail(AgencyRow):
    placements: list[dict[str, Any]]


def _page(items: list[Any], total: int, paging: PageParams) -> dict[str, Any]:
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.get("/cases", response_model=Page[CaseRow])
async def cases(
    ctx: Ctx,
    user: CaseViewer,
    paging: Paging,
    state: Filter = None,
    queue: Filter = None,
    assigned_to: Filter = None,
    bucket: Filter = None,
    include_closed: bool = False,
) -> Any:
    """Open cases in the caller's scope, oldest first: a collector's work queue."""

    def work() -> Response:  # the database work and the JSON bytes in one thread hop
        with reading(ctx.store) as conn:
            rows, total = q.list_cases(
                conn,
                user,
                paging,
                state=state,
                queue=queue,
                assigned_to=assigned_to,
                bucket=bucket,
                include_closed=include_closed,
            )
        items = [CaseRow(**r) for r in rows]
        page = Page[CaseRow](items=items, total=total, page=paging.page, size=paging.size)
        return json_response(page)

    return await run_in_threadpool(work)


@router.get("/cases/{case_id}", response_model=CaseDetail)
async def case(case_id: CaseId, ctx: Ctx, user: CaseViewer) -> Any:
    """The case page: the case, its loans, promises, tasks and latest contacts."""

    def work() -> Response:
        with reading(ctx.store) as conn:
            return json_response(CaseDetail(**q.case_detail(conn, user, case_id)))

    return await run_in_threadpool(work)


@router.post("/cases/{case_id}/transition", response_model=CaseOut)
def move_case(
    case_id: CaseId,
    body: TransitionIn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("case.update"))],
) -> Any:
    """Move the case along an allowed edge (``409`` for an illegal move or a stale version)."""
    with ctx.store.begin() as conn:
        return q.transition(
            conn,
            user,
            case_id,
            to_state=body.to_state,
            expected_version=body.expected_version,
            reason=body.reason,
            today=ctx.clock().date(),
        )


@router.post("/cases/{case_id}/contacts", response_model=ContactLogged, status_code=201)
def log_contact(
    case_id: CaseId,
    body: ContactIn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("contact.log"))],
) -> Any:
    """Log a contact attempt and its outcome."""
    with ctx.store.begin() as conn:
        return q.log_contact(
            conn,
            user,
            case_id,
            outcome=body.outcome,
            expected_version=body.expected_version,
            channel=body.channel,
            note=body.note,
            task_id=body.task_id,
            today=ctx.clock().date(),
        )


@router.post("/cases/{case_id}/promises", response_model=PromiseRecorded, status_code=201)
def record_promise(
    case_id: CaseId,
    body: PromiseIn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("promise.create"))],
) -> Any:
    """Record a promise to pay (the case moves to ``promise_to_pay``)."""
    with ctx.store.begin() as conn:
        return q.record_promise(
            conn,
            user,
            case_id,
            amount=body.amount_minor,
            promised_date=body.promised_date,
            expected_version=body.expected_version,
            today=ctx.clock().date(),
        )


@router.post("/cases/{case_id}/assign", response_model=CaseOut)
def assign_case(
    case_id: CaseId,
    body: AssignIn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("case.assign"))],
) -> Any:
    """Give the case and its open tasks to a collector (supervisors)."""
    with ctx.store.begin() as conn:
        return q.assign(
            conn, user, case_id, collector=body.collector, expected_version=body.expected_version
        )


@router.get("/tasks", response_model=Page[TaskRow])
def tasks(
    ctx: Ctx,
    user: CaseViewer,
    paging: Paging,
    state: Filter = None,
    queue: Filter = None,
    assigned_to: Filter = None,
) -> Any:
    """Open and escalated tasks in scope, earliest SLA first (a collector: their own)."""
    with ctx.store.begin() as conn:
        rows, total = q.list_tasks(
            conn, user, paging, state=state, queue=queue, assigned_to=assigned_to
        )
    return _page(rows, total, paging)


@router.get("/promises", response_model=Page[PromiseRow])
def promises(
    ctx: Ctx,
    user: CaseViewer,
    paging: Paging,
    state: Filter = None,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_INT32)] = None,
) -> Any:
    with ctx.store.begin() as conn:
        rows, total = q.list_promises(conn, user, paging, state=state, case_id=case_id)
    return _page(rows, total, paging)


@router.get("/restructurings", response_model=Page[ConcessionRow])
def restructurings(
    ctx: Ctx,
    user: CaseViewer,
    paging: Paging,
    kind: Filter = None,
    state: Filter = None,
    loan_id: Filter = None,
) -> Any:
    """Restructurings, waivers and write-offs (``?kind=``) on loans in scope."""
    with ctx.store.begin() as conn:
        rows, total = q.list_concessions(
            conn, user, paging, kind=kind, state=state, loan_id=loan_id
        )
    return _page(rows, total, paging)


@router.get("/restructurings/{concession_id}", response_model=dict[str, Any])
def restructuring(concession_id: ObjectId, ctx: Ctx, user: CaseViewer) -> Any:
    with ctx.store.begin() as conn:
        return q.concession_detail(conn, user, concession_id)


class RestructuringIn(BaseModel):
    loan_id: Text = Field(min_length=1, max_length=64)
    kind: Text = Field(min_length=1, max_length=32, description="extension, deferral, …")
    params: dict[str, int | str | bool] = Field(default={}, max_length=20)
    effective_date: date | None = None
    reason: Text | None = Field(default=None, max_length=2000)


class WaiverIn(BaseModel):
    loan_id: Text = Field(min_length=1, max_length=64)
    kind: Text = Field(min_length=1, max_length=32, description="penalty, fee, interest, …")
    amount_minor: int = Field(gt=0, le=10**15)
    reason: Text | None = Field(default=None, max_length=2000)


class WriteOffIn(BaseModel):
    loan_id: Text = Field(min_length=1, max_length=64)
    reason: Text | None = Field(default=None, max_length=2000)


class Proposed(BaseModel):
    concession_id: int
    approval_id: int
    state: str


@router.post("/restructurings", response_model=Proposed, status_code=202)
def propose_restructuring(
    body: RestructuringIn,
    ctx: Ctx,
    user: Annotated[User, Depends(require("restructuring.propose"))],
) -> Any:
    """Propose a restructuring (new schedule and affordability computed now); a
    checker approves it under ``/approvals``."""
    with ctx.store.begin() as conn:
        return q.propose_concession(
            conn,
            user,
            "restructuring",
            loan_id=body.loan_id,
            subtype=body.kind,
            params=dict(body.params),
            effective_date=body.effective_date,
            reason=body.reason,
            today=ctx.clock().date(),
        )


@router.post("/waivers", response_model=Proposed, status_code=202)
def propose_waiver(
    body: WaiverIn, ctx: Ctx, user: Annotated[User, Depends(require("waiver.propose"))]
) -> Any:
    """Propose forgiving an amount of penalty, fee or interest (maker-checker)."""
    with ctx.store.begin() as conn:
        return q.propose_concession(
            conn,
            user,
            "waiver",
            loan_id=body.loan_id,
            subtype=body.kind,
            amount=body.amount_minor,
            reason=body.reason,
            today=ctx.clock().date(),
        )


@router.post("/write-offs", response_model=Proposed, status_code=202)
def propose_writeoff(
    body: WriteOffIn, ctx: Ctx, user: Annotated[User, Depends(require("writeoff.propose"))]
) -> Any:
    """Propose charging the loan off (maker-checker; the amount is its exposure)."""
    with ctx.store.begin() as conn:
        return q.propose_concession(
            conn,
            user,
            "writeoff",
            loan_id=body.loan_id,
            reason=body.reason,
            today=ctx.clock().date(),
        )


@router.get("/legal-cases", response_model=Page[LegalRow])
def legal_cases(ctx: Ctx, _user: LegalViewer, paging: Paging, state: Filter = None) -> Any:
    with ctx.store.begin() as conn:
        rows, total = q.list_legal(conn, paging, state=state)
    return _page(rows, total, paging)


@router.get("/legal-cases/{legal_id}", response_model=dict[str, Any])
def legal_case(legal_id: ObjectId, ctx: Ctx, _user: LegalViewer) -> Any:
    with ctx.store.begin() as conn:
        return q.legal_detail(conn, legal_id)


@router.get("/agencies", response_model=list[AgencyRow])
def agencies(ctx: Ctx, _user: LegalViewer) -> Any:
    with ctx.store.begin() as conn:
        return q.list_agencies(conn)


@router.get("/agencies/{agency_id}", response_model=AgencyDetail)
def agency(
    agency_id: Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)],
    ctx: Ctx,
    _user: LegalViewer,
) -> Any:
    with ctx.store.begin() as conn:
        return q.agency_detail(conn, agency_id)
