"""What may be sent: the template names, their variables and the channels.

A message names one template; the caller supplies the template's required
variables (amounts in minor units, dates as ISO strings or dates). The
dispatcher adds the borrower's name, the institution and the opt-out line.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from postloan.domain.errors import ValidationError


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"
    INAPP = "inapp"


#: Variables each template needs from the caller (``currency`` defaults to CNY).
REQUIRED: dict[str, frozenset[str]] = {
    "pre_due_reminder": frozenset({"due_date", "amount_due"}),
    "due_today": frozenset({"due_date", "amount_due"}),
    "overdue": frozenset({"days_past_due", "amount_overdue"}),
    "promise_confirmation": frozenset({"promised_date", "promised_amount"}),
    "broken_promise": frozenset({"promised_date", "promised_amount", "amount_overdue"}),
    "restructuring_offer": frozenset({"amount_overdue", "new_instalment", "offer_deadline"}),
    "legal_notice": frozenset({"amount_overdue", "deadline"}),
}

#: Variables the caller may add; the dispatcher fills the ``SUPPLIED`` ones.
OPTIONAL: frozenset[str] = frozenset({"currency", "loan_ref", "instalment_no"})
SUPPLIED: frozenset[str] = frozenset(
    {"borrower_name", "institution", "institution_phone", "opt_out", "lang"}
)

#: Templates whose reason vanishes once the loan is no longer overdue.
OVERDUE_TEMPLATES = frozenset({"overdue", "broken_promise", "restructuring_offer", "legal_notice"})


def check_message(template: str, channel: str, variables: Mapping[str, Any]) -> None:
    """Raise ``ValidationError`` for an unknown template/channel or a missing variable."""
    if template not in REQUIRED:
        raise ValidationError(
            f"unknown contact template {template!r}; use one of {sorted(REQUIRED)}"
        )
    if channel not in {c.value for c in Channel}:
        raise ValidationError(
            f"unknown contact channel {channel!r}; use one of {sorted(c.value for c in Channel)}"
        )
    missing = REQUIRED[template] - variables.keys()
    if missing:
        raise ValidationError(
            f"template {template!r} needs the variables {sorted(missing)} (got {sorted(variables)})"
        )
