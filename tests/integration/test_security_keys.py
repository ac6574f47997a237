"""PII key rotation: every row re-encrypted and re-indexed, old data still found."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from postloan.feeds.importer import import_directory
from postloan.security.key_rotation import rotate_pii_keys
from postloan.security.pii import KeyRing, load_key_ring, save_key_ring, token_parts
from postloan.store import Store
from postloan.store.repository import borrower_view, find_borrowers


def _key_ids(store: Store) -> set[int]:
    with store.begin() as conn:
        tokens = conn.execute(
            text("SELECT phone_enc FROM borrowers WHERE phone_enc IS NOT NULL")
        ).all()
    return {token_parts("phone", bytes(t[0]))[0] for t in tokens}


def test_rotate_and_retire(store: Store, data_dir: Path) -> None:
    import_directory(data_dir / "feeds" / "good", store)
    assert _key_ids(store) == {1}
    with store.begin() as conn:
        before = borrower_view(conn, store.cipher, "B001", unmask=True)
    first = rotate_pii_keys(store)
    assert first.key_id == 2 and first.rows > 0 and first.retired == ()
    assert _key_ids(store) == {2}
    with store.begin() as conn:
        assert borrower_view(conn, store.cipher, "B001", unmask=True) == before
        assert find_borrowers(conn, store.cipher, "phone", "+86 138-1234-5678") == ["B001"]
        contact = conn.execute(
            text("SELECT phone_enc FROM borrower_contacts WHERE name = '王五'")
        ).scalar_one()
        assert store.cipher.decrypt("phone", bytes(contact)) == "13700001111"
        entry = conn.execute(
            text("SELECT entry FROM audit_entries WHERE action = 'pii.rotate_keys'")
        ).scalar_one()
    assert "13812345678" not in entry
    second = rotate_pii_keys(store, retire=True)
    assert second.key_id == 3 and second.retired == (1, 2)
    ring = load_key_ring(store.settings.keys_dir)
    assert ring.active == 3 and [i for i, _ in ring.keys] == [3]
    assert json.loads((store.settings.keys_dir / "pii.key").read_text())["version"] == 2
    with store.begin() as conn:
        assert borrower_view(conn, store.cipher, "B001", unmask=True) == before
        assert find_borrowers(conn, store.cipher, "national_id", "110101199001011234") == ["B001"]


def test_a_stopped_rotation_is_completed_by_the_next_run(store: Store, data_dir: Path) -> None:
    import_directory(data_dir / "feeds" / "good", store)
    rotate_pii_keys(store)  # key 2 active
    ring = load_key_ring(store.settings.keys_dir)
    # simulate a crash after the re-encryption: rows under key 2 but key 1 still active
    save_key_ring(store.settings.keys_dir, KeyRing(1, ring.keys))
    done = rotate_pii_keys(store)
    assert done.key_id == 2 and _key_ids(store) == {2}
    with store.begin() as conn:
        store.__dict__.pop("cipher", None)
        assert find_borrowers(conn, store.cipher, "phone", "13812345678") == ["B001"]
