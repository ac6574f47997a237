"""A portfolio summary on one business date: NPL ratio, 90+ DPD ratio, bucket and class mix.

Definitions follow DESIGN.md: the NPL ratio is the balance classified 次级 + 可疑 + 损失
over the total gross balance; the 90+ DPD ratio is the balance more than 90 days
past due over the same denominator. Charged-off loans are reported apart and are
in neither numerator nor denominator; closed loans carry no balance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from postloan.domain.loan_state import LoanState, LoanStatus

NPL_CLASSES = frozenset({"substandard", "doubtful", "loss"})


@dataclass(frozen=True, slots=True)
class PortfolioSummary:
    loans: int
    open_loans: int
    gross_balance: int
    npl_balance: int
    dpd90_balance: int
    charged_off_loans: int
    charged_off_balance: int
    bucket_count: dict[str, int] = field(default_factory=dict)
    bucket_balance: dict[str, int] = field(default_factory=dict)
    class_count: dict[str, int] = field(default_factory=dict)
    class_balance: dict[str, int] = field(default_factory=dict)
    stage_balance: dict[int, int] = field(default_factory=dict)

    @property
    def npl_ratio(self) -> Fraction:
        return Fraction(self.npl_balance, self.gross_balance) if self.gross_balance else Fraction(0)

    @property
    def dpd90_ratio(self) -> Fraction:
        return (
            Fraction(self.dpd90_balance, self.gross_balance) if self.gross_balance else Fraction(0)
        )


def summarise(states: Iterable[LoanState]) -> PortfolioSummary:
    """Fold loan states of one business date into a portfolio summary."""
    loans = open_loans = gross = npl = dpd90 = wo_loans = wo_balance = 0
    bucket_count: Counter[str] = Counter()
    bucket_balance: Counter[str] = Counter()
    class_count: Counter[str] = Counter()
    class_balance: Counter[str] = Counter()
    stage_balance: Counter[int] = Counter()
    for s in states:
        loans += 1
        balance = s.principal_outstanding
        if s.status is LoanStatus.CHARGED_OFF:
            wo_loans += 1
            wo_balance += s.written_off
            continue
        if balance <= 0 and s.status is LoanStatus.CLOSED:
            continue
        open_loans += 1
        gross += balance
        bucket_count[s.bucket] += 1
        bucket_balance[s.bucket] += balance
        klass = str(s.classification)
        class_count[klass] += 1
        class_balance[klass] += balance
        stage_balance[s.ifrs9_stage] += balance
        if klass in NPL_CLASSES:
            npl += balance
        if s.days_past_due > 90:
            dpd90 += balance
    return PortfolioSummary(
        loans=loans,
        open_loans=open_loans,
        gross_balance=gross,
        npl_balance=npl,
        dpd90_balance=dpd90,
        charged_off_loans=wo_loans,
        charged_off_balance=wo_balance,
        bucket_count=dict(bucket_count),
        bucket_balance=dict(bucket_balance),
        class_count=dict(class_count),
        class_balance=dict(class_balance),
        stage_balance=dict(stage_balance),
    )
