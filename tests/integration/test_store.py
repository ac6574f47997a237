"""The operational store: migrations, schema, repositories (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from postloan.config import load_settings
from postloan.domain.errors import ConfigError, NotFound
from postloan.domain.schedule import generate_schedule
from postloan.domain.transactions import TxnType
from postloan.feeds.importer import import_directory
from postloan.store import Store, open_store
from postloan.store.bulk import read_frame, upsert
from postloan.store.db import MIGRATIONS
from postloan.store.repository import (
    borrower_view,
    find_borrowers,
    get_loan_terms,
    get_marks,
    get_schedule,
    get_transactions,
    loans_frame,
    schedules_frame,
    transactions_frame,
)
from postloan.store.tables import Base

TABLES = {
    "borrowers",
    "borrower_contacts",
    "loans",
    "schedule_instalments",
    "transactions",
    "held_transactions",
    "loan_marks",
    "loan_flags",
    "import_runs",
    "import_files",
    "loan_state_current",
}


def test_open_store_creates_every_table_at_head(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert TABLES <= names
    with store.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    versions = sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("0*.py"))
    assert version == versions[-1]  # the newest revision of a single linear chain


def test_migrations_match_the_orm_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_open_store_twice_is_harmless(store: Store) -> None:
    again = open_store(load_settings())
    try:
        assert set(inspect(again.engine).get_table_names()) == set(
            inspect(store.engine).get_table_names()
        )
    finally:
        again.close()


def test_money_columns_are_bigint_and_rates_are_not_float(store: Store) -> None:
    columns = {c["name"]: c["type"] for c in inspect(store.engine).get_columns("loans")}
    assert "BIGINT" in str(columns["principal"]).upper()
    assert "CHAR" in str(columns["annual_rate"]).upper()
    for table in TABLES:
        for col in inspect(store.engine).get_columns(table):
            assert "FLOAT" not in str(col["type"]).upper()
            assert "REAL" not in str(col["type"]).upper(), (table, col["name"])


def test_upsert_updates_in_place_without_duplicates(store: Store) -> None:
    first = pl.DataFrame(
        {"loan_id": ["L1", "L2"], "rule": ["r", "r"], "reason": ["a", "b"], "import_run_id": "x"}
    )
    second = first.with_columns(pl.Series("reason", ["c", "b"]))
    schema = {"loan_id": pl.Utf8, "rule": pl.Utf8, "reason": pl.Utf8}
    with store.begin() as conn:
        upsert(conn, "loan_flags", first, ["loan_id", "rule"])
        upsert(conn, "loan_flags", second, ["loan_id", "rule"])
        upsert(conn, "loan_flags", second, ["loan_id", "rule"])
        got = read_frame(conn, "SELECT loan_id, rule, reason FROM loan_flags", schema)
    assert sorted(got.rows()) == [("L1", "r", "c"), ("L2", "r", "b")]


def test_bad_database_url_is_a_config_error(tmp_path: Path) -> None:
    from postloan.config import Settings

    with pytest.raises(ConfigError, match="POSTLOAN_DATABASE_URL"):
        open_store(Settings(tmp_path, "nosuchdb://x"))


def test_repository_returns_domain_values(store: Store, data_dir: Path) -> None:
    import_directory(data_dir / "feeds" / "good", store)
    with store.begin() as conn:
        terms = get_loan_terms(conn, "L002")
        assert terms.principal == 600000 and terms.annual_rate == Decimal("0.0948")
        assert terms.first_due_date == date(2024, 3, 10) and terms.fee_per_period == 500
        generated = get_schedule(conn, "L002")
        assert generated == generate_schedule(terms)
        feed = get_schedule(conn, "L004")
        assert [i.principal for i in feed] == [33000, 33300, 33700]
        assert [i.balance for i in feed] == [67000, 33700, 0]
        txns = get_transactions(conn, "L001")
        assert [t.txn_id for t in txns] == ["T001", "T002", "T005"]
        assert txns[2].type is TxnType.REVERSAL and txns[2].reverses == "T002"
        assert txns[1].amount == 106619
        marks = get_marks(conn, "L001")
        assert len(marks) == 1 and marks[0].covers(date(2024, 3, 17))
        with pytest.raises(NotFound, match="L999"):
            get_loan_terms(conn, "L999")
        loans = loans_frame(conn)
        assert loans.schema["principal"] == pl.Int64 and loans.schema["term"] == pl.Int32
        assert loans.schema["disbursement_date"] == pl.Date
        assert loans.height == 4
        assert schedules_frame(conn).filter(pl.col("loan_id") == "L001").height == 12
        assert transactions_frame(conn).get_column("amount").sum() > 0


def test_sensitive_data_is_encrypted_and_found_by_blind_index(store: Store, data_dir: Path) -> None:
    import_directory(data_dir / "feeds" / "good", store)
    with store.begin() as conn:
        raw = conn.exec_driver_sql(
            "SELECT national_id_enc, phone_enc, address_enc, phone_bidx FROM borrowers "
            "WHERE borrower_id = 'B001'"
        ).one()
        assert b"13812345678" not in bytes(raw[1]) and b"110101" not in bytes(raw[0])
        assert len(raw[3]) == 64
        assert find_borrowers(conn, store.cipher, "phone", "+86 138-1234-5678") == ["B001"]
        assert find_borrowers(conn, store.cipher, "national_id", "110101199001011234") == ["B001"]
        view = borrower_view(conn, store.cipher, "B001")
        assert view["phone"] == "138****5678"
        assert view["national_id"] == "110***********1234"
        assert not any(k.endswith(("_enc", "_bidx")) for k in view)
        clear = borrower_view(conn, store.cipher, "B001", unmask=True)
        assert clear["phone"] == "13812345678"
        contact = conn.exec_driver_sql(
            "SELECT phone_enc, phone_bidx FROM borrower_contacts WHERE name = '王五'"
        ).one()
        assert store.cipher.decrypt("phone", bytes(contact[0])) == "13700001111"
    key = store.settings.keys_dir / "pii.key"
    assert key.stat().st_mode & 0o777 == 0o600
