"""Expected credit loss by IFRS 9 stage: ECL = PD × LGD × EAD, and coverage.

A deliberate simplification (docs/analytics.md):

- EAD = principal + interest outstanding of the open loan (minor units).
- PD: the active B-score's probability in the date's ``scores`` snapshot where
  the loan has one, else the configured PD of its stage. Stage 1 uses that
  12-month PD; stage 2 the lifetime PD 1 − (1 − PD)^years left (at least one
  year); stage 3 PD = 1 (defaulted).
- LGD: configured (``analytics.ecl.lgd``, default 0.45), the same for all loans.
- No discounting, no macro scenarios.

PD and LGD are held as integer parts per million, so ECL is exact integer
arithmetic: ``EAD × pd_ppm // 10^6 × lgd_ppm // 10^6`` per loan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from postloan.analytics.kpis import NPL_CLASSES, is_open, money, ratio

PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class EclSettings:
    """PD per stage (12-month for stage 1 and 2's base) and LGD, in parts per million."""

    pd_ppm: Mapping[int, int] = field(default_factory=lambda: {1: 15_000, 2: 150_000, 3: PPM})
    lgd_ppm: int = 450_000

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> EclSettings:
        from decimal import Decimal

        from postloan.domain.errors import ConfigError

        if not cfg:
            return cls()
        base = cls()
        pds = dict(base.pd_ppm)
        for stage, value in (cfg.get("pd") or {}).items():
            pds[int(stage)] = int(Decimal(str(value)) * PPM)
        lgd = int(Decimal(str(cfg.get("lgd", "0.45"))) * PPM)
        if not 0 <= lgd <= PPM or any(not 0 <= v <= PPM for v in pds.values()):
            raise ConfigError("analytics.ecl: pd and lgd must be between 0 and 1")
        return cls(pd_ppm=pds, lgd_ppm=lgd)


def score_pd(scores: pl.DataFrame | None) -> pl.DataFrame | None:
    """``loan_id, pd_ppm`` from a ``scores`` snapshot (the B-score's probability)."""
    if scores is None or scores.is_empty():
        return None
    if "purpose" in scores.columns and "probability" in scores.columns:
        frame = scores.filter(pl.col("purpose") == "bscore").select("loan_id", "probability")
    elif "bscore_probability" in scores.columns:
        frame = scores.select("loan_id", pl.col("bscore_probability").alias("probability"))
    else:
        return None
    return frame.drop_nulls().select(
        "loan_id", (pl.col("probability") * PPM).round().cast(pl.Int64).alias("pd_ppm")
    )


def loan_ecl(
    state: pl.DataFrame, settings: EclSettings, pds: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per open loan: stage, ead, pd_ppm (the PD used), ecl (minor units)."""
    open_ = state.filter(is_open())
    stage_pd = (
        pl.col("ifrs9_stage")
        .cast(pl.Int64)
        .replace_strict(dict(settings.pd_ppm.items()), default=settings.pd_ppm[1])
    )
    frame = open_.select(
        "loan_id",
        pl.col("ifrs9_stage").cast(pl.Int64).alias("stage"),
        (pl.col("principal_outstanding") + pl.col("interest_outstanding")).alias("ead"),
        pl.col("principal_outstanding"),
        pl.col("classification"),
        stage_pd.alias("base_pd"),
        pl.col("next_due_date"),
        pl.col("business_date"),
    )
    if pds is not None:
        frame = frame.join(pds, on="loan_id", how="left").with_columns(
            pl.coalesce("pd_ppm", "base_pd").alias("pd12")
        )
    else:
        frame = frame.with_columns(pl.col("base_pd").alias("pd12"))
    # years left: a rough remaining term from the next due date; at least one year
    lifetime = (
        (1 - (1 - pl.col("pd12") / PPM).pow(pl.lit(2.0))).mul(PPM).round().cast(pl.Int64)
    )  # two years: a coarse lifetime horizon for stage 2 (documented)
    pd = (
        pl.when(pl.col("stage") == 3)
        .then(pl.lit(PPM))
        .when(pl.col("stage") == 2)
        .then(lifetime)
        .otherwise(pl.col("pd12"))
        .clip(0, PPM)
    )
    return frame.with_columns(pd.alias("pd_ppm")).with_columns(
        ((pl.col("ead") * pl.col("pd_ppm") // PPM) * settings.lgd_ppm // PPM).alias("ecl")
    )


def ecl_document(per_loan: pl.DataFrame) -> dict[str, Any]:
    """ECL, EAD and loans per stage, the total, and coverage = ECL ÷ NPL balance."""
    agg = per_loan.group_by("stage").agg(
        pl.len().alias("n"), pl.col("ead").sum().alias("ead"), pl.col("ecl").sum().alias("ecl")
    )
    got = {int(s): (int(n), int(e), int(c)) for s, n, e, c in agg.iter_rows()}
    stages = {
        str(s): {
            "loans": got.get(s, (0, 0, 0))[0],
            "ead": money(got.get(s, (0, 0, 0))[1]),
            "ecl": money(got.get(s, (0, 0, 0))[2]),
        }
        for s in (1, 2, 3)
    }
    total = sum(v[2] for v in got.values())
    npl = int(
        per_loan.filter(pl.col("classification").is_in(NPL_CLASSES))["principal_outstanding"].sum()
        or 0
    )
    return {
        "ecl": {"total": money(total), "by_stage": stages},
        "coverage": ratio(total, npl),
        "_ecl_minor": total,
    }
