"""Legal cases: referral → filing → hearing → judgment → enforcement → recovery → closure.

The states and their edges are :class:`~postloan.collections.states.LegalState`;
each move is optimistic-locked (``expected_version``), records its date and cost
(court fees, lawyer; minor units) as a ``legal_events`` row, and is audited.
Recoveries are posted as transactions (:mod:`postloan.collections.recoveries`).
The litigation recovery rate (DESIGN.md) is
``(legal recoveries − legal cost) ÷ exposure at referral``.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select, update

from postloan.collections import service as sv
from postloan.collections.concessions import _case_of_loan, _move_case, _role, require
from postloan.collections.recoveries import post_recovery
from postloan.collections.servicing import load_loan
from postloan.collections.states import (
    LEGAL_DATE_COLUMN,
    CaseState,
    LegalState,
    check_legal_transition,
)
from postloan.domain.errors import ConflictError, NotFound, ValidationError
from postloan.store import tables_collections as tc

LEGAL = cast(Table, tc.LegalCase.__table__)
#: Litigation and agencies are managed by the legal officers (DESIGN.md roles).
MANAGE = "legal.manage"
EVENTS = cast(Table, tc.LegalEvent.__table__)


def _audit(conn: Connection, **fields: Any) -> None:
    from postloan.audit import record

    record(conn, **fields)


def _cost(cost: int) -> int:
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
        raise ValidationError(f"a legal cost is a whole number of minor units ≥ 0, not {cost!r}")
    return cost


def refer(
    conn: Connection,
    *,
    loan_id: str,
    actor: str,
    business_date: date,
    court: str | None = None,
    lawyer: str | None = None,
    firm: str | None = None,
    cost: int = 0,
) -> int:
    """Refer a loan to litigation; its exposure now is the base of the recovery rate."""
    require(conn, actor, MANAGE)
    _cost(cost)
    active = conn.execute(
        select(LEGAL.c.legal_id).where(
            LEGAL.c.loan_id == loan_id, LEGAL.c.state != LegalState.CLOSED.value
        )
    ).scalar_one_or_none()
    if active is not None:
        raise ConflictError(f"loan {loan_id} is already in legal case {active}")
    view = load_loan(conn, loan_id, business_date)
    case_id = _case_of_loan(conn, loan_id)
    legal_id = int(
        conn.execute(
            insert(LEGAL)
            .values(
                case_id=case_id,
                loan_id=loan_id,
                state=LegalState.REFERRED.value,
                court=court,
                lawyer=lawyer,
                firm=firm,
                exposure_at_referral=view.exposure,
                cost=cost,
                recovered=0,
                referred_on=business_date,
                version=1,
                updated_by=actor,
                updated_at=sv.utc_now(),
            )
            .returning(LEGAL.c.legal_id)
        ).scalar_one()
    )
    conn.execute(
        insert(EVENTS).values(
            legal_id=legal_id,
            from_state=None,
            to_state=LegalState.REFERRED.value,
            business_date=business_date,
            cost=cost,
            actor=actor,
            note=None,
        )
    )
    if case_id is not None:
        _move_case(conn, case_id, CaseState.LEGAL, actor, business_date, "legal referral")
        conn.execute(update(sv.CASES).where(sv.CASES.c.case_id == case_id).values(in_legal=1))
    _audit(
        conn,
        actor=actor,
        role=_role(conn, actor),
        action="legal.refer",
        object_type="legal_case",
        object_id=str(legal_id),
        after={"loan_id": loan_id, "exposure": view.exposure, "cost": cost},
        business_date=business_date,
    )
    return legal_id


def get_legal(conn: Connection, legal_id: int) -> dict[str, Any]:
    row = conn.execute(select(LEGAL).where(LEGAL.c.legal_id == legal_id)).mappings().first()
    if row is None:
        raise NotFound(f"no legal case {legal_id}; list them with `postloan legal list`")
    return dict(row)


def list_legal(conn: Connection, *, state: str | None = None) -> list[dict[str, Any]]:
    query = select(LEGAL).order_by(LEGAL.c.legal_id)
    if state:
        query = query.where(LEGAL.c.state == LegalState(state).value)
    return [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
        for r in conn.execute(query).mappings()
    ]


def advance(
    conn: Connection,
    legal_id: int,
    to_state: LegalState | str,
    *,
    expected_version: int,
    actor: str,
    business_date: date,
    cost: int = 0,
    court: str | None = None,
    lawyer: str | None = None,
    firm: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Move a legal case along an allowed edge (``IllegalTransition`` otherwise)."""
    require(conn, actor, MANAGE)
    _cost(cost)
    current = get_legal(conn, legal_id)
    target = check_legal_transition(current["state"], to_state)
    values: dict[str, Any] = {
        "state": target.value,
        "cost": current["cost"] + cost,
        "version": expected_version + 1,
        "updated_by": actor,
        "updated_at": sv.utc_now(),
    }
    if target in LEGAL_DATE_COLUMN:
        values[LEGAL_DATE_COLUMN[target]] = business_date
    for key, value in (("court", court), ("lawyer", lawyer), ("firm", firm)):
        if value is not None:
            values[key] = value
    done = conn.execute(
        update(LEGAL)
        .where(LEGAL.c.legal_id == legal_id, LEGAL.c.version == expected_version)
        .values(**values)
    )
    if done.rowcount != 1:
        raise ConflictError(
            f"legal case {legal_id} was changed by someone else (version {current['version']}, "
            f"you had {expected_version}); reload it and retry"
        )
    conn.execute(
        insert(EVENTS).values(
            legal_id=legal_id,
            from_state=current["state"],
            to_state=target.value,
            business_date=business_date,
            cost=cost,
            actor=actor,
            note=note,
        )
    )
    _audit(
        conn,
        actor=actor,
        role=_role(conn, actor),
        action="legal.transition",
        object_type="legal_case",
        object_id=str(legal_id),
        before={"state": current["state"], "version": expected_version},
        after={"state": target.value, "version": expected_version + 1, "cost": cost},
        business_date=business_date,
    )
    return get_legal(conn, legal_id)


def record_recovery(
    conn: Connection,
    legal_id: int,
    *,
    amount: int,
    value_date: date,
    actor: str,
    reference: str | None = None,
) -> int:
    """Post money recovered through the court (judgment, enforcement, settlement)."""
    require(conn, actor, MANAGE)
    case = get_legal(conn, legal_id)
    if case["state"] in (LegalState.REFERRED.value, LegalState.CLOSED.value):
        raise ValidationError(
            f"legal case {legal_id} is {case['state']}: recoveries come after filing and "
            "before closure"
        )
    before = conn.execute(
        select(func.count()).select_from(EVENTS).where(EVENTS.c.legal_id == legal_id)
    ).scalar_one()
    recovery_id = post_recovery(
        conn,
        loan_id=case["loan_id"],
        amount=amount,
        value_date=value_date,
        source="legal",
        source_id=legal_id,
        actor=actor,
        case_id=case["case_id"],
        reference=reference or f"{legal_id}-{before}-{value_date.isoformat()}-{amount}",
    )
    total = conn.execute(
        select(func.coalesce(func.sum(tc.CollectionRecovery.__table__.c.amount), 0)).where(
            tc.CollectionRecovery.__table__.c.source == "legal",
            tc.CollectionRecovery.__table__.c.source_id == legal_id,
        )
    ).scalar_one()
    conn.execute(update(LEGAL).where(LEGAL.c.legal_id == legal_id).values(recovered=int(total)))
    return recovery_id


def recovery_rate(recovered: int, cost: int, exposure: int) -> str | None:
    """(recovered − cost) ÷ exposure at referral, 6 places, half-up; None without exposure."""
    if exposure <= 0:
        return None
    rate = Decimal(recovered - cost) / Decimal(exposure)
    return str(rate.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))
