"""Pure rules of the second half of issue 6: legal and placement state machines (property
tests), restructured schedules from the servicing core, affordability, commissions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.collections.agencies import _mask_name, commission, parse_rate
from postloan.collections.legal import recovery_rate
from postloan.collections.restructure_rules import (
    Arrears,
    RestructuringKind,
    RestructuringRequest,
    affordable,
    plan_restructuring,
)
from postloan.collections.states import (
    CASE_TRANSITIONS,
    LEGAL_TRANSITIONS,
    OPEN_STATES,
    PLACEMENT_TRANSITIONS,
    CaseState,
    LegalState,
    PlacementState,
    check_legal_transition,
    check_placement_transition,
)
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.errors import IllegalTransition, ValidationError
from postloan.domain.schedule import LoanTerms, Method, generate_schedule

TERMS = LoanTerms(
    principal=1_200_000,
    annual_rate=Decimal("0.12"),
    term=12,
    frequency=Frequency.parse("monthly"),
    day_count=DayCount.parse("30/360"),
    method=Method.ANNUITY,
    disbursement_date=date(2026, 1, 15),
)
SCHEDULE = generate_schedule(TERMS)
EFFECTIVE = date(2026, 6, 1)  # four instalments due before it (15 Feb … 15 May)


@given(st.sampled_from(list(LegalState)), st.sampled_from(list(LegalState)))
def test_a_legal_case_moves_only_along_the_table(source: LegalState, target: LegalState) -> None:
    if target in LEGAL_TRANSITIONS[source]:
        assert check_legal_transition(source, target) is target
    else:
        with pytest.raises(IllegalTransition, match=f"cannot move to {target}"):
            check_legal_transition(source, target)


@given(st.lists(st.sampled_from(list(LegalState)), max_size=15))
def test_legal_walks_end_in_closed_and_stay_there(walk: list[LegalState]) -> None:
    state = LegalState.REFERRED
    for target in walk:
        try:
            state = check_legal_transition(state, target)
        except IllegalTransition:
            assert target not in LEGAL_TRANSITIONS[state]
    if state is LegalState.CLOSED:
        assert all(
            pytest.raises(IllegalTransition, check_legal_transition, state, t) for t in LegalState
        )


@given(st.sampled_from(list(PlacementState)), st.sampled_from(list(PlacementState)))
def test_placement_edges(source: PlacementState, target: PlacementState) -> None:
    if target in PLACEMENT_TRANSITIONS[source]:
        check_placement_transition(source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_placement_transition(source, target)


def test_write_off_ends_any_open_case_and_only_an_open_one() -> None:
    for state in CaseState:
        assert (CaseState.WRITTEN_OFF in CASE_TRANSITIONS[state]) == (state in OPEN_STATES)


def _future() -> int:
    return sum(i.principal for i in SCHEDULE if i.due_date >= EFFECTIVE)


@pytest.mark.parametrize(
    ("kind", "params", "new_count"),
    [
        ("extension", {"periods": 6}, 14),
        ("deferral", {"periods": 2}, 8),
        ("reduced_instalment", {"periods": 3}, 8),
        ("rate_reduction", {"new_rate": "0.06"}, 8),
        ("capitalisation", {}, 8),
    ],
)
def test_each_kind_repays_the_new_principal(kind: str, params: dict, new_count: int) -> None:
    arrears = Arrears({3: (90_000, 4_000, 0), 4: (95_000, 3_000, 0)}, penalty=1_234)
    request = RestructuringRequest.parse(kind, EFFECTIVE, params)
    plan = plan_restructuring(TERMS, SCHEDULE, arrears, _future(), request)
    new = [i for i in plan.schedule if i.seq >= plan.first_new_seq]
    kept = [i for i in plan.schedule if i.seq < plan.first_new_seq]
    assert len(kept) == 4 and len(new) == new_count
    assert [i.seq for i in plan.schedule] == list(range(1, len(plan.schedule) + 1))
    assert sum(i.principal for i in new) == plan.new_principal
    assert all(
        a.due_date < b.due_date for a, b in zip(plan.schedule, plan.schedule[1:], strict=False)
    )
    assert new[0].due_date >= EFFECTIVE and new[-1].balance == 0
    if request.capitalise_arrears:
        assert plan.capitalised == arrears.total == 90_000 + 4_000 + 95_000 + 3_000 + 1_234
        assert kept[2].principal == SCHEDULE[2].principal - 90_000  # cut to what was paid
    else:
        assert kept == SCHEDULE[:4] and plan.new_principal == _future()
    if kind == "deferral":
        assert new[0].due_date == date(2026, 8, 15)  # June and July deferred
    if kind == "reduced_instalment":
        assert all(i.principal == 0 for i in new[:3]) and new[3].principal > 0
    if kind == "rate_reduction":
        assert new[0].interest < SCHEDULE[4].interest


def test_invalid_requests_are_explained() -> None:
    with pytest.raises(ValidationError, match="unknown restructuring"):
        RestructuringRequest.parse("haircut", EFFECTIVE, {})
    with pytest.raises(ValidationError, match="periods >= 1"):
        RestructuringRequest.parse("extension", EFFECTIVE, {})
    with pytest.raises(ValidationError, match="new_rate"):
        RestructuringRequest.parse("rate_reduction", EFFECTIVE, {})
    request = RestructuringRequest.parse("rate_reduction", EFFECTIVE, {"new_rate": "0.2"})
    with pytest.raises(ValidationError, match="below the contract"):
        plan_restructuring(TERMS, SCHEDULE, Arrears({}, 0), _future(), request)
    request = RestructuringRequest(RestructuringKind.REDUCED_INSTALMENT, EFFECTIVE, periods=8)
    with pytest.raises(ValidationError, match="extension instead"):
        plan_restructuring(TERMS, SCHEDULE, Arrears({}, 0), _future(), request)


@given(st.integers(1, 10**8), st.integers(1, 10**8))
def test_affordability_is_exact(instalment: int, income: int) -> None:
    ok, _ratio = affordable(instalment, income, Decimal("0.5"))
    assert ok == (2 * instalment <= income)


def test_affordability_needs_an_income() -> None:
    assert affordable(100, None, Decimal("0.5")) == (False, "unknown")


def test_commission_recovery_rate_and_masks() -> None:
    assert commission(10_001, Decimal("0.15")) == 1500  # 1500.15 → 1500
    assert commission(10_010, Decimal("0.15")) == 1502  # 1501.5 → 1502 (half-up)
    with pytest.raises(ValidationError):
        parse_rate("1.2")
    assert recovery_rate(80, 20, 100) == "0.600000"
    assert recovery_rate(5, 0, 0) is None
    assert _mask_name("张三丰") == "张**"
    assert _mask_name("John Smith") == "J. ***"


@given(
    principal=st.integers(10_000, 50_000_000),
    rate=st.decimals(Decimal("0.01"), Decimal("0.24"), places=3),
    term=st.integers(2, 36),
    method=st.sampled_from([Method.ANNUITY, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY]),
    due_before=st.integers(0, 35),
    kind=st.sampled_from(["extension", "capitalisation", "rate_reduction", "deferral"]),
    unpaid=st.integers(0, 100),
)
def test_restructured_schedules_always_repay_the_new_principal(
    principal: int,
    rate: Decimal,
    term: int,
    method: Method,
    due_before: int,
    kind: str,
    unpaid: int,
) -> None:
    terms = LoanTerms(
        principal=principal,
        annual_rate=rate,
        term=term,
        frequency=Frequency.parse("monthly"),
        day_count=DayCount.parse("act/365f"),
        method=method,
        disbursement_date=date(2025, 1, 10),
    )
    schedule = generate_schedule(terms)
    kept_n = min(due_before, term - 1)
    effective = schedule[kept_n].due_date  # instalments before it are kept
    last = schedule[kept_n - 1] if kept_n else None
    arrears = Arrears(
        {last.seq: (last.principal * unpaid // 100, last.interest * unpaid // 100, 0)}
        if last
        else {},
        penalty=unpaid,
    )
    params = {
        "extension": {"periods": 3},
        "capitalisation": {},
        "rate_reduction": {"new_rate": str(rate / 2)},
        "deferral": {"periods": 1},
    }[kind]
    future = sum(i.principal for i in schedule[kept_n:])
    plan = plan_restructuring(
        terms, schedule, arrears, future, RestructuringRequest.parse(kind, effective, params)
    )
    new = [i for i in plan.schedule if i.seq >= plan.first_new_seq]
    assert sum(i.principal for i in new) == plan.new_principal
    assert plan.new_principal == future + plan.capitalised
    assert all(min(i.principal, i.interest, i.fee) >= 0 for i in plan.schedule)
    dates = [i.due_date for i in plan.schedule]
    assert dates == sorted(set(dates)) and new[0].due_date >= effective
    assert plan.instalment == max(i.total for i in new) or method is Method.INTEREST_ONLY
