"""Loan transactions as the core system reports them, and which of them count.

Semantics of each type:

- ``repayment``: money in, allocated by the waterfall (``allocation``); what is
  left after everything due becomes a prepayment of principal (``prepayment``).
- ``fee`` / ``penalty``: a charge the core posted; it is owed from its value date.
- ``waiver``: forgives owed penalty, fee and interest (the configured waiver order).
- ``write_off``: charge-off of the whole remaining balance; the loan is then
  ``charged_off`` and later repayments are recoveries.
- ``reversal``: undoes the transaction named in ``reverses`` (a bounced payment).
  A reversal is retroactive, as in Fineract's reverse-replay: once its value date
  is reached, the loan is replayed as if the reversed transaction never happened.
- ``failed_debit``: an attempted debit that failed; no money moves, it is counted.
- ``disbursement``: informational.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from postloan.domain.errors import ValidationError


class TxnType(StrEnum):
    REPAYMENT = "repayment"
    FEE = "fee"
    PENALTY = "penalty"
    WAIVER = "waiver"
    WRITE_OFF = "write_off"
    REVERSAL = "reversal"
    FAILED_DEBIT = "failed_debit"
    DISBURSEMENT = "disbursement"


#: Order of application inside one value date: charges first (so a payment the
#: same day can settle them), then money and waivers, then the write-off.
#: Ties keep the order the transactions were given in.
_SAME_DAY_ORDER: dict[TxnType, int] = {
    TxnType.DISBURSEMENT: 0,
    TxnType.FEE: 1,
    TxnType.PENALTY: 1,
    TxnType.REPAYMENT: 2,
    TxnType.WAIVER: 2,
    TxnType.FAILED_DEBIT: 3,
    TxnType.REVERSAL: 3,
    TxnType.WRITE_OFF: 4,
}


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction of one loan; ``amount`` is in minor units and never negative."""

    txn_id: str
    loan_id: str
    type: TxnType
    amount: int
    value_date: date
    channel: str = ""
    reverses: str | None = None

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValidationError(
                f"transaction {self.txn_id}: amount must not be negative, got {self.amount}; "
                "post a reversal to undo a transaction"
            )
        if self.type is TxnType.REVERSAL and not self.reverses:
            raise ValidationError(
                f"transaction {self.txn_id} is a reversal but names no transaction in 'reverses'"
            )


def reversed_ids(transactions: Iterable[Transaction]) -> frozenset[str]:
    """Ids of the transactions undone by a reversal that itself still stands.

    A reversal of a reversal reinstates the original. Raises ``ValidationError``
    for a reversal naming an unknown transaction or a reversal cycle.
    """
    by_id = {t.txn_id: t for t in transactions}
    reversals: dict[str, list[str]] = {}
    for t in by_id.values():
        if t.type is TxnType.REVERSAL:
            assert t.reverses is not None
            if t.reverses not in by_id:
                raise ValidationError(
                    f"reversal {t.txn_id} names transaction {t.reverses!r}, "
                    "which is not among this loan's transactions up to the business date"
                )
            reversals.setdefault(t.reverses, []).append(t.txn_id)
    memo: dict[str, bool] = {}

    def stands(txn_id: str, seen: frozenset[str]) -> bool:
        if txn_id not in memo:
            if txn_id in seen:
                raise ValidationError(f"reversal cycle through transaction {txn_id}")
            inner = seen | {txn_id}
            memo[txn_id] = not any(stands(r, inner) for r in reversals.get(txn_id, ()))
        return memo[txn_id]

    return frozenset(txn_id for txn_id in by_id if not stands(txn_id, frozenset()))


def effective_transactions(
    transactions: Sequence[Transaction], business_date: date
) -> list[Transaction]:
    """The transactions that count on ``business_date``, in application order.

    Drops transactions dated after ``business_date``, reversed transactions and
    the reversals themselves, then orders by value date, same-day order
    (charges, money, write-off) and the given order.
    """
    known = [t for t in transactions if t.value_date <= business_date]
    undone = reversed_ids(known)
    kept = [
        (t.value_date, _SAME_DAY_ORDER[t.type], i, t)
        for i, t in enumerate(known)
        if t.txn_id not in undone and t.type is not TxnType.REVERSAL
    ]
    kept.sort(key=lambda row: row[:3])
    return [row[3] for row in kept]
