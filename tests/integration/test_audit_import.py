"""Every import run and every file in it leaves an audit entry, committed with the import."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from postloan.audit.audit_check import verify_log
from postloan.feeds.importer import import_directory
from postloan.store import Store


def _actions(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT action, entry FROM audit_entries ORDER BY id")).all()
    return [(r[0], json.loads(r[1])["object_id"]) for r in rows]


def test_imports_are_audited_per_file_and_per_run(store: Store, data_dir: Path) -> None:
    first = import_directory(data_dir / "feeds" / "good", store)
    actions = _actions(store)
    loaded = [f.feed for f in first.files if f.status == "loaded"]
    assert [a for a, _ in actions[:-1]] == ["import.file.loaded"] * len(loaded)
    assert [o.split("/")[1] for _, o in actions[:-1]] == loaded
    assert actions[-1] == ("import.run", first.run_id)

    again = import_directory(data_dir / "feeds" / "good", store)  # unchanged files: skipped
    new = _actions(store)[len(actions) :]
    assert {a for a, _ in new[:-1]} == {"import.file.skipped"}
    assert new[-1] == ("import.run", again.run_id)
    with store.begin() as conn:
        report = verify_log(conn, None)
    assert report.ok and report.entries == len(actions) + len(new)
