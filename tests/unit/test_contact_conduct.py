"""The conduct guard at the edges of every rule (CN default, US Regulation F)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.contact.conduct import (
    Attempt,
    ConductGuard,
    ConductProfile,
    Outcome,
    Request,
)
from postloan.domain.errors import ConfigError, ValidationError

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
CN = ConductGuard()
US = ConductGuard(ConductProfile.us())


def sh(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=SH)


def sms(tz: str = "Asia/Shanghai") -> Request:
    return Request("sms", tz)


@pytest.mark.parametrize(
    ("hh", "mm", "outcome", "code"),
    [
        (7, 59, Outcome.DEFERRED, "before_hours"),
        (8, 0, Outcome.ALLOWED, None),
        (21, 59, Outcome.ALLOWED, None),
        (22, 0, Outcome.DEFERRED, "after_hours"),
    ],
)
def test_cn_hours_at_the_edges(hh: int, mm: int, outcome: Outcome, code: str | None) -> None:
    verdict = CN.check(sms(), sh(2, hh, mm))
    assert verdict.outcome is outcome
    assert verdict.code == code


def test_deferred_goes_to_the_next_allowed_window_in_borrower_time() -> None:
    early = CN.check(sms(), sh(2, 7, 59))
    assert early.until == sh(2, 8).astimezone(UTC)
    late = CN.check(sms(), sh(2, 22, 0))
    assert late.until == sh(3, 8).astimezone(UTC)
    # the clock of the server does not matter: 23:30 UTC is 07:30 the next day in Shanghai
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert CN.check(sms(), at).until == sh(2, 8).astimezone(UTC)


def test_staff_call_gets_a_reason_instead_of_a_number() -> None:
    verdict = CN.check_call(sh(2, 7, 30), "Asia/Shanghai")
    assert not verdict.allowed
    assert verdict.text("en") == "not allowed before 08:00"
    assert verdict.text() == "08:00 前不允许联系"
    assert CN.check_call(sh(2, 21, 59), "Asia/Shanghai").allowed


def _unanswered(n: int, day: int = 2) -> list[Attempt]:
    return [Attempt("call", sh(day, 9, i), "unanswered") for i in range(n)]


def test_cn_sixth_unanswered_call_allowed_seventh_deferred_to_tomorrow() -> None:
    now = sh(2, 15)
    assert CN.check_call(now, "Asia/Shanghai", _unanswered(5)).allowed
    seventh = CN.check_call(now, "Asia/Shanghai", _unanswered(6))
    assert seventh.outcome is Outcome.DEFERRED
    assert seventh.code == "daily_cap"
    assert seventh.until == sh(3, 8).astimezone(UTC)
    assert "limit 6" in seventh.text("en")


def test_cn_cap_is_per_contact_method_and_counts_only_unanswered() -> None:
    now = sh(2, 15)
    answered = [Attempt("call", sh(2, 9, i), "answered") for i in range(8)]
    assert CN.check_call(now, "Asia/Shanghai", answered).allowed
    other_number = [Attempt("call", sh(2, 9, i), "unanswered", method_key="work") for i in range(6)]
    assert CN.check_call(now, "Asia/Shanghai", other_number).allowed
    assert not CN.check_call(now, "Asia/Shanghai", other_number, method_key="work").allowed


def test_cn_yesterdays_attempts_do_not_count_today() -> None:
    assert CN.check_call(sh(3, 8), "Asia/Shanghai", _unanswered(6, day=2)).allowed


def ny(month: int, day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=NY)


def test_us_hours_end_at_21() -> None:
    assert US.check(sms("America/New_York"), ny(3, 2, 20, 59)).allowed
    late = US.check(sms("America/New_York"), ny(3, 2, 21, 0))
    assert late.code == "after_hours"
    assert late.until == ny(3, 3, 8).astimezone(UTC)


def test_us_daylight_saving_change() -> None:
    # 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. 12:30 UTC is 07:30 EST the day
    # before but 08:30 EDT that day: the same UTC time is deferred, then allowed.
    req = sms("America/New_York")
    assert US.check(req, datetime(2026, 3, 7, 12, 30, tzinfo=UTC)).code == "before_hours"
    assert US.check(req, datetime(2026, 3, 8, 12, 30, tzinfo=UTC)).allowed
    # deferred across the change: the window opens at 08:00 EDT = 12:00 UTC, not 13:00
    verdict = US.check(req, ny(3, 7, 22, 0))
    assert verdict.until == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    # and back in November: 08:00 EST = 13:00 UTC
    assert US.check(req, ny(10, 31, 22, 0)).until == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_us_seven_calls_in_seven_days() -> None:
    now = ny(3, 10, 12)
    calls = [Attempt("call", ny(3, 4 + i, 10), "unanswered") for i in range(6)]
    assert US.check_call(now, "America/New_York", calls).allowed  # the 7th call
    calls.append(Attempt("call", ny(3, 10, 11), "answered"))
    eighth = US.check_call(now, "America/New_York", calls)
    assert eighth.code == "weekly_cap"
    # seven consecutive days, today included: the call of 3-4 leaves the window on 3-11
    assert eighth.until == ny(3, 11, 8).astimezone(UTC)


def test_us_no_call_within_seven_days_after_a_conversation() -> None:
    talk = [Attempt("call", ny(3, 2, 10), "conversation")]
    verdict = US.check_call(ny(3, 8, 12), "America/New_York", talk)
    assert verdict.code == "conversation_cooldown"
    # the day of the conversation is day 1 of 7: calls again from 3-9 08:00 (EDT by then)
    assert verdict.until == ny(3, 9, 8).astimezone(UTC)
    assert US.check_call(ny(3, 9, 8), "America/New_York", talk).allowed
    # messages are not calls: an SMS is still allowed
    assert US.check(sms("America/New_York"), ny(3, 8, 12), talk).allowed


def test_opt_out_blocks_only_that_channel() -> None:
    verdict = CN.check(sms(), sh(2, 10), opted_out={"sms"})
    assert verdict.outcome is Outcome.BLOCKED
    assert verdict.text("en") == "the borrower opted out of sms"
    assert CN.check(Request("email", "Asia/Shanghai"), sh(2, 10), opted_out={"sms"}).allowed


def test_third_party_only_when_borrower_unreachable_and_never_with_debt() -> None:
    req = Request("call", "Asia/Shanghai", method_key="ec1", target="third_party")
    now = sh(2, 15)
    assert CN.check(req, now, _unanswered(2)).code == "third_party_reachable"
    assert CN.check(req, now, _unanswered(3)).allowed
    invalid = [Attempt("call", sh(1, 9), "invalid")]
    assert CN.check(req, now, invalid).allowed
    telling = Request("call", "Asia/Shanghai", target="third_party", discloses_debt=True)
    assert CN.check(telling, now, _unanswered(3)).code == "third_party_debt"
    assert US.check(req, now, _unanswered(3)).outcome is Outcome.BLOCKED


def test_holidays_defer_to_the_next_working_day() -> None:
    guard = ConductGuard(
        ConductProfile.cn().with_overrides({"holidays": ["2026-10-01", "2026-10-02"]})
    )
    verdict = guard.check(sms(), datetime(2026, 10, 1, 10, tzinfo=SH))
    assert verdict.code == "holiday"
    assert verdict.until == datetime(2026, 10, 3, 8, tzinfo=SH).astimezone(UTC)


def test_profile_overrides_and_errors() -> None:
    prof = ConductProfile.cn().with_overrides({"end": "21:00", "caps": {"sms": {"per_day": 1}}})
    assert prof.end == time(21)
    assert prof.caps["sms"].per_day == 1
    assert prof.caps["call"].per_day == 6
    with pytest.raises(ConfigError, match="unknown keys"):
        ConductProfile.cn().with_overrides({"night": True})
    with pytest.raises(ConfigError, match="start must be before end"):
        ConductProfile.cn().with_overrides({"start": "23:00"})
    with pytest.raises(ValidationError, match="time zone"):
        CN.check(Request("sms", "Mars/Base"), sh(2, 10))
    with pytest.raises(ValidationError, match="aware"):
        CN.check(sms(), datetime(2026, 3, 2, 10))  # noqa: DTZ001


def test_webhooks_and_staff_notes_are_not_borrower_contact() -> None:
    assert CN.check(Request("webhook", "Asia/Shanghai"), sh(2, 3)).allowed
    assert CN.check(Request("inapp", "Asia/Shanghai"), sh(2, 3)).allowed


instants = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=150, deadline=None)
@given(
    now=instants,
    tz=st.sampled_from(["Asia/Shanghai", "America/New_York", "America/Los_Angeles"]),
    us=st.booleans(),
    offsets=st.lists(st.integers(min_value=0, max_value=14 * 24 * 60), max_size=12),
    outcomes=st.lists(st.sampled_from(["unanswered", "answered", "conversation"]), min_size=12),
)
def test_a_deferral_lands_on_an_allowed_moment(
    now: datetime, tz: str, us: bool, offsets: list[int], outcomes: list[str]
) -> None:
    guard = US if us else CN
    history = [
        Attempt("call", now - timedelta(minutes=m), outcomes[i]) for i, m in enumerate(offsets)
    ]
    verdict = guard.check_call(now, tz, history)
    if verdict.allowed:
        local = now.astimezone(ZoneInfo(tz)).time()
        assert guard.profile.start <= local < guard.profile.end
        return
    assert verdict.outcome is Outcome.DEFERRED
    assert verdict.until is not None and verdict.until > now
    assert guard.check_call(verdict.until, tz, history).allowed
    # and nothing earlier (checked on the minute before) is allowed
    assert not guard.check_call(verdict.until - timedelta(minutes=1), tz, history).allowed
    assert date(2026, 1, 1) <= verdict.until.date()


def test_dispatch_now_option_parses_iso_8601() -> None:
    from postloan.commands.dispatch import _parse_now

    assert _parse_now("2026-03-02T09:30:00+08:00") == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert _parse_now("2026-03-02T09:30:00") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert _parse_now(None) is None
    with pytest.raises(ValidationError, match="ISO-8601"):
        _parse_now("tomorrow")
