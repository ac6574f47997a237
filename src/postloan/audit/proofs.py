"""Inclusion and consistency proofs read from the store in O(log n) rows.

A proof is a JSON-ready dict that :mod:`postloan.audit.verifier` checks against
signed checkpoints; the hashes come from the cached complete subtrees
(``audit_nodes``) and the leaf hashes (``audit_entries``), two queries per proof.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from postloan.audit.checkpoint import Checkpoint, get_checkpoint
from postloan.audit.merkle import Node, consistency_ranges, inclusion_ranges, resolve
from postloan.domain.errors import NotFound, ValidationError


def fetch_nodes(conn: Connection, keys: set[Node]) -> dict[Node, bytes]:
    """Hashes of complete subtrees: leaves from the entries, the rest from the node cache.

    Keys are our own integers, inlined as literals; one OR of primary-key lookups
    (a row-value ``IN`` would make SQLite scan the whole table)."""
    out: dict[Node, bytes] = {}
    leaves = sorted(int(idx) + 1 for level, idx in keys if level == 0)
    inner = sorted((int(level), int(idx)) for level, idx in keys if level > 0)
    if leaves:
        ids = ", ".join(str(i) for i in leaves)
        rows = conn.exec_driver_sql(f"SELECT id, leaf_hash FROM audit_entries WHERE id IN ({ids})")
        out.update({(0, int(i) - 1): bytes(h) for i, h in rows})
    if inner:
        where = " OR ".join(f"(level = {lv} AND idx = {ix})" for lv, ix in inner)
        rows = conn.exec_driver_sql(f"SELECT level, idx, hash FROM audit_nodes WHERE {where}")
        out.update({(int(lv), int(ix)): bytes(h) for lv, ix, h in rows})
    return out


def _checkpoint(conn: Connection, checkpoint_id: int | None) -> Checkpoint:
    found = get_checkpoint(conn, checkpoint_id)
    if found is None:
        if checkpoint_id is None:
            raise NotFound("no audit checkpoint yet; write one with `postloan audit checkpoint`")
        raise NotFound(f"audit checkpoint {checkpoint_id} does not exist")
    return found


def inclusion_proof(
    conn: Connection, entry_id: int, checkpoint_id: int | None = None
) -> dict[str, Any]:
    """Proof that entry ``entry_id`` is in the tree of a checkpoint (default: the newest)."""
    checkpoint = _checkpoint(conn, checkpoint_id)
    row = conn.exec_driver_sql(
        f"SELECT entry, leaf_hash FROM audit_entries WHERE id = {int(entry_id)}"
    ).first()
    if row is None:
        raise NotFound(f"audit entry {entry_id} does not exist")
    if entry_id > checkpoint.tree_size:
        raise ValidationError(
            f"entry {entry_id} is newer than checkpoint {checkpoint.id} (size "
            f"{checkpoint.tree_size}); write a new checkpoint with `postloan audit checkpoint`"
        )
    index = entry_id - 1
    path = resolve(
        inclusion_ranges(index, checkpoint.tree_size), lambda keys: fetch_nodes(conn, keys)
    )
    return {
        "type": "inclusion",
        "entry_id": entry_id,
        "leaf_index": index,
        "tree_size": checkpoint.tree_size,
        "checkpoint_id": checkpoint.id,
        "entry": row.entry,
        "leaf_hash": bytes(row.leaf_hash).hex(),
        "path": [h.hex() for h in path],
    }


def consistency_proof(conn: Connection, old_id: int, new_id: int | None = None) -> dict[str, Any]:
    """Proof that checkpoint ``new_id`` (default: newest) extends checkpoint ``old_id``."""
    old = _checkpoint(conn, old_id)
    new = _checkpoint(conn, new_id)
    if old.tree_size > new.tree_size:
        raise ValidationError(
            f"checkpoint {old.id} (size {old.tree_size}) is larger than checkpoint {new.id} "
            f"(size {new.tree_size}); give the older one first"
        )
    path = resolve(
        consistency_ranges(old.tree_size, new.tree_size), lambda keys: fetch_nodes(conn, keys)
    )
    return {
        "type": "consistency",
        "old_checkpoint_id": old.id,
        "new_checkpoint_id": new.id,
        "old_size": old.tree_size,
        "new_size": new.tree_size,
        "path": [h.hex() for h in path],
    }
