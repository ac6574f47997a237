"""Shared set-up of the contact tests: borrowers, loans, loan states and queued messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, insert

from postloan.contact.outbox import enqueue
from postloan.store import Store
from postloan.store.tables import Borrower, Loan, LoanStateCurrent, Transaction

D = date(2026, 3, 2)
PHONE = "13812345678"


def add_borrower(
    store: Store,
    conn: Connection,
    borrower_id: str,
    *,
    name: str = "张三",
    language: str | None = "zh-CN",
    region: str | None = "310000",
    phone: str | None = PHONE,
    email: str | None = None,
) -> None:
    conn.execute(
        insert(Borrower).values(
            borrower_id=borrower_id,
            name=name,
            language=language,
            region=region,
            phone_enc=store.cipher.encrypt("phone", phone) if phone else None,
            email=email,
        )
    )


def add_loan(conn: Connection, loan_id: str, borrower_id: str, *, dpd: int, overdue: int) -> None:
    conn.execute(
        insert(Loan).values(
            loan_id=loan_id,
            borrower_id=borrower_id,
            product="cash",
            principal=1_000_000,
            annual_rate="0.12",
            term=12,
            frequency="monthly",
            day_count="30/360",
            method="annuity",
            disbursement_date=date(2025, 6, 1),
            currency="CNY",
            fee_per_period=0,
        )
    )
    conn.execute(
        insert(LoanStateCurrent).values(
            loan_id=loan_id,
            business_date=D,
            days_past_due=dpd,
            bucket="M1" if dpd else "C",
            classification="special" if dpd else "normal",
            ifrs9_stage=2 if dpd else 1,
            principal_outstanding=800_000,
            overdue_principal=overdue,
            overdue_interest=0,
            penalty_outstanding=0,
            updated_at=datetime(2026, 3, 2, 18, tzinfo=UTC),
        )
    )


def pay(conn: Connection, loan_id: str, amount: int, on: date) -> None:
    conn.execute(
        insert(Transaction).values(
            txn_id=f"T-{loan_id}-{on}",
            loan_id=loan_id,
            type="repayment",
            amount=amount,
            value_date=on,
        )
    )


def queue_overdue(
    conn: Connection, loan_id: str, borrower_id: str, *, channel: str = "sms", **extra: Any
) -> bool:
    return enqueue(
        conn,
        loan_id=loan_id,
        borrower_id=borrower_id,
        template="overdue",
        channel=channel,
        business_date=D,
        step="strategy",
        variables={"days_past_due": 5, "amount_overdue": 123456, **extra},
    )
