"""Signed checkpoints (C2SP signed note) and the stand-alone verifier's key handling."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from postloan.audit.checkpoint import SigningKey, checkpoint_body, load_signing_key
from postloan.audit.verifier import (
    VerificationError,
    main,
    parse_checkpoint_body,
    parse_verifier_key,
    verify_checkpoint,
)
from postloan.domain.errors import ConfigError

ROOT = bytes(range(32))
AT = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def test_key_is_created_once_private_and_reloaded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_signing_key(tmp_path / "keys", create=False)
    key = load_signing_key(tmp_path / "keys")
    again = load_signing_key(tmp_path / "keys", create=False)
    assert key.raw_public == again.raw_public
    path = tmp_path / "keys" / "audit-ed25519.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_checkpoint_text_is_a_signed_note_with_tlog_body(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path)
    note = key.sign_note(checkpoint_body(key.name, 14, ROOT, AT))
    lines = note.split("\n")
    assert lines[:4] == [
        key.name,
        "14",
        base64.b64encode(ROOT).decode(),
        "time 2026-11-30T18:00:00.000000Z",
    ]
    assert lines[4] == "" and lines[5].startswith(f"— {key.name} ") and note.endswith("\n")
    body = verify_checkpoint(note, key.verifier_key())
    assert (body.origin, body.size, body.root) == (key.name, 14, ROOT)
    assert verify_checkpoint(note, key.public_pem()).size == 14  # PEM works too
    sig = base64.b64decode(lines[5].rsplit(" ", 1)[1])
    assert sig[:4] == key.key_id and len(sig) == 68


def test_altered_or_foreign_checkpoints_are_rejected(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path)
    note = key.sign_note(checkpoint_body(key.name, 14, ROOT, AT))
    with pytest.raises(VerificationError, match="not valid"):
        verify_checkpoint(note.replace("\n14\n", "\n15\n"), key.verifier_key())
    other = SigningKey(Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError, match="no signature by key"):
        verify_checkpoint(note, other.verifier_key())
    with pytest.raises(VerificationError):
        verify_checkpoint("garbage", key.verifier_key())
    with pytest.raises(VerificationError):
        parse_checkpoint_body("origin\n014\nAAAA\n")


def test_verifier_key_must_match_its_id(tmp_path: Path) -> None:
    vkey = load_signing_key(tmp_path).verifier_key()
    name, key_id, blob = vkey.split("+", 2)
    assert parse_verifier_key(vkey).name == name
    with pytest.raises(VerificationError):
        parse_verifier_key(f"{name}+00000000+{blob}")
    with pytest.raises(VerificationError):
        parse_verifier_key("not a key")


def test_standalone_main_reports_failure_without_a_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = load_signing_key(tmp_path)
    (tmp_path / "cp.txt").write_text(key.sign_note(checkpoint_body(key.name, 1, ROOT, AT)))
    (tmp_path / "k").write_text(key.verifier_key())
    (tmp_path / "p.json").write_text(
        '{"type": "inclusion", "entry": "x", "leaf_index": 0, "tree_size": 1, "path": []}'
    )
    args = [str(tmp_path / "p.json"), "--checkpoint", str(tmp_path / "cp.txt")]
    assert main([*args, "--public-key", str(tmp_path / "k")]) == 1
    assert capsys.readouterr().err.startswith("FAILED: leaf 0 is not in the tree")
