"""The close-of-business step registry: ordered, named steps with the frames they
read and write, switched on, off and reordered by ``config.yaml`` section ``eod:``.

Steps 1–5 (ACCRUE_PENALTY … CLASSIFY) are one pass over each loan's history and
are computed together by ``postloan.batch.engines.compute_states``; the
``STATE_SCHEMA`` frame carries each one's columns (:data:`STEP_COLUMNS`). They
cannot be disabled or moved. The other steps are pure functions over frames of
whole loans (``scope="partition"``) or over the whole date (``scope="date"``,
run after every partition). Configuration::

    eod:
      steps: [ACCRUE_PENALTY, ..., KPI_SNAPSHOT]   # enabled steps in order (optional)
      disabled: [FEATURES]                         # or switch single steps off
      partitions: 8                                # book mirror partitions (optional)

A step may only read frames that the inputs or an earlier enabled step provide.

A step may also name frames it writes as Parquet snapshot tables of the date
(``snapshot``; table name = frame key) and have a ``commit`` hook: a function run
inside the close of business's single database transaction, before the
watermark moves, with the whole date's frames (:class:`CommitContext`). That is
how scores, alerts, cases and outbox messages land atomically with the date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from postloan.batch.steps.events import roll_events
from postloan.batch.steps.features import compute_features
from postloan.batch.steps.kpi import kpi_rows
from postloan.collections import step as collections_step
from postloan.domain.errors import ConfigError
from postloan.domain.policy import ServicingPolicy

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from postloan.config import Settings

STATE_STEPS = ("ACCRUE_PENALTY", "ALLOCATE_PAYMENTS", "DAYS_PAST_DUE", "BUCKET", "CLASSIFY")
STEP_NAMES = (
    *STATE_STEPS,
    "ROLL_EVENTS",
    "FEATURES",
    "SCORE",
    "ALERTS",
    "STRATEGY",
    "KPI_SNAPSHOT",
)
INPUTS = ("loans", "schedules", "transactions", "marks", "prev_state", "history")

#: Which ``STATE_SCHEMA`` columns each state step owns (loan_id, currency and
#: business_date are keys every step shares).
STEP_COLUMNS: dict[str, tuple[str, ...]] = {
    "ACCRUE_PENALTY": ("penalty_charged", "penalty_outstanding"),
    "ALLOCATE_PAYMENTS": (
        "principal_outstanding",
        "overdue_principal",
        "overdue_interest",
        "overdue_fee",
        "interest_outstanding",
        "fee_outstanding",
        "principal_paid",
        "interest_paid",
        "fee_paid",
        "penalty_paid",
        "waived",
        "written_off",
        "recovered",
        "credit_balance",
        "advance_balance",
        "total_paid",
        "last_payment_date",
        "failed_debits",
        "next_due_date",
        "next_due_amount",
        "status",
    ),
    "DAYS_PAST_DUE": ("days_past_due", "overdue_since"),
    "BUCKET": ("bucket",),
    "CLASSIFY": ("classification", "classification_reasons", "ifrs9_stage"),
}


@dataclass
class StepContext:
    """The frames of one partition (or of the whole date) as steps fill them in."""

    business_date: date
    policy: ServicingPolicy
    frames: dict[str, pl.DataFrame]
    #: the installation's settings (models, keys, config) for steps that read them
    settings: Settings | None = None


@dataclass(frozen=True, slots=True)
class CommitContext:
    """What a step's ``commit`` hook sees: the whole date's frames (``state``,
    ``events``, ``features`` and every frame an enabled step wrote, each
    concatenated over the partitions), inside the date's one transaction."""

    business_date: date
    run_id: str
    now: datetime
    settings: Settings
    frames: dict[str, pl.DataFrame]
    #: blocks until the named snapshot table of the date is written (the files are
    #: written while the transaction runs); a hook reading one calls it first
    snapshot_ready: Callable[[str], None] = field(default=lambda _table: None)


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    scope: str  # "state" | "partition" | "date"
    run: Callable[[StepContext], None]
    doc: str
    #: frames (keys of ``writes``) stored as snapshot tables of the date
    snapshot: tuple[str, ...] = ()
    #: run inside the date's database transaction, after the state and events upserts
    commit: Callable[[Connection, CommitContext], None] | None = None


def _state_step(_ctx: StepContext) -> None:
    """Computed together by the engine (``compute_states``)."""


def _roll_events(ctx: StepContext) -> None:
    f = ctx.frames
    f["events"] = roll_events(f["prev_state"], f["state"], ctx.business_date, ctx.policy)


def _features(ctx: StepContext) -> None:
    f = ctx.frames
    f["features"] = compute_features(
        f["state"],
        f["loans"],
        f["schedules"],
        f["history"],
        ctx.business_date,
        transactions=f.get("transactions"),
        marks=f.get("marks"),
        contacts=f.get("contacts"),
        promises=f.get("promises"),
        peers=f.get("peer_state"),
    )


def _score(ctx: StepContext) -> None:
    from postloan.risk import scoring  # imported on use: it imports this package

    scoring.run_step(ctx)


def _score_commit(conn: Connection, ctx: CommitContext) -> None:
    from postloan.risk import scoring

    scoring.commit_step(conn, ctx)


def _alerts(ctx: StepContext) -> None:
    from postloan.risk import alerts

    alerts.run_step(ctx)


def _alerts_commit(conn: Connection, ctx: CommitContext) -> None:
    from postloan.risk import alerts

    alerts.commit_step(conn, ctx)


def _kpi(ctx: StepContext) -> None:
    ctx.frames["kpi"] = kpi_rows(ctx.frames["state"], ctx.business_date, ctx.policy)


_STATE_READS = ("loans", "schedules", "transactions", "marks")
REGISTRY: dict[str, Step] = {
    **{
        name: Step(name, _STATE_READS, ("state",), "state", _state_step, "loan-state columns")
        for name in STATE_STEPS
    },
    "ROLL_EVENTS": Step(
        "ROLL_EVENTS",
        ("state", "prev_state"),
        ("events",),
        "partition",
        _roll_events,
        "events: delinquency, bucket moves, cures, class/stage changes, status changes",
    ),
    "FEATURES": Step(
        "FEATURES",
        ("state", "loans", "schedules", "history"),
        ("features",),
        "partition",
        _features,
        "behavioural features (postloan.batch.steps.features)",
    ),
    "SCORE": Step(
        "SCORE",
        ("features",),
        ("scores",),
        "partition",
        _score,
        "scores and reason codes of the active models (postloan.risk.scoring)",
        snapshot=("scores",),
        commit=_score_commit,
    ),
    "ALERTS": Step(
        "ALERTS",
        ("state", "loans"),
        ("alert_base",),
        "partition",
        _alerts,
        "early-warning alerts from rules over features, events and scores (postloan.risk.alerts)",
        commit=_alerts_commit,
    ),
    "STRATEGY": Step(
        "STRATEGY",
        ("state", "loans"),
        ("strategy_input",),
        "partition",
        collections_step.run,
        "collections: cases, promises, due actions → outbox and task queues",
        commit=collections_step.commit,
    ),
    "KPI_SNAPSHOT": Step("KPI_SNAPSHOT", ("state",), ("kpi",), "date", _kpi, "KPI rows"),
}


def snapshot_tables() -> tuple[str, ...]:
    """Every snapshot table some registered step may write (beyond the core four)."""
    return tuple(dict.fromkeys(t for step in REGISTRY.values() for t in step.snapshot))


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of step names ({', '.join(STEP_NAMES)})")
    unknown = [v for v in value if v not in REGISTRY]
    if unknown:
        raise ConfigError(
            f"{where}: unknown step {unknown[0]!r}; known steps: {', '.join(STEP_NAMES)}"
        )
    return [str(v) for v in value]


#: The keys of the ``eod:`` config section.
EOD_KEYS = ("steps", "disabled", "partitions", "workers")
#: Partitions computed at once by default (``eod.workers``; this machine class has
#: two cores).
DEFAULT_WORKERS = 2


def resolve_steps(section: Any) -> list[Step]:
    """The enabled steps in order, from the ``eod:`` config section (None: the default)."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError(f"eod: must be a mapping (keys: {', '.join(EOD_KEYS)})")
    extra = set(section) - set(EOD_KEYS)
    if extra:
        raise ConfigError(f"eod: unknown key {sorted(extra)[0]!r}; use {', '.join(EOD_KEYS)}")
    order = _names(section.get("steps", list(STEP_NAMES)), "eod.steps")
    if len(set(order)) != len(order):
        dup = next(n for n in order if order.count(n) > 1)
        raise ConfigError(f"eod.steps: {dup} is listed twice")
    disabled = set(_names(section.get("disabled", []), "eod.disabled"))
    enabled = [n for n in order if n not in disabled]
    if tuple(enabled[: len(STATE_STEPS)]) != STATE_STEPS:
        raise ConfigError(
            f"eod.steps: {', '.join(STATE_STEPS)} are one state computation; they must all "
            "be enabled and come first, in this order"
        )
    available = set(INPUTS)
    for name in enabled:
        step = REGISTRY[name]
        missing = [r for r in step.reads if r not in available]
        if missing:
            raise ConfigError(
                f"eod.steps: {name} reads {missing[0]!r}, which no earlier enabled step writes; "
                "enable that step or move it before " + name
            )
        available.update(step.writes)
    return [REGISTRY[n] for n in enabled]


def partition_count_setting(section: Any) -> int | None:
    if not isinstance(section, dict) or section.get("partitions") is None:
        return None
    value = section["partitions"]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"eod.partitions must be a positive whole number, not {value!r}")
    return value


def partition_workers(section: Any, engine: str) -> int:
    """``eod.workers``: partitions computed at once (default :data:`DEFAULT_WORKERS`;
    the per-loan ``reference`` engine is pure Python and holds the GIL, so it gets one)."""
    value = section.get("workers") if isinstance(section, dict) else None
    if value is None:
        return 1 if engine == "reference" else DEFAULT_WORKERS
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"eod.workers must be a positive whole number, not {value!r}")
    return value
