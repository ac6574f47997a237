"""Tampering with the audit log directly in the database: `postloan audit verify` catches it.

Each test edits the tables the way an insider with database access would, then
runs the real command and expects exit 1 naming the first bad entry or checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from postloan.audit import AuditEvent, record_many, write_checkpoint
from postloan.audit.checkpoint import SigningKey, load_signing_key
from postloan.audit.verifier import leaf_hash
from postloan.cli import _register, app
from postloan.store import Store

_register()


@pytest.fixture
def log(store: Store) -> Iterator[Store]:
    """40 entries with checkpoints at sizes 8 and 40."""
    events = [
        AuditEvent("alice", "collector", "case.transition", "case", f"C{i:02}") for i in range(40)
    ]
    with store.begin() as conn:
        record_many(conn, events[:8])
        write_checkpoint(conn, store.settings)
        record_many(conn, events[8:])
        write_checkpoint(conn, store.settings)
    yield store


def verify() -> tuple[int, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, ["audit", "verify", "--json"])
    return result.exit_code, json.loads(result.stdout)


def first_problem() -> dict:  # type: ignore[type-arg]
    code, report = verify()
    assert code == 1 and not report["ok"]
    return report["problems"][0]  # type: ignore[no-any-return]


def _entry(conn: Connection, entry_id: int) -> str:
    return conn.execute(
        text("SELECT entry FROM audit_entries WHERE id = :i"), {"i": entry_id}
    ).scalar_one()


def test_an_untouched_log_verifies(log: Store) -> None:
    code, report = verify()
    assert code == 0 and report["ok"] and report["entries"] == 40 and report["checkpoints"] == 2
    result = CliRunner().invoke(app, ["audit", "verify"], env={"POSTLOAN_LANG": "en"})
    assert result.exit_code == 0 and "40 entries" in result.stdout


def test_changing_one_byte_of_an_entry_is_caught(log: Store) -> None:
    with log.begin() as conn:
        entry = _entry(conn, 13)
        conn.execute(
            text("UPDATE audit_entries SET entry = :e WHERE id = 13"),
            {"e": entry.replace('"C12"', '"C19"')},
        )
    assert first_problem() == {
        "kind": "entry",
        "ref": 13,
        "message": "entry 13 does not match its leaf hash",
    }


def test_rewriting_an_entry_and_its_leaf_hash_is_caught_by_the_tree(log: Store) -> None:
    with log.begin() as conn:
        forged = _entry(conn, 13).replace('"C12"', '"C19"')
        conn.execute(
            text("UPDATE audit_entries SET entry = :e, leaf_hash = :h WHERE id = 13"),
            {"e": forged, "h": leaf_hash(forged.encode())},
        )
        conn.execute(text("DELETE FROM audit_nodes"))  # and hide the cached subtrees
    problem = first_problem()
    assert problem["kind"] in ("tree", "checkpoint")
    _, report = verify()
    checkpoint = [p for p in report["problems"] if p["kind"] == "checkpoint"]
    assert checkpoint and checkpoint[0]["ref"] == 2
    assert "no longer hash to the signed root" in checkpoint[0]["message"]


def test_rewritten_entry_with_nodes_kept_names_its_range(log: Store) -> None:
    with log.begin() as conn:
        forged = _entry(conn, 13).replace('"C12"', '"C19"')
        conn.execute(
            text("UPDATE audit_entries SET entry = :e, leaf_hash = :h WHERE id = 13"),
            {"e": forged, "h": leaf_hash(forged.encode())},
        )
    _, report = verify()
    node = [p for p in report["problems"] if p["kind"] == "node"][0]
    assert node["ref"] == 13 and "entries 13..14" in node["message"]


def test_deleting_an_entry_is_caught(log: Store) -> None:
    with log.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id = 17"))
    assert first_problem() == {
        "kind": "entry",
        "ref": 17,
        "message": "entry 17 is missing (the next stored id is 18)",
    }


def test_reordering_two_entries_is_caught(log: Store) -> None:
    with log.begin() as conn:
        rows = conn.execute(
            text("SELECT id, entry, leaf_hash FROM audit_entries WHERE id IN (5, 6)")
        ).all()
        for (id_, _, _), (_, entry, leaf) in zip(rows, reversed(rows), strict=True):
            conn.execute(
                text("UPDATE audit_entries SET entry = :e, leaf_hash = :h WHERE id = :i"),
                {"e": entry, "h": leaf, "i": id_},
            )
    problem = first_problem()
    assert problem["kind"] == "entry" and problem["ref"] == 5
    assert "another sequence number" in problem["message"]


def test_truncating_the_log_is_caught_even_with_the_head_rewritten(log: Store) -> None:
    with log.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id > 30"))
    problem = first_problem()
    assert problem["kind"] == "tree" and "truncated" in problem["message"]
    # an insider who also rewinds the tree head and node cache is caught by checkpoint 2
    with log.begin() as conn:
        leaves = [
            bytes(r[0])
            for r in conn.execute(text("SELECT leaf_hash FROM audit_entries ORDER BY id"))
        ]
        from postloan.audit.merkle import MemoryTree

        frontier = b"".join(MemoryTree(leaves).frontier())
        conn.execute(text("UPDATE audit_tree_state SET size = 30, frontier = :f"), {"f": frontier})
        conn.execute(text("DELETE FROM audit_nodes"))
    _, report = verify()
    assert report["problems"][-1]["kind"] == "checkpoint" and report["problems"][-1]["ref"] == 2
    assert "only 30 exist" in report["problems"][-1]["message"]


def test_a_checkpoint_re_signed_with_another_key_is_caught(log: Store) -> None:
    ours = load_signing_key(log.settings.keys_dir)
    theirs = SigningKey(Ed25519PrivateKey.generate())
    with log.begin() as conn:
        note = conn.execute(text("SELECT note FROM audit_checkpoints WHERE id = 2")).scalar_one()
        body = note.partition("\n\n")[0] + "\n"  # the same signed text: size, root, time
        forged = theirs.sign_note(body).replace(theirs.name + " ", ours.name + " ")
        conn.execute(text("UPDATE audit_checkpoints SET note = :n WHERE id = 2"), {"n": forged})
    problem = first_problem()
    assert problem["kind"] == "checkpoint" and problem["ref"] == 2
    assert "no signature by key" in problem["message"]
    # under its own name the forgery is not a signature of this installation either
    with log.begin() as conn:
        conn.execute(
            text("UPDATE audit_checkpoints SET note = :n WHERE id = 2"),
            {"n": theirs.sign_note(body.replace(ours.name, theirs.name))},
        )
    assert first_problem()["ref"] == 2
