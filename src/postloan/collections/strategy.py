"""A collections strategy as data: segments → treatment paths, validated on load.

A loan falls into the matching segment with the lowest ``priority`` number. Two
segments of the same priority that a loan could match both are an error
(overlap), and so is a segment that every loan it matches reaches through an
earlier one (unreachable). Both are found exactly by enumerating the segment
dimensions: every finite dimension by its values, each open one (bucket,
product, region) by the values any segment names plus "any other", and the
balance by the pieces between all the segments' bounds.

Pure: it takes the parsed document (a mapping) and names the source in messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from postloan.domain.errors import ValidationError

ANCHORS = ("due", "delinquency")
PROMISE_STATES = ("none", "open", "kept", "broken")
UNSCORED = "unscored"


@dataclass(frozen=True, slots=True)
class ActionType:
    name: str
    kind: str  # "automated" (a message to the outbox) | "human" (a task in a queue)
    channel: str | None  # automated: sms | email
    skill: str | None  # human: the collector skill the task needs
    anchor: str  # default anchor


ACTION_TYPES: dict[str, ActionType] = {
    a.name: a
    for a in (
        ActionType("pre_due_reminder", "automated", "sms", None, "due"),
        ActionType("sms", "automated", "sms", None, "delinquency"),
        ActionType("email_letter", "automated", "email", None, "delinquency"),
        ActionType("call", "human", None, "phone", "delinquency"),
        ActionType("field_visit", "human", None, "field", "delinquency"),
        ActionType("restructuring_offer", "human", None, "restructuring", "delinquency"),
        ActionType("legal_referral", "human", None, "legal", "delinquency"),
        ActionType("agency_placement", "human", None, "supervisor", "delinquency"),
        ActionType("write_off_review", "human", None, "supervisor", "delinquency"),
    )
}
MAX_OFFSET = 3650


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a treatment path: ``action`` at ``offset`` days from ``anchor``."""

    action: str
    anchor: str
    offset: int
    template: str
    sla_days: int = 1
    min_overdue: int = 0  # minor units: act only when at least this much is overdue
    no_open_promise: bool = False  # skip while the borrower has an open promise

    @property
    def kind(self) -> str:
        return ACTION_TYPES[self.action].kind


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    priority: int
    buckets: frozenset[str] | None = None  # None: any
    score_bands: frozenset[str] | None = None
    products: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    promise_states: frozenset[str] | None = None
    restructured: bool | None = None
    in_legal: bool | None = None
    balance_min: int = 0  # minor units, inclusive
    balance_max: int | None = None  # exclusive; None: no upper bound
    paths: Mapping[str, tuple[Action, ...]] = field(default_factory=dict)  # group → path

    def path(self, group: str) -> tuple[Action, ...]:
        return self.paths.get(group, self.paths["default"])


@dataclass(frozen=True, slots=True)
class ScoreBand:
    name: str
    low: float  # inclusive
    high: float | None  # exclusive


@dataclass(frozen=True, slots=True)
class Strategy:
    version: str
    name: str
    segments: tuple[Segment, ...]
    groups: Mapping[str, int]  # group → share in percent (sums to 100)
    salt: str
    score_column: str = "score"
    score_bands: tuple[ScoreBand, ...] = ()

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(self.groups)

    def actions(self) -> list[tuple[Segment, str, int, Action]]:
        """Every (segment, group, position, action) of the strategy."""
        out = []
        for seg in self.segments:
            for group in self.groups:
                for i, act in enumerate(seg.path(group)):
                    out.append((seg, group, i, act))
        return out


class _Errors:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{self.source}: {where}: {message}")


def _names(value: Any, where: str, errors: _Errors, allowed: Sequence[str] = ()) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        errors.add(where, "must be a non-empty list of names (or leave it out for any)")
        return frozenset()
    if allowed:
        bad = [v for v in value if v not in allowed]
        if bad:
            errors.add(where, f"unknown value {bad[0]!r}; allowed: {', '.join(allowed)}")
    return frozenset(value)


def _int(value: Any, where: str, errors: _Errors, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.add(where, f"must be a whole number from {low} to {high}, not {value!r}")
        return low
    return value


def _bool(value: Any, where: str, errors: _Errors) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        errors.add(where, f"must be true or false (or leave it out for either), not {value!r}")
        return None
    return value


def _action(raw: Any, where: str, errors: _Errors) -> Action | None:
    if not isinstance(raw, dict):
        errors.add(where, "must be a mapping with action, offset (and anchor, template …)")
        return None
    extra = set(raw) - {
        "action",
        "anchor",
        "offset",
        "template",
        "sla_days",
        "min_overdue",
        "no_open_promise",
    }
    if extra:
        errors.add(where, f"unknown key {sorted(extra)[0]!r}")
    name = raw.get("action")
    if name not in ACTION_TYPES:
        errors.add(f"{where}.action", f"unknown action {name!r}; known: {', '.join(ACTION_TYPES)}")
        return None
    kind = ACTION_TYPES[name]
    anchor = raw.get("anchor", kind.anchor)
    if anchor not in ANCHORS:
        errors.add(f"{where}.anchor", f"must be one of {', '.join(ANCHORS)}, not {anchor!r}")
    if "offset" not in raw:
        errors.add(f"{where}.offset", "is missing (days from the anchor, e.g. -3 or 30)")
        return None
    offset = _int(raw["offset"], f"{where}.offset", errors, -MAX_OFFSET, MAX_OFFSET)
    if anchor == "delinquency" and offset < 1:
        errors.add(f"{where}.offset", "must be at least 1 day after the delinquency start")
    if anchor == "due" and offset > 0 and name == "pre_due_reminder":
        errors.add(f"{where}.offset", "a pre-due reminder comes before the due date (offset < 0)")
    if kind.kind == "human" and anchor != "delinquency":
        errors.add(f"{where}.anchor", f"{name} is work on a case, so it needs anchor delinquency")
    template = raw.get("template", name)
    if not isinstance(template, str) or not template:
        errors.add(f"{where}.template", "must be a template name")
        template = name
    sla = _int(raw.get("sla_days", 1), f"{where}.sla_days", errors, 0, 365)
    min_overdue = _int(raw.get("min_overdue", 0), f"{where}.min_overdue", errors, 0, 10**15)
    npo = _bool(raw.get("no_open_promise", False), f"{where}.no_open_promise", errors)
    return Action(name, anchor, offset, template, sla, min_overdue, bool(npo))


def _path(raw: Any, where: str, errors: _Errors) -> tuple[Action, ...]:
    if not isinstance(raw, list) or not raw:
        errors.add(where, "must be a non-empty list of actions")
        return ()
    acts = [_action(item, f"{where}[{i}]", errors) for i, item in enumerate(raw)]
    path = tuple(a for a in acts if a is not None)
    keys = [(a.anchor, a.offset, a.action) for a in path]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            errors.add(f"{where}[{i}]", f"{key[2]} at {key[0]}{key[1]:+d} is listed twice")
    return path


def _score_bands(raw: Any, errors: _Errors) -> tuple[ScoreBand, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        errors.add("score.bands", "must be a list of {name, min, max}")
        return ()
    bands = []
    for i, item in enumerate(raw):
        where = f"score.bands[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            errors.add(where, "must be a mapping with name, min and max")
            continue
        try:
            low = float(Decimal(str(item.get("min", 0))))
            high = None if item.get("max") is None else float(Decimal(str(item["max"])))
        except InvalidOperation:
            errors.add(where, "min and max must be numbers")
            continue
        if high is not None and high <= low:
            errors.add(where, f"max {high} must be above min {low}")
        bands.append(ScoreBand(item["name"], low, high))
    ordered = sorted(bands, key=lambda b: b.low)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.high is None or a.high > b.low:
            errors.add("score.bands", f"bands {a.name} and {b.name} overlap")
    return tuple(bands)


def _groups(raw: Any, errors: _Errors) -> tuple[dict[str, int], str]:
    if raw is None:
        return {"champion": 100}, ""
    if not isinstance(raw, dict):
        errors.add("experiment", "must be a mapping with salt and groups")
        return {"champion": 100}, ""
    salt = raw.get("salt")
    if not isinstance(salt, str) or not salt:
        errors.add("experiment.salt", "must be a non-empty text (keep it for the experiment)")
        salt = ""
    groups = raw.get("groups")
    if not isinstance(groups, dict) or not groups:
        errors.add("experiment.groups", "must map group names to shares in percent")
        return {"champion": 100}, salt
    shares = {str(k): _int(v, f"experiment.groups.{k}", errors, 1, 100) for k, v in groups.items()}
    if "default" in shares:
        errors.add("experiment.groups", "'default' is reserved for a segment's shared path")
    if sum(shares.values()) != 100:
        errors.add("experiment.groups", f"shares must add up to 100, not {sum(shares.values())}")
    return shares, salt


def _segment(
    raw: Any, i: int, errors: _Errors, groups: Mapping[str, int], bands: Sequence[str]
) -> Segment | None:
    where = f"segments[{i}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        errors.add(where, "must be a mapping with name, priority, when and path")
        return None
    where = f"segments[{i}] ({raw['name']})"
    extra = set(raw) - {"name", "priority", "when", "path", "variants", "description"}
    if extra:
        errors.add(where, f"unknown key {sorted(extra)[0]!r}")
    priority = _int(raw.get("priority"), f"{where}.priority", errors, 0, 10**6)
    when = raw.get("when") or {}
    if not isinstance(when, dict):
        errors.add(f"{where}.when", "must be a mapping of conditions")
        when = {}
    dims = {"buckets", "score_bands", "products", "regions", "promise_states"}
    extra = set(when) - dims - {"balance", "restructured", "in_legal"}
    if extra:
        errors.add(f"{where}.when", f"unknown condition {sorted(extra)[0]!r}")
    sets: dict[str, frozenset[str] | None] = {}
    for dim in sorted(dims):
        allowed: Sequence[str] = ()
        if dim == "promise_states":
            allowed = PROMISE_STATES
        elif dim == "score_bands":
            allowed = (*bands, UNSCORED)
        value = when.get(dim)
        sets[dim] = None if value is None else _names(value, f"{where}.when.{dim}", errors, allowed)
    bal = when.get("balance") or {}
    low, high = 0, None
    if not isinstance(bal, dict):
        errors.add(f"{where}.when.balance", "must be a mapping {min, max} in minor units")
    else:
        low = _int(bal.get("min", 0), f"{where}.when.balance.min", errors, 0, 10**15)
        if bal.get("max") is not None:
            high = _int(bal["max"], f"{where}.when.balance.max", errors, 1, 10**15)
            if high <= low:
                errors.add(f"{where}.when.balance", f"max {high} must be above min {low}")
    paths = {"default": _path(raw.get("path"), f"{where}.path", errors)}
    variants = raw.get("variants") or {}
    if not isinstance(variants, dict):
        errors.add(f"{where}.variants", "must map group names to paths")
        variants = {}
    for group, path in variants.items():
        if group not in groups:
            errors.add(f"{where}.variants.{group}", f"no such group; groups: {', '.join(groups)}")
        paths[str(group)] = _path(path, f"{where}.variants.{group}", errors)
    return Segment(
        name=raw["name"],
        priority=priority,
        buckets=sets["buckets"],
        score_bands=sets["score_bands"],
        products=sets["products"],
        regions=sets["regions"],
        promise_states=sets["promise_states"],
        restructured=_bool(when.get("restructured"), f"{where}.when.restructured", errors),
        in_legal=_bool(when.get("in_legal"), f"{where}.when.in_legal", errors),
        balance_min=low,
        balance_max=high,
        paths=paths,
    )


def parse_strategy(doc: Any, source: str = "strategy") -> Strategy:
    """The validated strategy of a parsed YAML/JSON document; every problem at once
    in one ``ValidationError`` (one ``source: field: message`` line each)."""
    errors = _Errors(source)
    if not isinstance(doc, dict):
        raise ValidationError(f"{source}: the top level must be a mapping")
    extra = set(doc) - {"version", "name", "description", "experiment", "score", "segments"}
    if extra:
        errors.add("(top level)", f"unknown key {sorted(extra)[0]!r}")
    version = doc.get("version")
    if not isinstance(version, str | int) or isinstance(version, bool) or not str(version):
        errors.add("version", "is missing (a text such as '2026.11-1')")
        version = ""
    name = doc.get("name", str(version))
    groups, salt = _groups(doc.get("experiment"), errors)
    score = doc.get("score") or {}
    if not isinstance(score, dict):
        errors.add("score", "must be a mapping with column and bands")
        score = {}
    bands = _score_bands(score.get("bands"), errors)
    column = score.get("column", "score")
    raw_segments = doc.get("segments")
    if not isinstance(raw_segments, list) or not raw_segments:
        errors.add("segments", "must be a non-empty list")
        raw_segments = []
    segs = [
        _segment(r, i, errors, groups, [b.name for b in bands]) for i, r in enumerate(raw_segments)
    ]
    segments = tuple(s for s in segs if s is not None)
    seen: set[str] = set()
    for s in segments:
        if s.name in seen:
            errors.add("segments", f"segment name {s.name!r} is used twice")
        seen.add(s.name)
    if not errors.items:
        for message in check_segments(segments):
            errors.add("segments", message)
    if errors.items:
        raise ValidationError("\n".join(errors.items))
    return Strategy(
        version=str(version),
        name=str(name),
        segments=segments,
        groups=groups,
        salt=salt,
        score_column=str(column),
        score_bands=bands,
    )


OTHER = "(any other)"
_SET_DIMS = ("buckets", "score_bands", "products", "regions", "promise_states")


def _dimension_tokens(segments: Sequence[Segment]) -> list[tuple[str, list[Any]]]:
    dims: list[tuple[str, list[Any]]] = []
    for dim in _SET_DIMS:
        named: set[str] = set()
        for s in segments:
            named |= getattr(s, dim) or set()
        tokens: list[Any] = sorted(named)
        if dim != "promise_states":
            tokens.append(OTHER)
        else:
            tokens = list(PROMISE_STATES)
        dims.append((dim, tokens))
    dims.append(("restructured", [False, True]))
    dims.append(("in_legal", [False, True]))
    bounds = {0}
    for s in segments:
        bounds.add(s.balance_min)
        if s.balance_max is not None:
            bounds.add(s.balance_max)
    dims.append(("balance", sorted(bounds)))
    return dims


def _matches(seg: Segment, dim: str, token: Any) -> bool:
    if dim == "balance":
        return bool(
            seg.balance_min <= token and (seg.balance_max is None or token < seg.balance_max)
        )
    value = getattr(seg, dim)
    if isinstance(value, bool):
        return bool(value == token)
    return value is None or token in value


def _describe(cell: Sequence[tuple[str, Any]]) -> str:
    parts = []
    for dim, token in cell:
        if token == OTHER or (dim == "balance" and token == 0):
            continue
        label = f"≥{token}" if dim == "balance" else str(token)
        parts.append(f"{dim}={label.lower() if isinstance(token, bool) else label}")
    return ", ".join(parts)


def check_segments(segments: Sequence[Segment]) -> list[str]:
    """Overlaps (same priority) and unreachable segments, as messages (empty: fine)."""
    dims = _dimension_tokens(segments)
    masks = [
        (
            dim,
            [
                (tok, sum(1 << i for i, s in enumerate(segments) if _matches(s, dim, tok)))
                for tok in tokens
            ],
        )
        for dim, tokens in dims
    ]
    won = 0
    overlaps: dict[tuple[int, int], str] = {}
    full = (1 << len(segments)) - 1
    cell: list[tuple[str, Any]] = []

    def walk(level: int, mask: int) -> None:
        nonlocal won
        if level == len(masks):
            members = [i for i in range(len(segments)) if mask >> i & 1]
            best = min(segments[i].priority for i in members)
            top = [i for i in members if segments[i].priority == best]
            for a, b in zip(top, top[1:], strict=False):
                overlaps.setdefault((a, b), _describe(cell))
            for i in top:
                won |= 1 << i
            return
        dim, options = masks[level]
        for tok, bits in options:
            sub = mask & bits
            if sub:
                cell.append((dim, tok))
                walk(level + 1, sub)
                cell.pop()

    walk(0, full)
    out = [
        f"{segments[a].name} and {segments[b].name} have the same priority "
        f"{segments[a].priority} and both match loans with {where}; give one a lower "
        "priority number or make their conditions disjoint"
        for (a, b), where in sorted(overlaps.items())
    ]
    for i, seg in enumerate(segments):
        if not won >> i & 1:
            earlier = [s.name for s in segments if s.priority < seg.priority]
            out.append(
                f"{seg.name} is unreachable: every loan it matches falls into an earlier "
                f"segment ({', '.join(earlier) or '-'}); remove it or raise its priority"
            )
    return out
