"""Properties of the servicing rules over random loans, payments and marks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from servicing_builders import LOAN

from postloan.domain.allocation import Due, allocate, allocation_path
from postloan.domain.calendar import Frequency
from postloan.domain.classification import dpd_category
from postloan.domain.daycount import DayCount
from postloan.domain.loan_state import _replay, classification_history, loan_state_as_of
from postloan.domain.marks import LoanMark, MarkKind
from postloan.domain.policy import (
    AllocationOrder,
    AllocationPolicy,
    Component,
    DelinquencyPolicy,
    EarlyPayment,
    PenaltyPolicy,
    PrepaymentMode,
    PrepaymentPolicy,
    ServicingPolicy,
)
from postloan.domain.schedule import LoanTerms, Method, generate_schedule
from postloan.domain.transactions import Transaction, TxnType

FREQUENCIES = ["monthly", "fortnightly", "weekly", "days:10", "months:3"]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def prepayment_policies(draw: st.DrawFn) -> PrepaymentPolicy:
    return PrepaymentPolicy(
        mode=draw(st.sampled_from(list(PrepaymentMode))),
        early_payment=draw(st.sampled_from(list(EarlyPayment))),
        advance_max_instalments=draw(st.integers(1, 3)),
    )


@st.composite
def loan_terms(draw: st.DrawFn, max_term: int = 36) -> LoanTerms:
    """Random loan terms across every method, frequency and day count."""
    terms = LoanTerms(
        principal=draw(st.integers(1_000, 50_000_000)),
        annual_rate=Decimal(draw(st.integers(0, 3_600))) / 10_000,
        term=draw(st.integers(1, max_term)),
        frequency=Frequency.parse(draw(st.sampled_from(FREQUENCIES))),
        day_count=draw(st.sampled_from(list(DayCount))),
        method=draw(st.sampled_from(list(Method))),
        disbursement_date=draw(st.dates(date(2020, 1, 1), date(2030, 12, 31))),
        fee_per_period=draw(st.integers(0, 2_000)),
    )
    return terms


@st.composite
def activity(draw: st.DrawFn, terms: LoanTerms, horizon: int) -> list[Transaction]:
    """Random repayments, fees, penalties, waivers and failed debits."""
    kinds = st.sampled_from(
        [TxnType.REPAYMENT] * 4
        + [TxnType.FEE, TxnType.PENALTY, TxnType.WAIVER, TxnType.FAILED_DEBIT]
    )
    rows = draw(
        st.lists(
            st.tuples(kinds, st.integers(0, horizon), st.integers(0, terms.principal // 2)),
            max_size=12,
        )
    )
    start = terms.disbursement_date
    return [
        Transaction(f"T{k}", LOAN, kind, amount, start + timedelta(days=offset))
        for k, (kind, offset, amount) in enumerate(rows)
    ]


@st.composite
def random_marks(draw: st.DrawFn, start: date, horizon: int) -> list[LoanMark]:
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(list(MarkKind)),
                st.integers(0, horizon),
                st.one_of(st.none(), st.integers(0, 200)),
            ),
            max_size=3,
        )
    )
    return [
        LoanMark(
            LOAN,
            kind,
            start + timedelta(days=s),
            None if length is None else start + timedelta(days=s + length),
        )
        for kind, s, length in rows
    ]


@PROPERTY
@given(loan_terms(max_term=60))
def test_paying_every_instalment_repays_exactly_the_amount_lent(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    paid = [
        Transaction(f"T{i.seq}", LOAN, TxnType.REPAYMENT, i.total, i.due_date) for i in schedule
    ]
    end = schedule[-1].due_date
    s = loan_state_as_of(terms, schedule, paid, [], end)
    assert s.principal_paid == terms.principal
    assert s.principal_outstanding == 0
    assert s.status.value == "closed"
    assert s.credit_balance == 0
    assert s.penalty_charged == 0
    assert classification_history(terms, schedule, paid, [], end) == []


@PROPERTY
@given(st.data())
def test_balances_never_go_negative_and_money_is_conserved(data: st.DataObject) -> None:
    terms = data.draw(loan_terms())
    schedule = generate_schedule(terms)
    horizon = (schedule[-1].due_date - terms.disbursement_date).days + 60
    txns = data.draw(activity(terms, horizon))
    on = terms.disbursement_date + timedelta(days=data.draw(st.integers(0, horizon)))
    order = data.draw(st.sampled_from(list(AllocationOrder)))
    policy = ServicingPolicy(
        allocation=AllocationPolicy(order=order), prepayment=data.draw(prepayment_policies())
    )
    s = loan_state_as_of(terms, schedule, txns, [], on, policy)
    negative_rows = [i for i in s.schedule if min(i.principal, i.interest, i.fee, i.balance) < 0]
    assert negative_rows == []
    amounts = [
        s.principal_outstanding,
        s.overdue_principal,
        s.overdue_interest,
        s.overdue_fee,
        s.interest_outstanding,
        s.fee_outstanding,
        s.penalty_outstanding,
        s.credit_balance,
        s.advance_balance,
        s.waived,
    ]
    assert min(amounts) >= 0
    assert s.principal_paid + s.principal_outstanding == terms.principal
    assert s.total_paid == (
        s.principal_paid
        + s.interest_paid
        + s.fee_paid
        + s.penalty_paid
        + s.credit_balance
        + s.advance_balance
        + s.recovered
    )
    assert s.days_past_due >= 0
    if s.advance_balance:
        # held money is applied as things fall due, and never exceeds what is to come
        assert policy.prepayment.early_payment is EarlyPayment.ADVANCE
        assert s.overdue_principal + s.overdue_interest + s.overdue_fee == 0
        assert s.penalty_outstanding == 0
        assert s.advance_balance <= sum(i.total for i in s.schedule if i.due_date > on)
        assert s.next_due_amount < next(i.total for i in s.schedule if i.due_date > on)


@PROPERTY
@given(
    st.integers(0, 10_000),
    st.lists(st.tuples(*[st.integers(0, 1_000)] * 4), max_size=6),
    st.sampled_from(list(AllocationOrder)),
    st.permutations(list(Component)),
)
def test_allocation_conserves_money(
    amount: int,
    rows: list[tuple[int, int, int, int]],
    order: AllocationOrder,
    components: list[Component],
) -> None:
    dues = [Due(k + 1, *row) for k, row in enumerate(rows)]
    result = allocate(amount, dues, components, order)
    assert result.allocated + result.leftover == amount
    owed = sum(sum(row) for row in rows)
    assert result.allocated == min(amount, owed)
    taken: dict[tuple[int, Component], int] = {}
    for a in result.allocations:
        assert a.amount > 0
        taken[(a.index, a.component)] = taken.get((a.index, a.component), 0) + a.amount
    path = [p for p in allocation_path(dues, order, components) if dues[p[0]].owed(p[1]) > 0]
    # money follows the path: everything before the last allocation is fully paid
    for k, (i, c) in enumerate(path):
        assert taken.get((i, c), 0) <= dues[i].owed(c)
        if k < len(taken) - 1:
            assert taken[(i, c)] == dues[i].owed(c)


@PROPERTY
@given(loan_terms(), st.integers(0, 500))
def test_dpd_grows_by_one_a_day_while_nothing_is_paid(terms: LoanTerms, offset: int) -> None:
    schedule = generate_schedule(terms)
    first = next(i.due_date for i in schedule if i.total > 0)  # e.g. 0% interest-only: later
    day = first + timedelta(days=offset)
    today = loan_state_as_of(terms, schedule, [], [], day)
    tomorrow = loan_state_as_of(terms, schedule, [], [], day + timedelta(days=1))
    assert today.days_past_due == offset
    assert tomorrow.days_past_due == today.days_past_due + 1
    assert today.overdue_since == (first if offset else None)


@PROPERTY
@given(st.data())
def test_classification_is_never_better_than_the_dpd_floor(data: st.DataObject) -> None:
    terms = data.draw(loan_terms())
    schedule = generate_schedule(terms)
    horizon = (schedule[-1].due_date - terms.disbursement_date).days + 400
    txns = data.draw(activity(terms, horizon))
    marks = [
        m
        for m in data.draw(random_marks(terms.disbursement_date, horizon))
        if m.kind is not MarkKind.TECHNICAL_DELAY  # the one sanctioned exception
    ]
    on = terms.disbursement_date + timedelta(days=data.draw(st.integers(0, horizon)))
    s = loan_state_as_of(terms, schedule, txns, marks, on)
    floor, _ = dpd_category(s.days_past_due, ServicingPolicy.default().classification)
    assert s.classification.rank >= floor.rank
    assert s.ifrs9_stage >= (3 if s.days_past_due > 90 else 2 if s.days_past_due > 30 else 1)


@PROPERTY
@given(st.data())
def test_jumping_over_quiet_days_gives_the_same_result_as_walking_every_day(
    data: st.DataObject,
) -> None:
    terms = data.draw(loan_terms(max_term=24))
    schedule = generate_schedule(terms)
    horizon = (schedule[-1].due_date - terms.disbursement_date).days + 500
    txns = data.draw(activity(terms, horizon))
    marks = data.draw(random_marks(terms.disbursement_date, horizon))
    policy = ServicingPolicy(
        penalty=PenaltyPolicy(
            grace_days=data.draw(st.integers(0, 5)),
            accrue_during_pause=data.draw(st.booleans()),
        ),
        delinquency=DelinquencyPolicy(
            grace_days=data.draw(st.integers(0, 5)),
            materiality_absolute=data.draw(st.sampled_from([0, 100, 10_000])),
            materiality_relative=data.draw(st.sampled_from([Decimal(0), Decimal("0.01")])),
        ),
        prepayment=data.draw(prepayment_policies()),
    )
    on = terms.disbursement_date + timedelta(days=data.draw(st.integers(0, horizon)))
    sicr = data.draw(st.booleans())
    args = (terms, schedule, txns, marks, on, policy, None, sicr)
    assert _replay(*args, fast=True) == _replay(*args, fast=False)


@PROPERTY
@given(st.data())
def test_an_instalment_paid_early_is_never_late_and_changes_no_schedule(
    data: st.DataObject,
) -> None:
    terms = data.draw(loan_terms())
    schedule = generate_schedule(terms)
    k = data.draw(st.integers(0, len(schedule) - 1))
    target = schedule[k]
    assume(target.total > 0)
    after = schedule[k - 1].due_date if k else terms.disbursement_date
    gap = (target.due_date - after).days
    assume(gap > 1)
    early = target.due_date - timedelta(days=data.draw(st.integers(1, gap - 1)))
    paid = [
        Transaction(f"T{i.seq}", LOAN, TxnType.REPAYMENT, i.total, i.due_date) for i in schedule[:k]
    ]
    paid.append(Transaction("early", LOAN, TxnType.REPAYMENT, target.total, early))
    held = loan_state_as_of(terms, schedule, paid, [], early)
    assert held.advance_balance == target.total
    assert held.schedule == tuple(schedule)
    for on in (target.due_date, target.due_date + timedelta(days=1)):
        s = loan_state_as_of(terms, schedule, paid, [], on)
        assert s.schedule == tuple(schedule)
        assert s.advance_balance == 0
        assert s.principal_paid == sum(i.principal for i in schedule[: k + 1])
        assert s.interest_paid == sum(i.interest for i in schedule[: k + 1])
        assert (s.days_past_due, s.classification.value) == (0, "normal")
