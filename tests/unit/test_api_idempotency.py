"""Idempotency keys → transaction ids: stable per caller and key, never colliding
across callers, always a valid id (≤ 64 characters)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.api.queries_payments import MAX_KEY, txn_id_for
from postloan.domain.errors import ValidationError

KEYS = st.text(min_size=1, max_size=MAX_KEY).filter(lambda k: k.strip() and "\x00" not in k)
ACTORS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=64)


@given(actor=ACTORS, key=KEYS)
def test_the_same_key_is_the_same_transaction(actor: str, key: str) -> None:
    first = txn_id_for(actor, key)
    assert first == txn_id_for(actor, key)
    assert first.startswith("API-") and len(first) <= 64


@given(a=ACTORS, b=ACTORS, key=KEYS)
def test_callers_do_not_share_keys(a: str, b: str, key: str) -> None:
    assert (txn_id_for(a, key) == txn_id_for(b, key)) == (a == b)


@pytest.mark.parametrize("key", ["", "   ", "x" * (MAX_KEY + 1), "a\x00b"])
def test_unusable_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="Idempotency-Key"):
        txn_id_for("su", key)
