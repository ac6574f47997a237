"""Realism figures and plots of the portfolio simulator (for docs/simulator.md).

    .venv/bin/python benchmarks/sim_realism.py --loans 20000 --months 24 --seed 1

Prints a Markdown table of the measured figures and writes PNGs to docs/img/.
Every figure comes from the simulator's own month-end arrears (sim_monthly) and
its oracle (truth); see postloan.sim.metrics for the definitions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from postloan.sim import SimConfig, SimResult, simulate  # noqa: E402
from postloan.sim import metrics as m  # noqa: E402
from postloan.sim.compare import outcomes  # noqa: E402

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
BUCKETS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]


def ratio_series(res: SimResult, dpd: int) -> list[float]:
    out = []
    for t in range(res.months):
        x = res.monthly.filter((pl.col("month_index") == t) & ~pl.col("closed"))
        gross = x["principal_outstanding"].sum()
        out.append(
            x.filter(pl.col("dpd") > dpd)["principal_outstanding"].sum() / gross if gross else 0
        )
    return out


def realised(res: SimResult, horizon: int, column: str) -> pl.DataFrame:
    mon = res.monthly.filter(~pl.col("closed"))
    state = mon.select("loan_id", "as_of", "month_index", "dpd")
    rows = res.truth.join(state, on=["loan_id", "as_of"]).filter(
        (pl.col("month_index") <= res.months - 1 - horizon) & (pl.col("dpd") <= 90)
    )
    fut = mon.select("loan_id", pl.col("month_index").alias("f"), (pl.col("dpd") > 90).alias("bad"))
    hits = (
        rows.select("loan_id", "month_index")
        .join(fut, on="loan_id")
        .filter(
            (pl.col("f") > pl.col("month_index")) & (pl.col("f") <= pl.col("month_index") + horizon)
        )
        .group_by("loan_id", "month_index")
        .agg(pl.col("bad").any())
    )
    rows = rows.join(hits, on=["loan_id", "month_index"], how="left").with_columns(
        pl.col("bad").fill_null(False)
    )
    return rows.select(pl.col(column).alias("pd"), "bad")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    cfg = SimConfig.default()
    res = simulate(cfg, loans=args.loans, months=args.months, seed=args.seed)
    shocked_cfg = cfg.with_overrides(
        {"macro": {"shocks": [{"region": "CN-44", "from_month": 9, "size": 0.8}]}}
    )
    shocked = simulate(shocked_cfg, loans=args.loans, months=args.months, seed=args.seed)

    over90, over30 = ratio_series(res, 90), ratio_series(res, 30)
    cures = m.cure_rates(res.monthly)
    rolls = m.roll_matrix(res.monthly)
    cal90 = realised(res, 3, "pd_90dpd_90d")
    cal180 = realised(res, 6, "pd_90dpd_180d")
    late = cal180.filter(pl.col("pd") > 0.02)
    out = outcomes(res)
    vint = m.vintage_30plus(res.monthly, res.loans)
    own = vint.filter(pl.col("cohort") >= str(cfg["calendar"]["start_month"]))

    def ever(mob: int) -> float:
        return float(own.filter(pl.col("mob") == mob)["ever_30plus"].mean() or 0.0)

    def pit(mob: int) -> float:
        return float(own.filter(pl.col("mob") == mob)["rate_30plus"].mean() or 0.0)

    rows = [
        ("90+ DPD ratio, month 12", f"{over90[12]:.2%}"),
        (f"90+ DPD ratio, month {args.months - 1}", f"{over90[-1]:.2%}"),
        ("30+ DPD ratio, month 12", f"{over30[12]:.2%}"),
        ("roll M0→M1 (monthly, by count)", f"{m.roll_rate(res.monthly, 'M0', 'M1'):.2%}"),
        ("roll M1→M2", f"{m.roll_rate(res.monthly, 'M1', 'M2'):.1%}"),
        ("roll M2→M3", f"{m.roll_rate(res.monthly, 'M2', 'M3'):.1%}"),
        ("roll M3→M4", f"{m.roll_rate(res.monthly, 'M3', 'M4'):.1%}"),
        *(
            (f"cure rate {b} (next month current)", f"{cures[b]:.1%}")
            for b in BUCKETS[1:6]
            if b in cures
        ),
        ("ever 30+@MOB6 (window cohorts, mean)", f"{ever(6):.2%}"),
        ("ever 30+@MOB12 (window cohorts, mean)", f"{ever(12):.2%}"),
        ("30+@MOB12 point in time (window cohorts, mean)", f"{pit(12):.2%}"),
        (
            "oracle pd_90dpd_90d: predicted vs realised hits",
            f"{cal90['pd'].sum():.0f} vs {cal90['bad'].sum()}",
        ),
        (
            "oracle pd_90dpd_180d: predicted vs realised hits",
            f"{cal180['pd'].sum():.0f} vs {cal180['bad'].sum()}",
        ),
        (
            "oracle pd_90dpd_180d > 2%: predicted vs realised",
            f"{late['pd'].sum():.0f} vs {late['bad'].sum()}",
        ),
        ("litigation recoveries (CNY)", f"{out['of which litigation (CNY)']:,.0f}"),
        ("restructurings accepted", f"{out['restructurings accepted']:,.0f}"),
    ]
    print(f"| figure ({args.loans:,} loans, {args.months} months, seed {args.seed}) | measured |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")

    months = np.arange(args.months)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(months, np.array(over90) * 100, label="90+ DPD ratio")
    ax.plot(months, np.array(over30) * 100, label="30+ DPD ratio")
    reg = [
        shocked.monthly.filter(
            (pl.col("month_index") == t)
            & ~pl.col("closed")
            & pl.col("loan_id").is_in(
                shocked.loans.filter(pl.col("region") == "CN-44")["loan_id"].implode()
            )
        )
        for t in range(args.months)
    ]
    shock90 = [
        (
            x.filter(pl.col("dpd") > 90)["principal_outstanding"].sum()
            / max(x["principal_outstanding"].sum(), 1)
        )
        for x in reg
    ]
    ax.plot(months, np.array(shock90) * 100, "--", label="90+ in CN-44, shock +0.8 from month 9")
    ax.set_xlabel("month")
    ax.set_ylabel("% of gross principal of open loans")
    ax.set_title("Delinquency ratios by month")
    ax.legend()
    fig.tight_layout()
    fig.savefig(IMG / "sim_ratios.png", dpi=110)

    fig, ax = plt.subplots(figsize=(7, 4))
    start = str(cfg["calendar"]["start_month"])
    window = sorted(c for c in vint["cohort"].unique() if c >= start)
    for cohort in window[:12:2]:
        c = vint.filter(pl.col("cohort") == cohort)
        (line,) = ax.plot(c["mob"], c["ever_30plus"] * 100, label=f"{cohort} ever")
        ax.plot(c["mob"], c["rate_30plus"] * 100, ":", color=line.get_color())
    ax.set_xlabel("months on book")
    ax.set_ylabel("% of originated principal")
    ax.set_title("Vintage curves: ever 30+@MOB (solid), point in time (dotted)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(IMG / "sim_vintage.png", dpi=110)

    nxt = [*BUCKETS, "WO"]
    mat = np.zeros((8, 9))
    for r in rolls.iter_rows(named=True):
        mat[BUCKETS.index(r["bucket"]), nxt.index(r["next"])] = r["share"]
    fig, ax = plt.subplots(figsize=(6.5, 5))
    im = ax.imshow(mat, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(9), nxt)
    ax.set_yticks(range(8), BUCKETS)
    for i in range(8):
        for j in range(9):
            if mat[i, j] >= 0.005:
                ax.text(
                    j,
                    i,
                    f"{mat[i, j]:.0%}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if mat[i, j] > 0.5 else "black",
                )
    ax.set_xlabel("bucket next month")
    ax.set_ylabel("bucket this month")
    ax.set_title("Roll-rate matrix (by count)")
    fig.colorbar(im)
    fig.tight_layout()
    fig.savefig(IMG / "sim_rolls.png", dpi=110)

    fig, ax = plt.subplots(figsize=(5, 5))
    for frame, label in ((cal90, "90 days"), (cal180, "180 days")):
        f = (
            frame.filter(pl.col("pd") > 0)
            .sort("pd")
            .with_columns((pl.int_range(pl.len()) * 10 // pl.len()).alias("decile"))
        )
        g = f.group_by("decile").agg(pl.col("pd").mean(), pl.col("bad").mean()).sort("decile")
        ax.plot(g["pd"], g["bad"], "o-", label=f"within {label}")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("oracle probability (decile mean)")
    ax.set_ylabel("realised share reaching 90+ DPD")
    ax.set_title("Oracle calibration")
    ax.legend()
    fig.tight_layout()
    fig.savefig(IMG / "sim_calibration.png", dpi=110)


if __name__ == "__main__":
    main()
