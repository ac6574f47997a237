"""`postloan simulate`: files written, byte-identical reruns, CSV format, config errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from postloan.cli import _register, app

_register()
runner = CliRunner()


def _run(out: Path, *extra: str) -> None:
    args = [
        "simulate",
        "--loans",
        "300",
        "--months",
        "8",
        "--seed",
        "11",
        "--out",
        str(out),
        *extra,
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def _digests(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    _run(tmp_path / "a")
    _run(tmp_path / "b")
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    expected = {
        f"{n}.parquet"
        for n in (
            "borrowers",
            "contacts",
            "loans",
            "schedules",
            "loan_marks",
            "transactions",
            "truth",
            "sim_monthly",
            "treatments",
        )
    }
    assert set(a) == expected
    assert a == b


def test_other_seed_differs_and_truth_has_the_contract_columns(tmp_path: Path) -> None:
    _run(tmp_path / "a")
    result = runner.invoke(
        app,
        [
            "simulate",
            "--loans",
            "300",
            "--months",
            "8",
            "--seed",
            "12",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 0
    assert (
        _digests(tmp_path / "a")["transactions.parquet"]
        != _digests(tmp_path / "b")["transactions.parquet"]
    )
    truth = pl.read_parquet(tmp_path / "a" / "truth.parquet")
    assert truth.columns == ["loan_id", "as_of", "pd_90dpd_90d", "pd_90dpd_180d"]
    assert truth.height > 0


def test_csv_format(tmp_path: Path) -> None:
    _run(tmp_path, "--format", "csv")
    loans = pl.read_csv(tmp_path / "loans.csv", infer_schema=False)
    assert loans.height == 300
    assert loans["principal"].str.contains(r"^\d+\.\d\d$").all()
    assert (tmp_path / "truth.parquet").exists()
    from postloan.feeds.importer import import_directory

    report = import_directory(tmp_path)
    assert report.rejected == 0
    assert sum(f.loaded for f in report.files) == sum(f.rows for f in report.files) > 0


def test_unknown_config_key_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("behaviour:\n  mis_logit: -3\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "simulate",
            "--loans",
            "10",
            "--months",
            "3",
            "--out",
            str(tmp_path / "o"),
            "--config",
            str(cfg),
        ],
    )
    assert result.exit_code != 0
    assert "behaviour.mis_logit" in str(result.exception)


def test_compare_prints_both_strategies(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("strategy:\n  name: late-call\n  contact_days_after_due: [10, 20]\n", "utf-8")
    b.write_text("strategy:\n  name: early-call\n  contact_days_after_due: [3, 10, 20]\n", "utf-8")
    args = ["simulate", "compare", "--champion", str(a), "--challenger", str(b)]
    result = runner.invoke(app, [*args, "--loans", "500", "--months", "6", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "late-call" in result.output and "early-call" in result.output
    assert "90+ DPD ratio" in result.output


def test_simulate_without_required_options_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--loans", "10"])
    assert result.exit_code != 0
    assert "--months" in str(result.exception)
