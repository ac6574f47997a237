"""`postloan eod --engine spark --master local[2]` writes the same files as the local
engine, on a three-partition book with a borrower whose loans are in two partitions."""

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


def split_borrower_feeds(folder: Path) -> Path:
    """The sample feeds with the last loan given the first loan's borrower, so with
    three partitions that borrower's loans are in different partitions."""
    import polars as pl

    shutil.copytree(sample_feeds_dir(), folder)
    loans = pl.read_csv(folder / "loans.csv", infer_schema=False).sort("loan_id")
    last, owner = loans["loan_id"][-1], loans["borrower_id"][0]
    loans.with_columns(
        pl.when(pl.col("loan_id") == last)
        .then(pl.lit(owner))
        .otherwise(pl.col("borrower_id"))
        .alias("borrower_id")
    ).write_csv(folder / "loans.csv")
    return folder


def eod(home: Path, feeds: Path, *extra: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POSTLOAN_DATABASE_URL"}
    env["POSTLOAN_HOME"] = str(home)
    home.mkdir(parents=True)
    (home / "config.yaml").write_text("eod:\n  partitions: 3\n", encoding="utf-8")
    for args in (("import", str(feeds)), ("eod", "--date", ON, *extra)):
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
    feeds = split_borrower_feeds(tmp_path / "feeds")
    eod(tmp_path / "local", feeds)
    eod(tmp_path / "spark", feeds, "--engine", "spark", "--master", "local[2]")
    assert files(tmp_path / "spark") == files(tmp_path / "local")
