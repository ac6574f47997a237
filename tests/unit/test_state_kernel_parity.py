"""The vectorised loan-state kernel equals the per-loan reference, field by field.

Simulated books (3 seeds × 3,000 loans, at month-ends, mid-month, due dates, the
day after a due date and before some disbursements) and generated books of edge
cases (every schedule method, frequency and day count; partial, late, early,
overpaying and zero repayments, failed debits, write-offs and recoveries,
charges, waivers and reversals, marks of every kind, policy variants).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from state_kernel_check import first_difference

from postloan.batch.reference import reference_states_frame
from postloan.batch.state_kernel import loan_states, run_kernel
from postloan.batch.state_kernel.simbook import store_frames
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.policy import (
    AllocationOrder,
    AllocationPolicy,
    Bucket,
    BucketPolicy,
    ClassificationPolicy,
    Component,
    CureRule,
    DelinquencyPolicy,
    EarlyPayment,
    Ifrs9Policy,
    PenaltyPolicy,
    PrepaymentMode,
    PrepaymentPolicy,
    ServicingPolicy,
)
from postloan.domain.schedule import LoanTerms, Method, generate_schedule
from postloan.sim import simulate
from postloan.sim.config import SimConfig
from postloan.store.repository import LOANS_FRAME_SCHEMA

POLICY = ServicingPolicy.default()
FREQUENCIES = ("monthly", "fortnightly", "weekly", "days:10", "quarterly")


def _same(frames: tuple[pl.DataFrame, ...], on: date, policy: ServicingPolicy) -> int:
    got = loan_states(*frames, on, policy)
    want = reference_states_frame(*frames, on, policy)
    problem = first_difference(got, want)
    assert problem is None, f"on {on}: {problem}"
    return want.height


@pytest.mark.parametrize(
    ("seed", "dates"),
    [
        (11, (date(2026, 6, 30), date(2026, 1, 15))),  # a month-end, mid-month
        (12, (date(2025, 11, 15), date(2025, 11, 16))),  # a due date, the day after
        (13, (date(2024, 9, 1), date(2026, 12, 31))),  # before many disbursements, late
    ],
)
def test_simulated_books_agree_on_several_dates(seed: int, dates: tuple[date, ...]) -> None:
    frames = store_frames(simulate(SimConfig.default(), loans=3_000, months=30, seed=seed))
    compared = [_same(frames, on, POLICY) for on in dates]
    assert min(compared) > 0
    run = run_kernel(*frames, dates[0], POLICY)
    assert run.fallback_share < 0.10  # marks (restructured loans) and partial prepayments


# ---- generated books ------------------------------------------------------------------

_ids = itertools.count(1)


@st.composite
def terms_st(draw: st.DrawFn) -> LoanTerms:
    return LoanTerms(
        principal=draw(st.integers(100, 20_000_000)),
        annual_rate=Decimal(draw(st.integers(0, 3_600))) / 10_000,
        term=draw(st.integers(1, 18)),
        frequency=Frequency.parse(draw(st.sampled_from(FREQUENCIES))),
        day_count=draw(st.sampled_from(list(DayCount))),
        method=draw(st.sampled_from(list(Method))),
        disbursement_date=draw(st.dates(date(2023, 1, 1), date(2024, 6, 30))),
        fee_per_period=draw(st.sampled_from((0, 0, 500, 1_000))),
    )


_KINDS = (
    ["repayment"] * 8
    + ["failed_debit", "write_off"]
    + ["fee", "penalty", "waiver", "reversal", "disbursement"]
)


@st.composite
def loan_st(draw: st.DrawFn, edgy: bool) -> dict[str, list[dict[str, object]]]:
    terms = draw(terms_st())
    loan_id = f"L{next(_ids):06d}"
    schedule = generate_schedule(terms)
    rows = []
    for inst in schedule:
        zero = edgy and draw(st.integers(0, 30)) == 0
        rows.append(
            {
                "loan_id": loan_id,
                "seq": inst.seq,
                "due_date": inst.due_date,
                "principal_due": 0 if zero else inst.principal,
                "interest_due": 0 if zero else inst.interest,
                "fee_due": 0 if zero else inst.fee,
                "balance": inst.balance,
                "source": "generated",
            }
        )
    start = terms.disbursement_date
    txns: list[dict[str, object]] = []
    style = draw(st.sampled_from(("on_time", "random", "random", "late")))
    for inst in schedule:
        if style == "on_time" or draw(st.booleans()):
            shift = {"on_time": 0, "late": draw(st.integers(0, 120))}.get(
                style, draw(st.integers(-40, 60))
            )
            factor = draw(st.sampled_from((1.0, 1.0, 0.5, 0.0, 1.7, 3.0)))
            amount = int(inst.total * factor) + draw(st.sampled_from((0, 0, 1, 37)))
            day = max(start, inst.due_date + timedelta(days=shift))
            txns.append(_txn(loan_id, "repayment", amount, day))
    extra = draw(
        st.lists(
            st.tuples(
                st.sampled_from(_KINDS), st.integers(0, 700), st.integers(0, terms.principal)
            ),
            max_size=4 if edgy else 2,
        )
    )
    for kind, offset, amount in extra:
        if kind in ("fee", "penalty", "waiver", "reversal", "disbursement") and not edgy:
            kind = "failed_debit"
        day = start + timedelta(days=offset)
        if kind == "reversal":
            if not txns:
                continue
            target = draw(st.sampled_from(txns))
            txns.append(
                _txn(
                    loan_id,
                    kind,
                    0,
                    max(day, target["value_date"]),  # type: ignore[type-var]
                    reverses=str(target["txn_id"]),
                )
            )
        else:
            txns.append(_txn(loan_id, kind, amount, day))
            if kind == "write_off" and draw(st.booleans()):
                # money on the write-off day is not a recovery; money after it is
                after = draw(st.sampled_from((0, 0, 1, 45)))
                paid = draw(st.integers(1, max(1, terms.principal // 10)))
                txns.append(_txn(loan_id, "repayment", paid, day + timedelta(days=after)))
    marks = []
    if edgy and draw(st.integers(0, 4)) == 0:
        kind = draw(
            st.sampled_from(("technical_delay", "restructured", "credit_impaired", "payment_pause"))
        )
        lo = start + timedelta(days=draw(st.integers(0, 400)))
        length = draw(st.one_of(st.none(), st.integers(0, 120)))
        marks.append(
            {
                "mark_id": f"M{next(_ids)}",
                "loan_id": loan_id,
                "kind": kind,
                "start_date": lo,
                "end_date": None if length is None else lo + timedelta(days=length),
                "note": "",
            }
        )
    loan_row = {
        "loan_id": loan_id,
        "borrower_id": "B1",
        "product": "p",
        "principal": terms.principal,
        "annual_rate": str(terms.annual_rate),
        "term": terms.term,
        "frequency": str(terms.frequency),
        "day_count": str(terms.day_count),
        "method": str(terms.method),
        "disbursement_date": start,
        "first_due_date": None,
        "officer_id": "O1",
        "branch": "B",
        "currency": "CNY",
        "fee_per_period": terms.fee_per_period,
    }
    return {"loans": [loan_row], "schedules": rows, "transactions": txns, "marks": marks}


def _txn(
    loan_id: str, kind: str, amount: int, day: date, reverses: str | None = None
) -> dict[str, object]:
    return {
        "txn_id": f"T{next(_ids):08d}",
        "loan_id": loan_id,
        "type": kind,
        "amount": amount,
        "value_date": day,
        "channel": "",
        "reverses": reverses,
    }


_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "loans": LOANS_FRAME_SCHEMA,
    "schedules": {
        "loan_id": pl.Utf8(),
        "seq": pl.Int32(),
        "due_date": pl.Date(),
        "principal_due": pl.Int64(),
        "interest_due": pl.Int64(),
        "fee_due": pl.Int64(),
        "balance": pl.Int64(),
        "source": pl.Utf8(),
    },
    "transactions": {
        "txn_id": pl.Utf8(),
        "loan_id": pl.Utf8(),
        "type": pl.Utf8(),
        "amount": pl.Int64(),
        "value_date": pl.Date(),
        "channel": pl.Utf8(),
        "reverses": pl.Utf8(),
    },
    "marks": {
        "mark_id": pl.Utf8(),
        "loan_id": pl.Utf8(),
        "kind": pl.Utf8(),
        "start_date": pl.Date(),
        "end_date": pl.Date(),
        "note": pl.Utf8(),
    },
}


def _frames(books: list[dict[str, list[dict[str, object]]]]) -> tuple[pl.DataFrame, ...]:
    return tuple(
        pl.DataFrame([r for b in books for r in b[name]], schema=schema, orient="row")
        if any(b[name] for b in books)
        else pl.DataFrame(schema=schema)
        for name, schema in _SCHEMAS.items()
    )


@st.composite
def policy_st(draw: st.DrawFn) -> ServicingPolicy:
    if draw(st.integers(0, 3)) == 0:
        return POLICY
    return ServicingPolicy(
        allocation=AllocationPolicy(
            order=draw(
                st.sampled_from([AllocationOrder.VERTICAL] * 5 + [AllocationOrder.HORIZONTAL])
            ),
            components=tuple(draw(st.permutations(list(Component)))),
        ),
        penalty=PenaltyPolicy(
            multiple=Decimal(draw(st.sampled_from(("1.5", "0", "2", "1.3333")))),
            day_basis=draw(st.sampled_from((360, 365))),
            grace_days=draw(st.sampled_from((0, 0, 3))),
            accrue=draw(st.sampled_from((True, True, False))),
        ),
        delinquency=DelinquencyPolicy(
            grace_days=draw(st.sampled_from((0, 0, 5))),
            materiality_absolute=draw(st.sampled_from((0, 0, 0, 0, 10_000))),
        ),
        buckets=draw(
            st.sampled_from(
                (
                    BucketPolicy(),
                    BucketPolicy(
                        (Bucket("C", 0, 0), Bucket("X", 1, 29), Bucket("Y", 30, None)), "CO"
                    ),
                )
            )
        ),
        classification=ClassificationPolicy(
            substandard_over_dpd=draw(st.sampled_from((90, 30))),
            doubtful_over_dpd=draw(st.sampled_from((270, 120))),
            loss_over_dpd=draw(st.sampled_from((360, 300))),
            cure_rule=draw(st.sampled_from(list(CureRule))),
            cure_periods=draw(st.integers(1, 3)),
            cure_months=draw(st.integers(1, 6)),
        ),
        ifrs9=Ifrs9Policy(
            stage2_over_dpd=draw(st.sampled_from((30, 10))),
            stage3_over_dpd=draw(st.sampled_from((90, 60))),
            probation_months=draw(st.integers(0, 4)),
        ),
        prepayment=PrepaymentPolicy(
            mode=draw(st.sampled_from(list(PrepaymentMode))),
            early_payment=draw(
                st.sampled_from([EarlyPayment.ADVANCE] * 5 + [EarlyPayment.PREPAYMENT])
            ),
            advance_max_instalments=draw(st.sampled_from((1, 1, 1, 2))),
        ),
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_generated_books_agree(data: st.DataObject) -> None:
    edgy = data.draw(st.booleans())
    books = data.draw(st.lists(loan_st(edgy), min_size=20, max_size=40))
    policy = data.draw(policy_st())
    on = data.draw(st.dates(date(2023, 1, 1), date(2026, 6, 30)))
    frames = _frames(books)
    _same(frames, on, policy)


def test_result_does_not_depend_on_parts_or_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Walked in three parts (threads), or through the Arrow entry point Spark calls,
    every loan's state is the same as in one piece."""
    import postloan.batch.state_kernel as kernel

    frames = store_frames(simulate(SimConfig.default(), loans=1_500, months=24, seed=21))
    on = date(2025, 12, 31)
    whole = loan_states(*frames, on, POLICY)
    monkeypatch.setattr(kernel, "PART_MIN_LOANS", 10)
    monkeypatch.setattr(kernel, "THREADS", 3)
    assert first_difference(loan_states(*frames, on, POLICY), whole) is None
    table = kernel.loan_states_arrow(*(f.to_arrow() for f in frames), on, POLICY)
    back = pl.from_arrow(table)
    assert isinstance(back, pl.DataFrame)
    assert first_difference(back, whole) is None
    half = frames[0]["loan_id"].gather_every(2).to_frame()
    some = tuple(f.join(half, on="loan_id", how="semi", maintain_order="left") for f in frames)
    assert (
        first_difference(loan_states(*some, on, POLICY), whole.join(half, on="loan_id", how="semi"))
        is None
    )


def test_money_on_the_write_off_day_is_not_a_recovery() -> None:
    """A repayment booked on the write-off day comes before it (same-day order) and
    counts as paid; only money after that day is a recovery."""
    loans, schedules, txns, marks = store_frames(
        simulate(SimConfig.default(), loans=200, months=24, seed=3)
    )
    written = date(2024, 12, 31)
    late = run_kernel(loans, schedules, txns, marks, written, POLICY).states.filter(
        (pl.col("days_past_due") > 30) & (pl.col("status") == "active")
    )
    loan_id = late["loan_id"][0]  # behind on the day: the same-day money is not held
    extra = pl.DataFrame(
        {
            "txn_id": ["X1", "X2", "X3"],
            "loan_id": [loan_id] * 3,
            "type": ["write_off", "repayment", "repayment"],
            "amount": [0, 500, 700],
            "value_date": [written, written, written + timedelta(days=1)],
        }
    )
    extra = extra.select(
        pl.col(c).cast(t) if c in extra.columns else pl.lit(None, t).alias(c)
        for c, t in txns.schema.items()
    )
    txns = pl.concat([txns, extra]).sort("loan_id", maintain_order=True)
    on = written + timedelta(days=30)
    run = run_kernel(loans, schedules, txns, marks, on, POLICY)
    assert loan_id not in run.fallback_ids
    want = reference_states_frame(loans, schedules, txns, marks, on, POLICY)
    assert first_difference(run.states, want) is None
    row = run.states.filter(pl.col("loan_id") == loan_id).row(0, named=True)
    assert row["status"] == "charged_off"
    assert row["recovered"] == 700
