"""Back-office changes from the case page: write-off proposals, legal cases and agency
placements. Each checks the permission and the case's data scope here, then calls the
owning service (which checks the permission again for its actor).

Mistakes a person can fix (an amount above what is owed, a loan outside the case, an
agency that is not listed) are raised as :class:`UserMistake`, which the page shows in
the user's language; anything else keeps the service's own message.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from postloan.collections import agencies, legal, service
from postloan.collections.concessions import propose_writeoff
from postloan.collections.servicing import load_loan
from postloan.collections.states import LEGAL_TRANSITIONS, LegalState, PlacementState
from postloan.domain.errors import ValidationError
from postloan.security.scope import authorize_object
from postloan.security.users import User
from postloan.store import tables_collections as tc


class UserMistake(ValidationError):
    """A validation error with a text key of :mod:`postloan.web.i18n` and its values
    (a value named ``*_minor`` is an amount in minor units, shown as money)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(f"{key} {params}")
        self.key = key
        self.params = params


def _loan_of_case(conn: Connection, case_id: int, loan_id: str) -> None:
    if loan_id not in service.get_case(conn, case_id).loan_ids:
        raise UserMistake("bo.err.loan_not_in_case", loan=loan_id, case=case_id)


def approval_of(conn: Connection, concession_id: int) -> int:
    """The approval id of a proposed concession (what the checker sees on /approvals)."""
    table = tc.CollectionConcession.__table__
    found = conn.execute(
        select(table.c.approval_id).where(table.c.concession_id == concession_id)
    ).scalar_one()
    return int(found)


def propose_case_writeoff(
    conn: Connection, user: User, case_id: int, *, loan_id: str, on: date, reason: str | None
) -> int:
    """Propose charging a loan of the case off (maker-checker); the approval id."""
    authorize_object(conn, user, "writeoff.propose", "case", str(case_id))
    _loan_of_case(conn, case_id, loan_id)
    view = load_loan(conn, loan_id, on)
    if view.charged_off:
        raise UserMistake("bo.err.charged_off", loan=loan_id)
    if view.exposure <= 0:
        raise UserMistake("bo.err.nothing_owed", loan=loan_id)
    if not (reason or "").strip():
        raise UserMistake("bo.err.reason_needed")
    concession = propose_writeoff(
        conn, loan_id=loan_id, maker=user.username, business_date=on, reason=reason
    )
    return approval_of(conn, concession)


def _legal_of_case(conn: Connection, case_id: int, legal_id: int) -> dict[str, Any]:
    found = legal.get_legal(conn, legal_id)
    if found["loan_id"] not in service.get_case(conn, case_id).loan_ids:
        raise UserMistake("bo.err.legal_not_in_case", legal=legal_id, case=case_id)
    return found


def refer_to_legal(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    loan_id: str,
    on: date,
    court: str,
    lawyer: str,
    firm: str,
    cost_minor: int,
) -> int:
    """Open a legal case on a loan of the case; the legal case id."""
    authorize_object(conn, user, "legal.manage", "case", str(case_id))
    _loan_of_case(conn, case_id, loan_id)
    active = [r for r in _legal_rows(conn, [loan_id]) if r["state"] != LegalState.CLOSED.value]
    if active:
        raise UserMistake("bo.err.already_legal", loan=loan_id, legal=active[0]["legal_id"])
    return legal.refer(
        conn,
        loan_id=loan_id,
        actor=user.username,
        business_date=on,
        court=court.strip() or None,
        lawyer=lawyer.strip() or None,
        firm=firm.strip() or None,
        cost=cost_minor,
    )


def advance_legal(
    conn: Connection,
    user: User,
    case_id: int,
    legal_id: int,
    *,
    to_state: str,
    expected_version: int,
    on: date,
    cost_minor: int,
    note: str,
) -> dict[str, Any]:
    """Move a legal case of this case along an allowed edge."""
    authorize_object(conn, user, "legal.manage", "case", str(case_id))
    current = _legal_of_case(conn, case_id, legal_id)
    allowed = next_legal_states(current["state"])
    if to_state not in allowed:
        raise UserMistake(
            "bo.err.legal_edge", legal=legal_id, state=current["state"], target=to_state
        )
    return legal.advance(
        conn,
        legal_id,
        to_state,
        expected_version=expected_version,
        actor=user.username,
        business_date=on,
        cost=cost_minor,
        note=note.strip() or None,
    )


def record_legal_recovery(
    conn: Connection, user: User, case_id: int, legal_id: int, *, amount_minor: int, on: date
) -> int:
    """Money recovered through the court, at most what the loan still owes."""
    authorize_object(conn, user, "legal.manage", "case", str(case_id))
    current = _legal_of_case(conn, case_id, legal_id)
    if amount_minor <= 0:
        raise UserMistake("bo.err.amount_positive")
    owed = load_loan(conn, current["loan_id"], on).exposure
    if amount_minor > owed:
        raise UserMistake("bo.err.above_balance", amount_minor=amount_minor, owed_minor=owed)
    if current["state"] in (LegalState.REFERRED.value, LegalState.CLOSED.value):
        raise UserMistake("bo.err.recovery_state", legal=legal_id, state=current["state"])
    return legal.record_recovery(
        conn, legal_id, amount=amount_minor, value_date=on, actor=user.username
    )


def place_with_agency(
    conn: Connection, user: User, case_id: int, *, loan_id: str, agency_id: str, on: date
) -> int:
    """Place a loan of the case with a listed agency; the placement id."""
    authorize_object(conn, user, "legal.manage", "case", str(case_id))
    _loan_of_case(conn, case_id, loan_id)
    listed = {a["agency_id"] for a in agencies.list_agencies(conn) if a["listed"]}
    if agency_id not in listed:
        raise UserMistake("bo.err.agency_unlisted", agency=agency_id)
    placed = [p for p in placements(conn, [loan_id]) if p["state"] == "placed"]
    if placed:
        raise UserMistake(
            "bo.err.already_placed", loan=loan_id, placement=placed[0]["placement_id"]
        )
    return agencies.place(
        conn, agency_id=agency_id, loan_id=loan_id, actor=user.username, business_date=on
    )


def recall_from_agency(
    conn: Connection,
    user: User,
    case_id: int,
    placement_id: int,
    *,
    expected_version: int,
    on: date,
) -> dict[str, Any]:
    _placed_of_case(conn, user, case_id, placement_id)
    return agencies.recall(
        conn, placement_id, expected_version=expected_version, actor=user.username, business_date=on
    )


def record_agency_collection(
    conn: Connection,
    user: User,
    case_id: int,
    placement_id: int,
    *,
    amount_minor: int,
    reference: str,
    on: date,
) -> int:
    """Money the agency collected on a loan of the case, at most what the loan still
    owes: posted as a repayment, with the agency's commission as its cost."""
    current = _placed_of_case(conn, user, case_id, placement_id)
    if amount_minor <= 0:
        raise UserMistake("bo.err.amount_positive")
    owed = load_loan(conn, current["loan_id"], on).exposure
    if amount_minor > owed:
        raise UserMistake("bo.err.above_balance", amount_minor=amount_minor, owed_minor=owed)
    return agencies.record_collection(
        conn,
        placement_id,
        amount=amount_minor,
        value_date=on,
        actor=user.username,
        reference=reference.strip() or None,
    )


def _placed_of_case(
    conn: Connection, user: User, case_id: int, placement_id: int
) -> dict[str, Any]:
    """The placement, still with its agency, of a loan of the case the person may manage."""
    authorize_object(conn, user, "legal.manage", "case", str(case_id))
    current = agencies.get_placement(conn, placement_id)
    if current["loan_id"] not in service.get_case(conn, case_id).loan_ids:
        raise UserMistake("bo.err.placement_not_in_case", placement=placement_id, case=case_id)
    if current["state"] != PlacementState.PLACED.value:
        raise UserMistake("bo.err.not_placed", placement=placement_id)
    return current


def next_legal_states(state: str) -> list[str]:
    """The states a legal case in ``state`` may move to, in lifecycle order."""
    order = list(LegalState)
    return [s.value for s in order if s in LEGAL_TRANSITIONS[LegalState(state)]]


def legal_cases(conn: Connection, loan_ids: list[str]) -> list[dict[str, Any]]:
    """The legal cases of these loans with their events (newest first) and next states."""
    rows = _legal_rows(conn, loan_ids)
    events = tc.LegalEvent.__table__
    for row in rows:
        row["events"] = [
            dict(e)
            for e in conn.execute(
                select(events)
                .where(events.c.legal_id == row["legal_id"])
                .order_by(events.c.event_id.desc())
            ).mappings()
        ]
        row["next_states"] = next_legal_states(row["state"])
    return rows


def _legal_rows(conn: Connection, loan_ids: list[str]) -> list[dict[str, Any]]:
    """The legal cases of these loans only (``legal.list_legal`` reads them all)."""
    table = legal.LEGAL
    query = select(table).where(table.c.loan_id.in_(loan_ids)).order_by(table.c.legal_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def placements(conn: Connection, loan_ids: list[str]) -> list[dict[str, Any]]:
    """The agency placements of these loans, newest first."""
    table = tc.AgencyPlacement.__table__
    return [
        dict(r)
        for r in conn.execute(
            select(table).where(table.c.loan_id.in_(loan_ids)).order_by(table.c.placement_id.desc())
        ).mappings()
    ]


def listed_agencies(conn: Connection) -> list[dict[str, Any]]:
    return [a for a in agencies.list_agencies(conn) if a["listed"]]
