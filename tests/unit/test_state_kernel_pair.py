"""``loan_states_pair`` equals two ``loan_states`` calls (D - 1 and D), field by field.

The same books as ``test_state_kernel_parity``: simulated books on several dates (a
due date and the day after, month-ends, before many disbursements, walked in one
piece and in threaded parts) and generated books of edge cases under random
policies, with the business date often drawn from the book's own transaction,
due and mark dates so that day D's events (repayments, write-offs, held money
meeting a due date, restructurings, disbursements) are exercised.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from state_kernel_check import first_difference
from test_state_kernel_parity import POLICY, _frames, loan_st, policy_st

from postloan.batch.book import BookFrames
from postloan.batch.engines import compute_state_pair
from postloan.batch.state_kernel import loan_states, loan_states_pair, run_kernel_pair
from postloan.batch.state_kernel.simbook import store_frames
from postloan.domain.errors import ConfigError
from postloan.domain.policy import ServicingPolicy
from postloan.sim import simulate
from postloan.sim.config import SimConfig


def _same_pair(frames: tuple[pl.DataFrame, ...], on: date, policy: ServicingPolicy) -> int:
    before, today = loan_states_pair(*frames, on, policy)
    want_before = loan_states(*frames, on - timedelta(days=1), policy)
    want = loan_states(*frames, on, policy)
    problem = first_difference(before, want_before)
    assert problem is None, f"day before {on}: {problem}"
    problem = first_difference(today, want)
    assert problem is None, f"on {on}: {problem}"
    return want_before.height + want.height


@pytest.mark.parametrize(
    ("seed", "dates"),
    [
        (11, (date(2026, 6, 30), date(2026, 1, 15))),  # a month-end, mid-month
        (12, (date(2025, 11, 15), date(2025, 11, 16))),  # a due date, the day after
        (13, (date(2024, 9, 1), date(2026, 12, 31))),  # before many disbursements, late
    ],
)
def test_simulated_books_pair_equals_two_calls(seed: int, dates: tuple[date, ...]) -> None:
    frames = store_frames(simulate(SimConfig.default(), loans=3_000, months=30, seed=seed))
    assert min(_same_pair(frames, on, POLICY) for on in dates) > 0


def test_threaded_parts_and_fallback_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Walked in threaded parts the pair is the same; each date reports its own
    fallback loans, and loans disbursed on D appear on D only."""
    import postloan.batch.state_kernel as kernel

    frames = store_frames(simulate(SimConfig.default(), loans=1_500, months=24, seed=21))
    on = date(2025, 12, 31)
    monkeypatch.setattr(kernel, "PART_MIN_LOANS", 10)
    monkeypatch.setattr(kernel, "THREADS", 3)
    assert _same_pair(frames, on, POLICY) > 0
    loans = frames[0]
    new = loans.with_columns(disbursement_date=pl.lit(on), loan_id=pl.lit("ZNEW")).head(1)
    schedule = frames[1].filter(pl.col("loan_id") == loans["loan_id"][0])
    shifted = schedule.with_columns(
        loan_id=pl.lit("ZNEW"),
        due_date=pl.col("due_date") + (on - loans["disbursement_date"][0]),
    )
    grown = (pl.concat([loans, new]), pl.concat([frames[1], shifted]), *frames[2:])
    before, today = run_kernel_pair(*grown, on, POLICY)
    assert "ZNEW" in today.states["loan_id"].to_list()
    assert "ZNEW" not in before.states["loan_id"].to_list()
    assert before.native + len(before.fallback_ids) == before.states.height
    assert today.native + len(today.fallback_ids) == today.states.height
    assert _same_pair(grown, on, POLICY) > 0


def _event_days(frames: tuple[pl.DataFrame, ...]) -> list[date]:
    days: set[date] = set()
    days.update(frames[2]["value_date"].drop_nulls().to_list())
    days.update(frames[1]["due_date"].drop_nulls().to_list())
    days.update(frames[0]["disbursement_date"].drop_nulls().to_list())
    days.update(frames[3]["start_date"].drop_nulls().to_list())
    return sorted(days)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_generated_books_pair_equals_two_calls(data: st.DataObject) -> None:
    edgy = data.draw(st.booleans())
    books = data.draw(st.lists(loan_st(edgy), min_size=20, max_size=40))
    policy = data.draw(policy_st())
    frames = _frames(books)
    days = _event_days(frames)
    shift = data.draw(st.sampled_from((0, 0, 1, 2)))
    on = data.draw(
        st.one_of(
            st.sampled_from(days).map(lambda d: d + timedelta(days=shift)),
            st.dates(date(2023, 1, 1), date(2026, 6, 30)),
        )
    )
    _same_pair(frames, on, policy)


def test_compute_state_pair_on_every_engine_but_spark() -> None:
    """``engines.compute_state_pair``: the local pair pass equals the per-loan
    reference on both dates; an empty partition gives two empty frames."""
    frames = store_frames(simulate(SimConfig.default(), loans=300, months=18, seed=5))
    book = BookFrames(*frames)
    on = date(2025, 6, 30)
    local = compute_state_pair(book, on, POLICY, "local")
    reference = compute_state_pair(book, on, POLICY, "reference")
    for got, want in zip(local, reference, strict=True):
        assert want.height > 0
        assert first_difference(got, want) is None
    assert local[0]["business_date"].unique().to_list() == [on - timedelta(days=1)]
    empty = BookFrames(*(f.head(0) for f in frames))
    assert [f.height for f in compute_state_pair(empty, on, POLICY)] == [0, 0]
    with pytest.raises(ConfigError):
        compute_state_pair(book, on, POLICY, "quantum")
