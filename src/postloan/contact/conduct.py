"""The conduct guard: may this borrower be contacted on this channel at this moment? (pure)

A :class:`ConductProfile` holds one rulebook (CN by default, US Regulation F);
:class:`ConductGuard` applies it to a request, the borrower's contact history
and opt-outs, and answers ``allowed``, ``deferred(until, reason)`` (the earliest
moment every rule is met) or ``blocked(reason)`` (waiting does not help: opted
out, or a third party who may not be told). No I/O: the caller passes the
history and the clock's ``now``; times are aware datetimes, answers are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postloan.domain.errors import ConfigError, ValidationError

WEEK = timedelta(days=7)
#: Channels that reach the borrower (the guard leaves webhooks and staff notes alone).
BORROWER_CHANNELS = frozenset({"sms", "email", "call", "visit"})


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DEFERRED = "deferred"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``per_day`` (borrower's local day) / ``per_7_days`` (rolling) attempts
    on one contact method, counting only attempts whose outcome is in ``counts``."""

    per_day: int | None = None
    per_7_days: int | None = None
    counts: frozenset[str] = frozenset({"sent", "unanswered", "answered", "conversation"})


@dataclass(frozen=True, slots=True)
class ConductProfile:
    """One rulebook. ``end`` is exclusive: with end 22:00, 21:59 is allowed and 22:00 is not."""

    name: str
    start: time
    end: time
    caps: Mapping[str, Cap] = field(default_factory=dict)
    conversation_cooldown: timedelta | None = None
    cooldown_channels: frozenset[str] = frozenset({"call"})
    third_party_after_failed: int | None = 3  # None: third parties never
    opt_out_line: bool = False
    holidays: frozenset[date] = frozenset()

    @classmethod
    def cn(cls) -> ConductProfile:
        """China Banking Association consumer-loan collection guideline (DESIGN.md)."""
        return cls(
            name="CN",
            start=time(8),
            end=time(22),
            caps={
                "call": Cap(per_day=6, counts=frozenset({"unanswered"})),
                "sms": Cap(per_day=3),
                "email": Cap(per_day=3),
            },
            third_party_after_failed=3,
            opt_out_line=False,
        )

    @classmethod
    def us(cls) -> ConductProfile:
        """US Regulation F (12 CFR 1006): 08:00-21:00, 7 calls in 7 days, 7 days after a talk."""
        return cls(
            name="US",
            start=time(8),
            end=time(21),
            caps={"call": Cap(per_7_days=7)},
            conversation_cooldown=WEEK,
            cooldown_channels=frozenset({"call"}),
            third_party_after_failed=None,
            opt_out_line=True,
        )

    def with_overrides(self, data: Mapping[str, Any]) -> ConductProfile:
        """This profile with the keys of a ``config.yaml`` mapping applied (``ConfigError``)."""
        known = {"start", "end", "caps", "conversation_cooldown_days", "third_party_after_failed"}
        known |= {"opt_out_line", "holidays"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"contact profile {self.name}: unknown keys {sorted(unknown)}")
        out = self
        try:
            if "start" in data:
                out = replace(out, start=time.fromisoformat(str(data["start"])))
            if "end" in data:
                out = replace(out, end=time.fromisoformat(str(data["end"])))
            if "caps" in data:
                caps = dict(out.caps)
                for channel, spec in dict(data["caps"]).items():
                    spec = dict(spec or {})
                    old = caps.get(str(channel), Cap())
                    caps[str(channel)] = Cap(
                        per_day=spec.get("per_day", old.per_day),
                        per_7_days=spec.get("per_7_days", old.per_7_days),
                        counts=frozenset(spec.get("counts", old.counts)),
                    )
                out = replace(out, caps=caps)
            if "conversation_cooldown_days" in data:
                days = data["conversation_cooldown_days"]
                out = replace(
                    out, conversation_cooldown=None if days is None else timedelta(days=int(days))
                )
            if "third_party_after_failed" in data:
                n = data["third_party_after_failed"]
                out = replace(out, third_party_after_failed=None if n is None else int(n))
            if "opt_out_line" in data:
                out = replace(out, opt_out_line=bool(data["opt_out_line"]))
            if "holidays" in data:
                out = replace(
                    out,
                    holidays=frozenset(date.fromisoformat(str(d)) for d in data["holidays"]),
                )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"contact profile {self.name}: {err}") from None
        if out.start >= out.end:
            raise ConfigError(f"contact profile {self.name}: start must be before end")
        return out


PROFILES: dict[str, ConductProfile] = {"CN": ConductProfile.cn(), "US": ConductProfile.us()}


@dataclass(frozen=True, slots=True)
class Attempt:
    """A past contact attempt. ``outcome``: sent|unanswered|answered|conversation|invalid."""

    channel: str
    at: datetime
    outcome: str
    method_key: str = "primary"
    target: str = "borrower"


@dataclass(frozen=True, slots=True)
class Request:
    """What someone wants to do now: contact ``target`` on ``channel`` / ``method_key``."""

    channel: str
    time_zone: str
    method_key: str = "primary"
    target: str = "borrower"  # borrower | third_party
    discloses_debt: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's answer; ``code``/``params`` say why (see :func:`explain`)."""

    outcome: Outcome
    code: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    until: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED

    def text(self, lang: str = "zh-CN") -> str:
        return explain(self, lang)


ALLOWED = Verdict(Outcome.ALLOWED)

_TEXT: dict[str, tuple[str, str]] = {  # code -> (zh-CN, en)
    "before_hours": ("{start} 前不允许联系", "not allowed before {start}"),
    "after_hours": ("{end} 后不允许联系", "not allowed after {end}"),
    "holiday": ("节假日（{day}）不允许联系", "not allowed on a holiday ({day})"),
    "daily_cap": (
        "今日该联系方式已 {count} 次（上限 {limit} 次）",
        "{count} {channel} attempts today on this contact method (limit {limit})",
    ),
    "weekly_cap": (
        "近 7 日该联系方式已 {count} 次（上限 {limit} 次）",
        "{count} {channel} attempts in the last 7 days (limit {limit})",
    ),
    "conversation_cooldown": (
        "{day} 已与借款人通话，{until_day} 前不再致电",
        "a conversation took place on {day}; no call before {until_day}",
    ),
    "opted_out": ("借款人已退订{channel}", "the borrower opted out of {channel}"),
    "third_party_reachable": (
        "借款人可以联系到，不得联系第三方",
        "the borrower can be reached: third parties may not be contacted",
    ),
    "third_party_never": (
        "本规则下不得联系第三方",
        "this profile does not allow contacting third parties",
    ),
    "third_party_debt": (
        "不得向第三方透露债务信息",
        "never tell a third party about the debt",
    ),
}


def explain(verdict: Verdict, lang: str = "zh-CN") -> str:
    """The reason in words (zh-CN by default, en), or '' when allowed."""
    if verdict.code is None:
        return ""
    zh, en = _TEXT[verdict.code]
    return (en if lang.lower().startswith("en") else zh).format(**dict(verdict.params))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r}; use an IANA name") from None


class ConductGuard:
    """Applies one :class:`ConductProfile`; every method is pure."""

    def __init__(self, profile: ConductProfile | None = None) -> None:
        self.profile = profile or ConductProfile.cn()

    def check(
        self,
        request: Request,
        now: datetime,
        history: Sequence[Attempt] = (),
        opted_out: Iterable[str] = (),
    ) -> Verdict:
        """Allowed now, deferred to the earliest moment every rule is met, or blocked."""
        if now.tzinfo is None:
            raise ValidationError("the guard needs an aware datetime (with a time zone)")
        if request.channel in set(opted_out):
            return Verdict(Outcome.BLOCKED, "opted_out", (("channel", request.channel),))
        if request.channel not in BORROWER_CHANNELS:
            return ALLOWED
        blocked = self._third_party(request, history)
        if blocked is not None:
            return blocked
        tz = zone(request.time_zone)
        key = (request.channel, request.method_key)
        relevant = [a for a in history if (a.channel, a.method_key) == key]
        first_reason: Verdict | None = None
        t = now.astimezone(UTC)
        for _ in range(64):  # each rule only moves t forwards; a few rounds settle
            moved = False
            for rule in (self._hours, self._daily_cap, self._weekly_cap, self._cooldown):
                found = rule(request, t, tz, relevant)
                if found is not None:
                    reason, later = found
                    first_reason = first_reason or reason
                    t, moved = later, True
            if not moved:
                break
        if first_reason is None:
            return ALLOWED
        return replace(first_reason, outcome=Outcome.DEFERRED, until=t)

    def check_call(
        self,
        now: datetime,
        time_zone: str,
        history: Sequence[Attempt] = (),
        *,
        method_key: str = "primary",
        target: str = "borrower",
        opted_out: Iterable[str] = (),
    ) -> Verdict:
        """May a collector call now? Staff call tasks pass through the same rules."""
        req = Request("call", time_zone, method_key=method_key, target=target)
        return self.check(req, now, history, opted_out)

    # --- rules: each returns None (met at t) or (reason, earliest later moment) ---

    def _day_start(self, day: date, tz: ZoneInfo) -> datetime:
        return datetime.combine(day, self.profile.start, tzinfo=tz).astimezone(UTC)

    def _hours(
        self, _req: Request, t: datetime, tz: ZoneInfo, _hist: Sequence[Attempt]
    ) -> tuple[Verdict, datetime] | None:
        p = self.profile
        local = t.astimezone(tz)
        day = local.date()
        if day in p.holidays:
            nxt = day + timedelta(days=1)
            while nxt in p.holidays:
                nxt += timedelta(days=1)
            reason = Verdict(Outcome.DEFERRED, "holiday", (("day", day.isoformat()),))
            return reason, self._day_start(nxt, tz)
        if local.time() < p.start:
            reason = Verdict(Outcome.DEFERRED, "before_hours", (("start", f"{p.start:%H:%M}"),))
            return reason, self._day_start(day, tz)
        if local.time() >= p.end:
            reason = Verdict(Outcome.DEFERRED, "after_hours", (("end", f"{p.end:%H:%M}"),))
            return reason, self._day_start(day + timedelta(days=1), tz)
        return None

    def _counted(self, req: Request, hist: Sequence[Attempt]) -> list[datetime]:
        cap = self.profile.caps.get(req.channel)
        if cap is None:
            return []
        return sorted(a.at.astimezone(UTC) for a in hist if a.outcome in cap.counts)

    def _daily_cap(
        self, req: Request, t: datetime, tz: ZoneInfo, hist: Sequence[Attempt]
    ) -> tuple[Verdict, datetime] | None:
        cap = self.profile.caps.get(req.channel)
        if cap is None or cap.per_day is None:
            return None
        day = t.astimezone(tz).date()
        count = sum(1 for at in self._counted(req, hist) if at.astimezone(tz).date() == day)
        if count < cap.per_day:
            return None
        params = (("count", str(count)), ("limit", str(cap.per_day)), ("channel", req.channel))
        return Verdict(Outcome.DEFERRED, "daily_cap", params), self._day_start(
            day + timedelta(days=1), tz
        )

    def _weekly_cap(
        self, req: Request, t: datetime, tz: ZoneInfo, hist: Sequence[Attempt]
    ) -> tuple[Verdict, datetime] | None:
        """Seven consecutive local days, today included (Regulation F counts days)."""
        cap = self.profile.caps.get(req.channel)
        if cap is None or cap.per_7_days is None:
            return None
        day = t.astimezone(tz).date()
        days = [at.astimezone(tz).date() for at in self._counted(req, hist)]
        window = [d for d in days if day - timedelta(days=7) < d <= day]
        if len(window) < cap.per_7_days:
            return None
        # the day whose attempts must leave the window for one more to fit
        oldest = window[len(window) - cap.per_7_days]
        params = (
            ("count", str(len(window))),
            ("limit", str(cap.per_7_days)),
            ("channel", req.channel),
        )
        reason = Verdict(Outcome.DEFERRED, "weekly_cap", params)
        return reason, self._day_start(oldest + WEEK, tz)

    def _cooldown(
        self, req: Request, t: datetime, tz: ZoneInfo, hist: Sequence[Attempt]
    ) -> tuple[Verdict, datetime] | None:
        """No call for N local days; the day of the conversation is the first of them."""
        p = self.profile
        if p.conversation_cooldown is None or req.channel not in p.cooldown_channels:
            return None
        talks = [a.at.astimezone(tz).date() for a in hist if a.outcome == "conversation"]
        if not talks:
            return None
        last = max(talks)
        free_day = last + timedelta(days=p.conversation_cooldown.days)
        if t.astimezone(tz).date() >= free_day:
            return None
        params = (("day", last.isoformat()), ("until_day", free_day.isoformat()))
        reason = Verdict(Outcome.DEFERRED, "conversation_cooldown", params)
        return reason, self._day_start(free_day, tz)

    def _third_party(self, req: Request, history: Sequence[Attempt]) -> Verdict | None:
        if req.target != "third_party":
            return None
        if req.discloses_debt:
            return Verdict(Outcome.BLOCKED, "third_party_debt")
        needed = self.profile.third_party_after_failed
        if needed is None:
            return Verdict(Outcome.BLOCKED, "third_party_never")
        if not borrower_unreachable(history, needed):
            return Verdict(Outcome.BLOCKED, "third_party_reachable")
        return None


def borrower_unreachable(history: Sequence[Attempt], failed_in_a_row: int) -> bool:
    """An invalid number, or the last ``failed_in_a_row`` borrower calls all unanswered."""
    calls = sorted(
        (a for a in history if a.target == "borrower" and a.channel == "call"),
        key=lambda a: a.at,
    )
    if any(a.outcome == "invalid" for a in calls):
        return True
    tail = calls[-failed_in_a_row:]
    return len(tail) == failed_in_a_row and all(a.outcome == "unanswered" for a in tail)
