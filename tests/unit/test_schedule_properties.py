"""Schedule invariants for every method, frequency and day count."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.schedule import LoanTerms, Method, generate_schedule

FREQUENCIES = ["monthly", "fortnightly", "weekly", "days:10", "months:3"]


@st.composite
def any_terms(draw: st.DrawFn) -> LoanTerms:
    return LoanTerms(
        principal=draw(st.integers(1, 10**10)),
        annual_rate=Decimal(draw(st.integers(0, 3_600))) / 10_000,
        term=draw(st.integers(1, 120)),
        frequency=Frequency.parse(draw(st.sampled_from(FREQUENCIES))),
        day_count=draw(st.sampled_from(list(DayCount))),
        method=draw(st.sampled_from(list(Method))),
        disbursement_date=draw(st.dates(date(2000, 1, 1), date(2035, 12, 31))),
    )


@settings(max_examples=300, deadline=None)
@given(any_terms())
def test_principal_repaid_equals_amount_lent_and_nothing_is_negative(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    assert sum(i.principal for i in schedule) == terms.principal
    assert schedule[-1].balance == 0
    assert all(min(i.principal, i.interest, i.fee, i.balance) >= 0 for i in schedule)
    balances = [terms.principal] + [i.balance for i in schedule]
    assert all(a >= b for a, b in zip(balances, balances[1:], strict=False))
    assert [i.seq for i in schedule] == list(range(1, len(schedule) + 1))
    dates = [i.due_date for i in schedule]
    assert dates == sorted(set(dates)) and dates[0] > terms.disbursement_date


def test_tiny_equal_principal_over_long_term_never_goes_negative() -> None:
    # 10.00 over 60 months: 0.17 a month would overshoot, so parts round down
    terms = LoanTerms(
        1_000,
        Decimal("0.10"),
        60,
        Frequency.parse("monthly"),
        DayCount.THIRTY_360,
        Method.EQUAL_PRINCIPAL,
        date(2026, 1, 1),
    )
    parts = [i.principal for i in generate_schedule(terms)]
    assert parts[:-1] == [16] * 59 and parts[-1] == 1_000 - 16 * 59
