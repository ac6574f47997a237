"""Restructurings, waivers (settlements) and write-offs: maker-checker concessions.

Each is proposed by one person (a ``collection_concessions`` row plus an approval
in :mod:`postloan.security.approvals`, whose ``amount_minor`` drives the role
limits) and applied only when another person with the permission and the limit
approves it; the approval handlers registered here apply the change in the
checker's transaction. Every step is written to the audit log (ids and amounts
only, never personal data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from postloan.collections import service as sv
from postloan.collections.restructure_rules import (
    Arrears,
    RestructuringPlan,
    RestructuringRequest,
    affordable,
    plan_restructuring,
)
from postloan.collections.servicing import (
    LoanView,
    arrears_by_instalment,
    future_principal,
    load_loan,
    mark_book_stale,
    post_transaction,
)
from postloan.collections.states import OPEN_STATES, CaseState, ConcessionState, can_move
from postloan.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from postloan.domain.marks import MarkKind
from postloan.domain.policy import Component
from postloan.domain.transactions import TxnType
from postloan.security.approvals import Approval, propose
from postloan.store import tables as t
from postloan.store import tables_collections as tc

CONCESSIONS = cast(Table, tc.CollectionConcession.__table__)
VERSIONS = cast(Table, tc.ScheduleVersion.__table__)
SCHEDULE = cast(Table, t.ScheduleInstalment.__table__)
MARKS = cast(Table, t.LoanMark.__table__)

RESTRUCTURE_ACTION = "restructuring.apply"
WAIVER_ACTION = "waiver.grant"
WRITEOFF_ACTION = "writeoff.apply"
WAIVER_KINDS = ("penalty", "fee", "interest", "principal")


def _audit(conn: Connection, **fields: Any) -> None:
    from postloan.audit import record

    record(conn, **fields)


def _role(conn: Connection, user: str) -> str:
    if user == "system":
        return "system"
    from postloan.security.users import get_user

    return get_user(conn, user).role


def require(conn: Connection, user: str, permission: str) -> str:
    """The user's role when it holds ``permission`` (``system`` always does)."""
    from postloan.security.permissions import has_permission

    role = _role(conn, user)
    if role != "system" and not has_permission(role, permission):
        raise PermissionDenied(
            f"{user} ({role}) may not do this: it needs the {permission!r} permission"
        )
    return role


def _new_concession(
    conn: Connection,
    *,
    kind: str,
    subtype: str,
    loan_id: str,
    case_id: int | None,
    amount: int,
    params: Mapping[str, Any],
    maker: str,
    business_date: date,
    action: str,
    reason: str | None,
) -> int:
    concession_id = int(
        conn.execute(
            insert(CONCESSIONS)
            .values(
                kind=kind,
                subtype=subtype,
                case_id=case_id,
                loan_id=loan_id,
                amount=amount,
                params=json.dumps(dict(params), sort_keys=True),
                result=None,
                state=ConcessionState.PROPOSED.value,
                proposed_by=maker,
                proposed_on=business_date,
            )
            .returning(CONCESSIONS.c.concession_id)
        ).scalar_one()
    )
    approval_id = propose(
        conn,
        maker=maker,
        action=action,
        object_type="collection_concession",
        object_id=str(concession_id),
        payload={"concession_id": concession_id, "loan_id": loan_id, "subtype": subtype},
        amount_minor=amount,
        reason=reason,
    )
    conn.execute(
        update(CONCESSIONS)
        .where(CONCESSIONS.c.concession_id == concession_id)
        .values(approval_id=approval_id)
    )
    _audit(
        conn,
        actor=maker,
        role=_role(conn, maker),
        action=f"{kind}.propose",
        object_type="collection_concession",
        object_id=str(concession_id),
        after={"loan_id": loan_id, "subtype": subtype, "amount": amount, "approval": approval_id},
        reason=reason,
        business_date=business_date,
    )
    return concession_id


def get_concession(conn: Connection, concession_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(CONCESSIONS).where(CONCESSIONS.c.concession_id == concession_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no restructuring, waiver or write-off {concession_id}")
    out = dict(row)
    out["params"] = json.loads(out["params"])
    out["result"] = json.loads(out["result"]) if out["result"] else None
    return out


def list_concessions(
    conn: Connection, *, kind: str | None = None, loan_id: str | None = None
) -> list[dict[str, Any]]:
    """Concessions, newest first; a proposal whose approval was rejected shows ``rejected``."""
    from postloan.security.approvals import APPROVALS

    query = (
        select(CONCESSIONS, APPROVALS.c.state.label("approval_state"))
        .outerjoin(APPROVALS, APPROVALS.c.id == CONCESSIONS.c.approval_id)
        .order_by(CONCESSIONS.c.concession_id.desc())
    )
    if kind:
        query = query.where(CONCESSIONS.c.kind == kind)
    if loan_id:
        query = query.where(CONCESSIONS.c.loan_id == loan_id)
    out = []
    for row in conn.execute(query).mappings():
        item = {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in row.items()
            if k not in ("params", "result")
        }
        if row["state"] == ConcessionState.PROPOSED and row["approval_state"] == "rejected":
            item["state"] = ConcessionState.REJECTED.value
        item["params"] = json.loads(row["params"])
        item["result"] = json.loads(row["result"]) if row["result"] else None
        out.append(item)
    return out


def _claim(conn: Connection, approval: Approval) -> dict[str, Any]:
    concession = get_concession(conn, int(approval.payload["concession_id"]))
    if concession["state"] != ConcessionState.PROPOSED:
        raise ConflictError(
            f"concession {concession['concession_id']} is already {concession['state']}"
        )
    return concession


def _applied(
    conn: Connection,
    concession: Mapping[str, Any],
    approval: Approval,
    result: Mapping[str, Any],
    on: date,
    txn_id: str | None = None,
) -> None:
    done = conn.execute(
        update(CONCESSIONS)
        .where(
            CONCESSIONS.c.concession_id == concession["concession_id"],
            CONCESSIONS.c.state == ConcessionState.PROPOSED.value,
        )
        .values(
            state=ConcessionState.APPLIED.value,
            result=json.dumps(dict(result), sort_keys=True),
            applied_by=approval.checker,
            applied_on=on,
            txn_id=txn_id,
        )
    )
    if done.rowcount != 1:
        raise ConflictError(f"concession {concession['concession_id']} was applied meanwhile")
    _audit(
        conn,
        actor=approval.checker or "system",
        role=_role(conn, approval.checker or "system"),
        action=f"{concession['kind']}.apply",
        object_type="collection_concession",
        object_id=str(concession["concession_id"]),
        before={"state": ConcessionState.PROPOSED.value},
        after={"state": ConcessionState.APPLIED.value, **dict(result)},
        business_date=on,
    )


def _move_case(
    conn: Connection, case_id: int | None, target: CaseState, actor: str, on: date, why: str
) -> str | None:
    """Move the case to ``target`` (through ``contacted`` when that is the only way)."""
    if case_id is None:
        return None
    case = sv.get_case(conn, case_id)
    path = [target]
    if not can_move(case.state, target) and can_move(case.state, CaseState.CONTACTED):
        path = [CaseState.CONTACTED, target]
    if case.state == target:
        return case.state.value
    for step in path:
        case = sv.get_case(conn, case_id)
        case = sv.transition(
            conn,
            case_id,
            step,
            expected_version=case.version,
            actor=actor,
            role=_role(conn, actor),
            reason=why,
            business_date=on,
        )
    return case.state.value


def _case_of_loan(conn: Connection, loan_id: str) -> int | None:
    return conn.execute(
        select(sv.CASES.c.case_id)
        .join(sv.CASE_LOANS, sv.CASE_LOANS.c.case_id == sv.CASES.c.case_id)
        .where(sv.CASE_LOANS.c.loan_id == loan_id, sv.CASES.c.open_key.is_not(None))
    ).scalar_one_or_none()


# ---- restructuring ---------------------------------------------------------------------


def _monthly_income(conn: Connection, borrower_id: str) -> int | None:
    b = t.Borrower.__table__
    return conn.execute(
        select(b.c.monthly_income).where(b.c.borrower_id == borrower_id)
    ).scalar_one_or_none()


def plan_for(view: LoanView, request: RestructuringRequest) -> RestructuringPlan:
    """The restructured schedule of a loan (the servicing core's view on the day before)."""
    eff = request.effective_date
    if view.charged_off:
        raise ValidationError(f"loan {view.loan_id} is charged off; it cannot be restructured")
    arrears = Arrears(arrears_by_instalment(view, eff), view.state.penalty_outstanding)
    return plan_restructuring(
        view.terms, view.schedule, arrears, future_principal(view, eff), request
    )


def propose_restructuring(
    conn: Connection,
    *,
    loan_id: str,
    kind: str,
    params: Mapping[str, Any],
    maker: str,
    business_date: date,
    effective_date: date | None = None,
    max_debt_ratio: Decimal = Decimal("0.5"),
    reason: str | None = None,
) -> int:
    """Propose a restructuring (``RestructuringKind``); the new schedule and the
    affordability check are computed now and shown to the checker. Returns its id."""
    eff = effective_date or business_date
    if eff < business_date:
        raise ValidationError(f"the effective date {eff} is before the business date")
    request = RestructuringRequest.parse(kind, eff, params)
    view = load_loan(conn, loan_id, eff - timedelta(days=1))
    plan = plan_for(view, request)
    ok, ratio = affordable(plan.instalment, _monthly_income(conn, view.borrower_id), max_debt_ratio)
    if not ok:
        raise ValidationError(
            f"not affordable: the new instalment {plan.instalment} is {ratio} of the "
            f"borrower's monthly income, above {max_debt_ratio}; offer longer terms, or "
            "record the income first"
        )
    details = {
        **request.params(),
        "effective_date": eff.isoformat(),
        "debt_ratio": ratio,
        **plan.summary(),
    }
    return _new_concession(
        conn,
        kind="restructuring",
        subtype=request.kind.value,
        loan_id=loan_id,
        case_id=_case_of_loan(conn, loan_id),
        amount=plan.new_principal,
        params=details,
        maker=maker,
        business_date=business_date,
        action=RESTRUCTURE_ACTION,
        reason=reason,
    )


def _schedule_json(schedule: list[Any]) -> str:
    return json.dumps(
        [
            [i.seq, i.due_date.isoformat(), i.principal, i.interest, i.fee, i.balance]
            for i in schedule
        ]
    )


def apply_restructuring(conn: Connection, approval: Approval) -> None:
    """Approval handler: store the new schedule version, the ``restructured`` mark (the
    classification floor, observation period and IFRS 9 forborne flag), move the case."""
    c = _claim(conn, approval)
    p = c["params"]
    eff = date.fromisoformat(p["effective_date"])
    request = RestructuringRequest.parse(
        c["subtype"],
        eff,
        {k: p[k] for k in ("periods", "new_rate", "capitalise_arrears") if k in p},
    )
    view = load_loan(conn, c["loan_id"], eff - timedelta(days=1))
    plan = plan_for(view, request)
    loan_id = c["loan_id"]
    version = int(
        conn.execute(
            select(func.coalesce(func.max(VERSIONS.c.version), 0)).where(
                VERSIONS.c.loan_id == loan_id
            )
        ).scalar_one()
    )
    conn.execute(
        insert(VERSIONS).values(
            loan_id=loan_id,
            version=version + 1,
            concession_id=c["concession_id"],
            created_on=eff,
            body=_schedule_json(view.schedule),
        )
    )
    mark_book_stale()
    conn.execute(delete(SCHEDULE).where(SCHEDULE.c.loan_id == loan_id))
    conn.execute(
        insert(SCHEDULE),
        [
            {
                "loan_id": loan_id,
                "seq": i.seq,
                "due_date": i.due_date,
                "principal_due": i.principal,
                "interest_due": i.interest,
                "fee_due": i.fee,
                "balance": i.balance,
                "source": "restructured" if i.seq >= plan.first_new_seq else "kept",
            }
            for i in plan.schedule
        ],
    )
    mark_id = f"rs-{c['concession_id']}"
    if conn.execute(select(MARKS.c.mark_id).where(MARKS.c.mark_id == mark_id)).first() is None:
        conn.execute(
            insert(MARKS).values(
                mark_id=mark_id,
                loan_id=loan_id,
                kind=MarkKind.RESTRUCTURED.value,
                start_date=eff,
                end_date=None,
                note=f"restructuring {c['concession_id']} ({c['subtype']})",
                import_run_id=None,
            )
        )
    checker = approval.checker or "system"
    case_state = None
    if c["case_id"] is not None:
        case_state = _move_case(
            conn, c["case_id"], CaseState.RESTRUCTURING, checker, eff, "restructuring approved"
        )
        conn.execute(
            update(sv.CASES).where(sv.CASES.c.case_id == c["case_id"]).values(restructured=1)
        )
    result = {
        **plan.summary(),
        "schedule_version": version + 2,
        "mark_id": mark_id,
        "forborne": True,
        "case_state": case_state,
    }
    _applied(conn, c, approval, result, eff)


# ---- waivers and settlements ------------------------------------------------------------


def waivable(view: LoanView, kind: str) -> int:
    """The most a waiver of ``kind`` can forgive: the servicing core forgives due items in
    ``servicing.allocation.waiver_components`` order, so ``kind`` is the deepest
    component reached (``principal`` only when the policy lists it: settlements)."""
    if kind not in WAIVER_KINDS:
        raise ValidationError(f"unknown waiver kind {kind!r}; use one of {', '.join(WAIVER_KINDS)}")
    components = list(view.policy.allocation.waiver_components)
    if Component(kind) not in components:
        raise ValidationError(
            f"the servicing policy does not let waivers forgive {kind}; add it to "
            "servicing.allocation.waiver_components in config.yaml"
        )
    s = view.state
    due = {
        Component.PENALTY: s.penalty_outstanding,
        Component.FEE: s.overdue_fee,
        Component.INTEREST: s.overdue_interest,
        Component.PRINCIPAL: s.overdue_principal,
    }
    reach = components[: components.index(Component(kind)) + 1]
    return sum(due[c] for c in reach)


def propose_waiver(
    conn: Connection,
    *,
    loan_id: str,
    kind: str,
    amount: int,
    maker: str,
    business_date: date,
    reason: str | None = None,
) -> int:
    """Propose forgiving ``amount`` (minor units) of penalty, fee, interest or, in a
    settlement, principal; applied as a ``waiver`` transaction once approved."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"a waiver is a whole number of minor units > 0, not {amount!r}")
    view = load_loan(conn, loan_id, business_date)
    if view.charged_off:
        raise ValidationError(f"loan {loan_id} is charged off; nothing to waive")
    cap = waivable(view, kind)
    if amount > cap:
        raise ValidationError(
            f"a {kind} waiver of {amount} exceeds what is due and waivable on "
            f"{business_date}: {cap} (minor units)"
        )
    return _new_concession(
        conn,
        kind="waiver",
        subtype=kind,
        loan_id=loan_id,
        case_id=_case_of_loan(conn, loan_id),
        amount=amount,
        params={"business_date": business_date.isoformat(), "waivable": cap},
        maker=maker,
        business_date=business_date,
        action=WAIVER_ACTION,
        reason=reason,
    )


def apply_waiver(conn: Connection, approval: Approval) -> None:
    c = _claim(conn, approval)
    on = date.fromisoformat(c["params"]["business_date"])
    txn_id = f"pl-waiver-{c['concession_id']}"
    post_transaction(
        conn,
        txn_id=txn_id,
        loan_id=c["loan_id"],
        kind=TxnType.WAIVER,
        amount=int(c["amount"]),
        value_date=on,
        channel="collections",
    )
    _applied(conn, c, approval, {"txn_id": txn_id, "amount": int(c["amount"])}, on, txn_id)


# ---- write-off -------------------------------------------------------------------------


def propose_writeoff(
    conn: Connection,
    *,
    loan_id: str,
    maker: str,
    business_date: date,
    reason: str | None = None,
) -> int:
    """Propose charging the loan off; the approval amount is its exposure."""
    view = load_loan(conn, loan_id, business_date)
    if view.charged_off:
        raise ConflictError(f"loan {loan_id} is already charged off")
    exposure = view.exposure
    if exposure <= 0:
        raise ValidationError(f"loan {loan_id} owes nothing; there is nothing to write off")
    return _new_concession(
        conn,
        kind="writeoff",
        subtype="charge_off",
        loan_id=loan_id,
        case_id=_case_of_loan(conn, loan_id),
        amount=exposure,
        params={"business_date": business_date.isoformat()},
        maker=maker,
        business_date=business_date,
        action=WRITEOFF_ACTION,
        reason=reason,
    )


def apply_writeoff(conn: Connection, approval: Approval) -> None:
    c = _claim(conn, approval)
    on = date.fromisoformat(c["params"]["business_date"])
    txn_id = f"pl-writeoff-{c['concession_id']}"
    post_transaction(
        conn,
        txn_id=txn_id,
        loan_id=c["loan_id"],
        kind=TxnType.WRITE_OFF,
        amount=int(c["amount"]),
        value_date=on,
        channel="collections",
    )
    case_state = None
    case_id = c["case_id"] or _case_of_loan(conn, c["loan_id"])
    if case_id is not None:
        case = sv.get_case(conn, case_id)
        others = [x for x in case.loan_ids if x != c["loan_id"]]
        if case.state in OPEN_STATES and not others:
            case_state = _move_case(
                conn, case_id, CaseState.WRITTEN_OFF, approval.checker or "system", on, "write-off"
            )
    _applied(
        conn,
        c,
        approval,
        {"txn_id": txn_id, "amount": int(c["amount"]), "case_state": case_state},
        on,
        txn_id,
    )


def register() -> None:
    from postloan.security.approvals import register_default

    register_default(RESTRUCTURE_ACTION, apply_restructuring)
    register_default(WAIVER_ACTION, apply_waiver)
    register_default(WRITEOFF_ACTION, apply_writeoff)
