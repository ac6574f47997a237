"""The vectorised kernel against the per-loan reference, row for row, minor unit for minor unit."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postloan.batch import (
    LOAN_COLUMNS,
    SCHEDULE_SCHEMA,
    SCHEDULE_SPARK_SCHEMA,
    generate_schedules,
    schedule_arrow_batches,
)
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.errors import FeedError, InvalidTerms
from postloan.domain.schedule import LoanTerms, Method, generate_schedule

FREQUENCIES = (
    "monthly fortnightly weekly days:1 days:10 days:30 months:2 months:3 months:12".split()
)
MONTH_ENDS = [
    date(2024, 1, 31),
    date(2024, 2, 29),
    date(2023, 2, 28),
    date(2023, 1, 31),
    date(2023, 12, 31),
    date(2024, 8, 31),
    date(2024, 4, 30),
    date(2023, 1, 30),
]

Loan = dict[str, Any]
Row = tuple[str, int, date, int, int, int, int]


def frame(loans: list[Loan]) -> pl.DataFrame:
    return pl.DataFrame(loans, schema={k: LOAN_COLUMNS[k] for k in loans[0]})


def reference_rows(loans: list[Loan]) -> list[Row]:
    rows = []
    for loan in loans:
        terms = LoanTerms(
            principal=loan["principal"],
            annual_rate=Decimal(loan["annual_rate"]),
            term=loan["term"],
            frequency=Frequency.parse(loan["frequency"]),
            day_count=DayCount.parse(loan["day_count"]),
            method=Method.parse(loan["method"]),
            disbursement_date=loan["disbursement_date"],
            first_due_date=loan.get("first_due_date"),
            fee_per_period=loan.get("fee_per_period") or 0,
        )
        for i in generate_schedule(terms):
            rows.append(
                (loan["loan_id"], i.seq, i.due_date, i.principal, i.interest, i.fee, i.balance)
            )
    return rows


def assert_same_as_reference(loans: list[Loan]) -> None:
    got = generate_schedules(frame(loans))
    assert got.schema == pl.Schema(SCHEDULE_SCHEMA)
    expected = reference_rows(loans)
    actual = got.rows()
    mismatches = [(e, a) for e, a in zip(expected, actual, strict=False) if e != a]
    assert not mismatches, f"{len(mismatches)} rows differ, first: {mismatches[:3]}"
    assert len(actual) == len(expected)


def random_rate(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.05:
        return "0"
    if kind < 0.15:
        return str(Decimal(rng.randrange(0, 37)) / 100)  # whole percents, many exact halves
    if kind < 0.9:
        return str(Decimal(rng.randrange(0, 360_001)) / 1_000_000)
    return str(Decimal(rng.randrange(0, 36_000_000_001)) / 10**11)


def random_loan(rng: random.Random, n: int) -> Loan:
    disbursed = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 3 * 365))
    if rng.random() < 0.25:
        disbursed = rng.choice(MONTH_ENDS)
    first_due = None
    if rng.random() < 0.3:
        first_due = disbursed + timedelta(days=rng.randrange(1, 75))
    principal = rng.choice(
        [rng.randrange(100, 500_000_001), rng.randrange(100, 100_001), rng.randrange(1, 10) * 5_000]
    )
    return {
        "loan_id": f"L{n:05d}",
        "principal": principal,
        "annual_rate": random_rate(rng),
        "term": rng.randrange(1, 61),
        "frequency": rng.choice(FREQUENCIES),
        "day_count": rng.choice([d.value for d in DayCount]),
        "method": rng.choice([m.value for m in Method]),
        "disbursement_date": disbursed,
        "first_due_date": first_due,
        "fee_per_period": rng.choice([0, 0, 0, 150, 2_000]),
    }


def test_four_thousand_seeded_random_loans_match_the_reference() -> None:
    rng = random.Random(20240229)
    loans = [random_loan(rng, n) for n in range(4_000)]
    assert_same_as_reference(loans)


def test_awkward_annuities_match_the_reference() -> None:
    """Tiny payments, long terms and long first periods: where a principal part
    clamps and where the instalment moved by one minor unit wins."""
    rng = random.Random(31)
    loans = []
    for n in range(1_500):
        loan = random_loan(rng, n)
        loan["method"] = "annuity"
        loan["principal"] = rng.choice([rng.randrange(1, 300), rng.randrange(300, 20_000)])
        loan["term"] = rng.choice([rng.randrange(2, 61), rng.randrange(60, 181)])
        if rng.random() < 0.4:
            loan["first_due_date"] = loan["disbursement_date"] + timedelta(rng.randrange(1, 500))
        loans.append(loan)
    assert_same_as_reference(loans)


@st.composite
def loans_strategy(draw: st.DrawFn) -> list[Loan]:
    count = draw(st.integers(1, 6))
    loans = []
    for n in range(count):
        disbursed = draw(st.dates(date(2015, 1, 1), date(2030, 12, 31)))
        first_due = draw(
            st.none() | st.integers(1, 400).map(lambda d, s=disbursed: s + timedelta(d))
        )
        loans.append(
            {
                "loan_id": f"H{n}",
                "principal": draw(st.integers(100, 500_000_000)),
                "annual_rate": str(draw(st.decimals(0, "0.36", places=draw(st.integers(0, 8))))),
                "term": draw(st.integers(1, 60)),
                "frequency": draw(
                    st.sampled_from(["monthly", "fortnightly", "weekly"])
                    | st.integers(1, 120).map(lambda d: f"days:{d}")
                    | st.integers(1, 12).map(lambda m: f"months:{m}")
                ),
                "day_count": draw(st.sampled_from([d.value for d in DayCount])),
                "method": draw(st.sampled_from([m.value for m in Method])),
                "disbursement_date": disbursed,
                "first_due_date": first_due,
                "fee_per_period": draw(st.integers(0, 10_000)),
            }
        )
    return loans


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loans_strategy())
def test_any_small_book_matches_the_reference(loans: list[Loan]) -> None:
    assert_same_as_reference(loans)


def base_loan(**changes: Any) -> Loan:
    loan: Loan = {
        "loan_id": "X1",
        "principal": 10_000,
        "annual_rate": "0.12",
        "term": 6,
        "frequency": "monthly",
        "day_count": "30/360",
        "method": "annuity",
        "disbursement_date": date(2024, 1, 31),
        "first_due_date": None,
        "fee_per_period": 0,
    }
    loan.update(changes)
    return loan


@pytest.mark.parametrize(
    "changes",
    [
        # level payment exactly 5100.5 minor units: resolved by the exact reference
        {"principal": 10_050, "term": 2},
        {"principal": 15_000, "term": 1},
        # equal principal and flat with tiny principals: parts round down, never negative
        {"principal": 2, "term": 4, "method": "equal_principal"},
        {"principal": 1, "term": 60, "method": "flat", "annual_rate": "0.36"},
        {"principal": 1, "term": 7, "method": "annuity", "annual_rate": "0.3"},
        # zero rate: payment is principal / n rounded half-up, no float involved
        {"principal": 3, "term": 2, "annual_rate": "0"},
        {"principal": 1_000_001, "term": 60, "annual_rate": "0.000"},
        # amounts and rates beyond the int64 fast path go to the reference
        {"principal": 10**16, "term": 24},
        {"principal": 10**13, "term": 60, "annual_rate": "0.36"},
        {"principal": 10**13 - 1, "term": 60, "annual_rate": "0.36", "method": "flat"},
        {"annual_rate": "0.0948221234567891234", "term": 12},
        {"annual_rate": "1.5", "term": 60, "frequency": "months:12", "day_count": "act/act-isda"},
        # first due date on a month end keeps month-end clamping from that anchor
        {"first_due_date": date(2024, 2, 29), "term": 13, "day_count": "act/act-fineract"},
        {"frequency": "days:365", "term": 10, "day_count": "act/act-isda", "method": "bullet"},
        # dates before 1970 (negative day numbers) and a 100-year term
        {"disbursement_date": date(1969, 11, 30), "day_count": "act/act-isda", "term": 4},
        {"disbursement_date": date(1899, 12, 31), "term": 1200, "method": "equal_principal"},
    ],
)
def test_edge_cases_match_the_reference(changes: dict[str, Any]) -> None:
    assert_same_as_reference([base_loan(**changes)])


def test_batches_split_anyhow_give_the_same_rows() -> None:
    rng = random.Random(7)
    loans = [random_loan(rng, n) for n in range(300)]
    whole = generate_schedules(frame(loans))
    parts = pl.concat([generate_schedules(frame(loans[i : i + 37])) for i in range(0, 300, 37)])
    assert whole.equals(parts)


def test_optional_columns_may_be_absent_and_extras_are_ignored() -> None:
    loan = base_loan()
    del loan["first_due_date"], loan["fee_per_period"]
    book = frame([loan]).with_columns(pl.lit("ignored").alias("branch"))
    got = generate_schedules(book)
    assert got["fee_due"].to_list() == [0] * 6
    assert got["principal_due"].sum() == 10_000
    assert got["due_date"].to_list()[:2] == [date(2024, 2, 29), date(2024, 3, 31)]


def test_empty_book_gives_an_empty_typed_frame() -> None:
    got = generate_schedules(pl.DataFrame(schema=LOAN_COLUMNS))
    assert got.height == 0
    assert got.schema == pl.Schema(SCHEDULE_SCHEMA)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"principal": 0}, "loan X1: principal must be positive"),
        ({"term": 0}, "loan X1: term must be at least 1"),
        ({"fee_per_period": -1}, "loan X1: fee per period must not be negative"),
        ({"first_due_date": date(2024, 1, 31)}, "first due date must be after"),
        ({"annual_rate": "abc"}, "loan X1: annual_rate"),
        ({"annual_rate": "-0.1"}, "non-negative"),
        ({"frequency": "yearly-ish"}, "unknown frequency"),
        ({"method": "balloon"}, "unknown repayment method"),
        ({"day_count": "act/999"}, "unknown day count"),
    ],
)
def test_invalid_terms_name_the_loan(changes: dict[str, Any], message: str) -> None:
    good = base_loan(loan_id="OK")
    with pytest.raises(InvalidTerms, match=message):
        generate_schedules(frame([good, base_loan(**changes)]))


def test_a_missing_required_column_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match="method"):
        generate_schedules(frame([base_loan()]).drop("method"))


def test_a_null_required_value_names_the_loan() -> None:
    book = frame([base_loan(), base_loan(loan_id="X2")]).with_columns(
        pl.when(pl.col("loan_id") == "X2").then(None).otherwise(pl.col("term")).alias("term")
    )
    with pytest.raises(InvalidTerms, match="loan X2: term is missing"):
        generate_schedules(book)


def test_threads_split_blocks_without_changing_a_row() -> None:
    rng = random.Random(11)
    distinct = frame([random_loan(rng, n) for n in range(500)])
    book = (
        distinct.sample(120_000, with_replacement=True, seed=3)
        .with_columns(pl.col("loan_id").alias("source"))
        .with_columns(pl.format("T{}", pl.int_range(pl.len())).alias("loan_id"))
    )
    single = generate_schedules(book, threads=1)
    assert single.equals(generate_schedules(book, threads=2))
    # every copy carries the schedule of the loan it was copied from
    original = generate_schedules(distinct).rename({"loan_id": "source"})
    copies = single.join(book.select("loan_id", "source"), on="loan_id")
    assert (
        copies.drop("loan_id")
        .sort("source", "seq")
        .unique(maintain_order=True)
        .equals(original.select(copies.drop("loan_id").columns).sort("source", "seq"))
    )


def test_arrow_batches_as_spark_map_in_arrow_would_pass_them() -> None:
    rng = random.Random(5)
    loans = frame([random_loan(rng, n) for n in range(400)])
    batches = loans.to_arrow().to_batches(max_chunksize=64)
    assert len(batches) > 1
    out = list(schedule_arrow_batches(iter(batches)))
    got = pl.from_arrow(pa.Table.from_batches(out))
    assert isinstance(got, pl.DataFrame)
    assert got.equals(generate_schedules(loans))
    spark_types = [f.split()[1] for f in SCHEDULE_SPARK_SCHEMA.split(", ")]
    assert len(spark_types) == len(SCHEDULE_SCHEMA) == out[0].num_columns
    assert out[0].schema.field("loan_id").type == pa.large_string()


def test_threads_cope_with_a_group_of_one_loan() -> None:
    many = frame([base_loan()]).sample(100_000, with_replacement=True, seed=1)
    many = many.with_columns(pl.format("M{}", pl.int_range(pl.len())).alias("loan_id"))
    odd = frame([base_loan(loan_id="ODD", method="bullet", day_count="act/364")])
    book = pl.concat([many, odd])
    got = generate_schedules(book, threads=2)
    assert got.equals(generate_schedules(book, threads=1))
    assert got.filter(pl.col("loan_id") == "ODD").rows() == reference_rows(
        [base_loan(loan_id="ODD", method="bullet", day_count="act/364")]
    )
