"""Collections KPIs of a business date, for ``postloan kpi --json``.

- ``days_to_first_action``: for delinquency episodes (``entered_delinquency``
  events) that started in the :data:`WINDOW_DAYS` days up to the date, the days
  from the start to the loan's first action on or after it: ``median`` and
  ``p90`` (nearest rank) over episodes that got one, ``by_kind`` the same for
  automated and human actions, and ``without_action`` the episodes still waiting.
- ``ptp_kept_rate``: promises kept ÷ promises due (kept, or whose date + grace
  has passed) among promises made in the window.
- ``cure_rate``: of the episodes that started between 2·window and 1·window
  days ago, the share with a ``cured`` event within ``WINDOW_DAYS`` of the start.
- ``cost_per_account``: the cost of the window's actions and tasks (cost table,
  minor units) ÷ the accounts acted on; as a decimal string in major units.
- ``champion_challenger``: the same figures per experiment group.

Ratios are decimal strings rounded half-up to 6 places, like the other KPIs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, select

from postloan.collections import service as sv
from postloan.collections.settings import CollectionsSettings
from postloan.store.tables import LoanEvent

WINDOW_DAYS = 30
PLACES = Decimal("0.000001")


def _ratio(num: int, den: int) -> str:
    if den == 0:
        return "0.000000"
    return str((Decimal(num) / Decimal(den)).quantize(PLACES, rounding=ROUND_HALF_UP))


def _money(minor: int | Decimal) -> str:
    return str((Decimal(minor) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _percentile(values: list[int], q: int) -> int | None:
    """Nearest-rank percentile (an observed whole number of days)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))
    return ordered[rank - 1]


def _median(values: list[int]) -> str | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return str(ordered[mid])
    return str(Decimal(ordered[mid - 1] + ordered[mid]) / 2)


def _episodes(conn: Connection, start: date, end: date) -> list[tuple[str, date]]:
    t = LoanEvent.__table__
    rows = conn.execute(
        select(t.c.loan_id, t.c.business_date).where(
            t.c.event_type == "entered_delinquency",
            t.c.business_date >= start,
            t.c.business_date <= end,
        )
    )
    return [(r.loan_id, r.business_date) for r in rows]


def _days_block(days: list[int], waiting: int) -> dict[str, Any]:
    return {
        "median": _median(days),
        "p90": _percentile(days, 90),
        "episodes": len(days) + waiting,
        "without_action": waiting,
    }


def collection_kpis(
    conn: Connection, business_date: date, settings: CollectionsSettings | None = None
) -> dict[str, Any]:
    """The collections KPI block of ``business_date`` (see the module doc)."""
    rules = (settings or CollectionsSettings()).promises
    start = business_date - timedelta(days=WINDOW_DAYS - 1)
    acts = sv.ACTIONS
    action_rows = conn.execute(
        select(
            acts.c.loan_id,
            acts.c.business_date,
            acts.c.kind,
            acts.c.group,
            acts.c.cost,
            acts.c.status,
        ).where(acts.c.business_date <= business_date)
    ).all()
    first: dict[tuple[str, str], list[date]] = defaultdict(list)
    group_of: dict[str, str] = {}
    for r in action_rows:
        if r.status == "duplicate":
            continue
        first[(r.loan_id, "any")].append(r.business_date)
        first[(r.loan_id, r.kind)].append(r.business_date)
        group_of[r.loan_id] = r.group

    def delays(episodes: list[tuple[str, date]], kind: str) -> tuple[list[int], int]:
        got, waiting = [], 0
        for loan_id, began in episodes:
            after = [d for d in first.get((loan_id, kind), []) if d >= began]
            if after:
                got.append((min(after) - began).days)
            else:
                waiting += 1
        return got, waiting

    episodes = _episodes(conn, start, business_date)
    old = _episodes(conn, start - timedelta(days=WINDOW_DAYS), start - timedelta(days=1))
    t = LoanEvent.__table__
    cured: dict[str, list[date]] = defaultdict(list)
    for loan_id, on in conn.execute(
        select(t.c.loan_id, t.c.business_date).where(
            t.c.event_type == "cured",
            t.c.business_date >= start - timedelta(days=WINDOW_DAYS),
            t.c.business_date <= business_date,
        )
    ):
        cured[loan_id].append(on)

    def is_cured(loan_id: str, began: date) -> bool:
        return any(began < d <= began + timedelta(days=WINDOW_DAYS) for d in cured[loan_id])

    promises = conn.execute(
        select(sv.PROMISES.c.state, sv.PROMISES.c.promised_date, sv.PROMISES.c.group).where(
            sv.PROMISES.c.created_on >= start, sv.PROMISES.c.created_on <= business_date
        )
    ).all()
    due_line = business_date - timedelta(days=rules.grace_days)

    cost: dict[str, int] = defaultdict(int)
    accounts: dict[str, set[str]] = defaultdict(set)
    for r in action_rows:
        if r.business_date >= start and r.status != "duplicate":
            for key in ("all", r.group):
                cost[key] += int(r.cost)
                accounts[key].add(r.loan_id)
    tasks = conn.execute(
        select(sv.TASKS.c.loan_id, sv.TASKS.c.cost, sv.TASKS.c.group).where(
            sv.TASKS.c.created_on >= start, sv.TASKS.c.created_on <= business_date
        )
    ).all()
    for task_loan, task_cost, task_group in tasks:
        for key in ("all", task_group):
            cost[key] += int(task_cost)
            accounts[key].add(task_loan)

    def block(group: str | None) -> dict[str, Any]:
        def mine(loan_id: str) -> bool:
            return group is None or group_of.get(loan_id) == group

        eps = [e for e in episodes if mine(e[0])]
        olds = [e for e in old if mine(e[0])]
        days, waiting = delays(eps, "any")
        pr = [p for p in promises if group is None or p.group == group]
        kept = sum(1 for p in pr if p.state == "kept")
        due = sum(1 for p in pr if p.state == "kept" or p.promised_date < due_line)
        key = "all" if group is None else group
        n_accounts = len(accounts[key])
        return {
            "days_to_first_action": _days_block(days, waiting),
            "ptp_kept_rate": _ratio(kept, due),
            "promises_due": due,
            "cure_rate": _ratio(sum(1 for e in olds if is_cured(*e)), len(olds)),
            "cost": _money(cost[key]),
            "accounts_actioned": n_accounts,
            "cost_per_account": _money(
                Decimal(cost[key]) / n_accounts if n_accounts else Decimal(0)
            ),
        }

    overall = block(None)
    by_kind = {}
    for kind in ("automated", "human"):
        days, waiting = delays(episodes, kind)
        by_kind[kind] = _days_block(days, waiting)
    overall["days_to_first_action"]["by_kind"] = by_kind
    groups = sorted({g for g in group_of.values() if g})
    overall["champion_challenger"] = {g: block(g) for g in groups}
    overall["window_days"] = WINDOW_DAYS
    return overall
