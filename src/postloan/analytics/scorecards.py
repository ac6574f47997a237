"""Officer and collector scorecards: rewards follow loan quality and results, not volume.

Officer (docs/analytics.md): for MOB m in (6, 12), a loan *matured* to m has an
observed outcome ``bad_m`` = ever ≥ 30 DPD on a month-end at MOB ≤ m. Its
expected outcome is the bad rate of its segment (product × region × channel)
over the whole book's matured loans — or the PD given for it (e.g. the first
B-score). O/E = Σ observed ÷ Σ expected over the officer's matured loans.
Small books are shrunk towards 1 (the book average) with Bühlmann credibility
Z = n ÷ (n + k). The incentive multiplier is a clipped linear function of the
credible O/E: an officer exactly at expectation gets 1.0 whatever their volume,
so originating more loans of the same quality earns nothing by itself.

Ratios are computed exactly (``Fraction``) and rendered as decimal strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import polars as pl

from postloan.analytics.kpis import attributes_from_loans, money

SEGMENT = ("product", "region", "channel")


def dec(value: Fraction | None) -> str | None:
    """A Fraction as a decimal string rounded half-up to 6 places."""
    if value is None:
        return None
    from decimal import ROUND_HALF_UP, Decimal

    q = Decimal(value.numerator) / Decimal(value.denominator)
    return str(q.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class IncentiveFormula:
    """multiplier = clip(1 + slope × (1 − credible O/E), floor, cap); volume is reported,
    never multiplied in. Configurable under ``analytics.incentive`` in config.yaml."""

    slope: Fraction = Fraction(1)
    floor: Fraction = Fraction(1, 2)
    cap: Fraction = Fraction(3, 2)
    credibility_k: int = 200
    mob_weights: Mapping[int, Fraction] | None = None  # default: MOB 12 if observed, else 6
    bad_dpd: int = 30

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> IncentiveFormula:
        from postloan.domain.errors import ConfigError

        if not cfg:
            return cls()
        try:
            out = cls(
                slope=Fraction(str(cfg.get("slope", 1))),
                floor=Fraction(str(cfg.get("floor", "0.5"))),
                cap=Fraction(str(cfg.get("cap", "1.5"))),
                credibility_k=int(cfg.get("credibility_k", 200)),
                bad_dpd=int(cfg.get("bad_dpd", 30)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"analytics.incentive: {exc}") from exc
        if out.floor > out.cap or out.credibility_k < 0:
            raise ConfigError("analytics.incentive: need floor <= cap and credibility_k >= 0")
        return out

    def multiplier(self, credible_oe: Fraction) -> Fraction:
        return min(self.cap, max(self.floor, 1 + self.slope * (1 - credible_oe)))


def matured_outcomes(
    attrs: pl.LazyFrame, perf: pl.LazyFrame, mobs: Sequence[int], bad_dpd: int
) -> pl.DataFrame:
    """Per loan and MOB m it has reached (a month-end at MOB ≥ m observed):
    ``bad`` = ever ≥ ``bad_dpd`` at MOB ≤ m."""
    frame = (
        perf.select("loan_id", "business_date", "days_past_due")
        .join(attrs.select("loan_id", "disbursed"), on="loan_id")
        .with_columns(
            mob=(
                (pl.col("business_date").dt.year() - pl.col("disbursed").dt.year()) * 12
                + pl.col("business_date").dt.month()
                - pl.col("disbursed").dt.month()
            ).cast(pl.Int32)
        )
    )
    parts = []
    for m in mobs:
        parts.append(
            frame.group_by("loan_id")
            .agg(
                pl.col("mob").max().alias("last_mob"),
                ((pl.col("days_past_due") >= bad_dpd) & (pl.col("mob") <= m)).any().alias("bad"),
            )
            .filter(pl.col("last_mob") >= m)
            .select("loan_id", pl.lit(m, pl.Int32).alias("mob_m"), pl.col("bad"))
        )
    return pl.concat(parts).collect()


def officer_scorecard(
    loans: pl.DataFrame | pl.LazyFrame,
    perf: pl.DataFrame | pl.LazyFrame,
    formula: IncentiveFormula | None = None,
    *,
    mobs: Sequence[int] = (6, 12),
    expected_pd: pl.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The officer league table, best first (lowest credible O/E).

    ``loans``: a book loans frame (loan_id, officer_id, product, region, channel,
    disbursement_date, principal); ``perf``: month-end states (loan_id,
    business_date, days_past_due). ``expected_pd`` (loan_id, pd as Float64) replaces
    the segment rate as the expected outcome where given.
    """
    f = formula or IncentiveFormula()
    attrs = attributes_from_loans(loans)
    out = matured_outcomes(attrs, perf.lazy(), mobs, f.bad_dpd).join(
        attrs.select(
            "loan_id", "officer", *(pl.col(c).fill_null("(none)") for c in SEGMENT)
        ).collect(),
        on="loan_id",
    )
    volume = (
        attrs.group_by("officer")
        .agg(pl.len().alias("loans"), pl.col("originated").sum().alias("originated"))
        .collect()
    )
    seg = out.group_by("mob_m", *SEGMENT).agg(
        pl.len().alias("seg_n"), pl.col("bad").sum().alias("seg_bad")
    )
    cell = out.group_by("officer", "mob_m", *SEGMENT).agg(
        pl.len().alias("n"), pl.col("bad").sum().alias("bad")
    )
    joined = cell.join(seg, on=["mob_m", *SEGMENT])
    observed: dict[tuple[str, int], list[Fraction]] = {}
    for r in joined.iter_rows(named=True):
        key = (r["officer"], int(r["mob_m"]))
        o, e, n = observed.setdefault(key, [Fraction(0), Fraction(0), Fraction(0)])
        observed[key] = [
            o + r["bad"],
            e + Fraction(int(r["n"]) * int(r["seg_bad"]), int(r["seg_n"])),
            n + r["n"],
        ]
    if expected_pd is not None:
        pds = (
            out.join(expected_pd, on="loan_id")
            .group_by("officer", "mob_m")
            .agg(pl.col("pd").sum().alias("e"))
        )
        for officer, m, e in pds.iter_rows():
            if (officer, int(m)) in observed:
                observed[(officer, int(m))][1] = Fraction(str(round(e, 9)))
    rows = []
    for officer, loans_n, originated in volume.iter_rows():
        row: dict[str, Any] = {
            "officer": officer,
            "loans": int(loans_n),
            "originated": money(int(originated)),
        }
        credible: Fraction | None = None
        for m in mobs:
            o, e, n = observed.get((officer, m), [Fraction(0)] * 3)
            oe = o / e if e else None
            z = Fraction(int(n), int(n) + f.credibility_k) if n else Fraction(0)
            c = z * (oe if oe is not None else Fraction(1)) + (1 - z)
            row[f"mob{m}"] = {
                "matured": int(n),
                "observed": int(o),
                "expected": dec(e),
                "o_e": dec(oe),
                "credibility": dec(z),
                "credible_o_e": dec(c),
            }
            if n:
                credible = c  # the longest observed horizon wins
        credible = credible if credible is not None else Fraction(1)
        row["credible_o_e"] = dec(credible)
        row["bonus_multiplier"] = dec(f.multiplier(credible))
        row["_rank_key"] = credible
        rows.append(row)
    rows.sort(key=lambda r: (r["_rank_key"], r["officer"] or ""))
    for rank, row in enumerate(rows, 1):
        row.pop("_rank_key")
        row["rank"] = rank
    return rows
