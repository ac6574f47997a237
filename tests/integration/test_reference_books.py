"""The batch's frame path to domain values equals the repository's per-loan path."""

from __future__ import annotations

from datetime import date

import polars as pl

from postloan.batch.reference import iter_books, reference_states, states_frame
from postloan.commands.demo import sample_feeds_dir
from postloan.domain.loan_state import loan_state_as_of
from postloan.domain.policy import ServicingPolicy
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store.repository import (
    get_loan_terms,
    get_marks,
    get_schedule,
    get_transactions,
    loans_frame,
    marks_frame,
    schedules_frame,
    transactions_frame,
)

ON = date(2026, 10, 31)


def test_frames_and_repository_give_the_same_states(store: Store) -> None:
    report = import_directory(sample_feeds_dir(), store)
    assert report.rejected == 0
    policy = ServicingPolicy.default()
    with store.begin() as conn:
        frames = (
            loans_frame(conn),
            schedules_frame(conn),
            transactions_frame(conn),
            marks_frame(conn),
        )
        one_by_one = [
            loan_state_as_of(
                get_loan_terms(conn, loan_id),
                get_schedule(conn, loan_id),
                get_transactions(conn, loan_id),
                get_marks(conn, loan_id),
                ON,
                policy,
                loan_id=loan_id,
            )
            for loan_id in frames[0]["loan_id"].to_list()
        ]
    from_frames = reference_states(list(iter_books(*frames)), ON, policy)
    assert len(from_frames) == 47
    assert from_frames == one_by_one
    table = states_frame(from_frames)
    assert table.height == 47
    assert table["principal_outstanding"].sum() == sum(s.principal_outstanding for s in one_by_one)


def test_reference_states_frame_has_the_contract_schema(store: Store) -> None:
    from postloan.batch.reference import STATE_SCHEMA, reference_states_frame

    import_directory(sample_feeds_dir(), store)
    with store.begin() as conn:
        frames = (
            loans_frame(conn),
            schedules_frame(conn),
            transactions_frame(conn),
            marks_frame(conn),
        )
    table = reference_states_frame(*frames, ON, ServicingPolicy.default())
    assert dict(table.schema) == STATE_SCHEMA
    assert table["loan_id"].is_sorted() and table.height == 47
    assert set(table["classification"]) <= {
        "normal",
        "special_mention",
        "substandard",
        "doubtful",
        "loss",
    }
    # money is conserved in every row
    conserved = table.select(
        (
            pl.col("principal_paid")
            + pl.col("interest_paid")
            + pl.col("fee_paid")
            + pl.col("penalty_paid")
            + pl.col("credit_balance")
            + pl.col("advance_balance")
            + pl.col("recovered")
            == pl.col("total_paid")
        ).all()
    ).item()
    assert conserved
