"""Import a directory of feed files into the operational store.

Feeds load in dependency order (borrowers, contacts, loans, schedules,
loan_marks, transactions), each file in one database transaction. A file whose
content hash was already loaded is skipped, so importing the same directory
twice changes nothing. Bad rows go to quarantine; transactions of loans not
known yet are held and retried on every later import.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, insert, text, update

from postloan.audit import record as audit_record
from postloan.domain.errors import FeedError
from postloan.feeds import loaders
from postloan.feeds.context import RunContext, loan_currencies
from postloan.feeds.held import release_held
from postloan.feeds.quarantine import Quarantine
from postloan.feeds.readers import read_table
from postloan.feeds.spec import EXTENSIONS, FEED_ORDER
from postloan.feeds.validation import validate
from postloan.store.db import Store, open_store
from postloan.store.tables import ImportRun

_PER_LOAN = ("schedules", "transactions")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FileReport:
    feed: str
    path: Path
    status: str  # loaded | skipped | failed
    rows: int = 0
    loaded: int = 0
    held: int = 0
    rejected: int = 0
    flagged: int = 0
    message: str | None = None


@dataclass
class ImportReport:
    run_id: str
    source_dir: Path
    files: list[FileReport] = field(default_factory=list)
    released: int = 0  # held transactions loaded in this run
    held_rejected: int = 0  # held transactions that failed validation on release
    quarantine_dir: Path | None = None

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files) + self.held_rejected

    @property
    def failed_files(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]


def find_feed_files(directory: Path) -> dict[str, Path]:
    """The feed files in ``directory`` by feed name; refuses ambiguity and emptiness."""
    if not directory.is_dir():
        raise FeedError(f"{directory}: not a directory; pass the folder holding the feed files")
    found: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if path.is_file() and stem in FEED_ORDER and suffix in EXTENSIONS:
            found.setdefault(stem, []).append(path)
    for feed, paths in found.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            raise FeedError(f"{directory}: more than one {feed} file ({names}); keep exactly one")
    if not found:
        expected = ", ".join(f"{f}.csv" for f in FEED_ORDER)
        raise FeedError(
            f"{directory}: no feed files found; expected files named like {expected} "
            "(or .parquet / .xlsx)"
        )
    return {feed: found[feed][0] for feed in FEED_ORDER if feed in found}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def import_directory(
    directory: Path,
    store: Store | None = None,
    *,
    force: bool = False,
    clock: Callable[[], datetime] = utc_now,
) -> ImportReport:
    """Load every feed file in ``directory``; see the module docstring."""
    files = find_feed_files(directory)
    own = store is None
    store = store or open_store()
    try:
        report = _run(store, directory, files, force, clock)
        if report.released or any(f.loaded for f in report.files):
            from postloan.batch.pipeline import refresh_mirror  # the batch's Parquet book

            refresh_mirror(store)
        return report
    finally:
        if own:
            store.close()


def _run(
    store: Store,
    directory: Path,
    files: dict[str, Path],
    force: bool,
    clock: Callable[[], datetime],
) -> ImportReport:
    started = clock()
    run_id = new_run_id(started)
    quarantine = Quarantine(store.settings.quarantine_dir, run_id)
    report = ImportReport(run_id, directory)
    with store.begin() as conn:
        conn.execute(
            insert(ImportRun).values(
                run_id=run_id,
                started_at=started,
                source_dir=str(directory),
                status="running",
                rows=0,
                loaded=0,
                rejected=0,
                held=0,
                released=0,
            )
        )
    ctx = RunContext(store, run_id, quarantine)
    for feed, path in files.items():
        report.files.append(_import_file(ctx, feed, path, force))
    with store.begin() as conn:
        loaders.generate_missing_schedules(conn, ctx)
        report.released, report.held_rejected = release_held(conn, ctx)
        loaders.refresh_borrower_flags(conn)
        _finish(conn, report, clock())
    report.quarantine_dir = quarantine.dir if quarantine.used else None
    if report.quarantine_dir is not None:
        with store.begin() as conn:
            conn.execute(
                update(ImportRun)
                .where(ImportRun.run_id == run_id)
                .values(quarantine_dir=str(report.quarantine_dir))
            )
    return report


def _import_file(ctx: RunContext, feed: str, path: Path, force: bool) -> FileReport:
    sha = file_sha256(path)
    size = path.stat().st_size
    with ctx.store.begin() as conn:
        previous = conn.execute(
            text(
                "SELECT run_id FROM import_files WHERE feed = :f AND sha256 = :s "
                "AND status = 'loaded' ORDER BY id DESC LIMIT 1"
            ),
            {"f": feed, "s": sha},
        ).scalar()
        if previous is not None and not force:
            rep = FileReport(feed, path, "skipped", message=f"unchanged since import {previous}")
            _record_file(conn, ctx.run_id, rep, sha, size)
            return rep
    try:
        frame = read_table(path)
        with ctx.store.begin() as conn:
            # Amounts of schedules and transactions are in the currency of their loan.
            currencies = loan_currencies(conn) if feed in _PER_LOAN else None
            validated = validate(feed, frame, path, currencies=currencies)
            counts = loaders.LOADERS[feed](conn, ctx, validated)
            rep = FileReport(
                feed,
                path,
                "loaded",
                rows=validated.rows,
                loaded=counts.loaded,
                held=counts.held,
                rejected=validated.rejected.height,
                flagged=counts.flagged,
            )
            _record_file(conn, ctx.run_id, rep, sha, size)
    except FeedError as err:
        ctx.quarantine.whole_file(feed, path, "unreadable_file", str(err))
        rep = FileReport(feed, path, "failed", message=str(err))
        with ctx.store.begin() as conn:
            _record_file(conn, ctx.run_id, rep, sha, size)
        return rep
    ctx.quarantine.rows(feed, validated.rejected, validated.error_frame)
    return rep


def _record_file(conn: Connection, run_id: str, rep: FileReport, sha: str, size: int) -> None:
    conn.execute(
        text(
            "INSERT INTO import_files (run_id, feed, path, sha256, size, status, rows, loaded, "
            "rejected, held, message) VALUES (:run, :feed, :path, :sha, :size, :status, :rows, "
            ":loaded, :rejected, :held, :message)"
        ),
        {
            "run": run_id,
            "feed": rep.feed,
            "path": str(rep.path),
            "sha": sha,
            "size": size,
            "status": rep.status,
            "rows": rep.rows,
            "loaded": rep.loaded,
            "rejected": rep.rejected,
            "held": rep.held,
            "message": rep.message,
        },
    )
    audit_record(  # the file's outcome is audited in the transaction that records it
        conn,
        actor="system",
        role="system",
        action=f"import.file.{rep.status}",
        object_type="import_file",
        object_id=f"{run_id}/{rep.feed}",
        after={
            "file": rep.path.name,
            "sha256": sha,
            "size": size,
            "rows": rep.rows,
            "loaded": rep.loaded,
            "rejected": rep.rejected,
            "held": rep.held,
            "message": rep.message,
        },
    )


def _finish(conn: Connection, report: ImportReport, now: datetime) -> None:
    counts = [
        {
            "feed": f.feed,
            "file": str(f.path),
            "status": f.status,
            "rows": f.rows,
            "loaded": f.loaded,
            "held": f.held,
            "rejected": f.rejected,
            "flagged": f.flagged,
        }
        for f in report.files
    ]
    conn.execute(
        update(ImportRun)
        .where(ImportRun.run_id == report.run_id)
        .values(
            finished_at=now,
            status="done",
            rows=sum(f.rows for f in report.files),
            loaded=sum(f.loaded for f in report.files),
            rejected=report.rejected,
            held=sum(f.held for f in report.files),
            released=report.released,
            counts=json.dumps(counts),
        )
    )
    audit_record(
        conn,
        actor="system",
        role="system",
        action="import.run",
        object_type="import_run",
        object_id=report.run_id,
        after={"files": counts, "released": report.released, "rejected": report.rejected},
    )
