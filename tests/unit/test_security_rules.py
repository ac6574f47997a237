"""Permissions, roles and the maker-checker rules (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.domain.errors import ConfigError, IllegalTransition, PermissionDenied, ValidationError
from postloan.security.approval_rules import (
    TRANSITIONS,
    ApprovalState,
    check_checker,
    check_maker,
    kind_of,
    move,
)
from postloan.security.config import SecurityPolicy, load_security_policy
from postloan.security.permissions import (
    APPROVAL_KINDS,
    PERMISSIONS,
    has_permission,
    is_read,
    permissions_of,
)
from postloan.security.roles import Role, parse_role

ROLES = [r.value for r in Role]


def test_the_roles_are_those_of_the_design() -> None:
    assert set(ROLES) == {
        "loan_officer",
        "risk_manager",
        "collector",
        "supervisor",
        "legal",
        "auditor",
        "admin",
    }
    assert parse_role(" Collector ") is Role.COLLECTOR
    with pytest.raises(ValidationError, match="use one of"):
        parse_role("boss")


def test_auditor_reads_everything_and_changes_nothing() -> None:
    held = permissions_of("auditor")
    assert held and all(is_read(p) for p in held)
    assert {p for p in PERMISSIONS if is_read(p)} <= set(held)


def test_every_approval_kind_names_existing_permissions() -> None:
    for propose, approve in APPROVAL_KINDS.values():
        assert propose in PERMISSIONS and approve in PERMISSIONS
    assert not has_permission("auditor", "waiver.approve")
    assert has_permission("supervisor", "waiver.approve")
    assert not has_permission("nobody", "case.view")
    assert not has_permission("admin", "no.such")


def test_unknown_approval_action_is_refused() -> None:
    assert kind_of("waiver.grant") == "waiver"
    with pytest.raises(ValidationError, match="not a maker-checker action"):
        kind_of("coffee.order")


def test_maker_needs_the_propose_permission() -> None:
    check_maker("collector", "waiver.grant")
    check_maker("system", "writeoff.apply")
    with pytest.raises(PermissionDenied, match="writeoff.propose"):
        check_maker("collector", "writeoff.apply")


@given(
    user=st.sampled_from(["ann", "bob"]),
    role=st.sampled_from(ROLES),
    amount=st.none() | st.integers(0, 10**10),
    limit=st.none() | st.integers(0, 10**10),
)
def test_the_checker_is_never_the_maker(
    user: str, role: str, amount: int | None, limit: int | None
) -> None:
    with pytest.raises(PermissionDenied, match="checker cannot be the maker"):
        check_checker(
            maker=user,
            checker=user,
            checker_role=role,
            action="waiver.grant",
            amount_minor=amount,
            limit_minor=limit,
        )


@given(amount=st.integers(0, 10**12), limit=st.none() | st.integers(0, 10**12))
def test_amount_limits(amount: int, limit: int | None) -> None:
    allowed = limit is not None and amount <= limit
    try:
        check_checker(
            maker="ann",
            checker="bob",
            checker_role="supervisor",
            action="waiver.grant",
            amount_minor=amount,
            limit_minor=limit,
        )
    except PermissionDenied as err:
        assert not allowed
        assert "approval limit" in str(err)
    else:
        assert allowed


def test_checker_needs_the_approve_permission() -> None:
    with pytest.raises(PermissionDenied, match="waiver.approve"):
        check_checker(
            maker="ann",
            checker="bob",
            checker_role="collector",
            action="waiver.grant",
            amount_minor=None,
            limit_minor=None,
        )


@given(st.sampled_from(list(ApprovalState)), st.sampled_from(list(ApprovalState)))
def test_approval_states_move_only_along_the_table(start: ApprovalState, to: ApprovalState) -> None:
    if to in TRANSITIONS[start]:
        assert move(start, to) is to
    else:
        with pytest.raises(IllegalTransition):
            move(start, to)


def test_security_policy_reads_config(postloan_home: Path) -> None:
    postloan_home.mkdir(parents=True)
    (postloan_home / "config.yaml").write_text(
        "security:\n  lockout_threshold: 3\napprovals:\n  limits:\n    supervisor:\n"
        "      writeoff: 500\n",
        encoding="utf-8",
    )
    policy = load_security_policy()
    assert policy.lockout_threshold == 3
    assert policy.limit("supervisor", "writeoff") == 500
    assert policy.limit("supervisor", "waiver") == SecurityPolicy().limit("supervisor", "waiver")
    (postloan_home / "config.yaml").write_text("security:\n  token_minutes: -1\n")
    with pytest.raises(ConfigError, match="token_minutes"):
        load_security_policy()
