"""The batch audit entry writer gives the bytes of the plain ``json.dumps`` entry.

The STRATEGY commit records tens of thousands of audit events; ``entries_bytes``
writes them without a JSON encoder per event. The Merkle log depends on every
byte, so the fast path is checked here against the original definition (kept
below as the reference) on generated events, including odd text and the error
for the first bad event of a batch.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.audit.entry import (
    ENTRY_VERSION,
    AuditEvent,
    canonical_json,
    digest,
    entries_bytes,
    entry_bytes,
)
from postloan.domain.errors import ValidationError


def _reference_json(value: object) -> bytes:
    def default(v: object) -> object:
        if isinstance(v, datetime | date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v)
        raise TypeError(type(v).__name__)

    text = json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=default,
    )
    return text.encode("utf-8")


def _reference_digest(value: Any) -> str | None:
    return None if value is None else hashlib.sha256(_reference_json(dict(value))).hexdigest()


def _reference_entry(seq: int, event: AuditEvent, at: str) -> bytes:
    """The entry as ``entry_bytes`` defined it before the batch path existed."""
    return _reference_json(
        {
            "v": ENTRY_VERSION,
            "seq": seq,
            "actor": event.actor,
            "role": event.role,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "before_digest": _reference_digest(event.before),
            "after_digest": _reference_digest(event.after),
            "reason": event.reason,
            "at": at,
            "business_date": event.business_date.isoformat() if event.business_date else None,
        }
    )


_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12).filter(
    lambda t: bool(t.strip())
)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=6)
    | st.dates()
    | st.decimals(allow_nan=False, allow_infinity=False, places=2),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "状态", 'q"']), inner, max_size=3)
    ),
    max_leaves=6,
)
_data = st.none() | st.dictionaries(st.sampled_from(["state", "loans", "z", "é", "\n"]), _values)
_events = st.builds(
    AuditEvent,
    actor=st.sampled_from(["system", "alice", "张三"]),
    role=st.sampled_from(["system", "collector"]),
    action=st.sampled_from(["case.open", "task.escalate", 'odd"\\action']),
    object_type=st.sampled_from(["collection_case", "loan"]),
    object_id=_text,
    before=_data,
    after=_data,
    reason=st.none()
    | st.text(alphabet=st.characters(codec="utf-8").filter(lambda c: not c.isdecimal())),
    business_date=st.none() | st.dates(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_events, max_size=8), st.integers(1, 2**62), _text)
def test_batch_entries_are_the_reference_bytes(
    events: list[AuditEvent], first: int, at: str
) -> None:
    expected = [_reference_entry(first + i, e, at) for i, e in enumerate(events)]
    assert entries_bytes(first, events, at) == expected
    assert [entry_bytes(first + i, e, at) for i, e in enumerate(events)] == expected


def test_a_case_open_batch_matches_the_reference() -> None:
    system = "system"
    events = [
        AuditEvent(
            system,
            system,
            "case.open",
            "collection_case",
            str(i),
            None,
            {"state": "open", "source": "delinquency", "loans": [f"L{i:07d}", f"L{i + 1:07d}"]},
            None,
            date(2027, 12, 31),
        )
        for i in range(1, 200)
    ]
    at = "2026-11-29T09:11:55.217285Z"
    assert entries_bytes(6139, events, at) == [
        _reference_entry(6139 + i, e, at) for i, e in enumerate(events)
    ]


def test_canonical_json_and_digest_keep_their_definition() -> None:
    data = {"b": [1, "次级", None], "a": {"y": date(2026, 1, 2), "x": Decimal("1.50")}}
    assert canonical_json(data) == _reference_json(data)
    assert digest(data) == _reference_digest(data)
    with pytest.raises(ValidationError, match="not canonical JSON"):
        canonical_json({"x": float("nan")})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (AuditEvent("system", "system", "case.open", "collection_case", " "), "object_id"),
        (AuditEvent("system", "system", "case.open", "collection_case", "9" * 201), "too long"),
        (
            AuditEvent(
                "system",
                "system",
                "case.open",
                "collection_case",
                "7",
                None,
                None,
                "1391234567" + "8",
            ),
            "phone number",
        ),
        (
            AuditEvent("system", "system", "case.open", "collection_case", "7", after={"Phone": 1}),
            "personal data",
        ),
        (AuditEvent("system", "", "case.open", "collection_case", "7"), "role"),
    ],
)
def test_a_bad_event_after_good_ones_is_refused_as_alone(bad: AuditEvent, message: str) -> None:
    good = AuditEvent("system", "system", "case.open", "collection_case", "1", after={"a": 1})
    with pytest.raises(ValidationError, match=message) as batch:
        entries_bytes(1, [good, good, bad, good], "t")
    with pytest.raises(ValidationError) as alone:
        entry_bytes(3, bad, "t")
    assert str(batch.value) == str(alone.value)
