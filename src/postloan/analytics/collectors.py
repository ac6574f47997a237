"""Collector scorecard of a month, adjusted for case difficulty by bucket mix.

For each collector, the loans of the cases assigned to them that were open in
the month. ``start`` is the last ``loan_state`` snapshot before the month (else
the month's first), ``end`` the month's last snapshot.

- assigned balance: principal outstanding of those loans at ``start``;
- recovered: their ``total_paid`` at ``end`` − at ``start`` (exact, minor units);
- recovery index: recovered ÷ expected, expected = Σ assigned balance × the
  recovered share of the loan's ``start`` bucket over every assigned loan of the
  month (so a desk of M4 cases is not compared with a desk of M1 cases);
- cure rate (delinquent at start, current or paid off at end), roll-back rate
  (a lower bucket at end), and the cure index (cures ÷ expected cures by bucket);
- promise kept rate (their promises due in the month: kept ÷ kept + broken),
  right-party contact rate (their logged contacts), and conduct-guard breaches
  attempted (audit entries by them whose action mentions ``blocked``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from postloan.analytics.kpis import is_paid_off, money, ratio
from postloan.analytics.operations import REACHED
from postloan.analytics.scorecards import dec
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables import Base


def _t(name: str) -> Any:
    return Base.metadata.tables[name]


def collector_scorecard(
    conn: Connection, snapshots: SnapshotStore, first: date, last: date, buckets: list[str]
) -> list[dict[str, Any]]:
    dates = snapshots.dates("loan_state")
    before = [d for d in dates if d < first]
    inside = [d for d in dates if first <= d <= last]
    if not inside:
        return []
    start, end = (before[-1] if before else inside[0]), inside[-1]
    cases, links = _t("collection_cases"), _t("collection_case_loans")
    rows = conn.execute(
        select(cases.c.assigned_to, links.c.loan_id)
        .join(links, links.c.case_id == cases.c.case_id)
        .where(
            cases.c.assigned_to.is_not(None),
            cases.c.opened_on <= last,
            (cases.c.closed_on.is_(None)) | (cases.c.closed_on >= first),
        )
    ).all()
    if not rows:
        return []
    desk = pl.DataFrame(
        [(r[0], r[1]) for r in rows],
        schema={"collector": pl.Utf8, "loan_id": pl.Utf8},
        orient="row",
    ).unique()
    cols = ["loan_id", "bucket", "days_past_due", "principal_outstanding", "total_paid", "status"]
    s0 = snapshots.read("loan_state", start).select(cols)
    s1 = snapshots.read("loan_state", end).select(cols)
    order = {b: i for i, b in enumerate(buckets)}
    frame = (
        desk.join(s0.rename({c: f"{c}_0" for c in cols[1:]}), on="loan_id")
        .join(s1, on="loan_id")
        .with_columns(
            (pl.col("total_paid") - pl.col("total_paid_0")).alias("recovered"),
            (
                (pl.col("days_past_due_0") > 0) & (is_paid_off() | (pl.col("days_past_due") == 0))
            ).alias("cured"),
            (
                pl.col("bucket").replace_strict(order, default=len(order))
                < pl.col("bucket_0").replace_strict(order, default=len(order))
            ).alias("rolled_back"),
        )
    )
    mix = frame.group_by("bucket_0").agg(
        pl.col("recovered").sum().alias("rec"),
        pl.col("principal_outstanding_0").sum().alias("bal"),
        (pl.col("days_past_due_0") > 0).sum().alias("delinquent"),
        pl.col("cured").sum().alias("cures"),
        pl.len().alias("n"),
    )
    share = {b: (int(rec), int(bal), int(n), int(c)) for b, rec, bal, _, c, n in mix.iter_rows()}
    people = _people_figures(conn, first, last)
    out = []
    for (collector,), part in frame.group_by(["collector"], maintain_order=True):
        assigned = int(part["principal_outstanding_0"].sum() or 0)
        recovered = int(part["recovered"].sum() or 0)
        expected = Fraction(0)
        expected_cures = Fraction(0)
        for bucket, bal, dpd0 in part.select(
            "bucket_0", "principal_outstanding_0", "days_past_due_0"
        ).iter_rows():
            rec_b, bal_b, n_b, cures_b = share[bucket]
            if bal_b:
                expected += Fraction(int(bal) * rec_b, bal_b)
            if dpd0 > 0 and n_b:
                expected_cures += Fraction(cures_b, n_b)
        delinquent = int((part["days_past_due_0"] > 0).sum())
        cures = int(part["cured"].sum())
        p = people.get(collector, {})
        out.append(
            {
                "collector": collector,
                "loans": part.height,
                "balance_assigned": money(assigned),
                "recovered": money(recovered),
                "recovery_rate": ratio(recovered, assigned),
                "recovery_index": dec(Fraction(recovered) / expected) if expected else None,
                "cure_rate": ratio(cures, delinquent),
                "cure_index": dec(Fraction(cures) / expected_cures) if expected_cures else None,
                "roll_back_rate": ratio(int(part["rolled_back"].sum()), part.height),
                "ptp_kept_rate": ratio(p.get("kept", 0), p.get("kept", 0) + p.get("broken", 0)),
                "right_party_contact_rate": ratio(p.get("rpc", 0), p.get("contacts", 0)),
                "conduct_breaches_attempted": p.get("blocked", 0),
                "_key": (Fraction(recovered) / expected) if expected else Fraction(0),
            }
        )
    out.sort(key=lambda r: (-r["_key"], r["collector"]))
    for rank, row in enumerate(out, 1):
        row.pop("_key")
        row["rank"] = rank
    return out


def _people_figures(conn: Connection, first: date, last: date) -> dict[str, dict[str, int]]:
    got: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    promises = _t("collection_promises")
    for who, state, n in conn.execute(
        select(promises.c.created_by, promises.c.state, func.count())
        .where(promises.c.promised_date >= first, promises.c.promised_date <= last)
        .group_by(promises.c.created_by, promises.c.state)
    ):
        if state in ("kept", "broken"):
            got[who][state] += int(n)
    contacts = _t("collection_contacts")
    for who, outcome, n in conn.execute(
        select(contacts.c.collector, contacts.c.outcome, func.count())
        .where(contacts.c.business_date >= first, contacts.c.business_date <= last)
        .group_by(contacts.c.collector, contacts.c.outcome)
    ):
        got[who]["contacts"] += int(n)
        if outcome in REACHED:
            got[who]["rpc"] += int(n)
    audit = Base.metadata.tables.get("audit_log")
    if audit is not None and "actor" in audit.c and "action" in audit.c:
        when = audit.c.business_date if "business_date" in audit.c else None
        query = select(audit.c.actor, func.count()).where(audit.c.action.like("%blocked%"))
        if when is not None:
            query = query.where(when >= first, when <= last)
        for who, n in conn.execute(query.group_by(audit.c.actor)):
            got[who]["blocked"] += int(n)
    return got
