"""`postloan user …` and `postloan approvals …` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from api_fixtures import T0, write_test_config
from sqlalchemy import text
from typer.testing import CliRunner

from postloan.cli import _register, app, main
from postloan.config import load_settings
from postloan.domain.errors import PermissionDenied, ValidationError
from postloan.security.config import load_security_policy
from postloan.security.users import check_login
from postloan.store import open_store

_register()
runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def fails(error: type[Exception], *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, error), (result.exception, result.output)
    return str(result.exception)


def test_user_and_role_change_through_the_cli(database_url: str, postloan_home: Path) -> None:
    write_test_config(postloan_home)
    assert "added" in cli("user", "add", "al", "--role", "admin", "--password", "secret-pw1")
    cli("user", "add", "ada", "--role", "admin", "--password", "secret-pw1", "--user", "al")
    cli("user", "add", "cora", "--role", "collector", "--team", "east", "--capacity", "40")
    users = json.loads(cli("user", "list", "--json"))
    assert [(u["username"], u["role"]) for u in users] == [
        ("ada", "admin"),
        ("al", "admin"),
        ("cora", "collector"),
    ]
    assert users[2]["capacity"] == 40 and "password" not in json.dumps(users)
    fails(ValidationError, "user", "add", "bob", "--role", "boss")
    fails(ValidationError, "user", "add", "bob", "--role", "legal", "--password", "short")
    fails(PermissionDenied, "user", "add", "bob", "--role", "legal", "--user", "cora")
    out = cli("user", "set-role", "cora", "--role", "supervisor", "--user", "al", "--reason", "x")
    approval_id = out.split()[1]
    pending = json.loads(cli("approvals", "list", "--json"))
    assert [a["id"] for a in pending] == [int(approval_id)]
    mine = json.loads(cli("approvals", "list", "--mine", "--user", "al", "--json"))
    assert len(mine) == 1
    assert "cannot be the maker" in fails(
        PermissionDenied, "approvals", "approve", approval_id, "--user", "al"
    )
    assert "applied" in cli("approvals", "approve", approval_id, "--user", "ada")
    assert json.loads(cli("user", "list", "--json"))[2]["role"] == "supervisor"
    key = cli("user", "api-key", "cora", "--user", "al").strip()
    assert key.startswith("pl_")
    cli("user", "disable", "cora", "--user", "ada", "--reason", "left")
    assert json.loads(cli("user", "list", "--json"))[2]["active"] is False
    cli("user", "enable", "cora", "--user", "ada")
    cli("user", "set-password", "cora", "--password", "new-secret-1", "--user", "al")
    assert json.loads(cli("user", "list", "--json"))[2]["active"] is True
    store = open_store(load_settings())
    try:
        with store.begin() as conn:
            logged = {
                r[0]
                for r in conn.execute(text("SELECT action FROM audit_entries WHERE actor = 'ada'"))
            }
            policy = load_security_policy()
            login = check_login(conn, "cora", "new-secret-1", now=T0, policy=policy)
    finally:
        store.close()
    assert {"approval.approve", "user.role_change", "user.disable", "user.enable"} <= logged
    assert login.reason == "ok"


def test_reject_needs_a_reason_and_errors_exit_cleanly(
    database_url: str,
    postloan_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("CLI plumbing only; decide() on PostgreSQL: test_security_approvals")
    write_test_config(postloan_home)
    cli("user", "add", "al", "--role", "admin")
    cli("user", "add", "ada", "--role", "admin")
    cli("user", "add", "cora", "--role", "collector")
    approval_id = cli("user", "set-role", "cora", "--role", "legal", "--user", "al").split()[1]
    result = runner.invoke(app, ["approvals", "reject", approval_id, "--user", "ada"])
    assert result.exit_code == 2  # --reason is required
    assert "rejected" in cli("approvals", "reject", approval_id, "--user", "ada", "--reason", "no")
    monkeypatch.setattr(
        sys, "argv", ["postloan", "approvals", "approve", approval_id, "--user", "ada"]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 5  # ConflictError: already decided
    err = capsys.readouterr().err
    assert "already rejected" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["serve", "--help"], ["approvals", "--help"]])
def test_help(args: list[str]) -> None:
    assert "Usage" in cli(*args)
