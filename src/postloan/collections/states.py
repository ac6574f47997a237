"""The case, promise and task state machines: ``StrEnum`` states with transition tables.

Only the edges listed here are legal; anything else raises ``IllegalTransition``.
Restructuring, legal, agency and write-off states are in the table now so that
the later half of issue 6 only adds the work inside them.
"""

from __future__ import annotations

from enum import StrEnum

from postloan.domain.errors import IllegalTransition


class CaseState(StrEnum):
    OPEN = "open"
    CONTACTED = "contacted"
    PROMISE_TO_PAY = "promise_to_pay"
    BROKEN_PROMISE = "broken_promise"
    HARDSHIP = "hardship"
    RESTRUCTURING = "restructuring"
    LEGAL = "legal"
    AGENCY = "agency"
    RESOLVED = "resolved"
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"


_S = CaseState
#: Working states from which the case can still escalate or end.
_WORKING = (
    _S.OPEN,
    _S.CONTACTED,
    _S.PROMISE_TO_PAY,
    _S.BROKEN_PROMISE,
    _S.HARDSHIP,
)
CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    _S.OPEN: frozenset(
        {_S.CONTACTED, _S.PROMISE_TO_PAY, _S.HARDSHIP, _S.LEGAL, _S.AGENCY, _S.RESOLVED}
    ),
    _S.CONTACTED: frozenset(
        {_S.PROMISE_TO_PAY, _S.HARDSHIP, _S.RESTRUCTURING, _S.LEGAL, _S.AGENCY, _S.RESOLVED}
    ),
    _S.PROMISE_TO_PAY: frozenset({_S.CONTACTED, _S.BROKEN_PROMISE, _S.RESOLVED}),
    _S.BROKEN_PROMISE: frozenset(
        {_S.CONTACTED, _S.PROMISE_TO_PAY, _S.HARDSHIP, _S.LEGAL, _S.AGENCY, _S.RESOLVED}
    ),
    _S.HARDSHIP: frozenset({_S.CONTACTED, _S.PROMISE_TO_PAY, _S.RESTRUCTURING, _S.RESOLVED}),
    _S.RESTRUCTURING: frozenset({_S.CONTACTED, _S.BROKEN_PROMISE, _S.LEGAL, _S.RESOLVED}),
    _S.LEGAL: frozenset({_S.AGENCY, _S.RESOLVED, _S.WRITTEN_OFF}),
    _S.AGENCY: frozenset({_S.CONTACTED, _S.LEGAL, _S.RESOLVED, _S.WRITTEN_OFF}),
    _S.RESOLVED: frozenset({_S.CLOSED, _S.OPEN}),  # re-opened when the loan rolls back
    _S.WRITTEN_OFF: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
}
#: States in which a case counts as the borrower's one open case.
OPEN_STATES = frozenset(set(CaseState) - {_S.RESOLVED, _S.WRITTEN_OFF, _S.CLOSED})
WORKING_STATES = frozenset(_WORKING)


def can_move(source: CaseState, target: CaseState) -> bool:
    return target in CASE_TRANSITIONS[source]


def check_case_transition(source: CaseState | str, target: CaseState | str) -> CaseState:
    """The target state when ``source → target`` is an edge, else ``IllegalTransition``."""
    try:
        src, dst = CaseState(source), CaseState(target)
    except ValueError:
        known = ", ".join(CaseState)
        raise IllegalTransition(
            f"unknown case state in {source!r} → {target!r}; states are {known}"
        ) from None
    if not can_move(src, dst):
        allowed = ", ".join(sorted(CASE_TRANSITIONS[src])) or "none (final state)"
        raise IllegalTransition(
            f"a case in state {src} cannot move to {dst}; allowed from {src}: {allowed}"
        )
    return dst


class PromiseState(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


PROMISE_TRANSITIONS: dict[PromiseState, frozenset[PromiseState]] = {
    PromiseState.OPEN: frozenset({PromiseState.KEPT, PromiseState.BROKEN, PromiseState.CANCELLED}),
    PromiseState.KEPT: frozenset(),
    PromiseState.BROKEN: frozenset(),
    PromiseState.CANCELLED: frozenset(),
}


def check_promise_transition(source: PromiseState | str, target: PromiseState | str) -> None:
    src, dst = PromiseState(source), PromiseState(target)
    if dst not in PROMISE_TRANSITIONS[src]:
        raise IllegalTransition(f"a promise that is {src} cannot become {dst}")


class TaskState(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    DONE = "done"
    CANCELLED = "cancelled"


TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.OPEN: frozenset({TaskState.ESCALATED, TaskState.DONE, TaskState.CANCELLED}),
    TaskState.ESCALATED: frozenset({TaskState.DONE, TaskState.CANCELLED}),
    TaskState.DONE: frozenset(),
    TaskState.CANCELLED: frozenset(),
}


def check_task_transition(source: TaskState | str, target: TaskState | str) -> None:
    src, dst = TaskState(source), TaskState(target)
    if dst not in TASK_TRANSITIONS[src]:
        raise IllegalTransition(f"a task that is {src} cannot become {dst}")


class ContactOutcome(StrEnum):
    RIGHT_PARTY = "right_party"
    THIRD_PARTY = "third_party"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    PROMISE = "promise"


#: Outcomes that reached the borrower: the case moves to ``contacted``.
REACHED = frozenset({ContactOutcome.RIGHT_PARTY, ContactOutcome.REFUSED, ContactOutcome.PROMISE})
