"""Case services: optimistic locking (two collectors, one conflict, on SQLite and
PostgreSQL), contact outcomes, promises kept or broken from posted payments
(a payment posted while the case is edited is not lost), audit entries."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select

from postloan.collections import service as sv
from postloan.collections.daily import DayReport, evaluate_promises
from postloan.collections.settings import CollectionsSettings
from postloan.collections.states import CaseState
from postloan.commands.demo import sample_feeds_dir
from postloan.domain.errors import ConflictError, IllegalTransition
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store.tables import Transaction
from postloan.store.tables_audit import AuditEntry
from postloan.store.tables_contact import ContactOutbox

D = date(2026, 12, 1)  # after the sample book's last payment


@pytest.fixture
def case_id(store: Store) -> int:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    with store.begin() as conn:
        return sv.open_case(conn, borrower_id="B0030", loan_ids=["L00030"], business_date=D)


def pay(store: Store, txn_id: str, amount: int, on: date) -> None:
    with store.begin() as conn:
        conn.execute(
            insert(Transaction.__table__).values(
                txn_id=txn_id, loan_id="L00030", type="repayment", amount=amount, value_date=on
            )
        )


def test_one_open_case_per_borrower(store: Store, case_id: int) -> None:
    with store.begin() as conn:
        again = sv.open_case(conn, borrower_id="B0030", loan_ids=["L00031"], business_date=D)
        assert again == case_id
        assert sv.get_case(conn, case_id).loan_ids == ("L00030", "L00031")


def test_two_collectors_same_version_exactly_one_conflict(store: Store, case_id: int) -> None:
    barrier = threading.Barrier(2)
    results: list[str] = []

    def work(name: str) -> None:
        try:
            with store.begin() as conn:
                sv.get_case(conn, case_id)
                barrier.wait(timeout=10)
                sv.log_contact(
                    conn,
                    case_id,
                    "right_party",
                    collector=name,
                    expected_version=1,
                    business_date=D,
                )
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=work, args=(n,)) for n in ("c1", "c2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["conflict", "ok"]
    with store.begin() as conn:
        case = sv.get_case(conn, case_id)
        assert (case.state, case.version) == (CaseState.CONTACTED, 2)
        with pytest.raises(ConflictError, match="reload it"):
            sv.transition(conn, case_id, "hardship", expected_version=1, actor="c1")


def test_illegal_transitions_are_refused_and_transitions_audited(
    store: Store, case_id: int
) -> None:
    with store.begin() as conn:
        with pytest.raises(IllegalTransition, match="cannot move to closed"):
            sv.transition(conn, case_id, "closed", expected_version=1, actor="c1")
        sv.transition(conn, case_id, "hardship", expected_version=1, actor="c1", business_date=D)
        audit = AuditEntry.__table__
        actions = conn.execute(
            select(audit.c.action).where(audit.c.object_id == str(case_id))
        ).scalars()
        assert list(actions) == ["case.open", "case.transition"]


def test_a_payment_posted_while_the_case_is_edited_keeps_the_promise(
    store: Store, case_id: int
) -> None:
    with store.begin() as conn:
        sv.record_promise(
            conn,
            case_id,
            amount=100_000,
            promised_date=D + timedelta(days=3),
            collector="c1",
            expected_version=1,
            business_date=D,
        )
    posted = threading.Event()

    def post_payment() -> None:
        pay(store, "T-PTP-1", 96_000, D + timedelta(days=1))
        posted.set()

    with store.begin() as conn:  # a collector is editing the case meanwhile
        sv.log_contact(
            conn, case_id, "no_answer", collector="c1", expected_version=2, business_date=D
        )
        payer = threading.Thread(target=post_payment)
        payer.start()
        posted.wait(timeout=0.5)
    payer.join(timeout=60)
    assert posted.is_set()
    report = DayReport()
    with store.begin() as conn:
        evaluate_promises(conn, D + timedelta(days=2), CollectionsSettings(), report)
        case = sv.get_case(conn, case_id)
        promise = conn.execute(select(sv.PROMISES)).one()
    assert report.promises_kept == 1 and promise.state == "kept" and promise.paid == 96_000
    assert case.state == CaseState.CONTACTED


def test_a_missed_promise_is_broken_after_the_grace_days(store: Store, case_id: int) -> None:
    with store.begin() as conn:
        sv.record_promise(
            conn,
            case_id,
            amount=100_000,
            promised_date=D + timedelta(days=3),
            collector="c1",
            expected_version=1,
            business_date=D,
        )
    with store.begin() as conn:  # the borrower gets the promise in writing
        outbox = conn.execute(
            select(ContactOutbox.template, ContactOutbox.variables, ContactOutbox.state)
        ).all()
    assert [(o.template, o.state) for o in outbox] == [("promise_confirmation", "queued")]
    assert json.loads(outbox[0].variables)["promised_amount"] == 100_000
    pay(store, "T-PTP-2", 50_000, D + timedelta(days=2))  # too little
    report = DayReport()
    with store.begin() as conn:
        evaluate_promises(conn, D + timedelta(days=6), CollectionsSettings(), report)
        assert report.promises_broken == 0  # grace: 3 days after the promised date
        evaluate_promises(conn, D + timedelta(days=7), CollectionsSettings(), report)
        assert report.promises_broken == 1
        assert sv.get_case(conn, case_id).state == CaseState.BROKEN_PROMISE
        promise = conn.execute(select(sv.PROMISES)).one()
    assert (promise.state, promise.paid) == ("broken", 50_000)


def test_cases_cli_show_contact_promise_and_a_stale_version(store: Store, case_id: int) -> None:
    from typer.testing import CliRunner

    from postloan.cli import _register, app

    _register()
    runner = CliRunner()
    env = {"POSTLOAN_LANG": "en"}
    listed = runner.invoke(app, ["cases", "list", "--json"], env=env)
    assert listed.exit_code == 0
    assert [c["case_id"] for c in json.loads(listed.output)] == [case_id]
    common = ["--user", "c1", "--date", D.isoformat()]
    contact = ["cases", "contact", str(case_id), "--outcome", "right_party", "--version", "1"]
    assert runner.invoke(app, [*contact, *common], env=env).exit_code == 0
    stale = runner.invoke(app, [*contact, *common], env=env)
    assert isinstance(stale.exception, ConflictError) and stale.exception.exit_code == 5
    by = (D + timedelta(days=5)).isoformat()
    promise = ["cases", "promise", str(case_id), "--amount", "1200.50", "--by", by]
    done = runner.invoke(app, [*promise, "--version", "2", *common], env=env)
    assert done.exit_code == 0 and "recorded" in done.output
    shown = json.loads(runner.invoke(app, ["cases", "show", str(case_id), "--json"]).output)
    assert (shown["state"], shown["version"], shown["loan_ids"]) == (
        "promise_to_pay",
        3,
        ["L00030"],
    )
    with store.begin() as conn:
        assert conn.execute(select(sv.PROMISES.c.amount)).scalar_one() == 120_050
