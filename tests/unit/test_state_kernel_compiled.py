"""The compiled kernel's own calendar and search helpers against the domain's.

The parity tests hold the whole kernel to the per-loan reference; these pin the
small pieces the compiled loops rely on over their full input ranges, including
dates no simulated book reaches (leap days, centuries, before 1970)."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.batch.state_kernel import compiled, compiled_book
from postloan.batch.state_kernel.dates import NEVER, NONE, add_months_days, day_number
from postloan.domain.calendar import add_months

days = st.dates(min_value=date(1601, 1, 1), max_value=date(2399, 12, 31))


@settings(deadline=None)  # the first call loads (or compiles) the compiled code
@given(days, st.integers(min_value=-240, max_value=240))
def test_add_months_matches_the_domain(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert compiled.add_months(day_number(day), months) == day_number(moved)
    vector = add_months_days(np.array([day_number(day)], np.int64), months)
    assert int(vector[0]) == day_number(moved)


def test_add_months_leaves_none_and_never_alone() -> None:
    assert compiled.add_months(NONE, 3) == NONE
    assert compiled.add_months(NEVER, -3) == NEVER


def test_month_end_clamps_on_leap_and_century_years() -> None:
    cases = {
        (date(2024, 1, 31), 1): date(2024, 2, 29),
        (date(2100, 1, 31), 1): date(2100, 2, 28),
        (date(2000, 3, 31), -1): date(2000, 2, 29),
        (date(1969, 12, 31), 2): date(1970, 2, 28),
    }
    for (day, months), want in cases.items():
        assert compiled.add_months(day_number(day), months) == day_number(want)


@settings(deadline=None)
@given(
    st.lists(st.integers(min_value=-50, max_value=50), min_size=0, max_size=30),
    st.integers(min_value=-60, max_value=60),
)
def test_after_is_a_right_searchsorted_within_the_range(values: list[int], x: int) -> None:
    ordered = np.array(sorted(values), np.int64)
    padded = np.concatenate((np.array([-99], np.int64), ordered, np.array([99], np.int64)))
    found = compiled._after(padded.reshape(1, -1), 0, 1, 1 + ordered.size, x)
    assert found == 1 + int(np.searchsorted(ordered, x, side="right"))


def _merged_by_hand(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Per loan, the union of its day spans as maximal runs of consecutive days."""
    out = []
    for k in sorted({s[0] for s in spans}):
        days = sorted({d for kk, lo, hi in spans if kk == k for d in range(lo, hi + 1)})
        start = prev = days[0]
        for d in days[1:]:
            if d != prev + 1:
                out.append((k, start, prev))
                start = d
            prev = d
        out.append((k, start, prev))
    return out


span = st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 12))


@settings(deadline=None)
@given(st.lists(span, max_size=12))
def test_merged_spans_are_the_union_of_each_loans_spans(raw: list[tuple[int, int, int]]) -> None:
    spans = [(k, lo, lo + length) for k, lo, length in raw]
    spans.sort(key=lambda s: (s[0], s[1]))
    k, lo, hi = (np.array([s[i] for s in spans], np.int64) for i in range(3))
    got = compiled_book.merged_spans(k, lo, hi)
    assert list(zip(*(a.tolist() for a in got), strict=True)) == _merged_by_hand(spans)
