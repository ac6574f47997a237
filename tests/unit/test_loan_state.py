"""loan_state_as_of: inputs, outputs, statuses, reversals and validation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest
from servicing_builders import LOAN, START, days, loan, mark, pay_on_time, repay, state, txn

from postloan.domain.errors import ValidationError
from postloan.domain.loan_state import LoanStatus, classification_history, loan_state_as_of
from postloan.domain.marks import LoanMark, MarkKind
from postloan.domain.schedule import Instalment
from postloan.domain.transactions import Transaction, TxnType, effective_transactions

FIRST_DUE = date(2024, 2, 15)


def test_a_new_loan() -> None:
    terms, schedule = loan()
    s = state(terms, schedule, START)
    assert s.status is LoanStatus.ACTIVE
    assert (s.days_past_due, s.overdue_since, s.bucket) == (0, None, "M0")
    assert (s.classification.value, s.ifrs9_stage) == ("normal", 1)
    assert s.principal_outstanding == terms.principal
    assert (s.next_due_date, s.next_due_amount) == (FIRST_DUE, schedule[0].total)
    assert s.schedule == tuple(schedule)


def test_amounts_on_a_loan_in_arrears() -> None:
    terms, schedule = loan(fee=500)
    s = state(terms, schedule, schedule[1].due_date)  # two instalments due, none paid
    first, second = schedule[0], schedule[1]
    assert s.overdue_principal == first.principal  # due strictly before today
    assert (s.overdue_interest, s.overdue_fee) == (first.interest, first.fee)
    assert s.interest_outstanding == first.interest + second.interest  # due on or before
    assert s.fee_outstanding == 1_000
    assert s.principal_outstanding == terms.principal
    assert s.days_past_due == (second.due_date - first.due_date).days


def test_to_dict_is_json_friendly_with_minor_unit_amounts() -> None:
    terms, schedule = loan()
    s = state(terms, schedule, FIRST_DUE + days(45))
    d = s.to_dict()
    json.dumps(d)
    assert d["business_date"] == "2024-03-31"
    assert d["overdue_since"] == "2024-02-15"
    assert d["classification"] == "special_mention"
    assert d["status"] == "active"
    assert d["ifrs9_stage"] == 2
    assert d["principal_outstanding"] == 1_200_000
    assert d["classification_reasons"] == ["overdue"]
    assert d["advance_balance"] == 0
    assert d["schedule"][0] == {
        "seq": 1,
        "due_date": "2024-02-15",
        "principal": schedule[0].principal,
        "interest": schedule[0].interest,
        "fee": 0,
        "balance": schedule[0].balance,
    }


def test_transactions_after_the_business_date_are_ignored() -> None:
    terms, schedule = loan()
    late = [repay(schedule[0].total, FIRST_DUE + days(20))]
    s = state(terms, schedule, FIRST_DUE + days(5), late)
    assert (s.total_paid, s.days_past_due) == (0, 5)


def test_full_repayment_closes_and_a_missed_maturity_is_matured() -> None:
    terms, schedule = loan()
    last = schedule[-1].due_date
    closed = state(terms, schedule, last + days(3), pay_on_time(schedule))
    assert closed.status is LoanStatus.CLOSED
    assert closed.classification_reasons == ("closed",)
    assert (closed.next_due_date, closed.next_due_amount) == (None, 0)
    matured = state(terms, schedule, last + days(3), pay_on_time(schedule, 11))
    assert matured.status is LoanStatus.MATURED
    assert matured.days_past_due == 3


def test_a_schedule_from_the_core_is_used_as_is() -> None:
    terms, _ = loan(principal=300_000, term=3)
    core = [
        Instalment(1, date(2024, 2, 20), 100_000, 3_000, 0, 200_000),
        Instalment(2, date(2024, 3, 20), 100_000, 2_000, 0, 100_000),
        Instalment(3, date(2024, 4, 20), 100_000, 1_000, 0, 0),
    ]
    s = loan_state_as_of(terms, core, [], [], date(2024, 2, 25))
    assert (s.overdue_since, s.days_past_due, s.overdue_interest) == (date(2024, 2, 20), 5, 3_000)


def test_same_day_charges_come_before_money() -> None:
    terms, schedule = loan()
    pay = repay(schedule[0].total + 5_000, FIRST_DUE, "pay")
    fee = txn(TxnType.FEE, 5_000, FIRST_DUE, "fee")
    assert [t.txn_id for t in effective_transactions([pay, fee], FIRST_DUE)] == ["fee", "pay"]
    s = state(terms, schedule, FIRST_DUE, [pay, fee])
    assert (s.fee_paid, s.credit_balance, s.principal_outstanding) == (
        5_000,
        0,
        schedule[0].balance,
    )


def test_a_charge_with_nothing_due_is_due_on_its_own_date() -> None:
    terms, schedule = loan()
    fee = txn(TxnType.FEE, 2_000, date(2024, 1, 20))
    assert state(terms, schedule, date(2024, 1, 20), [fee]).days_past_due == 0
    s = state(terms, schedule, date(2024, 1, 25), [fee])
    assert (s.overdue_since, s.days_past_due, s.overdue_fee) == (date(2024, 1, 20), 5, 2_000)


def test_a_reversal_of_a_reversal_reinstates_the_payment() -> None:
    terms, schedule = loan()
    txns = [
        repay(schedule[0].total, FIRST_DUE, "P"),
        txn(TxnType.REVERSAL, 0, FIRST_DUE + days(3), "R1", reverses="P"),
        txn(TxnType.REVERSAL, 0, FIRST_DUE + days(6), "R2", reverses="R1"),
    ]
    assert state(terms, schedule, FIRST_DUE + days(4), txns).days_past_due == 4
    assert state(terms, schedule, FIRST_DUE + days(6), txns).days_past_due == 0


def test_a_reversal_of_an_unknown_transaction_is_refused() -> None:
    terms, schedule = loan()
    bad = [txn(TxnType.REVERSAL, 0, FIRST_DUE, reverses="nope")]
    with pytest.raises(ValidationError, match="nope"):
        state(terms, schedule, FIRST_DUE, bad)


@pytest.mark.parametrize(
    "problem",
    [
        "before_disbursement",
        "txn_before_disbursement",
        "mixed_loans",
        "empty",
        "unordered",
        "negative",
    ],
)
def test_inputs_that_cannot_be_replayed_are_refused(problem: str) -> None:
    terms, schedule = loan()
    txns: list[Transaction] = []
    marks: list[LoanMark] = []
    on = FIRST_DUE
    if problem == "before_disbursement":
        on = START - days(1)
    elif problem == "txn_before_disbursement":
        txns = [repay(100, START - days(1))]
    elif problem == "mixed_loans":
        marks = [LoanMark("OTHER", MarkKind.PAYMENT_PAUSE, FIRST_DUE)]
        txns = [repay(100, FIRST_DUE)]
    elif problem == "empty":
        schedule = []
    elif problem == "negative":  # e.g. 10.00 in 60 equal-principal parts: last part -0.03
        schedule = [*schedule[:-1], replace(schedule[-1], principal=-3)]
    else:
        schedule = list(reversed(schedule))
    with pytest.raises(ValidationError):
        loan_state_as_of(terms, schedule, txns, marks, on)


def test_bad_transactions_and_marks_are_refused() -> None:
    with pytest.raises(ValidationError):
        Transaction("t", LOAN, TxnType.REPAYMENT, -1, FIRST_DUE)
    with pytest.raises(ValidationError):
        Transaction("t", LOAN, TxnType.REVERSAL, 0, FIRST_DUE)
    with pytest.raises(ValidationError):
        LoanMark(LOAN, MarkKind.PAYMENT_PAUSE, FIRST_DUE, FIRST_DUE - days(1))


def test_loan_id_comes_from_the_inputs_or_the_caller() -> None:
    terms, schedule = loan()
    assert state(terms, schedule, FIRST_DUE, pay_on_time(schedule, 1)).loan_id == LOAN
    s = loan_state_as_of(terms, schedule, [], [], FIRST_DUE, loan_id="X9")
    assert s.loan_id == "X9"


def test_classification_history_matches_the_state() -> None:
    terms, schedule = loan()
    marks = [mark(MarkKind.CREDIT_IMPAIRED, date(2024, 3, 1), date(2024, 3, 31))]
    on = date(2024, 4, 30)
    txns = pay_on_time(schedule)
    history = classification_history(terms, schedule, txns, marks, on)
    assert [(c.day, c.from_category.value, c.to_category.value, c.reasons) for c in history] == [
        (date(2024, 3, 1), "normal", "substandard", ("credit_impaired",)),
    ]
    # the mark ended on 03-31; the cure needs two periods settled after that (04-15, 05-15)
    assert state(terms, schedule, on, txns, marks).classification_reasons == ("cure_probation",)
    day, before, after, reasons = classification_history(
        terms, schedule, txns, marks, date(2024, 5, 16)
    )[-1]
    assert (day, before.value, after.value, reasons[-1]) == (
        date(2024, 5, 16),
        "substandard",
        "normal",
        "cure_completed",
    )


def test_to_dict_carries_the_advance_balance() -> None:
    terms, schedule = loan()
    early = [repay(schedule[0].total + 500, FIRST_DUE - days(3))]
    d = state(terms, schedule, FIRST_DUE - days(1), early).to_dict()
    json.dumps(d)
    # held up to the first instalment; the 5.00 beyond it prepays principal
    assert d["advance_balance"] == schedule[0].total
    assert d["principal_outstanding"] == terms.principal - 500
    assert d["next_due_date"] == schedule[1].due_date.isoformat()
