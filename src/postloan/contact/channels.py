"""Channels: the port every provider adapter implements, the adapters and a fake.

A :class:`Sender` sends one rendered message and, when the provider can tell,
answers :meth:`Sender.lookup` — "did you already accept message X?" — which the
dispatcher asks before sending again a message whose worker died mid-send
(that is what makes a provider-side duplicate impossible; see docs/contact.md).
The message id travels as the provider's idempotency key (``Idempotency-Key``
header, SMTP ``Message-ID``, Alibaba Cloud ``OutId``).
Addresses are decrypted just before sending and are never logged.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import httpx


class ChannelError(Exception):
    """A send that failed; ``transient`` ones are retried with backoff, others go dead."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready to go. ``to`` is personal data: never log or audit it."""

    message_id: str
    channel: str
    template: str
    to: str
    subject: str
    body: str
    lang: str
    loan_id: str
    borrower_id: str
    business_date: date
    params: Mapping[str, str] = field(default_factory=dict)  # formatted template values

    def __repr__(self) -> str:  # keep the address out of tracebacks and logs
        return f"Outgoing({self.message_id}, {self.channel}, {self.template})"


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_ref: str | None


class Sender(Protocol):
    provider: str

    def send(self, msg: Outgoing) -> Accepted: ...

    def lookup(self, msg: Outgoing) -> bool | None:
        """True/False when the provider can tell whether it accepted ``msg``; None if not."""
        ...

    def close(self) -> None: ...


class RateLimiter:
    """A token bucket per provider (wall clock); ``acquire`` waits for a token."""

    def __init__(self, per_second: float, burst: float | None = None) -> None:
        self.rate = per_second
        self.capacity = burst if burst is not None else max(1.0, per_second)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            wait = (1 - self.tokens) / self.rate
            self.tokens = 0
            self.stamp = now + wait
        time.sleep(wait)


# --- email over SMTP --------------------------------------------------------------------


class SmtpSender:
    """``smtp://host:port`` (``?starttls=1`` to upgrade), ``smtps://`` for implicit TLS."""

    provider = "smtp"

    def __init__(
        self,
        url: str,
        sender: str,
        *,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ChannelError(f"SMTP URL must be smtp://HOST:PORT or smtps://…, got {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in {"1", "true"}
        self.user = unquote(parts.username) if parts.username else user
        self.password = unquote(parts.password) if parts.password else password
        self.sender = sender
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if self.implicit_tls:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=context)
        if self.user:
            conn.login(self.user, self.password or "")
        self._conn = conn
        return conn

    def send(self, msg: Outgoing) -> Accepted:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = msg.to
        mail["Subject"] = msg.subject
        mail["Message-ID"] = f"<{msg.message_id}@postloan>"
        mail.set_content(msg.body)  # clears Content-* headers: set the language after it
        mail["Content-Language"] = msg.lang
        try:
            self._connect().send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            self.close()
            raise ChannelError("the mail server refused the recipient", transient=False) from None
        except (smtplib.SMTPException, OSError) as err:
            self.close()
            raise ChannelError(f"SMTP {self.host}:{self.port}: {type(err).__name__}") from None
        return Accepted(provider_ref=mail["Message-ID"])

    def lookup(self, msg: Outgoing) -> bool | None:  # noqa: ARG002 - SMTP cannot tell
        return None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._conn = None


# --- HTTP adapters ----------------------------------------------------------------------


def _http_error(provider: str, response: httpx.Response) -> ChannelError:
    transient = response.status_code == 429 or response.status_code >= 500
    return ChannelError(f"{provider}: HTTP {response.status_code}", transient=transient)


class _HttpSender:
    provider = "http"

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.post(url, **kwargs)
        except httpx.HTTPError as err:
            raise ChannelError(f"{self.provider}: {type(err).__name__}") from None
        if response.status_code >= 300:
            raise _http_error(self.provider, response)
        return response

    def close(self) -> None:
        self.client.close()


class JsonSmsGateway(_HttpSender):
    """Generic JSON SMS gateway: ``POST {base}/messages`` and ``GET {base}/messages/{id}``."""

    provider = "sms-json"

    def send(self, msg: Outgoing) -> Accepted:
        payload = {"id": msg.message_id, "to": msg.to, "text": msg.body, "lang": msg.lang}
        payload["template"] = msg.template
        response = self._post(
            f"{self.base_url}/messages",
            json=payload,
            headers={"Idempotency-Key": msg.message_id},
        )
        ref = response.json().get("id") if response.content else None
        return Accepted(provider_ref=str(ref) if ref else msg.message_id)

    def lookup(self, msg: Outgoing) -> bool | None:
        try:
            response = self.client.get(f"{self.base_url}/messages/{msg.message_id}")
        except httpx.HTTPError:
            return None
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        return None


class AliyunSmsGateway(_HttpSender):
    """Shaped after Alibaba Cloud SMS (dysmsapi): SendSms with PhoneNumbers, SignName,
    TemplateCode, TemplateParam (JSON) and OutId (our message id); QuerySendDetails
    (PhoneNumber, SendDate) lists what was sent, with each OutId, for reconciliation.
    Request signing (AccessKey) belongs to a gateway in front of it and is not done here.
    """

    provider = "sms-aliyun"

    def __init__(
        self,
        base_url: str,
        *,
        sign_name: str,
        template_codes: Mapping[str, str],
        timeout: float = 10.0,
    ) -> None:
        super().__init__(base_url, timeout=timeout)
        self.sign_name = sign_name
        self.template_codes = dict(template_codes)

    def send(self, msg: Outgoing) -> Accepted:
        code = self.template_codes.get(msg.template)
        if code is None:
            raise ChannelError(
                f"no Alibaba Cloud TemplateCode for {msg.template!r} (contact.sms.template_codes)",
                transient=False,
            )
        form = {
            "Action": "SendSms",
            "PhoneNumbers": msg.to,
            "SignName": self.sign_name,
            "TemplateCode": code,
            "TemplateParam": json.dumps(dict(msg.params), ensure_ascii=False, sort_keys=True),
            "OutId": msg.message_id,
        }
        body = self._post(self.base_url + "/", data=form).json()
        if body.get("Code") != "OK":
            transient = body.get("Code") in {"isv.BUSINESS_LIMIT_CONTROL", "Throttling"}
            raise ChannelError(f"{self.provider}: {body.get('Code')}", transient=transient)
        return Accepted(provider_ref=body.get("BizId"))

    def lookup(self, msg: Outgoing) -> bool | None:
        form = {
            "Action": "QuerySendDetails",
            "PhoneNumber": msg.to,
            "SendDate": msg.business_date.strftime("%Y%m%d"),
            "PageSize": "50",
            "CurrentPage": "1",
        }
        try:
            body = self.client.post(self.base_url + "/", data=form).json()
        except (httpx.HTTPError, ValueError):
            return None
        if body.get("Code") != "OK":
            return None
        details = (body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        return any(d.get("OutId") == msg.message_id for d in details)


class WebhookSender(_HttpSender):
    """Outbound webhook for the bank's other systems: ids and amounts only, no contact data."""

    provider = "webhook"

    def send(self, msg: Outgoing) -> Accepted:
        event = {
            "message_id": msg.message_id,
            "template": msg.template,
            "loan_id": msg.loan_id,
            "borrower_id": msg.borrower_id,
            "business_date": msg.business_date.isoformat(),
            "params": dict(msg.params),
        }
        self._post(self.base_url, json=event, headers={"Idempotency-Key": msg.message_id})
        return Accepted(provider_ref=msg.message_id)

    def lookup(self, msg: Outgoing) -> bool | None:  # noqa: ARG002 - receivers dedupe on the key
        return None


class FakeSender:
    """In-memory channel for tests: records every message, can fail on demand."""

    def __init__(self, provider: str = "fake", *, fail: int = 0, permanent: bool = False):
        self.provider = provider
        self.sent: list[Outgoing] = []
        self.fail = fail
        self.permanent = permanent

    def send(self, msg: Outgoing) -> Accepted:
        if self.fail > 0:
            self.fail -= 1
            raise ChannelError("fake failure", transient=not self.permanent)
        self.sent.append(msg)
        return Accepted(provider_ref=f"fake-{len(self.sent)}")

    def lookup(self, msg: Outgoing) -> bool | None:
        return any(m.message_id == msg.message_id for m in self.sent)

    def close(self) -> None:
        pass
