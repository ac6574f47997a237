"""The feed contract: which feeds exist, their columns, and what each column must hold.

The column names are a contract with the core system (docs/feeds.md); extra
columns are allowed and ignored, missing required columns reject the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a column's text is checked and typed."""

    ID = "id"  # required, unique within the file
    TEXT = "text"
    DATE = "date"
    AMOUNT = "amount"  # decimal string -> integer minor units
    RATE = "rate"  # decimal string -> normalised decimal string
    INT = "int"  # positive whole number
    ENUM = "enum"
    FREQUENCY = "frequency"
    DAY_COUNT = "day_count"
    METHOD = "method"
    CURRENCY = "currency"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind = Kind.TEXT
    column_required: bool = True  # the header must contain it
    value_required: bool = False  # every row must fill it
    choices: tuple[str, ...] = ()
    default: str | None = None  # used when the value (or the optional column) is empty
    sensitive: bool = False  # personal data: masked in error reports


@dataclass(frozen=True, slots=True)
class FeedSpec:
    name: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # identity of a row; later duplicates are rejected

    @property
    def required_columns(self) -> list[str]:
        return [f.name for f in self.fields if f.column_required]

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


TXN_TYPES = (
    "repayment",
    "fee",
    "penalty",
    "waiver",
    "write_off",
    "reversal",
    "failed_debit",
    "disbursement",
)
CONTACT_KINDS = ("self", "emergency", "employer")
MARK_KINDS = ("technical_delay", "restructured", "credit_impaired", "payment_pause")


BORROWERS = FeedSpec(
    "borrowers",
    (
        Field("borrower_id", Kind.ID, value_required=True),
        Field("name", value_required=True),
        Field("national_id", sensitive=True),
        Field("phone", sensitive=True),
        Field("email", Kind.EMAIL),
        Field("address", sensitive=True),
        Field("region"),
        Field("birth_date", Kind.DATE),
        Field("monthly_income", Kind.AMOUNT),
        Field("employment"),
        Field("language"),
    ),
    key=("borrower_id",),
)

LOANS = FeedSpec(
    "loans",
    (
        Field("loan_id", Kind.ID, value_required=True),
        Field("borrower_id", value_required=True),
        Field("product", value_required=True),
        Field("principal", Kind.AMOUNT, value_required=True),
        Field("annual_rate", Kind.RATE, value_required=True),
        Field("term", Kind.INT, value_required=True),
        Field("frequency", Kind.FREQUENCY, value_required=True),
        Field("day_count", Kind.DAY_COUNT, value_required=True),
        Field("method", Kind.METHOD, value_required=True),
        Field("disbursement_date", Kind.DATE, value_required=True),
        Field("first_due_date", Kind.DATE, column_required=False),
        Field("officer_id"),
        Field("branch"),
        Field("currency", Kind.CURRENCY, value_required=True),
        Field("fee_per_period", Kind.AMOUNT, column_required=False, default="0"),
        Field("region", column_required=False),
        Field("channel", column_required=False),
    ),
    key=("loan_id",),
)

SCHEDULES = FeedSpec(
    "schedules",
    (
        Field("loan_id", value_required=True),
        Field("seq", Kind.INT, value_required=True),
        Field("due_date", Kind.DATE, value_required=True),
        Field("principal_due", Kind.AMOUNT, value_required=True),
        Field("interest_due", Kind.AMOUNT, value_required=True),
        Field("fee_due", Kind.AMOUNT, default="0"),
    ),
    key=("loan_id", "seq"),
)

TRANSACTIONS = FeedSpec(
    "transactions",
    (
        Field("txn_id", Kind.ID, value_required=True),
        Field("loan_id", value_required=True),
        Field("type", Kind.ENUM, choices=TXN_TYPES, value_required=True),
        Field("amount", Kind.AMOUNT, value_required=True),
        Field("value_date", Kind.DATE, value_required=True),
        Field("channel"),
        Field("reverses", column_required=False),
    ),
    key=("txn_id",),
)

CONTACTS = FeedSpec(
    "contacts",
    (
        Field("borrower_id", value_required=True),
        Field("kind", Kind.ENUM, choices=CONTACT_KINDS, value_required=True),
        Field("name", value_required=True),
        Field("phone", sensitive=True),
        Field("relation"),
    ),
    key=("borrower_id", "kind", "name"),
)

LOAN_MARKS = FeedSpec(
    "loan_marks",
    (
        Field("mark_id", Kind.ID, value_required=True),
        Field("loan_id", value_required=True),
        Field("kind", Kind.ENUM, choices=MARK_KINDS, value_required=True),
        Field("start_date", Kind.DATE, value_required=True),
        Field("end_date", Kind.DATE, column_required=False),
        Field("note", column_required=False),
    ),
    key=("mark_id",),
)

#: Dependency order: a feed only refers to feeds before it.
FEEDS: dict[str, FeedSpec] = {
    s.name: s for s in (BORROWERS, CONTACTS, LOANS, SCHEDULES, LOAN_MARKS, TRANSACTIONS)
}
FEED_ORDER: tuple[str, ...] = tuple(FEEDS)
EXTENSIONS: tuple[str, ...] = (".csv", ".parquet", ".xlsx")
