"""Read-only queries the pages need where no service function exists yet.

Charts read the Parquet snapshots of the close of business (``kpi`` and
``loan_state``); lists read the database. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from postloan.store.snapshots import SnapshotStore

AGE_BANDS = ((0, 1, "0-1"), (2, 7, "2-7"), (8, 30, "8-30"), (31, 90, "31-90"), (91, 10**6, "90+"))
MAX_TREND_DATES = 400


def business_date(conn: Connection) -> date:
    """The last closed business date (today in UTC before the first close)."""
    found = conn.execute(
        text("SELECT last_closed_business_date FROM watermarks WHERE name = 'eod'")
    ).scalar_one_or_none()
    if isinstance(found, str):
        return date.fromisoformat(found)
    return found or datetime.now(UTC).date()


def _ratio(numerator: int, denominator: int) -> float:
    # a display value for a chart axis, never stored or summed
    return round(numerator / denominator, 6) if denominator else 0.0


def kpi_trend(snapshots: SnapshotStore) -> list[dict[str, Any]]:
    """Per business date: open balance, NPL and 90+ balances and their ratios.

    No longer on the dashboard (it reads :mod:`postloan.web.dashboard_view`, i.e. the
    analytics functions); kept as the baseline of ``benchmarks/bench_analytics.py``."""
    dates = snapshots.dates("kpi")[-MAX_TREND_DATES:]
    if not dates:
        return []
    frame = (
        snapshots.scan("kpi", dates[0], dates[-1])
        .filter(pl.col("kpi").is_in(["total", "npl", "dpd90"]))
        .filter((pl.col("kpi") != "total") | (pl.col("key") == "open"))
        .collect()
    )
    out: dict[date, dict[str, Any]] = {}
    for row in frame.iter_rows(named=True):
        item = out.setdefault(row["business_date"], {"date": row["business_date"]})
        item[row["kpi"]] = int(row["balance"])
        item[f"{row['kpi']}_count"] = int(row["count"])
    rows = [out[d] for d in sorted(out)]
    for item in rows:
        total = item.get("total", 0)
        item["npl_ratio"] = _ratio(item.get("npl", 0), total)
        item["dpd90_ratio"] = _ratio(item.get("dpd90", 0), total)
    return rows


def _month_ends(dates: list[date]) -> list[date]:
    last: dict[tuple[int, int], date] = {}
    for d in dates:
        last[(d.year, d.month)] = max(d, last.get((d.year, d.month), d))
    return sorted(last.values())


@dataclass(frozen=True, slots=True)
class RollRates:
    start: date
    end: date
    buckets: list[str]
    cells: list[list[float]]  # [to index, from index, percent of the from-bucket's loans]


def roll_rates(snapshots: SnapshotStore, buckets: list[str]) -> RollRates | None:
    """Bucket-to-bucket moves between the last two month-ends (or the first and
    last snapshot dates while fewer than two month-ends exist). The baseline of
    ``benchmarks/bench_analytics.py``; the dashboard uses the analytics roll rates."""
    dates = snapshots.dates("loan_state")
    if len(dates) < 2:
        return None
    ends = _month_ends(dates[:-1]) + [dates[-1]]
    start, end = (ends[-2], ends[-1]) if len(ends) >= 2 else (dates[0], dates[-1])
    before = snapshots.read("loan_state", start).select("loan_id", pl.col("bucket").alias("f"))
    after = snapshots.read("loan_state", end).select("loan_id", pl.col("bucket").alias("t"))
    moves = before.join(after, on="loan_id", how="inner").group_by("f", "t").agg(pl.len())
    totals = moves.group_by("f").agg(pl.col("len").sum().alias("n")).rows_by_key("f")
    index = {b: i for i, b in enumerate(buckets)}
    cells = []
    for f, t, n in moves.iter_rows():
        if f in index and t in index:
            share = 100 * n / totals[f][0][0]
            cells.append([index[t], index[f], round(share, 1)])
    return RollRates(start, end, buckets, cells)


def _aged(on: date, counts: Any) -> list[dict[str, Any]]:
    """(day, count) rows summed into the age bands (days before ``on``)."""
    bands = {label: 0 for _, _, label in AGE_BANDS}
    for day, n in counts:
        age = (on - _as_date(day)).days
        for low, high, label in AGE_BANDS:
            if low <= age <= high:
                bands[label] += int(n)
                break
    return [{"band": label, "count": n} for label, n in bands.items()]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def alerts_by_age(conn: Connection, on: date) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT business_date, COUNT(*) FROM alerts WHERE state IN ('new', 'acknowledged') "
            "GROUP BY business_date"
        )
    )
    return _aged(on, rows)


def cases_by_age(conn: Connection, on: date) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT opened_on, COUNT(*) FROM collection_cases WHERE closed_on IS NULL "
            "GROUP BY opened_on"
        )
    )
    return _aged(on, rows)


_CASES = """
SELECT c.case_id, c.borrower_id, c.state, c.version, c.bucket, c.queue, c.assigned_to,
       c.opened_on,
       MAX(s.days_past_due) AS dpd,
       SUM(COALESCE(s.overdue_principal, 0) + COALESCE(s.overdue_interest, 0)
           + COALESCE(s.penalty_outstanding, 0)) AS overdue
FROM collection_cases c
LEFT JOIN collection_case_loans cl ON cl.case_id = c.case_id
LEFT JOIN loan_state_current s ON s.loan_id = cl.loan_id
WHERE c.closed_on IS NULL {extra}
GROUP BY c.case_id, c.borrower_id, c.state, c.version, c.bucket, c.queue, c.assigned_to,
         c.opened_on
ORDER BY overdue DESC, c.case_id
LIMIT :limit
"""


def open_cases(
    conn: Connection, *, collector: str | None, limit: int = 200
) -> list[dict[str, Any]]:
    """Open cases, largest overdue amount first (a collector's own when given)."""
    extra = "AND c.assigned_to = :collector" if collector is not None else ""
    params: dict[str, Any] = {"limit": limit}
    if collector is not None:
        params["collector"] = collector
    return [dict(r) for r in conn.execute(text(_CASES.format(extra=extra)), params).mappings()]


def officer_cases(conn: Connection, officer: str, limit: int = 200) -> list[dict[str, Any]]:
    extra = "AND c.borrower_id IN (SELECT borrower_id FROM loans WHERE officer_id = :officer)"
    rows = conn.execute(text(_CASES.format(extra=extra)), {"limit": limit, "officer": officer})
    return [dict(r) for r in rows.mappings()]


def case_loans(conn: Connection, borrower_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT l.loan_id, l.product, l.principal, l.currency, l.term, l.annual_rate, "
            "l.disbursement_date, s.days_past_due, s.bucket, s.classification, "
            "s.principal_outstanding, s.overdue_principal, s.overdue_interest, "
            "s.penalty_outstanding FROM loans l LEFT JOIN loan_state_current s "
            "ON s.loan_id = l.loan_id WHERE l.borrower_id = :b ORDER BY l.loan_id"
        ),
        {"b": borrower_id},
    )
    return [dict(r) for r in rows.mappings()]


def schedule(conn: Connection, loan_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT seq, due_date, principal_due, interest_due, fee_due, balance "
            "FROM schedule_instalments WHERE loan_id = :l ORDER BY seq"
        ),
        {"l": loan_id},
    )
    return [dict(r) for r in rows.mappings()]


def transactions(conn: Connection, loan_ids: list[str], limit: int = 50) -> list[dict[str, Any]]:
    if not loan_ids:
        return []
    marks = ", ".join(f":l{i}" for i in range(len(loan_ids)))
    rows = conn.execute(
        text(
            f"SELECT txn_id, loan_id, type, amount, value_date, channel FROM transactions "
            f"WHERE loan_id IN ({marks}) ORDER BY value_date DESC, txn_id LIMIT :limit"
        ),
        {**{f"l{i}": v for i, v in enumerate(loan_ids)}, "limit": limit},
    )
    return [dict(r) for r in rows.mappings()]


def contacts(conn: Connection, case_id: int, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT contact_id, collector, channel, outcome, note, business_date, contacted_at "
            "FROM collection_contacts WHERE case_id = :c ORDER BY contact_id DESC LIMIT :limit"
        ),
        {"c": case_id, "limit": limit},
    )
    return [dict(r) for r in rows.mappings()]


def promises(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT promise_id, amount, currency, promised_date, state, paid, created_by "
            "FROM collection_promises WHERE case_id = :c ORDER BY promise_id DESC"
        ),
        {"c": case_id},
    )
    return [dict(r) for r in rows.mappings()]


def latest_scores(conn: Connection, loan_ids: list[str]) -> list[dict[str, Any]]:
    """Each loan's newest score of each purpose, with its top reasons."""
    if not loan_ids:
        return []
    marks = ", ".join(f":l{i}" for i in range(len(loan_ids)))
    rows = conn.execute(
        text(
            "SELECT s.* FROM loan_scores s JOIN (SELECT loan_id, purpose, "
            "MAX(business_date) AS d FROM loan_scores WHERE loan_id IN "
            f"({marks}) GROUP BY loan_id, purpose) m ON m.loan_id = s.loan_id "
            "AND m.purpose = s.purpose AND m.d = s.business_date ORDER BY s.loan_id, s.purpose"
        ),
        {f"l{i}": v for i, v in enumerate(loan_ids)},
    )
    return [dict(r) for r in rows.mappings()]


def audit_page(
    conn: Connection, *, page: int, size: int, actor: str | None, action: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """One page of audit entries, newest first, and whether there is a next page."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": size + 1, "offset": (page - 1) * size}
    if actor:
        where.append("actor = :actor")
        params["actor"] = actor
    if action:
        where.append("action LIKE :action")
        params["action"] = f"{action}%"
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT id, actor, action, object_type, object_id, business_date, recorded_at "
                f"FROM audit_entries {clause} ORDER BY id DESC LIMIT :limit OFFSET :offset"
            ),
            params,
        ).mappings()
    ]
    return rows[:size], len(rows) > size


def collector_scorecards(conn: Connection) -> list[dict[str, Any]]:
    """Per collector: open cases, contacts logged, borrowers reached, promises and outcomes."""
    out: dict[str, dict[str, Any]] = {}

    def row(name: str) -> dict[str, Any]:
        return out.setdefault(
            name,
            {
                "collector": name,
                "open_cases": 0,
                "contacts": 0,
                "reached": 0,
                "promises": 0,
                "kept": 0,
                "broken": 0,
            },
        )

    for name in conn.execute(text("SELECT username FROM users WHERE role = 'collector'")):
        row(name[0])
    for name, n in conn.execute(
        text(
            "SELECT assigned_to, COUNT(*) FROM collection_cases WHERE closed_on IS NULL "
            "AND assigned_to IS NOT NULL GROUP BY assigned_to"
        )
    ):
        row(name)["open_cases"] = n
    for name, n, reached in conn.execute(
        text(
            "SELECT collector, COUNT(*), SUM(CASE WHEN outcome IN ('right_party', 'refused', "
            "'promise') THEN 1 ELSE 0 END) FROM collection_contacts GROUP BY collector"
        )
    ):
        row(name).update(contacts=n, reached=int(reached or 0))
    for name, state, n in conn.execute(
        text(
            "SELECT created_by, state, COUNT(*) FROM collection_promises GROUP BY created_by, state"
        )
    ):
        item = row(name)
        item["promises"] += n
        if state in ("kept", "broken"):
            item[state] += n
    return sorted(out.values(), key=lambda r: r["collector"])


def officer_scorecards(conn: Connection) -> list[dict[str, Any]]:
    """Per loan officer: open loans, overdue loans and the overdue share of the balance."""
    rows = conn.execute(
        text(
            "SELECT l.officer_id, COUNT(*) AS loans, "
            "SUM(CASE WHEN s.days_past_due > 0 THEN 1 ELSE 0 END) AS overdue_loans, "
            "SUM(s.principal_outstanding) AS balance, "
            "SUM(CASE WHEN s.days_past_due > 0 THEN s.principal_outstanding ELSE 0 END) AS od "
            "FROM loans l JOIN loan_state_current s ON s.loan_id = l.loan_id "
            "WHERE l.officer_id IS NOT NULL AND s.principal_outstanding > 0 "
            "GROUP BY l.officer_id ORDER BY l.officer_id"
        )
    ).mappings()
    return [
        {
            "officer": r["officer_id"],
            "loans": int(r["loans"]),
            "overdue_loans": int(r["overdue_loans"] or 0),
            "balance": int(r["balance"] or 0),
            "overdue_share": _ratio(int(r["od"] or 0), int(r["balance"] or 0)),
        }
        for r in rows
    ]
