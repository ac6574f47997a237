"""Case, task, promise and recovery queries for the API, and the scope-checked
calls into :mod:`postloan.collections.service` (which owns every change).

Lists are filtered by :mod:`postloan.api.queries_scope`; object calls go through
:func:`postloan.security.scope.authorize_object` first (404 outside the scope).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Integer, Select, bindparam, func, select

from postloan.api.pagination import PageParams
from postloan.api.queries_scope import case_filter, case_scope_clause, loan_id_filter
from postloan.collections import service as sv
from postloan.security.scope import authorize_object
from postloan.security.users import User
from postloan.store import tables as t
from postloan.store.tables_collections import (
    AgencyPlacement,
    CollectionAgency,
    CollectionCase,
    CollectionCaseLoan,
    CollectionConcession,
    CollectionContact,
    CollectionPromise,
    CollectionTask,
    LegalCase,
)

C = CollectionCase
CASE_FIELDS = (
    C.case_id,
    C.borrower_id,
    C.state,
    C.version,
    C.opened_on,
    C.closed_on,
    C.bucket,
    C.region,
    C.queue,
    C.assigned_to,
    C.group,
)


def _plain(row: Any) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in dict(row).items()
    }


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


_QUEUE_FILTERS = ("state", "queue", "assigned_to", "bucket")


@lru_cache(maxsize=128)
def _cases_statement(role: str, filters: tuple[str, ...], open_only: bool) -> Select[Any]:
    """The case list for a scope role and a set of filters, built once: every value
    (user, filters, page) is a bind parameter, so SQLAlchemy reuses the compiled form
    and PostgreSQL the prepared statement."""
    cl, s = CollectionCaseLoan, t.LoanStateCurrent
    loans = (
        select(func.count())
        .where(cl.case_id == C.case_id)
        .correlate(C)
        .scalar_subquery()
        .label("loans")
    )
    worst = (
        select(func.coalesce(func.max(s.days_past_due), 0))
        .select_from(cl)
        .join(s, s.loan_id == cl.loan_id)
        .where(cl.case_id == C.case_id)
        .correlate(C)
        .scalar_subquery()
        .label("days_past_due")
    )
    columns: list[Any] = [*CASE_FIELDS, loans, worst, func.count().over().label("total")]
    query: Select[Any] = select(*columns).where(case_scope_clause(role))
    if open_only:
        query = query.where(C.closed_on.is_(None))
    for name in filters:
        column = getattr(C, name)
        query = query.where(column == bindparam(f"f_{name}", type_=column.type))
    return query


@lru_cache(maxsize=128)
def _cases_page(role: str, filters: tuple[str, ...], open_only: bool) -> Select[Any]:
    return (
        _cases_statement(role, filters, open_only)
        .order_by(C.opened_on, C.case_id)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


def list_cases(
    conn: Connection,
    user: User,
    page: PageParams,
    *,
    state: str | None = None,
    queue: str | None = None,
    assigned_to: str | None = None,
    bucket: str | None = None,
    include_closed: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Cases in scope (a collector: their work queue), oldest first, with each case's
    loan count and worst DPD: one query, the total by a window count."""
    role = user.role if user.role in ("collector", "loan_officer") else "all"
    values = {"state": state, "queue": queue, "assigned_to": assigned_to, "bucket": bucket}
    filters = tuple(name for name in _QUEUE_FILTERS if values[name] is not None)
    open_only = not include_closed and state is None
    params: dict[str, Any] = {f"f_{name}": values[name] for name in filters}
    if role != "all":
        params["scope_user"] = user.username
    query = _cases_page(role, filters, open_only)
    rows = [
        _plain(r._mapping)
        for r in conn.execute(query, {**params, "offset": page.offset, "limit": page.size})
    ]
    if rows:
        total = int(rows[0]["total"])
    elif page.page > 1:  # past the last page: the window had no row to count on
        counted = select(func.count()).select_from(
            _cases_statement(role, filters, open_only).subquery()
        )
        total = int(conn.execute(counted, params).scalar_one())
    else:
        total = 0
    for r in rows:
        del r["total"]
        r["loans"], r["days_past_due"] = int(r["loans"] or 0), int(r["days_past_due"] or 0)
    return rows, total


_P, _K, _CC = CollectionPromise, CollectionTask, CollectionContact
_CASE = bindparam("case_id", type_=Integer)
_CASE_PROMISES = (
    select(
        _P.promise_id, _P.amount, _P.currency, _P.created_on, _P.promised_date, _P.state, _P.paid
    )
    .where(_P.case_id == _CASE)
    .order_by(_P.promise_id.desc())
    .limit(50)
)
_CASE_TASKS = (
    select(_K.task_id, _K.loan_id, _K.action, _K.queue, _K.state, _K.due_on, _K.assigned_to)
    .where(_K.case_id == _CASE)
    .order_by(_K.task_id.desc())
    .limit(50)
)
_CASE_CONTACTS = (
    select(_CC.contact_id, _CC.collector, _CC.channel, _CC.outcome, _CC.note, _CC.business_date)
    .where(_CC.case_id == _CASE)
    .order_by(_CC.contact_id.desc())
    .limit(50)
)


def case_detail(conn: Connection, user: User, case_id: int) -> dict[str, Any]:
    """The case with its open tasks, promises and latest contacts (scope-checked).
    The three lists are statements built once (bound ``case_id``)."""
    authorize_object(conn, user, "case.view", "case", str(case_id))
    case = sv.get_case(conn, case_id).public()
    params = {"case_id": case_id}
    for key, statement in (
        ("promises", _CASE_PROMISES),
        ("tasks", _CASE_TASKS),
        ("contacts", _CASE_CONTACTS),
    ):
        case[key] = [_plain(r._mapping) for r in conn.execute(statement, params)]
    return case


def transition(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    to_state: str,
    expected_version: int,
    reason: str | None,
    today: date,
) -> dict[str, Any]:
    authorize_object(conn, user, "case.update", "case", str(case_id))
    return sv.transition(
        conn,
        case_id,
        to_state,
        expected_version=expected_version,
        actor=user.username,
        role=user.role,
        reason=reason,
        business_date=today,
    ).public()


def log_contact(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    outcome: str,
    expected_version: int,
    channel: str,
    note: str | None,
    task_id: int | None,
    today: date,
) -> dict[str, Any]:
    """Log a contact result on a case in scope; the case's new version and state."""
    authorize_object(conn, user, "contact.log", "case", str(case_id))
    contact_id = sv.log_contact(
        conn,
        case_id,
        outcome,
        collector=user.username,
        expected_version=expected_version,
        business_date=today,
        channel=channel,
        note=note,
        task_id=task_id,
        role=user.role,
    )
    case = sv.get_case(conn, case_id)
    return {
        "contact_id": contact_id,
        "case_id": case_id,
        "version": case.version,
        "state": str(case.state),
    }


def record_promise(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    amount: int,
    promised_date: date,
    expected_version: int,
    today: date,
) -> dict[str, Any]:
    authorize_object(conn, user, "promise.create", "case", str(case_id))
    promise_id = sv.record_promise(
        conn,
        case_id,
        amount=amount,
        promised_date=promised_date,
        collector=user.username,
        expected_version=expected_version,
        business_date=today,
        role=user.role,
    )
    case = sv.get_case(conn, case_id)
    return {
        "promise_id": promise_id,
        "case_id": case_id,
        "version": case.version,
        "state": str(case.state),
    }


def assign(
    conn: Connection, user: User, case_id: int, *, collector: str, expected_version: int
) -> dict[str, Any]:
    from postloan.domain.errors import ValidationError
    from postloan.security.users import get_user

    authorize_object(conn, user, "case.assign", "case", str(case_id))
    target = get_user(conn, collector)
    if target.role != "collector" or not target.active:
        raise ValidationError(f"{collector!r} is not an active collector")
    return sv.assign(
        conn,
        case_id,
        collector,
        expected_version=expected_version,
        actor=user.username,
        role=user.role,
    ).public()


def list_tasks(
    conn: Connection,
    user: User,
    page: PageParams,
    *,
    state: str | None = None,
    queue: str | None = None,
    assigned_to: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Tasks of cases in scope, earliest SLA first; open and escalated by default."""
    k = CollectionTask
    query = (
        select(
            k.task_id,
            k.case_id,
            k.loan_id,
            k.action,
            k.queue,
            k.skill,
            k.state,
            k.created_on,
            k.due_on,
            k.assigned_to,
            k.escalated_to,
        )
        .join(C, C.case_id == k.case_id)
        .where(case_filter(user))
    )
    if user.role == "collector":
        query = query.where((k.assigned_to == user.username) | (k.escalated_to == user.username))
    query = query.where(k.state == state if state else k.state.in_(["open", "escalated"]))
    if queue is not None:
        query = query.where(k.queue == queue)
    if assigned_to is not None:
        query = query.where(k.assigned_to == assigned_to)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(k.due_on, k.task_id).offset(page.offset).limit(page.size))
    return [_plain(r._mapping) for r in rows], total


def list_promises(
    conn: Connection,
    user: User,
    page: PageParams,
    *,
    state: str | None = None,
    case_id: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    p = CollectionPromise
    query = (
        select(
            p.promise_id,
            p.case_id,
            p.amount,
            p.currency,
            p.created_on,
            p.promised_date,
            p.state,
            p.paid,
            p.created_by,
        )
        .join(C, C.case_id == p.case_id)
        .where(case_filter(user))
    )
    if state is not None:
        query = query.where(p.state == state)
    if case_id is not None:
        query = query.where(p.case_id == case_id)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(p.promise_id.desc()).offset(page.offset).limit(page.size))
    return [_plain(r._mapping) for r in rows], total


def list_concessions(
    conn: Connection,
    user: User,
    page: PageParams,
    *,
    kind: str | None = None,
    state: str | None = None,
    loan_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Restructurings, waivers and write-offs on loans in scope, newest first."""
    x = CollectionConcession
    query = select(
        x.concession_id,
        x.kind,
        x.subtype,
        x.case_id,
        x.loan_id,
        x.amount,
        x.state,
        x.approval_id,
        x.proposed_by,
        x.proposed_on,
        x.applied_by,
        x.applied_on,
    ).where(loan_id_filter(user, x.loan_id))
    for column, value in [(x.kind, kind), (x.state, state), (x.loan_id, loan_id)]:
        if value is not None:
            query = query.where(column == value)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(x.concession_id.desc()).offset(page.offset).limit(page.size))
    return [_plain(r._mapping) for r in rows], total


def concession_detail(conn: Connection, user: User, concession_id: int) -> dict[str, Any]:
    from postloan.collections.concessions import get_concession
    from postloan.security.scope import not_found

    found = conn.execute(
        select(CollectionConcession.loan_id).where(
            CollectionConcession.concession_id == concession_id
        )
    ).scalar_one_or_none()
    if found is None:
        raise not_found("restructuring", str(concession_id))
    authorize_object(conn, user, "case.view", "loan", found)
    out = _plain(get_concession(conn, concession_id))
    out["params"] = json.loads(json.dumps(out["params"], default=str))
    return out


def list_legal(
    conn: Connection, page: PageParams, *, state: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    g = LegalCase
    query = select(
        g.legal_id,
        g.case_id,
        g.loan_id,
        g.state,
        g.court,
        g.exposure_at_referral,
        g.cost,
        g.recovered,
        g.referred_on,
        g.closed_on,
        g.version,
    )
    if state is not None:
        query = query.where(g.state == state)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(g.legal_id).offset(page.offset).limit(page.size))
    return [_plain(r._mapping) for r in rows], total


def legal_detail(conn: Connection, legal_id: int) -> dict[str, Any]:
    from postloan.collections.legal import get_legal

    return _plain(get_legal(conn, legal_id))


def list_agencies(conn: Connection) -> list[dict[str, Any]]:
    a, pl_ = CollectionAgency, AgencyPlacement
    placed = (
        select(pl_.agency_id, func.count().label("placements"))
        .where(pl_.state == "placed")
        .group_by(pl_.agency_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            a.agency_id,
            a.name,
            a.commission_rate,
            a.listed,
            a.listed_on,
            a.delisted_on,
            func.coalesce(placed.c.placements, 0).label("open_placements"),
        )
        .outerjoin(placed, placed.c.agency_id == a.agency_id)
        .order_by(a.agency_id)
    )
    return [_plain(r._mapping) for r in rows]


def agency_detail(conn: Connection, agency_id: str) -> dict[str, Any]:
    from postloan.security.scope import not_found

    for agency in list_agencies(conn):
        if agency["agency_id"] == agency_id:
            p = AgencyPlacement
            agency["placements"] = [
                _plain(r._mapping)
                for r in conn.execute(
                    select(
                        p.placement_id,
                        p.loan_id,
                        p.case_id,
                        p.state,
                        p.placed_on,
                        p.recalled_on,
                        p.placed_balance,
                        p.collected,
                        p.commission,
                    )
                    .where(p.agency_id == agency_id)
                    .order_by(p.placement_id.desc())
                    .limit(200)
                )
            ]
            return agency
    raise not_found("agency", agency_id)


def propose_concession(
    conn: Connection,
    user: User,
    kind: str,
    *,
    loan_id: str,
    today: date,
    subtype: str | None = None,
    amount: int | None = None,
    params: dict[str, Any] | None = None,
    effective_date: date | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Propose a restructuring, waiver or write-off of a loan in scope (maker-checker:
    the approval applies it). Its concession id and approval id."""
    from postloan.collections import concessions as cs

    permission = {
        "restructuring": "restructuring.propose",
        "waiver": "waiver.propose",
        "writeoff": "writeoff.propose",
    }[kind]
    authorize_object(conn, user, permission, "loan", loan_id)
    if kind == "restructuring":
        concession_id = cs.propose_restructuring(
            conn,
            loan_id=loan_id,
            kind=subtype or "",
            params=params or {},
            maker=user.username,
            business_date=today,
            effective_date=effective_date,
            reason=reason,
        )
    elif kind == "waiver":
        concession_id = cs.propose_waiver(
            conn,
            loan_id=loan_id,
            kind=subtype or "",
            amount=amount or 0,
            maker=user.username,
            business_date=today,
            reason=reason,
        )
    else:
        concession_id = cs.propose_writeoff(
            conn, loan_id=loan_id, maker=user.username, business_date=today, reason=reason
        )
    approval_id = conn.execute(
        select(CollectionConcession.approval_id).where(
            CollectionConcession.concession_id == concession_id
        )
    ).scalar_one()
    return {"concession_id": concession_id, "approval_id": approval_id, "state": "pending"}
