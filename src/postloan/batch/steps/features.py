"""FEATURES: the behavioural features the risk models read, one row per loan.

This module is the one registry of features (:data:`FEATURES`): training
(``postloan.risk.datasets``) reads the ``features`` snapshots this step writes,
and scoring (``postloan.risk.scoring``) scores the same frame, so both use the
same code. Each feature is a Polars expression over the *feature base* frame
that :func:`feature_base` builds from today's state, the loan contract, the
schedule, the transactions and marks up to today, the DPD history of earlier
``loan_state`` snapshots (whatever exist: on a first run the history is today
only) and, when present, the contact and promise frames of collections.

Windows: "3 / 6 / 12 months" are 91 / 183 / 365 calendar days ending on the
business date, today included. Ratios are Float64 (features, not money);
amounts stay Int64 minor units. Nothing dated after the business date is read.
``docs/features.md`` is generated from this registry (``postloan.risk.features_doc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

#: History frame (earlier snapshots): one row per loan and date.
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "business_date": pl.Date(),
    "days_past_due": pl.Int32(),
}
#: Optional collections frames (``contacts``, ``promises``); absent → features 0.
CONTACT_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "contact_date": pl.Date(),
    "reached": pl.Boolean(),
}
PROMISE_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "promised_date": pl.Date(),
    "kept": pl.Boolean(),
}
TXN_SCHEMA: dict[str, pl.DataType] = {
    "txn_id": pl.Utf8(),
    "loan_id": pl.Utf8(),
    "type": pl.Utf8(),
    "amount": pl.Int64(),
    "value_date": pl.Date(),
    "reverses": pl.Utf8(),
}
MARK_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "kind": pl.Utf8(),
    "start_date": pl.Date(),
}
#: State columns the features read, with the value assumed when a frame lacks one.
STATE_DEFAULTS: dict[str, tuple[pl.DataType, object]] = {
    "status": (pl.Utf8(), "active"),
    "overdue_since": (pl.Date(), None),
    "principal_outstanding": (pl.Int64(), 0),
    "overdue_principal": (pl.Int64(), 0),
    "overdue_interest": (pl.Int64(), 0),
    "overdue_fee": (pl.Int64(), 0),
    "penalty_outstanding": (pl.Int64(), 0),
    "principal_paid": (pl.Int64(), 0),
    "last_payment_date": (pl.Date(), None),
    "failed_debits": (pl.Int32(), 0),
    "next_due_date": (pl.Date(), None),
}
WINDOWS = {"3m": 91, "6m": 183, "12m": 365}
#: A repayment below this share of the regular instalment counts as partial.
PARTIAL_SHARE = 0.9
#: Optional loan columns (origination attributes a feed may not carry).
OPTIONAL_LOAN_COLUMNS: dict[str, pl.DataType] = {
    "borrower_id": pl.Utf8(),
    "product": pl.Utf8(),
    "annual_rate": pl.Utf8(),
    "term": pl.Int32(),
    "channel": pl.Utf8(),
    "region": pl.Utf8(),
    "monthly_income": pl.Int64(),
}


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature: how it is computed, what it means, which way risk goes.

    ``direction`` is +1 when a higher value means more risk, −1 when less, 0 when
    unknown or categorical (used as a monotone constraint by the models);
    ``zh``/``en`` are the plain-language reason texts shown to people.
    """

    name: str
    dtype: pl.DataType
    expr: pl.Expr
    doc: str
    direction: int = 0
    zh: str = ""
    en: str = ""

    @property
    def categorical(self) -> bool:
        return self.dtype == pl.Utf8


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(None)


_I32, _I64, _F64, _S = pl.Int32(), pl.Int64(), pl.Float64(), pl.Utf8()
_D = _c("_business_date")

FEATURES: tuple[Feature, ...] = (
    Feature(
        "dpd",
        _I32,
        _c("days_past_due"),
        "days past due today",
        1,
        "当前逾期天数",
        "days past due now",
    ),
    *(
        Feature(
            f"max_dpd_{w}",
            _I32,
            _c(f"_max_dpd_{w}"),
            f"max DPD over the last {w} (snapshots + today)",
            1,
            f"近{w[:-1]}个月最高逾期天数",
            f"highest days past due in the last {w[:-1]} months",
        )
        for w in WINDOWS
    ),
    *(
        Feature(
            f"months_in_arrears_{w}",
            _I32,
            _c(f"_arrears_months_{w}"),
            f"calendar months of the last {w} with DPD > 0 on some snapshot",
            1,
            f"近{w[:-1]}个月逾期月数",
            f"months in arrears in the last {w[:-1]} months",
        )
        for w in WINDOWS
    ),
    Feature(
        "overdue_instalments",
        _I32,
        _c("_overdue_instalments").fill_null(0),
        "instalments due from the overdue-since date to yesterday",
        1,
        "逾期期数",
        "number of overdue instalments",
    ),
    Feature(
        "days_since_last_payment",
        _I32,
        (_D - _c("last_payment_date")).dt.total_days(),
        "days from the last payment to today (null: never paid)",
        1,
        "距上次还款天数较长",
        "long time since the last payment",
    ),
    Feature(
        "failed_debits",
        _I32,
        _c("failed_debits"),
        "failed direct debits so far",
        1,
        "累计扣款失败次数",
        "failed direct debits so far",
    ),
    *(
        Feature(
            f"failed_debits_{w}",
            _I32,
            _c(f"_failed_{w}").fill_null(0),
            f"failed debits with value date in the last {w}",
            1,
            f"近{w[:-1]}个月扣款失败次数",
            f"failed direct debits in the last {w[:-1]} months",
        )
        for w in ("3m", "6m")
    ),
    Feature(
        "days_since_last_failed_debit",
        _I32,
        (_D - _c("_last_failed")).dt.total_days(),
        "days from the last failed debit to today (null: none)",
        -1,
        "近期扣款失败",
        "a recent failed direct debit",
    ),
    Feature(
        "payments_3m",
        _I32,
        _c("_payments_3m").fill_null(0),
        "repayments (not reversed) in the last 3m",
        -1,
        "近3个月还款笔数少",
        "few payments in the last 3 months",
    ),
    *(
        Feature(
            f"partial_payments_{w}",
            _I32,
            _c(f"_partial_{w}").fill_null(0),
            f"repayments in the last {w} below {PARTIAL_SHARE:.0%} of the regular instalment",
            1,
            f"近{w[:-1]}个月部分还款次数",
            f"partial payments in the last {w[:-1]} months",
        )
        for w in ("3m", "6m")
    ),
    *(
        Feature(
            f"pay_to_due_{w}",
            _F64,
            _ratio(_c(f"_paid_{w}").fill_null(0), _c(f"_due_{w}")),
            f"repaid ÷ instalments due in the last {w} (null: nothing due)",
            -1,
            f"近{w[:-1]}个月还款/应还比例低",
            f"paid less than was due in the last {w[:-1]} months",
        )
        for w in ("3m", "6m")
    ),
    Feature(
        "pay_to_due_life",
        _F64,
        _ratio(_c("_paid_life").fill_null(0), _c("_due_life")),
        "repaid ÷ instalments due since disbursement (null: nothing due yet)",
        -1,
        "累计还款/应还比例低",
        "paid less than was due since the start",
    ),
    Feature(
        "months_on_book",
        _I32,
        (_D.dt.year() - _c("disbursement_date").dt.year()) * 12
        + _D.dt.month().cast(pl.Int32)
        - _c("disbursement_date").dt.month().cast(pl.Int32)
        - (_D.dt.day() < _c("disbursement_date").dt.day()).cast(pl.Int32),
        "whole months since disbursement",
        0,
        "账龄",
        "months on book",
    ),
    Feature(
        "remaining_instalments",
        _I32,
        _c("_remaining").fill_null(0),
        "instalments due after today (remaining term)",
        0,
        "剩余期数",
        "remaining instalments",
    ),
    Feature(
        "days_to_next_due",
        _I32,
        (_c("next_due_date") - _D).dt.total_days(),
        "days from today to the next due date (null: none)",
        0,
        "距下一还款日天数",
        "days to the next due date",
    ),
    Feature(
        "principal_repaid_share",
        _F64,
        pl.when(_c("principal") > 0).then(_c("principal_paid") / _c("principal")).otherwise(0.0),
        "principal repaid ÷ principal lent",
        -1,
        "已还本金比例低",
        "little of the principal repaid",
    ),
    Feature(
        "principal_outstanding",
        _I64,
        _c("principal_outstanding"),
        "principal outstanding (minor units)",
        0,
        "剩余本金",
        "principal outstanding",
    ),
    Feature(
        "overdue_amount",
        _I64,
        _c("overdue_principal") + _c("overdue_interest") + _c("overdue_fee"),
        "overdue principal + interest + fee (minor units)",
        1,
        "逾期金额",
        "amount overdue",
    ),
    Feature(
        "penalty_outstanding",
        _I64,
        _c("penalty_outstanding"),
        "penalty interest owed (minor units)",
        1,
        "未还罚息",
        "penalty interest owed",
    ),
    Feature(
        "overdue_to_instalment",
        _F64,
        _ratio(
            _c("overdue_principal") + _c("overdue_interest") + _c("overdue_fee"), _c("_instalment")
        ),
        "overdue amount ÷ regular instalment",
        1,
        "逾期金额相当于多期月供",
        "arrears of several instalments",
    ),
    Feature(
        "instalment_amount",
        _I64,
        _c("_instalment"),
        "regular instalment: mean scheduled principal + interest + fee of all but the last",
        0,
        "月供金额",
        "instalment amount",
    ),
    Feature(
        "restructure_count",
        _I32,
        _c("_restructures").fill_null(0),
        "restructured marks starting on or before today",
        1,
        "曾重组",
        "loan was restructured",
    ),
    Feature(
        "borrower_loans",
        _I32,
        _c("_b_loans"),
        "the borrower's loans not closed (this one included)",
        1,
        "借款人名下贷款笔数多",
        "the borrower has several loans",
    ),
    Feature(
        "borrower_other_delinquent",
        _I32,
        _c("_b_other_delinquent"),
        "1 when another loan of the borrower has DPD > 0",
        1,
        "借款人其他贷款逾期",
        "another loan of the borrower is overdue",
    ),
    Feature(
        "borrower_max_other_dpd",
        _I32,
        _c("_b_other_max_dpd"),
        "highest DPD among the borrower's other loans (0: none)",
        1,
        "借款人其他贷款逾期天数",
        "days overdue on the borrower's other loans",
    ),
    Feature(
        "unreachable_30d",
        _I32,
        _c("_unreachable_30d").fill_null(0),
        "contact attempts without reaching the borrower in the last 30 days",
        1,
        "近30天联系不上",
        "could not be reached in the last 30 days",
    ),
    Feature(
        "broken_promises_90d",
        _I32,
        _c("_broken_90d").fill_null(0),
        "promises to pay not kept, promised in the last 90 days",
        1,
        "近90天承诺还款未兑现",
        "broken promises to pay in the last 90 days",
    ),
    Feature(
        "principal",
        _I64,
        _c("principal"),
        "principal lent (minor units)",
        0,
        "贷款金额",
        "loan amount",
    ),
    Feature("term", _I32, _c("term"), "instalments in the contract", 0, "贷款期限", "loan term"),
    Feature(
        "annual_rate",
        _F64,
        _c("annual_rate").cast(pl.Float64, strict=False),
        "contract annual rate (risk-based pricing)",
        1,
        "贷款利率较高",
        "high contract rate",
    ),
    Feature("product", _S, _c("product"), "product (category)", 0, "产品类型", "product"),
    Feature(
        "channel",
        _S,
        _c("channel"),
        "origination channel (category; null if not fed)",
        0,
        "获客渠道",
        "origination channel",
    ),
    Feature(
        "region",
        _S,
        _c("region"),
        "borrower region (category; null if not fed)",
        0,
        "地区",
        "region",
    ),
    Feature(
        "income_to_instalment",
        _F64,
        _ratio(_c("monthly_income"), _c("_instalment")),
        "monthly income ÷ regular instalment (null if income not fed)",
        -1,
        "收入相对月供偏低",
        "low income relative to the instalment",
    ),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)
BY_NAME = {f.name: f for f in FEATURES}
CATEGORICAL = tuple(f.name for f in FEATURES if f.categorical)
MONOTONE = {f.name: f.direction for f in FEATURES if f.direction and not f.categorical}


def _window(col: str, days: int, business_date: date) -> pl.Expr:
    return (pl.col(col) > business_date - timedelta(days=days)) & (pl.col(col) <= business_date)


def _history_aggs(state: pl.DataFrame, history: pl.DataFrame, business_date: date) -> pl.LazyFrame:
    today = state.lazy().select("loan_id", "business_date", "days_past_due")
    hist = pl.concat(
        [history.lazy().select(list(HISTORY_SCHEMA)), today], how="vertical_relaxed"
    ).filter(pl.col("business_date") <= business_date)
    month = pl.col("business_date").dt.year().cast(pl.Int32) * 12 + pl.col(
        "business_date"
    ).dt.month().cast(pl.Int32)
    masked = []
    for w, days in WINDOWS.items():
        inside = pl.col("business_date") > business_date - timedelta(days=days)
        masked.append(pl.when(inside).then(pl.col("days_past_due")).alias(f"_d_{w}"))
        masked.append(pl.when(inside & (pl.col("days_past_due") > 0)).then(month).alias(f"_m_{w}"))
    return (
        hist.with_columns(masked)
        .group_by("loan_id")
        .agg(
            *(pl.col(f"_d_{w}").max().cast(pl.Int32).alias(f"_max_dpd_{w}") for w in WINDOWS),
            *(
                pl.col(f"_m_{w}")
                .drop_nulls()
                .n_unique()
                .cast(pl.Int32)
                .alias(f"_arrears_months_{w}")
                for w in WINDOWS
            ),
        )
    )


def _schedule_aggs(schedules: pl.DataFrame, business_date: date) -> pl.LazyFrame:
    amount = pl.col("principal_due") + pl.col("interest_due") + pl.col("fee_due")
    masked = [
        amount.alias("_amount"),
        (pl.col("due_date") > business_date).alias("_future"),
        pl.when(pl.col("due_date") <= business_date).then(amount).otherwise(0).alias("_a_life"),
        *(
            pl.when(_window("due_date", WINDOWS[w], business_date))
            .then(amount)
            .otherwise(0)
            .alias(f"_a_{w}")
            for w in ("3m", "6m")
        ),
    ]
    return (
        schedules.lazy()
        .with_columns(masked)
        .group_by("loan_id")
        .agg(
            pl.col("_future").sum().cast(pl.Int32).alias("_remaining"),
            pl.col("_amount").sum().alias("_sum"),
            pl.col("_amount").sort_by("due_date").last().alias("_last"),
            pl.len().alias("_n"),
            pl.col("_a_life").sum().alias("_due_life"),
            pl.col("_a_3m").sum().alias("_due_3m"),
            pl.col("_a_6m").sum().alias("_due_6m"),
        )
        # the regular instalment: the mean of all but the last (which carries a
        # balloon or the rounding remainder); a single instalment is itself
        .with_columns(
            pl.when(pl.col("_n") > 1)
            .then((pl.col("_sum") - pl.col("_last")) / (pl.col("_n") - 1))
            .otherwise(pl.col("_last"))
            .round(0)
            .cast(pl.Int64)
            .alias("_instalment")
        )
        .drop("_sum", "_last", "_n")
    )


def _overdue_instalments(
    schedules: pl.DataFrame, state: pl.DataFrame, business_date: date
) -> pl.LazyFrame:
    """Instalments due from the overdue-since date to yesterday (delinquent loans only)."""
    late = state.lazy().filter(pl.col("overdue_since").is_not_null())
    return (
        schedules.lazy()
        .select("loan_id", "due_date")
        .join(late.select("loan_id", "overdue_since"), on="loan_id")
        .filter(
            (pl.col("due_date") >= pl.col("overdue_since")) & (pl.col("due_date") < business_date)
        )
        .group_by("loan_id")
        .agg(pl.len().cast(pl.Int32).alias("_overdue_instalments"))
    )


def _txn_aggs(txns: pl.DataFrame, instalments: pl.LazyFrame, business_date: date) -> pl.LazyFrame:
    txns_l = txns.lazy().filter(pl.col("value_date") <= business_date)
    reversed_ids = txns_l.filter(pl.col("type") == "reversal").select(
        pl.col("reverses").cast(pl.Utf8).alias("txn_id")
    )
    if (txns["type"] == "reversal").any():
        txns_l = txns_l.join(reversed_ids, on="txn_id", how="anti")
    live = txns_l.join(instalments.select("loan_id", "_instalment"), on="loan_id", how="left")
    pay = pl.col("type") == "repayment"
    fail = pl.col("type") == "failed_debit"
    w3, w6 = (_window("value_date", WINDOWS[w], business_date) for w in ("3m", "6m"))
    partial = pay & (pl.col("amount").cast(pl.Float64) < pl.col("_instalment") * PARTIAL_SHARE)
    money = pl.col("amount")
    masked = [
        pl.when(pay).then(money).otherwise(0).alias("_p_life"),
        pl.when(pay & w3).then(money).otherwise(0).alias("_p_3m"),
        pl.when(pay & w6).then(money).otherwise(0).alias("_p_6m"),
        (pay & w3).alias("_n_pay_3m"),
        (fail & w3).alias("_n_fail_3m"),
        (fail & w6).alias("_n_fail_6m"),
        (partial & w3).fill_null(False).alias("_n_part_3m"),
        (partial & w6).fill_null(False).alias("_n_part_6m"),
        pl.when(fail).then(pl.col("value_date")).alias("_fail_date"),
    ]
    return (
        live.with_columns(masked)
        .group_by("loan_id")
        .agg(
            pl.col("_p_life").sum().alias("_paid_life"),
            pl.col("_p_3m").sum().alias("_paid_3m"),
            pl.col("_p_6m").sum().alias("_paid_6m"),
            pl.col("_n_pay_3m").sum().cast(pl.Int32).alias("_payments_3m"),
            pl.col("_n_fail_3m").sum().cast(pl.Int32).alias("_failed_3m"),
            pl.col("_n_fail_6m").sum().cast(pl.Int32).alias("_failed_6m"),
            pl.col("_n_part_3m").sum().cast(pl.Int32).alias("_partial_3m"),
            pl.col("_n_part_6m").sum().cast(pl.Int32).alias("_partial_6m"),
            pl.col("_fail_date").max().alias("_last_failed"),
        )
    )


#: Columns of the ``peers`` frame: the same borrowers' loans held outside this frame.
PEER_COLUMNS = ("loan_id", "borrower_id", "days_past_due", "status")


def _borrower_aggs(
    state: pl.DataFrame, loans: pl.DataFrame, peers: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The borrower's other loans: those in this frame plus ``peers`` (their states on
    the same date, for borrowers whose loans sit in other partitions of the book), so
    the figures do not depend on how the book is partitioned. A borrower with one
    loan gets 0."""
    own = state.select("loan_id", "days_past_due", "status").join(
        loans.select("loan_id", "borrower_id"), on="loan_id"
    )
    if peers is not None and peers.height:
        others = peers.select(PEER_COLUMNS).join(own.select("loan_id"), on="loan_id", how="anti")
        own = pl.concat([own.select(PEER_COLUMNS), others.cast(own.select(PEER_COLUMNS).schema)])
    live = own.filter(pl.col("status") != "closed")
    dpd = pl.col("days_past_due")
    per = live.group_by("borrower_id").agg(
        pl.len().cast(pl.Int32).alias("_b_n"),
        (dpd > 0).sum().cast(pl.Int32).alias("_b_late"),
        dpd.max().alias("_b_max"),
    )
    multi = live.join(per.filter(pl.col("_b_n") > 1), on="borrower_id")
    at_max = (
        multi.filter(dpd == pl.col("_b_max"))
        .group_by("borrower_id")
        .agg(pl.len().cast(pl.Int32).alias("_b_at_max"))
    )
    second = (
        multi.filter(dpd < pl.col("_b_max"))
        .group_by("borrower_id")
        .agg(dpd.max().alias("_b_second"))
    )
    mine = (
        live.join(state.select("loan_id"), on="loan_id", how="semi")
        .join(per, on="borrower_id")
        .join(at_max, on="borrower_id", how="left")
        .join(second, on="borrower_id", how="left")
    )
    alone_at_max = (dpd == pl.col("_b_max")) & (pl.col("_b_at_max") == 1)
    return mine.select(
        "loan_id",
        pl.col("_b_n").alias("_b_loans"),
        ((pl.col("_b_late") - (dpd > 0).cast(pl.Int32)) > 0)
        .cast(pl.Int32)
        .alias("_b_other_delinquent"),
        pl.when(pl.col("_b_n") <= 1)
        .then(0)
        .when(alone_at_max)
        .then(pl.col("_b_second").fill_null(0))
        .otherwise(pl.col("_b_max"))
        .cast(pl.Int32)
        .alias("_b_other_max_dpd"),
    )


def _collections_aggs(
    contacts: pl.DataFrame | None, promises: pl.DataFrame | None, business_date: date
) -> pl.DataFrame:
    out = pl.DataFrame(schema={"loan_id": pl.Utf8()})
    if contacts is not None and contacts.height:
        unreachable = (
            contacts.filter(_window("contact_date", 30, business_date) & ~pl.col("reached"))
            .group_by("loan_id")
            .agg(pl.len().cast(pl.Int32).alias("_unreachable_30d"))
        )
        out = out.join(unreachable, on="loan_id", how="full", coalesce=True)
    if promises is not None and promises.height:
        broken = (
            promises.filter(
                _window("promised_date", 90, business_date)
                & (pl.col("promised_date") < business_date)
                & (pl.col("kept") == False)  # noqa: E712 (null = not yet decided)
            )
            .group_by("loan_id")
            .agg(pl.len().cast(pl.Int32).alias("_broken_90d"))
        )
        out = out.join(broken, on="loan_id", how="full", coalesce=True)
    for name in ("_unreachable_30d", "_broken_90d"):
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Int32).alias(name))
    return out


def feature_base(
    state: pl.DataFrame,
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    history: pl.DataFrame,
    business_date: date,
    *,
    transactions: pl.DataFrame | None = None,
    marks: pl.DataFrame | None = None,
    contacts: pl.DataFrame | None = None,
    promises: pl.DataFrame | None = None,
    peers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Today's state plus the columns the feature expressions use."""
    state = state.with_columns(
        pl.lit(value, dtype=dtype).alias(name)
        for name, (dtype, value) in STATE_DEFAULTS.items()
        if name not in state.columns
    ).with_columns(pl.col("days_past_due").cast(pl.Int32))
    history = history.select(list(HISTORY_SCHEMA)).cast(pl.Schema(HISTORY_SCHEMA))
    schedules = schedules.with_columns(
        pl.lit(0, dtype=pl.Int64).alias(name)
        for name in ("principal_due", "interest_due", "fee_due")
        if name not in schedules.columns
    )
    loans = loans.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in OPTIONAL_LOAN_COLUMNS.items()
        if name not in loans.columns
    ).with_columns(pl.col("borrower_id").fill_null(pl.col("loan_id")))
    txns = transactions if transactions is not None else pl.DataFrame(schema=TXN_SCHEMA)
    marks = marks if marks is not None else pl.DataFrame(schema=MARK_SCHEMA)
    sched = _schedule_aggs(schedules, business_date)
    restructures = (
        marks.lazy()
        .filter((pl.col("kind") == "restructured") & (pl.col("start_date") <= business_date))
        .group_by("loan_id")
        .agg(pl.len().cast(pl.Int32).alias("_restructures"))
    )
    static = [
        c for c in ("principal", "disbursement_date", *OPTIONAL_LOAN_COLUMNS) if c != "borrower_id"
    ]
    hist, sched_df, overdue, txn_df, restr = pl.collect_all(
        [
            _history_aggs(state, history, business_date),
            sched,
            _overdue_instalments(schedules, state, business_date),
            _txn_aggs(txns, sched, business_date),
            restructures,
        ]
    )
    base = state.join(loans.select("loan_id", *static), on="loan_id")
    for part in (
        hist,
        sched_df,
        overdue,
        txn_df,
        restr,
        _borrower_aggs(state, loans, peers),
        _collections_aggs(contacts, promises, business_date),
    ):
        base = base.join(part, on="loan_id", how="left")
    return base.with_columns(pl.lit(business_date, dtype=pl.Date).alias("_business_date"))


def compute_features(
    state: pl.DataFrame,
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    history: pl.DataFrame,
    business_date: date,
    *,
    transactions: pl.DataFrame | None = None,
    marks: pl.DataFrame | None = None,
    contacts: pl.DataFrame | None = None,
    promises: pl.DataFrame | None = None,
    peers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per loan of ``state``: ``loan_id``, ``business_date`` and every feature.

    ``peers`` (``PEER_COLUMNS``): the states on the date of the same borrowers' loans
    that are not in ``state`` (other partitions), for the borrower features."""
    base = feature_base(
        state,
        loans,
        schedules,
        history,
        business_date,
        transactions=transactions,
        marks=marks,
        contacts=contacts,
        promises=promises,
        peers=peers,
    )
    return base.select(
        pl.col("loan_id"),
        pl.col("_business_date").alias("business_date"),
        *(f.expr.cast(f.dtype).alias(f.name) for f in FEATURES),
    ).sort("loan_id")


def empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=HISTORY_SCHEMA)
