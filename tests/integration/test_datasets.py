"""Training tables from a hand-written snapshot store: month-end observations with
a features snapshot, features as of that date, outcomes from later loan states,
matured windows only, the out-of-time split and a stable data hash."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from postloan.config import Settings, load_settings
from postloan.domain.errors import NotFound
from postloan.risk.datasets import out_of_time_split, parse_window, training_frame
from postloan.store.snapshots import SnapshotStore

MONTH_ENDS = [
    date(2025, m, 28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31) for m in range(1, 13)
] + [
    date(2026, 1, 31),
    date(2026, 2, 28),
    date(2026, 3, 31),
    date(2026, 4, 30),
    date(2026, 5, 31),
]


def features(day: date) -> pl.DataFrame:
    """Loan P performs, loan L is 40 days late; a feature carries the date."""
    return pl.DataFrame(
        {
            "loan_id": ["L", "P", "Z"],
            "dpd": [40, 0, 0],
            "principal_outstanding": [1_000, 5_000, 0],  # Z is closed: never observed
            "month": [day.month] * 3,
        },
        schema_overrides={"dpd": pl.Int32},
    )


def state(day: date, p_dpd: int, l_dpd: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"loan_id": ["L", "P"], "days_past_due": [l_dpd, p_dpd], "status": ["active", "active"]},
        schema_overrides={"days_past_due": pl.Int32},
    )


@pytest.fixture
def settings(postloan_home: Path) -> Settings:
    s = load_settings()
    snaps = SnapshotStore(s.snapshot_dir)
    for d in MONTH_ENDS:
        snaps.write("features", d, features(d))
        snaps.write("loan_state", d, state(d, 0, 40))
    snaps.write("loan_state", date(2026, 6, 30), state(date(2026, 6, 30), 0, 40))
    snaps.write("features", date(2025, 3, 15), features(date(2025, 3, 15)))  # not a month-end
    # P goes 90+ DPD 45 days after the 2025-06-30 observation; L cures 10 days after 2025-03-31
    snaps.write("loan_state", date(2025, 8, 14), state(date(2025, 8, 14), 91, 40))
    snaps.write("loan_state", date(2025, 4, 10), state(date(2025, 4, 10), 0, 0))
    return s


def test_bscore_observations_features_and_matured_outcomes(settings: Settings) -> None:
    frame, target, meta = training_frame(settings, "bscore")
    assert target == "bad_90dpd_90d"
    latest = date(2026, 6, 30)
    matured = [d for d in MONTH_ENDS if d + timedelta(days=90) <= latest]
    assert meta["observation_dates"] == matured  # month-ends only, matured only
    assert set(frame["loan_id"]) == {"P"}  # the performing population
    by_date = {r["business_date"]: r for r in frame.to_dicts()}
    assert all(r["month"] == d.month for d, r in by_date.items())  # that date's features
    bad = sorted(d for d, r in by_date.items() if r[target] == 1)
    # 14 Aug is within 90 days of 31 May (75), 30 Jun (45), 31 Jul (14); not of 30 Apr (106)
    assert bad == [date(2025, 5, 31), date(2025, 6, 30), date(2025, 7, 31)]
    assert meta["positives"] == 3 and meta["rows"] == len(matured)
    assert meta["window"] == (matured[0], matured[-1])
    assert meta["oot_split"] == date(2026, 1, 31)
    train, test = out_of_time_split(frame, meta)
    assert train["business_date"].max() < meta["oot_split"] <= test["business_date"].min()
    assert training_frame(settings, "bscore")[2]["data_hash"] == meta["data_hash"]


def test_cscore_and_the_window(settings: Settings) -> None:
    frame, target, meta = training_frame(settings, "cscore", "2025-03-01:2025-05-31")
    assert meta["observation_dates"] == [date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]
    assert set(frame["loan_id"]) == {"L"}
    cured = {r["business_date"]: r[target] for r in frame.to_dicts()}
    assert cured == {date(2025, 3, 31): 1, date(2025, 4, 30): 0, date(2025, 5, 31): 0}
    other = training_frame(settings, "cscore", "2025-03-01:2025-04-30")[2]
    assert other["data_hash"] != meta["data_hash"]


def test_no_history_is_a_clear_error(postloan_home: Path) -> None:
    with pytest.raises(NotFound, match="no snapshot history"):
        training_frame(load_settings(), "bscore")


def test_window_parsing() -> None:
    assert parse_window("2025-01-01:") == (date(2025, 1, 1), None)
    assert parse_window((date(2025, 1, 1), date(2025, 2, 1))) == (
        date(2025, 1, 1),
        date(2025, 2, 1),
    )
