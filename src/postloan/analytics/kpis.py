"""Portfolio KPIs from the ``loan_state`` snapshots, for any date range and cut.

Definitions (DESIGN.md "KPI definitions"; docs/analytics.md):

- *open* loans: not charged off, and not closed without balance (the KPI
  snapshot's rule); balance = principal outstanding (minor units, int64).
- roll-rate matrix: of the open loans in bucket *i* on month-end *t*, the share
  (by count and by balance at *t*) in state *j* on month-end *t+1*; states are
  the configured buckets plus ``closed`` (paid off) and the charged-off bucket.
- flow rate *k→k+1*: balance in bucket *k+1* at *t+1* ÷ balance in bucket *k* at *t*.
- migration matrix: the same as the roll matrix over the five-category class.
- cure rate by bucket: of the open loans in a delinquent bucket at *t*, the
  share current (DPD 0, or closed paid) at *t+1*; cures of loans carrying the
  ``restructured_observation`` reason at *t+1* are counted apart.
- vintage X+@MOBm: point-in-time = balance of loans of the origination month at
  ≥ X DPD on the month-end *m* months after ÷ originated amount; ever =
  originated amount of the loans that were ≥ X DPD on some month-end up to *m*
  ÷ originated amount.

Everything here is Polars over lazy scans; money stays integer; ratios are
exact quotients rendered as decimal strings (``ratio``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl

NPL_CLASSES = ("substandard", "doubtful", "loss")
CATEGORIES = ("normal", "special_mention", "substandard", "doubtful", "loss")
CUT_FIELDS = ("product", "branch", "region", "officer", "vintage", "channel")
RESTRUCTURED = "restructured_observation"
PLACES = Decimal("0.000001")
STATE_COLUMNS = (
    "loan_id",
    "business_date",
    "status",
    "days_past_due",
    "bucket",
    "classification",
    "ifrs9_stage",
    "principal_outstanding",
)


def ratio(numerator: int, denominator: int) -> str:
    """An exact quotient rounded half-up to 6 places ("0.000000" when the base is 0)."""
    if denominator == 0:
        return "0.000000"
    return str((Decimal(numerator) / Decimal(denominator)).quantize(PLACES, ROUND_HALF_UP))


def money(minor: int) -> str:
    return str((Decimal(minor) / 100).quantize(Decimal("0.01")))


def month_ends(dates: Iterable[date]) -> list[date]:
    """The last available date of every calendar month, ascending."""
    last: dict[tuple[int, int], date] = {}
    for d in dates:
        key = (d.year, d.month)
        last[key] = max(d, last.get(key, d))
    return sorted(last.values())


def is_open() -> pl.Expr:
    return (pl.col("status") != "charged_off") & ~(
        (pl.col("status") == "closed") & (pl.col("principal_outstanding") <= 0)
    )


def is_paid_off() -> pl.Expr:
    return (pl.col("status") == "closed") & (pl.col("principal_outstanding") <= 0)


# ---- attributes and cuts -------------------------------------------------------------


def attributes_from_loans(loans: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The cut attributes of each loan from a book ``loans`` frame: product, branch,
    region, officer, channel, vintage (disbursement month "YYYY-MM"), disbursed,
    originated (principal, minor units)."""
    lf = loans.lazy()
    names = set(lf.collect_schema().names())

    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Utf8) if name in names else pl.lit(None, pl.Utf8)

    return lf.select(
        pl.col("loan_id"),
        col("product").alias("product"),
        col("branch").alias("branch"),
        col("region").alias("region"),
        col("officer_id").alias("officer"),
        col("channel").alias("channel"),
        pl.col("disbursement_date").dt.strftime("%Y-%m").alias("vintage"),
        pl.col("disbursement_date").alias("disbursed"),
        pl.col("principal").cast(pl.Int64).alias("originated"),
    )


def book_attributes(home: Path) -> pl.LazyFrame:
    """Cut attributes of every loan in the book mirror (``$POSTLOAN_HOME/book``)."""
    from postloan.batch.book import book_dir
    from postloan.domain.errors import NotFound

    root = book_dir(home)
    files = sorted(root.glob("part-*/loans.parquet"))
    if not files:
        raise NotFound(
            f"no book mirror under {root}; run `postloan import FEEDS/` or `postloan eod` first"
        )
    return attributes_from_loans(pl.scan_parquet(files))


def check_cut(by: str | None) -> None:
    from postloan.domain.errors import ValidationError

    if by is not None and by not in CUT_FIELDS:
        raise ValidationError(f"--by must be one of {', '.join(CUT_FIELDS)}, not {by!r}")


# ---- point-in-time portfolio ---------------------------------------------------------


def portfolio(state: pl.DataFrame, buckets: Sequence[str]) -> dict[str, Any]:
    """NPL and 90+ ratios, bucket mix, five-category and stage mix of one date's state."""
    wo = state.filter(pl.col("status") == "charged_off")
    open_ = state.filter(is_open())
    bal = pl.col("principal_outstanding")
    total = int(open_["principal_outstanding"].sum() or 0)
    npl = open_.filter(pl.col("classification").is_in(NPL_CLASSES))
    d90 = open_.filter(pl.col("days_past_due") > 90)
    npl_b = int(npl["principal_outstanding"].sum() or 0)
    d90_b = int(d90["principal_outstanding"].sum() or 0)

    def mix(column: pl.Expr, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        agg = open_.group_by(column.alias("_k")).agg(pl.len().alias("n"), bal.sum().alias("b"))
        got = {k: (int(n), int(b)) for k, n, b in agg.iter_rows()}
        return {
            k: {"count": got.get(k, (0, 0))[0], "balance": money(got.get(k, (0, 0))[1])}
            for k in keys
        }

    return {
        "loans": open_.height,
        "loans_on_book": state.height,
        "balance": money(total),
        "npl_loans": npl.height,
        "npl_balance": money(npl_b),
        "npl_ratio": ratio(npl_b, total),
        "dpd90_loans": d90.height,
        "dpd90_balance": money(d90_b),
        "dpd90_ratio": ratio(d90_b, total),
        "charged_off": {
            "count": wo.height,
            "balance": money(int(wo["written_off"].sum() or 0) if "written_off" in wo else 0),
        },
        "buckets": mix(pl.col("bucket"), buckets),
        "five_category": mix(pl.col("classification"), CATEGORIES),
        "ifrs9_stages": mix(pl.col("ifrs9_stage").cast(pl.Utf8), ("1", "2", "3")),
    }


# ---- transitions between two month-ends ---------------------------------------------


def pairs(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Open loans at ``before`` joined with their state at ``after``, once for every
    transition KPI: ``f_<col>``/``t_<col>`` for bucket and classification (``closed``
    when paid off at *t+1*), ``b`` (balance at *t*), ``dpd_t``, and the reasons."""
    a = before.filter(is_open()).select(
        "loan_id",
        pl.col("bucket").alias("f_bucket"),
        pl.col("classification").alias("f_classification"),
        pl.col("principal_outstanding").alias("b"),
    )
    paid = is_paid_off()
    extra = [c for c in ("classification_reasons",) if c in after.columns]
    b = after.select(
        "loan_id",
        pl.when(paid).then(pl.lit("closed")).otherwise(pl.col("bucket")).alias("t_bucket"),
        pl.when(paid)
        .then(pl.lit("closed"))
        .otherwise(pl.col("classification"))
        .alias("t_classification"),
        pl.col("days_past_due").alias("dpd_t"),
        *extra,
    )
    return a.join(b, on="loan_id", how="inner")


def _pairs(before: pl.DataFrame, after: pl.DataFrame | None, column: str) -> pl.DataFrame:
    joined = before if after is None else pairs(before, after)
    return joined.rename({f"f_{column}": "f", f"t_{column}": "t"}, strict=False)


def transition_matrix(
    before: pl.DataFrame, after: pl.DataFrame | None, column: str, keys: Sequence[str]
) -> dict[str, Any]:
    """Row-normalised matrices ``{from: {to: ratio}}`` by count and by balance at *t*.
    ``after`` None: ``before`` is already a :func:`pairs` frame."""
    joined = _pairs(before, after, column)
    agg = joined.group_by("f", "t").agg(pl.len().alias("n"), pl.col("b").sum().alias("bal"))
    cells = {(f, t): (int(n), int(bal)) for f, t, n, bal in agg.iter_rows()}
    targets = list(keys) + sorted({t for (_, t) in cells if t not in keys})
    by_count: dict[str, dict[str, str]] = {}
    by_balance: dict[str, dict[str, str]] = {}
    base: dict[str, dict[str, int]] = {}
    for f in keys:
        n = sum(v[0] for (ff, _), v in cells.items() if ff == f)
        bal = sum(v[1] for (ff, _), v in cells.items() if ff == f)
        base[f] = {"count": n, "balance": bal}
        by_count[f] = {t: ratio(cells.get((f, t), (0, 0))[0], n) for t in targets}
        by_balance[f] = {t: ratio(cells.get((f, t), (0, 0))[1], bal) for t in targets}
    return {
        "from_states": list(keys),
        "to_states": targets,
        "by_count": by_count,
        "by_balance": by_balance,
        "base": {f: {"count": v["count"], "balance": money(v["balance"])} for f, v in base.items()},
    }


def flow_rates(before: pl.DataFrame, after: pl.DataFrame, buckets: Sequence[str]) -> dict[str, str]:
    """``"Mk->Mk+1"``: balance in bucket k+1 at t+1 ÷ balance in bucket k at t."""
    b0 = before.filter(is_open()).group_by("bucket").agg(pl.col("principal_outstanding").sum())
    b1 = after.filter(is_open()).group_by("bucket").agg(pl.col("principal_outstanding").sum())
    s0 = {k: int(v) for k, v in b0.iter_rows()}
    s1 = {k: int(v) for k, v in b1.iter_rows()}
    return {
        f"{a}->{b}": ratio(s1.get(b, 0), s0.get(a, 0))
        for a, b in zip(buckets[:-1], buckets[1:], strict=True)
    }


def flow_rates_from_kpi(
    before: pl.DataFrame, after: pl.DataFrame, buckets: Sequence[str]
) -> dict[str, str]:
    """:func:`flow_rates` from two dates' stored KPI rows (their bucket balances)."""

    def sums(rows: pl.DataFrame) -> dict[str, int]:
        got = rows.filter(pl.col("kpi") == "bucket").select("key", "balance").iter_rows()
        return {k: int(v) for k, v in got}

    s0, s1 = sums(before), sums(after)
    return {
        f"{a}->{b}": ratio(s1.get(b, 0), s0.get(a, 0))
        for a, b in zip(buckets[:-1], buckets[1:], strict=True)
    }


def cure_rates(
    before: pl.DataFrame, after: pl.DataFrame | None, buckets: Sequence[str]
) -> dict[str, Any]:
    """Per delinquent bucket at t: cured (current or paid off at t+1) ÷ loans, by count;
    cures under a restructuring observation at t+1 reported apart."""
    pairs = _pairs(before, after, "bucket")
    restructured = (
        pl.col("classification_reasons").list.contains(RESTRUCTURED).fill_null(False)
        if "classification_reasons" in pairs.columns
        else pl.lit(False)
    )
    cured = (pl.col("t") == "closed") | (pl.col("dpd_t") == 0)
    agg = pairs.group_by("f").agg(
        pl.len().alias("n"),
        (cured & ~restructured).sum().alias("cured"),
        (cured & restructured).sum().alias("restructured"),
    )
    got = {f: (int(n), int(c), int(r)) for f, n, c, r in agg.iter_rows()}
    out: dict[str, Any] = {}
    for key in buckets[1:]:
        n, c, r = got.get(key, (0, 0, 0))
        out[key] = {
            "loans": n,
            "cured": c,
            "cure_rate": ratio(c, n),
            "cured_by_restructuring": r,
            "restructuring_cure_rate": ratio(r, n),
        }
    return out


# ---- vintages ----------------------------------------------------------------------


def _mob(date_col: str, disbursed_col: str) -> pl.Expr:
    return (
        (pl.col(date_col).dt.year() - pl.col(disbursed_col).dt.year()) * 12
        + pl.col(date_col).dt.month()
        - pl.col(disbursed_col).dt.month()
    ).cast(pl.Int32)


def vintage_table(
    states: pl.LazyFrame,
    attrs: pl.LazyFrame,
    ends: Sequence[date],
    thresholds: Sequence[int] = (30, 90),
) -> pl.DataFrame:
    """One row per (vintage, mob) observed on ``ends``: originated, loans, and for each X
    in ``thresholds`` ``bal_X`` (balance ≥ X DPD, point-in-time) and ``everbal_X``
    (originated amount of the loans ≥ X DPD on some month-end up to that MOB).

    Only the delinquent rows (≥ min X) are joined to the loans' attributes; the grid
    of (vintage, mob) comes from the origination months and ``ends`` (fast on 24M rows).
    """
    low = min(thresholds)
    bad = (
        states.filter(pl.col("business_date").is_in(list(ends)) & (pl.col("days_past_due") >= low))
        .select("loan_id", "business_date", "days_past_due", "principal_outstanding", "status")
        .join(attrs.select("loan_id", "vintage", "disbursed", "originated"), on="loan_id")
        .with_columns(mob=_mob("business_date", "disbursed"))
        .filter(pl.col("mob") >= 0)
        .collect()
        .lazy()  # small (the delinquent rows): computed once, reused below
    )
    cohort = attrs.group_by("vintage").agg(
        pl.col("originated").sum().alias("originated"),
        pl.len().alias("loans"),
        pl.col("disbursed").min().alias("month"),
    )
    grid = (
        cohort.join(pl.LazyFrame({"end": list(ends)}, schema={"end": pl.Date}), how="cross")
        .with_columns(mob=_mob("end", "month"))
        .filter(pl.col("mob") >= 0)
        .select("vintage", "mob", "originated", "loans")
    )
    pit = bad.group_by("vintage", "mob").agg(
        *(
            pl.when((pl.col("days_past_due") >= x) & (pl.col("status") != "charged_off"))
            .then(pl.col("principal_outstanding"))
            .otherwise(0)
            .sum()
            .alias(f"bal_{x}")
            for x in thresholds
        )
    )
    out = grid.join(pit, on=["vintage", "mob"], how="left")
    for x in thresholds:
        # each loan counts its originated amount from the first month-end it was >= X
        first = (
            bad.filter(pl.col("days_past_due") >= x)
            .group_by("loan_id")
            .agg(pl.col("vintage").first(), pl.col("originated").first(), pl.col("mob").min())
            .group_by("vintage", "mob")
            .agg(pl.col("originated").sum().alias("first_bad"))
        )
        out = (
            out.join(first, on=["vintage", "mob"], how="left")
            .with_columns(pl.col(f"bal_{x}", "first_bad").fill_null(0))
            .sort("vintage", "mob")
            .with_columns(pl.col("first_bad").cum_sum().over("vintage").alias(f"everbal_{x}"))
            .drop("first_bad")
        )
    return out.sort("vintage", "mob").collect()


def vintage_document(table: pl.DataFrame, thresholds: Sequence[int] = (30, 90)) -> dict[str, Any]:
    """``{vintage: {originated, loans, curve: [{mob, dpd30_pit, dpd30_ever, ...}]}}``."""
    doc: dict[str, Any] = {}
    for row in table.iter_rows(named=True):
        item = doc.setdefault(
            row["vintage"],
            {"originated": money(int(row["originated"])), "loans": int(row["loans"]), "curve": []},
        )
        point: dict[str, Any] = {"mob": int(row["mob"])}
        for x in thresholds:
            point[f"dpd{x}_pit"] = ratio(int(row[f"bal_{x}"]), int(row["originated"]))
            point[f"dpd{x}_ever"] = ratio(int(row[f"everbal_{x}"]), int(row["originated"]))
        item["curve"].append(point)
    return doc
