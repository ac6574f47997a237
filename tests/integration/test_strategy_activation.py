"""Strategy files on the command line, and maker-checker activation through approvals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from postloan.batch.pipeline import run_date
from postloan.cli import _register, app
from postloan.collections.activation import STRATEGIES, active_strategy, propose_activation
from postloan.collections.strategy_io import default_text
from postloan.commands.demo import sample_feeds_dir
from postloan.domain.errors import PermissionDenied, ValidationError
from postloan.feeds.importer import import_directory
from postloan.security.approvals import decide
from postloan.security.users import add_user
from postloan.store import Store
from postloan.store.tables_audit import AuditEntry

_register()
NEW = default_text().replace('version: "default-1"', 'version: "2026.11-2"')


@pytest.fixture
def people(store: Store) -> Store:
    with store.begin() as conn:
        for name in ("rm1", "rm2"):
            add_user(conn, username=name, role="risk_manager", password=None)
        add_user(conn, username="col1", role="collector", password=None)
    return store


def test_activation_needs_a_second_risk_manager(people: Store) -> None:
    with people.begin() as conn:
        assert active_strategy(conn).version == "default-1"
        approval_id = propose_activation(conn, NEW, "new.yaml", user="rm1")
        assert active_strategy(conn).version == "default-1"  # not before approval
    with people.begin() as conn, pytest.raises(PermissionDenied):
        decide(conn, approval_id, checker="rm1", approve=True, reason=None)
    with people.begin() as conn:
        decide(conn, approval_id, checker="rm2", approve=True, reason="reviewed dry run")
        assert active_strategy(conn).version == "2026.11-2"
        row = conn.execute(select(STRATEGIES).where(STRATEGIES.c.version == "2026.11-2")).one()
        assert (row.status, row.proposed_by, row.activated_by) == ("active", "rm1", "rm2")
        audit = AuditEntry.__table__
        actions = set(
            conn.execute(
                select(audit.c.action).where(audit.c.object_type == "collection_strategy")
            ).scalars()
        )
        assert actions == {"strategy.propose", "strategy.activate"}


def test_a_collector_cannot_propose_and_versions_cannot_be_reused(people: Store) -> None:
    with people.begin() as conn, pytest.raises(PermissionDenied):
        propose_activation(conn, NEW, "new.yaml", user="col1")
    with people.begin() as conn:
        propose_activation(conn, NEW, "new.yaml", user="rm1")
    changed = NEW.replace("salt: postloan-default-1", "salt: other")
    with people.begin() as conn, pytest.raises(ValidationError, match="new version"):
        propose_activation(conn, changed, "changed.yaml", user="rm1")


def test_cli_validate_dry_run_and_activate(people: Store, tmp_path: Path) -> None:
    assert import_directory(sample_feeds_dir(), people).rejected == 0
    run_date(people, date(2026, 10, 15))
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(NEW, encoding="utf-8")
    bad.write_text(NEW.replace("priority: 40", "priority: 30"), encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["strategy", "validate", str(good)], env={"POSTLOAN_LANG": "en"})
    assert ok.exit_code == 0 and "is valid (6 segments" in ok.output
    failed = runner.invoke(app, ["strategy", "validate", str(bad)])
    assert failed.exit_code != 0
    assert isinstance(failed.exception, ValidationError)
    assert "high_balance and standard have the same priority 30" in str(failed.exception)
    dry = runner.invoke(app, ["strategy", "dry-run", str(good), "--date", "2026-10-15", "--json"])
    assert dry.exit_code == 0, dry.output
    doc = json.loads(dry.output)
    assert doc["strategy_version"] == "2026.11-2" and doc["loans_considered"] > 0
    assert sum(s["loans"] for s in doc["segments"]) == doc["loans_considered"]
    assert {"action": "sms", "kind": "automated", "due": 1} in doc["actions_due"]
    activated = runner.invoke(
        app, ["strategy", "activate", str(good), "--user", "rm1"], env={"POSTLOAN_LANG": "en"}
    )
    assert activated.exit_code == 0 and "proposed as approval" in activated.output
