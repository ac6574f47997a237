"""Exact money: integer minor units with a currency, and the one rounding policy.

Amounts never pass through binary floats. Decimal strings from feeds become
minor units with :func:`parse_amount`; rates stay ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from postloan.domain.errors import ValidationError

#: ISO 4217 minor-unit exponents for the currencies a post-loan book meets most.
CURRENCY_EXPONENT: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "MOP": 2,
    "TWD": 2,
    "JPY": 0,
    "KRW": 0,
}


class Rounding(StrEnum):
    """How a fractional minor unit is resolved. Half-up is the default (DESIGN.md)."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"

    @property
    def decimal_mode(self) -> str:
        return ROUND_HALF_UP if self is Rounding.HALF_UP else ROUND_HALF_EVEN


def exponent(currency: str) -> int:
    """Minor-unit exponent of ``currency`` (2 when unknown: most currencies use cents)."""
    return CURRENCY_EXPONENT.get(currency.upper(), 2)


def round_minor(value: Decimal, rounding: Rounding = Rounding.HALF_UP) -> int:
    """Round an amount already expressed in minor units to a whole minor unit."""
    return int(value.quantize(Decimal(1), rounding=rounding.decimal_mode))


def to_minor(amount: Decimal, currency: str = "CNY", rounding: Rounding = Rounding.HALF_UP) -> int:
    """Major units (``Decimal('12.345')``) to minor units, rounded by ``rounding``."""
    return round_minor(amount.scaleb(exponent(currency)), rounding)


def from_minor(minor: int, currency: str = "CNY") -> Decimal:
    """Minor units to a ``Decimal`` in major units with the currency's exponent."""
    exp = exponent(currency)
    return Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def format_minor(minor: int, currency: str = "CNY") -> str:
    """Minor units as the decimal string used in feeds and JSON (``"17.13"``)."""
    return str(from_minor(minor, currency))


def parse_amount(text: str, currency: str = "CNY") -> int:
    """A decimal string from a feed to exact minor units.

    Raises ``ValidationError`` when the text is not a plain decimal number or
    carries more decimals than the currency has (that would silently lose money).
    """
    cleaned = text.strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise ValidationError(f"not a finite amount: {text!r}")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            f"amount {text!r} has more than {exponent(currency)} decimals for {currency}"
        )
    return int(scaled)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An exact amount: ``minor`` units of ``currency``."""

    minor: int
    currency: str = "CNY"

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str = "CNY") -> Money:
        if isinstance(amount, int):
            return cls(amount * 10 ** exponent(currency), currency)
        if isinstance(amount, Decimal):
            return cls(to_minor(amount, currency), currency)
        return cls(parse_amount(amount, currency), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValidationError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def is_zero(self) -> bool:
        return self.minor == 0

    @property
    def amount(self) -> Decimal:
        return from_minor(self.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
