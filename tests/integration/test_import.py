"""`postloan import`: end to end on SQLite and PostgreSQL, with the bad-file corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Connection
from typer.testing import CliRunner

from postloan.cli import _register, app
from postloan.domain.errors import FeedError
from postloan.feeds.importer import ImportReport, import_directory
from postloan.store import Store
from postloan.store.repository import get_loan_flags, get_transactions

FEEDS = Path(__file__).parents[1] / "data" / "feeds"
DATA_TABLES = {
    "borrowers": "borrower_id",
    "borrower_contacts": "borrower_id, kind, name",
    "loans": "loan_id",
    "schedule_instalments": "loan_id, seq",
    "transactions": "txn_id",
    "held_transactions": "txn_id",
    "loan_marks": "mark_id",
    "loan_flags": "loan_id, rule",
}


def dump(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every data table (not the run log), ciphertext included."""
    out = {}
    for table, order in DATA_TABLES.items():
        rows = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}").all()
        out[table] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]
    return out


def count(conn: Connection, sql: str) -> int:
    return int(conn.exec_driver_sql(sql).scalar() or 0)


def by_feed(report: ImportReport) -> dict[str, tuple[int, int, int, int]]:
    return {f.feed: (f.rows, f.loaded, f.held, f.rejected) for f in report.files}


def copy_feeds(tmp_path: Path, *names: str) -> Path:
    target = tmp_path / "in"
    target.mkdir(exist_ok=True)
    for name in names:
        for f in (FEEDS / name).iterdir():
            shutil.copy(f, target / f.name)
    return target


def test_good_feeds_load_completely(store: Store) -> None:
    report = import_directory(FEEDS / "good", store)
    assert by_feed(report) == {
        "borrowers": (3, 3, 0, 0),
        "contacts": (3, 3, 0, 0),
        "loans": (4, 4, 0, 0),
        "schedules": (3, 3, 0, 0),
        "loan_marks": (1, 1, 0, 0),
        "transactions": (5, 5, 0, 0),
    }
    assert report.rejected == 0 and report.quarantine_dir is None
    with store.begin() as conn:
        sources = dict(conn.exec_driver_sql("SELECT loan_id, schedule_source FROM loans").all())
        assert sources == {"L001": "generated", "L002": "generated", "L003": "generated"} | {
            "L004": "feed"
        }
        assert count(conn, "SELECT count(*) FROM schedule_instalments WHERE loan_id='L001'") == 12
        # USD loan: 9% written as a percentage, normalised
        assert conn.exec_driver_sql(
            "SELECT annual_rate, principal FROM loans WHERE loan_id='L003'"
        ).one() == ("0.09", 300000)
        run = conn.exec_driver_sql("SELECT status, rows, loaded, rejected FROM import_runs").one()
        assert tuple(run) == ("done", 19, 19, 0)
        assert count(conn, "SELECT count(*) FROM loan_flags") == 0


def test_importing_the_same_directory_twice_changes_nothing(store: Store) -> None:
    import_directory(FEEDS / "good", store)
    with store.begin() as conn:
        before = dump(conn)
    again = import_directory(FEEDS / "good", store)
    assert {f.status for f in again.files} == {"skipped"}
    with store.begin() as conn:
        assert dump(conn) == before
    forced = import_directory(FEEDS / "good", store, force=True)
    assert {f.status for f in forced.files} == {"loaded"}
    with store.begin() as conn:
        after = dump(conn)
        # rows carry the run that last wrote them; everything else is byte-identical,
        # ciphertexts included (unchanged values are not re-encrypted)
        assert after.keys() == before.keys()
        assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
        assert after["schedule_instalments"] == before["schedule_instalments"]
        enc = "SELECT national_id_enc, phone_enc, address_enc FROM borrowers ORDER BY 1"
        assert [tuple(map(bytes, r)) for r in conn.exec_driver_sql(enc).all() if None not in r]


def test_changed_file_updates_rows_in_place(store: Store, tmp_path: Path) -> None:
    src = copy_feeds(tmp_path, "good")
    import_directory(src, store)
    loans = (src / "loans.csv").read_text()
    (src / "loans.csv").write_text(
        loans.replace("L001,B001,consumer,12000.00", "L001,B001,consumer,15000.00")
    )
    txns = (src / "transactions.csv").read_text()
    (src / "transactions.csv").write_text(
        txns.replace("T003,L002,repayment,1000.00", "T003,L002,repayment,999.00")
    )
    report = import_directory(src, store)
    assert by_feed(report)["loans"] == (4, 4, 0, 0)
    assert {f.feed for f in report.files if f.status == "skipped"} == {
        "borrowers",
        "contacts",
        "schedules",
        "loan_marks",
    }
    with store.begin() as conn:
        assert count(conn, "SELECT count(*) FROM loans") == 4
        assert count(conn, "SELECT principal FROM loans WHERE loan_id='L001'") == 1500000
        assert (
            count(conn, "SELECT sum(principal_due) FROM schedule_instalments WHERE loan_id='L001'")
            == 1500000
        )
        assert count(conn, "SELECT count(*) FROM transactions") == 5
        assert count(conn, "SELECT amount FROM transactions WHERE txn_id='T003'") == 99900
        # the feed schedule of L004 was kept, not regenerated
        assert count(conn, "SELECT count(*) FROM schedule_instalments WHERE source='feed'") == 3


def test_bad_rows_are_quarantined_with_reasons_and_nothing_is_lost(store: Store) -> None:
    report = import_directory(FEEDS / "bad_rows", store)
    counts = by_feed(report)
    assert counts["loans"] == (8, 2, 0, 6)
    assert counts["schedules"] == (3, 2, 0, 1)
    assert counts["transactions"] == (8, 1, 1, 6)
    for f in report.files:
        assert f.rows == f.loaded + f.held + f.rejected
    assert report.quarantine_dir is not None
    q = report.quarantine_dir
    assert q.parent == store.settings.quarantine_dir and q.name == report.run_id
    rejected = pl.read_csv(q / "loans.rejected.csv", infer_schema=False)
    assert rejected.get_column("source_line").to_list() == ["3", "4", "5", "6", "7", "9"]
    # rows as they appeared, every original column
    assert rejected.row(0)[:4] == ("L002", "B001", "consumer", "-500.00")
    errors = json.loads((q / "loans.errors.json").read_text())
    assert all(set(e) == {"file", "line", "column", "value", "rule", "message"} for e in errors)
    rules = {(e["line"], e["rule"]) for e in errors}
    assert {
        (3, "negative_amount"),
        (4, "not_a_number"),
        (5, "too_many_decimals"),
        (6, "bad_date"),
        (7, "duplicate_key"),
        (9, "first_due_not_after_disbursement"),
    } <= rules
    dup = next(e for e in errors if e["rule"] == "duplicate_key")
    assert "first on line 2" in dup["message"] and dup["value"] == "L001"
    txn_rules = {
        (e["line"], e["rule"]) for e in json.loads((q / "transactions.errors.json").read_text())
    }
    assert {
        (3, "negative_amount"),
        (4, "not_a_number"),
        (5, "unknown_value"),
        (6, "bad_date"),
        (7, "duplicate_key"),
        (8, "reversal_without_target"),
    } == txn_rules
    sched = json.loads((q / "schedules.errors.json").read_text())
    assert [(e["line"], e["rule"]) for e in sched] == [(4, "unknown_loan")]
    with store.begin() as conn:
        # loaded but flagged: unknown borrower, schedule not summing to the principal
        flags = get_loan_flags(conn, "L006")
        assert set(flags) == {"unknown_borrower", "schedule_principal_mismatch"}
        assert "190000" in flags["schedule_principal_mismatch"]
        assert count(conn, "SELECT count(*) FROM held_transactions WHERE status='held'") == 1
    assert (q / "loans.rejected.csv").stat().st_mode & 0o777 == 0o600


def test_missing_columns_reject_the_whole_file_only(store: Store) -> None:
    report = import_directory(FEEDS / "missing_columns", store)
    status = {f.feed: f.status for f in report.files}
    assert status == {"borrowers": "loaded", "loans": "failed"}
    failed = report.failed_files[0]
    assert failed.message is not None
    assert "loans.csv" in failed.message and "missing required column(s)" in failed.message
    for col in ("product", "annual_rate", "term", "currency"):
        assert col in failed.message
    assert report.quarantine_dir is not None
    kept = report.quarantine_dir / "loans.rejected.csv"
    assert kept.read_bytes() == (FEEDS / "missing_columns" / "loans.csv").read_bytes()
    errors = json.loads((report.quarantine_dir / "loans.errors.json").read_text())
    assert errors[0]["rule"] == "unreadable_file"
    with store.begin() as conn:
        assert count(conn, "SELECT count(*) FROM borrowers") == 1
        assert count(conn, "SELECT count(*) FROM loans") == 0


@pytest.mark.parametrize(
    ("corpus", "names"),
    [
        ("gbk", ["张三丰", "欧阳娜娜"]),
        ("gb18030", ["张三丰", "欧阳娜娜", "王䶮"]),
        ("utf8_bom", ["张三丰", "欧阳娜娜"]),
    ],
)
def test_chinese_encodings_load_correctly(store: Store, corpus: str, names: list[str]) -> None:
    report = import_directory(FEEDS / "encodings" / corpus, store)
    assert report.rejected == 0
    with store.begin() as conn:
        got = [
            r[0] for r in conn.exec_driver_sql("SELECT name FROM borrowers ORDER BY borrower_id")
        ]
    assert got == names


@pytest.mark.parametrize(
    ("corpus", "expected"),
    [("shift_jis", "does not read as Chinese"), ("random", "not a text CSV")],
)
def test_undecodable_files_are_rejected_clearly(store: Store, corpus: str, expected: str) -> None:
    report = import_directory(FEEDS / "encodings" / corpus, store)
    [failed] = report.failed_files
    assert failed.message is not None and expected in failed.message
    assert "borrowers.csv" in failed.message
    with store.begin() as conn:
        assert count(conn, "SELECT count(*) FROM borrowers") == 0


def test_held_transactions_are_released_when_their_loan_arrives(
    store: Store, tmp_path: Path
) -> None:
    import_directory(FEEDS / "good", store)
    first = import_directory(FEEDS / "held_first", store)
    assert by_feed(first)["transactions"] == (3, 1, 2, 0)
    assert first.rejected == 0
    with store.begin() as conn:
        assert count(conn, "SELECT count(*) FROM held_transactions WHERE status='held'") == 2
        raw = conn.exec_driver_sql(
            "SELECT raw, line FROM held_transactions WHERE txn_id='H001'"
        ).one()
        assert json.loads(raw[0])["amount"] == "100.00" and raw[1] == 2
    # an unrelated import still retries them: nothing to release yet
    nothing = import_directory(FEEDS / "encodings" / "gbk", store)
    assert nothing.released == 0
    later = import_directory(FEEDS / "held_later", store)
    assert later.released == 2
    with store.begin() as conn:
        txns = get_transactions(conn, "L900")
        assert [(t.txn_id, t.amount) for t in txns] == [("H001", 10000), ("H002", 500)]
        assert count(conn, "SELECT count(*) FROM held_transactions WHERE status='released'") == 2
        attempts = count(conn, "SELECT attempts FROM held_transactions WHERE txn_id='H001'")
        assert attempts >= 3


@pytest.mark.parametrize("corpus", ["title_row", "two_row_header"])
def test_excel_headers_with_merged_cells_are_unmerged(store: Store, corpus: str) -> None:
    import_directory(FEEDS / "good", store)
    report = import_directory(FEEDS / "excel" / corpus, store)
    assert by_feed(report)["loans"] == (2, 2, 0, 0)
    with store.begin() as conn:
        assert count(conn, "SELECT principal FROM loans WHERE loan_id='L502'") == 600000


def test_excel_header_cell_merged_across_columns_is_refused(store: Store) -> None:
    report = import_directory(FEEDS / "excel" / "merged_header", store)
    [failed] = report.failed_files
    assert failed.message is not None and "D1:E1" in failed.message and "unmerge" in failed.message


def test_parquet_feed_loads(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "pq"
    src.mkdir()
    frame = pl.read_csv(FEEDS / "good" / "borrowers.csv", infer_schema=False)
    frame.with_columns(pl.col("birth_date").str.to_date()).write_parquet(src / "borrowers.parquet")
    report = import_directory(src, store)
    assert by_feed(report)["borrowers"] == (3, 3, 0, 0)
    with store.begin() as conn:
        assert (
            count(conn, "SELECT monthly_income FROM borrowers WHERE borrower_id='B002'") == 2200000
        )


def test_no_feed_files_is_a_feed_error(store: Store, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FeedError, match="no feed files found"):
        import_directory(tmp_path, store)


def test_cli_import_exit_codes_and_output(store: Store, tmp_path: Path) -> None:
    _register()
    runner = CliRunner()
    ok = runner.invoke(app, ["import", str(FEEDS / "good")])
    assert ok.exit_code == 0, ok.output
    assert "borrowers" in ok.output and "loaded" in ok.output
    bad = runner.invoke(app, ["import", str(FEEDS / "bad_rows")])
    assert bad.exit_code == 3, bad.output
    assert "quarantine:" in bad.output
    missing = runner.invoke(app, ["import", str(tmp_path / "nope")])
    assert isinstance(missing.exception, FeedError)


def test_cli_bad_input_prints_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "postloan"
    monkeypatch.delenv("POSTLOAN_DATABASE_URL", raising=False)  # the default SQLite store
    env = os.environ | {"COLUMNS": "300"}
    done = subprocess.run(
        [str(exe), "import", str(tmp_path / "nope")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2
    assert "not a directory" in done.stderr and "Traceback" not in done.stderr
    rejected = subprocess.run(
        [str(exe), "import", str(FEEDS / "encodings" / "shift_jis")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert rejected.returncode == 3
    assert "Traceback" not in rejected.stderr + rejected.stdout
    assert "does not read as Chinese" in " ".join(rejected.stdout.split())


L_HEAD = (
    "loan_id,borrower_id,product,principal,annual_rate,term,frequency,day_count,method,"
    "disbursement_date,first_due_date,officer_id,branch,currency\n"
)
T_HEAD = "txn_id,loan_id,type,amount,value_date,channel\n"


def test_held_transaction_failing_on_release_is_quarantined(store: Store, tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "transactions.csv").write_text(
        T_HEAD + "Y1,LJ,repayment,150.50,2024-02-01,app\nY2,LJ,repayment,100,2024-03-01,app\n"
    )
    assert import_directory(first, store).rejected == 0
    later = tmp_path / "later"
    later.mkdir()
    (later / "loans.csv").write_text(
        L_HEAD + "LJ,B1,cash,100000,0.01,3,monthly,act/365f,annuity,2024-01-01,,O,T,JPY\n"
    )
    report = import_directory(later, store)
    assert (report.released, report.held_rejected, report.rejected) == (1, 1, 1)
    assert report.quarantine_dir is not None
    errors = json.loads((report.quarantine_dir / "held_transactions.errors.json").read_text())
    assert [(e["file"], e["line"], e["rule"]) for e in errors] == [
        (str(first / "transactions.csv"), 2, "too_many_decimals")
    ]
    rejected = pl.read_csv(
        report.quarantine_dir / "held_transactions.rejected.csv", infer_schema=False
    )
    assert rejected.row(0, named=True) | {} == {
        "txn_id": "Y1",
        "loan_id": "LJ",
        "type": "repayment",
        "amount": "150.50",
        "value_date": "2024-02-01",
        "channel": "app",
        "source_line": "2",
    }
    with store.begin() as conn:
        status = dict(conn.exec_driver_sql("SELECT txn_id, status FROM held_transactions").all())
        assert status == {"Y1": "rejected", "Y2": "released"}
        assert count(conn, "SELECT amount FROM transactions WHERE txn_id='Y2'") == 100


def test_held_transaction_superseded_when_it_arrives_for_a_known_loan(
    store: Store, tmp_path: Path
) -> None:
    import_directory(FEEDS / "good", store)
    first = tmp_path / "first"
    first.mkdir()
    (first / "transactions.csv").write_text(T_HEAD + "Z1,L-TYPO,repayment,10,2024-02-01,app\n")
    assert by_feed(import_directory(first, store))["transactions"] == (1, 0, 1, 0)
    (first / "transactions.csv").write_text(T_HEAD + "Z1,L001,repayment,10,2024-02-01,app\n")
    assert by_feed(import_directory(first, store))["transactions"] == (1, 1, 0, 0)
    with store.begin() as conn:
        assert (
            conn.exec_driver_sql("SELECT status FROM held_transactions WHERE txn_id='Z1'").scalar()
            == "superseded"
        )
        assert count(conn, "SELECT count(*) FROM transactions WHERE txn_id='Z1'") == 1


def test_unknown_borrower_flag_is_dropped_when_the_borrower_arrives(
    store: Store, tmp_path: Path
) -> None:
    import_directory(FEEDS / "bad_rows", store)
    with store.begin() as conn:
        assert "unknown_borrower" in get_loan_flags(conn, "L006")
    later = tmp_path / "b"
    later.mkdir()
    head = (FEEDS / "good" / "borrowers.csv").read_text().splitlines()[0]
    (later / "borrowers.csv").write_text(head + "\nB999,Late Arrival,,,,,CN,,,,\n")
    import_directory(later, store)
    with store.begin() as conn:
        assert set(get_loan_flags(conn, "L006")) == {"schedule_principal_mismatch"}


def test_large_upserts_are_idempotent_and_update_in_place(store: Store, tmp_path: Path) -> None:
    """Above COPY_THRESHOLD rows PostgreSQL loads through COPY: same results."""
    src = tmp_path / "many"
    src.mkdir()
    (src / "loans.csv").write_text(
        L_HEAD + "LM,B1,cash,1000,0.1,3,monthly,30/360,annuity,2024-01-01,,O,T,CNY\n"
    )
    rows = "".join(f"M{i},LM,repayment,{i}.05,2024-02-01,app\n" for i in range(6000))
    (src / "transactions.csv").write_text(T_HEAD + rows)
    assert by_feed(import_directory(src, store))["transactions"] == (6000, 6000, 0, 0)
    (src / "transactions.csv").write_text(T_HEAD + rows.replace(".05,", ".07,"))
    assert by_feed(import_directory(src, store))["transactions"] == (6000, 6000, 0, 0)
    with store.begin() as conn:
        assert count(conn, "SELECT count(*) FROM transactions") == 6000
        assert count(conn, "SELECT sum(amount) FROM transactions") == sum(
            i * 100 + 7 for i in range(6000)
        )


def test_a_loan_whose_schedule_cannot_be_built_is_flagged(store: Store) -> None:
    import_directory(FEEDS / "good", store)
    with store.begin() as conn:  # terms no feed would pass: first due before disbursement
        conn.exec_driver_sql(
            "INSERT INTO loans (loan_id, borrower_id, product, principal, annual_rate, term, "
            "frequency, day_count, method, disbursement_date, first_due_date, currency, "
            "fee_per_period) VALUES ('LBAD', 'B001', 'cash', 100000, '0.1', 3, 'monthly', "
            "'30/360', 'annuity', '2024-05-01', '2024-04-01', 'CNY', 0)"
        )
    import_directory(FEEDS / "held_later", store)
    with store.begin() as conn:
        flags = get_loan_flags(conn, "LBAD")
        assert "first due date" in flags["schedule_failed"]
        assert count(conn, "SELECT count(*) FROM schedule_instalments WHERE loan_id='LBAD'") == 0
        # the other loan of the same run still got its schedule
        assert count(conn, "SELECT count(*) FROM schedule_instalments WHERE loan_id='L900'") == 3
