"""Collector scorecard against a hand count: recovery, cures, roll-backs, promises,
contacts and the bucket-mix difficulty index (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import polars as pl
from sqlalchemy import insert

from postloan.analytics.collectors import collector_scorecard
from postloan.analytics.kpis import ratio
from postloan.analytics.scorecards import dec
from postloan.store.db import Store
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables import Base

BUCKETS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
NOW = datetime(2026, 10, 31, 12, tzinfo=UTC)
# loan: collector, (bucket, dpd, balance, paid) at start, (bucket, dpd, balance, paid) at end
LOANS = {
    "L1": ("alice", ("M1", 10, 100_000, 0), ("M0", 0, 90_000, 15_000)),
    "L2": ("alice", ("M3", 70, 200_000, 0), ("M3", 80, 200_000, 0)),
    "L3": ("bob", ("M1", 20, 100_000, 0), ("M2", 40, 100_000, 0)),
    "L4": ("bob", ("M3", 75, 300_000, 0), ("M2", 45, 260_000, 50_000)),
}


def state(which: int) -> pl.DataFrame:
    rows = []
    for loan_id, (_, s0, s1) in LOANS.items():
        bucket, dpd, bal, paid = (s0, s1)[which]
        rows.append(
            {
                "loan_id": loan_id,
                "bucket": bucket,
                "days_past_due": dpd,
                "principal_outstanding": bal,
                "total_paid": paid,
                "status": "active",
            }
        )
    return pl.DataFrame(rows)


def test_collector_scorecard_matches_a_hand_count(store: Store) -> None:
    snaps = SnapshotStore(store.settings.snapshot_dir)
    snaps.write("loan_state", date(2026, 9, 30), state(0))
    snaps.write("loan_state", date(2026, 10, 31), state(1))
    cases = Base.metadata.tables["collection_cases"]
    links = Base.metadata.tables["collection_case_loans"]
    promises = Base.metadata.tables["collection_promises"]
    contacts = Base.metadata.tables["collection_contacts"]
    with store.begin() as conn:
        for i, (loan_id, (who, _, _)) in enumerate(LOANS.items(), 1):
            conn.execute(
                insert(cases).values(
                    case_id=i,
                    borrower_id=f"B{i}",
                    state="open",
                    opened_on=date(2026, 9, 1),
                    source="delinquency",
                    assigned_to=who,
                    updated_by="system",
                    updated_at=NOW,
                )
            )
            conn.execute(
                insert(links).values(case_id=i, loan_id=loan_id, added_on=date(2026, 9, 1))
            )
        for state_, who in (("kept", "alice"), ("broken", "alice"), ("kept", "bob")):
            conn.execute(
                insert(promises).values(
                    case_id=1,
                    amount=100,
                    currency="CNY",
                    created_on=date(2026, 10, 1),
                    promised_date=date(2026, 10, 10),
                    state=state_,
                    created_by=who,
                )
            )
        for outcome in ("right_party", "no_answer", "promise"):
            conn.execute(
                insert(contacts).values(
                    case_id=1,
                    collector="alice",
                    channel="call",
                    outcome=outcome,
                    business_date=date(2026, 10, 5),
                    contacted_at=NOW,
                )
            )
    with store.begin() as conn:
        rows = collector_scorecard(conn, snaps, date(2026, 10, 1), date(2026, 10, 31), BUCKETS)
    by = {r["collector"]: r for r in rows}
    alice, bob = by["alice"], by["bob"]
    assert alice["balance_assigned"] == "3000.00" and alice["recovered"] == "150.00"
    assert bob["recovered"] == "500.00"
    assert alice["recovery_rate"] == ratio(15_000, 300_000)
    # difficulty: M1 loans recovered 15 000 of 200 000 assigned, M3 loans 50 000 of 500 000
    expected_alice = Fraction(100_000 * 15_000, 200_000) + Fraction(200_000 * 50_000, 500_000)
    assert alice["recovery_index"] == dec(Fraction(15_000) / expected_alice)
    expected_bob = Fraction(100_000 * 15_000, 200_000) + Fraction(300_000 * 50_000, 500_000)
    assert bob["recovery_index"] == dec(Fraction(50_000) / expected_bob)
    assert alice["cure_rate"] == ratio(1, 2) and bob["cure_rate"] == ratio(0, 2)
    assert bob["roll_back_rate"] == ratio(1, 2) and alice["roll_back_rate"] == ratio(1, 2)
    assert alice["ptp_kept_rate"] == ratio(1, 2) and bob["ptp_kept_rate"] == ratio(1, 1)
    assert alice["right_party_contact_rate"] == ratio(2, 3)
    assert [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["collector"] == "bob"  # 50 000 against an expected 37 500
