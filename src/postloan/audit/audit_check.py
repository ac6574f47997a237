"""``audit verify``: recompute the whole tree from the entries and check everything stored.

Entries are streamed in chunks (driver rows, no ORM objects); each entry is
hashed again and must match its stored leaf hash, carry its own sequence number
and sit at a dense id. The tree is rebuilt level by level and compared with the
tree-state row, the cached subtree nodes, and every stored checkpoint (root at
its size and Ed25519 signature). The first problem of each kind is reported
with the entry or checkpoint it concerns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from postloan.audit.log import STATE_ID, split_frontier
from postloan.audit.merkle import MemoryTree
from postloan.audit.verifier import VerificationError, verify_checkpoint

CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # entry | tree | node | checkpoint
    ref: int | None  # entry id or checkpoint id
    message: str


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    checkpoints: int = 0
    root: bytes = b""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "root": self.root.hex(),
            "problems": [
                {"kind": p.kind, "ref": p.ref, "message": p.message} for p in self.problems
            ],
        }


def _stream(conn: Connection, sql: str) -> Iterator[list[Any]]:
    """Rows of ``sql`` in chunks straight from the driver (no Row objects); a server-side
    cursor on PostgreSQL so a million entries are never all in memory at once."""
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor(name="audit_verify")  # type: ignore[union-attr]
    else:
        cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(CHUNK):
            yield rows
    finally:
        cursor.close()


def verify_log(conn: Connection, public_key: str | None) -> VerifyReport:
    """Check the audit log in ``conn``; ``public_key`` (verifier key text) checks signatures."""
    report = VerifyReport()
    leaves = _check_entries(conn, report)
    tree = MemoryTree(leaves)
    report.root = tree.root()
    _check_state(conn, tree, report)
    _check_nodes(conn, tree, report)
    _check_checkpoints(conn, tree, public_key, report)
    return report


def _check_entries(conn: Connection, report: VerifyReport) -> list[bytes]:
    leaves: list[bytes] = []
    sha256 = hashlib.sha256
    first_bad: Problem | None = None
    for rows in _stream(conn, "SELECT id, entry, leaf_hash FROM audit_entries ORDER BY id"):
        start = len(leaves) + 1
        stored = [bytes(r[2]) for r in rows]
        leaves.extend(stored)
        if first_bad is not None:
            continue
        # whole chunk at C speed; the row-by-row search only runs on a bad chunk
        if (
            rows[0][0] == start
            and rows[-1][0] == start + len(rows) - 1
            and [sha256(b"\x00" + r[1].encode("utf-8")).digest() for r in rows] == stored
            and all(r[1].endswith(f',"seq":{r[0]},"v":1}}') for r in rows)
        ):
            continue
        first_bad = _first_bad_entry(rows, start)
    report.entries = len(leaves)
    if first_bad is not None:
        report.problems.append(first_bad)
    return leaves


def _first_bad_entry(rows: list[Any], expected: int) -> Problem | None:
    for entry_id, entry, stored in rows:
        if entry_id != expected:
            return Problem(
                "entry",
                expected,
                f"entry {expected} is missing (the next stored id is {entry_id})"
                if entry_id > expected
                else f"entry id {entry_id} is out of order after {expected - 1}",
            )
        if hashlib.sha256(b"\x00" + entry.encode("utf-8")).digest() != bytes(stored):
            return Problem("entry", entry_id, f"entry {entry_id} does not match its leaf hash")
        if not entry.endswith(f',"seq":{entry_id},"v":1}}'):
            return Problem("entry", entry_id, f"entry {entry_id} carries another sequence number")
        expected += 1
    return None


def _check_state(conn: Connection, tree: MemoryTree, report: VerifyReport) -> None:
    row = conn.exec_driver_sql(
        f"SELECT size, frontier FROM audit_tree_state WHERE id = {STATE_ID}"
    ).first()
    size, frontier = (int(row[0]), split_frontier(bytes(row[1]))) if row else (0, [])
    if size != tree.size:
        what = "truncated" if size > tree.size else "extended outside the log"
        report.problems.append(
            Problem("tree", None, f"the log was {what}: {size} entries appended, {tree.size} found")
        )
    elif frontier != tree.frontier():
        report.problems.append(
            Problem("tree", None, "the stored tree head does not match the entries")
        )


def _check_nodes(conn: Connection, tree: MemoryTree, report: VerifyReport) -> None:
    sql = "SELECT level, idx, hash FROM audit_nodes ORDER BY level, idx"
    flat = [h for level in tree.levels[1:] for h in level]  # the order of the query
    seen = 0
    for rows in _stream(conn, sql):
        if [bytes(r[2]) for r in rows] != flat[seen : seen + len(rows)]:
            break
        seen += len(rows)
    else:
        if seen == len(flat):
            return
        report.problems.append(
            Problem("node", None, f"{len(flat) - seen} cached tree nodes are missing")
        )
        return
    _localize_node(conn, tree, report, sql)


def _localize_node(conn: Connection, tree: MemoryTree, report: VerifyReport, sql: str) -> None:
    levels = tree.levels
    for rows in _stream(conn, sql):
        for level, idx, stored in rows:
            if level < len(levels) and idx < len(levels[level]):
                if levels[level][idx] == bytes(stored):
                    continue
            first, last = idx * (1 << level) + 1, (idx + 1) * (1 << level)
            report.problems.append(
                Problem(
                    "node",
                    first,
                    f"the stored tree node over entries {first}..{last} does not match them "
                    f"(an entry in that range was changed, moved or removed)",
                )
            )
            return
    report.problems.append(Problem("node", None, "cached tree nodes are missing"))


def _check_checkpoints(
    conn: Connection, tree: MemoryTree, public_key: str | None, report: VerifyReport
) -> None:
    rows = conn.exec_driver_sql(
        "SELECT id, tree_size, root_hash, note FROM audit_checkpoints ORDER BY id"
    ).all()
    report.checkpoints = len(rows)
    previous = 0
    for checkpoint_id, size, root, note in rows:
        message = _checkpoint_problem(int(size), bytes(root), note, tree, public_key, previous)
        if message:
            report.problems.append(
                Problem("checkpoint", int(checkpoint_id), f"checkpoint {checkpoint_id}: {message}")
            )
            return
        previous = int(size)


def _checkpoint_problem(
    size: int, root: bytes, note: str, tree: MemoryTree, key: str | None, previous: int
) -> str | None:
    if key is None:
        return "no public key to check its signature (give --public-key)"
    try:
        body = verify_checkpoint(note, key)
    except VerificationError as err:
        return str(err)
    if (body.size, body.root) != (size, root):
        return "the stored size or root differs from the signed note"
    if size > tree.size:
        return f"signed a log of {size} entries but only {tree.size} exist (truncated)"
    if size < previous:
        return f"size {size} is smaller than the previous checkpoint's {previous}"
    if tree.root(size) != root:
        return f"the entries 1..{size} no longer hash to the signed root"
    return None
