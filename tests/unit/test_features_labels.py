"""Labels of the behavioural models: only states after the observation date and
inside the horizon set a target; maturity needs the whole window."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.domain.errors import ValidationError
from postloan.risk.labels import label, matured

OBS = date(2026, 1, 31)


def states(rows: list[tuple[str, date, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "loan_id": pl.Utf8,
            "business_date": pl.Date,
            "days_past_due": pl.Int32,
            "status": pl.Utf8,
        },
        orient="row",
    )


def obs(*loans: str) -> pl.DataFrame:
    return pl.DataFrame({"loan_id": list(loans), "business_date": [OBS] * len(loans)})


def test_bscore_counts_90dpd_or_charge_off_inside_the_horizon_only() -> None:
    later = states(
        [
            ("A", OBS + timedelta(days=60), 90, "active"),  # bad in 90 days
            ("B", OBS + timedelta(days=120), 95, "active"),  # bad only within 180
            ("C", OBS + timedelta(days=30), 0, "charged_off"),  # charged off: bad
            ("D", OBS, 120, "active"),  # on the observation date: not an outcome
            ("E", OBS - timedelta(days=5), 100, "active"),  # before: never
        ]
    )
    got90 = label(obs("A", "B", "C", "D", "E"), later, "bscore")
    got180 = label(obs("A", "B", "C", "D", "E"), later, "bscore180")
    assert dict(got90.select("loan_id", "bad_90dpd_90d").rows()) == {
        "A": 1,
        "B": 0,
        "C": 1,
        "D": 0,
        "E": 0,
    }
    assert dict(got180.select("loan_id", "bad_90dpd_180d").rows()) == {
        "A": 1,
        "B": 1,
        "C": 1,
        "D": 0,
        "E": 0,
    }


def test_cscore_is_a_cure_within_30_days() -> None:
    later = states(
        [
            ("A", OBS + timedelta(days=10), 0, "active"),
            ("B", OBS + timedelta(days=31), 0, "active"),
            ("C", OBS + timedelta(days=10), 12, "active"),
        ]
    )
    got = label(obs("A", "B", "C"), later, "cscore")
    assert dict(got.select("loan_id", "cured_30d").rows()) == {"A": 1, "B": 0, "C": 0}


@given(st.integers(min_value=-400, max_value=400), st.integers(min_value=0, max_value=200))
def test_a_state_counts_only_inside_the_window(offset: int, dpd: int) -> None:
    later = states([("A", OBS + timedelta(days=offset), dpd, "active")])
    got = label(obs("A"), later, "bscore")["bad_90dpd_90d"].item()
    assert got == int(0 < offset <= 90 and dpd >= 90)


def test_maturity_needs_the_whole_window() -> None:
    assert matured(OBS, OBS + timedelta(days=90), "bscore")
    assert not matured(OBS, OBS + timedelta(days=89), "bscore")
    assert not matured(OBS, OBS + timedelta(days=179), "bscore180")
    assert matured(OBS, OBS + timedelta(days=30), "cscore")
    with pytest.raises(ValidationError):
        matured(OBS, OBS, "ascore")
