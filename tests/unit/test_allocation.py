"""Allocation of a payment: oldest instalment first, penalty → fee → interest → principal."""

from __future__ import annotations

import pytest

from postloan.domain.allocation import Allocation, Due, allocate
from postloan.domain.errors import ValidationError
from postloan.domain.policy import AllocationOrder, Component

P, F, INT, PR = Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL
DEFAULT = (P, F, INT, PR)
DUES = [Due(1, penalty=10, fee=20, interest=30, principal=100), Due(2, 5, 0, 30, 100)]


def pairs(result_allocations: tuple[Allocation, ...]) -> list[tuple[int, Component, int]]:
    return [(a.seq, a.component, a.amount) for a in result_allocations]


def test_vertical_pays_the_oldest_instalment_first_component_by_component() -> None:
    result = allocate(170, DUES, DEFAULT)
    assert pairs(result.allocations) == [
        (1, P, 10),
        (1, F, 20),
        (1, INT, 30),
        (1, PR, 100),
        (2, P, 5),
        (2, INT, 5),
    ]
    assert result.leftover == 0


def test_horizontal_pays_each_component_across_instalments_first() -> None:
    result = allocate(60, DUES, DEFAULT, AllocationOrder.HORIZONTAL)
    assert pairs(result.allocations) == [(1, P, 10), (2, P, 5), (1, F, 20), (1, INT, 25)]


def test_leftover_when_everything_is_paid() -> None:
    result = allocate(1_000, DUES, DEFAULT)
    assert result.leftover == 1_000 - 295
    assert result.allocated == 295


def test_a_configured_order_is_followed() -> None:
    result = allocate(110, DUES[:1], (PR, INT, F, P))
    assert pairs(result.allocations) == [(1, PR, 100), (1, INT, 10)]


def test_allocations_point_back_at_their_due() -> None:
    charges = [Due(0, fee=7), Due(0, fee=9)]  # two stand-alone charges share seq 0
    result = allocate(16, charges, DEFAULT)
    assert [(a.index, a.amount) for a in result.allocations] == [(0, 7), (1, 9)]


def test_nothing_to_allocate() -> None:
    assert allocate(0, DUES, DEFAULT).allocations == ()
    assert allocate(50, [], DEFAULT).leftover == 50


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValidationError):
        allocate(-1, DUES, DEFAULT)
