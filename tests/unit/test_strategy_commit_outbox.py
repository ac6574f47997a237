"""The outbox's batch helpers keep the per-message definitions (ids, variables JSON)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from postloan.contact.outbox import _json_default, dump_variables, message_ids


def test_message_ids_are_random_version_4_uuids() -> None:
    ids = message_ids(2_000)
    assert len(set(ids)) == 2_000
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text and len(text) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every free bit varies: the 122 random bits are not stuck at 0 or 1
    bits = [uuid.UUID(hex=t).int for t in ids]
    fixed = (0xF << 76) | (0x3 << 62)
    ones = 0
    zeros = 0
    for b in bits:
        ones |= b
        zeros |= ~b
    assert ones | fixed == (1 << 128) - 1 and zeros & ((1 << 128) - 1) | fixed == (1 << 128) - 1
    assert message_ids(0) == []


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.none() | st.integers() | st.text(max_size=8) | st.dates() | st.decimals(places=2),
        max_size=6,
    )
)
def test_variables_json_is_the_plain_json_dumps(variables: dict[str, Any]) -> None:
    expected = json.dumps(variables, default=_json_default, ensure_ascii=False, sort_keys=True)
    assert dump_variables(variables) == expected


def test_variables_json_example() -> None:
    text = dump_variables({"due_date": date(2028, 1, 3), "amount_due": 7883, "currency": "CNY"})
    assert text == '{"amount_due": 7883, "currency": "CNY", "due_date": "2028-01-03"}'
    assert dump_variables({"x": Decimal("1.50")}) == '{"x": "1.50"}'
