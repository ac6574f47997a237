"""Canonical audit entries: stable bytes, digests instead of content, no personal data."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.audit.entry import PII_KEYS, AuditEvent, canonical_json, digest, entry_bytes
from postloan.domain.errors import ValidationError


def test_canonical_json_is_sorted_compact_utf8() -> None:
    data = {"b": 1, "a": {"z": Decimal("1.50"), "y": date(2026, 1, 2)}, "c": "次级"}
    assert canonical_json(data) == '{"a":{"y":"2026-01-02","z":"1.50"},"b":1,"c":"次级"}'.encode()


#: keys that are not personal-data names (``digest`` refuses those, in any case)
_keys = st.text(max_size=8).filter(lambda k: k.lower() not in PII_KEYS)


@given(st.dictionaries(_keys, st.integers() | st.text(max_size=8), max_size=6))
def test_digest_does_not_depend_on_key_order(data: dict[str, object]) -> None:
    reordered = dict(reversed(list(data.items())))
    assert digest(data) == digest(reordered)
    assert digest(data) == hashlib.sha256(canonical_json(data)).hexdigest()


def test_entry_holds_digests_and_ends_with_its_sequence_number() -> None:
    event = AuditEvent(
        "alice",
        "collector",
        "waiver.approve",
        "loan",
        "L1",
        before={"penalty_minor": 500},
        after={"penalty_minor": 0},
        reason="困难减免",
        business_date=date(2026, 11, 30),
    )
    raw = entry_bytes(7, event, "2026-11-30T10:00:00.000000Z")
    data = json.loads(raw)
    assert raw == canonical_json(data)
    assert raw.endswith(b',"seq":7,"v":1}')
    assert data["after_digest"] == digest({"penalty_minor": 0})
    assert "penalty_minor" not in raw.decode()
    assert data["business_date"] == "2026-11-30" and data["reason"] == "困难减免"


@pytest.mark.parametrize(
    "event",
    [
        AuditEvent("a", "r", "x", "borrower", "B1", after={"national_id": "110101199001011234"}),
        AuditEvent("a", "r", "x", "borrower", "B1", before={"nested": {"phone": "1"}}),
        AuditEvent("a", "r", "x", "borrower", "B1", reason="身份证 11010119900101123X 核实"),
        AuditEvent("a", "r", "x", "borrower", "B1", reason="phone 13912345678"),
        AuditEvent("", "r", "x", "loan", "L1"),
        AuditEvent("a", "r", "x", "loan", " "),
        AuditEvent("a", "r", "x" * 65, "loan", "L1"),
    ],
)
def test_personal_data_and_empty_fields_are_refused(event: AuditEvent) -> None:
    with pytest.raises(ValidationError):
        entry_bytes(1, event, "2026-11-30T10:00:00.000000Z")


def test_floats_nan_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValidationError):
        digest({"x": float("nan")})
    with pytest.raises(ValidationError):
        digest({"x": object()})
