"""Vectorised decimal-string → minor-unit conversion (the Polars twin of
``postloan.domain.money.parse_amount``, which tests hold it to).

Works on text only, never floats: the integer and fraction digits are cut
apart and scaled as integers.
"""

from __future__ import annotations

import polars as pl

from postloan.domain.money import CURRENCY_EXPONENT

_POW10 = {k: 10**k for k in range(0, 9)}
_PLAIN = r"^\+?(\d+(\.\d*)?|\.\d+)$"
#: 15 integer digits keep every amount (times 10^exponent) inside int64.
MAX_INTEGER_DIGITS = 15


def currency_exponent(currency: pl.Expr) -> pl.Expr:
    """Minor-unit exponent per row (2 for unknown currencies, as the domain does)."""
    return currency.str.to_uppercase().replace_strict(
        CURRENCY_EXPONENT, default=2, return_dtype=pl.Int64
    )


def amount_rule(text: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    """The rule a non-null amount breaks ("negative_amount", "not_a_number",
    "too_many_decimals", "amount_too_large") or null when it is fine."""
    s = text.str.strip_chars().str.replace_all(",", "")
    int_digits = s.str.extract(r"^\+?0*(\d*)", 1).str.len_chars()
    frac = s.str.extract(r"\.(\d*)$", 1).fill_null("").str.strip_chars_end("0")
    return (
        pl.when(s.is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(s.str.contains(r"^-\s*(\d+(\.\d*)?|\.\d+)$"))
        .then(pl.lit("negative_amount"))
        .when(~s.str.contains(_PLAIN))
        .then(pl.lit("not_a_number"))
        .when(frac.str.len_chars() > exponent)
        .then(pl.lit("too_many_decimals"))
        .when(int_digits > MAX_INTEGER_DIGITS)
        .then(pl.lit("amount_too_large"))
        .otherwise(pl.lit(None, pl.Utf8))
    )


def amount_minor(text: pl.Expr, exponent: pl.Expr, rule: pl.Expr | None = None) -> pl.Expr:
    """Integer minor units of a valid amount (null where :func:`amount_rule` objects;
    pass ``rule`` when it is already computed)."""
    s = text.str.strip_chars().str.replace_all(",", "")
    whole = s.str.extract(r"^\+?(\d*)", 1)
    whole = pl.when(whole == "").then(pl.lit("0")).otherwise(whole)
    frac = s.str.extract(r"\.(\d*)$", 1).fill_null("").str.strip_chars_end("0")
    frac_value = pl.when(frac == "").then(pl.lit("0")).otherwise(frac).cast(pl.Int64, strict=False)
    scale = exponent.replace_strict(_POW10, default=None, return_dtype=pl.Int64)
    frac_scale = (exponent - frac.str.len_chars().cast(pl.Int64)).replace_strict(
        _POW10, default=None, return_dtype=pl.Int64
    )
    minor = whole.cast(pl.Int64, strict=False) * scale + frac_value * frac_scale
    ok = (amount_rule(text, exponent) if rule is None else rule).is_null()
    return pl.when(ok).then(minor).otherwise(None)


AMOUNT_MESSAGES = {
    "negative_amount": "must not be negative (post a reversal or waiver instead)",
    "not_a_number": "not a decimal amount (digits with an optional '.' and decimals)",
    "too_many_decimals": "more decimals than the currency has (would silently lose money)",
    "amount_too_large": f"more than {MAX_INTEGER_DIGITS} digits before the decimal point",
}
