"""What the web pages change, with authorisation checked here (the service layer of
the UI), not only by hiding buttons: a collector outside their cases gets NotFound,
a role without the permission (the auditor, for every change) PermissionDenied.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from postloan.collections import service
from postloan.collections.concessions import propose_restructuring, propose_waiver
from postloan.domain.errors import ValidationError
from postloan.risk.alerts import get_alert, move_alert
from postloan.security import approvals
from postloan.security.config import SecurityPolicy
from postloan.security.permissions import APPROVAL_KINDS, approval_kind
from postloan.security.scope import authorize, authorize_object
from postloan.security.users import User, add_user, list_users, set_active


def log_contact(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    outcome: str,
    channel: str,
    note: str | None,
    expected_version: int,
    on: date,
) -> int:
    authorize_object(conn, user, "contact.log", "case", str(case_id))
    return service.log_contact(
        conn,
        case_id,
        outcome,
        collector=user.username,
        expected_version=expected_version,
        business_date=on,
        channel=channel,
        note=note or None,
        role=user.role,
    )


def record_promise(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    amount_minor: int,
    promised_date: date,
    expected_version: int,
    on: date,
) -> int:
    authorize_object(conn, user, "promise.create", "case", str(case_id))
    return service.record_promise(
        conn,
        case_id,
        amount=amount_minor,
        promised_date=promised_date,
        collector=user.username,
        expected_version=expected_version,
        business_date=on,
        role=user.role,
    )


def propose_case_restructuring(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    loan_id: str,
    kind: str,
    periods: int,
    on: date,
    reason: str | None,
) -> int:
    authorize_object(conn, user, "restructuring.propose", "case", str(case_id))
    if loan_id not in service.get_case(conn, case_id).loan_ids:
        raise ValidationError(f"loan {loan_id} is not part of case {case_id}")
    return propose_restructuring(
        conn,
        loan_id=loan_id,
        kind=kind,
        params={"periods": periods},
        maker=user.username,
        business_date=on,
        reason=reason,
    )


def propose_case_waiver(
    conn: Connection,
    user: User,
    case_id: int,
    *,
    loan_id: str,
    kind: str,
    amount_minor: int,
    on: date,
    reason: str | None,
) -> int:
    authorize_object(conn, user, "waiver.propose", "case", str(case_id))
    if loan_id not in service.get_case(conn, case_id).loan_ids:
        raise ValidationError(f"loan {loan_id} is not part of case {case_id}")
    return propose_waiver(
        conn,
        loan_id=loan_id,
        kind=kind,
        amount=amount_minor,
        maker=user.username,
        business_date=on,
        reason=reason,
    )


def acknowledge_alert(
    conn: Connection, user: User, alert_id: int, *, expected_version: int, now: datetime
) -> None:
    move_alert_as(conn, user, alert_id, "acknowledged", expected_version=expected_version, now=now)


def move_alert_as(
    conn: Connection,
    user: User,
    alert_id: int,
    target: str,
    *,
    expected_version: int,
    now: datetime,
    note: str | None = None,
) -> str:
    """Move an alert the person may see (its loan in their scope) to ``target``; the
    new state. The state machine refuses a move it does not allow."""
    authorize(user, "alert.update")
    found = get_alert(conn, alert_id)
    authorize_object(conn, user, "alert.update", "loan", found.loan_id)
    moved = move_alert(
        conn,
        alert_id,
        target,
        user=user.username,
        role=user.role,
        now=now,
        expected_version=expected_version,
        note=note,
    )
    return moved.state


def assignable_collectors(conn: Connection, user: User) -> list[str]:
    """The active collectors a case can go to, for a person who may assign cases."""
    if not user.can("case.assign"):
        return []
    return sorted(u.username for u in list_users(conn, role="collector") if u.active)


def assign_case(
    conn: Connection, user: User, case_id: int, *, collector: str, expected_version: int
) -> None:
    """Give the case and its open tasks to ``collector`` (an active collector), as the
    API does: scope-checked, optimistic-locked, audited."""
    from postloan.api.queries_cases import assign

    assign(conn, user, case_id, collector=collector, expected_version=expected_version)


def may_decide(user: User, approval: approvals.Approval) -> bool:
    """Whether ``user`` holds the approve permission of the proposal's kind (not the maker)."""
    kind = approval_kind(approval.action)
    if kind is None or approval.maker == user.username:
        return False
    return user.can(APPROVAL_KINDS[kind][1])


def waiting_for(conn: Connection, user: User) -> list[approvals.Approval]:
    """Pending proposals ``user`` could decide."""
    authorize(user, "approval.view")
    return [a for a in approvals.list_approvals(conn, state="pending") if may_decide(user, a)]


def decide(
    conn: Connection,
    user: User,
    approval_id: int,
    *,
    approve: bool,
    reason: str | None,
    policy: SecurityPolicy,
    now: datetime,
) -> approvals.Approval:
    authorize(user, "approval.view")
    return approvals.decide(
        conn,
        approval_id,
        checker=user.username,
        approve=approve,
        reason=reason or None,
        policy=policy,
        now=now,
    )


def create_user(
    conn: Connection,
    user: User,
    *,
    username: str,
    role: str,
    password: str,
    team: str | None,
    policy: SecurityPolicy,
    now: datetime,
) -> User:
    authorize(user, "user.manage")
    return add_user(
        conn,
        username=username,
        role=role,
        password=password,
        team=team or None,
        actor=user.username,
        actor_role=user.role,
        policy=policy,
        now=now,
    )


def set_user_active(conn: Connection, user: User, username: str, *, active: bool) -> User:
    authorize(user, "user.manage")
    if username == user.username and not active:
        raise ValidationError("you cannot disable yourself; ask another admin")
    return set_active(conn, username, active, actor=user.username, actor_role=user.role)
