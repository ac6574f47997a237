"""Staff call tasks pass through the conduct guard: a reason instead of a number."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from contact_fixtures import PHONE, add_borrower
from sqlalchemy import insert, select

from postloan.contact.service import check_call, opt_out, record_call, record_receipt
from postloan.contact.settings import ContactSettings, RegionRule
from postloan.domain.errors import NotFound, ValidationError
from postloan.store import Store
from postloan.store.tables import BorrowerContact
from postloan.store.tables_contact import ContactReceipt

SH = ZoneInfo("Asia/Shanghai")
CFG = ContactSettings(regions={"US": RegionRule("US", "America/New_York")})


def test_collector_gets_the_number_only_inside_allowed_hours(store: Store) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        early = check_call(
            conn, store.cipher, CFG, borrower_id="B0", now=datetime(2026, 3, 3, 7, 30, tzinfo=SH)
        )
        assert (early.allowed, early.phone, early.reason) == (False, None, "08:00 前不允许联系")
        assert early.until == datetime(2026, 3, 3, 8, tzinfo=SH)
        ok = check_call(
            conn, store.cipher, CFG, borrower_id="B0", now=datetime(2026, 3, 3, 8, tzinfo=SH)
        )
        assert (ok.allowed, ok.phone, ok.masked) == (True, PHONE, "138****5678")


def test_seventh_unanswered_call_of_the_day_is_refused(store: Store) -> None:
    start = datetime(2026, 3, 3, 9, tzinfo=SH)
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        for i in range(6):
            allowed = check_call(
                conn, store.cipher, CFG, borrower_id="B0", now=start + timedelta(minutes=i)
            )
            assert allowed.allowed, f"attempt {i + 1}"
            record_call(
                conn,
                borrower_id="B0",
                outcome="unanswered",
                at=start + timedelta(minutes=i),
                actor="c1",
            )
        seventh = check_call(
            conn,
            store.cipher,
            CFG,
            borrower_id="B0",
            now=start + timedelta(hours=1),
            lang="en",
        )
    assert not seventh.allowed
    assert seventh.reason == "6 call attempts today on this contact method (limit 6)"


def test_emergency_contact_only_when_borrower_unreachable(store: Store) -> None:
    now = datetime(2026, 3, 3, 10, tzinfo=SH)
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        contact_id = conn.execute(
            insert(BorrowerContact)
            .values(
                borrower_id="B0",
                kind="emergency",
                name="李四",
                phone_enc=store.cipher.encrypt("phone", "13900001111"),
            )
            .returning(BorrowerContact.id)
        ).scalar_one()
        refused = check_call(
            conn, store.cipher, CFG, borrower_id="B0", now=now, contact_id=contact_id, lang="en"
        )
        assert refused.reason == "the borrower can be reached: third parties may not be contacted"
        for i in range(3):
            record_call(
                conn,
                borrower_id="B0",
                outcome="unanswered",
                at=now - timedelta(minutes=10 - i),
                actor="c1",
            )
        allowed = check_call(
            conn, store.cipher, CFG, borrower_id="B0", now=now, contact_id=contact_id
        )
        assert (allowed.allowed, allowed.phone) == (True, "13900001111")


def test_opt_out_receipts_and_errors(store: Store) -> None:
    now = datetime(2026, 3, 3, 10, tzinfo=SH)
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        opt_out(conn, borrower_id="B0", channel="call", at=now)
        opt_out(conn, borrower_id="B0", channel="call", at=now)  # idempotent
        refused = check_call(conn, store.cipher, CFG, borrower_id="B0", now=now, lang="en")
        assert refused.reason == "the borrower opted out of call"
        record_receipt(conn, message_id="m1", provider="sms-json", status="delivered", at=now)
        assert conn.execute(select(ContactReceipt.status)).scalars().all() == ["delivered"]
        with pytest.raises(NotFound):
            check_call(conn, store.cipher, CFG, borrower_id="nobody", now=now)
        with pytest.raises(ValidationError, match="call outcome"):
            record_call(conn, borrower_id="B0", outcome="shouted", at=now, actor="c1")
