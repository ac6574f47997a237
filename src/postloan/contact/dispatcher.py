"""The outbox dispatcher: claim, reconcile, guard, cancel, render, send, record.

One pass (:meth:`Dispatcher.run_once`):

1. **Reconcile** messages left ``sending`` by a worker whose lease expired: ask
   the provider whether it accepted them (``Sender.lookup``); yes → ``sent``,
   no → back to ``queued``; a provider that cannot tell (SMTP, webhooks) gets
   the message again under the same idempotency key / Message-ID.
2. **Claim** a batch of ready messages (one UPDATE: ``sending``, a lease, +1 try).
3. **Decide** each: cancelled if its reason vanished or the borrower opted out,
   deferred to the guard's next allowed moment, or rendered for sending. The
   decisions are committed (and audited) before anything leaves.
4. **Send** with the provider's rate limit; commit every ``COMMIT_EVERY`` sends:
   ``sent`` (receipt, cost, contact attempt, audit) or ``failed`` with backoff
   and jitter, ``dead`` after ``max_attempts``.

A channel with no endpoint is never claimed: its messages stay queued and the
report says so.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from postloan.audit import AuditEvent, record_many
from postloan.contact import records
from postloan.contact.cancellation import vanished
from postloan.contact.channels import (
    AliyunSmsGateway,
    ChannelError,
    JsonSmsGateway,
    Outgoing,
    RateLimiter,
    Sender,
    SmtpSender,
    WebhookSender,
)
from postloan.contact.conduct import Attempt, ConductGuard, Outcome, Request
from postloan.contact.settings import ContactSettings
from postloan.contact.states import READY, MessageState, after_failure, backoff
from postloan.contact.templates import TemplateBook
from postloan.domain.errors import PostLoanError, ValidationError
from postloan.domain.money import format_minor
from postloan.store import Store
from postloan.store.tables_contact import (
    ContactAttempt,
    ContactNote,
    ContactOutbox,
    ContactReceipt,
)

COMMIT_EVERY = 50
MONEY_VARIABLES = frozenset({"amount_due", "amount_overdue", "promised_amount", "new_instalment"})
ENDPOINT_ENV = {"sms": "POSTLOAN_SMS_URL", "email": "POSTLOAN_SMTP_URL"}
ENDPOINT_ENV["webhook"] = "POSTLOAN_WEBHOOK_URL"

OUTBOX: Table = ContactOutbox.__table__  # type: ignore[assignment]
S = MessageState


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """A clock that starts at ``start`` (``--now``) and runs at wall-clock speed."""

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)
        self.t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


@dataclass
class DispatchReport:
    sent: int = 0
    cancelled: int = 0
    deferred: int = 0
    failed: int = 0
    dead: int = 0
    reconciled: int = 0  # found accepted by the provider after a crash
    requeued: int = 0  # not accepted (or cannot tell): sent again
    cost_minor: int = 0
    waiting: dict[str, int] = field(default_factory=dict)  # channel -> queued, no endpoint

    def add(self, other: DispatchReport) -> None:
        for name in ("sent", "cancelled", "deferred", "failed", "dead", "reconciled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.requeued += other.requeued
        self.cost_minor += other.cost_minor
        self.waiting = other.waiting


def build_senders(cfg: ContactSettings) -> dict[str, Sender]:
    """One sender per channel whose endpoint is configured."""
    senders: dict[str, Sender] = {}
    if cfg.smtp_url:
        senders["email"] = SmtpSender(
            cfg.smtp_url,
            cfg.email_from,
            user=cfg.smtp_user,
            password=cfg.smtp_password,
            timeout=cfg.http_timeout,
        )
    if cfg.sms_url:
        if cfg.sms_adapter == "aliyun":
            senders["sms"] = AliyunSmsGateway(
                cfg.sms_url,
                sign_name=cfg.sms_sign_name,
                template_codes=cfg.sms_template_codes,
                timeout=cfg.http_timeout,
            )
        else:
            senders["sms"] = JsonSmsGateway(cfg.sms_url, timeout=cfg.http_timeout)
    if cfg.webhook_url:
        senders["webhook"] = WebhookSender(cfg.webhook_url, timeout=cfg.http_timeout)
    return senders


@dataclass
class _Decision:
    row: Any
    outgoing: Outgoing | None = None
    state: MessageState | None = None  # cancelled/queued(deferred)/dead, or None: send
    reason: str | None = None
    until: datetime | None = None


class Dispatcher:
    """Sends the outbox. ``clock`` is the business clock (``--now``); leases use wall time."""

    def __init__(
        self,
        store: Store,
        cfg: ContactSettings,
        *,
        senders: Mapping[str, Sender] | None = None,
        clock: Callable[[], datetime] = utc_now,
        templates: TemplateBook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.senders = dict(build_senders(cfg) if senders is None else senders)
        self.clock = clock
        self.book = templates or TemplateBook(cfg.institution)
        self.rng = rng or random.Random()
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.limiters = {ch: RateLimiter(cfg.rate_per_second.get(ch, 0.0)) for ch in self.senders}
        self._guards: dict[str, ConductGuard] = {}

    def _now(self) -> datetime:
        """The business clock in UTC (stored times are UTC; SQLite keeps no offset)."""
        return self.clock().astimezone(UTC)

    # --- the loop ----------------------------------------------------------------------

    @property
    def channels(self) -> list[str]:
        return sorted({*self.senders, "inapp"})

    def run_once(self) -> DispatchReport:
        """Reconcile, then send everything ready now; returns what happened."""
        report = DispatchReport()
        self.reconcile(report)
        while self._batch(report):
            pass
        report.waiting = self.waiting()
        return report

    def run(self, stop: threading.Event, poll_seconds: float = 2.0) -> DispatchReport:
        """Run until ``stop`` is set (``postloan dispatch`` without ``--once``)."""
        total = DispatchReport()
        while not stop.is_set():
            report = self.run_once()
            total.add(report)
            if not (report.sent or report.reconciled or report.requeued):
                stop.wait(poll_seconds)
        return total

    def close(self) -> None:
        for sender in self.senders.values():
            sender.close()

    def waiting(self) -> dict[str, int]:
        """Queued messages of channels that have no endpoint configured."""
        idle = [c for c in ("sms", "email", "webhook") if c not in self.senders]
        if not idle:
            return {}
        with self.store.begin() as conn:
            rows = conn.execute(
                select(OUTBOX.c.channel, func.count())
                .where(OUTBOX.c.state.in_(READY), OUTBOX.c.channel.in_(idle))
                .group_by(OUTBOX.c.channel)
            )
            return {str(c): int(n) for c, n in rows}

    # --- claiming ----------------------------------------------------------------------

    def _claim(self, conn: Connection, where: Any, token: str, **values: Any) -> list[Any]:
        """Lease up to ``batch_size`` rows matching ``where``; one UPDATE … RETURNING."""
        ids = (
            select(OUTBOX.c.id)
            .where(where)
            .order_by(OUTBOX.c.not_before, OUTBOX.c.id)
            .limit(self.cfg.batch_size)
        )
        if conn.dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True)
        wall = utc_now()
        claimed = conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(ids.scalar_subquery()), where)
            .values(
                lease_owner=token,
                lease_until=wall + timedelta(seconds=self.cfg.lease_seconds),
                updated_at=wall,
                **values,
            )
            .returning(*OUTBOX.c)
        ).all()
        return sorted(claimed, key=lambda r: r.id)

    def _token(self) -> str:
        return f"{self.worker}:{uuid.uuid4().hex[:12]}"

    def _batch(self, report: DispatchReport) -> bool:
        now = self._now()
        token = self._token()
        ready = (
            OUTBOX.c.state.in_(READY)
            & (OUTBOX.c.not_before <= now)
            & OUTBOX.c.channel.in_(self.channels)
        )
        with self.store.begin() as conn:
            rows = self._claim(
                conn, ready, token, state=S.SENDING.value, attempts=OUTBOX.c.attempts + 1
            )
        if not rows:
            return False
        decisions = self._decide(rows, now)
        self._apply_decisions(decisions, token, now, report)
        self._send(decisions, token, now, report)
        return True

    # --- deciding ----------------------------------------------------------------------

    def _guard(self, profile: str) -> ConductGuard:
        if profile not in self._guards:
            self._guards[profile] = ConductGuard(self.cfg.profile(profile))
        return self._guards[profile]

    def _decide(self, rows: list[Any], now: datetime) -> list[_Decision]:
        borrower_ids = {r.borrower_id for r in rows}
        with self.store.begin() as conn:
            people = records.borrowers(conn, borrower_ids)
            past = records.history(conn, borrower_ids, now - timedelta(days=8))
            optouts = records.opt_outs(conn, borrower_ids)
            since = min(r.business_date for r in rows)
            loans = records.loans_now(conn, sorted({r.loan_id for r in rows}), since)
        out = []
        for row in rows:
            try:
                out.append(self._decide_one(row, now, people, past, optouts, loans))
            except PostLoanError as err:  # bad data of one message must not stop the rest
                out.append(_Decision(row, state=S.DEAD, reason=str(err)))
        return out

    def _decide_one(
        self,
        row: Any,
        now: datetime,
        people: Mapping[str, records.BorrowerContactInfo],
        past: dict[str, list[Attempt]],
        optouts: Mapping[str, set[str]],
        loans: Mapping[str, Any],
    ) -> _Decision:
        variables = json.loads(row.variables)
        person = people.get(row.borrower_id)
        if person is None and row.channel in {"sms", "email"}:
            return _Decision(row, state=S.DEAD, reason=f"borrower {row.borrower_id} not found")
        why = vanished(row.template, row.business_date, variables, loans.get(row.loan_id))
        if why:
            return _Decision(row, state=S.CANCELLED, reason=why)
        rule = self.cfg.for_region(person.region if person else None)
        profile = (person.profile if person else None) or rule.profile
        tz = (person.time_zone if person else None) or rule.time_zone
        guard = self._guard(profile)
        history = past.get(row.borrower_id, [])
        verdict = guard.check(
            Request(row.channel, tz), now, history, optouts.get(row.borrower_id, ())
        )
        if verdict.outcome is Outcome.BLOCKED:
            return _Decision(row, state=S.CANCELLED, reason=verdict.text("en"))
        if verdict.outcome is Outcome.DEFERRED:
            return _Decision(row, state=S.QUEUED, reason=verdict.text("en"), until=verdict.until)
        try:
            outgoing = self._prepare(row, variables, person, guard, now)
        except PostLoanError as err:
            return _Decision(row, state=S.DEAD, reason=str(err))
        # later messages of this batch count this one
        past.setdefault(row.borrower_id, []).append(Attempt(row.channel, now, "sent"))
        return _Decision(row, outgoing=outgoing)

    def _prepare(
        self,
        row: Any,
        variables: dict[str, Any],
        person: records.BorrowerContactInfo | None,
        guard: ConductGuard,
        now: datetime,  # noqa: ARG002 - kept for symmetry with the guard
    ) -> Outgoing:
        to = ""
        if row.channel == "sms":
            if person is None or person.phone_enc is None:
                raise ValidationError("no phone number on file")
            to = self.store.cipher.decrypt("phone", bytes(person.phone_enc))
        elif row.channel == "email":
            if person is None or not person.email:
                raise ValidationError("no e-mail address on file")
            to = person.email
        rendered = self.book.render(
            row.template,
            person.language if person else None,
            variables,
            borrower_name=person.name if person else "",
            channel=row.channel,
            opt_out=guard.profile.opt_out_line and row.channel in {"sms", "email"},
        )
        currency = str(variables.get("currency", "CNY"))
        params = {
            k: format_minor(int(v), currency) if k in MONEY_VARIABLES else str(v)
            for k, v in variables.items()
        }
        return Outgoing(
            message_id=row.message_id,
            channel=row.channel,
            template=row.template,
            to=to,
            subject=rendered.subject,
            body=rendered.body,
            lang=rendered.lang,
            loan_id=row.loan_id,
            borrower_id=row.borrower_id,
            business_date=row.business_date,
            params=params,
        )

    def _apply_decisions(
        self, decisions: list[_Decision], token: str, now: datetime, report: DispatchReport
    ) -> None:
        wall = utc_now()
        changes: list[dict[str, Any]] = []
        events: list[AuditEvent] = []
        notes: list[_Decision] = []
        for d in decisions:
            if d.state is None:
                if d.row.channel == "inapp":
                    notes.append(d)
                continue
            params = {
                "b_id": d.row.id,
                "b_token": token,
                "b_state": d.state.value,
                "b_reason": d.reason,
                "b_not_before": d.until or records.as_utc(d.row.not_before),
                # the claim counted a try; a deferral is not one
                "b_attempts": d.row.attempts - 1 if d.state is S.QUEUED else d.row.attempts,
                "b_now": wall,
            }
            changes.append(params)
            action = {S.CANCELLED: "cancelled", S.QUEUED: "deferred", S.DEAD: "dead"}[d.state]
            setattr(report, action, getattr(report, action) + 1)
            events.append(_event(d.row, f"contact.{action}", d.reason, d.until))
        with self.store.begin() as conn:
            if changes:
                conn.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == bindparam("b_id"))
                    .where(OUTBOX.c.lease_owner == bindparam("b_token"))
                    .values(
                        state=bindparam("b_state"),
                        reason=bindparam("b_reason"),
                        not_before=bindparam("b_not_before"),
                        attempts=bindparam("b_attempts"),
                        lease_owner=None,
                        lease_until=None,
                        updated_at=bindparam("b_now"),
                    ),
                    changes,
                )
            if notes:
                self._deliver_notes(conn, notes, token, now, report)
                events += [_event(d.row, "contact.sent", None, None) for d in notes]
            record_many(conn, events)

    def _deliver_notes(
        self,
        conn: Connection,
        notes: list[_Decision],
        token: str,
        now: datetime,
        report: DispatchReport,
    ) -> None:
        """In-app notes are written in the same transaction that marks them sent."""
        rows = [
            {
                "message_id": d.row.message_id,
                "loan_id": d.row.loan_id,
                "borrower_id": d.row.borrower_id,
                "text": d.outgoing.body if d.outgoing else "",
                "created_at": now,
            }
            for d in notes
        ]
        table: Table = ContactNote.__table__  # type: ignore[assignment]
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(table).on_conflict_do_nothing(index_elements=["message_id"]), rows
        )
        self._mark_sent(conn, [(d, "inapp", None) for d in notes], token, now, report)

    # --- sending -----------------------------------------------------------------------

    def _send(
        self, decisions: list[_Decision], token: str, now: datetime, report: DispatchReport
    ) -> None:
        pending = [d for d in decisions if d.state is None and d.row.channel != "inapp"]
        done: list[tuple[_Decision, str, str | None]] = []
        failed: list[tuple[_Decision, ChannelError]] = []
        for i, d in enumerate(pending, start=1):
            sender = self.senders[d.row.channel]
            self.limiters[d.row.channel].acquire()
            assert d.outgoing is not None
            try:
                accepted = sender.send(d.outgoing)
            except ChannelError as err:
                failed.append((d, err))
            else:
                done.append((d, sender.provider, accepted.provider_ref))
            if i % COMMIT_EVERY == 0 or i == len(pending):
                with self.store.begin() as conn:
                    self._mark_sent(conn, done, token, now, report)
                    self._mark_failed(conn, failed, token, report)
                done, failed = [], []

    def _mark_sent(
        self,
        conn: Connection,
        done: list[tuple[_Decision, str, str | None]],
        token: str,
        now: datetime,
        report: DispatchReport,
        *,
        receipt: str = "accepted",
    ) -> None:
        if not done:
            return
        wall = utc_now()
        currency = self.cfg.cost_currency
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .where(OUTBOX.c.lease_owner == bindparam("b_token"))
            .values(
                state=S.SENT.value,
                sent_at=bindparam("b_now"),
                provider=bindparam("b_provider"),
                provider_ref=bindparam("b_ref"),
                cost_minor=bindparam("b_cost"),
                cost_currency=currency,
                lease_owner=None,
                lease_until=None,
                updated_at=bindparam("b_now"),
            ),
            [
                {
                    "b_id": d.row.id,
                    "b_token": token,
                    "b_now": wall,
                    "b_provider": provider,
                    "b_ref": ref,
                    "b_cost": self.cfg.cost_minor.get(d.row.channel, 0),
                }
                for d, provider, ref in done
            ],
        )
        conn.execute(
            insert(ContactReceipt),
            [
                {
                    "message_id": d.row.message_id,
                    "provider": provider,
                    "status": receipt,
                    "provider_ref": ref,
                    "received_at": wall,
                }
                for d, provider, ref in done
            ],
        )
        conn.execute(
            insert(ContactAttempt),
            [
                {
                    "borrower_id": d.row.borrower_id,
                    "loan_id": d.row.loan_id,
                    "channel": d.row.channel,
                    "method_key": "primary",
                    "target": "borrower",
                    "outcome": "sent",
                    "at": now,
                    "message_id": d.row.message_id,
                    "actor": "system",
                }
                for d, _, _ in done
            ],
        )
        if receipt == "accepted" and done[0][1] != "inapp":
            record_many(conn, [_event(d.row, "contact.sent", None, None) for d, _, _ in done])
        report.sent += len(done)
        report.cost_minor += sum(self.cfg.cost_minor.get(d.row.channel, 0) for d, _, _ in done)

    def _mark_failed(
        self,
        conn: Connection,
        failed: list[tuple[_Decision, ChannelError]],
        token: str,
        report: DispatchReport,
    ) -> None:
        if not failed:
            return
        wall = utc_now()
        now = self._now()
        changes = []
        events = []
        for d, err in failed:
            attempts = d.row.attempts  # the claim already counted this try
            state = after_failure(attempts, self.cfg.max_attempts)
            if not err.transient:
                state = S.DEAD
            delay = backoff(
                attempts,
                base_seconds=self.cfg.backoff_seconds,
                cap_seconds=self.cfg.backoff_cap_seconds,
                rng=self.rng,
            )
            changes.append(
                {
                    "b_id": d.row.id,
                    "b_token": token,
                    "b_state": state.value,
                    "b_error": str(err),
                    "b_not_before": now + delay,
                    "b_now": wall,
                }
            )
            if state is S.DEAD:
                report.dead += 1
                events.append(_event(d.row, "contact.dead", str(err), None))
            else:
                report.failed += 1
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .where(OUTBOX.c.lease_owner == bindparam("b_token"))
            .values(
                state=bindparam("b_state"),
                last_error=bindparam("b_error"),
                not_before=bindparam("b_not_before"),
                lease_owner=None,
                lease_until=None,
                updated_at=bindparam("b_now"),
            ),
            changes,
        )
        record_many(conn, events)

    # --- reconciling -------------------------------------------------------------------

    def reconcile(self, report: DispatchReport) -> None:
        """Messages whose worker died mid-send: ask the provider before sending again."""
        while True:
            token = self._token()
            expired = (
                (OUTBOX.c.state == S.SENDING.value)
                & (OUTBOX.c.lease_until < utc_now())
                & OUTBOX.c.channel.in_(self.channels)
            )
            with self.store.begin() as conn:
                rows = self._claim(conn, expired, token)
            if not rows:
                return
            now = self._now()
            decisions = self._decide_for_lookup(rows, now)
            found: list[tuple[_Decision, str, str | None]] = []
            again: list[dict[str, Any]] = []
            for d in decisions:
                sender = self.senders.get(d.row.channel)
                known = (
                    sender.lookup(d.outgoing)
                    if sender is not None and d.outgoing is not None
                    else None
                )
                if d.row.channel == "inapp":  # written transactionally: look in the table
                    known = self._note_exists(d.row.message_id)
                if known:
                    found.append((d, sender.provider if sender else "inapp", None))
                else:
                    reason = (
                        "not accepted by the provider before the worker stopped; sent again"
                        if known is False
                        else "outcome unknown after the worker stopped; sent again "
                        "with the same idempotency key"
                    )
                    again.append(
                        {"b_id": d.row.id, "b_token": token, "b_reason": reason, "b_now": utc_now()}
                    )
            with self.store.begin() as conn:
                self._mark_sent(conn, found, token, now, DispatchReport(), receipt="reconciled")
                if found:
                    record_many(
                        conn,
                        [
                            _event(d.row, "contact.reconciled", "accepted before a crash", None)
                            for d, _, _ in found
                        ],
                    )
                if again:
                    conn.execute(
                        update(OUTBOX)
                        .where(OUTBOX.c.id == bindparam("b_id"))
                        .where(OUTBOX.c.lease_owner == bindparam("b_token"))
                        .values(
                            state=S.QUEUED.value,
                            reason=bindparam("b_reason"),
                            lease_owner=None,
                            lease_until=None,
                            updated_at=bindparam("b_now"),
                        ),
                        again,
                    )
            report.reconciled += len(found)
            report.requeued += len(again)

    def _decide_for_lookup(self, rows: list[Any], now: datetime) -> list[_Decision]:
        borrower_ids = {r.borrower_id for r in rows}
        with self.store.begin() as conn:
            people = records.borrowers(conn, borrower_ids)
        out = []
        for row in rows:
            person = people.get(row.borrower_id)
            rule = self.cfg.for_region(person.region if person else None)
            guard = self._guard((person.profile if person else None) or rule.profile)
            try:
                outgoing = self._prepare(row, json.loads(row.variables), person, guard, now)
            except PostLoanError:
                outgoing = None
            out.append(_Decision(row, outgoing=outgoing))
        return out

    def _note_exists(self, message_id: str) -> bool:
        with self.store.begin() as conn:
            found = conn.execute(
                select(ContactNote.id).where(ContactNote.message_id == message_id)
            ).first()
        return found is not None


def _event(row: Any, action: str, reason: str | None, until: datetime | None) -> AuditEvent:
    after: dict[str, Any] = {
        "loan_id": row.loan_id,
        "template": row.template,
        "channel": row.channel,
        "step": row.step,
    }
    if until is not None:
        after["not_before"] = until.isoformat()
    return AuditEvent(
        actor="system",
        role="system",
        action=action,
        object_type="contact_message",
        object_id=row.message_id,
        after=after,
        reason=reason,
        business_date=row.business_date if isinstance(row.business_date, date) else None,
    )


def start_in_thread(
    store: Store,
    cfg: ContactSettings,
    *,
    clock: Callable[[], datetime] = utc_now,
    poll_seconds: float = 2.0,
) -> tuple[threading.Thread, threading.Event]:
    """Run a dispatcher in a daemon thread (for ``postloan serve`` and the demo);
    set the returned event to stop it after its current pass."""
    stop = threading.Event()
    worker = Dispatcher(store, cfg, clock=clock)

    def loop() -> None:
        try:
            worker.run(stop, poll_seconds=poll_seconds)
        finally:
            worker.close()

    thread = threading.Thread(target=loop, name="postloan-dispatch", daemon=True)
    thread.start()
    return thread, stop


__all__ = ["DispatchReport", "Dispatcher", "SimClock", "build_senders", "start_in_thread"]
