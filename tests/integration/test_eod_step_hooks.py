"""Step hooks of the close of business: a step's frames become snapshot tables of
the date, and its commit hook runs inside the date's transaction (a failing hook
leaves the watermark where it was)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import Connection

from postloan.batch import steps as steps_mod
from postloan.batch.pipeline import last_closed_business_date, run_date
from postloan.batch.steps import CommitContext, Step, StepContext
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store.snapshots import SnapshotStore

ON = date(2026, 10, 7)


@pytest.fixture
def book(store: Store) -> Store:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    return store


def _probe(ctx: StepContext) -> None:
    state = ctx.frames["state"]
    ctx.frames["probe"] = state.select("loan_id", "days_past_due").filter(
        pl.col("days_past_due") > 0
    )


def test_step_frames_are_snapshotted_and_commit_hooks_see_the_whole_date(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []

    def commit(conn: Connection, ctx: CommitContext) -> None:
        assert conn.in_transaction()
        frames = ctx.frames  # read inside the hook: the run's working files go afterwards
        seen.append(
            {
                "date": ctx.business_date,
                "settings": ctx.settings,
                "state": frames["state"],
                "probe": frames["probe"],
                "has": {k for k in ("events", "features", "nothing") if k in frames},
            }
        )

    probe = Step("SCORE", ("state",), ("probe",), "partition", _probe, "probe", ("probe",), commit)
    monkeypatch.setitem(steps_mod.REGISTRY, "SCORE", probe)
    run_date(book, ON)
    (got,) = seen
    assert got["date"] == ON and got["settings"] == book.settings
    state, probe_frame = got["state"], got["probe"]
    assert isinstance(state, pl.DataFrame) and isinstance(probe_frame, pl.DataFrame)
    assert state.height == 47
    delinquent = state.filter(pl.col("days_past_due") > 0)
    assert probe_frame["loan_id"].to_list() == sorted(delinquent["loan_id"].to_list())
    stored = SnapshotStore(book.settings.snapshot_dir).read("probe", ON)
    assert stored.drop("business_date").equals(probe_frame)
    assert got["has"] == {"events", "features"}
    assert not (book.settings.home / "eod-work").exists()  # working files removed


def test_a_failing_commit_hook_rolls_the_date_back(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def commit(_conn: Connection, _ctx: CommitContext) -> None:
        raise RuntimeError("hook failed")

    probe = Step("SCORE", ("state",), ("probe",), "partition", _probe, "probe", (), commit)
    monkeypatch.setitem(steps_mod.REGISTRY, "SCORE", probe)
    with pytest.raises(RuntimeError):
        run_date(book, ON)
    with book.begin() as conn:
        assert last_closed_business_date(conn) is None
