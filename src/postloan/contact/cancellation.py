"""Has the reason for a message vanished since it was planned? (pure)

Checked at send time, after the conduct guard's opt-out check: a reminder for
a loan that is paid off, an overdue notice for a loan that is current again or
was paid after the plan, a dunning message after the borrower promised to pay,
a promise confirmation once the promise is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from postloan.contact.catalog import OVERDUE_TEMPLATES

#: Templates a new promise to pay makes pointless (the promise itself is confirmed).
DUNNING = frozenset({"overdue", "broken_promise", "legal_notice"})


@dataclass(frozen=True, slots=True)
class LoanNow:
    """Where a loan stands now: the latest batch state plus money received since."""

    state_date: date | None = None
    days_past_due: int = 0
    principal_outstanding: int = 0
    overdue_amount: int = 0  # overdue principal + interest + penalty, minor units
    repaid_since: Mapping[date, int] | None = None  # value date -> repayments (minor)
    promise_since: date | None = None  # creation date of the newest open promise


def _paid_after(loan: LoanNow, business_date: date) -> int:
    return sum(v for d, v in (loan.repaid_since or {}).items() if d > business_date)


def vanished(
    template: str, business_date: date, variables: Mapping[str, Any], loan: LoanNow | None
) -> str | None:
    """Why the message should no longer go out, or None when it still should."""
    if loan is None:
        return None
    fresh = loan.state_date is not None and loan.state_date >= business_date
    if fresh and loan.principal_outstanding == 0 and loan.overdue_amount == 0:
        return "loan paid off"
    paid = _paid_after(loan, business_date)
    if template in OVERDUE_TEMPLATES:
        later = loan.state_date is not None and loan.state_date > business_date
        if later and loan.days_past_due == 0:
            return "loan no longer overdue"
        owed = variables.get("amount_overdue")
        if isinstance(owed, int) and paid >= owed > 0:
            return f"paid {paid} (minor units) after the message was planned"
        if template in DUNNING and loan.promise_since is not None:
            if loan.promise_since >= business_date:
                return "a promise to pay was made"
    elif template == "promise_confirmation":
        if fresh and loan.days_past_due == 0:
            return "loan no longer overdue: the promise was kept"
        promised = variables.get("promised_amount")
        if isinstance(promised, int) and paid >= promised > 0:
            return f"paid {paid} (minor units) after the promise: it was kept"
    elif template in {"pre_due_reminder", "due_today"}:
        due = variables.get("amount_due")
        if isinstance(due, int) and paid >= due > 0:
            return f"paid {paid} (minor units) after the message was planned"
    return None
