"""The alert base (one row per loan: state, features, today's events, transactions
and scores, previous scores) and the SCORE step's populations and reason texts,
with a fake model."""

from __future__ import annotations

from datetime import date

import polars as pl

from postloan.batch.steps.features import compute_features
from postloan.risk.alerts import alert_base, with_previous_scores
from postloan.risk.scoring import SCORE_SCHEMA, population, score_features

D = date(2026, 6, 15)

STATE = pl.DataFrame(
    {
        "loan_id": ["A", "B", "C"],
        "business_date": [D] * 3,
        "status": ["active", "active", "closed"],
        "bucket": ["M0", "M1", "M0"],
        "days_past_due": [0, 12, 0],
        "overdue_since": [None, date(2026, 6, 3), None],
        "principal_outstanding": [9_000, 4_000, 0],
    },
    schema_overrides={"days_past_due": pl.Int32},
)
LOANS = pl.DataFrame(
    {
        "loan_id": ["A", "B", "C"],
        "borrower_id": ["x", "y", "z"],
        "officer_id": ["o1", "o2", "o3"],
        "branch": ["SZ", "GZ", "SZ"],
        "principal": [10_000, 10_000, 10_000],
        "disbursement_date": [date(2026, 1, 3)] * 3,
    }
)
SCHEDULES = pl.DataFrame(
    {
        "loan_id": ["A", "A", "B", "B"],
        "due_date": [date(2026, 6, 3), date(2026, 7, 3), date(2026, 6, 3), date(2026, 7, 3)],
        "principal_due": [900, 900, 900, 900],
        "interest_due": [100, 100, 100, 100],
        "fee_due": [0, 0, 0, 0],
    }
)
TXNS = pl.DataFrame(
    {
        "txn_id": ["t1", "t2", "t3", "t4"],
        "loan_id": ["A", "B", "B", "A"],
        "type": ["failed_debit", "repayment", "repayment", "repayment"],
        "amount": [0, 300, 200, 1_000],
        "value_date": [D, D, D, date(2026, 6, 3)],
        "reverses": [None, None, None, None],
    }
)
EVENTS = pl.DataFrame(
    {"loan_id": ["B"], "business_date": [D], "event_type": ["entered_delinquency"]}
)


def features() -> pl.DataFrame:
    empty = pl.DataFrame(
        schema={"loan_id": pl.Utf8, "business_date": pl.Date, "days_past_due": pl.Int32}
    )
    return compute_features(STATE, LOANS, SCHEDULES, empty, D, transactions=TXNS)


class FakeModel:
    def __init__(self, model_id: str, points: list[int]) -> None:
        self.model_id = model_id
        self.points = points

    def score(self, frame: pl.DataFrame, *, lang: str = "zh-CN") -> pl.DataFrame:
        assert lang == "zh-CN"
        n = frame.height
        return pl.DataFrame(
            {
                "loan_id": frame["loan_id"],
                "probability": [0.1] * n,
                "score": self.points[:n],
                "band": ["C"] * n,
                "reason_1": ["dpd"] * n,
                "reason_2": ["failed_debits_3m"] * n,
                "reason_3": ["no_such_feature"] * n,
                "reason_text_1": ["当前逾期天数"] * n,
                "reason_text_2": ["近3个月扣款失败次数"] * n,
                "reason_text_3": ["?"] * n,
            }
        )


def test_populations_follow_the_purpose() -> None:
    f = features()
    assert population(f, "bscore")["loan_id"].to_list() == ["A", "B"]  # C is closed
    assert population(f, "cscore")["loan_id"].to_list() == ["B"]


def test_scores_have_both_languages_and_one_row_per_purpose() -> None:
    models = {"bscore": FakeModel("b-1", [600, 580]), "cscore": FakeModel("c-1", [510])}
    out = score_features(features(), models, D)
    assert out.schema == pl.Schema(SCORE_SCHEMA)
    assert out.select("loan_id", "purpose", "model_id", "score").rows() == [
        ("A", "bscore", "b-1", 600),
        ("B", "bscore", "b-1", 580),
        ("B", "cscore", "c-1", 510),
    ]
    row = out.row(0, named=True)
    assert row["reason_text_1"] == "当前逾期天数" and row["reason_text_en_1"] == "days past due now"
    assert row["reason_text_en_3"] == "no_such_feature"  # unknown: the name itself
    assert score_features(features(), {}, D).height == 0


def test_alert_base_flags_today_and_score_changes() -> None:
    scores = score_features(features(), {"bscore": FakeModel("b-1", [600, 580])}, D)
    base = alert_base(STATE, features(), LOANS, D, events=EVENTS, transactions=TXNS, scores=scores)
    before = scores.with_columns(pl.col("score") + 50, pl.lit("A").alias("band"))
    base = with_previous_scores(base, before)
    rows = {r["loan_id"]: r for r in base.to_dicts()}
    a, b = rows["A"], rows["B"]
    assert (a["failed_debit_today"], a["paid_today"], a["partial_payment_today"]) == (
        True,
        False,
        False,
    )
    # B paid 500 today, less than 90% of its 1,000 instalment
    assert (b["paid_today"], b["partial_payment_today"], b["entered_delinquency"]) == (
        True,
        True,
        True,
    )
    assert (a["bscore_score"], a["bscore_score_prev"], a["bscore_score_change"]) == (600, 650, -50)
    assert (a["bscore_band"], a["bscore_band_prev"]) == ("C", "A")
    assert a["cscore_score"] is None and rows["C"]["bscore_score"] is None
    assert (a["officer_id"], a["branch"], b["dpd"]) == ("o1", "SZ", 12)


def test_alert_base_without_features_or_scores() -> None:
    base = with_previous_scores(alert_base(STATE, None, LOANS, D), None)
    assert base.height == 3
    assert base["max_dpd_12m"].null_count() == 3 and base["bscore_score_change"].null_count() == 3
    assert base["dpd"].to_list() == [0, 12, 0]
