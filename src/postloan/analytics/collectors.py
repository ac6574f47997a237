"""Collector scorecard of a month, adjusted for case difficulty by bucket mix and
by the C-score.

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
- C-score difficulty: each delinquent loan's probability of cure at ``start``
  (purpose ``cscore``: the latest ``scores`` snapshot up to ``start`` within
  :data:`CSCORE_MAX_AGE` days, else the latest ``loan_scores`` row in that
  window); a loan without one falls back to its bucket's cure share. Expected
  cures = Σ p, ``cure_index_cscore`` = cures ÷ that, ``difficulty`` = mean (1 − p),
  and ``difficulty_basis`` says which basis was used (``cscore``, ``bucket_mix``
  or ``mixed``, with ``cscore_coverage`` the share of loans with a C-score);
- promise kept rate (their promises due in the month: kept ÷ kept + broken),
  right-party contact rate (their logged contacts), and conduct-guard breaches
  attempted (audit entries by them whose action mentions ``blocked``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from postloan.analytics.kpis import is_paid_off, money, ratio
from postloan.analytics.operations import REACHED
from postloan.analytics.scorecards import dec
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables import Base

#: How old a C-score may be at the month's start and still count (days).
CSCORE_MAX_AGE = 35


def _t(name: str) -> Any:
    return Base.metadata.tables[name]


def cure_probabilities(
    conn: Connection, snapshots: SnapshotStore, loan_ids: list[str], on: date
) -> dict[str, float]:
    """The C-score probability of cure of ``loan_ids`` in force on ``on``: from the
    latest ``scores`` snapshot up to ``on`` (within :data:`CSCORE_MAX_AGE` days),
    else the latest stored ``loan_scores`` row in that window; loans with neither
    are absent."""
    oldest = on - timedelta(days=CSCORE_MAX_AGE)
    found: dict[str, float] = {}
    dates = [d for d in snapshots.dates("scores") if oldest <= d <= on]
    if dates and loan_ids:
        snap = snapshots.read("scores", dates[-1])
        if {"purpose", "probability"} <= set(snap.columns):
            hit = snap.filter(
                (pl.col("purpose") == "cscore") & pl.col("loan_id").is_in(loan_ids)
            ).select("loan_id", "probability")
            found.update(dict(hit.iter_rows()))
    missing = [x for x in loan_ids if x not in found]
    if missing and "loan_scores" in Base.metadata.tables:
        scores = _t("loan_scores")
        for i in range(0, len(missing), 5_000):
            chunk = missing[i : i + 5_000]
            rows = conn.execute(
                select(scores.c.loan_id, scores.c.business_date, scores.c.probability).where(
                    scores.c.purpose == "cscore",
                    scores.c.loan_id.in_(chunk),
                    scores.c.business_date <= on,
                    scores.c.business_date >= oldest,
                )
            ).all()
            latest: dict[str, tuple[date, float]] = {}
            for loan_id, day, prob in rows:
                if loan_id not in latest or day > latest[loan_id][0]:
                    latest[loan_id] = (day, float(prob))
            found.update({k: v for k, (_, v) in latest.items()})
    return found


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
    late = frame.filter(pl.col("days_past_due_0") > 0)["loan_id"].unique().sort().to_list()
    p_cure = cure_probabilities(conn, snapshots, late, start)
    people = _people_figures(conn, first, last)
    out = []
    for (collector,), part in frame.group_by(["collector"], maintain_order=True):
        assigned = int(part["principal_outstanding_0"].sum() or 0)
        recovered = int(part["recovered"].sum() or 0)
        expected = Fraction(0)
        expected_cures = Fraction(0)
        expected_cscore = Fraction(0)
        scored = 0
        for loan_id, bucket, bal, dpd0 in part.select(
            "loan_id", "bucket_0", "principal_outstanding_0", "days_past_due_0"
        ).iter_rows():
            rec_b, bal_b, n_b, cures_b = share[bucket]
            if bal_b:
                expected += Fraction(int(bal) * rec_b, bal_b)
            if dpd0 > 0:
                by_bucket = Fraction(cures_b, n_b) if n_b else Fraction(0)
                expected_cures += by_bucket
                if loan_id in p_cure:
                    scored += 1
                    expected_cscore += Fraction(p_cure[loan_id])
                else:
                    expected_cscore += by_bucket
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
                "expected_cures_cscore": dec(expected_cscore) if delinquent else None,
                "cure_index_cscore": (
                    dec(Fraction(cures) / expected_cscore) if expected_cscore else None
                ),
                "difficulty": dec(1 - expected_cscore / delinquent) if delinquent else None,
                "difficulty_basis": _basis(scored, delinquent),
                "cscore_coverage": ratio(scored, delinquent),
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


def _basis(scored: int, delinquent: int) -> str | None:
    if not delinquent:
        return None
    if scored == delinquent:
        return "cscore"
    return "bucket_mix" if scored == 0 else "mixed"


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
