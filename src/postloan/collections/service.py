"""Case services: the Python API the CLI, the COB step and the REST API call.

Every change to a case is optimistic-locked: the caller passes the
``expected_version`` it read, the UPDATE only matches that version and bumps
it, and a stale version raises ``ConflictError`` (the caller re-reads and
retries) — never a silent overwrite. Each transition is appended to the audit
log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.exc import OperationalError

from postloan.collections.states import (
    OPEN_STATES,
    REACHED,
    CaseState,
    ContactOutcome,
    PromiseState,
    TaskState,
    can_move,
    check_case_transition,
    check_task_transition,
)
from postloan.domain.errors import ConflictError, NotFound, ValidationError
from postloan.store import tables_collections as tc

CASES = cast(Table, tc.CollectionCase.__table__)
CASE_LOANS = cast(Table, tc.CollectionCaseLoan.__table__)
TASKS = cast(Table, tc.CollectionTask.__table__)
CONTACTS = cast(Table, tc.CollectionContact.__table__)
PROMISES = cast(Table, tc.CollectionPromise.__table__)
ACTIONS = cast(Table, tc.CollectionAction.__table__)
MAX_PROMISE_DAYS = 60


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Case:
    case_id: int
    borrower_id: str
    state: CaseState
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
    loan_ids: tuple[str, ...]

    def public(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "borrower_id": self.borrower_id,
            "state": str(self.state),
            "version": self.version,
            "opened_on": self.opened_on.isoformat(),
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "source": self.source,
            "bucket": self.bucket,
            "region": self.region,
            "queue": self.queue,
            "assigned_to": self.assigned_to,
            "strategy_version": self.strategy_version,
            "group": self.group,
            "loan_ids": list(self.loan_ids),
        }


def _audit(conn: Connection, **fields: Any) -> None:
    from postloan.audit import record

    record(conn, **fields)


def get_case(conn: Connection, case_id: int) -> Case:
    row = conn.execute(select(CASES).where(CASES.c.case_id == case_id)).mappings().first()
    if row is None:
        raise NotFound(f"no collection case {case_id}; list them with `postloan cases list`")
    loans = conn.execute(
        select(CASE_LOANS.c.loan_id)
        .where(CASE_LOANS.c.case_id == case_id)
        .order_by(CASE_LOANS.c.loan_id)
    ).scalars()
    return Case(
        case_id=row["case_id"],
        borrower_id=row["borrower_id"],
        state=CaseState(row["state"]),
        version=row["version"],
        opened_on=row["opened_on"],
        closed_on=row["closed_on"],
        source=row["source"],
        bucket=row["bucket"],
        region=row["region"],
        queue=row["queue"],
        assigned_to=row["assigned_to"],
        strategy_version=row["strategy_version"],
        group=row["group"],
        loan_ids=tuple(loans),
    )


def open_case_of(conn: Connection, borrower_id: str) -> int | None:
    found = conn.execute(
        select(CASES.c.case_id).where(CASES.c.open_key == borrower_id)
    ).scalar_one_or_none()
    return found


def _bump(conn: Connection, case_id: int, expected_version: int, values: Mapping[str, Any]) -> int:
    """Apply ``values`` when the case is still at ``expected_version``; the new version."""
    try:
        result = conn.execute(
            update(CASES)
            .where(CASES.c.case_id == case_id, CASES.c.version == expected_version)
            .values(**values, version=CASES.c.version + 1, updated_at=utc_now())
        )
    except OperationalError as err:  # SQLite: another writer committed after we read
        if conn.dialect.name != "sqlite" or "locked" not in str(err):
            raise
        raise ConflictError(
            f"case {case_id} is being changed by someone else; reload it and retry"
        ) from None
    if result.rowcount != 1:
        current = conn.execute(
            select(CASES.c.version).where(CASES.c.case_id == case_id)
        ).scalar_one_or_none()
        if current is None:
            raise NotFound(f"no collection case {case_id}")
        raise ConflictError(
            f"case {case_id} was changed by someone else (version {current}, you had "
            f"{expected_version}); reload it with `postloan cases show {case_id}` and retry"
        )
    return expected_version + 1


def open_case(
    conn: Connection,
    *,
    borrower_id: str,
    loan_ids: Sequence[str],
    business_date: date,
    actor: str = "system",
    role: str = "system",
    source: str = "delinquency",
    bucket: str | None = None,
    region: str | None = None,
    strategy_version: str | None = None,
    group: str | None = None,
) -> int:
    """The borrower's one open case (created if there is none) with ``loan_ids`` attached."""
    case_id = open_case_of(conn, borrower_id)
    if case_id is None:
        case_id = int(
            conn.execute(
                insert(CASES)
                .values(
                    borrower_id=borrower_id,
                    open_key=borrower_id,
                    state=CaseState.OPEN.value,
                    opened_on=business_date,
                    source=source,
                    bucket=bucket,
                    region=region,
                    strategy_version=strategy_version,
                    group=group,
                    restructured=0,
                    in_legal=0,
                    version=1,
                    updated_by=actor,
                    updated_at=utc_now(),
                )
                .returning(CASES.c.case_id)
            ).scalar_one()
        )
        _audit(
            conn,
            actor=actor,
            role=role,
            action="case.open",
            object_type="collection_case",
            object_id=str(case_id),
            after={"state": CaseState.OPEN.value, "source": source, "loans": list(loan_ids)},
            business_date=business_date,
        )
    attach_loans(conn, case_id, loan_ids, business_date)
    return case_id


def attach_loans(conn: Connection, case_id: int, loan_ids: Sequence[str], on: date) -> None:
    have = set(
        conn.execute(select(CASE_LOANS.c.loan_id).where(CASE_LOANS.c.case_id == case_id)).scalars()
    )
    rows = [
        {"case_id": case_id, "loan_id": loan_id, "added_on": on}
        for loan_id in dict.fromkeys(loan_ids)
        if loan_id not in have
    ]
    if rows:
        conn.execute(insert(CASE_LOANS), rows)


def transition(
    conn: Connection,
    case_id: int,
    to_state: CaseState | str,
    *,
    expected_version: int,
    actor: str,
    role: str = "collector",
    reason: str | None = None,
    business_date: date | None = None,
) -> Case:
    """Move the case along an allowed edge (``IllegalTransition`` otherwise)."""
    case = get_case(conn, case_id)
    target = check_case_transition(case.state, to_state)
    values: dict[str, Any] = {"state": target.value, "updated_by": actor}
    if target in OPEN_STATES:
        if case.state not in OPEN_STATES and open_case_of(conn, case.borrower_id) is not None:
            raise ConflictError(
                f"borrower of case {case_id} already has another open case; work on that one"
            )
        values.update(open_key=case.borrower_id, closed_on=None)
    else:
        values.update(open_key=None, closed_on=business_date or utc_now().date())
    _bump(conn, case_id, expected_version, values)
    _audit(
        conn,
        actor=actor,
        role=role,
        action="case.transition",
        object_type="collection_case",
        object_id=str(case_id),
        before={"state": case.state.value, "version": expected_version},
        after={"state": target.value, "version": expected_version + 1},
        reason=reason,
        business_date=business_date,
    )
    return get_case(conn, case_id)


def log_contact(
    conn: Connection,
    case_id: int,
    outcome: ContactOutcome | str,
    *,
    collector: str,
    expected_version: int,
    business_date: date,
    channel: str = "phone",
    note: str | None = None,
    task_id: int | None = None,
    role: str = "collector",
) -> int:
    """Record a contact attempt; a reached borrower moves an open case to ``contacted``."""
    try:
        result = ContactOutcome(outcome)
    except ValueError:
        known = ", ".join(ContactOutcome)
        raise ValidationError(f"unknown contact outcome {outcome!r}; use one of {known}") from None
    case = get_case(conn, case_id)
    moves = (
        result in REACHED
        and case.state != CaseState.CONTACTED
        and can_move(case.state, CaseState.CONTACTED)
        and result != ContactOutcome.PROMISE
    )
    if moves:
        transition(
            conn,
            case_id,
            CaseState.CONTACTED,
            expected_version=expected_version,
            actor=collector,
            role=role,
            reason=f"contact: {result}",
            business_date=business_date,
        )
    else:
        _bump(conn, case_id, expected_version, {"updated_by": collector})
    contact_id = conn.execute(
        insert(CONTACTS)
        .values(
            case_id=case_id,
            task_id=task_id,
            collector=collector,
            channel=channel,
            outcome=result.value,
            note=note,
            business_date=business_date,
            contacted_at=utc_now(),
            strategy_version=case.strategy_version,
            group=case.group,
        )
        .returning(CONTACTS.c.contact_id)
    ).scalar_one()
    if task_id is not None:
        complete_task(conn, task_id, actor=collector)
    return int(contact_id)


def record_promise(
    conn: Connection,
    case_id: int,
    *,
    amount: int,
    promised_date: date,
    collector: str,
    expected_version: int,
    business_date: date,
    currency: str = "CNY",
    role: str = "collector",
) -> int:
    """A promise to pay ``amount`` (minor units) by ``promised_date``; the case moves to
    ``promise_to_pay`` and an earlier open promise of the case is cancelled."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"a promised amount is a whole number of minor units > 0: {amount!r}")
    if promised_date < business_date:
        raise ValidationError(f"the promised date {promised_date} is before today {business_date}")
    if promised_date > business_date + timedelta(days=MAX_PROMISE_DAYS):
        raise ValidationError(
            f"a promise is at most {MAX_PROMISE_DAYS} days ahead; offer a restructuring instead"
        )
    case = get_case(conn, case_id)
    if case.state != CaseState.PROMISE_TO_PAY:
        transition(
            conn,
            case_id,
            CaseState.PROMISE_TO_PAY,
            expected_version=expected_version,
            actor=collector,
            role=role,
            reason="promise to pay",
            business_date=business_date,
        )
    else:
        _bump(conn, case_id, expected_version, {"updated_by": collector})
    conn.execute(
        update(PROMISES)
        .where(PROMISES.c.case_id == case_id, PROMISES.c.state == PromiseState.OPEN.value)
        .values(state=PromiseState.CANCELLED.value, version=PROMISES.c.version + 1)
    )
    promise_id = conn.execute(
        insert(PROMISES)
        .values(
            case_id=case_id,
            amount=amount,
            currency=currency,
            created_on=business_date,
            promised_date=promised_date,
            state=PromiseState.OPEN.value,
            paid=0,
            created_by=collector,
            strategy_version=case.strategy_version,
            group=case.group,
            version=1,
        )
        .returning(PROMISES.c.promise_id)
    ).scalar_one()
    _audit(
        conn,
        actor=collector,
        role=role,
        action="promise.record",
        object_type="collection_case",
        object_id=str(case_id),
        after={"promise_id": int(promise_id), "amount": amount, "date": promised_date.isoformat()},
        business_date=business_date,
    )
    _confirm_promise(conn, case, amount, promised_date, currency, business_date)
    return int(promise_id)


def _confirm_promise(
    conn: Connection,
    case: Case,
    amount: int,
    promised_date: date,
    currency: str,
    business_date: date,
) -> None:
    """Queue the borrower's written confirmation of a promise (template
    ``promise_confirmation`` by SMS; the conduct guard decides at dispatch whether
    and when it goes). The outbox keeps one a loan a day: a second promise on the
    same day queues nothing more, the collector gives the new terms in the call."""
    from postloan.contact.outbox import enqueue

    if not case.loan_ids:
        return
    enqueue(
        conn,
        loan_id=case.loan_ids[0],
        borrower_id=case.borrower_id,
        template="promise_confirmation",
        channel="sms",
        business_date=business_date,
        step="promise",
        variables={
            "promised_date": promised_date,
            "promised_amount": amount,
            "currency": currency,
        },
        strategy_version=case.strategy_version,
        group=case.group,
    )


def assign(
    conn: Connection,
    case_id: int,
    collector: str,
    *,
    expected_version: int,
    actor: str,
    role: str = "supervisor",
) -> Case:
    """Give the case and its open tasks to ``collector``."""
    case = get_case(conn, case_id)
    _bump(conn, case_id, expected_version, {"assigned_to": collector, "updated_by": actor})
    conn.execute(
        update(TASKS)
        .where(
            TASKS.c.case_id == case_id,
            TASKS.c.state.in_([TaskState.OPEN.value, TaskState.ESCALATED.value]),
        )
        .values(assigned_to=collector, version=TASKS.c.version + 1, updated_at=utc_now())
    )
    _audit(
        conn,
        actor=actor,
        role=role,
        action="case.assign",
        object_type="collection_case",
        object_id=str(case_id),
        before={"assigned_to": case.assigned_to},
        after={"assigned_to": collector},
    )
    return get_case(conn, case_id)


def complete_task(conn: Connection, task_id: int, *, actor: str) -> None:
    row = conn.execute(select(TASKS).where(TASKS.c.task_id == task_id)).mappings().first()
    if row is None:
        raise NotFound(f"no task {task_id}")
    check_task_transition(row["state"], TaskState.DONE)
    done = conn.execute(
        update(TASKS)
        .where(TASKS.c.task_id == task_id, TASKS.c.version == row["version"])
        .values(state=TaskState.DONE.value, version=row["version"] + 1, updated_at=utc_now())
    )
    if done.rowcount != 1:
        raise ConflictError(f"task {task_id} was changed by someone else; reload and retry")
    del actor


def list_queue(
    conn: Connection, collector: str | None = None, queue: str | None = None
) -> list[dict[str, Any]]:
    """Open and escalated tasks, oldest SLA first (a collector's own, or one queue's)."""
    query = select(TASKS).where(
        TASKS.c.state.in_([TaskState.OPEN.value, TaskState.ESCALATED.value])
    )
    if collector is not None:
        query = query.where(
            (TASKS.c.assigned_to == collector) | (TASKS.c.escalated_to == collector)
        )
    if queue is not None:
        query = query.where(TASKS.c.queue == queue)
    rows = conn.execute(query.order_by(TASKS.c.due_on, TASKS.c.task_id)).mappings()
    return [
        {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in row.items()}
        for row in rows
    ]


def list_cases(
    conn: Connection, *, queue: str | None = None, state: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(CASES)
    if queue is not None:
        query = query.where(CASES.c.queue == queue)
    if state is not None:
        query = query.where(CASES.c.state == CaseState(state).value)
    else:
        query = query.where(CASES.c.open_key.is_not(None))
    loans = (
        select(CASE_LOANS.c.case_id, func.count().label("loans"))
        .group_by(CASE_LOANS.c.case_id)
        .subquery()
    )
    query = (
        query.add_columns(loans.c.loans)
        .outerjoin(loans, loans.c.case_id == CASES.c.case_id)
        .order_by(CASES.c.case_id)
        .limit(limit)
    )
    out = []
    for row in conn.execute(query).mappings():
        out.append(
            {
                "case_id": row["case_id"],
                "borrower_id": row["borrower_id"],
                "state": row["state"],
                "version": row["version"],
                "opened_on": row["opened_on"].isoformat(),
                "bucket": row["bucket"],
                "region": row["region"],
                "queue": row["queue"],
                "assigned_to": row["assigned_to"],
                "group": row["group"],
                "loans": int(row["loans"] or 0),
            }
        )
    return out
