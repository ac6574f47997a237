"""The vectorised amount parser agrees with the domain's parse_amount."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.domain.errors import ValidationError
from postloan.domain.money import parse_amount
from postloan.feeds.amounts import amount_minor, amount_rule


def vectorised(texts: list[str], exponent: int) -> list[tuple[str | None, int | None]]:
    frame = pl.DataFrame(
        {"t": texts, "e": [exponent] * len(texts)}, schema={"t": pl.Utf8, "e": pl.Int64}
    )
    out = frame.select(
        amount_rule(pl.col("t"), pl.col("e")).alias("rule"),
        amount_minor(pl.col("t"), pl.col("e")).alias("minor"),
    )
    return list(out.iter_rows())


def domain(text: str, exponent: int) -> int | None:
    try:
        return parse_amount(text, "CNY" if exponent == 2 else "JPY")
    except ValidationError:
        return None


plain = st.builds(
    lambda whole, frac: f"{whole}.{frac}" if frac is not None else str(whole),
    st.integers(min_value=0, max_value=10**13),
    st.one_of(st.none(), st.text(alphabet="0123456789", min_size=0, max_size=5)),
)


@settings(max_examples=300)
@given(st.lists(plain, min_size=1, max_size=20), st.sampled_from([0, 2]))
def test_plain_decimals_match_parse_amount(texts: list[str], exponent: int) -> None:
    for text, (rule, minor) in zip(texts, vectorised(texts, exponent), strict=True):
        expected = domain(text, exponent)
        if expected is None:
            assert rule == "too_many_decimals"
            assert minor is None
        else:
            assert rule is None and minor == expected


@settings(max_examples=200)
@given(st.decimals(min_value=0, max_value=Decimal(10**12), places=2, allow_nan=False))
def test_two_decimal_amounts_are_exact(value: Decimal) -> None:
    text = str(value)
    [(rule, minor)] = vectorised([text], 2)
    assert rule is None and minor == int(value * 100)


def test_each_bad_amount_names_its_rule() -> None:
    texts = ["-1.00", "abc", "1.2.3", "1e3", "1.005", "1234567890123456", " 1,234.50 ", "+7", ".5"]
    got = vectorised(texts, 2)
    assert [r for r, _ in got] == [
        "negative_amount",
        "not_a_number",
        "not_a_number",
        "not_a_number",
        "too_many_decimals",
        "amount_too_large",
        None,
        None,
        None,
    ]
    assert [m for _, m in got][-3:] == [123450, 700, 50]


def test_trailing_zeros_beyond_the_exponent_are_not_lost_money() -> None:
    assert vectorised(["1.500", "100.0"], 0) == [("too_many_decimals", None), (None, 100)]
    assert vectorised(["1.500"], 2) == [(None, 150)]
