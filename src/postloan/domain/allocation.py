"""Allocation of a payment (or a waiver) across what is owed.

``allocate`` is pure: open amounts in, allocations per (seq, component) and the
leftover out. Money is conserved exactly: the allocations plus the leftover add
up to the amount, and no allocation exceeds what was open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from postloan.domain.errors import ValidationError
from postloan.domain.policy import AllocationOrder, Component


@dataclass(frozen=True, slots=True)
class Due:
    """What one instalment (or a stand-alone charge, ``seq=0``) still owes."""

    seq: int
    penalty: int = 0
    fee: int = 0
    interest: int = 0
    principal: int = 0

    def owed(self, component: Component) -> int:
        value: int = getattr(self, component.value)
        return value


@dataclass(frozen=True, slots=True)
class Allocation:
    seq: int
    component: Component
    amount: int
    index: int  # position of the due in the ``dues`` given to ``allocate``


@dataclass(frozen=True, slots=True)
class AllocationResult:
    allocations: tuple[Allocation, ...]
    leftover: int

    @property
    def allocated(self) -> int:
        return sum(a.amount for a in self.allocations)


def allocation_path(
    dues: Sequence[Due], order: AllocationOrder, components: Sequence[Component]
) -> list[tuple[int, Component]]:
    """(index into ``dues``, component) in the order money is applied.

    ``dues`` must already be oldest first. Vertical: each instalment in turn,
    ``components`` in order inside it. Horizontal: each component in turn
    across all instalments.
    """
    if order is AllocationOrder.VERTICAL:
        return [(i, c) for i in range(len(dues)) for c in components]
    return [(i, c) for c in components for i in range(len(dues))]


def allocate(
    amount: int,
    dues: Sequence[Due],
    components: Sequence[Component],
    order: AllocationOrder = AllocationOrder.VERTICAL,
) -> AllocationResult:
    """Apply ``amount`` to ``dues`` (oldest first) along the configured path."""
    if amount < 0:
        raise ValidationError(f"cannot allocate a negative amount ({amount})")
    left = amount
    out: list[Allocation] = []
    for i, component in allocation_path(dues, order, components):
        if left == 0:
            break
        take = min(left, dues[i].owed(component))
        if take > 0:
            out.append(Allocation(dues[i].seq, component, take, i))
            left -= take
    return AllocationResult(tuple(out), left)
