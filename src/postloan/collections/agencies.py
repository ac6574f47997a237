"""External collection agencies: the register, placements and recalls, collections.

Only listed agencies receive placements. An agency sees the minimum personal data:
the placement export has the placement and loan ids, the borrower's surname with
the given name hidden, a masked mobile number, the region, balance and days past
due — never the national id, the address or the full number.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select, update

from postloan.collections.concessions import _case_of_loan, _move_case, _role, require
from postloan.collections.recoveries import post_recovery
from postloan.collections.servicing import load_loan
from postloan.collections.states import CaseState, PlacementState, check_placement_transition
from postloan.domain.errors import ConflictError, NotFound, ValidationError
from postloan.security.pii import PiiCipher, mask_phone
from postloan.store import tables as t
from postloan.store import tables_collections as tc

AGENCIES = cast(Table, tc.CollectionAgency.__table__)
PLACEMENTS = cast(Table, tc.AgencyPlacement.__table__)
MANAGE = "legal.manage"
EXPORT_COLUMNS = (
    "placement_id",
    "loan_id",
    "borrower_name",
    "phone",
    "region",
    "placed_balance",
    "days_past_due",
    "placed_on",
)


def _audit(conn: Connection, **fields: Any) -> None:
    from postloan.audit import record

    record(conn, **fields)


def parse_rate(text: str | Decimal) -> Decimal:
    try:
        rate = Decimal(str(text))
    except InvalidOperation:
        raise ValidationError(
            f"a commission rate is a decimal such as 0.15, not {text!r}"
        ) from None
    if not Decimal(0) <= rate < Decimal(1):
        raise ValidationError(f"a commission rate is in [0, 1), not {rate}")
    return rate


def commission(amount: int, rate: Decimal) -> int:
    """The agency's commission on ``amount`` minor units, rounded half-up to a minor unit."""
    return int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def register_agency(
    conn: Connection,
    *,
    agency_id: str,
    name: str,
    commission_rate: str | Decimal,
    actor: str,
    listed_on: date,
) -> None:
    require(conn, actor, MANAGE)
    rate = parse_rate(commission_rate)
    if conn.execute(select(AGENCIES).where(AGENCIES.c.agency_id == agency_id)).first():
        raise ConflictError(f"agency {agency_id} is already registered")
    conn.execute(
        insert(AGENCIES).values(
            agency_id=agency_id,
            name=name,
            commission_rate=str(rate),
            listed=1,
            listed_on=listed_on,
            delisted_on=None,
        )
    )
    _audit(
        conn,
        actor=actor,
        role=_role(conn, actor),
        action="agency.register",
        object_type="agency",
        object_id=agency_id,
        after={"name": name, "commission_rate": str(rate)},
        business_date=listed_on,
    )


def delist_agency(conn: Connection, agency_id: str, *, actor: str, on: date) -> None:
    require(conn, actor, MANAGE)
    done = conn.execute(
        update(AGENCIES)
        .where(AGENCIES.c.agency_id == agency_id, AGENCIES.c.listed == 1)
        .values(listed=0, delisted_on=on)
    )
    if done.rowcount != 1:
        raise NotFound(f"no listed agency {agency_id}")
    _audit(
        conn,
        actor=actor,
        role=_role(conn, actor),
        action="agency.delist",
        object_type="agency",
        object_id=agency_id,
        business_date=on,
    )


def list_agencies(conn: Connection) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
        for r in conn.execute(select(AGENCIES).order_by(AGENCIES.c.agency_id)).mappings()
    ]


def place(
    conn: Connection, *, agency_id: str, loan_id: str, actor: str, business_date: date
) -> int:
    """Place a loan with a listed agency at its exposure now; the case moves to agency."""
    require(conn, actor, MANAGE)
    agency = conn.execute(select(AGENCIES).where(AGENCIES.c.agency_id == agency_id)).first()
    if agency is None or not agency.listed:
        raise ValidationError(
            f"agency {agency_id} is not on the register; only listed agencies get placements "
            "(`postloan agencies list`)"
        )
    placed = conn.execute(
        select(PLACEMENTS.c.placement_id).where(
            PLACEMENTS.c.loan_id == loan_id, PLACEMENTS.c.state == PlacementState.PLACED.value
        )
    ).scalar_one_or_none()
    if placed is not None:
        raise ConflictError(f"loan {loan_id} is already placed (placement {placed})")
    view = load_loan(conn, loan_id, business_date)
    case_id = _case_of_loan(conn, loan_id)
    placement_id = int(
        conn.execute(
            insert(PLACEMENTS)
            .values(
                agency_id=agency_id,
                case_id=case_id,
                loan_id=loan_id,
                state=PlacementState.PLACED.value,
                placed_on=business_date,
                recalled_on=None,
                placed_balance=view.exposure,
                commission_rate=agency.commission_rate,
                collected=0,
                commission=0,
                placed_by=actor,
                version=1,
            )
            .returning(PLACEMENTS.c.placement_id)
        ).scalar_one()
    )
    if case_id is not None:
        _move_case(conn, case_id, CaseState.AGENCY, actor, business_date, f"placed: {agency_id}")
    _audit(
        conn,
        actor=actor,
        role=_role(conn, actor),
        action="agency.place",
        object_type="agency_placement",
        object_id=str(placement_id),
        after={"agency": agency_id, "loan_id": loan_id, "placed_balance": view.exposure},
        business_date=business_date,
    )
    return placement_id


def get_placement(conn: Connection, placement_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(PLACEMENTS).where(PLACEMENTS.c.placement_id == placement_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no agency placement {placement_id}")
    return dict(row)


def recall(
    conn: Connection, placement_id: int, *, expected_version: int, actor: str, business_date: date
) -> dict[str, Any]:
    require(conn, actor, MANAGE)
    current = get_placement(conn, placement_id)
    check_placement_transition(current["state"], PlacementState.RECALLED)
    done = conn.execute(
        update(PLACEMENTS)
        .where(
            PLACEMENTS.c.placement_id == placement_id,
            PLACEMENTS.c.version == expected_version,
        )
        .values(
            state=PlacementState.RECALLED.value,
            recalled_on=business_date,
            version=expected_version + 1,
        )
    )
    if done.rowcount != 1:
        raise ConflictError(f"placement {placement_id} was changed by someone else; reload it")
    _audit(
        conn,
        actor=actor,
        role=_role(conn, actor),
        action="agency.recall",
        object_type="agency_placement",
        object_id=str(placement_id),
        before={"state": current["state"]},
        after={"state": PlacementState.RECALLED.value, "collected": current["collected"]},
        business_date=business_date,
    )
    return get_placement(conn, placement_id)


def record_collection(
    conn: Connection,
    placement_id: int,
    *,
    amount: int,
    value_date: date,
    actor: str,
    reference: str | None = None,
) -> int:
    """Money the agency collected: posted as a repayment, commission at the placement's rate."""
    require(conn, actor, MANAGE)
    p = get_placement(conn, placement_id)
    if p["state"] != PlacementState.PLACED.value:
        raise ValidationError(f"placement {placement_id} was recalled on {p['recalled_on']}")
    fee = commission(amount, Decimal(p["commission_rate"]))
    recovery_id = post_recovery(
        conn,
        loan_id=p["loan_id"],
        amount=amount,
        value_date=value_date,
        source="agency",
        source_id=placement_id,
        actor=actor,
        case_id=p["case_id"],
        cost=fee,
        reference=reference or f"{placement_id}-{value_date.isoformat()}-{amount}",
    )
    totals = conn.execute(
        select(
            func.coalesce(func.sum(tc.CollectionRecovery.__table__.c.amount), 0),
            func.coalesce(func.sum(tc.CollectionRecovery.__table__.c.cost), 0),
        ).where(
            tc.CollectionRecovery.__table__.c.source == "agency",
            tc.CollectionRecovery.__table__.c.source_id == placement_id,
        )
    ).one()
    conn.execute(
        update(PLACEMENTS)
        .where(PLACEMENTS.c.placement_id == placement_id)
        .values(collected=int(totals[0]), commission=int(totals[1]))
    )
    return recovery_id


def _mask_name(name: str | None) -> str:
    text = (name or "").strip()
    if not text:
        return ""
    if " " in text:  # Western name: initial of the given name, surname hidden
        return text.split()[0][:1] + ". ***"
    return text[:1] + "*" * max(len(text) - 1, 1)


def placement_export(
    conn: Connection, cipher: PiiCipher, agency_id: str, on: date, *, actor: str
) -> tuple[str, int]:
    """CSV text of the agency's open placements with minimal, masked fields; and the count.
    The export is audited (who sent how many placements to which agency)."""
    require(conn, actor, MANAGE)
    b = t.Borrower.__table__
    loans = t.Loan.__table__
    rows = conn.execute(
        select(
            PLACEMENTS.c.placement_id,
            PLACEMENTS.c.loan_id,
            PLACEMENTS.c.placed_balance,
            PLACEMENTS.c.placed_on,
            b.c.name,
            b.c.phone_enc,
            b.c.region,
        )
        .join(loans, loans.c.loan_id == PLACEMENTS.c.loan_id)
        .outerjoin(b, b.c.borrower_id == loans.c.borrower_id)
        .where(
            PLACEMENTS.c.agency_id == agency_id,
            PLACEMENTS.c.state == PlacementState.PLACED.value,
        )
        .order_by(PLACEMENTS.c.placement_id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        phone = mask_phone(cipher.decrypt("phone", r.phone_enc)) if r.phone_enc else ""
        dpd = load_loan(conn, r.loan_id, on).state.days_past_due
        writer.writerow(
            [
                r.placement_id,
                r.loan_id,
                _mask_name(r.name),
                phone,
                r.region or "",
                f"{Decimal(r.placed_balance) / 100:.2f}",
                dpd,
                r.placed_on.isoformat(),
            ]
        )
    _audit(
        conn,
        actor=actor,
        role=_role(conn, actor),
        action="agency.export",
        object_type="agency",
        object_id=agency_id,
        after={"placements": len(rows), "columns": list(EXPORT_COLUMNS)},
        business_date=on,
    )
    return out.getvalue(), len(rows)
