"""Champion / challenger: one book under several strategies, with common random numbers.

Each configuration is simulated with the same seed, so the borrowers, their latent
risk paths, the macro shocks and every uniform draw are the same; only the
strategy's effects differ. Outcomes are measured on the final month.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from postloan.sim.config import SimConfig
from postloan.sim.metrics import _pairs, over90_ratio
from postloan.sim.runner import SimResult, simulate

__all__ = ["compare", "outcomes"]


def outcomes(result: SimResult) -> dict[str, float]:
    """90+ DPD ratio (last month), cure rate, money recovered from delinquent loans, cost."""
    m = result.monthly
    last = result.months - 1
    pairs = _pairs(m).filter(pl.col("bucket") != "M0")
    cure = float((pairs["next"] == "M0").sum() / pairs.height) if pairs.height else 0.0
    delinquent = m.select(
        "loan_id", pl.col("month_index") + 1, (pl.col("dpd") > 0).alias("was_late")
    )
    paid = m.join(delinquent, on=["loan_id", "month_index"], how="inner").filter("was_late")
    lit = int(result.transactions.filter(pl.col("channel") == "litigation")["amount"].sum())
    return {
        "90+ DPD ratio (last month)": over90_ratio(m, last),
        "cure rate (monthly, delinquent → current)": cure,
        "recovered from delinquent loans (CNY)": int(paid["paid"].sum()) / 100,
        "of which litigation (CNY)": lit / 100,
        "contact & treatment cost (CNY)": int(m["contact_cost"].sum()) / 100,
        "restructurings accepted": float(result.loan_marks.height),
    }


def compare(
    configs: Mapping[str, SimConfig], *, loans: int, months: int, seed: int
) -> dict[str, dict[str, str]]:
    """Formatted outcomes per strategy name (in the order given)."""
    table: dict[str, dict[str, str]] = {}
    for name, cfg in configs.items():
        label = f"{name} ({cfg.strategy_name})"
        res = outcomes(simulate(cfg, loans=loans, months=months, seed=seed))
        table[label] = {k: _fmt(k, v) for k, v in res.items()}
    return table


def _fmt(key: str, value: float) -> str:
    if "ratio" in key or "rate" in key:
        return f"{value:.2%}"
    if "CNY" in key:
        return f"{value:,.0f}"
    return f"{value:,.0f}"
