"""PII: key file, AES-GCM round trip, blind index, masks."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.domain.errors import ConfigError, ValidationError
from postloan.security.pii import (
    PiiCipher,
    PiiKeys,
    load_or_create_keys,
    mask_address,
    mask_national_id,
    mask_phone,
)


def test_key_file_is_created_once_with_0600(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    first = load_or_create_keys(keys_dir)
    assert (keys_dir / "pii.key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_keys(keys_dir) == first
    assert first.encryption != first.index


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    results = []
    start = threading.Barrier(16)

    def load() -> None:
        start.wait()
        results.append(load_or_create_keys(tmp_path / "k"))

    threads = [threading.Thread(target=load) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16 and len(set(results)) == 1
    assert [p.name for p in (tmp_path / "k").iterdir()] == ["pii.key"]  # no temp files left


def test_corrupt_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pii.key").write_text("garbage")
    with pytest.raises(ConfigError, match="restore it"):
        load_or_create_keys(tmp_path)


CIPHER = PiiCipher(PiiKeys(os.urandom(32), os.urandom(32)))


@given(st.text(min_size=1, max_size=40))
def test_encrypt_round_trip_and_field_binding(value: str) -> None:
    cipher = CIPHER
    token = cipher.encrypt("phone", value)
    assert cipher.decrypt("phone", token) == value
    assert value.encode() not in token[13:] or len(value) < 2
    with pytest.raises(ValidationError):
        cipher.decrypt("national_id", token)


def test_blind_index_is_keyed_normalised_and_per_field(tmp_path: Path) -> None:
    a = PiiCipher.from_dir(tmp_path / "a")
    b = PiiCipher.from_dir(tmp_path / "b")
    assert a.blind_index("phone", "138 1234 5678") == a.blind_index("phone", "+86-13812345678")
    assert a.blind_index("phone", "13812345678") != b.blind_index("phone", "13812345678")
    assert a.blind_index("phone", "13812345678") != a.blind_index("national_id", "13812345678")
    assert a.blind_index("national_id", "11010119900101123x") == a.blind_index(
        "national_id", "11010119900101123X"
    )


def test_masks() -> None:
    assert mask_national_id("110101199001011234") == "110***********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_address("北京市东城区东华门街道1号") == "北京市东城区****"
    assert mask_phone("123") == "***"
