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
_ENDED = frozenset({_S.RESOLVED, _S.WRITTEN_OFF, _S.CLOSED})
_BASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
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
    _S.LEGAL: frozenset({_S.AGENCY, _S.RESOLVED}),
    _S.AGENCY: frozenset({_S.CONTACTED, _S.LEGAL, _S.RESOLVED}),
    _S.RESOLVED: frozenset({_S.CLOSED, _S.OPEN}),  # re-opened when the loan rolls back
    _S.WRITTEN_OFF: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
}
#: An approved write-off ends a case from any state in which it is still open.
CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    source: targets | ({_S.WRITTEN_OFF} if source not in _ENDED else frozenset())
    for source, targets in _BASE_TRANSITIONS.items()
}
#: States in which a case counts as the borrower's one open case.
OPEN_STATES = frozenset(set(CaseState) - _ENDED)
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
    COMPLAINT = "complaint"  # the borrower complained about the collection


#: Outcomes that reached the borrower: the case moves to ``contacted``.
REACHED = frozenset({ContactOutcome.RIGHT_PARTY, ContactOutcome.REFUSED, ContactOutcome.PROMISE})


class LegalState(StrEnum):
    """A legal case: referral, filing, hearing, judgment, enforcement, recovery, closure."""

    REFERRED = "referred"
    FILED = "filed"
    HEARING = "hearing"
    JUDGMENT = "judgment"
    ENFORCEMENT = "enforcement"
    RECOVERY = "recovery"
    CLOSED = "closed"


_L = LegalState
LEGAL_TRANSITIONS: dict[LegalState, frozenset[LegalState]] = {
    _L.REFERRED: frozenset({_L.FILED, _L.CLOSED}),  # closed: withdrawn before filing
    _L.FILED: frozenset({_L.HEARING, _L.CLOSED}),  # closed: settled out of court
    _L.HEARING: frozenset({_L.JUDGMENT, _L.CLOSED}),
    _L.JUDGMENT: frozenset({_L.ENFORCEMENT, _L.RECOVERY, _L.CLOSED}),
    _L.ENFORCEMENT: frozenset({_L.RECOVERY, _L.CLOSED}),
    _L.RECOVERY: frozenset({_L.ENFORCEMENT, _L.CLOSED}),
    _L.CLOSED: frozenset(),
}
#: The date column a legal case records when it enters each state.
LEGAL_DATE_COLUMN: dict[LegalState, str] = {
    _L.REFERRED: "referred_on",
    _L.FILED: "filed_on",
    _L.HEARING: "hearing_on",
    _L.JUDGMENT: "judgment_on",
    _L.ENFORCEMENT: "enforcement_on",
    _L.CLOSED: "closed_on",
}


def check_legal_transition(source: LegalState | str, target: LegalState | str) -> LegalState:
    try:
        src, dst = LegalState(source), LegalState(target)
    except ValueError:
        known = ", ".join(LegalState)
        raise IllegalTransition(
            f"unknown legal state in {source!r} → {target!r}; states are {known}"
        ) from None
    if dst not in LEGAL_TRANSITIONS[src]:
        allowed = ", ".join(sorted(LEGAL_TRANSITIONS[src])) or "none (closed)"
        raise IllegalTransition(
            f"a legal case in state {src} cannot move to {dst}; allowed from {src}: {allowed}"
        )
    return dst


class PlacementState(StrEnum):
    PLACED = "placed"
    RECALLED = "recalled"


PLACEMENT_TRANSITIONS: dict[PlacementState, frozenset[PlacementState]] = {
    PlacementState.PLACED: frozenset({PlacementState.RECALLED}),
    PlacementState.RECALLED: frozenset(),
}


def check_placement_transition(source: PlacementState | str, target: PlacementState | str) -> None:
    src, dst = PlacementState(source), PlacementState(target)
    if dst not in PLACEMENT_TRANSITIONS[src]:
        raise IllegalTransition(f"an agency placement that is {src} cannot become {dst}")


class ConcessionState(StrEnum):
    PROPOSED = "proposed"
    APPLIED = "applied"
    REJECTED = "rejected"
