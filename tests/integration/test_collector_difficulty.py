"""The collector scorecard's C-score difficulty adjustment (SQLite and PostgreSQL):
two collectors of equal skill, one holding harder cases, have raw cure rates far
apart and C-score cure indices close; the figures are recomputed a second way
from the raw snapshot rows; a loan without a C-score falls back to the bucket mix
(from the ``loan_scores`` table when the snapshot lacks it) and the basis says so."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import numpy as np
import polars as pl
from sqlalchemy import insert

from postloan.analytics.collectors import collector_scorecard
from postloan.analytics.scorecards import dec
from postloan.store.db import Store
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables import Base

BUCKETS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
NOW = datetime(2026, 10, 31, 12, tzinfo=UTC)
START, END = date(2026, 9, 30), date(2026, 10, 31)


def _book(n: int = 200, seed: int = 4) -> pl.DataFrame:
    """Equal skill: every loan cures with its own C-score probability. ``easy`` holds
    loans with p ≈ 0.7, ``hard`` loans with p ≈ 0.2 — all in the same bucket M1."""
    rng = np.random.default_rng(seed)
    rows = []
    for who, centre in (("easy", 0.7), ("hard", 0.2)):
        for i in range(n):
            p = float(np.clip(rng.normal(centre, 0.05), 0.02, 0.98))
            rows.append(
                {
                    "loan_id": f"{who[0].upper()}{i:04d}",
                    "collector": who,
                    "p": p,
                    "cured": bool(rng.uniform() < p),
                }
            )
    return pl.DataFrame(rows)


def _seed(store: Store, book: pl.DataFrame, *, unscored: frozenset[str] = frozenset()) -> None:
    snaps = SnapshotStore(store.settings.snapshot_dir)
    s0 = book.select("loan_id").with_columns(
        pl.lit("M1").alias("bucket"),
        pl.lit(20).alias("days_past_due"),
        pl.lit(100_000).alias("principal_outstanding"),
        pl.lit(0).alias("total_paid"),
        pl.lit("active").alias("status"),
    )
    s1 = book.select(
        "loan_id",
        pl.when(pl.col("cured")).then(pl.lit("M0")).otherwise(pl.lit("M2")).alias("bucket"),
        pl.when(pl.col("cured")).then(0).otherwise(50).alias("days_past_due"),
        pl.lit(90_000).alias("principal_outstanding"),
        pl.when(pl.col("cured")).then(12_000).otherwise(0).alias("total_paid"),
        pl.lit("active").alias("status"),
    )
    snaps.write("loan_state", START, s0)
    snaps.write("loan_state", END, s1)
    in_snapshot = book.filter(~pl.col("loan_id").is_in(list(unscored)))
    snaps.write(
        "scores",
        START,
        in_snapshot.select(
            "loan_id",
            pl.lit("cscore").alias("purpose"),
            pl.lit("cscore-test").alias("model_id"),
            pl.col("p").alias("probability"),
        ),
    )
    cases = Base.metadata.tables["collection_cases"]
    links = Base.metadata.tables["collection_case_loans"]
    with store.begin() as conn:
        for i, (loan_id, who) in enumerate(book.select("loan_id", "collector").iter_rows(), 1):
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


def test_equal_skill_harder_cases_close_cscore_indices(store: Store) -> None:
    book = _book()
    _seed(store, book)
    with store.begin() as conn:
        rows = collector_scorecard(
            conn, SnapshotStore(store.settings.snapshot_dir), date(2026, 10, 1), END, BUCKETS
        )
    by = {r["collector"]: r for r in rows}
    easy, hard = by["easy"], by["hard"]
    assert float(easy["cure_rate"]) - float(hard["cure_rate"]) > 0.35  # raw rates far apart
    # the bucket mix cannot tell them apart (same bucket): its indices differ as much
    assert abs(float(easy["cure_index"]) - float(hard["cure_index"])) > 0.8
    assert abs(float(easy["cure_index_cscore"]) - float(hard["cure_index_cscore"])) < 0.2
    assert float(hard["difficulty"]) > float(easy["difficulty"]) + 0.4
    assert easy["difficulty_basis"] == hard["difficulty_basis"] == "cscore"
    assert easy["cscore_coverage"] == "1.000000"
    # second way, from the raw rows: Σ p over the collector's loans, cures ÷ Σ p
    snaps = SnapshotStore(store.settings.snapshot_dir)
    raw = (
        snaps.read("scores", START)
        .join(snaps.read("loan_state", END), on="loan_id")
        .join(book.select("loan_id", "collector"), on="loan_id")
    )
    for who, row in by.items():
        mine = raw.filter(pl.col("collector") == who)
        total = sum((Fraction(p) for p in mine["probability"].to_list()), Fraction(0))
        cures = mine.filter(pl.col("days_past_due") == 0).height
        assert row["expected_cures_cscore"] == dec(total)
        assert row["cure_index_cscore"] == dec(Fraction(cures) / total)
        assert row["difficulty"] == dec(1 - total / mine.height)


def test_missing_cscore_falls_back_and_the_table_fills_gaps(store: Store) -> None:
    book = _book(n=4)
    gone = frozenset({"E0000", "E0001", "H0000"})
    _seed(store, book, unscored=gone)
    scores = Base.metadata.tables["loan_scores"]
    with store.begin() as conn:  # E0001's C-score is only in the loan_scores table
        conn.execute(
            insert(scores).values(
                loan_id="E0001",
                business_date=date(2026, 9, 20),
                purpose="cscore",
                model_id="cscore-test",
                probability=0.5,
                score=600,
                band="C",
            )
        )
        rows = collector_scorecard(
            conn, SnapshotStore(store.settings.snapshot_dir), date(2026, 10, 1), END, BUCKETS
        )
    by = {r["collector"]: r for r in rows}
    assert by["easy"]["difficulty_basis"] == "mixed" and by["easy"]["cscore_coverage"] == "0.750000"
    assert by["hard"]["cscore_coverage"] == "0.750000"
    p = dict(book.select("loan_id", "p").iter_rows())
    cured = dict(book.select("loan_id", "cured").iter_rows())
    bucket_share = Fraction(sum(cured.values()), len(cured))  # all 8 loans are M1
    want = bucket_share + Fraction(0.5) + Fraction(p["E0002"]) + Fraction(p["E0003"])
    assert by["easy"]["expected_cures_cscore"] == dec(want)
