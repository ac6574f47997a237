"""The dispatcher with fake channels: guard, cancellation, retries, reconciliation, audit."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from contact_fixtures import (
    PHONE,
    add_borrower,
    add_loan,
    pay,
    queue_overdue,
)
from sqlalchemy import func, insert, select, update

from postloan.contact.channels import FakeSender
from postloan.contact.dispatcher import Dispatcher
from postloan.contact.settings import ContactSettings, RegionRule
from postloan.store import Store
from postloan.store.tables import LoanStateCurrent
from postloan.store.tables_audit import AuditEntry
from postloan.store.tables_contact import (
    ContactAttempt,
    ContactNote,
    ContactOptOut,
    ContactOutbox,
    ContactProfile,
    ContactReceipt,
)

SH = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 3, 3, 9, 0, tzinfo=SH)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _dispatcher(store: Store, at: datetime, **senders: FakeSender) -> Dispatcher:
    cfg = ContactSettings(regions={"US": RegionRule("US", "America/New_York")}, backoff_seconds=10)
    chosen = senders or {"sms": FakeSender("sms"), "email": FakeSender("smtp")}
    return Dispatcher(store, cfg, senders=chosen, clock=lambda: at, rng=random.Random(7))


def _states(store: Store) -> dict[str, str]:
    with store.begin() as conn:
        return dict(conn.execute(select(ContactOutbox.loan_id, ContactOutbox.state)).all())


def _setup(store: Store, n: int = 1, **borrower: object) -> None:
    with store.begin() as conn:
        for i in range(n):
            add_borrower(store, conn, f"B{i}", **borrower)  # type: ignore[arg-type]
            add_loan(conn, f"L{i}", f"B{i}", dpd=5, overdue=123456)
            queue_overdue(conn, f"L{i}", f"B{i}")


def test_sends_in_borrower_language_with_exact_amounts_and_records_it(store: Store) -> None:
    _setup(store)
    sms = FakeSender("sms")
    report = _dispatcher(store, MORNING, sms=sms).run_once()
    assert report.sent == 1 and report.cost_minor == 5
    (msg,) = sms.sent
    assert msg.to == PHONE  # decrypted at send time only
    assert "¥1,234.56" in msg.body and "已逾期 5 天" in msg.body
    assert PHONE not in repr(msg)
    with store.begin() as conn:
        row = conn.execute(select(ContactOutbox)).one()
        assert (row.state, row.attempts, row.cost_minor, row.provider) == ("sent", 1, 5, "sms")
        assert conn.execute(select(ContactReceipt.status)).scalars().all() == ["accepted"]
        assert conn.execute(select(ContactAttempt.outcome)).scalars().all() == ["sent"]
        audit = conn.execute(
            select(AuditEntry.action, AuditEntry.entry).where(
                AuditEntry.object_id == row.message_id
            )
        ).all()
    assert [a for a, _ in audit] == ["contact.sent"]
    assert PHONE not in audit[0][1]


def test_english_borrower_in_the_us_gets_english_with_an_opt_out_line(store: Store) -> None:
    _setup(store, name="Ann Lee", language="en", region="US-NY")
    sms = FakeSender("sms")
    at = datetime(2026, 3, 3, 10, tzinfo=ZoneInfo("America/New_York"))
    assert _dispatcher(store, at, sms=sms).run_once().sent == 1
    assert "CN¥1,234.56" in sms.sent[0].body
    assert sms.sent[0].body.endswith("Reply STOP to opt out.")


def test_before_eight_in_borrower_time_is_deferred_then_sent(store: Store) -> None:
    _setup(store)
    sms = FakeSender("sms")
    early = datetime(2026, 3, 3, 7, 59, tzinfo=SH)
    report = _dispatcher(store, early, sms=sms).run_once()
    assert (report.sent, report.deferred) == (0, 1)
    with store.begin() as conn:
        row = conn.execute(select(ContactOutbox)).one()
    assert row.state == "queued" and row.attempts == 0
    assert row.reason == "not allowed before 08:00"
    assert row.not_before.replace(tzinfo=UTC) == datetime(2026, 3, 3, 8, tzinfo=SH)
    assert _dispatcher(store, early + timedelta(seconds=30), sms=sms).run_once().sent == 0
    assert _dispatcher(store, datetime(2026, 3, 3, 8, tzinfo=SH), sms=sms).run_once().sent == 1
    with store.begin() as conn:
        actions = conn.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions == ["contact.deferred", "contact.sent"]


def test_borrower_who_paid_between_planning_and_sending_gets_nothing(store: Store) -> None:
    _setup(store, n=2)
    with store.begin() as conn:
        pay(conn, "L0", 123456, date(2026, 3, 3))  # paid this morning, after the plan
        pay(conn, "L1", 100, date(2026, 3, 3))  # a partial payment does not cancel
    sms = FakeSender("sms")
    report = _dispatcher(store, MORNING, sms=sms).run_once()
    assert (report.sent, report.cancelled) == (1, 1)
    assert _states(store) == {"L0": "cancelled", "L1": "sent"}
    with store.begin() as conn:
        reason = conn.execute(
            select(ContactOutbox.reason).where(ContactOutbox.loan_id == "L0")
        ).scalar_one()
    assert "after the message was planned" in reason


def test_loan_current_again_and_opt_out_cancel(store: Store) -> None:
    _setup(store, n=2)
    with store.begin() as conn:
        optout = {"borrower_id": "B1", "channel": "sms", "created_at": MORNING}
        conn.execute(insert(ContactOptOut).values(optout))
        # planned on 3-1; the batch of 3-2 found the loan current again
        conn.execute(
            update(ContactOutbox)
            .where(ContactOutbox.loan_id == "L0")
            .values(business_date=date(2026, 3, 1))
        )
        conn.execute(
            update(LoanStateCurrent)
            .where(LoanStateCurrent.loan_id == "L0")
            .values(days_past_due=0, overdue_principal=0)
        )
    sms = FakeSender("sms")
    report = _dispatcher(store, MORNING, sms=sms).run_once()
    assert (report.cancelled, report.sent, sms.sent) == (2, 0, [])
    with store.begin() as conn:
        reasons = dict(conn.execute(select(ContactOutbox.loan_id, ContactOutbox.reason)).all())
    assert reasons == {"L0": "loan no longer overdue", "L1": "the borrower opted out of sms"}


def test_channel_without_endpoint_keeps_messages_queued(store: Store) -> None:
    _setup(store, n=3)
    report = _dispatcher(store, MORNING, email=FakeSender("smtp")).run_once()
    assert report.sent == 0
    assert report.waiting == {"sms": 3}
    assert set(_states(store).values()) == {"queued"}


def test_transient_failure_backs_off_then_dies_after_max_attempts(store: Store) -> None:
    _setup(store)
    sms = FakeSender("sms", fail=99)
    at = MORNING
    for attempt in range(1, 6):
        report = _dispatcher(store, at, sms=sms).run_once()
        with store.begin() as conn:
            row = conn.execute(select(ContactOutbox)).one()
        assert row.attempts == attempt
        if attempt < 5:
            assert (report.failed, row.state) == (1, "failed")
            wait = row.not_before.replace(tzinfo=UTC) - at
            base = 10 * 2 ** (attempt - 1)
            assert timedelta(seconds=base * 0.5) <= wait <= timedelta(seconds=base * 1.5)
            assert _dispatcher(store, at, sms=sms).run_once().failed == 0  # not before backoff
            at = row.not_before.replace(tzinfo=UTC) + timedelta(seconds=1)
        else:
            assert (report.dead, row.state) == (1, "dead")


def test_permanent_failure_is_dead_at_once(store: Store) -> None:
    _setup(store)
    report = _dispatcher(store, MORNING, sms=FakeSender("sms", fail=1, permanent=True)).run_once()
    assert report.dead == 1
    assert _states(store) == {"L0": "dead"}


def test_in_app_notes_are_written_once(store: Store) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0", channel="inapp")
    at = datetime(2026, 3, 3, 3, tzinfo=SH)  # staff notes are not borrower contact: no hours
    assert _dispatcher(store, at).run_once().sent == 1
    assert _dispatcher(store, at).run_once().sent == 0
    with store.begin() as conn:
        notes = conn.execute(select(ContactNote.text)).scalars().all()
    assert len(notes) == 1 and "¥1,234.56" in notes[0]


def _crash_mid_send(store: Store) -> None:
    """What a killed worker leaves: claimed, lease expired."""
    with store.begin() as conn:
        conn.execute(
            update(ContactOutbox).values(
                state="sending",
                attempts=1,
                lease_owner="dead-worker",
                lease_until=LONG_AGO,
            )
        )


def test_reconciliation_marks_accepted_messages_sent_without_resending(store: Store) -> None:
    _setup(store, n=2)
    sms = FakeSender("sms")
    assert _dispatcher(store, MORNING, sms=sms).run_once().sent == 2
    with store.begin() as conn:  # pretend the worker died before it recorded L1
        conn.execute(
            update(ContactOutbox)
            .where(ContactOutbox.loan_id == "L1")
            .values(state="sending", lease_owner="dead-worker", lease_until=LONG_AGO)
        )
    report = _dispatcher(store, MORNING, sms=sms).run_once()
    assert (report.reconciled, report.requeued, report.sent) == (1, 0, 0)
    assert len(sms.sent) == 2
    assert _states(store) == {"L0": "sent", "L1": "sent"}


def test_reconciliation_resends_what_the_provider_never_got(store: Store) -> None:
    _setup(store, n=2)
    _crash_mid_send(store)
    sms = FakeSender("sms")
    report = _dispatcher(store, MORNING, sms=sms).run_once()
    assert (report.reconciled, report.requeued, report.sent) == (0, 2, 2)
    assert sorted(m.loan_id for m in sms.sent) == ["L0", "L1"]
    with store.begin() as conn:
        assert conn.execute(select(func.max(ContactOutbox.attempts))).scalar() == 2


def test_a_live_lease_is_left_alone(store: Store) -> None:
    _setup(store)
    with store.begin() as conn:
        conn.execute(
            update(ContactOutbox).values(
                state="sending",
                lease_owner="busy-worker",
                lease_until=datetime.now(UTC) + timedelta(minutes=5),
            )
        )
    report = _dispatcher(store, MORNING).run_once()
    assert (report.sent, report.reconciled, report.requeued) == (0, 0, 0)


def test_borrower_time_zone_from_the_contact_profile(store: Store) -> None:
    _setup(store)
    with store.begin() as conn:
        conn.execute(
            insert(ContactProfile).values(
                borrower_id="B0", time_zone="Asia/Urumqi", updated_at=MORNING
            )
        )
    # 09:00 in Shanghai is 07:00 in Urumqi (UTC+6): deferred
    report = _dispatcher(store, MORNING).run_once()
    assert report.deferred == 1


def test_bad_data_of_one_message_does_not_stop_the_others(store: Store) -> None:
    _setup(store, n=2)
    with store.begin() as conn:
        conn.execute(
            insert(ContactProfile).values(
                borrower_id="B0", time_zone="Mars/Olympus", updated_at=MORNING
            )
        )
    sms = FakeSender("sms")
    report = _dispatcher(store, MORNING, sms=sms).run_once()
    assert (report.sent, report.dead) == (1, 1)
    with store.begin() as conn:
        reason = conn.execute(
            select(ContactOutbox.reason).where(ContactOutbox.loan_id == "L0")
        ).scalar_one()
    assert "unknown time zone 'Mars/Olympus'" in reason


def test_cn_daily_sms_cap_defers_the_fourth_message_to_tomorrow(store: Store) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        for i in range(4):
            add_loan(conn, f"L{i}", "B0", dpd=5, overdue=123456)
            queue_overdue(conn, f"L{i}", "B0")
    sms = FakeSender("sms")
    report = _dispatcher(store, MORNING, sms=sms).run_once()
    assert (report.sent, report.deferred) == (3, 1)
    with store.begin() as conn:
        row = conn.execute(select(ContactOutbox).where(ContactOutbox.state == "queued")).one()
    assert row.reason == "3 sms attempts today on this contact method (limit 3)"
    assert row.not_before.replace(tzinfo=UTC) == datetime(2026, 3, 4, 8, tzinfo=SH)
    # a message planned later the same day: the guard counts today's three from the store
    with store.begin() as conn:
        add_loan(conn, "L9", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L9", "B0")
    later = _dispatcher(store, MORNING + timedelta(hours=3), sms=sms).run_once()
    assert (later.sent, later.deferred) == (0, 1)
    assert _dispatcher(store, datetime(2026, 3, 4, 8, tzinfo=SH), sms=sms).run_once().sent == 2


def test_dispatcher_in_a_background_thread_stops_on_request(store: Store) -> None:
    from postloan.contact.dispatcher import start_in_thread

    _setup(store)
    cfg = ContactSettings()  # no endpoints: nothing leaves, nothing is lost
    thread, stop = start_in_thread(store, cfg, clock=lambda: MORNING, poll_seconds=0.05)
    time.sleep(0.3)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert _states(store) == {"L0": "queued"}
