"""Users and maker-checker approvals on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from postloan.domain.errors import (
    ConfigError,
    ConflictError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from postloan.security import approvals
from postloan.security.approvals import Approval, decide, get_approval, propose
from postloan.security.config import SecurityPolicy
from postloan.security.roles import Role
from postloan.security.users import (
    add_user,
    check_login,
    create_role_users,
    get_user,
    list_users,
    propose_role_change,
    set_active,
)
from postloan.store import Store

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
APPLIED: list[tuple[int, str]] = []


def audit_rows(conn: Connection, action: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        text("SELECT actor, object_id FROM audit_entries WHERE action = :a ORDER BY id"),
        {"a": action},
    )
    return [(r[0], r[1]) for r in rows]


def _apply_waiver(conn: Connection, approval: Approval) -> None:
    if approval.payload.get("explode"):
        raise ConflictError("the loan moved on; propose again")
    APPLIED.append((approval.id, approval.object_id))


@pytest.fixture
def people(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    # the real handler (collections) comes back afterwards: monkeypatch restores it
    monkeypatch.setitem(approvals._HANDLERS, "waiver.grant", _apply_waiver)
    APPLIED.clear()
    with store.begin() as conn:
        for name, role in [
            ("cora", "collector"),
            ("cody", "collector"),
            ("sue", "supervisor"),
            ("rita", "risk_manager"),
            ("rick", "risk_manager"),
            ("al", "admin"),
            ("ada", "admin"),
            ("audrey", "auditor"),
        ]:
            add_user(conn, username=name, role=role, password=None, team="east", now=NOW)
    yield store


def test_get_user_and_list(people: Store) -> None:
    with people.begin() as conn:
        cora = get_user(conn, "cora")
        assert (cora.username, cora.role, cora.team, cora.active) == (
            "cora",
            "collector",
            "east",
            True,
        )
        assert [u.username for u in list_users(conn, role="admin")] == ["ada", "al"]
        with pytest.raises(NotFound, match="postloan user list"):
            get_user(conn, "nobody")
        with pytest.raises(ConflictError, match="already exists"):
            add_user(conn, username="cora", role="collector", password=None)
        with pytest.raises(ValidationError, match="unknown role"):
            add_user(conn, username="zed", role="boss", password=None)
        with pytest.raises(ValidationError, match="not allowed"):
            add_user(conn, username="system", role="admin", password=None)
        assert audit_rows(conn, "user.create")[0] == ("system", "cora")
        with pytest.raises(ValidationError, match="unknown approval state"):
            approvals.list_approvals(conn, state="done")


def test_approve_applies_in_the_same_transaction_and_is_audited(people: Store) -> None:
    with people.begin() as conn:
        approval_id = propose(
            conn,
            maker="cora",
            action="waiver.grant",
            object_type="loan",
            object_id="L1",
            payload={"penalty_minor": 12_000},
            amount_minor=12_000,
            reason="hardship",
        )
        assert get_approval(conn, approval_id).state == "pending"
    with people.begin() as conn:
        done = decide(conn, approval_id, checker="sue", approve=True, reason="ok")
    assert done.state == "applied" and done.checker == "sue"
    assert APPLIED == [(approval_id, "L1")]
    with people.begin() as conn:
        assert audit_rows(conn, "approval.propose") == [("cora", str(approval_id))]
        assert audit_rows(conn, "approval.approve") == [("sue", str(approval_id))]
        with pytest.raises(ConflictError, match="already applied"):
            decide(conn, approval_id, checker="rita", approve=True, reason=None)


def test_a_failing_handler_rolls_the_decision_back(people: Store) -> None:
    with people.begin() as conn:
        approval_id = propose(
            conn,
            maker="cora",
            action="waiver.grant",
            object_type="loan",
            object_id="L2",
            payload={"explode": True},
        )
    with pytest.raises(ConflictError, match="propose again"), people.begin() as conn:
        decide(conn, approval_id, checker="sue", approve=True, reason=None)
    with people.begin() as conn:
        assert get_approval(conn, approval_id).state == "pending"
        assert audit_rows(conn, "approval.approve") == []


def test_maker_cannot_check_and_limits_hold(people: Store) -> None:
    with people.begin() as conn:
        own = propose(
            conn, maker="sue", action="waiver.grant", object_type="loan", object_id="L3", payload={}
        )
        big = propose(
            conn,
            maker="cora",
            action="waiver.grant",
            object_type="loan",
            object_id="L4",
            payload={},
            amount_minor=5_000_000,
        )
    policy = SecurityPolicy()
    with people.begin() as conn:
        with pytest.raises(PermissionDenied, match="cannot be the maker"):
            decide(conn, own, checker="sue", approve=True, reason=None, policy=policy)
        with pytest.raises(PermissionDenied, match="approval limit"):
            decide(conn, big, checker="sue", approve=True, reason=None, policy=policy)
        with pytest.raises(PermissionDenied, match="waiver.approve"):
            decide(conn, big, checker="cody", approve=True, reason=None, policy=policy)
        with pytest.raises(PermissionDenied, match="waiver.approve"):
            decide(conn, big, checker="audrey", approve=False, reason="no", policy=policy)
        assert decide(conn, big, checker="rita", approve=True, reason=None).state == "applied"


def test_reject_needs_a_reason_and_never_applies(people: Store) -> None:
    with people.begin() as conn:
        approval_id = propose(
            conn,
            maker="cody",
            action="waiver.grant",
            object_type="loan",
            object_id="L5",
            payload={},
        )
        with pytest.raises(ValidationError, match="reason"):
            decide(conn, approval_id, checker="sue", approve=False, reason=" ")
        done = decide(conn, approval_id, checker="sue", approve=False, reason="no hardship shown")
        assert done.state == "rejected" and done.checker_reason == "no hardship shown"
        assert audit_rows(conn, "approval.reject") == [("sue", str(approval_id))]
    assert APPLIED == []


def test_maker_rules(people: Store) -> None:
    with people.begin() as conn:
        with pytest.raises(PermissionDenied, match="writeoff.propose"):
            propose(
                conn,
                maker="cora",
                action="writeoff.apply",
                object_type="loan",
                object_id="L",
                payload={},
            )
        with pytest.raises(NotFound):
            propose(
                conn,
                maker="ghost",
                action="waiver.grant",
                object_type="loan",
                object_id="L",
                payload={},
            )
        set_active(conn, "cody", False, actor="al", actor_role="admin")
        with pytest.raises(PermissionDenied, match="disabled"):
            propose(
                conn,
                maker="cody",
                action="waiver.grant",
                object_type="loan",
                object_id="L",
                payload={},
            )
        assert (
            propose(
                conn,
                maker="system",
                action="writeoff.apply",
                object_type="loan",
                object_id="L",
                payload={"by": "rule"},
            )
            > 0
        )


def test_no_handler_is_a_config_error(people: Store) -> None:
    with people.begin() as conn:
        approval_id = propose(
            conn,
            maker="rita",
            action="strategy.nohandler",
            object_type="strategy",
            object_id="S1",
            payload={},
        )
        with pytest.raises(ConfigError, match="register_handler"):
            decide(conn, approval_id, checker="rick", approve=True, reason=None)


def test_role_change_is_maker_checker(people: Store) -> None:
    with people.begin() as conn:
        approval_id = propose_role_change(conn, "cora", "supervisor", maker="al", reason="promoted")
        assert get_user(conn, "cora").role == "collector"
        with pytest.raises(PermissionDenied, match="cannot be the maker"):
            decide(conn, approval_id, checker="al", approve=True, reason=None)
        with pytest.raises(PermissionDenied, match="role.approve"):
            decide(conn, approval_id, checker="sue", approve=True, reason=None)
        before = get_user(conn, "cora").version
        assert (
            decide(conn, approval_id, checker="ada", approve=True, reason="ok").state == "applied"
        )
        cora = get_user(conn, "cora")
        assert cora.role == "supervisor" and cora.version == before + 1
        assert audit_rows(conn, "user.role_change") == [("ada", "cora")]
        with pytest.raises(PermissionDenied, match="user.manage"):
            propose_role_change(conn, "cody", "admin", maker="sue")


def test_lockout_after_repeated_failures(people: Store) -> None:
    policy = SecurityPolicy(
        lockout_threshold=3, lockout_minutes=15, argon2_time_cost=1, argon2_memory_kib=64
    )
    with people.begin() as conn:
        add_user(
            conn, username="lena", role="legal", password="correct horse", now=NOW, policy=policy
        )
    for attempt in range(3):
        with people.begin() as conn:
            out = check_login(conn, "lena", "wrong", now=NOW, policy=policy)
        assert out.user is None
        assert out.reason == ("locked" if attempt == 2 else "bad_credentials")
    with people.begin() as conn:
        assert check_login(conn, "lena", "correct horse", now=NOW, policy=policy).reason == "locked"
        later = NOW + timedelta(minutes=16)
        ok = check_login(conn, "lena", "correct horse", now=later, policy=policy)
        assert ok.user is not None and ok.user.username == "lena"
        assert check_login(conn, "ghost", "x", now=NOW, policy=policy).reason == "bad_credentials"
        assert len(audit_rows(conn, "auth.login_failed")) == 5
        assert audit_rows(conn, "auth.login") == [("lena", "lena")]


def test_create_role_users_makes_one_per_role(store: Store) -> None:
    cheap = SecurityPolicy(argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1)
    with store.begin() as conn:
        made = create_role_users(conn, policy=cheap)
        assert sorted(role for role, _ in made.values()) == sorted(r.value for r in Role)
        assert create_role_users(conn, policy=cheap) == {}  # idempotent
        name, (_role, password) = next(iter(made.items()))
        assert check_login(conn, name, password, now=NOW, policy=cheap).reason == "ok"
