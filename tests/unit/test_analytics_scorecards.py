"""Officer scorecards on the simulator: rewards follow simulated skill, not volume or segment."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from postloan.analytics.scorecards import IncentiveFormula, officer_scorecard
from postloan.domain.errors import ConfigError
from postloan.sim.config import load_config
from postloan.sim.runner import simulate

CONFIG = """
regions: {CN-11: 0.4, CN-44: 0.3, CN-51: 0.3}
macro: {region_sd: 0.6}
organisation:
  loans_per_officer: 1000
  officers_per_branch: 3
  officer_quality_sd: 0.0
  officer_quality: {O00001: 0.8, O00002: -0.8}
"""


@pytest.fixture(scope="module")
def league(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], pl.DataFrame]:
    path = tmp_path_factory.mktemp("sim") / "sim.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    result = simulate(load_config(path), loans=24000, months=18, seed=3)
    perf = result.monthly.select(
        "loan_id", pl.col("as_of").alias("business_date"), pl.col("dpd").alias("days_past_due")
    )
    return officer_scorecard(result.loans, perf), result.loans


def test_worse_originator_ranks_below_better_one_of_similar_volume(league) -> None:
    rows, _ = league
    by = {r["officer"]: r for r in rows}
    worse, better = by["O00001"], by["O00002"]
    assert abs(worse["loans"] - better["loans"]) < 0.15 * better["loans"]  # similar volume
    assert worse["rank"] > better["rank"]
    assert worse["rank"] == len(rows) and better["rank"] == 1
    assert Fraction(worse["bonus_multiplier"]) < 1 < Fraction(better["bonus_multiplier"])


def test_equal_skill_in_riskier_segments_gives_close_o_e(league) -> None:
    rows, loans = league
    region = dict(loans.group_by("officer_id").agg(pl.col("region").first()).iter_rows())
    pooled: dict[str, list[Fraction]] = {}
    for r in rows:
        if r["officer"] in ("O00001", "O00002"):
            continue
        cell = r["mob12"]
        o, e, n = pooled.setdefault(region[r["officer"]], [Fraction(0)] * 3)
        pooled[region[r["officer"]]] = [
            o + cell["observed"],
            e + Fraction(cell["expected"]),
            n + cell["matured"],
        ]
    raw = {k: o / n for k, (o, _, n) in pooled.items()}
    oe = {k: o / e for k, (o, e, _) in pooled.items()}
    risky, safe = max(raw, key=raw.get), min(raw, key=raw.get)
    assert raw[risky] > Fraction(13, 10) * raw[safe]  # the segments really differ in risk
    assert abs(oe[risky] - oe[safe]) < Fraction(1, 10)  # yet risk-adjusted they are close


def test_volume_alone_earns_nothing() -> None:
    loans = pl.DataFrame(
        {
            "loan_id": [f"L{i}" for i in range(300)],
            "officer_id": ["A"] * 250 + ["B"] * 50,
            "product": ["p"] * 300,
            "region": ["r"] * 300,
            "channel": ["c"] * 300,
            "disbursement_date": [date(2025, 1, 10)] * 300,
            "principal": [100_000] * 300,
        }
    )
    bad = {f"L{i}" for i in range(0, 300, 10)}  # the same 10% bad rate for both
    perf = pl.DataFrame(
        {
            "loan_id": loans["loan_id"],
            "business_date": [date(2026, 1, 31)] * 300,
            "days_past_due": [45 if x in bad else 0 for x in loans["loan_id"]],
        }
    )
    rows = officer_scorecard(loans, perf)
    assert {r["officer"]: r["bonus_multiplier"] for r in rows} == {"A": "1.000000", "B": "1.000000"}
    a = next(r for r in rows if r["officer"] == "A")
    assert a["mob12"]["o_e"] == "1.000000" and a["mob12"]["matured"] == 250
    assert a["mob12"]["credibility"] == "0.555556"  # 250 / (250 + 200)

    pds = pl.DataFrame({"loan_id": loans["loan_id"], "pd": [0.05] * 300})
    with_pd = {r["officer"]: r for r in officer_scorecard(loans, perf, expected_pd=pds)}
    assert with_pd["A"]["mob12"]["expected"] == "12.500000"  # 250 x 0.05
    assert with_pd["A"]["mob12"]["o_e"] == "2.000000"  # 25 bad of 12.5 expected


def test_incentive_formula_config() -> None:
    f = IncentiveFormula.from_config({"slope": "2", "floor": "0.8", "cap": "1.2"})
    assert f.multiplier(Fraction(1)) == 1
    assert f.multiplier(Fraction(1, 2)) == Fraction(6, 5)
    assert f.multiplier(Fraction(3)) == Fraction(4, 5)
    with pytest.raises(ConfigError):
        IncentiveFormula.from_config({"floor": "2", "cap": "1"})


def test_unknown_officer_in_simulator_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text("organisation: {officer_quality: {O99999: 1.0}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no officer"):
        simulate(load_config(path), loans=100, months=3, seed=1)
