"""Outbox state machine, backoff, cancellation at send time, contact settings."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.config import load_settings
from postloan.contact.cancellation import LoanNow, vanished
from postloan.contact.settings import load_contact_settings
from postloan.contact.states import (
    TRANSITIONS,
    IllegalTransition,
    MessageState,
    after_failure,
    backoff,
    transition,
)
from postloan.domain.errors import ConfigError

S = MessageState
D = date(2026, 3, 2)
OVERDUE = {"days_past_due": 5, "amount_overdue": 123456}


def test_sent_and_cancelled_are_final() -> None:
    for final in (S.SENT, S.CANCELLED):
        for target in S:
            with pytest.raises(IllegalTransition):
                transition(final, target)
    assert transition("queued", S.SENDING) is S.SENDING
    with pytest.raises(IllegalTransition, match="a queued message cannot become sent"):
        transition(S.QUEUED, S.SENT)


@given(st.lists(st.sampled_from(list(S)), max_size=20))
def test_any_walk_along_the_table_never_leaves_a_final_state(path: list[MessageState]) -> None:
    state = S.QUEUED
    for target in path:
        if target in TRANSITIONS[state]:
            state = transition(state, target)
        else:
            with pytest.raises(IllegalTransition):
                transition(state, target)
    assert state in S


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_with_jitter_and_a_cap(attempts: int, seed: int) -> None:
    delay = backoff(attempts, base_seconds=30, cap_seconds=3600, rng=random.Random(seed))
    raw = min(3600, 30 * 2 ** (attempts - 1))
    assert timedelta(seconds=raw * 0.5) <= delay <= timedelta(seconds=min(3600, raw * 1.5))


def test_dead_after_max_attempts() -> None:
    assert after_failure(4, 5) is S.FAILED
    assert after_failure(5, 5) is S.DEAD


def test_paid_between_planning_and_sending_cancels() -> None:
    loan = LoanNow(state_date=D, days_past_due=5, overdue_amount=123456, principal_outstanding=9)
    assert vanished("overdue", D, OVERDUE, loan) is None
    paid = LoanNow(
        state_date=D,
        days_past_due=5,
        overdue_amount=123456,
        principal_outstanding=9,
        repaid_since={D + timedelta(days=1): 123456},
    )
    assert vanished("overdue", D, OVERDUE, paid) == (
        "paid 123456 (minor units) after the message was planned"
    )
    same_day = LoanNow(
        state_date=D,
        days_past_due=5,
        overdue_amount=9,
        principal_outstanding=9,
        repaid_since={D: 9},
    )
    assert vanished("overdue", D, OVERDUE, same_day) is None  # already in the plan's state


def test_loan_current_again_or_paid_off() -> None:
    current = LoanNow(state_date=D + timedelta(days=1), days_past_due=0, principal_outstanding=5)
    assert vanished("overdue", D, OVERDUE, current) == "loan no longer overdue"
    assert vanished("pre_due_reminder", D, {"amount_due": 5, "due_date": D}, current) is None
    closed = LoanNow(state_date=D, principal_outstanding=0, overdue_amount=0)
    assert vanished("pre_due_reminder", D, {"amount_due": 5, "due_date": D}, closed) == (
        "loan paid off"
    )
    assert vanished("overdue", D, OVERDUE, None) is None


def test_a_promise_stops_dunning_but_not_its_confirmation() -> None:
    promised = LoanNow(state_date=D, days_past_due=5, overdue_amount=9, promise_since=D)
    assert vanished("overdue", D, OVERDUE, promised) == "a promise to pay was made"
    confirm = {"promised_date": D, "promised_amount": 100}
    assert vanished("promise_confirmation", D, confirm, promised) is None
    older = LoanNow(state_date=D, days_past_due=5, overdue_amount=9, promise_since=D - timedelta(1))
    assert vanished("overdue", D, OVERDUE, older) is None


def _write_config(text: str) -> None:
    path = load_settings().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_settings_from_config_and_environment(postloan_home: Path) -> None:  # noqa: ARG001
    _write_config(
        "contact:\n"
        "  regions: {US: {profile: US, time_zone: America/Chicago}}\n"
        "  profiles: {CN: {holidays: [2026-10-01], caps: {sms: {per_day: 2}}}}\n"
        "  institution: {name_zh: 某某消费金融, phone: 95000}\n"
        "  cost: {sms: 4, currency: CNY}\n"
        "  sms: {adapter: aliyun, sign_name: 某某, template_codes: {overdue: SMS_1}}\n"
        "  smtp_url: smtp://file.example:25\n"
    )
    cfg = load_contact_settings(load_settings(), {"POSTLOAN_SMTP_URL": "smtp://127.0.0.1:8025"})
    assert cfg.smtp_url == "smtp://127.0.0.1:8025"  # the environment wins
    assert cfg.sms_url is None  # no endpoint: messages stay queued
    assert cfg.for_region("US-IL").time_zone == "America/Chicago"
    assert cfg.for_region("310000").profile == "CN"
    assert cfg.profile("cn").caps["sms"].per_day == 2
    assert date(2026, 10, 1) in cfg.profile("CN").holidays
    assert cfg.cost_minor["sms"] == 4 and cfg.cost_minor["email"] == 0
    assert cfg.institution.name_zh == "某某消费金融"
    assert cfg.sms_template_codes == {"overdue": "SMS_1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contact: [1]\n", "must be a mapping"),
        ("contact: {regions: {US: {profile: XX, time_zone: UTC}}}\n", "unknown contact profile"),
        ("contact: {regions: {US: {profile: US, time_zone: Mars/Base}}}\n", "time zone"),
        ("contact: {sms: {adapter: carrier-pigeon}}\n", "sms adapter"),
        ("contact: {profiles: {CN: {bedtime: '21:00'}}}\n", "unknown keys"),
        ("contact: {max_attempts: 0}\n", "must be positive"),
    ],
)
def test_settings_errors_name_the_problem(postloan_home: Path, text: str, message: str) -> None:  # noqa: ARG001
    _write_config(text)
    with pytest.raises(ConfigError, match=message):
        load_contact_settings(load_settings(), {})


def test_a_kept_promise_needs_no_confirmation() -> None:
    confirm = {"promised_date": D + timedelta(days=3), "promised_amount": 100}
    still_owed = LoanNow(state_date=D, days_past_due=5, overdue_amount=100, promise_since=D)
    assert vanished("promise_confirmation", D, confirm, still_owed) is None
    cured = LoanNow(state_date=D, days_past_due=0, overdue_amount=0, principal_outstanding=9)
    assert vanished("promise_confirmation", D, confirm, cured) == (
        "loan no longer overdue: the promise was kept"
    )
    paid = LoanNow(
        state_date=D,
        days_past_due=5,
        overdue_amount=100,
        principal_outstanding=9,
        repaid_since={D + timedelta(days=1): 100},
    )
    assert vanished("promise_confirmation", D, confirm, paid) == (
        "paid 100 (minor units) after the promise: it was kept"
    )
