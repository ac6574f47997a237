"""A 200 MB transactions CSV, generated at test time: it loads in bounded memory, and
its few bad rows are quarantined while every other row loads (no timing assertion:
the machine may be shared; speed is the benchmarks' business)."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import polars as pl
import pytest

from postloan.config import load_settings
from postloan.feeds.importer import import_directory
from postloan.store import open_store

N_LOANS = 2_000
N_TXNS = 1_050_000


def write_feeds(directory: Path) -> None:
    directory.mkdir()
    ids = pl.int_range(N_LOANS, eager=True).cast(pl.Utf8).str.zfill(6)
    pl.DataFrame({"loan_id": "L" + ids}).with_columns(
        borrower_id=pl.lit("B1"),
        product=pl.lit("consumer"),
        principal=pl.lit("10000.00"),
        annual_rate=pl.lit("0.12"),
        term=pl.lit("12"),
        frequency=pl.lit("monthly"),
        day_count=pl.lit("30/360"),
        method=pl.lit("annuity"),
        disbursement_date=pl.lit("2024-01-15"),
        first_due_date=pl.lit(""),
        officer_id=pl.lit("O1"),
        branch=pl.lit("BJ"),
        currency=pl.lit("CNY"),
    ).write_csv(directory / "loans.csv")
    i = pl.col("i")
    pl.DataFrame({"i": pl.int_range(N_TXNS, dtype=pl.Int64, eager=True)}).select(
        txn_id=pl.format("T{}", i),
        loan_id=pl.when(i % 250_000 == 3)
        .then(pl.lit("L-UNKNOWN"))
        .otherwise(pl.format("L{}", (i % N_LOANS).cast(pl.Utf8).str.zfill(6))),
        type=pl.lit("repayment"),
        amount=pl.when(i % 100_000 == 7)
        .then(pl.lit("-1.00"))
        .otherwise(pl.format("{}.{}", i % 5000, (i % 100).cast(pl.Utf8).str.zfill(2))),
        value_date=pl.when(i % 100_000 == 11)
        .then(pl.lit("2024-13-45"))
        .otherwise(pl.lit("2024-03-15")),
        channel=pl.lit("mobile_app"),
        reverses=pl.lit(""),
        # core systems export wide rows: a free-text narration the contract ignores
        narration=pl.format(
            "repayment received through the mobile banking app, reference {} for loan {}; "
            "thank you for paying on time and in full, please keep this receipt",
            i,
            i % N_LOANS,
        ),
    ).write_csv(directory / "transactions.csv")


@pytest.mark.slow
def test_200_mb_transactions_feed(tmp_path: Path, postloan_home: Path) -> None:
    feeds = tmp_path / "big"
    write_feeds(feeds)
    size = (feeds / "transactions.csv").stat().st_size
    assert size >= 200_000_000
    store = open_store(load_settings())
    try:
        report = import_directory(feeds, store)
        txns = next(f for f in report.files if f.feed == "transactions")
        bad_amount = len(range(7, N_TXNS, 100_000))
        bad_date = len(range(11, N_TXNS, 100_000))
        unknown = len(range(3, N_TXNS, 250_000))
        assert txns.rows == N_TXNS
        assert txns.rejected == bad_amount + bad_date
        assert txns.held == unknown
        assert txns.loaded + txns.held + txns.rejected == txns.rows
        with store.begin() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM transactions").scalar()
            total = conn.exec_driver_sql("SELECT sum(amount) FROM transactions").scalar()
        assert stored == txns.loaded
        assert total and total > 0
        assert report.quarantine_dir is not None
        rejected = pl.read_csv(
            report.quarantine_dir / "transactions.rejected.csv", infer_schema=False
        )
        assert rejected.height == txns.rejected
        errors = json.loads((report.quarantine_dir / "transactions.errors.json").read_text())
        assert {e["rule"] for e in errors} == {"negative_amount", "bad_date"}
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert peak_mib < 6 * 1024, f"peak memory {peak_mib:.0f} MiB"
    finally:
        store.close()
