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
from datetime import date

import polars as pl

from postloan.batch.steps.feature_aggs import (
    PARTIAL_SHARE,
    WINDOWS,
    borrower_aggs,
    collections_aggs,
    history_aggs,
    overdue_instalments,
    restructure_aggs,
    schedule_aggs,
    txn_aggs,
    without_reversed,
)
from postloan.batch.steps.feature_aggs import (
    PEER_COLUMNS as PEER_COLUMNS,
)
from postloan.batch.steps.feature_kernel import compiled_ok, schedule_sums, txn_sums
from postloan.batch.steps.loan_rows import KEY, aligned, keyed

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
    """Today's state plus the columns the feature expressions use, one row per loan
    of ``state`` that ``loans`` holds, in loan-id order."""
    state = state.with_columns(
        pl.lit(value, dtype=dtype).alias(name)
        for name, (dtype, value) in STATE_DEFAULTS.items()
        if name not in state.columns
    ).with_columns(pl.col("days_past_due").cast(pl.Int32))
    if not state["loan_id"].is_sorted():
        state = state.sort("loan_id", maintain_order=True)
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
    static = [
        c for c in ("principal", "disbursement_date", *OPTIONAL_LOAN_COLUMNS) if c != "borrower_id"
    ]
    contract = loans.select("loan_id", "borrower_id", *static)
    if contract["loan_id"].equals(state["loan_id"]):  # the book's case: same loans, same order
        base = pl.concat([state, contract.drop("loan_id")], how="horizontal")
    else:
        base = state.join(contract, on="loan_id", maintain_order="left")
    base = base.with_row_index(KEY)
    borrower = base["borrower_id"]
    base = base.drop("borrower_id")
    ids, n = base["loan_id"], base.height
    sched_columns = ["due_date", "principal_due", "interest_due", "fee_due"]
    sched = keyed(schedules, ids, sched_columns)
    tx = keyed(txns, ids, ["txn_id", "type", "amount", "value_date", "reverses"])
    lazy = [
        history_aggs(base, history, business_date),
        restructure_aggs(keyed(marks, ids, ["kind", "start_date"]), business_date),
    ]
    if compiled_ok(sched, sched_columns):  # the book's case: compiled per-loan sums
        instalments = schedule_sums(sched, base["overdue_since"], business_date)
    else:
        instalments = aligned(schedule_aggs(sched, business_date).collect(), n)
        lazy.append(overdue_instalments(sched, base, business_date))
    tx = without_reversed(tx, business_date)
    if compiled_ok(tx, ["type", "amount", "value_date"]):
        frames = [txn_sums(tx, instalments["_instalment"], business_date)]
    else:
        lazy.extend(txn_aggs(tx, instalments["_instalment"], business_date))
        frames = []
    parts = pl.collect_all(lazy)
    extra = collections_aggs(ids, contacts, promises, business_date)
    base = base.hstack(instalments.get_columns())
    for frame in frames:
        base = base.hstack(frame.get_columns())
    for part in (*parts, borrower_aggs(base, borrower, peers), *extra):
        base = base.hstack(aligned(part, n).get_columns())
    for name in ("_unreachable_30d", "_broken_90d"):
        if name not in base.columns:
            base = base.with_columns(pl.lit(None, dtype=pl.Int32).alias(name))
    return base.drop(KEY).with_columns(pl.lit(business_date, dtype=pl.Date).alias("_business_date"))


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
        pl.col("loan_id").set_sorted(),  # the base is in loan-id order: no re-sort downstream
        pl.col("_business_date").alias("business_date"),
        *(f.expr.cast(f.dtype).alias(f.name) for f in FEATURES),
    )


def empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=HISTORY_SCHEMA)
