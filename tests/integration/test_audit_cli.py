"""The auditor's workflow through the commands: checkpoint, prove, export the key, and
check the proof with the stand-alone verifier (no database)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from postloan.audit import AuditEvent, record_many
from postloan.cli import _register, app
from postloan.store import Store, open_store

_register()
runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"POSTLOAN_LANG": "en"})
    assert result.exit_code == 0, result.output
    return result.stdout


def standalone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postloan.audit.verifier", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _append(store: Store, n: int, prefix: str) -> None:
    events = [
        AuditEvent("bob", "supervisor", "waiver.approve", "loan", f"{prefix}{i}") for i in range(n)
    ]
    with store.begin() as conn:
        record_many(conn, events)


def test_auditor_checks_inclusion_and_consistency_with_only_the_public_key(
    store: Store, tmp_path: Path
) -> None:
    _append(store, 6, "L")
    old = tmp_path / "cp1.txt"
    old.write_text(cli("audit", "checkpoint"))
    _append(store, 11, "M")
    new = tmp_path / "cp2.txt"
    new.write_text(cli("audit", "checkpoint"))
    assert cli("audit", "show-checkpoint", "1") == old.read_text()
    key = tmp_path / "audit.vkey"
    key.write_text(cli("audit", "export-key"))
    pem = tmp_path / "audit.pem"
    pem.write_text(cli("audit", "export-key", "--pem"))
    key_file = store.settings.keys_dir / "audit-ed25519.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    proof = tmp_path / "p.json"
    cli("audit", "prove", "4", "-o", str(proof))
    assert json.loads(proof.read_text())["tree_size"] == 17
    assert "OK" in cli(
        "audit", "verify-proof", str(proof), "--checkpoint", str(new), "--public-key", str(key)
    )
    done = standalone(str(proof), "--checkpoint", str(new), "--public-key", str(pem))
    assert done.returncode == 0 and "entry 4 is in the log of size 17" in done.stdout

    # against the older checkpoint the same entry needs a proof of that size
    old_proof = tmp_path / "p_old.json"
    cli("audit", "prove", "4", "--checkpoint", "1", "-o", str(old_proof))
    assert (
        standalone(str(old_proof), "--checkpoint", str(old), "--public-key", str(key)).returncode
        == 0
    )
    assert (
        standalone(str(proof), "--checkpoint", str(old), "--public-key", str(key)).returncode == 1
    )

    cons = tmp_path / "c.json"
    cons.write_text(cli("audit", "consistency", "1", "2"))
    args = [
        str(cons),
        "--old-checkpoint",
        str(old),
        "--checkpoint",
        str(new),
        "--public-key",
        str(key),
    ]
    done = standalone(*args)
    assert done.returncode == 0 and "extends the log of size 6" in done.stdout

    # a forged entry in the proof file fails, through both verifiers
    forged = json.loads(proof.read_text())
    forged["entry"] = forged["entry"].replace("L3", "L9")
    del forged["leaf_hash"]
    proof.write_text(json.dumps(forged))
    result = runner.invoke(
        app,
        ["audit", "verify-proof", str(proof), "--checkpoint", str(new), "--public-key", str(key)],
        env={"POSTLOAN_LANG": "en"},
    )
    assert result.exit_code == 1 and "INVALID" in result.stdout
    done = standalone(str(proof), "--checkpoint", str(new), "--public-key", str(key))
    assert done.returncode == 1 and "FAILED" in done.stderr


def test_log_lists_entries_by_object(store: Store) -> None:
    _append(store, 3, "L")
    lines = cli("audit", "log", "--object", "loan:L1", "--json").splitlines()
    assert [json.loads(line)["object_id"] for line in lines] == ["L1"]
    assert len(cli("audit", "log", "--limit", "2").splitlines()) == 2


def test_real_cli_verify_exits_1_naming_the_missing_entry() -> None:
    store = open_store()  # the default SQLite file of this test's POSTLOAN_HOME
    try:
        _append(store, 5, "L")
        with store.begin() as conn:
            conn.execute(text("DELETE FROM audit_entries WHERE id = 3"))
    finally:
        store.close()
    done = subprocess.run(
        [sys.executable, "-m", "postloan", "audit", "verify"],
        capture_output=True,
        text=True,
        env={**os.environ, "POSTLOAN_LANG": "en"},
        check=False,
    )
    assert done.returncode == 1
    assert "entry 3 is missing" in done.stdout


def test_verify_with_the_auditors_own_copy_of_the_key(store: Store, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from postloan.audit.checkpoint import SigningKey

    _append(store, 3, "L")
    cli("audit", "checkpoint")
    ours, foreign = tmp_path / "ours.vkey", tmp_path / "foreign.vkey"
    ours.write_text(cli("audit", "export-key"))
    foreign.write_text(SigningKey(Ed25519PrivateKey.generate()).verifier_key())
    report = json.loads(cli("audit", "verify", "--json", "--public-key", str(ours)))
    assert report["ok"] and report["checkpoints"] == 1
    result = runner.invoke(
        app, ["audit", "verify", "--public-key", str(foreign)], env={"POSTLOAN_LANG": "en"}
    )
    assert result.exit_code == 1 and "checkpoint 1:" in result.stdout
