"""Appending to the audit log inside the caller's transaction.

Every append takes the lock of the single tree-state row (an ``UPDATE``: a row
lock on PostgreSQL, the write lock on SQLite), so appends serialize and ids stay
dense. The new leaves are folded into the stored frontier (O(log n)
per leaf, nothing recomputed) and every subtree they complete is cached in
``audit_nodes``. All of it happens in ``conn``'s transaction: the change being
recorded and its entry commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, Connection, Dialect, Engine

from postloan.audit.entry import AuditEvent, entries_bytes
from postloan.audit.merkle import append_leaf
from postloan.audit.verifier import HASH_SIZE, leaf_hash
from postloan.store.tables_audit import AuditEntry

_ENTRIES = AuditEntry.__table__
STATE_ID = 1
#: ``audit_entries``' columns in the order the rows are built and bound.
ENTRY_COLUMNS = (
    "id",
    "leaf_hash",
    "entry",
    "actor",
    "action",
    "object_type",
    "object_id",
    "business_date",
    "recorded_at",
)
if {c.name for c in _ENTRIES.columns} != set(ENTRY_COLUMNS):  # pragma: no cover
    raise RuntimeError("audit_entries' columns changed: update ENTRY_COLUMNS")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def split_frontier(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]


class _Sql:
    """DBAPI statements for the hot path, bound with the columns' own type processors
    (a Core statement costs ~0.3 ms and ``exec_driver_sql`` ~0.15 ms of Python; the
    cursor itself a few microseconds)."""

    def __init__(self, dialect: Dialect) -> None:
        named = dialect.paramstyle in ("named", "qmark", "numeric")

        def mark(name: str) -> str:
            return f":{name}" if named else f"%({name})s"

        columns = list(ENTRY_COLUMNS)
        self.lock = (
            f"UPDATE audit_tree_state SET size = size + {mark('grow')} "
            f"WHERE id = {STATE_ID} RETURNING size, frontier"
        )
        self.seed = (
            "INSERT INTO audit_tree_state (id, size, frontier) "
            f"VALUES ({STATE_ID}, 0, {mark('frontier')})"
        )
        self.entries = (
            f"INSERT INTO audit_entries ({', '.join(columns)}) "
            f"VALUES ({', '.join(mark(c) for c in columns)})"
        )
        self.nodes = (
            "INSERT INTO audit_nodes (level, idx, hash) "
            f"VALUES ({mark('level')}, {mark('idx')}, {mark('hash')})"
        )
        self.state = (
            f"UPDATE audit_tree_state SET frontier = {mark('frontier')}, "
            f"updated_at = {mark('updated_at')} WHERE id = {STATE_ID}"
        )
        # compare-and-swap of the whole head: the lock and the write in one statement
        self.swap = (
            f"UPDATE audit_tree_state SET size = {mark('new_size')}, "
            f"frontier = {mark('frontier')}, updated_at = {mark('updated_at')} "
            f"WHERE id = {STATE_ID} AND size = {mark('old_size')} "
            f"AND frontier = {mark('old_frontier')}"
        )
        self.columns = columns
        #: SQLite (``?`` marks): many rows per INSERT, positional values (see _insert_many)
        self.multi_row = dialect.name == "sqlite" and dialect.paramstyle == "qmark"
        self.moment = _processor(_ENTRIES.c.recorded_at, dialect) or _identity
        self.day = _processor(_ENTRIES.c.business_date, dialect) or _identity


def _identity(value: Any) -> Any:
    return value


def _processor(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column.type.dialect_impl(dialect).bind_processor(dialect)


_STATEMENTS: dict[str, _Sql] = {}


def _sql(conn: Connection) -> _Sql:
    dialect = conn.dialect
    key = f"{dialect.name}:{dialect.paramstyle}"
    if key not in _STATEMENTS:
        _STATEMENTS[key] = _Sql(dialect)
    return _STATEMENTS[key]


def _cursor(conn: Connection) -> Any:
    """A DBAPI cursor on ``conn``'s connection, in ``conn``'s transaction."""
    if not conn.in_transaction():
        conn.exec_driver_sql("SELECT 1")  # let SQLAlchemy begin the transaction it will commit
    return conn.connection.cursor()


def lock_state(conn: Connection, cursor: Any, grow_by: int = 0) -> tuple[int, list[bytes]]:
    """Lock the tree-state row; return (size before growth, frontier)."""
    sql = _sql(conn)
    cursor.execute(sql.lock, {"grow": grow_by})
    row = cursor.fetchone()
    if row is None:  # a schema created without the migration's seed row
        cursor.execute(sql.seed, {"frontier": b""})
        cursor.execute(sql.lock, {"grow": grow_by})
        row = cursor.fetchone()
    return int(row[0]) - grow_by, split_frontier(bytes(row[1]))


def record(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
    business_date: date | None = None,
) -> int:
    """Append one audit entry in ``conn``'s transaction and return its id.

    Pass ids or tokens, never personal data; system actions use
    ``actor="system", role="system"``.
    """
    event = AuditEvent(
        actor, role, action, object_type, object_id, before, after, reason, business_date
    )
    return record_many(conn, (event,))[0]


#: The tree head this process last wrote, per engine: the guess for the next append.
_LAST_HEAD: WeakKeyDictionary[Engine, tuple[int, bytes]] = WeakKeyDictionary()


def record_many(conn: Connection, events: Iterable[AuditEvent]) -> list[int]:
    """Append several entries under one lock (batch steps); return their ids in order.

    Fast path: guess that the head is the one this process wrote last and swap it
    for the new head in one ``UPDATE ... WHERE size = guess AND frontier = guess``
    (that takes the same lock). When another writer moved the head (no row
    updated), lock the row, read the real head and build the entries again.
    """
    events = list(events)
    if not events:
        return []
    now = utc_now()
    sql = _sql(conn)
    cursor = _cursor(conn)
    moment = sql.moment(now)
    guess = _LAST_HEAD.get(conn.engine)
    built = None
    if guess is not None:
        built = _build(events, guess[0], split_frontier(guess[1]), iso_utc(now), sql, moment)
        cursor.execute(
            sql.swap,
            {
                "new_size": guess[0] + len(events),
                "frontier": built.frontier,
                "updated_at": moment,
                "old_size": guess[0],
                "old_frontier": guess[1],
            },
        )
        if cursor.rowcount != 1:
            built = None
    if built is None:
        size, frontier = lock_state(conn, cursor, len(events))
        built = _build(events, size, frontier, iso_utc(now), sql, moment)
        cursor.execute(sql.state, {"frontier": built.frontier, "updated_at": moment})
    width = len(ENTRY_COLUMNS)
    if sql.multi_row and len(events) > 1:
        _insert_many(cursor, "audit_entries", sql.columns, built.values)
    else:
        rows = [
            dict(zip(ENTRY_COLUMNS, built.values[i : i + width], strict=True))
            for i in range(0, len(built.values), width)
        ]
        if len(rows) == 1:
            cursor.execute(sql.entries, rows[0])
        else:
            cursor.executemany(sql.entries, rows)
    if built.nodes and sql.multi_row:
        flat = [value for node in built.nodes for value in node]
        _insert_many(cursor, "audit_nodes", ["level", "idx", "hash"], flat)
    elif built.nodes:
        cursor.executemany(
            sql.nodes, [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in built.nodes]
        )
    cursor.close()
    ids = list(range(built.first, built.first + len(events)))
    _LAST_HEAD[conn.engine] = (ids[-1], built.frontier)
    return ids


#: Bound values per SQLite statement: under the smallest default limit (999).
_MAX_VALUES = 990


def _insert_many(cursor: Any, table: str, columns: list[str], values: list[Any]) -> None:
    """SQLite: insert the rows whose values follow each other in ``values`` with
    multi-row ``INSERT … VALUES (…), (…)`` statements, in order (a statement per row
    costs about twice the CPU)."""
    width = len(columns)
    per = max(1, _MAX_VALUES // width)
    group = "(" + ", ".join("?" * width) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    step = per * width
    full = len(values) // step * step
    if full:
        statement = head + ", ".join([group] * per)
        cursor.executemany(statement, [values[i : i + step] for i in range(0, full, step)])
    if full < len(values):
        cursor.execute(head + ", ".join([group] * ((len(values) - full) // width)), values[full:])


@dataclass(slots=True)
class _Built:
    first: int  # the first entry's id
    values: list[Any]  # the entries' rows, one after the other, in ENTRY_COLUMNS order
    nodes: list[tuple[int, int, bytes]]
    frontier: bytes


def _build(
    events: list[AuditEvent], size: int, frontier: list[bytes], at: str, sql: _Sql, moment: Any
) -> _Built:
    """The rows of ``events`` appended to a tree of ``size`` with ``frontier``, recorded
    at ``at`` (entry text) / ``moment`` (the driver's ``recorded_at``). Flat values, not
    a dict per row: fewer objects for the garbage collector to track in a large batch."""
    values: list[Any] = []
    nodes: list[tuple[int, int, bytes]] = []
    days: dict[date, Any] = {}  # the driver value of each business date, converted once
    texts = entries_bytes(size + 1, events, at)
    for offset, (event, entry) in enumerate(zip(events, texts, strict=True)):
        seq = size + offset + 1
        leaf = leaf_hash(entry)
        append_leaf(frontier, seq - 1, leaf, nodes)
        day = event.business_date
        if day and day not in days:
            days[day] = sql.day(day)
        values += (
            seq,
            leaf,
            entry.decode("utf-8"),
            event.actor,
            event.action,
            event.object_type,
            event.object_id,
            days[day] if day else None,
            moment,
        )
    return _Built(size + 1, values, nodes, b"".join(frontier))
