"""The books of one loan during a replay: what each instalment still owes, and totals.

Only ``loan_state`` drives a ``Ledger``; it applies one day's transactions, then
accrues that day's penalty. Everything the day loop asks every day is cached at
*refresh* days (a transaction, a due date, the day an instalment becomes past
due or starts accruing penalty), so a quiet day costs O(1).

Charges posted by the core (``fee``, ``penalty``) attach to the oldest item still
owing and due on or before their value date; when there is none, they become a
stand-alone item (``seq`` 0) due on their value date.

Money left after what is due is paid is held as an advance or prepays principal
(``advance`` gives the rule); held money is applied on each due date
(``apply_advance``), so while any is held nothing due is left unpaid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

from postloan.domain.advance import split_early_money
from postloan.domain.allocation import Due, allocate
from postloan.domain.delinquency import first_past_due_day, is_material
from postloan.domain.penalty import daily_penalty, daily_penalty_rate, first_penalty_day
from postloan.domain.policy import Component, EarlyPayment, ServicingPolicy
from postloan.domain.prepayment import payoff, prepay
from postloan.domain.schedule import Instalment, LoanTerms
from postloan.domain.transactions import Transaction, TxnType


@dataclass(slots=True, eq=False)
class Item:
    """What one instalment (or a stand-alone charge, ``seq`` 0) still owes."""

    seq: int
    due_date: date
    principal: int
    interest: int
    fee: int
    penalty: int = 0
    past_due_from: date = date.min  # first day it counts as past due (set by the ledger)
    penalty_from: date = date.min  # first day it accrues penalty (set by the ledger)

    def owed(self) -> int:
        return self.principal + self.interest + self.fee + self.penalty

    def charges(self) -> int:
        return self.interest + self.fee + self.penalty

    def as_due(self) -> Due:
        return Due(self.seq, self.penalty, self.fee, self.interest, self.principal)

    def add(self, component: Component, amount: int) -> None:
        setattr(self, component.value, getattr(self, component.value) + amount)


def _item_key(item: Item) -> tuple[date, bool]:
    return item.due_date, item.seq == 0


class Ledger:
    def __init__(
        self, terms: LoanTerms, schedule: Sequence[Instalment], policy: ServicingPolicy
    ) -> None:
        self.terms = terms
        self.policy = policy
        self.schedule = list(schedule)  # the instalments as now scheduled
        self.items = [Item(i.seq, i.due_date, i.principal, i.interest, i.fee) for i in schedule]
        self.paid = dict.fromkeys(Component, 0)
        self.waived = dict.fromkeys(Component, 0)
        self.penalty_charged = 0
        self.written_off = 0
        self.recovered = 0
        self.credit = 0
        self.advance = 0  # money held for instalments not yet due (``advance``)
        self.total_paid = 0
        self.last_payment_date: date | None = None
        self.failed_debits = 0
        self.charged_off_on: date | None = None
        self.since_at_charge_off: date | None = None
        self.rate = daily_penalty_rate(terms.annual_rate, policy.penalty)
        self._penalty_memo: dict[int, int] = {}
        self.refresh_days: set[date] = set()
        self._watch(self.items)
        # caches, valid from the last refresh
        self.closed = False
        self.due_dates: tuple[date, ...] = ()
        self.oldest_past_due: date | None = None
        self._past_due = 0
        self._exposure = 0
        self._accruing: list[tuple[Item, int]] = []
        self._daily_total = 0
        self._daily_past_due = 0
        self._pending_days = 0

    # ---- transactions -------------------------------------------------------------

    def apply(self, txn: Transaction, since: date | None) -> None:
        """Apply one transaction; ``since`` is the overdue-since date before it."""
        day, amount = txn.value_date, txn.amount
        if txn.type is TxnType.REPAYMENT:
            self.total_paid += amount
            self.last_payment_date = day
            if self.charged_off_on is not None:
                self.recovered += amount
            else:
                self.credit += self._pay(amount, day)
        elif txn.type in (TxnType.FEE, TxnType.PENALTY) and self.charged_off_on is None:
            self._charge(Component(txn.type.value), amount, day)
        elif txn.type is TxnType.WAIVER:
            self._allocate(amount, day, self.policy.allocation.waiver_components, self.waived)
        elif txn.type is TxnType.WRITE_OFF and self.charged_off_on is None:
            self._write_off(day, since)
        elif txn.type is TxnType.FAILED_DEBIT:
            self.failed_debits += 1

    def _allocate(
        self, amount: int, day: date, components: Sequence[Component], book: dict[Component, int]
    ) -> int:
        due = [i for i in self.items if i.due_date <= day and i.owed() > 0]
        return self._allocate_to(amount, due, components, book)

    def _allocate_to(
        self,
        amount: int,
        items: Sequence[Item],
        components: Sequence[Component],
        book: dict[Component, int],
    ) -> int:
        result = allocate(
            amount, [i.as_due() for i in items], components, self.policy.allocation.order
        )
        for a in result.allocations:
            items[a.index].add(a.component, -a.amount)
            book[a.component] += a.amount
        return result.leftover

    def _pay(self, amount: int, day: date) -> int:
        """Pay what is due, then hold or prepay the rest; returns what is left over."""
        left = self._allocate(amount, day, self.policy.allocation.components, self.paid)
        future = [i for i in self.items if i.seq > 0 and i.due_date > day]
        if self.policy.prepayment.early_payment is EarlyPayment.ADVANCE:
            money, self.advance = left + self.advance, 0
            return self._pay_ahead(money, day, future) if money else 0
        if left == 0 or not any(i.principal for i in future):
            return left
        return self._prepay(left, day, [], future)

    def _pay_ahead(self, money: int, day: date, future: list[Item]) -> int:
        """``money`` with nothing due: hold it, prepay the excess or pay off (``advance``)."""
        split = split_early_money(
            money, [i.owed() for i in future], self.policy.prepayment.advance_max_instalments
        )
        if split.excess == 0 or not any(i.principal for i in future):
            self.advance = split.held
            return split.excess
        rows = [Instalment(i.seq, i.due_date, i.principal, i.interest, i.fee, 0) for i in future]
        if money >= sum(i.total for i in payoff(self.terms, rows, day).instalments):
            return self._prepay(money, day, [], future)
        self.advance = split.held
        # the payoff amount is at most the held totals plus the principal after them,
        # so the excess prepays part of that principal
        return self._prepay(split.excess, day, future[: split.frozen], future[split.frozen :])

    def _prepay(self, money: int, day: date, frozen: list[Item], rest: list[Item]) -> int:
        """Prepay principal with ``money`` on ``day``: ``rest`` (the instalments after the
        untouched ``frozen`` ones) is re-amortized; returns what is left over."""
        period_start = (
            frozen[-1].due_date
            if frozen
            else max(
                (i.due_date for i in self.items if i.seq > 0 and i.due_date <= day),
                default=self.terms.disbursement_date,
            )
        )
        outcome = prepay(
            self.terms,
            [Instalment(i.seq, i.due_date, i.principal, i.interest, i.fee, 0) for i in rest],
            period_start,
            day,
            money,
            self.policy.prepayment.mode,
        )
        self.paid[Component.PRINCIPAL] += outcome.principal_prepaid
        new = [Item(i.seq, i.due_date, i.principal, i.interest, i.fee) for i in outcome.instalments]
        replaced = {id(i) for i in rest}
        self.items = [i for i in self.items if id(i) not in replaced] + new
        self.items.sort(key=_item_key)
        held_seqs = {i.seq for i in frozen}
        held_rows = [s for s in self.schedule if s.seq in held_seqs]
        balance = sum(i.principal for i in outcome.instalments)
        for k in range(len(held_rows) - 1, -1, -1):  # their balances after the prepayment
            held_rows[k] = replace(held_rows[k], balance=balance)
            balance += held_rows[k].principal
        kept = [s for s in self.schedule if s.due_date <= day]
        self.schedule = kept + held_rows + list(outcome.instalments)
        self._watch(new)
        return self._allocate(
            money - outcome.principal_prepaid, day, self.policy.allocation.components, self.paid
        )

    def apply_advance(self, day: date) -> None:
        """Apply the money held in advance to what is due on ``day`` (the waterfall)."""
        if self.advance:
            components = self.policy.allocation.components
            self.advance = self._allocate(self.advance, day, components, self.paid)

    def _charge(self, component: Component, amount: int, day: date) -> None:
        target = next((i for i in self.items if i.due_date <= day and i.owed() > 0), None)
        if target is None:
            target = Item(0, day, 0, 0, 0)
            self.items.append(target)
            self.items.sort(key=_item_key)
            self._watch([target])
        target.add(component, amount)
        if component is Component.PENALTY:
            self.penalty_charged += amount

    def _write_off(self, day: date, since: date | None) -> None:
        if self.advance:  # held money first pays the instalments it was held for
            owing = [i for i in self.items if i.owed() > 0]
            components = self.policy.allocation.components
            self.credit += self._allocate_to(self.advance, owing, components, self.paid)
            self.advance = 0
        self.written_off = sum(
            i.principal + (i.charges() if i.due_date <= day else 0) for i in self.items
        )
        for i in self.items:
            i.principal = i.interest = i.fee = i.penalty = 0
        self.charged_off_on = day
        self.since_at_charge_off = since

    # ---- the daily caches ---------------------------------------------------------

    def _watch(self, items: Sequence[Item]) -> None:
        """Note the days on which ``items`` change what the day loop sees."""
        for i in items:
            i.past_due_from = first_past_due_day(i.due_date, self.policy.delinquency)
            i.penalty_from = first_penalty_day(i.due_date, self.policy.penalty)
            self.refresh_days.update((i.due_date, i.past_due_from, i.penalty_from))

    def _daily_penalty(self, principal: int) -> int:
        amount = self._penalty_memo.get(principal)
        if amount is None:
            amount = self._penalty_memo[principal] = daily_penalty(principal, self.rate)
        return amount

    def settle_penalty(self) -> None:
        """Post the penalty accrued since the last refresh onto its instalments."""
        if self._pending_days:
            for item, amount in self._accruing:
                item.penalty += amount * self._pending_days
                self.penalty_charged += amount * self._pending_days
            self._pending_days = 0

    def refresh(self, day: date) -> None:
        """Recompute the caches after ``day``'s transactions (penalty must be settled)."""
        penalty = self.policy.penalty
        self.closed = self.charged_off_on is None and all(i.owed() == 0 for i in self.items)
        self.due_dates = tuple(i.due_date for i in self.items if i.seq > 0)
        past_due = [i for i in self.items if i.owed() > 0 and i.past_due_from <= day]
        self.oldest_past_due = past_due[0].due_date if past_due else None
        self._past_due = sum(i.owed() for i in past_due)
        self._exposure = sum(
            i.principal + (i.charges() if i.due_date <= day else 0) for i in self.items
        )
        self._accruing = []
        if penalty.accrue and self.charged_off_on is None:
            self._accruing = [
                (i, self._daily_penalty(i.principal))
                for i in self.items
                if i.principal > 0 and i.penalty_from <= day
            ]
        self._daily_total = sum(a for _, a in self._accruing)
        past_due_ids = {id(i) for i in past_due}
        self._daily_past_due = sum(a for i, a in self._accruing if id(i) in past_due_ids)

    def accrual_idle(self) -> bool:
        return self._daily_total == 0

    def stays_material(self) -> bool:
        """Whether an amount that counts now keeps counting as penalty accrues: the
        past-due amount grows at least as fast as the relative threshold does."""
        relative = self.policy.delinquency.materiality_relative
        return not relative or self._daily_past_due >= Fraction(relative) * self._daily_total

    def accrue_days(self, days: int = 1) -> None:
        """Accrue ``days`` days of penalty (the caller leaves out paused days)."""
        if self._daily_total:
            self._pending_days += days
            self._past_due += self._daily_past_due * days
            self._exposure += self._daily_total * days

    def overdue_since(self) -> date | None:
        """The due date DPD counts from today (after today's accrual)."""
        if self.charged_off_on is not None:
            return self.since_at_charge_off
        if self.oldest_past_due is None:
            return None
        if not is_material(self._past_due, self._exposure, self.policy.delinquency):
            return None
        return self.oldest_past_due
