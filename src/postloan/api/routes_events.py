"""Real-time events: payments and failed debits (with ``Idempotency-Key``) and
contact results from a dialler or an agency system.

A payment takes effect at once: the loan's DPD and state, its case's promises
and pending reminders are updated in the same database transaction (see
:mod:`postloan.api.queries_payments`). A retried POST with the same key and body
returns the stored transaction (``200``, ``Idempotent-Replayed: true``) and
creates nothing; the same key with another body is ``409``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, Field

from postloan.api.deps import Ctx, require
from postloan.api.queries_payments import PostedEvent, post_event
from postloan.api.routes_loans import LoanStateOut
from postloan.api.schemas import MAX_INT32, Text
from postloan.security.users import User

router = APIRouter(prefix="/api/v1", tags=["events"])
Poster = Annotated[User, Depends(require("payment.post"))]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]+$",
        description="a unique key per payment (e.g. a UUID); a retry sends the same key",
    ),
]
MAX_AMOUNT = 10**15


class PaymentIn(BaseModel):
    loan_id: Text = Field(min_length=1, max_length=64)
    amount_minor: int = Field(gt=0, le=MAX_AMOUNT, description="minor units (fen)")
    value_date: date | None = Field(default=None, description="default: today")
    channel: Text = Field(default="api", min_length=1, max_length=32)


class PromiseEffect(BaseModel):
    promise_id: int
    state: str
    paid: int


class PaymentOut(BaseModel):
    txn_id: str
    loan_id: str
    type: str
    amount_minor: int
    value_date: date
    channel: str
    replayed: bool
    state: LoanStateOut | None
    case_id: int | None
    promises: list[PromiseEffect]
    reminders_cancelled: int


def _out(event: PostedEvent) -> PaymentOut:
    state = LoanStateOut(loan_id=event.loan_id, **event.state) if event.state else None
    return PaymentOut(
        txn_id=event.txn_id,
        loan_id=event.loan_id,
        type=event.type,
        amount_minor=event.amount,
        value_date=event.value_date,
        channel=event.channel,
        replayed=event.replayed,
        state=state,
        case_id=event.case_id,
        promises=[PromiseEffect(**p) for p in event.promises],
        reminders_cancelled=event.reminders_cancelled,
    )


def _post(
    ctx: Ctx,
    user: User,
    key: str,
    body: PaymentIn,
    txn_type: Literal["repayment", "failed_debit"],
    response: Response,
) -> PaymentOut:
    today = ctx.clock().date()
    with ctx.store.begin() as conn:
        event = post_event(
            conn,
            ctx.store.settings,
            user,
            key=key,
            loan_id=body.loan_id,
            txn_type=txn_type,
            amount=body.amount_minor,
            value_date=body.value_date or today,
            channel=body.channel,
            today=today,
        )
    if event.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return _out(event)


@router.post(
    "/payments",
    response_model=PaymentOut,
    status_code=201,
    responses={200: {"model": PaymentOut, "description": "a replay of an earlier request"}},
)
def post_payment(
    body: PaymentIn, key: IdempotencyKey, ctx: Ctx, user: Poster, response: Response
) -> PaymentOut:
    """Post a repayment received now; updates DPD, promises and reminders at once."""
    return _post(ctx, user, key, body, "repayment", response)


@router.post(
    "/failed-debits",
    response_model=PaymentOut,
    status_code=201,
    responses={200: {"model": PaymentOut, "description": "a replay of an earlier request"}},
)
def post_failed_debit(
    body: PaymentIn, key: IdempotencyKey, ctx: Ctx, user: Poster, response: Response
) -> PaymentOut:
    """Post a failed direct debit (counts towards the loan's failed debits)."""
    return _post(ctx, user, key, body, "failed_debit", response)


class ContactResultIn(BaseModel):
    case_id: int = Field(ge=1, le=MAX_INT32)
    outcome: Text = Field(min_length=1, max_length=32)
    expected_version: int = Field(ge=1, le=MAX_INT32)
    channel: Text = Field(default="phone", min_length=1, max_length=32)
    note: Text | None = Field(default=None, max_length=2000)
    task_id: int | None = Field(default=None, ge=1, le=MAX_INT32)


class ContactLogged(BaseModel):
    contact_id: int
    case_id: int
    version: int
    state: str


@router.post("/contact-results", response_model=ContactLogged, status_code=201)
def post_contact_result(
    body: ContactResultIn, ctx: Ctx, user: Annotated[User, Depends(require("contact.log"))]
) -> ContactLogged:
    """A contact result (from a dialler or the case page): ``expected_version`` is the
    case version the caller saw; a stale one is ``409``."""
    from postloan.api.queries_cases import log_contact

    with ctx.store.begin() as conn:
        return ContactLogged(
            **log_contact(
                conn,
                user,
                body.case_id,
                outcome=body.outcome,
                expected_version=body.expected_version,
                channel=body.channel,
                note=body.note,
                task_id=body.task_id,
                today=ctx.clock().date(),
            )
        )
