"""Channels against real servers on loopback: aiosmtpd for e-mail, an HTTP gateway for SMS."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from contact_fixtures import PHONE, add_borrower, add_loan, queue_overdue
from sqlalchemy import select, update

from postloan.contact.dispatcher import Dispatcher
from postloan.contact.gateway_stub import GatewayStub
from postloan.contact.settings import ContactSettings
from postloan.store import Store
from postloan.store.tables_contact import ContactOutbox, ContactReceipt

MORNING = datetime(2026, 3, 3, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[Message] = []
        self.rcpt: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802, ARG002
        self.mails.append(message_from_bytes(envelope.content, policy=policy.default))
        self.rcpt.append(list(envelope.rcpt_tos))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, str]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def gateway() -> Iterator[GatewayStub]:
    with GatewayStub() as stub:
        yield stub


def _run(store: Store, cfg: ContactSettings, at: datetime = MORNING) -> Any:
    worker = Dispatcher(store, cfg, clock=lambda: at)
    try:
        return worker.run_once()
    finally:
        worker.close()


def test_email_over_real_smtp_in_english_to_the_cent(
    store: Store, smtp: tuple[_Inbox, str]
) -> None:
    inbox, url = smtp
    with store.begin() as conn:
        add_borrower(store, conn, "B0", name="Ann Lee", language="en", email="ann@example.com")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0", channel="email")
    report = _run(store, ContactSettings(smtp_url=url, email_from="collections@bank.example"))
    assert report.sent == 1
    (mail,) = inbox.mails
    assert inbox.rcpt == [["ann@example.com"]]
    assert mail["Subject"] == "Your payment is 5 days overdue"
    assert mail["From"] == "collections@bank.example"
    assert mail["Content-Language"] == "en"
    body = mail.get_content()  # type: ignore[attr-defined]
    assert "CN¥1,234.56 overdue" in body
    assert "Dear Ann Lee" in body
    with store.begin() as conn:
        message_id = conn.execute(select(ContactOutbox.message_id)).scalar_one()
    assert mail["Message-ID"] == f"<{message_id}@postloan>"


def test_email_in_chinese_by_default(store: Store, smtp: tuple[_Inbox, str]) -> None:
    inbox, url = smtp
    with store.begin() as conn:
        add_borrower(store, conn, "B0", language=None, email="zhang@example.cn")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0", channel="email", amount_overdue=100001)
    assert _run(store, ContactSettings(smtp_url=url)).sent == 1
    (mail,) = inbox.mails
    assert mail["Subject"] == "逾期提醒：已逾期 5 天"
    body = mail.get_content()  # type: ignore[attr-defined]
    assert "逾期金额 ¥1,000.01" in body


def test_sms_through_the_json_gateway(store: Store, gateway: GatewayStub) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0")
    assert _run(store, ContactSettings(sms_url=gateway.url)).sent == 1
    (msg,) = gateway.received.messages
    assert msg["to"] == PHONE
    assert msg["lang"] == "zh-CN"
    assert "¥1,234.56" in msg["text"]
    with store.begin() as conn:
        row = conn.execute(select(ContactOutbox)).one()
        receipt = conn.execute(select(ContactReceipt)).one()
    assert msg["id"] == row.message_id
    assert (receipt.status, receipt.provider, receipt.provider_ref) == (
        "accepted",
        "sms-json",
        row.message_id,
    )


def test_sms_shaped_like_alibaba_cloud(store: Store, gateway: GatewayStub) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0")
    cfg = ContactSettings(
        sms_url=gateway.url,
        sms_adapter="aliyun",
        sms_sign_name="示例消费金融",
        sms_template_codes={"overdue": "SMS_123"},
    )
    assert _run(store, cfg).sent == 1
    (msg,) = gateway.received.messages
    assert (msg["PhoneNumbers"], msg["SignName"], msg["TemplateCode"]) == (
        PHONE,
        "示例消费金融",
        "SMS_123",
    )
    assert json.loads(msg["TemplateParam"]) == {"amount_overdue": "1234.56", "days_past_due": "5"}
    # a crash after the gateway accepted it: reconciliation asks QuerySendDetails, no resend
    with store.begin() as conn:
        conn.execute(
            update(ContactOutbox).values(
                state="sending", lease_owner="dead", lease_until=datetime(2000, 1, 1, tzinfo=UTC)
            )
        )
    report = _run(store, cfg)
    assert (report.reconciled, report.sent) == (1, 0)
    assert len(gateway.received.messages) == 1


def test_gateway_outage_is_retried_and_delivered_once(store: Store, gateway: GatewayStub) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0")
    gateway.fail_next = 1
    cfg = ContactSettings(sms_url=gateway.url, backoff_seconds=1)
    assert _run(store, cfg).failed == 1
    with store.begin() as conn:
        row = conn.execute(select(ContactOutbox)).one()
    assert row.last_error == "sms-json: HTTP 503"
    later = row.not_before.replace(tzinfo=UTC)
    assert _run(store, cfg, later).sent == 1
    assert len(gateway.received.messages) == 1


def test_webhook_carries_ids_and_amounts_but_no_contact_data(
    store: Store, gateway: GatewayStub
) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0", channel="webhook")
    assert _run(store, ContactSettings(webhook_url=gateway.url + "/hook")).sent == 1
    (event,) = gateway.received.messages
    assert (event["loan_id"], event["template"]) == ("L0", "overdue")
    assert event["params"]["amount_overdue"] == "1234.56"
    assert PHONE not in json.dumps(event)


def test_cli_without_endpoints_says_messages_stay_queued(store: Store) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_SMS_URL", "_SMTP_URL"))}
    out = subprocess.run(
        [sys.executable, "-m", "postloan", "dispatch", "--once", "--now", MORNING.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert (
        "sms: 1 message(s) stay queued: no endpoint configured (set POSTLOAN_SMS_URL)" in out.stdout
    )


def test_cli_runs_until_interrupted(store: Store, gateway: GatewayStub) -> None:
    with store.begin() as conn:
        add_borrower(store, conn, "B0")
        add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
        queue_overdue(conn, "L0", "B0")
    env = {**os.environ, "POSTLOAN_SMS_URL": gateway.url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "postloan",
            "dispatch",
            "--now",
            MORNING.isoformat(),
            "--poll",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("dispatching (inapp, sms)")
        deadline = time.monotonic() + 60
        while not gateway.received.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "sent 1," in out
    assert len(gateway.received.messages) == 1


def test_smtp_login_from_the_url(store: Store) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:  # noqa: ARG001
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    inbox = _Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        with store.begin() as conn:
            add_borrower(store, conn, "B0", email="zhang@example.cn")
            add_loan(conn, "L0", "B0", dpd=5, overdue=123456)
            queue_overdue(conn, "L0", "B0", channel="email")
        good = ContactSettings(smtp_url=f"smtp://mailer:s3cret@127.0.0.1:{port}")
        assert _run(store, good).sent == 1
    finally:
        controller.stop()
    assert logins == [(b"mailer", b"s3cret")]
    assert len(inbox.mails) == 1
