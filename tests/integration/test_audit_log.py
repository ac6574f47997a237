"""Appending audit entries in the caller's transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
from sqlalchemy import text

from postloan.audit import AuditEvent, record, record_many, write_checkpoint
from postloan.audit.checkpoint import load_signing_key
from postloan.audit.merkle import MemoryTree
from postloan.audit.proofs import consistency_proof, inclusion_proof
from postloan.audit.verifier import check_proof, leaf_hash
from postloan.domain.errors import NotFound, ValidationError
from postloan.store import Store


def _entries(store: Store) -> list[tuple[int, str, bytes]]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, entry, leaf_hash FROM audit_entries ORDER BY id"))
        return [(int(r[0]), r[1], bytes(r[2])) for r in rows]


def test_record_appends_a_canonical_entry_with_digests(store: Store) -> None:
    with store.begin() as conn:
        first = record(
            conn,
            actor="alice",
            role="collector",
            action="case.transition",
            object_type="case",
            object_id="C-1",
            before={"state": "open"},
            after={"state": "promised", "amount_minor": 12_000},
            reason="客户承诺还款",
            business_date=date(2026, 11, 2),
        )
        second = record(
            conn,
            actor="system",
            role="system",
            action="eod.close",
            object_type="eod",
            object_id="x",
        )
    assert (first, second) == (1, 2)
    (id1, entry1, leaf1), (id2, _, _) = _entries(store)
    data = json.loads(entry1)
    assert entry1 == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert leaf1 == leaf_hash(entry1.encode("utf-8"))
    assert data["seq"] == 1 and data["business_date"] == "2026-11-02"
    assert data["before_digest"] == hashlib.sha256(b'{"state":"open"}').hexdigest()
    assert data["reason"] == "客户承诺还款" and data["at"].endswith("Z")
    assert "promised" not in entry1  # only the digest of `after` is kept


def test_a_rolled_back_change_leaves_no_entry(store: Store) -> None:
    with store.begin() as conn:
        record(conn, actor="a", role="r", action="x", object_type="loan", object_id="L1")
    with pytest.raises(RuntimeError), store.begin() as conn:
        record(conn, actor="a", role="r", action="waive", object_type="loan", object_id="L2")
        raise RuntimeError("the change failed")
    with store.begin() as conn:
        assert (
            record(conn, actor="a", role="r", action="y", object_type="loan", object_id="L3") == 2
        )
    assert [e[0] for e in _entries(store)] == [1, 2]
    assert "waive" not in "".join(e[1] for e in _entries(store))


def test_record_many_matches_single_appends_and_tree(store: Store) -> None:
    events = [AuditEvent("system", "system", "classify", "loan", f"L{i}") for i in range(37)]
    with store.begin() as conn:
        ids = record_many(conn, events[:30])
        for event in events[30:]:
            ids.append(
                record(
                    conn,
                    actor=event.actor,
                    role=event.role,
                    action=event.action,
                    object_type=event.object_type,
                    object_id=event.object_id,
                )
            )
    assert ids == list(range(1, 38))
    tree = MemoryTree([leaf for _, _, leaf in _entries(store)])
    with store.begin() as conn:
        cp = write_checkpoint(conn, store.settings)
        cached = conn.execute(text("SELECT level, idx, hash FROM audit_nodes")).all()
    assert cp.tree_size == 37 and cp.root_hash == tree.root()
    assert len(cached) == 37 - bin(37).count("1")  # one per completed inner subtree
    assert all(tree.node((int(lv), int(ix))) == bytes(h) for lv, ix, h in cached)


def test_personal_data_is_refused(store: Store) -> None:
    with pytest.raises(ValidationError), store.begin() as conn:
        record(
            conn,
            actor="a",
            role="r",
            action="update",
            object_type="borrower",
            object_id="B1",
            after={"phone": "13812345678"},
        )
    with pytest.raises(ValidationError), store.begin() as conn:
        record(
            conn,
            actor="a",
            role="r",
            action="note",
            object_type="borrower",
            object_id="B1",
            reason="called 13812345678",
        )
    assert _entries(store) == []


def test_proofs_from_the_store_verify_with_only_the_public_key(store: Store) -> None:
    with store.begin() as conn:
        record_many(conn, [AuditEvent("u", "r", "a", "loan", f"L{i}") for i in range(5)])
        old = write_checkpoint(conn, store.settings)
        record_many(conn, [AuditEvent("u", "r", "a", "loan", f"M{i}") for i in range(20)])
        new = write_checkpoint(conn, store.settings)
    key = load_signing_key(store.settings.keys_dir).verifier_key()
    with store.begin() as conn:
        for entry_id in (1, 5, 6, 25):
            proof = inclusion_proof(conn, entry_id)
            assert check_proof(proof, new.note, key).startswith("OK")
        assert check_proof(inclusion_proof(conn, 3, old.id), old.note, key).startswith("OK")
        cons = consistency_proof(conn, old.id, new.id)
        assert check_proof(cons, new.note, key, old.note).startswith("OK")
        with pytest.raises(ValidationError):
            inclusion_proof(conn, 6, old.id)  # newer than that checkpoint
        with pytest.raises(NotFound):
            inclusion_proof(conn, 99)


def test_concurrent_appenders_serialize_into_a_dense_valid_log(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from postloan.audit.audit_check import verify_log

    def work(worker: int) -> list[int]:
        ids = []
        for i in range(15):
            with store.begin() as conn:
                ids.append(
                    record(
                        conn,
                        actor=f"user{worker}",
                        role="collector",
                        action="call",
                        object_type="case",
                        object_id=f"C{worker}-{i}",
                    )
                )
        return ids

    with ThreadPoolExecutor(max_workers=3) as pool:
        got = [i for ids in pool.map(work, range(3)) for i in ids]
    assert sorted(got) == list(range(1, 46))
    with store.begin() as conn:
        write_checkpoint(conn, store.settings)
        report = verify_log(conn, load_signing_key(store.settings.keys_dir).verifier_key())
    assert report.ok and report.entries == 45


def test_every_stored_proof_equals_the_reference_tree(store: Store) -> None:
    """All entries against checkpoints of sizes 1, 2, 7, 8, 13 and 37 (edges of the
    power-of-two splits), and every pair of checkpoints, against the in-memory tree."""
    checkpoints = []
    with store.begin() as conn:
        for size in (1, 2, 7, 8, 13, 37):
            have = len(checkpoints) and checkpoints[-1].tree_size
            record_many(
                conn, [AuditEvent("u", "r", "a", "loan", f"L{i}") for i in range(have, size)]
            )
            checkpoints.append(write_checkpoint(conn, store.settings))
    tree = MemoryTree([leaf for _, _, leaf in _entries(store)])
    key = load_signing_key(store.settings.keys_dir).verifier_key()
    with store.begin() as conn:
        for cp in checkpoints:
            assert cp.root_hash == tree.root(cp.tree_size)
            for entry_id in range(1, cp.tree_size + 1):
                proof = inclusion_proof(conn, entry_id, cp.id)
                expected = tree.inclusion_path(entry_id - 1, cp.tree_size)
                assert proof["path"] == [h.hex() for h in expected]
            check_proof(proof, cp.note, key)
        for old in checkpoints:
            for new in checkpoints:
                if old.tree_size <= new.tree_size:
                    proof = consistency_proof(conn, old.id, new.id)
                    expected = tree.consistency_path(old.tree_size, new.tree_size)
                    assert proof["path"] == [h.hex() for h in expected]
                    assert check_proof(proof, new.note, key, old.note).startswith("OK")


def test_two_processes_interleaving_appends_keep_one_valid_log(store: Store) -> None:
    """Each engine guesses the head it wrote last; the other's appends make the guess
    stale, so every append here takes the locking path, and nothing is lost."""
    from postloan.audit.audit_check import verify_log
    from postloan.store import open_store

    other = open_store(store.settings)
    try:
        got = []
        for i in range(12):
            writer = store if i % 3 else other
            with writer.begin() as conn:
                got.append(
                    record(conn, actor="u", role="r", action="a", object_type="t", object_id=str(i))
                )
    finally:
        other.close()
    assert got == list(range(1, 13))
    with store.begin() as conn:
        report = verify_log(conn, None)
    assert report.ok and report.entries == 12
