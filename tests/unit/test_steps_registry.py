"""The step registry: default order, configuration that reorders and disables steps,
and the ConfigErrors a wrong ``eod:`` section gets."""

from __future__ import annotations

from typing import Any

import pytest

from postloan.batch.reference import STATE_COLUMNS
from postloan.batch.steps import (
    STATE_STEPS,
    STEP_COLUMNS,
    STEP_NAMES,
    partition_count_setting,
    resolve_steps,
)
from postloan.domain.errors import ConfigError


def names(section: Any) -> list[str]:
    return [s.name for s in resolve_steps(section)]


def test_default_order_is_the_issue_order() -> None:
    assert names(None) == [
        "ACCRUE_PENALTY",
        "ALLOCATE_PAYMENTS",
        "DAYS_PAST_DUE",
        "BUCKET",
        "CLASSIFY",
        "ROLL_EVENTS",
        "FEATURES",
        "SCORE",
        "ALERTS",
        "STRATEGY",
        "KPI_SNAPSHOT",
    ]
    assert names({}) == list(STEP_NAMES)


def test_every_state_column_is_owned_by_exactly_one_state_step() -> None:
    owned = [c for step in STATE_STEPS for c in STEP_COLUMNS[step]]
    assert len(owned) == len(set(owned))
    assert set(owned) | {"loan_id", "currency", "business_date"} == set(STATE_COLUMNS)


def test_steps_can_be_disabled_and_reordered() -> None:
    assert "FEATURES" not in names({"disabled": ["FEATURES", "SCORE"]})
    order = [*STATE_STEPS, "KPI_SNAPSHOT", "ROLL_EVENTS"]
    assert names({"steps": order}) == order


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"steps": ["NOPE"]}, "unknown step 'NOPE'"),
        ({"steps": [*STATE_STEPS, "KPI_SNAPSHOT", "KPI_SNAPSHOT"]}, "listed twice"),
        ({"disabled": ["BUCKET"]}, "one state computation"),
        ({"steps": ["KPI_SNAPSHOT", *STATE_STEPS]}, "come first"),
        ({"disabled": ["FEATURES"]}, "SCORE reads 'features'"),
        ({"steps": [*STATE_STEPS, "SCORE", "FEATURES"]}, "move it before SCORE"),
        ({"steps": "ROLL_EVENTS"}, "must be a list"),
        ({"colour": 1}, "unknown key 'colour'"),
        (["ROLL_EVENTS"], "must be a mapping"),
    ],
)
def test_bad_configuration_is_a_clear_config_error(section: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_steps(section)


def test_partition_setting() -> None:
    assert partition_count_setting(None) is None
    assert partition_count_setting({"partitions": 4}) == 4
    for bad in (0, -1, "4", True):
        with pytest.raises(ConfigError, match="positive whole number"):
            partition_count_setting({"partitions": bad})
