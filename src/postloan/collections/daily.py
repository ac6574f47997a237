"""The STRATEGY commit: the database side of one business date, in the COB transaction.

Order: open cases for new delinquencies and resolve cured ones → evaluate the
promises to pay against the posted payments → plan today's actions with the
active strategy → write them (messages to the outbox, tasks to queues, one
``collection_actions`` row each with its cost, strategy version and group) →
assign unassigned tasks → escalate tasks past their SLA. Every write is keyed
by the business date, so re-running a date creates nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Connection, func, select, update

from postloan.audit import AuditEvent, record_many
from postloan.collections import service as sv
from postloan.collections.activation import active_strategy
from postloan.collections.assignment import TaskToAssign, balance, queue_name
from postloan.collections.planner import plan_actions
from postloan.collections.promises import evaluate, window
from postloan.collections.settings import CollectionsSettings, Collector, parse_settings
from postloan.collections.split import assign_groups
from postloan.collections.states import CaseState, PromiseState, TaskState, can_move
from postloan.collections.strategy import ACTION_TYPES, Strategy
from postloan.domain.errors import ConflictError
from postloan.store import bulk

if TYPE_CHECKING:
    from postloan.config import Settings

STEP = "STRATEGY"
SYSTEM = "system"


@dataclass
class DayReport:
    cases_opened: int = 0
    cases_resolved: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    messages: int = 0
    tasks: int = 0
    assigned: int = 0
    escalated: int = 0
    actions: dict[str, int] = field(default_factory=dict)


def load_collections_settings(settings: Settings) -> CollectionsSettings:
    from postloan.policy_config import read_config

    return parse_settings(read_config(settings.config_file).get("collections"))


def _audit_many(conn: Connection, events: list[tuple[Any, ...]]) -> None:
    if not events:
        return
    from postloan.audit import AuditEvent, record_many

    record_many(conn, [AuditEvent(*e) for e in events])


_OPEN_CASES = "SELECT open_key, case_id FROM collection_cases WHERE open_key IS NOT NULL"
_OPEN_CASE_LOANS = (
    "SELECT collection_case_loans.loan_id, collection_cases.case_id, "
    "collection_cases.borrower_id FROM collection_case_loans JOIN collection_cases "
    "ON collection_cases.case_id = collection_case_loans.case_id "
    "WHERE collection_cases.open_key IS NOT NULL"
)


def _rows(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a parameterless query as the driver's tuples, in ``conn``'s transaction
    (SQLAlchemy's result rows cost ~3 µs each: these reads return tens of thousands)."""
    if not conn.in_transaction():
        conn.exec_driver_sql("SELECT 1")  # let SQLAlchemy begin the transaction it will end
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _open_cases(conn: Connection) -> dict[str, int]:
    """open key (borrower id) → case id of every open case."""
    return {r[0]: r[1] for r in _rows(conn, _OPEN_CASES)}


def _open_case_loans(conn: Connection) -> dict[str, tuple[int, str]]:
    """loan id → (case id, borrower id) of every open case."""
    rows = _rows(conn, _OPEN_CASE_LOANS)
    return {loan_id: (case_id, borrower) for loan_id, case_id, borrower in rows}


def sync_cases(
    conn: Connection,
    frame: pl.DataFrame,
    state: pl.DataFrame | None,
    business_date: date,
    strategy: Strategy,
    report: DayReport,
) -> None:
    """Open (or extend) a case for every delinquent loan; resolve cases whose loans are all
    current again."""
    delinquent = frame.filter(pl.col("days_past_due") > 0)
    in_case = _open_case_loans(conn)
    open_by_borrower = _open_cases(conn)
    new = delinquent.filter(~pl.col("loan_id").is_in(list(in_case)))
    worst = new.sort("days_past_due", "loan_id", descending=[True, False])
    firsts = worst.unique("borrower_id", keep="first", maintain_order=True)
    fresh = firsts.filter(~pl.col("borrower_id").is_in(list(open_by_borrower)))
    audits: list[AuditEvent] = []
    if fresh.height:
        groups = assign_groups(fresh["loan_id"].to_list(), strategy.salt, strategy.groups)
        bulk.insert(conn, sv.CASES.name, _case_rows(fresh, groups, business_date, strategy))
        open_by_borrower = _open_cases(conn)  # the new cases' ids, assigned by the database
        report.cases_opened += fresh.height
        grouped = worst.group_by("borrower_id").agg(pl.col("loan_id").sort())
        loans_of = dict(
            zip(grouped["borrower_id"].to_list(), grouped["loan_id"].to_list(), strict=True)
        )
        audits = [
            AuditEvent(
                SYSTEM,
                SYSTEM,
                "case.open",
                "collection_case",
                str(open_by_borrower[key]),
                None,
                {"state": "open", "source": "delinquency", "loans": loans_of[key]},
                None,
                business_date,
            )
            for key in fresh["borrower_id"].to_list()
        ]
    if worst.height:
        case_of = pl.DataFrame(
            {"borrower_id": list(open_by_borrower), "case_id": list(open_by_borrower.values())},
            schema={"borrower_id": pl.Utf8(), "case_id": pl.Int64()},
        )
        links = worst.select("borrower_id", "loan_id").join(
            case_of, on="borrower_id", how="left", maintain_order="left"
        )
        bulk.insert(
            conn,
            sv.CASE_LOANS.name,
            links.select("case_id", "loan_id", pl.lit(business_date).alias("added_on")),
            tail="ON CONFLICT (case_id, loan_id) DO NOTHING",
        )
    if state is not None:
        for case_id in _cured_cases(conn, state):
            if _system_move(conn, case_id, CaseState.RESOLVED, business_date, "all loans current"):
                report.cases_resolved += 1
    if audits:
        record_many(conn, audits)


def _cured_cases(conn: Connection, state: pl.DataFrame) -> list[int]:
    """The open cases none of whose loans is past due in ``state``, by case id. A loan
    counts in the last case the query lists it in (as a loan → case mapping would)."""
    rows = _rows(conn, _OPEN_CASE_LOANS)
    if not rows:
        return []
    links = pl.DataFrame(
        [(loan_id, case_id) for loan_id, case_id, _b in rows],
        schema={"loan_id": pl.Utf8(), "case_id": pl.Int64()},
        orient="row",
    ).unique("loan_id", keep="last", maintain_order=True)
    late = state.filter(pl.col("days_past_due") > 0)["loan_id"].implode()
    cases = (
        links.with_columns(pl.col("loan_id").is_in(late).alias("late"))
        .group_by("case_id")
        .agg(pl.col("late").any())
    )
    return sorted(cases.filter(~pl.col("late"))["case_id"].to_list())


def _case_rows(
    fresh: pl.DataFrame, groups: list[str], business_date: date, strategy: Strategy
) -> pl.DataFrame:
    """The new cases' rows (one per borrower of ``fresh``) as the table's columns."""
    queues = [
        queue_name(b, "phone", r)
        for b, r in zip(fresh["bucket"].to_list(), fresh["region"].to_list(), strict=True)
    ]
    return fresh.select(
        "borrower_id",
        pl.col("borrower_id").alias("open_key"),
        pl.lit(CaseState.OPEN.value).alias("state"),
        pl.lit(business_date).alias("opened_on"),
        pl.lit(None, dtype=pl.Date).alias("closed_on"),
        pl.lit("delinquency").alias("source"),
        pl.col("bucket"),
        pl.col("region"),
        pl.Series("queue", queues, dtype=pl.Utf8),
        pl.lit(None, dtype=pl.Utf8).alias("assigned_to"),
        pl.lit(strategy.version, dtype=pl.Utf8).alias("strategy_version"),
        pl.Series("group", groups, dtype=pl.Utf8),
        pl.lit(0).alias("restructured"),
        pl.lit(0).alias("in_legal"),
        pl.lit(1).alias("version"),
        pl.lit(SYSTEM).alias("updated_by"),
        pl.lit(sv.utc_now()).alias("updated_at"),
    )


def _system_move(
    conn: Connection, case_id: int, target: CaseState, business_date: date, reason: str
) -> bool:
    """A transition made by the platform: re-read the version (a collector may have just
    committed) and move if the edge exists; False when it does not."""
    for _ in range(3):
        case = sv.get_case(conn, case_id)
        if case.state == target or not can_move(case.state, target):
            return False
        try:
            sv.transition(
                conn,
                case_id,
                target,
                expected_version=case.version,
                actor=SYSTEM,
                role=SYSTEM,
                reason=reason,
                business_date=business_date,
            )
            return True
        except ConflictError:
            continue
    return False


def _paid(conn: Connection, case_id: int, start: date, end: date) -> int:
    from postloan.store.tables import Transaction

    txn = Transaction.__table__
    loans = select(sv.CASE_LOANS.c.loan_id).where(sv.CASE_LOANS.c.case_id == case_id)
    reversed_ids = select(txn.c.reverses).where(
        txn.c.type == "reversal", txn.c.reverses.is_not(None), txn.c.loan_id.in_(loans)
    )
    total = conn.execute(
        select(func.coalesce(func.sum(txn.c.amount), 0)).where(
            txn.c.loan_id.in_(loans),
            txn.c.type == "repayment",
            txn.c.value_date >= start,
            txn.c.value_date <= end,
            txn.c.txn_id.not_in(reversed_ids),
        )
    ).scalar_one()
    return int(total)


def evaluate_promises(
    conn: Connection, business_date: date, settings: CollectionsSettings, report: DayReport
) -> list[dict[str, Any]]:
    """Mark open promises kept or broken from the payments posted so far; the broken ones."""
    rules = settings.promises
    broken: list[dict[str, Any]] = []
    rows = conn.execute(
        select(sv.PROMISES).where(sv.PROMISES.c.state == PromiseState.OPEN.value)
    ).mappings()
    for p in list(rows):
        start, end = window(p["created_on"], p["promised_date"], rules)
        paid = _paid(conn, p["case_id"], start, min(end, business_date))
        result = evaluate(
            p["amount"], p["created_on"], p["promised_date"], paid, business_date, rules
        )
        values: dict[str, Any] = {"paid": paid, "evaluated_on": business_date}
        if result != PromiseState.OPEN:
            values["state"] = result.value
        done = conn.execute(
            update(sv.PROMISES)
            .where(
                sv.PROMISES.c.promise_id == p["promise_id"],
                sv.PROMISES.c.version == p["version"],
            )
            .values(**values, version=p["version"] + 1)
        )
        if done.rowcount != 1 or result == PromiseState.OPEN:
            continue
        if result == PromiseState.KEPT:
            report.promises_kept += 1
            _system_move(conn, p["case_id"], CaseState.CONTACTED, business_date, "promise kept")
        else:
            report.promises_broken += 1
            _system_move(
                conn, p["case_id"], CaseState.BROKEN_PROMISE, business_date, "promise broken"
            )
            broken.append(dict(p))
    return broken


def case_flags(conn: Connection) -> pl.DataFrame:
    """Per loan in an open case: case id, promise state, restructured, in legal."""
    cases = _rows(
        conn,
        "SELECT collection_case_loans.loan_id, collection_cases.case_id, "
        "collection_cases.state, collection_cases.restructured, collection_cases.in_legal "
        "FROM collection_case_loans JOIN collection_cases "
        "ON collection_cases.case_id = collection_case_loans.case_id "
        "WHERE collection_cases.open_key IS NOT NULL",
    )
    promise: dict[int, str] = {}
    rows = conn.execute(
        select(sv.PROMISES.c.case_id, sv.PROMISES.c.state)
        .where(sv.PROMISES.c.state != PromiseState.CANCELLED.value)
        .order_by(sv.PROMISES.c.promise_id)
    )
    for case_id, p_state in rows:
        if promise.get(case_id) != PromiseState.OPEN.value:
            promise[case_id] = p_state
    restructuring, legal = CaseState.RESTRUCTURING.value, CaseState.LEGAL.value
    data = [
        (
            loan_id,
            case_id,
            promise.get(case_id, "none"),
            bool(restructured) or state == restructuring,
            bool(in_legal) or state == legal,
        )
        for loan_id, case_id, state, restructured, in_legal in cases
    ]
    schema = {
        "loan_id": pl.Utf8(),
        "case_id": pl.Int64(),
        "promise_state": pl.Utf8(),
        "restructured": pl.Boolean(),
        "in_legal": pl.Boolean(),
    }
    return pl.DataFrame(data, schema=schema, orient="row")


def _variables(row: dict[str, Any], template: str) -> dict[str, Any]:
    from postloan.contact.catalog import REQUIRED

    offered = {
        "due_date": row["next_due_date"],
        "amount_due": int(row["next_due_amount"] or 0),
        "days_past_due": int(row["days_past_due"]),
        "amount_overdue": int(row["overdue_amount"] or 0),
        "currency": row["currency"] or "CNY",
    }
    need = REQUIRED.get(template, frozenset())
    return {k: v for k, v in offered.items() if k in need or k == "currency"}


def write_actions(
    conn: Connection,
    plan: pl.DataFrame,
    frame: pl.DataFrame,
    business_date: date,
    settings: CollectionsSettings,
    report: DayReport,
) -> None:
    """Tasks, outbox messages and one ``collection_actions`` row per planned action: the
    human actions' rows first, then the messages', each in plan order. Read a column
    at a time (no dict per plan row): a day plans tens of thousands of messages."""
    from postloan.contact.outbox import enqueue_batch

    known = frame.filter(pl.col("loan_id").is_in(plan["loan_id"].implode()))
    fact_columns = ("next_due_date", "next_due_amount", "overdue_amount", "currency")
    values = zip(*(known[c].to_list() for c in fact_columns), strict=True)
    facts = dict(zip(known["loan_id"].to_list(), values, strict=True))
    col = {c: plan[c].to_list() for c in plan.columns}
    if "case_id" not in col:
        col["case_id"] = [None] * plan.height
    human = [
        i for i, action in enumerate(col["action"]) if ACTION_TYPES[action].kind != "automated"
    ]
    tasks = _tasks(
        conn, [{c: col[c][i] for c in col} for i in human], business_date, settings, report
    )
    action_rows: list[tuple[Any, ...]] = []
    messages: list[dict[str, Any]] = []
    sent: list[tuple[Any, ...]] = []  # the messages' action rows, without cost and status
    wanted: dict[str, tuple[str, ...]] = {}  # template → the variables it is sent
    for i, (loan_id, action, template) in enumerate(
        zip(col["loan_id"], col["action"], col["template"], strict=True)
    ):
        kind = ACTION_TYPES[action]
        case_id = col["case_id"][i]
        base = (
            loan_id,
            col["borrower_id"][i],
            case_id,
            business_date,
            action,
            kind.kind,
            template,
            col["segment"][i],
            col["strategy_version"][i],
            col["group"][i],
            col["days_past_due"][i],
        )
        report.actions[action] = report.actions.get(action, 0) + 1
        if kind.kind == "automated":
            if template not in wanted:
                wanted[template] = _variable_names(template)
            due_date, due_amount, overdue, currency = facts[loan_id]
            offered = {
                "due_date": due_date,
                "amount_due": int(due_amount or 0),
                "days_past_due": int(col["days_past_due"][i]),
                "amount_overdue": int(overdue or 0),
                "currency": currency or "CNY",
            }
            messages.append(
                {
                    "loan_id": loan_id,
                    "borrower_id": col["borrower_id"][i],
                    "template": template,
                    "channel": kind.channel or "sms",
                    "business_date": business_date,
                    "step": STEP,
                    "variables": {k: offered[k] for k in wanted[template]},
                    "strategy_version": col["strategy_version"][i],
                    "group": col["group"][i],
                }
            )
            sent.append(base)
            continue
        task_id = None if case_id is None else tasks.get((case_id, action))
        action_rows.append((*base, task_id, 0, "task"))
    fresh = enqueue_batch(conn, messages)  # one statement for the day
    for base in sent:
        new = (base[0], base[6]) in fresh
        report.messages += int(new)
        cost = settings.costs.get(base[4], 0) if new else 0
        action_rows.append((*base, None, cost, "enqueued" if new else "duplicate"))
    if action_rows:
        bulk.insert(
            conn,
            sv.ACTIONS.name,
            pl.DataFrame(action_rows, schema=_ACTION_SCHEMA, orient="row"),
            tail="ON CONFLICT (loan_id, action, business_date, template) DO NOTHING",
        )


def _variable_names(template: str) -> tuple[str, ...]:
    """The variables :func:`_variables` gives ``template``, in its order."""
    from postloan.contact.catalog import REQUIRED

    need = REQUIRED.get(template, frozenset())
    offered = ("due_date", "amount_due", "days_past_due", "amount_overdue", "currency")
    return tuple(k for k in offered if k in need or k == "currency")


_ACTION_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "borrower_id": pl.Utf8(),
    "case_id": pl.Int64(),
    "business_date": pl.Date(),
    "action": pl.Utf8(),
    "kind": pl.Utf8(),
    "template": pl.Utf8(),
    "segment": pl.Utf8(),
    "strategy_version": pl.Utf8(),
    "group": pl.Utf8(),
    "days_past_due": pl.Int64(),
    "task_id": pl.Int64(),
    "cost": pl.Int64(),
    "status": pl.Utf8(),
}


def _tasks(
    conn: Connection,
    rows: list[dict[str, Any]],
    business_date: date,
    settings: CollectionsSettings,
    report: DayReport,
) -> dict[tuple[int, str], int]:
    """(case id, action) → task id of the day's human actions: the existing task of
    the case, action and date, else a new one (the first planned row's loan), all
    new tasks in one insert in plan order."""
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        case_id = row.get("case_id")
        if case_id is not None and ACTION_TYPES[row["action"]].kind != "automated":
            wanted.setdefault((case_id, row["action"]), row)
    if not wanted:
        return {}
    found = _day_tasks(conn, business_date)
    new = [row for key, row in wanted.items() if key not in found]
    if not new:
        return found
    skills = [ACTION_TYPES[r["action"]].skill or "phone" for r in new]
    now = sv.utc_now()
    frame = pl.DataFrame(
        {
            "case_id": [r["case_id"] for r in new],
            "loan_id": [r["loan_id"] for r in new],
            "action": [r["action"] for r in new],
            "queue": [
                queue_name(r["bucket"], skill, r["region"])
                for r, skill in zip(new, skills, strict=True)
            ],
            "skill": skills,
            "bucket": [r["bucket"] for r in new],
            "region": [r["region"] for r in new],
            "state": TaskState.OPEN.value,
            "created_on": business_date,
            "due_on": [business_date + timedelta(days=int(r["sla_days"])) for r in new],
            "strategy_version": [r["strategy_version"] for r in new],
            "group": [r["group"] for r in new],
            "cost": [settings.costs.get(r["action"], 0) for r in new],
            "version": 1,
            "updated_at": now,
        },
        schema_overrides={
            "case_id": pl.Int64(),
            "bucket": pl.Utf8(),
            "region": pl.Utf8(),
            "cost": pl.Int64(),
        },
    )
    bulk.insert(conn, sv.TASKS.name, frame)
    report.tasks += len(new)
    return _day_tasks(conn, business_date)


def _day_tasks(conn: Connection, business_date: date) -> dict[tuple[int, str], int]:
    rows = conn.execute(
        select(sv.TASKS.c.case_id, sv.TASKS.c.action, sv.TASKS.c.task_id).where(
            sv.TASKS.c.created_on == business_date
        )
    )
    return {(r.case_id, r.action): r.task_id for r in rows}


def collectors(conn: Connection, settings: CollectionsSettings) -> list[Collector]:
    """Users with role collector (from the user store when it has any), else the config."""
    try:
        from postloan.security.users import list_users
    except ImportError:  # pragma: no cover - the user store ships with postloan
        return list(settings.collectors)
    users = [u for u in list_users(conn, role="collector") if u.active]
    if not users:
        return list(settings.collectors)
    supervisors = {u.team: u.username for u in list_users(conn, role="supervisor") if u.team}
    return [
        Collector(
            username=u.username,
            capacity=u.capacity if u.capacity is not None else 50,
            skills=frozenset(u.skills or ("phone",)),
            regions=None if u.region is None else frozenset({u.region}),
            supervisor=supervisors.get(u.team) if u.team else None,
        )
        for u in users
    ]


def assign_tasks(
    conn: Connection, settings: CollectionsSettings, staff: list[Collector], report: DayReport
) -> None:
    live = [TaskState.OPEN.value, TaskState.ESCALATED.value]
    load: dict[str, int] = dict(
        conn.execute(
            select(sv.TASKS.c.assigned_to, func.count())
            .where(sv.TASKS.c.state.in_(live), sv.TASKS.c.assigned_to.is_not(None))
            .group_by(sv.TASKS.c.assigned_to)
        ).all()
    )
    rows = conn.execute(
        select(
            sv.TASKS.c.task_id,
            sv.TASKS.c.skill,
            sv.TASKS.c.region,
            sv.TASKS.c.case_id,
            sv.CASES.c.assigned_to,
        )
        .join(sv.CASES, sv.CASES.c.case_id == sv.TASKS.c.case_id)
        .where(sv.TASKS.c.state == TaskState.OPEN.value, sv.TASKS.c.assigned_to.is_(None))
    ).all()
    waiting = [TaskToAssign(r.task_id, r.skill, r.region) for r in rows]
    preferred = {r.task_id: r.assigned_to for r in rows if r.assigned_to}
    case_of = {r.task_id: r.case_id for r in rows}
    for task_id, username in balance(waiting, staff, load, preferred).items():
        conn.execute(
            update(sv.TASKS)
            .where(sv.TASKS.c.task_id == task_id, sv.TASKS.c.assigned_to.is_(None))
            .values(assigned_to=username, version=sv.TASKS.c.version + 1)
        )
        conn.execute(  # a case without a collector takes the one of its first task
            update(sv.CASES)
            .where(sv.CASES.c.case_id == case_of[task_id], sv.CASES.c.assigned_to.is_(None))
            .values(assigned_to=username, version=sv.CASES.c.version + 1)
        )
        report.assigned += 1
    del settings


def escalate_overdue(
    conn: Connection,
    business_date: date,
    settings: CollectionsSettings,
    staff: list[Collector] | None = None,
) -> int:
    """Escalate open tasks past their SLA (``due_on`` before the date) to a supervisor:
    the collector's own (via their team) or ``collections.supervisor``. Returns how many."""
    boss = {c.username: c.supervisor for c in (staff or collectors(conn, settings))}
    rows = conn.execute(
        select(sv.TASKS.c.task_id, sv.TASKS.c.assigned_to, sv.TASKS.c.version).where(
            sv.TASKS.c.state == TaskState.OPEN.value, sv.TASKS.c.due_on < business_date
        )
    ).all()
    audits = []
    count = 0
    for task_id, assigned, version in rows:
        to = boss.get(assigned or "") or settings.supervisor
        done = conn.execute(
            update(sv.TASKS)
            .where(sv.TASKS.c.task_id == task_id, sv.TASKS.c.version == version)
            .values(
                state=TaskState.ESCALATED.value,
                escalated_to=to,
                escalated_on=business_date,
                version=version + 1,
                updated_at=sv.utc_now(),
            )
        )
        if done.rowcount == 1:
            count += 1
            after = {"state": "escalated", "escalated_to": to}
            audits.append(
                (SYSTEM, SYSTEM, "task.escalate", "collection_task", str(task_id), None, after)
                + (None, business_date)
            )
    _audit_many(conn, audits)
    return count


def broken_promise_messages(
    conn: Connection,
    broken: list[dict[str, Any]],
    frame: pl.DataFrame,
    business_date: date,
    report: DayReport,
) -> None:
    from postloan.contact.outbox import enqueue

    if not broken:
        return
    owed = {r["loan_id"]: r for r in frame.iter_rows(named=True)}
    for p in broken:
        loans = conn.execute(
            select(sv.CASE_LOANS.c.loan_id).where(sv.CASE_LOANS.c.case_id == p["case_id"])
        ).scalars()
        target = next((owed[x] for x in loans if x in owed), None)
        if target is None:
            continue
        fresh = enqueue(
            conn,
            loan_id=target["loan_id"],
            borrower_id=target["borrower_id"],
            template="broken_promise",
            channel="sms",
            business_date=business_date,
            step=STEP,
            variables={
                "promised_date": p["promised_date"],
                "promised_amount": int(p["amount"]),
                "amount_overdue": int(target["overdue_amount"] or 0),
            },
            strategy_version=p["strategy_version"],
            group=p["group"],
        )
        report.messages += int(fresh)


def close_day(
    conn: Connection,
    *,
    business_date: date,
    frame: pl.DataFrame,
    state: pl.DataFrame | None,
    settings: Settings,
    strategy: Strategy | None = None,
) -> DayReport:
    """Everything the STRATEGY step writes for ``business_date`` (see the module doc)."""
    report = DayReport()
    frame = with_regions(conn, frame)
    config = load_collections_settings(settings)
    strategy = strategy or active_strategy(conn)
    sync_cases(conn, frame, state, business_date, strategy, report)
    broken = evaluate_promises(conn, business_date, config, report)
    flags = case_flags(conn)
    planned = frame.drop("promise_state", "restructured", "in_legal").join(
        flags, on="loan_id", how="left"
    )
    planned = planned.with_columns(
        pl.col("promise_state").fill_null("none"),
        pl.col("restructured").fill_null(False),
        pl.col("in_legal").fill_null(False),
    )
    if strategy.score_column != "score" and strategy.score_column in planned.columns:
        planned = planned.with_columns(
            pl.col(strategy.score_column).cast(pl.Float64).alias("score")
        )
    plan = plan_actions(planned, strategy, business_date)
    plan = plan.join(planned.select("loan_id", "case_id"), on="loan_id", how="left")
    write_actions(conn, plan, frame, business_date, config, report)
    broken_promise_messages(conn, broken, frame, business_date, report)
    staff = collectors(conn, config)
    assign_tasks(conn, config, staff, report)
    report.escalated = escalate_overdue(conn, business_date, config, staff)
    refresh_case_buckets(conn, frame)
    return report


def with_regions(conn: Connection, frame: pl.DataFrame) -> pl.DataFrame:
    """Fill ``region`` from the loan (else its borrower) in the store where it is null."""
    from postloan.store.tables import Borrower, Loan

    loans, borrowers = Loan.__tablename__, Borrower.__tablename__
    if conn.exec_driver_sql(f"SELECT 1 FROM {loans} LIMIT 1").first() is None:
        return frame  # no loan in the store (a book mirror's close): nothing to look up
    missing = frame.filter(pl.col("region").is_null())["loan_id"].to_list()
    if not missing:
        return frame
    sql = (
        f"SELECT l.loan_id, COALESCE(l.region, b.region) FROM {loans} l "
        f"LEFT JOIN {borrowers} b ON b.borrower_id = l.borrower_id WHERE l.loan_id {{in_values}}"
    )
    found = dict(bulk.select_in(conn, sql, missing))
    regions = pl.DataFrame(
        {"loan_id": list(found), "_region": list(found.values())},
        schema={"loan_id": pl.Utf8(), "_region": pl.Utf8()},
    )
    return (
        frame.join(regions, on="loan_id", how="left")
        .with_columns(pl.coalesce("region", "_region").alias("region"))
        .drop("_region")
    )


def refresh_case_buckets(conn: Connection, frame: pl.DataFrame) -> None:
    """Each open case's bucket and queue follow its worst loan (system fields, no version)."""
    worst = (
        frame.filter(pl.col("days_past_due") > 0)
        .sort("days_past_due", descending=True)
        .unique("borrower_id", keep="first")
    )
    rows = _rows(
        conn, "SELECT open_key, case_id, bucket FROM collection_cases WHERE open_key IS NOT NULL"
    )
    cases = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"borrower_id": pl.Utf8(), "case_id": pl.Int64(), "case_bucket": pl.Utf8()},
        orient="row",
    )
    moved = worst.join(cases, on="borrower_id", how="inner").filter(
        pl.col("bucket").ne_missing(pl.col("case_bucket"))
    )
    for r in moved.iter_rows(named=True):
        conn.execute(
            update(sv.CASES)
            .where(sv.CASES.c.case_id == r["case_id"])
            .values(bucket=r["bucket"], queue=queue_name(r["bucket"], "phone", r["region"]))
        )
