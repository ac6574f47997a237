"""The modelling engine on synthetic loans where max_dpd_12m drives the risk."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.domain.errors import ValidationError
from postloan.risk.metrics import PSI_WATCH, calibration_table, evaluate, psi, psi_band
from postloan.risk.models import TrainedModel, train
from postloan.risk.reasons import reason_text, top_drivers


def synthetic(n: int = 6000, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dpd = rng.choice([0, 0, 0, 0, 0, 3, 10, 25, 45, 80], size=n)
    util = rng.uniform(0, 1, n)
    product = rng.choice(["consumer", "credit_line", "sme"], n)
    logit = -3.5 + 0.045 * dpd + 1.2 * util + (product == "sme") * 0.6
    bad = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    return pl.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(n)],
            "max_dpd_12m": dpd,
            "utilisation": util,
            "noise": rng.normal(size=n),
            "product": product,
            "bad": bad,
        }
    )


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return synthetic()


@pytest.fixture(scope="module")
def lgbm(data: pl.DataFrame) -> TrainedModel:
    return train(data, "bad", kind="lgbm", purpose="bscore", monotone={"max_dpd_12m": 1})


@pytest.fixture(scope="module")
def card(data: pl.DataFrame) -> TrainedModel:
    return train(data, "bad", kind="scorecard", purpose="bscore", monotone={"max_dpd_12m": 1})


def twins(data: pl.DataFrame) -> pl.DataFrame:
    """Two loans that differ only in max_dpd_12m (0 and 80 days)."""
    base = data.filter(pl.col("max_dpd_12m") == 0).head(1)
    return pl.concat([base, base.with_columns(pl.lit(80, dtype=pl.Int64).alias("max_dpd_12m"))])


@pytest.mark.parametrize("which", ["lgbm", "card"])
def test_higher_max_dpd_is_named_first(which: str, request: pytest.FixtureRequest) -> None:
    model: TrainedModel = request.getfixturevalue(which)
    pair = twins(request.getfixturevalue("data"))
    scored = model.score(pair, lang="en")
    assert scored["probability"][1] > scored["probability"][0]
    assert scored["score"][1] < scored["score"][0]
    assert scored["reason_1"][1] == "max_dpd_12m"
    # the sentence comes from the one text registry (the feature registry may refine it)
    assert scored["reason_text_1"][1] == reason_text("max_dpd_12m", "en")
    assert "12 months" in scored["reason_text_1"][1]
    assert scored["reason_1"][0] != "max_dpd_12m"
    zh = model.score(pair)
    assert zh["reason_text_1"][1] == reason_text("max_dpd_12m", "zh-CN")
    assert "12" in zh["reason_text_1"][1]


def test_exact_shap_names_the_same_driver(lgbm: TrainedModel, data: pl.DataFrame) -> None:
    scored = lgbm.score(twins(data), reasons="shap")
    assert scored["reason_1"][1] == "max_dpd_12m"


def test_path_attributions_add_up_to_the_raw_score(lgbm: TrainedModel, data: pl.DataFrame) -> None:
    X = lgbm.matrix(data.head(500))
    raw, contrib = lgbm.engine.explain(X, "path")
    assert np.allclose(raw, lgbm.engine.raw(X))
    bias = sum(t.bias for t in lgbm.engine.trees)  # type: ignore[union-attr]
    assert np.allclose(contrib.sum(axis=1) + bias, raw)


@pytest.mark.parametrize("which", ["lgbm", "card"])
def test_score_frame_contract(which: str, request: pytest.FixtureRequest) -> None:
    model: TrainedModel = request.getfixturevalue(which)
    data: pl.DataFrame = request.getfixturevalue("data")
    scored = model.score(data)
    assert scored.columns == [
        "loan_id", "probability", "score", "band",
        "reason_1", "reason_2", "reason_3",
        "reason_text_1", "reason_text_2", "reason_text_3",
    ]  # fmt: skip
    assert scored.schema["probability"] == pl.Float64
    assert scored.schema["score"] == pl.Int32
    assert set(scored["band"].unique()) <= set("ABCDE")
    p = scored["probability"].to_numpy()
    assert ((p > 0) & (p < 1)).all()
    assert np.allclose(p, model.predict_proba(data))
    assert scored["loan_id"].to_list() == data["loan_id"].to_list()
    # Higher probability never gets more points or a better band.
    order = np.argsort(p, kind="stable")
    assert (np.diff(scored["band"].to_numpy()[order].astype("U1").view(np.int32)) >= 0).all()
    auc = model.metrics["train"]["auc"]
    assert auc > 0.75


def test_lgbm_points_follow_base_and_pdo(lgbm: TrainedModel) -> None:
    p = np.array([1 / 51, 1 / 101, 0.5])
    pts = lgbm.points_of(p)
    assert pts[0] == pytest.approx(600)  # odds 50:1 → base points
    assert pts[1] - pts[0] == pytest.approx(20, abs=0.5)  # odds doubled → + PDO
    assert pts[2] == pytest.approx(600 - 20 * math.log2(50))


def test_scorecard_points_match_its_probability(card: TrainedModel, data: pl.DataFrame) -> None:
    scored = card.score(data)
    transform = card.points_of(scored["probability"].to_numpy())
    assert np.abs(scored["score"].to_numpy() - transform).max() <= 1.0


def test_scorecard_respects_the_monotone_direction(card: TrainedModel) -> None:
    spec = card.engine.bins[card.features.index("max_dpd_12m")]  # type: ignore[union-attr]
    regular = spec["points"][:-1]
    assert len(regular) >= 2
    assert all(a >= b for a, b in zip(regular, regular[1:], strict=False))


def test_training_is_deterministic(data: pl.DataFrame, lgbm: TrainedModel) -> None:
    again = train(data, "bad", kind="lgbm", purpose="bscore", monotone={"max_dpd_12m": 1})
    assert np.array_equal(again.predict_proba(data), lgbm.predict_proba(data))


def test_lgbm_monotone_in_max_dpd(lgbm: TrainedModel, data: pl.DataFrame) -> None:
    row = data.head(1)
    grid = pl.concat(
        [row.with_columns(pl.lit(d, dtype=pl.Int64).alias("max_dpd_12m")) for d in range(0, 120, 5)]
    )
    p = lgbm.predict_proba(grid)
    assert (np.diff(p) >= -1e-12).all()


def test_unseen_category_and_missing_values_score(
    lgbm: TrainedModel, card: TrainedModel, data: pl.DataFrame
) -> None:
    odd = data.head(2).with_columns(
        pl.Series("product", ["mortgage", None]), pl.lit(None).cast(pl.Float64).alias("noise")
    )
    for model in (lgbm, card):
        p = model.predict_proba(odd)
        assert np.isfinite(p).all()


def test_a_missing_feature_column_is_a_clear_error(lgbm: TrainedModel, data: pl.DataFrame) -> None:
    with pytest.raises(ValidationError, match="no column 'utilisation'"):
        lgbm.score(data.drop("utilisation"))


def test_one_class_target_is_refused(data: pl.DataFrame) -> None:
    with pytest.raises(ValidationError, match="one class"):
        train(data.with_columns(pl.lit(False).alias("bad")), "bad")


@given(
    st.lists(
        st.lists(st.floats(-5, 5, width=32) | st.just(float("nan")), min_size=4, max_size=4),
        min_size=1,
        max_size=20,
    )
)
def test_top_drivers_are_the_largest_positive_in_order(rows: list[list[float]]) -> None:
    drivers = np.array(rows, dtype=np.float64)
    got = top_drivers(drivers)
    for row, picked in zip(drivers, got, strict=True):
        clean = np.nan_to_num(row.astype(np.float32), nan=0.0)
        ranked = sorted((i for i in range(4) if clean[i] > 0), key=lambda i: (-clean[i], i))
        want = (ranked + [-1, -1, -1])[:3]
        assert picked.tolist() == want


def test_psi_bands_and_calibration_table() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=20_000)
    assert psi(base, rng.normal(size=20_000)) < PSI_WATCH
    assert psi_band(psi(base, rng.normal(0.45, 1, 20_000))) == "watch"
    assert psi_band(psi(base, rng.normal(1.0, 1, 20_000))) == "shift"
    p = rng.uniform(0, 1, 10_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    table = calibration_table(y, p)
    assert table.height == 10 and table["count"].sum() == 10_000
    assert np.allclose(table["predicted"], table["observed"], atol=0.05)
    m = evaluate(y, p)
    assert 0.7 < m.auc < 0.9 and m.gini == pytest.approx(2 * m.auc - 1)
    assert evaluate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]).ks == 1.0
