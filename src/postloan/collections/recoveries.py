"""Recoveries: money brought in by litigation, an agency or the collectors.

Each recovery is posted to the servicing core as a ``repayment`` transaction
(channel ``litigation``, ``agency`` or ``collections``), so the loan's balance and
arrears move as with any payment, and recorded in ``collection_recoveries``. A
recovery on a charged-off loan is flagged ``after_write_off`` — the core counts it
in ``LoanState.recovered`` — so recoveries after write-off are reported apart.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Connection, Table, insert, select

from postloan.collections.servicing import load_loan, post_transaction
from postloan.domain.errors import ValidationError
from postloan.domain.transactions import TxnType
from postloan.store import tables_collections as tc

RECOVERIES = cast(Table, tc.CollectionRecovery.__table__)
SOURCES = {"legal": "litigation", "agency": "agency", "internal": "collections"}


def post_recovery(
    conn: Connection,
    *,
    loan_id: str,
    amount: int,
    value_date: date,
    source: str,
    source_id: int | None,
    actor: str,
    case_id: int | None = None,
    cost: int = 0,
    reference: str | None = None,
) -> int:
    """Post a recovered ``amount`` (minor units); returns the recovery id.

    ``reference`` makes it idempotent: the same reference posts once (a re-run
    returns the first recovery's id).
    """
    if source not in SOURCES:
        raise ValidationError(f"unknown recovery source {source!r}; use {', '.join(SOURCES)}")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"a recovery is a whole number of minor units > 0, not {amount!r}")
    txn_id = f"pl-rec-{source}-{reference}" if reference else None
    if txn_id is not None:
        found = conn.execute(
            select(RECOVERIES.c.recovery_id).where(RECOVERIES.c.txn_id == txn_id)
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
    view = load_loan(conn, loan_id, value_date)
    if txn_id is None:
        count = conn.execute(
            select(RECOVERIES.c.recovery_id).where(RECOVERIES.c.loan_id == loan_id)
        ).all()
        txn_id = f"pl-rec-{source}-{loan_id}-{len(count) + 1}"
    post_transaction(
        conn,
        txn_id=txn_id,
        loan_id=loan_id,
        kind=TxnType.REPAYMENT,
        amount=amount,
        value_date=value_date,
        channel=SOURCES[source],
    )
    recovery_id = conn.execute(
        insert(RECOVERIES)
        .values(
            txn_id=txn_id,
            loan_id=loan_id,
            case_id=case_id,
            source=source,
            source_id=source_id,
            amount=amount,
            cost=cost,
            value_date=value_date,
            after_write_off=int(view.charged_off),
            posted_by=actor,
        )
        .returning(RECOVERIES.c.recovery_id)
    ).scalar_one()
    from postloan.audit import record

    record(
        conn,
        actor=actor,
        role="system" if actor == "system" else _role(conn, actor),
        action="recovery.post",
        object_type="loan",
        object_id=loan_id,
        after={
            "recovery_id": int(recovery_id),
            "source": source,
            "amount": amount,
            "txn_id": txn_id,
            "after_write_off": view.charged_off,
        },
        business_date=value_date,
    )
    return int(recovery_id)


def _role(conn: Connection, user: str) -> str:
    from postloan.security.users import get_user

    return get_user(conn, user).role
