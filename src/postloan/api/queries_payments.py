"""Real-time events posted through the API: payments and failed debits.

A posted event is stored as a transaction (the same ``transactions`` table the
feeds fill) and takes effect at once, in the caller's one database transaction:

1. the loan's state is recomputed with the per-loan reference
   (:func:`postloan.domain.loan_state.loan_state_as_of`) and upserted into
   ``loan_state_current`` (DPD, bucket, classification, overdue amounts);
2. a payment re-evaluates the open promises of the loan's case with the promise
   rules (a kept promise moves the case to ``contacted``, as the close does);
3. queued reminders whose reason vanished (paid, no longer overdue) are cancelled
   with the dispatcher's own rule (:func:`postloan.contact.cancellation.vanished`);
4. the event is appended to the audit log.

Idempotency: the ``Idempotency-Key`` (per caller) determines the transaction id,
so a retried POST finds the stored transaction and creates nothing new; the same
key with a different body is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from postloan.collections.daily import load_collections_settings
from postloan.collections.promises import evaluate, window
from postloan.collections.states import CaseState, PromiseState, can_move
from postloan.config import Settings
from postloan.contact import records
from postloan.contact.cancellation import vanished
from postloan.domain.errors import ConflictError, ValidationError
from postloan.domain.loan_state import LoanState, loan_state_as_of
from postloan.policy_config import load_policy
from postloan.security.scope import authorize_object
from postloan.security.users import User
from postloan.store import repository as repo
from postloan.store import tables as t
from postloan.store.tables_collections import CollectionCase, CollectionCaseLoan, CollectionPromise
from postloan.store.tables_contact import ContactOutbox

MAX_KEY = 200


@dataclass
class PostedEvent:
    """What one posted event did (the API response before serialisation)."""

    txn_id: str
    loan_id: str
    type: str
    amount: int
    value_date: date
    channel: str
    replayed: bool
    state: dict[str, Any] | None = None
    case_id: int | None = None
    promises: list[dict[str, Any]] = field(default_factory=list)
    reminders_cancelled: int = 0


def txn_id_for(actor: str, key: str) -> str:
    """The transaction id an idempotency key stands for (per caller, 64 chars max)."""
    if not key.strip() or len(key) > MAX_KEY or "\x00" in key:
        raise ValidationError(
            f"the Idempotency-Key header must be 1–{MAX_KEY} characters (e.g. a UUID)"
        )
    digest = hashlib.sha256(f"{actor}\x00{key}".encode()).hexdigest()
    return f"API-{digest[:40]}"


def post_event(
    conn: Connection,
    settings: Settings,
    user: User,
    *,
    key: str,
    loan_id: str,
    txn_type: str,
    amount: int,
    value_date: date,
    channel: str,
    today: date,
) -> PostedEvent:
    """Store a ``repayment`` or ``failed_debit`` and apply it in real time (see module)."""
    authorize_object(conn, user, "payment.post", "loan", loan_id)
    txn_id = txn_id_for(user.username, key)
    x = t.Transaction
    stored = conn.execute(
        select(x.loan_id, x.type, x.amount, x.value_date, x.channel).where(x.txn_id == txn_id)
    ).first()
    asked = (loan_id, txn_type, amount, value_date, channel)
    if stored is not None:
        if tuple(stored) != asked:
            raise ConflictError(
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new payment"
            )
        return PostedEvent(
            txn_id,
            loan_id,
            txn_type,
            amount,
            value_date,
            channel,
            replayed=True,
            state=_state_row(conn, loan_id),
        )
    if value_date > today:
        raise ValidationError(f"value date {value_date} is in the future (today is {today})")
    terms = repo.get_loan_terms(conn, loan_id)
    if value_date < terms.disbursement_date:
        raise ValidationError(
            f"value date {value_date} is before the loan's disbursement on "
            f"{terms.disbursement_date}"
        )
    try:
        with conn.begin_nested():
            conn.execute(
                insert(x).values(
                    txn_id=txn_id,
                    loan_id=loan_id,
                    type=txn_type,
                    amount=amount,
                    value_date=value_date,
                    channel=channel,
                    reverses=None,
                    import_run_id=None,
                )
            )
    except IntegrityError:
        raise ConflictError(
            "a request with this Idempotency-Key is being processed; retry in a moment"
        ) from None
    as_of = max(value_date, _state_date(conn, loan_id) or value_date)
    state = refresh_state(conn, settings, loan_id, as_of)
    event = PostedEvent(
        txn_id,
        loan_id,
        txn_type,
        amount,
        value_date,
        channel,
        replayed=False,
        state=_state_row(conn, loan_id),
    )
    event.case_id = _open_case_of_loan(conn, loan_id)
    if txn_type == "repayment" and event.case_id is not None:
        event.promises = evaluate_case_promises(conn, settings, event.case_id, as_of)
    if txn_type == "repayment":
        event.reminders_cancelled = cancel_vanished_reminders(conn, loan_id, user)
    from postloan.audit import record

    record(
        conn,
        actor=user.username,
        role=user.role,
        action="payment.post" if txn_type == "repayment" else "failed_debit.post",
        object_type="loan",
        object_id=loan_id,
        after={
            "txn_id": txn_id,
            "type": txn_type,
            "amount": amount,
            "value_date": value_date.isoformat(),
            "days_past_due": state.days_past_due,
            "promises": [p["promise_id"] for p in event.promises],
            "reminders_cancelled": event.reminders_cancelled,
        },
        business_date=as_of,
    )
    return event


def _state_date(conn: Connection, loan_id: str) -> date | None:
    s = t.LoanStateCurrent
    found: date | None = conn.execute(
        select(s.business_date).where(s.loan_id == loan_id)
    ).scalar_one_or_none()
    return found


def _state_row(conn: Connection, loan_id: str) -> dict[str, Any] | None:
    from postloan.api.queries_loans import current_state

    return current_state(conn, loan_id)


def refresh_state(conn: Connection, settings: Settings, loan_id: str, as_of: date) -> LoanState:
    """Recompute the loan with the reference implementation and upsert its current row."""
    state = loan_state_as_of(
        repo.get_loan_terms(conn, loan_id),
        repo.get_schedule(conn, loan_id),
        [x for x in repo.get_transactions(conn, loan_id) if x.value_date <= as_of],
        repo.get_marks(conn, loan_id),
        as_of,
        load_policy(settings),
        loan_id=loan_id,
    )
    values = {
        "business_date": as_of,
        "days_past_due": state.days_past_due,
        "overdue_since": state.overdue_since,
        "bucket": state.bucket,
        "classification": state.classification.value,
        "ifrs9_stage": state.ifrs9_stage,
        "principal_outstanding": state.principal_outstanding,
        "overdue_principal": state.overdue_principal,
        "overdue_interest": state.overdue_interest,
        "penalty_outstanding": state.penalty_outstanding,
        "updated_at": datetime.now(UTC),
    }
    s = t.LoanStateCurrent
    done = conn.execute(update(s).where(s.loan_id == loan_id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(s).values(loan_id=loan_id, **values))
    return state


def _open_case_of_loan(conn: Connection, loan_id: str) -> int | None:
    c, cl = CollectionCase, CollectionCaseLoan
    found = conn.execute(
        select(c.case_id)
        .join(cl, cl.case_id == c.case_id)
        .where(cl.loan_id == loan_id, c.closed_on.is_(None))
    ).first()
    return int(found[0]) if found is not None else None


def _paid(conn: Connection, case_id: int, start: date, end: date) -> int:
    x = t.Transaction
    loans = select(CollectionCaseLoan.loan_id).where(CollectionCaseLoan.case_id == case_id)
    reversed_ids = select(x.reverses).where(x.type == "reversal", x.reverses.is_not(None))
    total = conn.execute(
        select(func.coalesce(func.sum(x.amount), 0)).where(
            x.loan_id.in_(loans),
            x.type == "repayment",
            x.value_date >= start,
            x.value_date <= end,
            x.txn_id.not_in(reversed_ids),
        )
    ).scalar_one()
    return int(total)


def evaluate_case_promises(
    conn: Connection, settings: Settings, case_id: int, on: date
) -> list[dict[str, Any]]:
    """The close's promise rule for one case now: kept promises are marked kept and
    the case moves to ``contacted``; a promise stays open until it is kept or its
    window has passed (breaking is left to the close). The promises evaluated."""
    from postloan.collections import service as sv

    rules = load_collections_settings(settings).promises
    p = CollectionPromise
    out: list[dict[str, Any]] = []
    rows = conn.execute(
        select(p.promise_id, p.amount, p.created_on, p.promised_date, p.version).where(
            p.case_id == case_id, p.state == PromiseState.OPEN.value
        )
    ).all()
    for row in rows:
        start, end = window(row.created_on, row.promised_date, rules)
        paid = _paid(conn, case_id, start, min(end, on))
        result = evaluate(row.amount, row.created_on, row.promised_date, paid, on, rules)
        if result == PromiseState.BROKEN:
            result = PromiseState.OPEN  # the close breaks promises, with its messages
        done = conn.execute(
            update(p)
            .where(p.promise_id == row.promise_id, p.version == row.version)
            .values(state=result.value, paid=paid, evaluated_on=on, version=row.version + 1)
        )
        if done.rowcount != 1:
            raise ConflictError(f"promise {row.promise_id} changed meanwhile; post again")
        out.append({"promise_id": row.promise_id, "state": result.value, "paid": paid})
        if result == PromiseState.KEPT:
            case = sv.get_case(conn, case_id)
            if can_move(case.state, CaseState.CONTACTED):
                sv.transition(
                    conn,
                    case_id,
                    CaseState.CONTACTED,
                    expected_version=case.version,
                    actor="system",
                    role="system",
                    reason="promise kept (real-time payment)",
                    business_date=on,
                )
    return out


def cancel_vanished_reminders(conn: Connection, loan_id: str, user: User) -> int:
    """Cancel the loan's queued, unclaimed messages whose reason vanished (the
    dispatcher's rule); the dispatcher would cancel them at send time anyway."""
    o = ContactOutbox
    queued = conn.execute(
        select(o.id, o.template, o.business_date, o.variables).where(
            o.loan_id == loan_id, o.state == "queued", o.lease_owner.is_(None)
        )
    ).all()
    if not queued:
        return 0
    since = min(r.business_date for r in queued)
    now_loan = records.loans_now(conn, [loan_id], since).get(loan_id)
    cancelled = []
    for row in queued:
        why = vanished(row.template, row.business_date, json.loads(row.variables), now_loan)
        if why is None:
            continue
        done = conn.execute(
            update(o)
            .where(o.id == row.id, o.state == "queued", o.lease_owner.is_(None))
            .values(state="cancelled", reason=why, updated_at=datetime.now(UTC))
        )
        if done.rowcount == 1:
            cancelled.append((row.id, why))
    if cancelled:
        from postloan.audit import AuditEvent, record_many

        record_many(
            conn,
            [
                AuditEvent(
                    actor=user.username,
                    role=user.role,
                    action="contact.cancelled",
                    object_type="contact_message",
                    object_id=str(message_id),
                    reason=why,
                )
                for message_id, why in cancelled
            ],
        )
    return len(cancelled)
