"""Queues and assignment, pure: which collector takes which task.

A task sits in the queue ``bucket/skill/region``. A collector can take it when
they have the skill, cover the region (or every region) and are below their
capacity of open tasks. Among those the least loaded one takes it (ties by
name), so the work spreads evenly, unless the case already has a collector who
can take it (continuity with the borrower). A task nobody can take stays
unassigned in its queue for a supervisor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from postloan.collections.settings import Collector


@dataclass(frozen=True, slots=True)
class TaskToAssign:
    task_id: int
    skill: str
    region: str | None


def queue_name(bucket: str | None, skill: str, region: str | None) -> str:
    return f"{bucket or '-'}/{skill}/{region or '-'}"


def can_take(collector: Collector, task: TaskToAssign) -> bool:
    if task.skill not in collector.skills:
        return False
    return collector.regions is None or (task.region in collector.regions)


def balance(
    tasks: Iterable[TaskToAssign],
    collectors: Sequence[Collector],
    load: Mapping[str, int],
    preferred: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """Task id → collector for the tasks someone can take; ``load`` is open tasks now,
    ``preferred`` the collector of each task's case (if any)."""
    preferred = preferred or {}
    current = {c.username: int(load.get(c.username, 0)) for c in collectors}
    out: dict[int, str] = {}
    for task in sorted(tasks, key=lambda t: t.task_id):
        able = [c for c in collectors if can_take(c, task) and current[c.username] < c.capacity]
        if not able:
            continue
        own = [c for c in able if c.username == preferred.get(task.task_id)]
        best = own[0] if own else min(able, key=lambda c: (current[c.username], c.username))
        out[task.task_id] = best.username
        current[best.username] += 1
    return out
