"""Strategy evaluation: postloan's default collections strategy against a "manual" baseline.

The baseline acts only after a 10-day review lag and sends no pre-due reminders.
Both are translated into the simulator's strategy parameters (``postloan.sim``,
docs/simulator.md) and run on the same book with the same seed (common random
numbers), so every difference comes from the simulator's documented response
parameters (``treatment:`` in ``sim/default_config.yaml``), never from numbers
written here. Writes ``docs/strategy-evaluation.md``.

    .venv/bin/python benchmarks/strategy_evaluation.py --loans 20000 --months 18 --seed 1
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from postloan.collections.strategy import Segment, Strategy, parse_strategy
from postloan.collections.strategy_io import default_text
from postloan.sim import load_config, simulate
from postloan.sim.compare import outcomes
from postloan.sim.metrics import _pairs
from postloan.sim.runner import SimResult

REVIEW_LAG_DAYS = 10
OVER_90 = ("M4", "M5", "M6", "M7+", "WO")
DOC = Path(__file__).resolve().parents[1] / "docs" / "strategy-evaluation.md"


def _catch_all(strategy: Strategy) -> Segment:
    """The segment a typical newly delinquent loan falls into: the last (highest priority
    number) one that takes M1 without other conditions."""
    plain = [
        s
        for s in strategy.segments
        if s.buckets is not None
        and "M1" in s.buckets
        and not (s.score_bands or s.products or s.regions or s.promise_states)
        and s.restructured is None
        and s.in_legal is None
        and s.balance_min == 0
        and s.balance_max is None
    ]
    return max(plain, key=lambda s: s.priority)


def to_simulator(strategy: Strategy, *, lag: int, reminders: bool, name: str) -> dict[str, Any]:
    """The simulator's ``strategy:`` section for a postloan strategy (with a review lag)."""
    group = next(iter(strategy.groups))  # the champion path
    path = _catch_all(strategy).path(group)
    contacts = sorted(
        {min(a.offset + lag, 28) for a in path if a.anchor == "delinquency" and 1 <= a.offset <= 28}
    )
    pre_due = sorted(
        {
            -a.offset
            for s in strategy.segments
            if s.buckets is not None and "M0" in s.buckets
            for p in s.paths.values()
            for a in p
            if a.anchor == "due" and a.offset < 0
        }
    )

    def first_offset(action: str) -> int | None:
        found = [
            a.offset + lag
            for s in strategy.segments
            if not s.in_legal
            for p in s.paths.values()
            for a in p
            if a.action == action
        ]
        return min(found) if found else None

    offer = first_offset("restructuring_offer")
    legal = first_offset("legal_referral")
    review = first_offset("write_off_review")
    return {
        "name": name,
        "reminder_days_before_due": pre_due if reminders else [],
        "contact_days_after_due": contacts,
        "restructure_at_overdue": None if offer is None else max(1, min(3, math.ceil(offer / 30))),
        "litigation_at_overdue": None if legal is None else max(4, math.ceil(legal / 30)),
        "charge_off_after_dpd": None if review is None else max(90, review),
    }


def measure(result: SimResult, section: dict[str, Any]) -> dict[str, float]:
    m = result.monthly
    base = outcomes(result)
    pairs = _pairs(m).filter(pl.col("bucket") == "M3")
    rolled = pairs.filter(pl.col("next").is_in(OVER_90)).height
    delinquent = m.filter(pl.col("dpd") > 0)["loan_id"].n_unique()
    cost = base["contact & treatment cost (CNY)"]
    contacts = section["contact_days_after_due"]
    return {
        "days to first action after a missed due date": float(contacts[0]) if contacts else -1.0,
        "90+ roll rate (M3 → 90+ next month)": rolled / pairs.height if pairs.height else 0.0,
        "90+ DPD ratio (last month)": base["90+ DPD ratio (last month)"],
        "cure rate (monthly, delinquent → current)": base[
            "cure rate (monthly, delinquent → current)"
        ],
        "amount recovered from delinquent loans (CNY)": base[
            "recovered from delinquent loans (CNY)"
        ],
        "contact & treatment cost (CNY)": cost,
        "accounts ever delinquent": float(delinquent),
        "cost per account (CNY)": cost / delinquent if delinquent else 0.0,
    }


def _fmt(key: str, value: float) -> str:
    if "ratio" in key or "rate" in key:
        return f"{value:.2%}"
    if "days" in key:
        return f"{value:.0f}"
    if "cost per" in key:
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _change(key: str, new: float, old: float) -> str:
    if "ratio" in key or "rate" in key:
        text = f"{(new - old) * 100:+.2f} pp"
    elif "days" in key:
        text = f"{new - old:+.0f} days"
    else:
        text = f"{new - old:+,.2f}" if "cost per" in key else f"{new - old:+,.0f}"
    if old:
        text += f" ({(new - old) / abs(old):+.1%})"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()

    strategy = parse_strategy(__import__("yaml").safe_load(default_text()), "default_strategy")
    sections = {
        "postloan default": to_simulator(strategy, lag=0, reminders=True, name="postloan-default"),
        "manual baseline": to_simulator(
            strategy, lag=REVIEW_LAG_DAYS, reminders=False, name="manual-10-day-review"
        ),
    }
    cfg = load_config(None)
    figures: dict[str, dict[str, float]] = {}
    seconds: list[float] = []
    for label, section in sections.items():
        started = time.perf_counter()
        result = simulate(
            cfg.with_overrides({"strategy": section}),
            loans=args.loans,
            months=args.months,
            seed=args.seed,
        )
        figures[label] = measure(result, section)
        seconds.append(time.perf_counter() - started)
    new, old = figures["postloan default"], figures["manual baseline"]
    treatment = cfg["treatment"]
    command = (
        f".venv/bin/python benchmarks/strategy_evaluation.py --loans {args.loans} "
        f"--months {args.months} --seed {args.seed}"
    )
    lines = [
        "# Strategy evaluation: postloan's default strategy vs a manual baseline",
        "",
        "中文摘要：用组合模拟器（相同随机数）比较 postloan 默认催收策略与“人工”基线"
        f"（{REVIEW_LAG_DAYS} 天复核后才行动、无到期前提醒）。效果完全来自模拟器文档化的响应参数，"
        "不是写死的结果。",
        "",
        f"Command: `{command}` ({sum(seconds):.0f} s for both runs).",
        "",
        "| figure | postloan default | manual baseline | change (default − manual) |",
        "|---|---|---|---|",
    ]
    for key in new:
        lines.append(
            f"| {key} | {_fmt(key, new[key])} | {_fmt(key, old[key])} | "
            f"{_change(key, new[key], old[key])} |"
        )
    lines += [
        "",
        "## How the strategies are translated",
        "",
        "`benchmarks/strategy_evaluation.py` reads postloan's shipped default strategy "
        "(`src/postloan/collections/default_strategy.yaml`) and maps it onto the simulator's "
        "`strategy:` parameters (docs/simulator.md):",
        "",
        "- **contacts after a missed due date**: the delinquency-anchored actions of the "
        "catch-all delinquent segment's champion path within the first month (SMS, call, "
        "letter; the simulator prices each as one contact);",
        "- **reminders before the due date**: the `pre_due_reminder` offsets of the M0 segment;",
        "- **restructuring offer / litigation / charge-off**: the first `restructuring_offer`, "
        "`legal_referral` and `write_off_review` offsets, in overdue instalments (30 days each; "
        "litigation at least 4, charge-off at least 90 DPD, as the simulator requires).",
        "",
        f"The manual baseline is the same strategy with every offset {REVIEW_LAG_DAYS} days "
        "later (a contact can be at most 28 days after the due date: the simulator works in "
        "months) and no pre-due reminders.",
        "",
        "| simulator parameter | postloan default | manual baseline |",
        "|---|---|---|",
    ]
    for key in sections["postloan default"]:
        if key == "name":
            continue
        lines.append(
            f"| `{key}` | {sections['postloan default'][key]} | "
            f"{sections['manual baseline'][key]} |"
        )
    lines += [
        "",
        "The response parameters that turn these into outcomes (from "
        "`src/postloan/sim/default_config.yaml`, `treatment:`): "
        f"`reminder_effect` {treatment['reminder_effect']}, "
        f"`contact_effect` {treatment['contact_effect']} decaying with "
        f"`contact_decay_days` {treatment['contact_decay_days']}, "
        f"`contact_followup_effect` {treatment['contact_followup_effect']}, fatigue above "
        f"{treatment['fatigue_threshold']} contacts a month; costs per SMS reminder "
        f"{treatment['costs']['reminder']} CNY and per contact {treatment['costs']['contact']} "
        "CNY.",
        "",
        "## Definitions",
        "",
        "- *Days to first action*: days from the missed due date to the first contact of the "
        "path (both strategies act on every delinquent loan on that day; the simulator has no "
        "finer timing). In postloan's own close of business the first automated action is the "
        "same business day (docs/collections.md).",
        "- *90+ roll rate*: of the loan-months in M3 (61–90 DPD) at a month-end, the share "
        "90+ DPD or charged off at the next month-end, pooled over the window.",
        "- *Amount recovered*: money paid in a month by loans delinquent at the previous "
        "month-end (`postloan.sim.compare.outcomes`).",
        "- *Cost per account*: the simulator's contact and treatment cost (reminders, "
        "contacts, restructuring, litigation) ÷ the accounts delinquent at some month-end.",
        "",
        "Read the amount recovered together with the accounts ever delinquent: reminders and "
        "earlier contact keep loans from going (or staying) delinquent, and money paid on "
        "time is not counted as recovered, so a strategy that prevents arrears can recover "
        "less while losing less. The 90+ roll rate is measured on the loans that still reach "
        "M3, which under earlier treatment are the harder cases.",
        "",
        f"Book: {args.loans:,} loans, {args.months} months, seed {args.seed}; the same "
        "borrowers, shocks and random draws under both strategies.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    sys.stdout.write("\n".join(lines[:20]) + "\n")
    sys.stdout.write(f"written to {args.out}; {statistics.fmean(seconds):.1f} s per run\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
