"""The ``collections:`` section of ``config.yaml``: action costs, promise rules,
collectors (when no user store lists them) and the escalation supervisor.

::

    collections:
      costs: {sms: 5, email_letter: 2, call: 300}   # minor units per action
      promises: {grace_days: 3, tolerance: "0.05"}
      supervisor: sup1                              # SLA escalations go here
      collectors:
        - {username: c1, capacity: 40, skills: [phone], regions: [CN-31], supervisor: sup1}

Pure: it validates an already parsed mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from postloan.collections.promises import PromiseRules
from postloan.collections.strategy import ACTION_TYPES
from postloan.domain.errors import ConfigError

#: Default cost per action in minor units (fen): what a bank pays per SMS, letter,
#: call, visit … Replace them with your own in ``collections.costs``.
DEFAULT_COSTS: dict[str, int] = {
    "pre_due_reminder": 5,
    "sms": 5,
    "email_letter": 2,
    "call": 300,
    "field_visit": 8000,
    "restructuring_offer": 1500,
    "legal_referral": 50000,
    "agency_placement": 2000,
    "write_off_review": 1000,
}
DEFAULT_CAPACITY = 50


@dataclass(frozen=True, slots=True)
class Collector:
    username: str
    capacity: int = DEFAULT_CAPACITY
    skills: frozenset[str] = frozenset({"phone"})
    regions: frozenset[str] | None = None  # None: every region
    supervisor: str | None = None


@dataclass(frozen=True, slots=True)
class CollectionsSettings:
    costs: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_COSTS))
    promises: PromiseRules = field(default_factory=PromiseRules)
    collectors: tuple[Collector, ...] = ()
    supervisor: str = "supervisor"
    #: Restructuring affordability: new instalment ÷ monthly income must not exceed it.
    max_debt_ratio: Decimal = Decimal("0.5")


def _where(key: str) -> str:
    return f"config.yaml: collections.{key}"


def parse_settings(section: Any) -> CollectionsSettings:
    if section is None:
        return CollectionsSettings()
    if not isinstance(section, dict):
        raise ConfigError("config.yaml: collections must be a mapping")
    extra = set(section) - {"costs", "promises", "collectors", "supervisor", "restructuring"}
    if extra:
        raise ConfigError(_where(f"{sorted(extra)[0]}: unknown key"))
    costs = dict(DEFAULT_COSTS)
    for name, value in (section.get("costs") or {}).items():
        if name not in ACTION_TYPES:
            raise ConfigError(_where(f"costs.{name}: unknown action; known: {', '.join(costs)}"))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(_where(f"costs.{name}: a cost in minor units (≥ 0), not {value!r}"))
        costs[name] = value
    raw = section.get("promises") or {}
    try:
        promises = PromiseRules(
            grace_days=int(raw.get("grace_days", 3)),
            tolerance=Decimal(str(raw.get("tolerance", "0.05"))),
        )
    except (InvalidOperation, ValueError, TypeError):
        raise ConfigError(
            _where("promises: grace_days is whole days, tolerance a decimal")
        ) from None
    collectors = []
    for i, item in enumerate(section.get("collectors") or []):
        if not isinstance(item, dict) or not isinstance(item.get("username"), str):
            raise ConfigError(_where(f"collectors[{i}]: needs a username"))
        capacity = item.get("capacity", DEFAULT_CAPACITY)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ConfigError(_where(f"collectors[{i}].capacity: a whole number ≥ 0"))
        regions = item.get("regions")
        collectors.append(
            Collector(
                username=item["username"],
                capacity=capacity,
                skills=frozenset(item.get("skills") or ["phone"]),
                regions=None if regions is None else frozenset(regions),
                supervisor=item.get("supervisor"),
            )
        )
    restructuring = section.get("restructuring") or {}
    if not isinstance(restructuring, dict) or set(restructuring) - {"max_debt_ratio"}:
        raise ConfigError(_where("restructuring: only max_debt_ratio (a decimal) is known"))
    try:
        ratio = Decimal(str(restructuring.get("max_debt_ratio", "0.5")))
    except InvalidOperation:
        raise ConfigError(_where("restructuring.max_debt_ratio: a decimal such as 0.5")) from None
    if not Decimal(0) < ratio <= Decimal(1):
        raise ConfigError(_where(f"restructuring.max_debt_ratio: in (0, 1], not {ratio}"))
    return CollectionsSettings(
        max_debt_ratio=ratio,
        costs=costs,
        promises=promises,
        collectors=tuple(collectors),
        supervisor=str(section.get("supervisor", "supervisor")),
    )
