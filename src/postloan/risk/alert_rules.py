"""Alert rules and the alert state machine: pure, no database or file I/O.

A rule is data (YAML, :file:`default_alert_rules.yaml`, overridable in
``config.yaml`` ``alerts:``): an id, a condition (a SQL boolean expression that
Polars compiles, ``pl.sql_expr``), a severity, an owner (routed by role and
team), an episode that makes the dedup key ``rule:loan:episode``, and an SLA.
:func:`evaluate` turns the alert base frame (one row per loan, see
``postloan.risk.alerts.BASE_COLUMNS``) into the day's candidates, vectorised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import polars as pl

from postloan.domain.errors import ConfigError, IllegalTransition


class AlertState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ACTIONED = "actioned"
    CLOSED = "closed"


#: Allowed moves. Closing straight from new/acknowledged records a false alarm.
TRANSITIONS: dict[AlertState, frozenset[AlertState]] = {
    AlertState.NEW: frozenset({AlertState.ACKNOWLEDGED, AlertState.CLOSED}),
    AlertState.ACKNOWLEDGED: frozenset({AlertState.ACTIONED, AlertState.CLOSED}),
    AlertState.ACTIONED: frozenset({AlertState.CLOSED}),
    AlertState.CLOSED: frozenset(),
}


def transition(current: str, target: str) -> AlertState:
    """The new state, or :class:`IllegalTransition` when the move is not allowed."""
    try:
        src, dst = AlertState(current), AlertState(target)
    except ValueError as exc:
        raise IllegalTransition(f"unknown alert state in {current!r} → {target!r}") from exc
    if dst not in TRANSITIONS[src]:
        allowed = ", ".join(sorted(TRANSITIONS[src])) or "none (closed is final)"
        raise IllegalTransition(f"an alert cannot go from {src} to {dst}; allowed: {allowed}")
    return dst


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


OWNERS = ("auto", "loan_officer", "collections")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Route:
    """Who owns an alert: a role, a team and (optionally) a user, as templates over
    the alert base columns (``"{branch}"``, ``"collections-{bucket}"``)."""

    role: str
    team: str | None
    user: str | None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    when: str
    severity: Severity
    episode: str
    owner: str
    sla_hours: int
    title: Mapping[str, str]

    def condition(self) -> pl.Expr:
        return pl.sql_expr(self.when)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    routing: Mapping[str, Route]

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with id, when, severity, episode, …")
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise ConfigError(f"{where}: id must be lower_snake_case text, not {rid!r}")
    when = raw.get("when")
    if not isinstance(when, str) or not when.strip():
        raise ConfigError(f"alert rule {rid}: `when` must be a SQL condition, e.g. 'dpd > 0'")
    try:
        pl.sql_expr(when)
    except Exception as exc:  # polars raises several types for bad SQL
        raise ConfigError(f"alert rule {rid}: cannot read `when: {when}`: {exc}") from exc
    try:
        severity = Severity(str(raw.get("severity", "medium")))
    except ValueError:
        raise ConfigError(
            f"alert rule {rid}: severity must be one of {', '.join(Severity)}"
        ) from None
    owner = str(raw.get("owner", "auto"))
    if owner not in OWNERS:
        raise ConfigError(f"alert rule {rid}: owner must be one of {', '.join(OWNERS)}")
    sla = raw.get("sla_hours", 24)
    if not isinstance(sla, int) or isinstance(sla, bool) or sla <= 0:
        raise ConfigError(f"alert rule {rid}: sla_hours must be a positive whole number")
    title = raw.get("title") or {}
    if not isinstance(title, Mapping):
        raise ConfigError(f"alert rule {rid}: title must map languages to text")
    return Rule(
        rid,
        when,
        severity,
        str(raw.get("episode", "month")),
        owner,
        sla,
        {str(k): str(v) for k, v in title.items()},
    )


def _route(name: str, raw: Any) -> Route:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("role"), str):
        raise ConfigError(f"alerts.routing.{name} needs a role (e.g. role: collector)")
    team, user = raw.get("team"), raw.get("user")
    return Route(str(raw["role"]), None if team is None else str(team), user and str(user))


def merge(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """The default rule file with ``config.yaml``'s ``alerts:`` applied: rules merge
    field by field by id (``enabled: false`` drops one), routing by owner name."""
    if not override:
        return dict(base)
    if not isinstance(override, Mapping):
        raise ConfigError("alerts: must be a mapping with rules and routing")
    rules = {r["id"]: dict(r) for r in base.get("rules", []) if isinstance(r, Mapping)}
    for raw in override.get("rules", []) or []:
        if not isinstance(raw, Mapping) or "id" not in raw:
            raise ConfigError("alerts.rules: every entry needs an id")
        rules[str(raw["id"])] = {**rules.get(str(raw["id"]), {}), **raw}
    routing = {**base.get("routing", {}), **(override.get("routing") or {})}
    return {"rules": list(rules.values()), "routing": routing}


def parse_rules(raw: Mapping[str, Any]) -> RuleSet:
    """A :class:`RuleSet` from the merged YAML data (checked; ConfigError says what to fix)."""
    rules = tuple(
        _rule(r, f"alerts.rules[{i}]")
        for i, r in enumerate(raw.get("rules") or [])
        if not (isinstance(r, Mapping) and r.get("enabled") is False)
    )
    ids = [r.id for r in rules]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise ConfigError(f"alert rule {dup} is defined twice")
    routing = {name: _route(name, v) for name, v in (raw.get("routing") or {}).items()}
    for needed in ("loan_officer", "collections"):
        if needed not in routing:
            raise ConfigError(f"alerts.routing.{needed} is missing (role, team, user)")
    return RuleSet(rules, routing)


def used_columns(rules: RuleSet) -> set[str]:
    """Every alert base column the rules, episodes and routes name (plus the keys)."""
    used = {"loan_id", "borrower_id", "dpd"}
    for rule in rules.rules:
        used.update(rule.condition().meta.root_names())
        if rule.episode not in ("date", "month"):
            used.add(rule.episode)
    for route in rules.routing.values():
        for text in (route.team, route.user):
            used.update(_FIELD.findall(text or ""))
    return used


def check_columns(rules: RuleSet, columns: Iterable[str]) -> None:
    """Every column a rule, an episode or a route names exists in the alert base."""
    known = set(columns)
    for rule in rules.rules:
        for name in rule.condition().meta.root_names():
            if name not in known:
                raise ConfigError(
                    f"alert rule {rule.id}: unknown column {name!r} in `when`; "
                    "see docs/alerts.md for the columns rules can use"
                )
        if rule.episode not in ("date", "month") and rule.episode not in known:
            raise ConfigError(f"alert rule {rule.id}: episode {rule.episode!r} is not a column")
    for name, route in rules.routing.items():
        for text in (route.team, route.user):
            for field in _FIELD.findall(text or ""):
                if field not in known:
                    raise ConfigError(f"alerts.routing.{name}: unknown column {field!r}")


def template(text: str | None) -> pl.Expr:
    """``"collections-{bucket}"`` as a Utf8 expression (null when a named column is)."""
    if text is None:
        return pl.lit(None, dtype=pl.Utf8)
    parts: list[pl.Expr] = []
    pos = 0
    for m in _FIELD.finditer(text):
        if m.start() > pos:
            parts.append(pl.lit(text[pos : m.start()]))
        parts.append(pl.col(m.group(1)).cast(pl.Utf8))
        pos = m.end()
    if pos < len(text):
        parts.append(pl.lit(text[pos:]))
    return pl.concat_str(parts) if parts else pl.lit("")


def _episode(rule: Rule, business_date: date) -> pl.Expr:
    if rule.episode == "date":
        return pl.lit(business_date.isoformat())
    if rule.episode == "month":
        return pl.lit(business_date.strftime("%Y-%m"))
    return pl.col(rule.episode).cast(pl.Utf8).fill_null("-")


def _detail(rule: Rule) -> pl.Expr:
    """The values the rule looked at, as JSON (why the alert was raised)."""
    names = sorted({"dpd", *rule.condition().meta.root_names()})
    return pl.struct([pl.col(n).cast(pl.Utf8) for n in names]).struct.json_encode().alias("detail")


CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "alert_key": pl.Utf8(),
    "rule_id": pl.Utf8(),
    "loan_id": pl.Utf8(),
    "borrower_id": pl.Utf8(),
    "severity": pl.Utf8(),
    "owner_role": pl.Utf8(),
    "owner_team": pl.Utf8(),
    "owner_user": pl.Utf8(),
    "sla_hours": pl.Int32(),
    "detail": pl.Utf8(),
}


def evaluate(base: pl.DataFrame, rules: RuleSet, business_date: date) -> pl.DataFrame:
    """Today's alert candidates (:data:`CANDIDATE_SCHEMA`), one per rule and loan that
    matches; ``owner: auto`` routes performing loans (DPD 0) to the loan officer and
    delinquent ones to collections."""
    check_columns(rules, base.columns)
    officer, coll = rules.routing["loan_officer"], rules.routing["collections"]
    pieces = []
    for rule in rules.rules:
        hit = base.filter(rule.condition().fill_null(False))
        if hit.height == 0:
            continue
        if rule.owner == "auto":
            late = pl.col("dpd") > 0
            role = pl.when(late).then(pl.lit(coll.role)).otherwise(pl.lit(officer.role))
            team = pl.when(late).then(template(coll.team)).otherwise(template(officer.team))
            user = pl.when(late).then(template(coll.user)).otherwise(template(officer.user))
        else:
            route = officer if rule.owner == "loan_officer" else coll
            role, team, user = pl.lit(route.role), template(route.team), template(route.user)
        pieces.append(
            hit.select(
                pl.concat_str(
                    [pl.lit(rule.id), pl.col("loan_id"), _episode(rule, business_date)],
                    separator=":",
                ).alias("alert_key"),
                pl.lit(rule.id).alias("rule_id"),
                pl.col("loan_id"),
                pl.col("borrower_id"),
                pl.lit(str(rule.severity)).alias("severity"),
                role.alias("owner_role"),
                team.alias("owner_team"),
                user.alias("owner_user"),
                pl.lit(rule.sla_hours, dtype=pl.Int32).alias("sla_hours"),
                _detail(rule),
            ).cast(pl.Schema(CANDIDATE_SCHEMA))
        )
    if not pieces:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    return pl.concat(pieces, how="vertical").unique("alert_key", keep="first", maintain_order=True)
