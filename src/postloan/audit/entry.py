"""Audit events and their canonical JSON entries (pure: no I/O).

An entry is the canonical JSON (sorted keys, no whitespace, UTF-8) of the event
with ``before``/``after`` replaced by the SHA-256 of their own canonical JSON,
plus its sequence number ``seq`` (= entry id), so a moved entry no longer fits
its place. Personal data never goes in: callers pass ids and tokens; the
obvious mistakes (a national-ID or mobile number in the reason, a personal-data
field in before/after) are refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring as _quote
from typing import Any

from postloan.domain.errors import ValidationError

ENTRY_VERSION = 1

#: Before/after keys that would carry plaintext personal data into a digest.
PII_KEYS = frozenset(
    {"national_id", "id_number", "phone", "mobile", "address", "bank_account", "account_number"}
)
_PII_TEXT = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9})(?!\d)")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One state change to record (see :func:`postloan.audit.record`)."""

    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    reason: str | None = None
    business_date: date | None = None


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    if isinstance(value, bytes):
        return value.hex()
    raise ValidationError(f"audit data holds a {type(value).__name__}; pass ids, numbers or text")


def canonical_json(value: object) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (not ASCII-escaped)."""
    try:
        text = _CANONICAL.encode(value)
    except ValueError as err:  # NaN/Infinity, circular data
        raise ValidationError(f"audit data is not canonical JSON ({err})") from None
    return text.encode("utf-8")


#: ``json.dumps(value, **these options)`` is ``JSONEncoder(**options).encode(value)``: one
#: encoder made once gives the same text without building an encoder per call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_json_default,
)


def digest(value: Mapping[str, Any] | None) -> str | None:
    """SHA-256 hex of the canonical JSON of ``value`` (None stays None)."""
    if value is None:
        return None
    _refuse_personal_keys(value)
    plain = value if type(value) is dict else dict(value)
    return hashlib.sha256(canonical_json(plain)).hexdigest()


#: Value types that are never a Mapping (skips the slower ``isinstance`` ABC check).
_FLAT = frozenset({str, int, bool, float, type(None), list, tuple, date, datetime, Decimal})


def _refuse_personal_keys(value: Mapping[str, Any]) -> None:
    for key, inner in value.items():
        if (key if type(key) is str else str(key)).lower() in PII_KEYS:
            raise ValidationError(
                f"audit before/after must not hold personal data ({key!r}); "
                "pass the borrower id or a token instead"
            )
        if type(inner) not in _FLAT and isinstance(inner, Mapping):
            _refuse_personal_keys(inner)


def check_event(event: AuditEvent) -> None:
    for name in ("actor", "role", "action", "object_type", "object_id"):
        text = getattr(event, name)
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(f"an audit event needs a non-empty {name}")
    if len(event.object_id) > 200 or max(len(event.actor), len(event.action)) > 64:
        raise ValidationError("audit actor/action (64) or object_id (200) is too long")
    if len(event.object_type) > 64:
        raise ValidationError("audit object_type is longer than 64 characters")
    if event.reason and _PII_TEXT.search(event.reason):
        raise ValidationError(
            "the audit reason looks like it holds an ID or phone number; "
            "write the reason without personal data"
        )


def entry_bytes(seq: int, event: AuditEvent, at: str) -> bytes:
    """The canonical entry of ``event`` recorded as number ``seq`` at ISO time ``at``."""
    check_event(event)
    return _entry(seq, event, at)


def entries_bytes(first_seq: int, events: Sequence[AuditEvent], at: str) -> list[bytes]:
    """``[entry_bytes(first_seq + i, e, at) for i, e in enumerate(events)]``, the same bytes
    and the same first error, faster for a batch: an event with the very same actor,
    role, action and object type objects as the last fully checked one has only its
    object id and reason checked again."""
    out: list[bytes] = []
    last: AuditEvent | None = None
    for offset, event in enumerate(events):
        if (
            last is not None
            and event.actor is last.actor
            and event.role is last.role
            and event.action is last.action
            and event.object_type is last.object_type
            and type(event.object_id) is str
            and event.object_id.strip()
            and len(event.object_id) <= 200
            and not (event.reason and _PII_TEXT.search(event.reason))
        ):
            pass  # the head passed check_event already; object id and reason are fine
        else:
            check_event(event)
            last = event
        out.append(_entry(first_seq + offset, event, at))
    return out


def _entry(seq: int, event: AuditEvent, at: str) -> bytes:
    """The entry of a checked event. Its canonical JSON is written field by field (keys in
    sorted order, strings escaped by the same function ``json.dumps`` uses) when every
    value is a plain str, int or None; anything else goes through :func:`canonical_json`."""
    before, after = digest(event.before), digest(event.after)
    day = event.business_date.isoformat() if event.business_date else None
    reason = event.reason
    if (
        type(seq) is not int
        or type(at) is not str
        or not (reason is None or type(reason) is str)
        or not (day is None or type(day) is str)
    ):
        return canonical_json(
            {
                "v": ENTRY_VERSION,
                "seq": seq,
                "actor": event.actor,
                "role": event.role,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "before_digest": before,
                "after_digest": after,
                "reason": reason,
                "at": at,
                "business_date": day,
            }
        )
    text = "".join(
        (
            '{"action":',
            _quote(event.action),
            ',"actor":',
            _quote(event.actor),
            ',"after_digest":',
            "null" if after is None else f'"{after}"',
            ',"at":',
            _quote(at),
            ',"before_digest":',
            "null" if before is None else f'"{before}"',
            ',"business_date":',
            "null" if day is None else _quote(day),
            ',"object_id":',
            _quote(event.object_id),
            ',"object_type":',
            _quote(event.object_type),
            ',"reason":',
            "null" if reason is None else _quote(reason),
            ',"role":',
            _quote(event.role),
            ',"seq":',
            int.__repr__(seq),
            f',"v":{ENTRY_VERSION}}}',
        )
    )
    return text.encode("utf-8")
