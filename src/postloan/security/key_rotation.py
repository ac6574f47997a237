"""Rotate the PII keys: add a key pair, re-encrypt and re-index every row, make it active.

1. a new pair is added to the key ring, not yet active (the file stays readable
   by running processes);
2. one database transaction re-encrypts every ``*_enc`` column of every table and
   recomputes its ``*_bidx`` with the new pair (an audit entry records the counts);
3. the new pair becomes active; with ``retire`` the old pairs are dropped.

A crash after step 2 leaves rows under the new key but the old one active: lookups
by blind index miss until the command is run again, which completes the rotation
(it re-encrypts with the pending key and activates it). Stop imports while
rotating and restart long-running servers afterwards (they cache the cipher).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, update

from postloan.security.pii import (
    KeyRing,
    PiiCipher,
    PiiKeys,
    load_key_ring,
    save_key_ring,
    token_parts,
)
from postloan.security.users import audit
from postloan.store import Store
from postloan.store.tables import Base

BATCH = 2000


@dataclass(frozen=True, slots=True)
class Rotation:
    key_id: int
    rows: int
    values: int
    retired: tuple[int, ...]


def _encrypted_tables() -> list[tuple[Table, list[str]]]:
    found = []
    for table in Base.metadata.sorted_tables:
        fields = [c.name[: -len("_enc")] for c in table.columns if c.name.endswith("_enc")]
        if fields:
            found.append((table, fields))
    return found


def _reencrypt(
    store: Store, ring: KeyRing, key_id: int, *, actor: str, role: str
) -> tuple[int, int]:
    reader = PiiCipher.from_ring(ring)
    writer = PiiCipher.from_ring(ring, key_id)
    rows = values = 0
    with store.begin() as conn:
        for table, fields in _encrypted_tables():
            pk = list(table.primary_key.columns)
            enc_cols = [table.c[f"{f}_enc"] for f in fields]
            changes: list[dict[str, Any]] = []
            for row in conn.execute(select(*pk, *enc_cols)).mappings():
                change: dict[str, Any] = {f"k_{c.name}": row[c.name] for c in pk}
                for field in fields:
                    token = row[f"{field}_enc"]
                    if token is None:
                        change[f"v_{field}_enc"] = None
                        if f"{field}_bidx" in table.c:
                            change[f"v_{field}_bidx"] = None
                        continue
                    if token_parts(field, bytes(token))[0] == key_id:
                        clear = writer.decrypt(field, bytes(token))  # re-run after a crash
                        change[f"v_{field}_enc"] = bytes(token)
                    else:
                        clear = reader.decrypt(field, bytes(token))
                        change[f"v_{field}_enc"] = writer.encrypt(field, clear)
                    if f"{field}_bidx" in table.c:
                        change[f"v_{field}_bidx"] = writer.blind_index(field, clear)
                    values += 1
                changes.append(change)
            targets = [k[2:] for k in changes[0] if k.startswith("v_")] if changes else []
            statement = (
                update(table)
                .where(and_(*(c == bindparam(f"k_{c.name}") for c in pk)))
                .values({k: bindparam(f"v_{k}") for k in targets})
            )
            for start in range(0, len(changes), BATCH):
                conn.execute(statement, changes[start : start + BATCH])
            rows += len(changes)
        audit(
            conn,
            actor=actor,
            role=role,
            action="pii.rotate_keys",
            object_type="pii_key",
            object_id=str(key_id),
            after={"rows": rows, "values": values},
        )
    return rows, values


def rotate_pii_keys(
    store: Store, *, retire: bool = False, actor: str = "system", role: str = "system"
) -> Rotation:
    """Rotate to a new PII key pair (or finish a rotation that stopped half-way)."""
    keys_dir = store.settings.keys_dir
    ring = load_key_ring(keys_dir)
    pending = [i for i, _ in ring.keys if i > ring.active]
    if pending:
        key_id = pending[-1]
    else:
        key_id = max(i for i, _ in ring.keys) + 1
        pair = PiiKeys(os.urandom(32), os.urandom(32))
        ring = KeyRing(ring.active, (*ring.keys, (key_id, pair)))
        save_key_ring(keys_dir, ring)
    rows, values = _reencrypt(store, ring, key_id, actor=actor, role=role)
    kept = tuple((i, k) for i, k in ring.keys if i == key_id or not retire)
    save_key_ring(keys_dir, KeyRing(key_id, kept))
    store.__dict__.pop("cipher", None)  # the cached cipher of this process
    retired = tuple(i for i, _ in ring.keys if i not in dict(kept))
    return Rotation(key_id=key_id, rows=rows, values=values, retired=retired)
