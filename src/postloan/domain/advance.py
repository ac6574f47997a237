"""Money paid before it is due: an advance on the next instalment(s), or a prepayment.

Why an advance by default (``prepayment.early_payment: advance``): a Chinese bank's
core typically collects an instalment by debiting the borrower's repayment account
(还款账户) on the due date (the end-of-day batch debit, 批量扣款). Money a borrower
puts in a few days early waits there and is taken on the due date, at the scheduled
amount: no interest rebate, no re-amortization. Paying the loan down (提前还款,
partial, or 提前结清 in full) is a separate request that cuts the principal and
re-amortizes the rest (缩短期限 or 减少月供). Cores that book money straight to the
loan (common for internet consumer loans) keep it as an advance balance (预收/挂账)
and settle the coming instalment with it as scheduled (提前还当期). A repayment worth
more than the coming instalment(s) is read as a request to prepay the excess.

The rule, for money left after everything due is paid (the advance already held is
added to it and the split is made again):

1. It is held, up to the scheduled totals (principal + interest + fee) of the next
   ``advance_max_instalments`` instalments not yet due and owing something
   (default 1), even when it would pay the loan off: paying the last instalment
   early is still paying that instalment. Held money is applied by the allocation
   waterfall to whatever falls due, on its due date (after that day's
   transactions), so the covered part never goes past due. A charge posted while
   money is held is met from it too. On a write-off the held money first pays the
   instalments it was held for.
2. Money beyond those instalments prepays principal on the payment date. The held
   instalments stay as scheduled; the instalments after them are re-amortized
   (``prepayment.mode``), and the interest the prepaid principal no longer bears
   from the payment date is taken off the first of them.
3. Unless the money pays the loan off (all principal plus the interest earned so
   far in the current period, ``prepayment.payoff``): then nothing is held and the
   loan is paid off as in ``prepayment`` mode (提前结清); anything beyond is a credit
   balance. Money beyond every instalment with no principal left is a credit too.

``early_payment: prepayment`` keeps the older behaviour: all money left after what
is due prepays principal at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EarlySplit:
    """How money paid ahead splits: ``held`` as an advance, ``excess`` to prepay.

    ``frozen`` is how many of the instalments not yet due (from the first) the
    advance is held for; they are not re-amortized by a prepayment of ``excess``.
    """

    held: int
    excess: int
    frozen: int


def split_early_money(money: int, owed: Sequence[int], max_instalments: int) -> EarlySplit:
    """Split ``money`` over the instalments not yet due, which owe ``owed`` (in order):
    held up to the totals of the first ``max_instalments`` that owe something."""
    frozen, counted = 0, 0
    while frozen < len(owed) and counted < max_instalments:
        counted += owed[frozen] > 0
        frozen += 1
    held = min(money, sum(owed[:frozen]))
    return EarlySplit(held, money - held, frozen)


def net_of_advance(owed: Sequence[int], advance: int) -> tuple[int, int] | None:
    """The first of the instalments owing ``owed`` (in order) that the advance does not
    cover in full: (its index, what is left to pay on it); None when it covers them all."""
    left = advance
    for k, amount in enumerate(owed):
        if amount > left:
            return k, amount - left
        left -= amount
    return None
