"""The SCORE step: every active model scores today's features; scores and reasons
are kept per loan and date (snapshot table ``scores`` and the ``loan_scores`` table).

Which loans a purpose scores: the B-scores (``bscore``, ``bscore180``) the open
loans that perform (DPD 0–29), the C-score (``cscore``) the open delinquent ones
(DPD > 0) — the populations the models were trained on
(``postloan.risk.datasets``). No active model for a purpose → no rows (not an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl
from sqlalchemy import Connection

from postloan.risk.features_doc import feature_texts
from postloan.store.bulk import upsert

if TYPE_CHECKING:
    from postloan.batch.steps import CommitContext, StepContext
    from postloan.config import Settings

PURPOSES = ("bscore", "bscore180", "cscore")


class Scorer(Protocol):
    """What scoring needs of a model (``postloan.risk.models.TrainedModel``)."""

    model_id: str | None

    def score(self, frame: pl.DataFrame, *, lang: str = "zh-CN") -> pl.DataFrame: ...


SCORE_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "business_date": pl.Date(),
    "purpose": pl.Utf8(),
    "model_id": pl.Utf8(),
    "probability": pl.Float64(),
    "score": pl.Int32(),
    "band": pl.Utf8(),
    **{f"reason_{i}": pl.Utf8() for i in (1, 2, 3)},
    **{f"reason_text_{i}": pl.Utf8() for i in (1, 2, 3)},
    **{f"reason_text_en_{i}": pl.Utf8() for i in (1, 2, 3)},
}


#: What makes a stored score row new: a change in any of these (probability follows score).
CHANGE_KEY = ("loan_id", "purpose", "model_id", "score", "band", "reason_1", "reason_2", "reason_3")


def population(features: pl.DataFrame, purpose: str) -> pl.DataFrame:
    """The loans ``purpose`` scores (see the module docstring)."""
    open_ = pl.col("principal_outstanding") > 0
    if purpose == "cscore":
        return features.filter(open_ & (pl.col("dpd") > 0))
    return features.filter(open_ & (pl.col("dpd") < 30))


def score_features(
    features: pl.DataFrame, models: Mapping[str, Scorer], business_date: date
) -> pl.DataFrame:
    """Score ``features`` (the FEATURES frame) with each purpose's model:
    :data:`SCORE_SCHEMA` rows, reason texts in zh-CN and en."""
    en = {name: t["en"] for name, t in feature_texts().items()}
    pieces = []
    for purpose, model in models.items():
        rows = population(features, purpose)
        if rows.height == 0:
            continue
        scored = model.score(rows, lang="zh-CN")
        if "loan_id" not in scored.columns:
            scored = scored.with_columns(rows["loan_id"])
        pieces.append(
            scored.select(
                pl.col("loan_id"),
                pl.lit(business_date, dtype=pl.Date).alias("business_date"),
                pl.lit(purpose).alias("purpose"),
                pl.lit(model.model_id or purpose).alias("model_id"),
                pl.col("probability"),
                pl.col("score"),
                pl.col("band"),
                *(pl.col(f"reason_{i}") for i in (1, 2, 3)),
                *(pl.col(f"reason_text_{i}") for i in (1, 2, 3)),
                *(
                    pl.col(f"reason_{i}")
                    .replace_strict(en, default=pl.col(f"reason_{i}"), return_dtype=pl.Utf8)
                    .alias(f"reason_text_en_{i}")
                    for i in (1, 2, 3)
                ),
            ).cast(pl.Schema(SCORE_SCHEMA))
        )
    if not pieces:
        return pl.DataFrame(schema=SCORE_SCHEMA)
    return pl.concat(pieces, how="vertical").sort("loan_id", "purpose")


def active_models(settings: Settings) -> dict[str, Scorer]:
    """The active model of each purpose that has one."""
    if not (settings.models_dir / "active.json").exists():
        return {}  # nothing activated: skip importing the modelling engine (seconds)
    try:
        from postloan.risk import registry
    except ImportError:  # the modelling engine is not installed
        return {}
    from postloan.risk.features_doc import register_texts

    register_texts()
    found: dict[str, Scorer] = {}
    for purpose in PURPOSES:
        model = registry.active(settings, purpose)
        if model is not None:
            found[purpose] = model
    return found


def step_settings(ctx: StepContext) -> Settings:
    """The settings of the running close of business (the process's when the step
    context does not carry them)."""
    settings: Any = getattr(ctx, "settings", None)
    if settings is None:
        from postloan.config import load_settings

        settings = load_settings()
    return settings  # type: ignore[no-any-return]


def run_step(ctx: StepContext) -> None:
    """SCORE (partition): frame ``scores`` from ``features`` and the active models."""
    models = active_models(step_settings(ctx))
    ctx.frames["scores"] = score_features(ctx.frames["features"], models, ctx.business_date)


def previous_scores(settings: Settings, business_date: date) -> pl.DataFrame | None:
    """The latest ``scores`` snapshot before ``business_date`` (within 35 days), if any."""
    from postloan.store.snapshots import SnapshotStore

    snaps = SnapshotStore(settings.snapshot_dir)
    earlier = [
        d for d in snaps.dates("scores") if business_date - timedelta(days=35) <= d < business_date
    ]
    return snaps.read("scores", earlier[-1]) if earlier else None


def changed_scores(scores: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """The rows of ``scores`` whose model, score, band or reasons differ from the
    previous scoring of the same loan and purpose (all rows when there is none)."""
    if previous is None or previous.height == 0:
        return scores
    return scores.join(
        previous.select(CHANGE_KEY), on=list(CHANGE_KEY), how="anti", nulls_equal=True
    )


def commit_step(conn: Connection, ctx: CommitContext) -> None:
    """SCORE (commit): upsert into ``loan_scores`` the scores that changed since the
    previous scoring (the ``scores`` snapshot keeps every loan every day), then record
    each active model's monitoring (``postloan.risk.monitoring_step``)."""
    scores = ctx.frames.get("scores")
    if scores is None or scores.height == 0:
        return
    fresh = changed_scores(scores, previous_scores(ctx.settings, ctx.business_date))
    upsert(conn, "loan_scores", fresh, ["loan_id", "business_date", "purpose"])
    monitored = {p: m for p, m in active_models(ctx.settings).items() if _monitorable(m)}
    if monitored:
        from postloan.risk.monitoring_step import commit_monitoring

        ctx.snapshot_ready("loan_state")  # the outcomes scan reads the date's states
        commit_monitoring(conn, ctx, monitored)  # type: ignore[arg-type]


def _monitorable(model: Scorer) -> bool:
    """A registered model with its training-sample bins (a stand-in scorer has none)."""
    return bool(getattr(model, "reference", None)) and hasattr(model, "matrix")


def score_as_of(conn: Connection, loan_id: str, purpose: str, on: date) -> dict[str, Any] | None:
    """The score of ``loan_id`` for ``purpose`` in force on ``on`` (the latest stored
    row up to that date), with its reasons; None when the loan was never scored."""
    from sqlalchemy import select

    from postloan.store.tables_risk import LoanScore

    row = (
        conn.execute(
            select(LoanScore.__table__)
            .where(
                LoanScore.loan_id == loan_id,
                LoanScore.purpose == purpose,
                LoanScore.business_date <= on,
            )
            .order_by(LoanScore.business_date.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
