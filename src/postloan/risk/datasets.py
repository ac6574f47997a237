"""Training tables for the behavioural models from the snapshot store.

:func:`training_frame` (what ``postloan model train --purpose`` calls): the
observation dates are the month-ends in the window that have a ``features``
snapshot; each contributes the loans of the purpose's population
(``postloan.risk.scoring.population``: the same loans SCORE scores) with their
features as of that date, and the target from ``loan_state`` snapshots after it
(``postloan.risk.labels``). Observations whose outcome window has not matured
are left out. :func:`out_of_time_split` splits by observation date: months 1–12
train, the later months test.
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import date, timedelta
from typing import Any

import polars as pl

from postloan.domain.errors import NotFound, ValidationError
from postloan.risk.labels import label, matured, outcome_event, target_of
from postloan.risk.scoring import population
from postloan.store.snapshots import SnapshotStore

TRAIN_MONTHS = 12


def parse_window(window: Any) -> tuple[date | None, date | None]:
    """``None``, ``(from, to)`` or ``"YYYY-MM-DD:YYYY-MM-DD"`` (either side may be empty)."""
    if window is None:
        return None, None
    if isinstance(window, str):
        left, sep, right = window.partition(":")
        if not sep:
            raise ValidationError(
                f"--window must be FROM:TO (YYYY-MM-DD:YYYY-MM-DD), not {window!r}"
            )
        try:
            start = date.fromisoformat(left) if left else None
            end = date.fromisoformat(right) if right else None
        except ValueError as exc:
            raise ValidationError(
                f"--window {window!r}: {exc}; use YYYY-MM-DD:YYYY-MM-DD"
            ) from None
        return start, end
    start, end = window
    return start, end


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def add_months_end(day: date, months: int) -> date:
    """The month-end ``months`` months after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def observation_dates(snaps: SnapshotStore, window: Any = None) -> list[date]:
    start, end = parse_window(window)
    return [
        d
        for d in snaps.dates("features")
        if is_month_end(d) and (start is None or d >= start) and (end is None or d <= end)
    ]


def _data_hash(frame: pl.DataFrame) -> str:
    ordered = frame.sort("business_date", "loan_id")
    return hashlib.sha256(ordered.write_ipc(None).getvalue()).hexdigest()


def training_frame(
    store: Any, purpose: str, window: Any = None
) -> tuple[pl.DataFrame, str, dict[str, Any]]:
    """(frame, target column, meta) for ``purpose`` (bscore, bscore180, cscore).

    ``store`` is a Store (or Settings). ``meta``: purpose, target, horizon_days,
    window (first and last observation date), observation_dates, oot_split
    (first test date), latest_state, rows, positives, data_hash.
    """
    target = target_of(purpose)
    settings = getattr(store, "settings", store)
    snaps = SnapshotStore(settings.snapshot_dir)
    states = snaps.dates("loan_state")
    if not states:
        raise NotFound("no snapshot history: close some business dates first (`postloan eod`)")
    latest = states[-1]
    dates = [d for d in observation_dates(snaps, window) if matured(d, latest, purpose)]
    if not dates:
        raise NotFound(
            f"no snapshot history for {purpose}: no month-end features snapshot in the window "
            f"whose {target.horizon_days}-day outcome has matured (latest state {latest})"
        )
    pieces = [population(snaps.read("features", d), purpose) for d in dates]
    obs = pl.concat(pieces, how="vertical_relaxed")
    later = (
        snaps.scan("loan_state", dates[0] + timedelta(days=1), latest)
        .select("loan_id", "business_date", "days_past_due", "status")
        .filter(outcome_event(purpose))
        .join(obs.select("loan_id").unique().lazy(), on="loan_id", how="semi")
        .collect()
    )
    frame = label(obs, later, purpose)
    split = add_months_end(dates[0], TRAIN_MONTHS)
    meta = {
        "purpose": purpose,
        "target": target.column,
        "horizon_days": target.horizon_days,
        "window": (dates[0], dates[-1]),
        "observation_dates": dates,
        "oot_split": split,
        "latest_state": latest,
        "rows": frame.height,
        "positives": int(frame[target.column].sum()),
        "data_hash": _data_hash(frame),
    }
    return frame, target.column, meta


def out_of_time_split(
    frame: pl.DataFrame, split: date | dict[str, Any]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, test): observations before the split date, and from it on."""
    at = split["oot_split"] if isinstance(split, dict) else split
    return (
        frame.filter(pl.col("business_date") < at),
        frame.filter(pl.col("business_date") >= at),
    )
