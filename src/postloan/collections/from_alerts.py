"""Cases from early-warning alerts (:mod:`postloan.risk.alerts`).

An alert about a delinquent borrower is work for collections: an alert routed to
collectors (``owner_role`` collector — first missed payment, broken promise,
contact lost while delinquent), or a rule in :data:`BORROWER_RULES` (another loan
of the borrower is overdue). Each such alert puts its loan into the borrower's one
open case, opening it with ``source="alert"`` when there is none. The STRATEGY
commit calls this after the day's alerts are raised; re-running a date changes
nothing (``open_case`` only attaches loans not yet in the case).
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Connection, Table, or_, select

from postloan.collections import service as sv
from postloan.store import tables as t

#: Rules whose alerts are about a borrower in arrears on another loan.
BORROWER_RULES = frozenset({"other_loan_delinquent"})
SEVERITIES = frozenset({"medium", "high", "critical"})


def _alerts() -> Table:
    from postloan.store.tables_risk import Alert

    return cast(Table, Alert.__table__)


def cases_from_alerts(conn: Connection, business_date: date) -> list[int]:
    """Open or extend a case for each delinquent-borrower alert of the date; the case ids."""
    alerts = _alerts()
    loans = cast(Table, t.Loan.__table__)
    rows = conn.execute(
        select(alerts.c.loan_id, alerts.c.borrower_id, loans.c.borrower_id.label("owner"))
        .outerjoin(loans, loans.c.loan_id == alerts.c.loan_id)
        .where(
            alerts.c.business_date == business_date,
            alerts.c.severity.in_(SEVERITIES),
            or_(alerts.c.owner_role == "collector", alerts.c.rule_id.in_(BORROWER_RULES)),
        )
        .order_by(alerts.c.id)
    ).all()
    touched: list[int] = []
    for row in rows:
        borrower = row.borrower_id or row.owner
        if borrower is None:
            continue
        case_id = sv.open_case(
            conn,
            borrower_id=borrower,
            loan_ids=[row.loan_id],
            business_date=business_date,
            source="alert",
        )
        if case_id not in touched:
            touched.append(case_id)
    return touched
