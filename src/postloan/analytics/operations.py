"""KPIs of collection work and early warning from the operational store.

Beside ``postloan.collections.kpis.collection_kpis`` (days to first action,
promise kept, cure, cost, recoveries), this adds, over the window of
``WINDOW_DAYS`` days up to the date:

- ``ptp_rate``: promises made ÷ right-party contacts (outcomes that reached the
  borrower: right_party, promise, refused);
- ``right_party_contact_rate``: right-party contacts ÷ logged contacts;
- ``recovery_rate``: over charged-off loans on the date, (recovered after
  charge-off − direct recovery cost after charge-off) ÷ written-off amount;
- ``alert_precision``: of the loans first alerted between ``HORIZON`` +
  window and ``HORIZON`` days before the date (not yet 90+ then), the share that
  went 90+ DPD within ``HORIZON`` days of the alert;
- ``alert_lead_time``: for loans that first went 90+ in the window, the days
  from their first earlier alert (median, p90, and how many had none).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from postloan.analytics.kpis import money, ratio
from postloan.store.tables import Base

WINDOW_DAYS = 30
HORIZON = 90
REACHED = ("right_party", "promise", "refused")


def _table(name: str) -> Any:
    return Base.metadata.tables[name]


def percentile(values: list[int], q: int) -> int | None:
    """Nearest-rank percentile (an observed whole number)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, -(-q * len(ordered) // 100)) - 1]


def median(values: list[int]) -> str | None:
    if not values:
        return None
    o = sorted(values)
    mid = len(o) // 2
    return str(o[mid]) if len(o) % 2 else str((o[mid - 1] + o[mid]) / 2)


def contact_rates(conn: Connection, on: date) -> dict[str, Any]:
    start = on - timedelta(days=WINDOW_DAYS - 1)
    contacts = _table("collection_contacts")
    promises = _table("collection_promises")
    rows = conn.execute(
        select(contacts.c.outcome, func.count())
        .where(contacts.c.business_date >= start, contacts.c.business_date <= on)
        .group_by(contacts.c.outcome)
    ).all()
    total = sum(int(n) for _, n in rows)
    rpc = sum(int(n) for o, n in rows if o in REACHED)
    made = int(
        conn.execute(
            select(func.count()).where(promises.c.created_on >= start, promises.c.created_on <= on)
        ).scalar_one()
    )
    return {
        "contacts": total,
        "right_party_contacts": rpc,
        "right_party_contact_rate": ratio(rpc, total),
        "promises_made": made,
        "ptp_rate": ratio(made, rpc),
    }


def recovery_rate(conn: Connection, state: pl.DataFrame) -> dict[str, Any]:
    wo = state.filter(pl.col("status") == "charged_off")
    written = int(wo["written_off"].sum() or 0)
    recovered = int(wo["recovered"].sum() or 0)
    rec = _table("collection_recoveries")
    ids = wo["loan_id"].to_list()
    cost = 0
    for i in range(0, len(ids), 5000):
        cost += int(
            conn.execute(
                select(func.coalesce(func.sum(rec.c.cost), 0)).where(
                    rec.c.after_write_off == 1, rec.c.loan_id.in_(ids[i : i + 5000])
                )
            ).scalar_one()
        )
    return {
        "written_off": money(written),
        "recovered_after_charge_off": money(recovered),
        "recovery_cost_after_charge_off": money(cost),
        "recovery_rate": ratio(recovered - cost, written),
    }


def first_90(states: pl.LazyFrame) -> pl.DataFrame:
    """``loan_id, first90``: the first snapshot date each loan was more than 90 DPD."""
    return (
        states.filter(pl.col("days_past_due") > 90)
        .group_by("loan_id")
        .agg(pl.col("business_date").min().alias("first90"))
        .collect()
    )


#: Model-monitoring alerts are about a model, not a loan: not in alert precision.
MODEL_RULE = "model_monitoring"


def alert_quality(conn: Connection, on: date, states: pl.LazyFrame) -> dict[str, Any]:
    alerts = _table("alerts")
    rows = conn.execute(
        select(alerts.c.loan_id, func.min(alerts.c.business_date))
        .where(alerts.c.business_date <= on, alerts.c.rule_id != MODEL_RULE)
        .group_by(alerts.c.loan_id)
    ).all()
    first_alert = pl.DataFrame(
        [(r[0], r[1]) for r in rows],
        schema={"loan_id": pl.Utf8, "alerted": pl.Date},
        orient="row",
    )
    hits = first_90(states.filter(pl.col("business_date") <= on))
    joined = first_alert.join(hits, on="loan_id", how="left")
    lo = on - timedelta(days=HORIZON + WINDOW_DAYS - 1)
    hi = on - timedelta(days=HORIZON)
    cohort = joined.filter(
        (pl.col("alerted") >= lo)
        & (pl.col("alerted") <= hi)
        & (pl.col("first90").is_null() | (pl.col("first90") > pl.col("alerted")))
    )
    good = cohort.filter(
        pl.col("first90").is_not_null()
        & ((pl.col("first90") - pl.col("alerted")).dt.total_days() <= HORIZON)
    )
    bad_window = hits.filter(pl.col("first90") >= on - timedelta(days=WINDOW_DAYS - 1)).join(
        first_alert, on="loan_id", how="left"
    )
    leads = [
        int(x)
        for x in bad_window.filter(pl.col("alerted") < pl.col("first90"))
        .select((pl.col("first90") - pl.col("alerted")).dt.total_days())
        .to_series()
        .to_list()
    ]
    return {
        "alert_precision": ratio(good.height, cohort.height),
        "alerted_loans": cohort.height,
        "alert_lead_time": {
            "median": median(leads),
            "p90": percentile(leads, 90),
            "loans": bad_window.height,
            "without_alert": bad_window.height - len(leads),
        },
    }


def days_to_first_action_by_bucket(conn: Connection, on: date) -> dict[str, Any]:
    """Per bucket entered in the window (``entered_delinquency`` = the first bucket,
    ``bucket_up`` to a bucket): days from the entry to the loan's first collection
    action on or after it — ``median``, ``p90``, ``entries``, ``without_action``."""
    start = on - timedelta(days=WINDOW_DAYS - 1)
    events = _table("loan_events")
    actions = _table("collection_actions")
    entries = conn.execute(
        select(
            events.c.loan_id, events.c.business_date, events.c.event_type, events.c.to_value
        ).where(
            events.c.event_type.in_(["entered_delinquency", "bucket_up"]),
            events.c.business_date >= start,
            events.c.business_date <= on,
        )
    ).all()
    if not entries:
        return {}
    acted: dict[str, list[date]] = {}
    for loan_id, day in conn.execute(
        select(actions.c.loan_id, actions.c.business_date).where(
            actions.c.business_date >= start,
            actions.c.business_date <= on,
            actions.c.status != "duplicate",
        )
    ):
        acted.setdefault(loan_id, []).append(day)
    days: dict[str, list[int]] = {}
    waiting: dict[str, int] = {}
    for loan_id, day, kind, to_value in entries:
        bucket = "first" if kind == "entered_delinquency" else str(to_value)
        later = [d for d in acted.get(loan_id, []) if d >= day]
        if later:
            days.setdefault(bucket, []).append((min(later) - day).days)
        else:
            waiting[bucket] = waiting.get(bucket, 0) + 1
    return {
        b: {
            "median": median(days.get(b, [])),
            "p90": percentile(days.get(b, []), 90),
            "entries": len(days.get(b, [])) + waiting.get(b, 0),
            "without_action": waiting.get(b, 0),
        }
        for b in sorted(set(days) | set(waiting))
    }
