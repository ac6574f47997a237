"""The ALERTS step and the alert store: today's candidates from the rules, new ones
inserted once per dedup key in the close of business's transaction, and the
people's moves along the state machine (optimistic version, audited).

Flow: the partition step builds the *alert base* (:func:`alert_base`: one row per
loan with state, features, today's events, transactions and scores, routing
columns); the commit hook adds the previous scores (the latest earlier ``scores``
snapshot), evaluates the rules (``alert_rules.evaluate``) and inserts the alerts
whose key is new (``INSERT … ON CONFLICT DO NOTHING``), so re-running a date
creates nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import yaml
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from postloan.batch.steps.features import FEATURE_NAMES, FEATURES, PARTIAL_SHARE
from postloan.domain.errors import ConfigError, ConflictError, NotFound, ValidationError
from postloan.risk.alert_rules import AlertState, RuleSet, evaluate, merge, parse_rules, transition
from postloan.store.tables_risk import Alert

if TYPE_CHECKING:
    from postloan.batch.steps import CommitContext, StepContext
    from postloan.config import Settings

PURPOSES = ("bscore", "bscore180", "cscore")
EVENT_FLAGS = ("entered_delinquency", "cured", "bucket_up")
ROUTING_COLUMNS = ("borrower_id", "officer_id", "branch", "bucket", "status", "overdue_since")
TODAY_FLAGS = ("paid_today", "failed_debit_today", "partial_payment_today")
#: Columns alert rules, episodes and routes can name (documented in docs/alerts.md).
BASE_COLUMNS = (
    "loan_id",
    *ROUTING_COLUMNS,
    *FEATURE_NAMES,
    *EVENT_FLAGS,
    *TODAY_FLAGS,
    *(f"{p}_{c}" for p in PURPOSES for c in ("probability", "score", "band")),
    *(f"{p}_{c}" for p in PURPOSES for c in ("score_prev", "band_prev", "score_change")),
)
_SCORE_DTYPES = {"probability": pl.Float64(), "score": pl.Int32(), "band": pl.Utf8()}


def load_rules(settings: Settings) -> RuleSet:
    """The shipped default rules with ``config.yaml``'s ``alerts:`` section applied."""
    from postloan.policy_config import read_config

    section = read_config(settings.config_file).get("alerts")
    if section is not None and not isinstance(section, Mapping):
        raise ConfigError("alerts: must be a mapping (rules, routing, file)")
    if section and section.get("file"):
        path = Path(str(section["file"]))
        if not path.is_absolute():
            path = settings.home / path
        if not path.exists():
            raise ConfigError(f"alerts.file: {path} does not exist")
        base = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    else:
        text = resources.files("postloan.risk").joinpath("default_alert_rules.yaml")
        base = yaml.safe_load(text.read_text(encoding="utf-8"))
    override = {k: v for k, v in (section or {}).items() if k != "file"}
    return parse_rules(merge(base, override))


def _pivot_scores(scores: pl.DataFrame | None) -> pl.DataFrame:
    if scores is None or scores.height == 0:
        return pl.DataFrame(schema={"loan_id": pl.Utf8()}).with_columns(
            pl.lit(None, dtype=d).alias(f"{p}_{c}")
            for p in PURPOSES
            for c, d in _SCORE_DTYPES.items()
        )
    out: pl.DataFrame | None = None
    for p in PURPOSES:
        part = scores.filter(pl.col("purpose") == p).select(
            "loan_id", *(pl.col(c).cast(d).alias(f"{p}_{c}") for c, d in _SCORE_DTYPES.items())
        )
        out = part if out is None else out.join(part, on="loan_id", how="full", coalesce=True)
    assert out is not None
    return out


def alert_base(
    state: pl.DataFrame,
    features: pl.DataFrame | None,
    loans: pl.DataFrame,
    business_date: date,
    *,
    events: pl.DataFrame | None = None,
    transactions: pl.DataFrame | None = None,
    scores: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per loan of ``state`` with every column rules can use but the
    previous scores (added by the commit hook, :func:`with_previous_scores`)."""
    loans = loans.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(c)
        for c in ("borrower_id", "officer_id", "branch")
        if c not in loans.columns
    )
    base = _by_loan(
        state.select(
            "loan_id",
            "bucket",
            "status",
            "overdue_since",
            pl.col("days_past_due").cast(pl.Int32).alias("dpd"),
        ),
        loans.select("loan_id", "borrower_id", "officer_id", "branch"),
    )
    if features is None:  # FEATURES switched off: feature rules never match
        features = pl.DataFrame(
            schema={"loan_id": pl.Utf8(), **{f.name: f.dtype for f in FEATURES}}
        )
    features = features.drop("business_date", "dpd", strict=False)
    base = _by_loan(base, features)
    if events is not None and events.height:
        flags = events.group_by("loan_id").agg(
            (pl.col("event_type") == kind).any().alias(kind) for kind in EVENT_FLAGS
        )
        base = base.join(flags, on="loan_id", how="left")
    else:
        base = base.with_columns(pl.lit(None, dtype=pl.Boolean).alias(k) for k in EVENT_FLAGS)
    base = base.with_columns(pl.col(k).fill_null(False) for k in EVENT_FLAGS)
    if transactions is not None and transactions.height:
        today = transactions.filter(pl.col("value_date") == business_date)
        reversed_ids = today.filter(pl.col("type") == "reversal").select(
            pl.col("reverses").cast(pl.Utf8).alias("txn_id")
        )
        today = (
            today.join(reversed_ids, on="txn_id", how="anti")
            .group_by("loan_id")
            .agg(
                pl.col("amount").filter(pl.col("type") == "repayment").sum().alias("_paid"),
                (pl.col("type") == "failed_debit").any().alias("failed_debit_today"),
            )
        )
        base = base.join(today, on="loan_id", how="left")
    else:
        base = base.with_columns(
            pl.lit(None, dtype=pl.Int64).alias("_paid"),
            pl.lit(None, dtype=pl.Boolean).alias("failed_debit_today"),
        )
    paid = pl.col("_paid").fill_null(0)
    limit = pl.col("instalment_amount").cast(pl.Float64) * PARTIAL_SHARE
    base = base.with_columns(
        (paid > 0).alias("paid_today"),
        pl.col("failed_debit_today").fill_null(False),
        ((paid > 0) & (paid < limit)).fill_null(False).alias("partial_payment_today"),
    ).drop("_paid")
    return base.join(_pivot_scores(scores), on="loan_id", how="left")


def _by_loan(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """``left`` with ``right``'s columns for the same loan (a left join on ``loan_id``;
    ``right`` has at most one row a loan). A partition's state, loans and features
    usually list the same loans in the same order: then the columns are simply put
    side by side, without hashing 250k ids."""
    clash = set(left.columns) & set(right.columns) - {"loan_id"}
    same_loans = left.height == right.height and left["loan_id"].equals(right["loan_id"])
    if same_loans and not clash:
        return left.hstack(right.drop("loan_id").get_columns())
    return left.join(right, on="loan_id", how="left")


def with_previous_scores(base: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Add ``{purpose}_score_prev``, ``_band_prev`` and ``_score_change`` (today − before)."""
    prev = _pivot_scores(previous).select(
        "loan_id",
        *(pl.col(f"{p}_{c}").alias(f"{p}_{c}_prev") for p in PURPOSES for c in ("score", "band")),
    )
    out = base.join(prev, on="loan_id", how="left")
    return out.with_columns(
        (pl.col(f"{p}_score") - pl.col(f"{p}_score_prev")).alias(f"{p}_score_change")
        for p in PURPOSES
    )


# --- the COB step ---------------------------------------------------------------------


def run_step(ctx: StepContext) -> None:
    """ALERTS (partition): the alert base of these loans (frame ``alert_base``), only
    the columns the configured rules use (the previous scores come at commit)."""
    from postloan.risk.alert_rules import check_columns, used_columns
    from postloan.risk.scoring import step_settings

    f = ctx.frames
    base = alert_base(
        f["state"],
        f.get("features"),
        f["loans"],
        ctx.business_date,
        events=f.get("events"),
        transactions=f.get("transactions"),
        scores=f.get("scores"),
    )
    rules = load_rules(step_settings(ctx))
    check_columns(rules, BASE_COLUMNS)
    keep = [c for c in base.columns if c in used_columns(rules) or c.endswith("_score")]
    f["alert_base"] = base.select(keep)


def commit_step(conn: Connection, ctx: CommitContext) -> None:
    """ALERTS (commit): evaluate the rules on the whole date and insert new alerts."""
    base = ctx.frames.get("alert_base")
    if base is None or base.height == 0:
        return
    from postloan.risk.scoring import previous_scores

    base = with_previous_scores(base, previous_scores(ctx.settings, ctx.business_date))
    candidates = evaluate(base, load_rules(ctx.settings), ctx.business_date)
    raise_alerts(conn, candidates, ctx.business_date, ctx.now, ctx.run_id)


def _insert(conn: Connection) -> Any:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(Alert.__table__).on_conflict_do_nothing(index_elements=["alert_key"])


def _stamp(conn: Connection, moment: datetime) -> Any:
    if conn.dialect.name == "sqlite":  # SQLAlchemy keeps SQLite datetimes as naive UTC
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def raise_alerts(
    conn: Connection,
    candidates: pl.DataFrame,
    business_date: date,
    now: datetime,
    run_id: str | None = None,
) -> list[int]:
    """Insert the candidates whose dedup key is new; returns the new alert ids."""
    if candidates.height == 0:
        return []
    keys = candidates["alert_key"].to_list()
    known: set[str] = set()
    for i in range(0, len(keys), 5_000):
        chunk = keys[i : i + 5_000]
        known.update(
            conn.execute(select(Alert.alert_key).where(Alert.alert_key.in_(chunk))).scalars()
        )
    fresh = candidates.filter(~pl.col("alert_key").is_in(list(known)))
    if fresh.height == 0:
        return []
    stamp = _stamp(conn, now)
    rows = [
        {
            **{k: v for k, v in row.items() if k != "sla_hours"},
            "business_date": business_date,
            "state": str(AlertState.NEW),
            "version": 1,
            "sla_due_at": _stamp(conn, now + timedelta(hours=int(row["sla_hours"]))),
            "run_id": run_id,
            "created_at": stamp,
            "updated_at": stamp,
            "updated_by": "system",
        }
        for row in fresh.iter_rows(named=True)
    ]
    for i in range(0, len(rows), 2_000):
        conn.execute(_insert(conn), rows[i : i + 2_000])
    new_keys = fresh["alert_key"].to_list()
    ids: dict[str, int] = {}
    for i in range(0, len(new_keys), 5_000):
        chunk = new_keys[i : i + 5_000]
        found = conn.execute(select(Alert.alert_key, Alert.id).where(Alert.alert_key.in_(chunk)))
        ids.update({key: int(i) for key, i in found})
    _audit_raised(conn, fresh, ids, business_date)
    return [ids[k] for k in new_keys]


def _audit_raised(
    conn: Connection, fresh: pl.DataFrame, ids: Mapping[str, int], business_date: date
) -> None:
    from postloan.audit import AuditEvent, record_many

    record_many(
        conn,
        [
            AuditEvent(
                actor="system",
                role="system",
                action="alert.raised",
                object_type="alert",
                object_id=str(ids[row["alert_key"]]),
                after={
                    "state": str(AlertState.NEW),
                    "rule_id": row["rule_id"],
                    "loan_id": row["loan_id"],
                    "severity": row["severity"],
                    "owner_role": row["owner_role"],
                    "owner_team": row["owner_team"],
                    "owner_user": row["owner_user"],
                },
                business_date=business_date,
            )
            for row in fresh.iter_rows(named=True)
        ],
    )


# --- people's moves -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    alert_key: str
    rule_id: str
    loan_id: str
    business_date: date
    severity: str
    owner_role: str
    owner_team: str | None
    owner_user: str | None
    state: str
    version: int
    sla_due_at: datetime
    detail: str | None

    def as_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}
        out["business_date"] = self.business_date.isoformat()
        out["detail"] = json.loads(self.detail) if self.detail else None
        due = self.sla_due_at if self.sla_due_at.tzinfo else self.sla_due_at.replace(tzinfo=UTC)
        out["sla_due_at"] = due.isoformat()
        return out


_VIEW = [getattr(Alert, name) for name in AlertView.__slots__]


def list_alerts(
    conn: Connection,
    *,
    state: str | None = None,
    owner: str | None = None,
    rule: str | None = None,
    loan_id: str | None = None,
    limit: int = 200,
) -> list[AlertView]:
    """Alerts, newest first; ``owner`` matches the owner user, team or role."""
    query = select(*_VIEW).order_by(Alert.id.desc()).limit(limit)
    if state:
        if state not in {s.value for s in AlertState}:
            raise ValidationError(
                f"unknown alert state {state!r}; use one of "
                + ", ".join(s.value for s in AlertState)
            )
        query = query.where(Alert.state == state)
    if owner:
        query = query.where(
            (Alert.owner_user == owner) | (Alert.owner_team == owner) | (Alert.owner_role == owner)
        )
    if rule:
        query = query.where(Alert.rule_id == rule)
    if loan_id:
        query = query.where(Alert.loan_id == loan_id)
    return [AlertView(*row) for row in conn.execute(query)]


def get_alert(conn: Connection, alert_id: int) -> AlertView:
    row = conn.execute(select(*_VIEW).where(Alert.id == alert_id)).first()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist; `postloan alerts list` shows them")
    return AlertView(*row)


def move_alert(
    conn: Connection,
    alert_id: int,
    target: str,
    *,
    user: str,
    role: str,
    now: datetime,
    expected_version: int | None = None,
    note: str | None = None,
) -> AlertView:
    """Move an alert along the state machine (optimistic lock on ``version``) and
    record it in the audit log. ``expected_version`` (the version the person saw)
    makes a concurrent change a :class:`ConflictError`."""
    current = get_alert(conn, alert_id)
    new_state = transition(current.state, target)
    version = current.version if expected_version is None else expected_version
    if version != current.version:
        raise ConflictError(
            f"alert {alert_id} changed since you read it (version {current.version}, "
            f"you had {version}); reload it and try again"
        )
    done = conn.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.version == version)
        .values(
            state=str(new_state),
            version=version + 1,
            updated_at=_stamp(conn, now),
            updated_by=user,
        )
    )
    if done.rowcount != 1:
        raise ConflictError(f"alert {alert_id} was changed by someone else; reload and retry")
    from postloan.audit import record

    record(
        conn,
        actor=user,
        role=role,
        action=f"alert.{new_state}",
        object_type="alert",
        object_id=str(alert_id),
        before={"state": current.state, "version": current.version},
        after={"state": str(new_state), "version": version + 1},
        reason=note,
    )
    return get_alert(conn, alert_id)


def alert_counts(conn: Connection, states: Sequence[str] = ()) -> dict[str, int]:
    """Alerts per state (all states when ``states`` is empty)."""
    from sqlalchemy import func

    query = select(Alert.state, func.count()).group_by(Alert.state)
    if states:
        query = query.where(Alert.state.in_(list(states)))
    return {s: int(n) for s, n in conn.execute(query)}
