"""FEATURES aggregate on each loan's row number (``loan_rows``), not on string ids:
the row order of the inputs, loans missing on either side and the partitioning
must not change a value, and the per-loan figures match a plain Python count."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from postloan.batch.steps import feature_kernel
from postloan.batch.steps.feature_aggs import (
    overdue_instalments,
    schedule_aggs,
    txn_aggs,
    without_reversed,
)
from postloan.batch.steps.feature_kernel import compiled_ok, schedule_sums, txn_sums
from postloan.batch.steps.features import compute_features
from postloan.batch.steps.loan_rows import KEY, aligned, keyed, positions

D = date(2026, 6, 30)


def test_positions_finds_each_key_in_any_order() -> None:
    ids = pl.Series(["A", "B", "D", "F"])
    keys = pl.Series(["A", "A", "C", "D", "B", "A", None, "Z", "F", "F"])
    assert positions(keys, ids).to_list() == [0, 0, None, 2, 1, 0, None, None, 3, 3]
    assert positions(pl.Series([], dtype=pl.Utf8), ids).to_list() == []
    assert positions(pl.Series(["A"]), pl.Series([], dtype=pl.Utf8)).to_list() == [None]
    grouped = positions(pl.Series(["A", "A", "B", "F"]), ids)
    assert grouped.to_list() == [0, 0, 1, 3]
    assert grouped.flags["SORTED_ASC"]  # rows in loan order keep the fast group-by path


def test_positions_refuses_unsorted_ids() -> None:
    with pytest.raises(ValueError, match="sorted"):
        positions(pl.Series(["A"]), pl.Series(["B", "A"]))


def test_aligned_puts_each_key_on_its_row() -> None:
    part = pl.DataFrame({KEY: [3, 0], "x": [30, 0]}, schema={KEY: pl.UInt32, "x": pl.Int64})
    assert aligned(part, 5)["x"].to_list() == [0, None, None, 30, None]
    whole = pl.DataFrame({KEY: [0, 1]}, schema={KEY: pl.UInt32}).with_columns(x=pl.lit(7))
    assert aligned(whole, 2)["x"].to_list() == [7, 7]


def _book(n: int, seed: int) -> dict[str, pl.DataFrame]:
    """A random book: multi-loan borrowers, missed and partial payments, failed
    debits, reversals, restructurings, DPD history, contacts and promises."""
    rng = np.random.default_rng(seed)
    ids = [f"L{i:04d}" for i in range(n)]
    dpd = np.where(rng.random(n) < 0.3, rng.integers(1, 200, n), 0)
    state = pl.DataFrame(
        {
            "loan_id": ids,
            "business_date": [D] * n,
            "status": rng.choice(["active", "active", "active", "closed", "charged_off"], n),
            "days_past_due": dpd.astype(np.int32),
            "overdue_since": [D - timedelta(days=int(x)) if x else None for x in dpd],
            "principal_outstanding": rng.integers(0, 50_000, n),
            "overdue_principal": rng.integers(0, 5_000, n),
            "overdue_interest": rng.integers(0, 500, n),
            "overdue_fee": rng.integers(0, 50, n),
            "penalty_outstanding": rng.integers(0, 100, n),
            "principal_paid": rng.integers(0, 50_000, n),
            "last_payment_date": [D - timedelta(days=int(x)) for x in rng.integers(0, 400, n)],
            "failed_debits": rng.integers(0, 5, n).astype(np.int32),
            "next_due_date": [D + timedelta(days=int(x)) for x in rng.integers(1, 31, n)],
        }
    )
    loans = pl.DataFrame(
        {
            "loan_id": ids,
            "borrower_id": [f"B{int(x):03d}" for x in rng.integers(0, n // 2, n)],
            "product": rng.choice(["consumer", "card"], n),
            "principal": rng.integers(1_000, 60_000, n),
            "annual_rate": rng.choice(["0.12", "0.18"], n),
            "term": np.full(n, 12, dtype=np.int32),
            "disbursement_date": [D - timedelta(days=int(x)) for x in rng.integers(0, 500, n)],
        }
    )
    sched_rows = []
    for i, loan in enumerate(ids):
        first = D - timedelta(days=int(rng.integers(-20, 330)))
        for k in range(int(rng.integers(1, 13))):
            due = first + timedelta(days=30 * k)
            sched_rows.append((loan, k + 1, due, 900 + 10 * (i % 7), 100, k % 2 * 5))
    schedules = pl.DataFrame(
        sched_rows,
        schema=["loan_id", "seq", "due_date", "principal_due", "interest_due", "fee_due"],
        orient="row",
    )
    txn_rows = []
    for i in range(n * 6):
        loan = ids[int(rng.integers(0, n))]
        kind = str(rng.choice(["repayment", "repayment", "failed_debit", "reversal"]))
        amount = int(rng.integers(100, 1_200))
        when = D - timedelta(days=int(rng.integers(-10, 400)))
        txn_rows.append((f"T{i:05d}", loan, kind, amount, when, None))
    paid: dict[str, str] = {}  # a payment of each loan, for its reversals to undo
    for t in txn_rows:
        if t[2] == "repayment":
            paid.setdefault(t[1], t[0])
    for row, t in enumerate(txn_rows):
        if t[2] == "reversal" and t[1] in paid and row % 2:
            txn_rows[row] = (*t[:5], paid[t[1]])
    txns = pl.DataFrame(
        txn_rows,
        schema=["txn_id", "loan_id", "type", "amount", "value_date", "reverses"],
        orient="row",
    ).sort("loan_id", "value_date")
    marks = pl.DataFrame(
        {
            "loan_id": [ids[int(x)] for x in rng.integers(0, n, n // 4)],
            "kind": rng.choice(["restructured", "paused"], n // 4),
            "start_date": [D - timedelta(days=int(x)) for x in rng.integers(-5, 300, n // 4)],
        }
    )
    history = pl.DataFrame(
        {
            "loan_id": [ids[int(x)] for x in rng.integers(0, n, n * 3)],
            "business_date": [D - timedelta(days=int(x)) for x in rng.integers(1, 400, n * 3)],
            "days_past_due": rng.integers(0, 120, n * 3).astype(np.int32),
        }
    ).unique(["loan_id", "business_date"], keep="first")
    contacts = pl.DataFrame(
        {
            "loan_id": [ids[int(x)] for x in rng.integers(0, n, n)],
            "contact_date": [D - timedelta(days=int(x)) for x in rng.integers(0, 40, n)],
            "reached": rng.random(n) < 0.4,
        }
    )
    promises = pl.DataFrame(
        {
            "loan_id": [ids[int(x)] for x in rng.integers(0, n, n // 2)],
            "promised_date": [D - timedelta(days=int(x)) for x in rng.integers(-5, 100, n // 2)],
            "kept": pl.Series([[True, False, None][int(x)] for x in rng.integers(0, 3, n // 2)]),
        }
    )
    return {
        "state": state,
        "loans": loans,
        "schedules": schedules,
        "history": history,
        "transactions": txns,
        "marks": marks,
        "contacts": contacts,
        "promises": promises,
    }


def _features(book: dict[str, pl.DataFrame], peers: pl.DataFrame | None = None) -> pl.DataFrame:
    extra = {k: book[k] for k in ("transactions", "marks", "contacts", "promises")}
    return compute_features(
        book["state"],
        book["loans"],
        book["schedules"],
        book["history"],
        D,
        peers=peers,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_row_order_of_the_inputs_does_not_matter(seed: int) -> None:
    book = _book(300, seed)
    expected = _features(book)
    assert expected["loan_id"].to_list() == sorted(book["state"]["loan_id"].to_list())
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=seed) for k, v in book.items()}
    assert_frame_equal(_features(shuffled), expected)


def test_loans_missing_on_either_side() -> None:
    book = _book(120, 3)
    expected = _features(book)
    ghost = pl.DataFrame({"loan_id": ["L9999"], "due_date": [D], "seq": [1]})
    book["schedules"] = pl.concat([book["schedules"], ghost], how="diagonal_relaxed")
    book["loans"] = book["loans"].filter(pl.col("loan_id") != "L0005")
    out = _features(book)
    assert "L0005" not in out["loan_id"].to_list()  # no contract: no features
    assert_frame_equal(out, expected.filter(pl.col("loan_id") != "L0005"))


def test_partitions_with_peers_match_the_whole_book() -> None:
    book = _book(200, 4)
    whole = _features(book)
    state = book["state"].join(book["loans"].select("loan_id", "borrower_id"), on="loan_id")
    pieces = []
    for lo, hi in (("L0000", "L0099"), ("L0100", "L0199")):
        inside = pl.col("loan_id").is_between(pl.lit(lo), pl.lit(hi))
        part = {k: v.filter(inside) if "loan_id" in v.columns else v for k, v in book.items()}
        peers = state.filter(~inside).select("loan_id", "borrower_id", "days_past_due", "status")
        pieces.append(_features(part, peers))
    assert_frame_equal(pl.concat(pieces), whole)


def test_figures_match_a_per_loan_count() -> None:
    book = _book(150, 5)
    out = {r["loan_id"]: r for r in _features(book).iter_rows(named=True)}
    txns = book["transactions"].filter(pl.col("value_date") <= D)
    undone = set(txns.filter(pl.col("type") == "reversal")["reverses"].drop_nulls())
    live = [t for t in txns.iter_rows(named=True) if t["txn_id"] not in undone]
    sched = book["schedules"]
    for loan, row in out.items():
        mine = [t for t in live if t["loan_id"] == loan]
        pays = [t for t in mine if t["type"] == "repayment"]
        recent = [t for t in pays if t["value_date"] > D - timedelta(days=91)]
        fails = [t for t in mine if t["type"] == "failed_debit"]
        assert row["payments_3m"] == len(recent)
        assert row["failed_debits_6m"] == sum(
            t["value_date"] > D - timedelta(days=183) for t in fails
        )
        last_failed = max((t["value_date"] for t in fails), default=None)
        expected_days = None if last_failed is None else (D - last_failed).days
        assert row["days_since_last_failed_debit"] == expected_days
        dues = sched.filter(pl.col("loan_id") == loan)
        assert row["remaining_instalments"] == dues.filter(pl.col("due_date") > D).height
        due_life = int(
            dues.filter(pl.col("due_date") <= D)
            .select(pl.sum_horizontal("principal_due", "interest_due", "fee_due").sum())
            .item()
        )
        paid_life = sum(t["amount"] for t in pays)
        expected_ratio = paid_life / due_life if due_life else None
        assert row["pay_to_due_life"] == pytest.approx(expected_ratio)


@pytest.mark.parametrize("slice_rows", [1 << 18, 97, 1])
def test_compiled_sums_equal_the_polars_aggregations(
    slice_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled per-loan sums (the book's path) and the Polars aggregations
    (the path for inputs with nulls) give the same columns, however the rows are
    sliced for the compiled passes (a loan's rows split across slices included)."""
    monkeypatch.setattr(feature_kernel, "SLICE_ROWS", slice_rows)
    book = _book(250, 6)
    state = book["state"].sort("loan_id")
    base = state.with_row_index(KEY)
    ids, n = base["loan_id"], base.height
    sched = keyed(book["schedules"], ids, ["due_date", "principal_due", "interest_due", "fee_due"])
    sums = schedule_sums(sched, base["overdue_since"], D)
    slow = aligned(schedule_aggs(sched, D).collect(), n)
    overdue = aligned(overdue_instalments(sched, base, D).collect(), n)
    assert_frame_equal(sums.drop("_overdue_instalments"), slow, check_column_order=False)
    assert_frame_equal(sums.select("_overdue_instalments"), overdue)
    tx = keyed(book["transactions"], ids, ["txn_id", "type", "amount", "value_date", "reverses"])
    tx = without_reversed(tx, D)
    fast = txn_sums(tx, sums["_instalment"], D)
    parts = pl.collect_all(txn_aggs(tx, sums["_instalment"], D))
    slow_tx = pl.concat([aligned(p, n) for p in parts], how="horizontal")
    ints = [c for c in slow_tx.columns if c != "_last_failed"]
    # the Polars path leaves a loan without rows null; the features read that as 0
    assert_frame_equal(fast.select(ints), slow_tx.select(pl.col(ints).fill_null(0)))
    assert_frame_equal(fast.select("_last_failed"), slow_tx.select("_last_failed"))


def test_null_amounts_take_the_polars_path() -> None:
    book = _book(80, 7)
    with_null = book["schedules"].with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(None)
        .otherwise(pl.col("fee_due"))
        .alias("fee_due")
    )
    assert not compiled_ok(with_null, ["fee_due"])
    out = _features({**book, "schedules": with_null})
    assert out.height == 80
    assert out["remaining_instalments"].null_count() == 0


def test_empty_partition_and_loans_without_rows() -> None:
    book = _book(50, 8)
    empty = _features({k: v.clear() for k, v in book.items()})
    assert empty.height == 0 and empty.columns == _features(book).columns
    bare = _features({**book, "schedules": book["schedules"].clear()})
    assert bare["instalment_amount"].null_count() == 50  # no schedule: no instalment
    assert bare["remaining_instalments"].to_list() == [0] * 50


def test_reversals_remove_the_same_rows_with_or_without_the_loan_key() -> None:
    """Matching reversed ids only within loans that have a reversal (the keyed path)
    removes exactly the rows a join over every transaction id removes."""
    rng = np.random.default_rng(11)
    rows = []
    for loan in range(60):
        ids = [f"T{loan:03d}-{j}" for j in range(int(rng.integers(1, 8)))]
        for j, txn in enumerate(ids):
            day = D - timedelta(days=int(rng.integers(0, 90)))
            rows.append((f"L{loan:03d}", txn, "repayment", 100 + j, day, None))
        if loan % 3 == 0:  # reversals, some after the business date
            target = ids[int(rng.integers(0, len(ids)))]
            day = D + timedelta(days=int(rng.integers(-30, 10)))
            rows.append((f"L{loan:03d}", f"R{loan:03d}", "reversal", 0, day, target))
    order = rng.permutation(len(rows))
    txns = pl.DataFrame(
        [rows[i] for i in order],
        schema=["loan_id", "txn_id", "type", "amount", "value_date", "reverses"],
        orient="row",
    )
    plain = without_reversed(txns, D)
    ids = pl.Series(sorted(set(txns["loan_id"])))
    keyed_rows = without_reversed(keyed(txns, ids), D)
    assert keyed_rows.drop(KEY).equals(plain)
    assert plain.height < txns.height  # something was reversed
    expected = txns.filter(
        ~pl.col("txn_id").is_in(
            txns.filter((pl.col("type") == "reversal") & (pl.col("value_date") <= D))[
                "reverses"
            ].implode()
        )
    )
    assert plain.equals(expected)
