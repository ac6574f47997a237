"""SCORE and ALERTS in the close of business on the sample book (SQLite and
PostgreSQL): alerts raised once per dedup key (a re-run adds nothing), routed,
audited; scores stored per loan and date; a score drop raises an alert; people
move alerts along the state machine with an optimistic version."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from postloan.batch.pipeline import run_date
from postloan.cli import _register, app
from postloan.commands.demo import sample_feeds_dir
from postloan.domain.errors import ConflictError, IllegalTransition
from postloan.feeds.importer import import_directory
from postloan.risk import scoring
from postloan.risk.alerts import list_alerts, move_alert
from postloan.store import Store
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables_audit import AuditEntry
from postloan.store.tables_risk import Alert, LoanScore

_register()
D2 = date(2026, 10, 6)
D3 = date(2026, 10, 7)
D4 = date(2026, 10, 8)
ENTERS = date(2026, 10, 15)  # a sample loan misses its first payment (DPD 0 → 1)


@pytest.fixture
def book(store: Store) -> Store:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    # isolate this steps from the collections strategy
    store.settings.config_file.write_text("eod:\n  disabled: [STRATEGY]\n", encoding="utf-8")
    return store


def alerts(store: Store) -> list[dict[str, Any]]:
    with store.begin() as conn:
        rows = conn.execute(select(Alert.__table__).order_by(Alert.id)).mappings().all()
    return [dict(r) for r in rows]


def test_alerts_raised_once_per_key_routed_and_audited(book: Store) -> None:
    run_date(book, ENTERS)
    first = alerts(book)
    events = SnapshotStore(book.settings.snapshot_dir).read("loan_events", ENTERS)
    entered = set(events.filter(pl.col("event_type") == "entered_delinquency")["loan_id"])
    firsts = [a for a in first if a["rule_id"] == "first_missed_payment"]
    assert entered and {a["loan_id"] for a in firsts} == entered
    for a in first:
        assert a["state"] == "new" and a["version"] == 1 and a["business_date"] == ENTERS
        assert a["alert_key"].startswith(f"{a['rule_id']}:{a['loan_id']}:")
    for a in firsts:
        assert a["owner_role"] == "collector" and a["owner_team"].startswith("collections-M")
    run_date(book, ENTERS)  # re-run: nothing new
    assert alerts(book) == first
    with book.begin() as conn:
        audited = conn.execute(
            select(func.count()).where(AuditEntry.action == "alert.raised")
        ).scalar_one()
    assert audited == len(first)


class FakeScorer:
    """A model stand-in: every loan gets ``points`` (band from the points)."""

    def __init__(self, points: int) -> None:
        self.model_id = f"bscore-fake-{points}"
        self.points = points

    def score(self, frame: pl.DataFrame, *, lang: str = "zh-CN") -> pl.DataFrame:
        band = "B" if self.points >= 580 else "D"
        return frame.select(
            "loan_id",
            pl.lit(1 / (1 + 50 * 2 ** ((self.points - 600) / 20))).alias("probability"),
            pl.lit(self.points, dtype=pl.Int32).alias("score"),
            pl.lit(band).alias("band"),
            pl.lit("max_dpd_12m").alias("reason_1"),
            pl.lit("failed_debits_3m").alias("reason_2"),
            pl.lit(None, dtype=pl.Utf8).alias("reason_3"),
            pl.lit("近12个月最高逾期天数").alias("reason_text_1"),
            pl.lit("近3个月扣款失败次数").alias("reason_text_2"),
            pl.lit(None, dtype=pl.Utf8).alias("reason_text_3"),
        )


def test_scores_stored_per_loan_and_date_and_a_drop_alerts(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    model: dict[str, FakeScorer] = {"bscore": FakeScorer(610)}
    monkeypatch.setattr(scoring, "active_models", lambda _settings: dict(model))
    run_date(book, D2)
    model["bscore"] = FakeScorer(560)
    run_date(book, D3)
    snaps = SnapshotStore(book.settings.snapshot_dir)
    s2, s3 = snaps.read("scores", D2), snaps.read("scores", D3)
    assert s2.height > 0 and set(s2["purpose"]) == {"bscore"}
    assert s3.filter(pl.col("loan_id") == s3["loan_id"][0])["reason_text_en_1"].item() == (
        "highest days past due in the last 12 months"
    )
    with book.begin() as conn:
        stored = conn.execute(
            select(LoanScore.business_date, func.count()).group_by(LoanScore.business_date)
        ).all()
    assert dict(stored) == {D2: s2.height, D3: s3.height}  # every score changed on D3
    run_date(book, D4)  # same scores as D3: nothing new in the database, all in the snapshot
    s4 = snaps.read("scores", D4)
    with book.begin() as conn:
        on_d4 = conn.execute(select(func.count()).where(LoanScore.business_date == D4)).scalar_one()
        loan = s4["loan_id"][0]
        in_force = scoring.score_as_of(conn, loan, "bscore", D4)
    new_loans = set(s4["loan_id"]) - set(s3["loan_id"])
    assert s4.height > 0 and on_d4 == len(new_loans)
    assert in_force is not None and in_force["score"] == 560
    assert in_force["business_date"] == (D4 if loan in new_loans else D3)
    state = snaps.read("loan_state", D3)
    performing = set(state.filter(pl.col("days_past_due") == 0)["loan_id"])
    expected = performing & set(s2["loan_id"]) & set(s3["loan_id"])
    drops = {a["loan_id"] for a in alerts(book) if a["rule_id"] == "score_drop"}
    assert expected and drops == expected
    owners = {a["owner_role"] for a in alerts(book) if a["rule_id"] == "score_drop"}
    assert owners == {"loan_officer"}


def test_no_active_model_scores_nothing(book: Store) -> None:
    run_date(book, D3)
    assert SnapshotStore(book.settings.snapshot_dir).read("scores", D3).height == 0


def test_people_move_alerts_with_a_version_and_audit(book: Store) -> None:
    run_date(book, ENTERS)
    now = datetime(2026, 10, 8, 9, tzinfo=UTC)
    with book.begin() as conn:
        target = list_alerts(conn, state="new")[0]
        acked = move_alert(conn, target.id, "acknowledged", user="li.na", role="collector", now=now)
        assert (acked.state, acked.version) == ("acknowledged", 2)
        with pytest.raises(ConflictError):
            move_alert(
                conn,
                target.id,
                "actioned",
                user="wang.wei",
                role="collector",
                now=now,
                expected_version=1,
            )
        with pytest.raises(IllegalTransition):
            move_alert(conn, target.id, "new", user="li.na", role="collector", now=now)
        move_alert(conn, target.id, "actioned", user="li.na", role="collector", now=now)
        closed = move_alert(
            conn, target.id, "closed", user="li.na", role="collector", now=now, note="paid"
        )
        assert (closed.state, closed.version) == ("closed", 4)
        moves = conn.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.object_type == "alert", AuditEntry.object_id == str(target.id))
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(m) for m in moves] == [
        ("alert.raised", "system"),
        ("alert.acknowledged", "li.na"),
        ("alert.actioned", "li.na"),
        ("alert.closed", "li.na"),
    ]


def test_cli_lists_and_acknowledges(book: Store) -> None:
    from postloan.security.users import add_user

    run_date(book, ENTERS)
    with book.begin() as conn:
        add_user(conn, username="zhang.san", role="supervisor", password=None)
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--state", "new", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert rows and all(r["state"] == "new" for r in rows)
    assert all(isinstance(r["detail"], dict) and "dpd" in r["detail"] for r in rows)
    first = rows[0]
    acked = runner.invoke(app, ["alerts", "ack", str(first["id"]), "--user", "zhang.san"])
    assert acked.exit_code == 0, acked.output
    assert json.loads(acked.output)["state"] == "acknowledged"
    again = runner.invoke(app, ["alerts", "ack", str(first["id"]), "--user", "zhang.san"])
    assert again.exit_code != 0  # acknowledged twice: illegal
    stale = runner.invoke(
        app, ["alerts", "close", str(first["id"]), "--user", "zhang.san", "--version", "1"]
    )
    assert stale.exit_code != 0
    by_owner = runner.invoke(app, ["alerts", "list", "--owner", first["owner_role"], "--json"])
    assert {r["owner_role"] for r in json.loads(by_owner.output)} == {first["owner_role"]}
