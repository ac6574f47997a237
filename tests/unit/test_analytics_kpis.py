"""Every snapshot KPI computed a second way, loan by loan in plain Python, and agreeing."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.analytics import kpis
from postloan.analytics.ecl import PPM, EclSettings, ecl_document, loan_ecl
from postloan.analytics.kpis import ratio

BUCKETS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
CLASSES = list(kpis.CATEGORIES)
T0, T1 = date(2026, 1, 31), date(2026, 2, 28)


def bucket_of(dpd: int) -> str:
    return "M0" if dpd == 0 else ("M7+" if dpd > 180 else f"M{(dpd - 1) // 30 + 1}")


def make_state(rng: random.Random, ids: list[str], on: date) -> pl.DataFrame:
    rows = []
    for loan_id in ids:
        status = rng.choice(["active", "active", "active", "closed", "charged_off"])
        dpd = 0 if status == "closed" else rng.choice([0, 0, 0, 5, 35, 65, 95, 200])
        bal = 0 if status == "closed" and rng.random() < 0.8 else rng.randint(1, 10**7)
        klass = CLASSES[min(4, dpd // 60 + (1 if dpd else 0))]
        rows.append(
            {
                "loan_id": loan_id,
                "business_date": on,
                "status": status,
                "days_past_due": dpd,
                "bucket": bucket_of(dpd),
                "classification": klass,
                "classification_reasons": ["restructured_observation"]
                if rng.random() < 0.1
                else [],
                "ifrs9_stage": 3 if dpd > 90 else (2 if dpd > 30 else 1),
                "principal_outstanding": bal,
                "interest_outstanding": rng.randint(0, 10**5),
                "written_off": bal if status == "charged_off" else 0,
                "next_due_date": on,
            }
        )
    return pl.DataFrame(rows).with_columns(
        pl.col("days_past_due").cast(pl.Int32), pl.col("ifrs9_stage").cast(pl.Int8)
    )


def is_open(r: dict) -> bool:
    return r["status"] != "charged_off" and not (
        r["status"] == "closed" and r["principal_outstanding"] <= 0
    )


def frames(seed: int, n: int = 300) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    ids = [f"L{i:05d}" for i in range(n)]
    return make_state(rng, ids, T0), make_state(rng, ids[: n - 10] + ["X1", "X2"], T1)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6))
def test_roll_matrix_and_flow_rates_agree_with_a_loop(seed: int) -> None:
    before, after = frames(seed)
    got = kpis.transition_matrix(before, after, "bucket", BUCKETS)
    nxt = {r["loan_id"]: r for r in after.iter_rows(named=True)}
    n: dict[str, int] = defaultdict(int)
    b: dict[str, int] = defaultdict(int)
    cell_n: dict[tuple[str, str], int] = defaultdict(int)
    cell_b: dict[tuple[str, str], int] = defaultdict(int)
    for r in before.iter_rows(named=True):
        if not is_open(r) or r["loan_id"] not in nxt:
            continue
        t = nxt[r["loan_id"]]
        to = (
            "closed" if t["status"] == "closed" and t["principal_outstanding"] <= 0 else t["bucket"]
        )
        n[r["bucket"]] += 1
        b[r["bucket"]] += r["principal_outstanding"]
        cell_n[(r["bucket"], to)] += 1
        cell_b[(r["bucket"], to)] += r["principal_outstanding"]
    for f in BUCKETS:
        for t in got["to_states"]:
            assert got["by_count"][f][t] == ratio(cell_n[(f, t)], n[f])
            assert got["by_balance"][f][t] == ratio(cell_b[(f, t)], b[f])
    # each populated row sums to one (up to the 6-place rounding)
    for f in BUCKETS:
        if n[f]:
            total = sum(Fraction(x) for x in got["by_count"][f].values())
            assert abs(total - 1) <= Fraction(len(got["to_states"]), 10**6)

    flows = kpis.flow_rates(before, after, BUCKETS)
    s0: dict[str, int] = defaultdict(int)
    s1: dict[str, int] = defaultdict(int)
    for r in before.iter_rows(named=True):
        if is_open(r):
            s0[r["bucket"]] += r["principal_outstanding"]
    for r in after.iter_rows(named=True):
        if is_open(r):
            s1[r["bucket"]] += r["principal_outstanding"]
    for a, c in zip(BUCKETS[:-1], BUCKETS[1:], strict=True):
        assert flows[f"{a}->{c}"] == ratio(s1[c], s0[a])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cure_rates_and_migration_agree_with_a_loop(seed: int) -> None:
    before, after = frames(seed)
    got = kpis.cure_rates(before, after, BUCKETS)
    nxt = {r["loan_id"]: r for r in after.iter_rows(named=True)}
    n: dict[str, int] = defaultdict(int)
    cured: dict[str, int] = defaultdict(int)
    restr: dict[str, int] = defaultdict(int)
    for r in before.iter_rows(named=True):
        t = nxt.get(r["loan_id"])
        if not is_open(r) or t is None or r["bucket"] == "M0":
            continue
        n[r["bucket"]] += 1
        ok = (t["status"] == "closed" and t["principal_outstanding"] <= 0) or t[
            "days_past_due"
        ] == 0
        if ok and "restructured_observation" in t["classification_reasons"]:
            restr[r["bucket"]] += 1
        elif ok:
            cured[r["bucket"]] += 1
    for key in BUCKETS[1:]:
        assert got[key]["loans"] == n[key]
        assert got[key]["cure_rate"] == ratio(cured[key], n[key])
        assert got[key]["cured_by_restructuring"] == restr[key]
    mig = kpis.transition_matrix(before, after, "classification", CLASSES)
    assert sum(v["count"] for v in mig["base"].values()) == sum(n.values()) + sum(
        1
        for r in before.iter_rows(named=True)
        if is_open(r) and r["bucket"] == "M0" and r["loan_id"] in nxt
    )


def test_portfolio_agrees_with_summarise_definitions() -> None:
    state, _ = frames(5)
    doc = kpis.portfolio(state, BUCKETS)
    rows = [r for r in state.iter_rows(named=True) if is_open(r)]
    total = sum(r["principal_outstanding"] for r in rows)
    npl = sum(r["principal_outstanding"] for r in rows if r["classification"] in kpis.NPL_CLASSES)
    d90 = sum(r["principal_outstanding"] for r in rows if r["days_past_due"] > 90)
    assert doc["loans"] == len(rows)
    assert doc["npl_ratio"] == ratio(npl, total)
    assert doc["dpd90_ratio"] == ratio(d90, total)
    assert sum(v["count"] for v in doc["buckets"].values()) == len(rows)


def test_vintage_curves_reconcile_to_loan_level_snapshots() -> None:
    rng = random.Random(9)
    loans = []
    states = []
    ends = [date(2025, m, 28) for m in range(1, 13)]
    for i in range(200):
        month = rng.randint(1, 6)
        disb = date(2025, month, rng.randint(1, 27))
        principal = rng.randint(10**5, 10**7)
        loans.append(
            {
                "loan_id": f"L{i}",
                "principal": principal,
                "disbursement_date": disb,
                "product": "consumer",
                "officer_id": "O1",
            }
        )
        dpd = 0
        for d in ends:
            if d < disb:
                continue
            dpd = max(0, dpd + rng.choice([-30, 0, 0, 30]))
            states.append(
                {
                    "loan_id": f"L{i}",
                    "business_date": d,
                    "days_past_due": dpd,
                    "principal_outstanding": principal * rng.randint(50, 100) // 100,
                    "status": "active",
                }
            )
    attrs = kpis.attributes_from_loans(pl.DataFrame(loans))
    table = kpis.vintage_table(pl.DataFrame(states).lazy(), attrs, ends)
    doc = kpis.vintage_document(table)
    by_loan = {r["loan_id"]: r for r in loans}
    orig: dict[str, int] = defaultdict(int)
    for r in loans:
        orig[r["disbursement_date"].strftime("%Y-%m")] += r["principal"]
    pit: dict[tuple[str, int], int] = defaultdict(int)
    ever: dict[tuple[str, int], int] = defaultdict(int)
    seen: set[tuple[str, int]] = set()
    history: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s in states:
        loan = by_loan[s["loan_id"]]
        v = loan["disbursement_date"].strftime("%Y-%m")
        mob = (s["business_date"].year - loan["disbursement_date"].year) * 12 + (
            s["business_date"].month - loan["disbursement_date"].month
        )
        history[s["loan_id"]].append((mob, s["days_past_due"]))
        seen.add((v, mob))
        if s["days_past_due"] >= 30:
            pit[(v, mob)] += s["principal_outstanding"]
    for loan_id, hist in history.items():
        loan = by_loan[loan_id]
        v = loan["disbursement_date"].strftime("%Y-%m")
        for mob, _ in hist:
            if any(d >= 30 for m, d in hist if m <= mob):
                ever[(v, mob)] += loan["principal"]
    for v, mob in seen:
        point = next(p for p in doc[v]["curve"] if p["mob"] == mob)
        assert point["dpd30_pit"] == ratio(pit[(v, mob)], orig[v])
        assert point["dpd30_ever"] == ratio(ever[(v, mob)], orig[v])


def test_ecl_is_pd_times_lgd_times_ead_per_stage() -> None:
    state, _ = frames(11)
    cfg = EclSettings(pd_ppm={1: 20_000, 2: 100_000, 3: PPM}, lgd_ppm=400_000)
    per = loan_ecl(state, cfg)
    doc = ecl_document(per)
    total = 0
    npl = 0
    for r in state.iter_rows(named=True):
        if not is_open(r):
            continue
        ead = r["principal_outstanding"] + r["interest_outstanding"]
        stage = int(r["ifrs9_stage"])
        pd = {1: 20_000, 2: round((1 - (1 - 0.1) ** 2) * PPM), 3: PPM}[stage]
        total += (ead * pd // PPM) * 400_000 // PPM
        if r["classification"] in kpis.NPL_CLASSES:
            npl += r["principal_outstanding"]
    assert doc["_ecl_minor"] == total
    assert doc["coverage"] == ratio(total, npl)


def test_month_ends_and_cut_check() -> None:
    got = kpis.month_ends([date(2026, 1, 5), date(2026, 1, 31), date(2026, 2, 3)])
    assert got == [date(2026, 1, 31), date(2026, 2, 3)]
    from postloan.domain.errors import ValidationError

    with pytest.raises(ValidationError, match="--by must be one of"):
        kpis.check_cut("colour")


def test_flow_rates_from_stored_kpi_rows_equal_the_state_computation() -> None:
    from postloan.batch.steps.kpi import kpi_rows
    from postloan.domain.policy import ServicingPolicy

    before, after = frames(21)
    policy = ServicingPolicy()
    stored = kpis.flow_rates_from_kpi(
        kpi_rows(before, T0, policy), kpi_rows(after, T1, policy), BUCKETS
    )
    assert stored == kpis.flow_rates(before, after, BUCKETS)
    assert kpis.portfolio(after, BUCKETS)["npl_ratio"] == ratio(
        int(
            after.filter(kpis.is_open() & pl.col("classification").is_in(kpis.NPL_CLASSES))[
                "principal_outstanding"
            ].sum()
        ),
        int(after.filter(kpis.is_open())["principal_outstanding"].sum()),
    )


def test_ecl_takes_the_b_score_pd_where_a_loan_has_one() -> None:
    from postloan.analytics.ecl import score_pd

    state, _ = frames(13)
    stage1 = [r for r in state.iter_rows(named=True) if is_open(r) and r["ifrs9_stage"] == 1]
    scored = stage1[0]["loan_id"]
    scores = pl.DataFrame(
        {
            "loan_id": [scored, scored],
            "purpose": ["bscore", "cscore"],
            "probability": [0.25, 0.9],
        }
    )
    cfg = EclSettings()
    per = loan_ecl(state, cfg, score_pd(scores)).filter(pl.col("loan_id") == scored)
    ead = stage1[0]["principal_outstanding"] + stage1[0]["interest_outstanding"]
    assert per["pd_ppm"].item() == 250_000  # the B-score's, not the C-score's or the stage's
    assert per["ecl"].item() == (ead * 250_000 // PPM) * cfg.lgd_ppm // PPM
    assert score_pd(None) is None
    assert EclSettings.from_config({"pd": {1: "0.02"}, "lgd": "0.6"}).pd_ppm[1] == 20_000
