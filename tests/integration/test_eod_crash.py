"""Kill `postloan eod` (SIGKILL) at random stages 20 times, re-running after each kill:
the files end byte-identical to an uninterrupted run and no event is duplicated."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postloan.batch.pipeline import (
    KILL_ENV,
    OUTPUTS,
    STAGES,
    last_closed_business_date,
    run_range,
)
from postloan.commands.demo import sample_feeds_dir
from postloan.config import load_settings
from postloan.feeds.importer import import_directory
from postloan.store import open_store
from postloan.store import tables as t
from postloan.store.snapshots import PART_FILE

D2 = date(2026, 10, 7)
D1 = D2 - timedelta(days=1)
ROUNDS = 20


def eod(home: Path, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POSTLOAN_DATABASE_URL", KILL_ENV)}
    env["POSTLOAN_HOME"] = str(home)
    if kill_at:
        env[KILL_ENV] = kill_at
    cmd = [sys.executable, "-m", "postloan", "eod", "--from", str(D1), "--to", str(D2)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def rerun(home: Path) -> None:
    store = open_store(load_settings({"POSTLOAN_HOME": str(home)}))
    try:
        run_range(store, [D1, D2])
    finally:
        store.close()


def prepare(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.yaml").write_text("eod:\n  partitions: 2\n", encoding="utf-8")
    env = {"POSTLOAN_HOME": str(home)}
    store = open_store(load_settings(env))
    try:
        assert import_directory(sample_feeds_dir(), store).rejected == 0
    finally:
        store.close()


def outputs(home: Path) -> dict[str, bytes]:
    root = home / "snapshots"
    return {
        f"{table}/{d}": (root / table / f"business_date={d}" / PART_FILE).read_bytes()
        for table in OUTPUTS
        for d in (D1, D2)
    }


def events(home: Path) -> tuple[int, int, list[str]]:
    store = open_store(load_settings({"POSTLOAN_HOME": str(home)}))
    try:
        with store.begin() as conn:
            e = t.LoanEvent
            n, distinct = conn.execute(
                select(func.count(), func.count(e.event_id.distinct()))
            ).one()
            ids = list(conn.execute(select(e.event_id).order_by(e.event_id)).scalars())
            assert last_closed_business_date(conn) == D2
    finally:
        store.close()
    return n, distinct, ids


@pytest.mark.slow
def test_killed_runs_finish_byte_identical(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    prepare(baseline)
    done = eod(baseline)
    assert done.returncode == 0, done.stderr
    expected = outputs(baseline)
    expected_events = events(baseline)
    assert expected_events[0] > 0

    home = tmp_path / "crashed"
    prepare(home)
    rng = random.Random(20261129)
    killed = 0
    for _ in range(ROUNDS):
        stage = rng.choice(STAGES)
        day = rng.choice((D1, D2))
        crash = eod(home, f"{stage}@{day}")
        killed += crash.returncode == -signal.SIGKILL
        assert crash.returncode in (0, -signal.SIGKILL), crash.stderr
        rerun(home)  # in-process: the same code path, without another interpreter start
        assert outputs(home) == expected
        assert events(home) == expected_events
    assert killed == ROUNDS  # every stage is reached on both dates
