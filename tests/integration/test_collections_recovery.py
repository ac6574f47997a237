"""Second half of issue 6 on SQLite and PostgreSQL: restructurings, waivers, write-offs
(maker-checker with role limits), legal cases, agencies, recoveries, KPIs."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postloan.collections import agencies as ag
from postloan.collections import concessions as cc
from postloan.collections import legal as lg
from postloan.collections import service as sv
from postloan.collections.kpis import collection_kpis
from postloan.collections.servicing import load_loan, post_transaction
from postloan.collections.states import CaseState, LegalState
from postloan.commands.demo import sample_feeds_dir
from postloan.domain.classification import Category
from postloan.domain.errors import (
    ConflictError,
    IllegalTransition,
    PermissionDenied,
    ValidationError,
)
from postloan.domain.loan_state import LoanStatus
from postloan.domain.transactions import TxnType
from postloan.feeds.importer import import_directory
from postloan.security.approvals import decide
from postloan.security.config import SecurityPolicy
from postloan.security.users import add_user
from postloan.store import Store
from postloan.store import tables_collections as tc
from postloan.store.tables import Borrower
from postloan.store.tables_audit import AuditEntry

D = date(2026, 12, 1)  # L00030 is 38 days past due, L00001 27 (sample book)


@pytest.fixture
def book(store: Store) -> Store:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    with store.begin() as conn:
        for name, role in (
            ("col1", "collector"),
            ("sup1", "supervisor"),
            ("sup2", "supervisor"),
            ("rm1", "risk_manager"),
            ("law1", "legal"),
        ):
            add_user(conn, username=name, role=role, password=None)
        sv.open_case(conn, borrower_id="B0030", loan_ids=["L00030"], business_date=D)
        sv.open_case(conn, borrower_id="B0001", loan_ids=["L00001"], business_date=D)
    return store


def _approval(store: Store, concession_id: int) -> int:
    with store.begin() as conn:
        return int(cc.get_concession(conn, concession_id)["approval_id"])


def _audit_actions(store: Store, object_type: str) -> set[str]:
    a = AuditEntry.__table__
    with store.begin() as conn:
        return set(conn.execute(select(a.c.action).where(a.c.object_type == object_type)).scalars())


def test_restructuring_needs_a_checker_and_sets_the_classification_floor(book: Store) -> None:
    with book.begin() as conn:
        before = load_loan(conn, "L00030", D).state
        concession = cc.propose_restructuring(
            conn,
            loan_id="L00030",
            kind="extension",
            params={"periods": 9, "capitalise_arrears": True},
            maker="col1",
            business_date=D,
        )
        proposal = cc.get_concession(conn, concession)
        assert proposal["params"]["capitalised"] > before.overdue_principal
    approval = _approval(book, concession)
    with book.begin() as conn, pytest.raises(PermissionDenied):
        decide(conn, approval, checker="col1", approve=True, reason=None)  # maker = checker
    with book.begin() as conn:
        decide(conn, approval, checker="sup1", approve=True, reason="affordable")
    with book.begin() as conn, pytest.raises(ConflictError):
        decide(conn, approval, checker="sup2", approve=True, reason="again")
    with book.begin() as conn:
        applied = cc.get_concession(conn, concession)
        assert applied["state"] == "applied" and applied["result"]["forborne"] is True
        view = load_loan(conn, "L00030", D)
        # arrears capitalised: nothing overdue, principal grew by the arrears
        assert view.state.days_past_due == 0
        assert view.state.principal_outstanding == applied["result"]["new_principal"]
        assert view.state.classification is Category.SPECIAL_MENTION
        assert "restructured_observation" in view.state.classification_reasons
        versions = conn.execute(
            select(func.count()).select_from(tc.ScheduleVersion.__table__)
        ).scalar_one()
        assert versions == 1
        case = sv.get_case(conn, sv.open_case_of(conn, "B0030") or 0)
        assert case.state is CaseState.RESTRUCTURING
        # the borrower pays the first three new instalments on their due dates …
        new = [i for i in view.schedule if i.due_date >= D][:3]
        for inst in new:
            post_transaction(
                conn,
                txn_id=f"t-{inst.seq}",
                loan_id="L00030",
                kind=TxnType.REPAYMENT,
                amount=inst.total,
                value_date=inst.due_date,
                channel="app",
            )
        # … and the loan is still at least 关注: the observation period lasts 12 months
        later = load_loan(conn, "L00030", new[-1].due_date + timedelta(days=5)).state
        assert later.days_past_due == 0
        assert later.classification.rank >= Category.SPECIAL_MENTION.rank
        assert "restructured_observation" in later.classification_reasons
    assert {"restructuring.propose", "restructuring.apply"} <= _audit_actions(
        book, "collection_concession"
    )


def test_a_close_of_business_sees_the_approved_restructuring(book: Store) -> None:
    from postloan.batch.pipeline import ensure_book, run_date
    from postloan.collections.servicing import refresh_book_if_stale
    from postloan.store.tables import LoanStateCurrent

    ensure_book(book)  # the mirror as an import leaves it
    with book.begin() as conn:
        concession = cc.propose_restructuring(
            conn,
            loan_id="L00030",
            kind="extension",
            params={"periods": 9, "capitalise_arrears": True},
            maker="col1",
            business_date=D,
        )
    with book.begin() as conn:
        decide(conn, _approval(book, concession), checker="sup1", approve=True, reason=None)
    assert refresh_book_if_stale(book)  # the approval changed schedules and marks
    assert not refresh_book_if_stale(book)
    run_date(book, D)
    s = LoanStateCurrent.__table__
    with book.begin() as conn:
        row = conn.execute(select(s).where(s.c.loan_id == "L00030")).one()
    assert (row.days_past_due, row.classification) == (0, "special_mention")


def test_restructuring_checks_affordability(book: Store) -> None:
    with book.begin() as conn, pytest.raises(ValidationError, match="not affordable"):
        cc.propose_restructuring(
            conn,
            loan_id="L00030",
            kind="capitalisation",
            params={},
            maker="col1",
            business_date=D,
        )
    with book.begin() as conn:
        b = Borrower.__table__
        conn.execute(b.update().where(b.c.borrower_id == "B0030").values(monthly_income=None))
    with book.begin() as conn, pytest.raises(ValidationError, match="record the income"):
        cc.propose_restructuring(
            conn,
            loan_id="L00030",
            kind="extension",
            params={"periods": 6},
            maker="col1",
            business_date=D,
        )


def test_waiver_limits_by_role(book: Store) -> None:
    with book.begin() as conn:
        penalty = load_loan(conn, "L00001", D).state.penalty_outstanding
        with pytest.raises(ValidationError, match="exceeds"):
            cc.propose_waiver(
                conn,
                loan_id="L00001",
                kind="penalty",
                amount=penalty + 1,
                maker="col1",
                business_date=D,
            )
        with pytest.raises(ValidationError, match="waiver_components"):
            cc.propose_waiver(
                conn,
                loan_id="L00001",
                kind="principal",
                amount=100,
                maker="col1",
                business_date=D,
            )
        concession = cc.propose_waiver(
            conn,
            loan_id="L00001",
            kind="penalty",
            amount=penalty,
            maker="col1",
            business_date=D,
            reason="hardship",
        )
    approval = _approval(book, concession)
    tight = SecurityPolicy(
        approval_limits={"supervisor": {"waiver": penalty - 1}, "risk_manager": {"waiver": 10**7}}
    )
    with book.begin() as conn, pytest.raises(PermissionDenied):
        decide(conn, approval, checker="sup1", approve=True, reason=None, policy=tight)
    with book.begin() as conn:
        decide(conn, approval, checker="rm1", approve=True, reason="ok", policy=tight)
        state = load_loan(conn, "L00001", D).state
        assert state.waived == penalty  # only the day's new accrual is left
        assert state.penalty_outstanding < penalty
        assert cc.get_concession(conn, concession)["txn_id"] == f"pl-waiver-{concession}"


def test_legal_case_recoveries_and_rate(book: Store) -> None:
    with book.begin() as conn:
        legal_id = lg.refer(
            conn,
            loan_id="L00001",
            actor="law1",
            business_date=D,
            court="Shanghai Pudong",
            firm="Example LLP",
            cost=20_000,
        )
        case = sv.get_case(conn, sv.open_case_of(conn, "B0001") or 0)
        assert case.state is CaseState.LEGAL
        exposure = lg.get_legal(conn, legal_id)["exposure_at_referral"]
        assert exposure == load_loan(conn, "L00001", D).exposure
        with pytest.raises(ConflictError):
            lg.refer(conn, loan_id="L00001", actor="law1", business_date=D)
        with pytest.raises(PermissionDenied):
            lg.advance(conn, legal_id, "filed", expected_version=1, actor="sup1", business_date=D)
        with pytest.raises(ValidationError, match="after filing"):
            lg.record_recovery(conn, legal_id, amount=100, value_date=D, actor="law1")
        version = 1
        for target, cost in (("filed", 30_000), ("hearing", 0), ("judgment", 10_000)):
            version = lg.advance(
                conn,
                legal_id,
                target,
                expected_version=version,
                actor="law1",
                business_date=D + timedelta(days=version),
                cost=cost,
            )["version"]
        with pytest.raises(ConflictError):
            lg.advance(
                conn, legal_id, "enforcement", expected_version=1, actor="law1", business_date=D
            )
        with pytest.raises(IllegalTransition):
            lg.advance(
                conn, legal_id, "filed", expected_version=version, actor="law1", business_date=D
            )
        first = lg.record_recovery(
            conn,
            legal_id,
            amount=200_000,
            value_date=D + timedelta(days=10),
            actor="law1",
            reference="court-1",
        )
        again = lg.record_recovery(
            conn,
            legal_id,
            amount=200_000,
            value_date=D + timedelta(days=10),
            actor="law1",
            reference="court-1",
        )
        assert first == again  # idempotent by reference
        row = lg.get_legal(conn, legal_id)
        assert (row["state"], row["cost"], row["recovered"]) == ("judgment", 60_000, 200_000)
        assert row["filed_on"] == D + timedelta(days=1)
        state = load_loan(conn, "L00001", D + timedelta(days=10)).state
        assert state.days_past_due == 0  # the recovery paid the arrears
        kpis = collection_kpis(conn, D + timedelta(days=10))
        assert kpis["litigation_recovery_rate"] == lg.recovery_rate(200_000, 60_000, exposure)
        assert kpis["recoveries_by_source"]["legal"] == "2000.00"
        assert kpis["recovered_amount"] == "2000.00"
        expected = {
            "days_to_first_action",
            "ptp_kept_rate",
            "cure_rate",
            "cost_per_account",
            "recovered_amount",
            "litigation_recovery_rate",
            "champion_challenger",
            "cost_per_unit_recovered",
        }
        assert expected <= set(kpis)
        lg.advance(
            conn,
            legal_id,
            LegalState.CLOSED,
            expected_version=version,
            actor="law1",
            business_date=D + timedelta(days=20),
        )
    assert {"legal.refer", "legal.transition"} <= _audit_actions(book, "legal_case")


def test_write_off_then_recoveries_are_tracked_apart(book: Store) -> None:
    with book.begin() as conn:
        with pytest.raises(PermissionDenied):
            cc.propose_writeoff(conn, loan_id="L00030", maker="col1", business_date=D)
        concession = cc.propose_writeoff(
            conn, loan_id="L00030", maker="sup1", business_date=D, reason="uncollectable"
        )
    approval = _approval(book, concession)
    with book.begin() as conn, pytest.raises(PermissionDenied):
        decide(conn, approval, checker="sup2", approve=True, reason=None)  # no writeoff limit
    with book.begin() as conn:
        decide(conn, approval, checker="rm1", approve=True, reason="board minute 12")
        assert load_loan(conn, "L00030", D).state.status is LoanStatus.CHARGED_OFF
        case_id = conn.execute(
            select(sv.CASE_LOANS.c.case_id).where(sv.CASE_LOANS.c.loan_id == "L00030")
        ).scalar_one()
        assert sv.get_case(conn, case_id).state is CaseState.WRITTEN_OFF
        legal_id = lg.refer(conn, loan_id="L00030", actor="law1", business_date=D)
        lg.advance(conn, legal_id, "filed", expected_version=1, actor="law1", business_date=D)
        lg.record_recovery(
            conn, legal_id, amount=50_000, value_date=D + timedelta(days=3), actor="law1"
        )
        state = load_loan(conn, "L00030", D + timedelta(days=3)).state
        assert state.recovered == 50_000
        kpis = collection_kpis(conn, D + timedelta(days=3))
        assert kpis["recovered_after_write_off"] == "500.00"


def test_agencies_placement_export_has_no_national_id(book: Store) -> None:
    with book.begin() as conn:
        with pytest.raises(PermissionDenied, match="legal.manage"):
            ag.place(conn, agency_id="AG1", loan_id="L00030", actor="col1", business_date=D)
        ag.register_agency(
            conn,
            agency_id="AG1",
            name="Agency One",
            commission_rate="0.15",
            actor="law1",
            listed_on=D,
        )
        with pytest.raises(ValidationError, match="not on the register"):
            ag.place(conn, agency_id="AG9", loan_id="L00030", actor="law1", business_date=D)
        placement = ag.place(conn, agency_id="AG1", loan_id="L00030", actor="law1", business_date=D)
        with pytest.raises(ConflictError):
            ag.place(conn, agency_id="AG1", loan_id="L00030", actor="law1", business_date=D)
        text, count = ag.placement_export(conn, book.cipher, "AG1", D, actor="law1")
        borrower = conn.execute(
            select(Borrower.__table__).where(Borrower.__table__.c.borrower_id == "B0030")
        ).one()
        national_id = book.cipher.decrypt("national_id", borrower.national_id_enc)
        phone = book.cipher.decrypt("phone", borrower.phone_enc)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count == 1 and list(rows[0]) == list(ag.EXPORT_COLUMNS)
    assert national_id not in text and national_id[-4:] + "," not in text
    assert phone not in text and rows[0]["phone"].count("*") == 4
    assert borrower.name not in text and rows[0]["borrower_name"].startswith(borrower.name[0])
    with book.begin() as conn:
        ag.record_collection(
            conn, placement, amount=10_001, value_date=D + timedelta(days=2), actor="law1"
        )
        p = ag.get_placement(conn, placement)
        assert (p["collected"], p["commission"]) == (10_001, 1500)
        ag.recall(conn, placement, expected_version=1, actor="law1", business_date=D)
        with pytest.raises(ValidationError, match="recalled"):
            ag.record_collection(conn, placement, amount=5, value_date=D, actor="law1")
        with pytest.raises(IllegalTransition):
            ag.recall(conn, placement, expected_version=2, actor="law1", business_date=D)
    assert {"agency.place", "agency.export", "agency.recall"} <= _audit_actions(
        book, "agency_placement"
    ) | _audit_actions(book, "agency")


def test_cli_restructure_approve_legal_and_agency_export(book: Store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from postloan.cli import _register, app

    _register()
    runner = CliRunner()
    env = {"POSTLOAN_LANG": "en"}
    day = ["--date", D.isoformat()]
    proposed = runner.invoke(
        app,
        [
            "restructure",
            "L00030",
            "--kind",
            "extension",
            "--periods",
            "9",
            "--capitalise-arrears",
            "--user",
            "col1",
            *day,
        ],
        env=env,
    )
    assert proposed.exit_code == 0, proposed.output
    assert "approval" in proposed.output and "is pending" in proposed.output
    approval_id = proposed.output.split("approval ")[1].split()[0]
    approved = runner.invoke(app, ["approvals", "approve", approval_id, "--user", "sup1"], env=env)
    assert approved.exit_code == 0, approved.output
    listed = runner.invoke(app, ["concessions", "list", "--json"], env=env)
    assert json.loads(listed.output)[0]["state"] == "applied"
    refused = runner.invoke(
        app,
        ["waive", "L00001", "--kind", "penalty", "--amount", "99999", "--user", "col1", *day],
        env=env,
    )
    assert refused.exit_code != 0 and isinstance(refused.exception, ValidationError)
    referred = runner.invoke(
        app, ["legal", "refer", "L00001", "--user", "law1", "--cost", "200", *day], env=env
    )
    assert referred.exit_code == 0 and "legal case 1 opened" in referred.output
    illegal = runner.invoke(
        app,
        ["legal", "advance", "1", "--to", "judgment", "--user", "law1", "--version", "1", *day],
        env=env,
    )
    assert illegal.exit_code != 0 and isinstance(illegal.exception, IllegalTransition)
    for args in (
        ["agencies", "add", "AG1", "--name", "One", "--commission", "0.2", "--user", "law1"],
        ["agencies", "place", "L00001", "--agency", "AG1", "--user", "law1"],
        ["agencies", "export", "AG1", "--out", str(tmp_path / "ag1.csv"), "--user", "law1"],
    ):
        done = runner.invoke(app, [*args, *day], env=env)
        assert done.exit_code == 0, done.output
    text = (tmp_path / "ag1.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(ag.EXPORT_COLUMNS) and "L00001" in text
