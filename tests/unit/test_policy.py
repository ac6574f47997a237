"""Servicing policy: defaults, validation and reading configuration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from postloan.domain.errors import ConfigError
from postloan.domain.policy import (
    AllocationOrder,
    AllocationPolicy,
    Bucket,
    Component,
    CureRule,
    EarlyPayment,
    PenaltyPolicy,
    PrepaymentMode,
    ServicingPolicy,
)


def test_defaults_are_those_of_the_design() -> None:
    p = ServicingPolicy.default()
    assert p.allocation.order is AllocationOrder.VERTICAL
    assert p.allocation.components == (
        Component.PENALTY,
        Component.FEE,
        Component.INTEREST,
        Component.PRINCIPAL,
    )
    assert Component.PRINCIPAL not in p.allocation.waiver_components
    assert (p.penalty.multiple, p.penalty.day_basis) == (Decimal("1.5"), 360)
    assert (p.delinquency.grace_days, p.delinquency.materiality_absolute) == (0, 0)
    assert [b.label for b in p.buckets.buckets] == ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
    c = p.classification
    assert (c.substandard_over_dpd, c.doubtful_over_dpd, c.loss_over_dpd) == (90, 270, 360)
    assert (c.technical_delay_max_days, c.cure_rule, c.cure_periods, c.cure_months) == (
        7,
        CureRule.PERIODS,
        2,
        6,
    )
    assert (c.observation_min_periods, c.observation_min_months) == (2, 12)
    assert (p.ifrs9.stage2_over_dpd, p.ifrs9.stage3_over_dpd) == (30, 90)
    assert (p.ifrs9.probation_months, p.ifrs9.forborne_probation_months) == (3, 12)
    assert p.prepayment.early_payment is EarlyPayment.ADVANCE
    assert p.prepayment.advance_max_instalments == 1


def test_from_dict_overrides_only_what_it_names() -> None:
    p = ServicingPolicy.from_dict(
        {
            "allocation": {"order": "horizontal", "waiver_components": ["penalty", "principal"]},
            "penalty": {"multiple": "1.3", "day_basis": 365, "accrue_during_pause": True},
            "delinquency": {"grace_days": 3, "materiality_relative": "0.01"},
            "buckets": {
                "buckets": [
                    {"label": "C", "min_dpd": 0, "max_dpd": 0},
                    {"label": "D", "min_dpd": 1},
                ],
                "charged_off_label": "核销",
            },
            "classification": {"cure_rule": "months"},
            "prepayment": {
                "mode": "lower_instalment",
                "early_payment": "prepayment",
                "advance_max_instalments": 2,
            },
        }
    )
    assert p.allocation.order is AllocationOrder.HORIZONTAL
    assert p.allocation.waiver_components == (Component.PENALTY, Component.PRINCIPAL)
    assert p.penalty == PenaltyPolicy(Decimal("1.3"), 365, accrue_during_pause=True)
    assert p.delinquency.materiality_relative == Decimal("0.01")
    assert p.buckets.buckets == (Bucket("C", 0, 0), Bucket("D", 1, None))
    assert p.buckets.charged_off_label == "核销"
    assert p.classification.cure_rule is CureRule.MONTHS
    assert p.classification.cure_periods == 2
    assert p.prepayment.mode is PrepaymentMode.LOWER_INSTALMENT
    assert p.prepayment.early_payment is EarlyPayment.PREPAYMENT
    assert p.prepayment.advance_max_instalments == 2
    assert p.ifrs9 == ServicingPolicy.default().ifrs9


@pytest.mark.parametrize(
    "config",
    [
        {"penaltyy": {}},
        {"penalty": {"multiplier": "1.5"}},
        {"penalty": "1.5"},
        {"penalty": {"multiple": 1.5}},  # floats are refused: write "1.5"
        {"penalty": {"day_basis": "360"}},
        {"penalty": {"accrue": "yes"}},
        {"classification": {"cure_rule": "weeks"}},
        {"allocation": {"components": ["principal", "interest"]}},
        {"buckets": {"buckets": [{"label": "A", "min_dpd": 0, "max_dpd": 10}]}},
        {"buckets": {"buckets": [{"label": "A"}]}},
        {"delinquency": {"grace_days": -1}},
        {"delinquency": {"materiality_relative": "1.5"}},
        {"ifrs9": {"stage2_over_dpd": 100}},
        {"prepayment": {"early_payment": "sometimes"}},
        {"prepayment": {"advance_max_instalments": 0}},
        {"prepayment": {"advance_max_instalments": "1"}},
    ],
)
def test_bad_configuration_is_refused_with_a_config_error(config: dict) -> None:
    with pytest.raises(ConfigError):
        ServicingPolicy.from_dict(config)


def test_policies_are_values() -> None:
    assert ServicingPolicy.default() == ServicingPolicy()
    with pytest.raises(ConfigError):
        AllocationPolicy(components=(Component.PRINCIPAL,) * 4)
