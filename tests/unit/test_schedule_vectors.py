"""The 11 reference schedules in tests/data/amortization_vectors.json, to the cent."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.schedule import LoanTerms, Method, generate_schedule

CASES = json.loads((Path(__file__).parents[1] / "data" / "amortization_vectors.json").read_text())[
    "cases"
]


def cents(value: float | int) -> int:
    return int(Decimal(str(value)) * 100)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reference_schedule(case: dict) -> None:
    terms = LoanTerms(
        principal=cents(case["principal"]),
        annual_rate=Decimal(str(case["rate"])),
        term=case["periods"],
        frequency=Frequency.parse(case["frequency"]),
        day_count=DayCount.parse(case["day_count"]),
        method=Method.parse(case["method"]),
        disbursement_date=date.fromisoformat(case["start"]),
    )
    schedule = generate_schedule(terms)
    assert len(schedule) == case["periods"]
    assert all(i.total == cents(case["emi"]) for i in schedule[:-1])
    assert sum(i.principal for i in schedule) == terms.principal
    if "last" in case:
        assert schedule[-1].total == cents(case["last"])
        assert [i.interest for i in schedule] == [cents(x) for x in case["interest"]]
        assert [i.principal for i in schedule] == [cents(x) for x in case["principal_per_period"]]


def test_all_eleven_cases_present() -> None:
    assert len(CASES) == 11
