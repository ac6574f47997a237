"""Servicing policy: every threshold the servicing rules use, with the defaults
DESIGN.md names. Products differ (credit cards, micro-loans), so nothing here is
hard-coded in the rules; ``ServicingPolicy.from_dict`` reads a configuration mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from postloan.domain.errors import ConfigError


class Component(StrEnum):
    """The parts of what an instalment owes, in the default allocation order."""

    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class AllocationOrder(StrEnum):
    VERTICAL = "vertical"  # oldest instalment first; components in order inside it
    HORIZONTAL = "horizontal"  # one component across all instalments, then the next


class CureRule(StrEnum):
    PERIODS = "periods"  # pay normally for N consecutive periods
    MONTHS = "months"  # pay normally for N months


class PrepaymentMode(StrEnum):
    SHORTEN_TERM = "shorten_term"  # keep the instalment, fewer instalments
    LOWER_INSTALMENT = "lower_instalment"  # keep the term, smaller instalments


class EarlyPayment(StrEnum):
    """What money received while nothing is due does (see ``ledger``)."""

    ADVANCE = "advance"  # held for the next instalment(s), applied as each falls due
    PREPAYMENT = "prepayment"  # all of it repays principal at once (re-amortized)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True, slots=True)
class AllocationPolicy:
    order: AllocationOrder = AllocationOrder.VERTICAL
    components: tuple[Component, ...] = tuple(Component)
    #: What a waiver forgives, in order; add ``principal`` to let waivers forgive it.
    waiver_components: tuple[Component, ...] = (
        Component.PENALTY,
        Component.FEE,
        Component.INTEREST,
    )

    def __post_init__(self) -> None:
        _check(
            sorted(self.components) == sorted(Component),
            "allocation.components must name penalty, fee, interest and principal once each",
        )
        _check(
            len(set(self.waiver_components)) == len(self.waiver_components),
            "allocation.waiver_components must not repeat a component",
        )


@dataclass(frozen=True, slots=True)
class PenaltyPolicy:
    """Penalty interest (罚息): daily on overdue principal at ``multiple`` × contract rate."""

    multiple: Decimal = Decimal("1.5")
    day_basis: int = 360
    #: Penalty-free days after a due date (penalty accrues from due + grace + 1).
    grace_days: int = 0
    #: Accrue here; set False when the core posts penalties as transactions.
    accrue: bool = True
    accrue_during_pause: bool = False

    def __post_init__(self) -> None:
        _check(self.multiple >= 0, "penalty.multiple must not be negative")
        _check(self.day_basis > 0, "penalty.day_basis must be positive")
        _check(self.grace_days >= 0, "penalty.grace_days must not be negative")


@dataclass(frozen=True, slots=True)
class DelinquencyPolicy:
    """Grace and materiality for days past due.

    An unpaid past-due amount counts only when it is above BOTH thresholds:
    ``materiality_absolute`` minor units and ``materiality_relative`` × exposure
    (the EU retail default definition uses EUR 100 and 1%).
    """

    grace_days: int = 0
    materiality_absolute: int = 0
    materiality_relative: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _check(self.grace_days >= 0, "delinquency.grace_days must not be negative")
        _check(self.materiality_absolute >= 0, "delinquency.materiality_absolute must be >= 0")
        _check(
            0 <= self.materiality_relative < 1,
            "delinquency.materiality_relative is a fraction of exposure in [0, 1)",
        )


@dataclass(frozen=True, slots=True)
class Bucket:
    """A DPD range ``[min_dpd, max_dpd]``; ``max_dpd=None`` is open-ended."""

    label: str
    min_dpd: int
    max_dpd: int | None = None


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("M0", 0, 0),
    Bucket("M1", 1, 30),
    Bucket("M2", 31, 60),
    Bucket("M3", 61, 90),
    Bucket("M4", 91, 120),
    Bucket("M5", 121, 150),
    Bucket("M6", 151, 180),
    Bucket("M7+", 181, None),
)


@dataclass(frozen=True, slots=True)
class BucketPolicy:
    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS
    charged_off_label: str = "WO"

    def __post_init__(self) -> None:
        _check(bool(self.buckets), "buckets: at least one bucket is needed")
        expected = 0
        for b in self.buckets:
            _check(
                b.min_dpd == expected,
                f"buckets: {b.label} starts at {b.min_dpd} DPD, expected {expected} "
                "(ranges must start at 0 and follow each other without gaps)",
            )
            if b.max_dpd is None:
                _check(b is self.buckets[-1], "buckets: only the last bucket may be open-ended")
                return
            _check(b.max_dpd >= b.min_dpd, f"buckets: {b.label} ends before it starts")
            expected = b.max_dpd + 1
        raise ConfigError("buckets: the last bucket must be open-ended (max_dpd: null)")


@dataclass(frozen=True, slots=True)
class ClassificationPolicy:
    """Five-category thresholds (商业银行金融资产风险分类办法, 2023)."""

    substandard_over_dpd: int = 90
    doubtful_over_dpd: int = 270
    loss_over_dpd: int = 360
    technical_delay_max_days: int = 7
    cure_rule: CureRule = CureRule.PERIODS
    cure_periods: int = 2
    cure_months: int = 6
    observation_min_periods: int = 2
    observation_min_months: int = 12

    def __post_init__(self) -> None:
        _check(
            0 <= self.substandard_over_dpd <= self.doubtful_over_dpd <= self.loss_over_dpd,
            "classification: substandard <= doubtful <= loss DPD thresholds",
        )
        _check(
            min(self.cure_periods, self.cure_months, self.observation_min_periods) >= 1
            and self.observation_min_months >= 0
            and self.technical_delay_max_days >= 0,
            "classification: cure and observation lengths must be positive",
        )


@dataclass(frozen=True, slots=True)
class Ifrs9Policy:
    stage2_over_dpd: int = 30
    stage3_over_dpd: int = 90
    probation_months: int = 3
    forborne_probation_months: int = 12

    def __post_init__(self) -> None:
        _check(
            0 <= self.stage2_over_dpd <= self.stage3_over_dpd,
            "ifrs9: stage 2 DPD threshold must not exceed the stage 3 threshold",
        )
        _check(
            self.probation_months >= 0 and self.forborne_probation_months >= 0,
            "ifrs9: probation months must not be negative",
        )


@dataclass(frozen=True, slots=True)
class PrepaymentPolicy:
    """Money paid ahead of the schedule.

    ``early_payment: advance`` (default) holds money received while nothing is due
    for the next ``advance_max_instalments`` instalments not yet due, up to their
    scheduled totals, and applies it to each on its due date; only money beyond
    them prepays principal. ``prepayment`` prepays principal with all of it.
    ``mode`` says how a principal prepayment re-amortizes the rest of the schedule.
    """

    mode: PrepaymentMode = PrepaymentMode.SHORTEN_TERM
    early_payment: EarlyPayment = EarlyPayment.ADVANCE
    advance_max_instalments: int = 1

    def __post_init__(self) -> None:
        _check(
            self.advance_max_instalments >= 1,
            "prepayment.advance_max_instalments must be at least 1 "
            "(for no advance, set prepayment.early_payment: prepayment)",
        )


@dataclass(frozen=True, slots=True)
class ServicingPolicy:
    allocation: AllocationPolicy = field(default_factory=AllocationPolicy)
    penalty: PenaltyPolicy = field(default_factory=PenaltyPolicy)
    delinquency: DelinquencyPolicy = field(default_factory=DelinquencyPolicy)
    buckets: BucketPolicy = field(default_factory=BucketPolicy)
    classification: ClassificationPolicy = field(default_factory=ClassificationPolicy)
    ifrs9: Ifrs9Policy = field(default_factory=Ifrs9Policy)
    prepayment: PrepaymentPolicy = field(default_factory=PrepaymentPolicy)

    @classmethod
    def default(cls) -> ServicingPolicy:
        return cls()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServicingPolicy:
        """Defaults overridden by a configuration mapping, e.g. parsed YAML::

            penalty: {multiple: "1.5", day_basis: 360}
            delinquency: {grace_days: 3, materiality_absolute: 10000}
            buckets: {buckets: [{label: M0, min_dpd: 0, max_dpd: 0}, ...]}

        Unknown sections or keys and ill-typed values raise ``ConfigError``.
        """
        policy = cls()
        changes = {}
        for section, values in data.items():
            if section not in {f.name for f in fields(cls)}:
                raise ConfigError(f"unknown servicing policy section {section!r}")
            if not isinstance(values, Mapping):
                raise ConfigError(f"servicing policy section {section!r} must be a mapping")
            changes[section] = _override(section, getattr(policy, section), values)
        return replace(policy, **changes)


def _override(section: str, current: Any, values: Mapping[str, Any]) -> Any:
    names = {f.name for f in fields(current)}
    parsed = {}
    for key, raw in values.items():
        if key not in names:
            raise ConfigError(f"unknown setting {section}.{key}; known: {', '.join(sorted(names))}")
        try:
            parsed[key] = _coerce(getattr(current, key), raw)
        except (TypeError, ValueError, KeyError, ArithmeticError):
            raise ConfigError(f"setting {section}.{key}: cannot use {raw!r}") from None
    return replace(current, **parsed)


def _coerce(default: Any, raw: Any) -> Any:
    """``raw`` converted to the type of ``default``."""
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise TypeError(raw)
        return raw
    if isinstance(default, StrEnum):
        return type(default)(raw)
    if isinstance(default, Decimal):
        if isinstance(raw, bool | float):
            raise TypeError("write decimals as strings or integers, not floats")
        return Decimal(str(raw))
    if isinstance(default, int):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise TypeError(raw)
        return raw
    if isinstance(default, tuple) and default and isinstance(default[0], Bucket):
        return tuple(
            Bucket(
                str(b["label"]),
                int(b["min_dpd"]),
                None if b.get("max_dpd") is None else int(b["max_dpd"]),
            )
            for b in raw
        )
    if isinstance(default, tuple):
        return tuple(Component(x) for x in raw)
    return str(raw)
