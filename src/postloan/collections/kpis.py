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
- ``recovered_amount``: repayments value-dated in the window on loans while they
  were in a collection case (recoveries by litigation and agencies included; major
  units), with ``recovered_after_write_off`` (recoveries on charged-off loans)
  and ``recoveries_by_source`` (legal, agency, internal) beside it;
- ``litigation_recovery_rate``: over every legal case referred up to the date,
  (legal recoveries − legal cost) ÷ exposure at referral (DESIGN.md);
- ``cost_per_unit_recovered``: the window's collection cost (actions, tasks,
  legal costs, agency commissions) ÷ the amount recovered;
- ``roll_rate``: of the loans that entered M2 (31–60 DPD) between 2·window and
  1·window days ago, the share that reached M3 within ``WINDOW_DAYS``;
- ``complaints``: contacts logged with outcome ``complaint`` in the window;
- ``champion_challenger``: the same figures per experiment group.

Ratios are decimal strings rounded half-up to 6 places, like the other KPIs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from postloan.collections import service as sv
from postloan.collections.settings import CollectionsSettings
from postloan.collections.strategy import Strategy
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

    extra = _recovery_figures(conn, business_date, start)
    cases_group = extra.pop("_group_of_loan")
    for loan_id, group in cases_group.items():
        group_of.setdefault(loan_id, group)

    def add(out: dict[str, Any], group: str | None) -> dict[str, Any]:
        key = "all" if group is None else group
        rec = extra["recovered"].get(key, 0)
        spend = cost[key] + extra["other_cost"].get(key, 0)
        olds = [e for e in _m2_entries if group is None or group_of.get(e[0]) == group]
        rolled = sum(
            1
            for e in olds
            if any(e[1] < d <= e[1] + timedelta(days=WINDOW_DAYS) for d in _m3.get(e[0], []))
        )
        out.update(
            recovered_amount=_money(rec),
            cost_per_unit_recovered=_ratio(spend, rec) if rec else None,
            roll_rate=_ratio(rolled, len(olds)),
            roll_cohort=len(olds),
            complaints=extra["complaints"].get(key, 0),
        )
        return out

    _m2_entries, _m3 = _bucket_entries(conn, start, business_date)
    overall = add(block(None), None)
    overall["recovered_after_write_off"] = _money(extra["after_write_off"])
    overall["recoveries_by_source"] = {k: _money(v) for k, v in extra["by_source"].items()}
    overall["litigation_recovery_rate"] = extra["litigation_recovery_rate"]
    by_kind = {}
    for kind in ("automated", "human"):
        days, waiting = delays(episodes, kind)
        by_kind[kind] = _days_block(days, waiting)
    overall["days_to_first_action"]["by_kind"] = by_kind
    groups = sorted({g for g in group_of.values() if g})
    overall["champion_challenger"] = {g: add(block(g), g) for g in groups}
    overall["window_days"] = WINDOW_DAYS
    return overall


def _bucket_entries(
    conn: Connection, start: date, end: date
) -> tuple[list[tuple[str, date]], dict[str, list[date]]]:
    """Loans entering M2 in the cohort window, and every entry into M3 since."""
    t = LoanEvent.__table__
    rows = conn.execute(
        select(t.c.loan_id, t.c.business_date, t.c.to_value).where(
            t.c.event_type == "bucket_up",
            t.c.to_value.in_(["M2", "M3"]),
            t.c.business_date >= start - timedelta(days=WINDOW_DAYS),
            t.c.business_date <= end,
        )
    ).all()
    cohort = [
        (r.loan_id, r.business_date) for r in rows if r.to_value == "M2" and r.business_date < start
    ]
    m3: dict[str, list[date]] = defaultdict(list)
    for r in rows:
        if r.to_value == "M3":
            m3[r.loan_id].append(r.business_date)
    return cohort, m3


def _recovery_figures(conn: Connection, business_date: date, start: date) -> dict[str, Any]:
    """Recovered amounts, other costs and complaints of the window, overall and by group."""
    from postloan.collections.legal import recovery_rate
    from postloan.store import tables_collections as tc
    from postloan.store.tables import Transaction

    txns = Transaction.__table__
    links = (
        select(
            sv.CASE_LOANS.c.loan_id,
            sv.CASE_LOANS.c.added_on,
            sv.CASES.c.closed_on,
            sv.CASES.c.group,
        )
        .join(sv.CASES, sv.CASES.c.case_id == sv.CASE_LOANS.c.case_id)
        .where(sv.CASE_LOANS.c.added_on <= business_date)
    )
    spans: dict[str, list[tuple[date, date | None, str | None]]] = defaultdict(list)
    group_of_loan: dict[str, str] = {}
    for r in conn.execute(links):
        spans[r.loan_id].append((r.added_on, r.closed_on, r.group))
        if r.group:
            group_of_loan[r.loan_id] = r.group
    recovered: dict[str, int] = defaultdict(int)
    if spans:
        loan_ids = list(spans)
        for at in range(0, len(loan_ids), 900):
            pays = conn.execute(
                select(txns.c.loan_id, txns.c.amount, txns.c.value_date).where(
                    txns.c.type == "repayment",
                    txns.c.value_date >= start,
                    txns.c.value_date <= business_date,
                    txns.c.loan_id.in_(loan_ids[at : at + 900]),
                )
            )
            for loan_id, amount, on in pays:
                for added, closed, group in spans[loan_id]:
                    if added <= on and (closed is None or on <= closed):
                        recovered["all"] += int(amount)
                        if group:
                            recovered[group] += int(amount)
                        break
    rec = tc.CollectionRecovery.__table__
    by_source: dict[str, int] = {"legal": 0, "agency": 0, "internal": 0}
    other_cost: dict[str, int] = defaultdict(int)
    after = 0
    for x in conn.execute(
        select(rec.c.loan_id, rec.c.source, rec.c.amount, rec.c.cost, rec.c.after_write_off).where(
            rec.c.value_date >= start, rec.c.value_date <= business_date
        )
    ):
        by_source[x.source] = by_source.get(x.source, 0) + int(x.amount)
        after += int(x.amount) if x.after_write_off else 0
        for key in ("all", group_of_loan.get(x.loan_id)):
            if key:
                other_cost[key] += int(x.cost)
    legal = tc.LegalCase.__table__
    events = tc.LegalEvent.__table__
    for loan_id, cost in conn.execute(
        select(legal.c.loan_id, events.c.cost)
        .join(legal, legal.c.legal_id == events.c.legal_id)
        .where(events.c.business_date >= start, events.c.business_date <= business_date)
    ):
        for key in ("all", group_of_loan.get(loan_id)):
            if key:
                other_cost[key] += int(cost)
    totals = conn.execute(
        select(
            func.coalesce(func.sum(legal.c.recovered), 0),
            func.coalesce(func.sum(legal.c.cost), 0),
            func.coalesce(func.sum(legal.c.exposure_at_referral), 0),
        ).where(legal.c.referred_on <= business_date)
    ).one()
    contacts = conn.execute(
        select(sv.CONTACTS.c.group).where(
            sv.CONTACTS.c.outcome == "complaint",
            sv.CONTACTS.c.business_date >= start,
            sv.CONTACTS.c.business_date <= business_date,
        )
    ).scalars()
    complaints: dict[str, int] = defaultdict(int)
    for group in contacts:
        complaints["all"] += 1
        if group:
            complaints[group] += 1
    return {
        "recovered": recovered,
        "by_source": by_source,
        "after_write_off": after,
        "other_cost": other_cost,
        "complaints": complaints,
        "litigation_recovery_rate": recovery_rate(int(totals[0]), int(totals[1]), int(totals[2])),
        "_group_of_loan": group_of_loan,
    }


def first_human_task_sla(strategy: Strategy) -> int:
    """The days by which a newly delinquent loan's first human task must be done under the
    strategy: over every segment that can hold a loan entering delinquency (bucket M1,
    not in legal) and each group's path with a human action anchored on the
    delinquency, the largest (first human action's offset + its ``sla_days``)."""
    worst = 0
    for segment in strategy.segments:
        if segment.in_legal or (segment.buckets is not None and "M1" not in segment.buckets):
            continue
        for path in segment.paths.values():
            human = [a for a in path if a.kind == "human" and a.anchor == "delinquency"]
            if human:
                first = min(human, key=lambda a: a.offset)
                worst = max(worst, first.offset + first.sla_days)
    return worst
