"""`postloan eod --engine spark --master local[2]` writes the same files as the local engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from postloan.batch.pipeline import OUTPUTS
from postloan.commands.demo import sample_feeds_dir
from postloan.store.snapshots import PART_FILE

pytest.importorskip("pyspark")
ON = "2026-10-07"


def eod(home: Path, *extra: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POSTLOAN_DATABASE_URL"}
    env["POSTLOAN_HOME"] = str(home)
    for args in (("import", str(sample_feeds_dir())), ("eod", "--date", ON, *extra)):
        done = subprocess.run(
            [sys.executable, "-m", "postloan", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]


def files(home: Path) -> dict[str, bytes]:
    root = home / "snapshots"
    return {t: (root / t / f"business_date={ON}" / PART_FILE).read_bytes() for t in OUTPUTS}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17")
def test_spark_engine_output_is_identical_to_local(tmp_path: Path) -> None:
    eod(tmp_path / "local")
    eod(tmp_path / "spark", "--engine", "spark", "--master", "local[2]")
    assert files(tmp_path / "spark") == files(tmp_path / "local")
