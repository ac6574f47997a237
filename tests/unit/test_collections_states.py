"""The case, promise and task state machines accept exactly their tables' edges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.collections.states import (
    CASE_TRANSITIONS,
    OPEN_STATES,
    PROMISE_TRANSITIONS,
    TASK_TRANSITIONS,
    CaseState,
    PromiseState,
    TaskState,
    check_case_transition,
    check_promise_transition,
    check_task_transition,
)
from postloan.domain.errors import IllegalTransition


@given(st.sampled_from(list(CaseState)), st.sampled_from(list(CaseState)))
def test_a_case_moves_only_along_the_table(source: CaseState, target: CaseState) -> None:
    if target in CASE_TRANSITIONS[source]:
        assert check_case_transition(source, target) is target
    else:
        with pytest.raises(IllegalTransition, match=f"cannot move to {target}"):
            check_case_transition(source, target)


@given(st.lists(st.sampled_from(list(CaseState)), max_size=12))
def test_any_walk_of_the_machine_visits_only_allowed_edges(walk: list[CaseState]) -> None:
    state = CaseState.OPEN
    for target in walk:
        try:
            state = check_case_transition(state, target)
        except IllegalTransition:
            assert target not in CASE_TRANSITIONS[state]
        else:
            assert state is target


@given(st.sampled_from(list(PromiseState)), st.sampled_from(list(PromiseState)))
def test_promise_edges(source: PromiseState, target: PromiseState) -> None:
    if target in PROMISE_TRANSITIONS[source]:
        check_promise_transition(source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_promise_transition(source, target)


@given(st.sampled_from(list(TaskState)), st.sampled_from(list(TaskState)))
def test_task_edges(source: TaskState, target: TaskState) -> None:
    if target in TASK_TRANSITIONS[source]:
        check_task_transition(source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_task_transition(source, target)


def test_the_table_covers_every_state_and_closed_is_final() -> None:
    assert set(CASE_TRANSITIONS) == set(CaseState)
    assert CASE_TRANSITIONS[CaseState.CLOSED] == frozenset()
    assert CaseState.RESOLVED not in OPEN_STATES and CaseState.LEGAL in OPEN_STATES
    # every state is reachable from open
    seen, todo = {CaseState.OPEN}, [CaseState.OPEN]
    while todo:
        for nxt in CASE_TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(CaseState)


def test_unknown_states_are_named() -> None:
    with pytest.raises(IllegalTransition, match="unknown case state"):
        check_case_transition("open", "paid")
