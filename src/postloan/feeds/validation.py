"""Check a feed frame column by column with Polars expressions and type the valid rows.

A row with any problem is rejected as a whole and every problem is reported as
a :class:`RowError` (file, line, column, value, rule, message). Problems with
the file itself (missing required columns) raise ``FeedError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from postloan.domain.errors import FeedError, PostLoanError
from postloan.feeds.amounts import AMOUNT_MESSAGES, amount_minor, amount_rule, currency_exponent
from postloan.feeds.readers import LINE
from postloan.feeds.spec import FEEDS, FeedSpec, Field, Kind
from postloan.feeds.values import PARSERS, parse_date
from postloan.security.pii import mask_value

ERROR_SCHEMA = pl.Schema(
    {
        "file": pl.Utf8(),
        "line": pl.Int64(),
        "column": pl.Utf8(),
        "value": pl.Utf8(),
        "rule": pl.Utf8(),
        "message": pl.Utf8(),
    }
)

MAX_TERM = 1200


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    line: int | None
    column: str | None
    value: str | None
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class ValidatedFeed:
    """The outcome of validating one file: typed ``valid`` rows, the ``original``
    text rows, and ``error_frame`` (one row per problem, schema :data:`ERROR_SCHEMA`)."""

    feed: str
    source: Path
    original: pl.DataFrame
    valid: pl.DataFrame
    error_frame: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ERROR_SCHEMA))

    @property
    def rows(self) -> int:
        return self.original.height

    @property
    def errors(self) -> list[RowError]:
        return [RowError(**r) for r in self.error_frame.iter_rows(named=True)]

    @property
    def rejected_lines(self) -> pl.Series:
        return self.error_frame.get_column("line").drop_nulls().unique()

    @property
    def rejected(self) -> pl.DataFrame:
        """Rejected rows exactly as read (all original columns and ``_line``)."""
        return self.original.filter(pl.col(LINE).is_in(self.rejected_lines.implode()))

    def reject(self, mask: pl.Expr, column: str, rule: str, message: pl.Expr) -> int:
        """Move the valid rows matching ``mask`` to the rejects with one error each."""
        hit = self.valid.filter(mask)
        if hit.height == 0:
            return 0
        errors = hit.select(
            pl.lit(str(self.source)).alias("file"),
            pl.col(LINE).alias("line"),
            pl.lit(column).alias("column"),
            _shown(self.feed, column, pl.col(column).cast(pl.Utf8)).alias("value"),
            pl.lit(rule).alias("rule"),
            message.cast(pl.Utf8).alias("message"),
        )
        self.error_frame = pl.concat([self.error_frame, errors.cast(ERROR_SCHEMA)])
        self.valid = self.valid.filter(~pl.col(LINE).is_in(hit.get_column(LINE).implode()))
        return hit.height

    def take(self, mask: pl.Expr) -> pl.DataFrame:
        """Remove and return the valid rows matching ``mask`` (for holding)."""
        hit = self.valid.filter(mask)
        self.valid = self.valid.filter(~pl.col(LINE).is_in(hit.get_column(LINE).implode()))
        return hit


def _shown(feed: str, column: str, value: pl.Expr) -> pl.Expr:
    spec = FEEDS.get(feed)
    if spec is not None and column in spec.columns and spec.field(column).sensitive:
        return value.map_elements(mask_value, return_dtype=pl.Utf8, skip_nulls=True)
    return value


def missing_columns(spec: FeedSpec, columns: Iterable[str]) -> list[str]:
    present = set(columns)
    return [c for c in spec.required_columns if c not in present]


def validate(
    feed: str,
    frame: pl.DataFrame,
    source: Path,
    *,
    currencies: pl.DataFrame | None = None,
) -> ValidatedFeed:
    """Validate ``frame`` (from :func:`postloan.feeds.readers.read_table`) as ``feed``.

    ``currencies`` (columns ``loan_id``, ``currency``) tells which currency the
    amounts of a schedules or transactions row are in; unknown loans use 2 decimals.
    """
    spec = FEEDS.get(feed)
    if spec is None:
        raise FeedError(f"{source}: unknown feed {feed!r}; known feeds: {', '.join(FEEDS)}")
    if LINE not in frame.columns:  # a frame not from read_table: number rows from 1
        frame = frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias(LINE))
    missing = missing_columns(spec, frame.columns)
    if missing:
        found = ", ".join(c for c in frame.columns if c != LINE) or "none"
        raise FeedError(
            f"{source}: missing required column(s) {', '.join(missing)} (found: {found}); "
            "the whole file was rejected, add the columns and import again"
        )
    work = frame.select(
        pl.col(LINE),
        *(_clean(f, frame.columns).alias(raw(f.name)) for f in spec.fields),
    )
    if currencies is not None and "loan_id" in spec.columns and "currency" not in spec.columns:
        cur = currencies.select(
            pl.col("loan_id").cast(pl.Utf8).alias(raw("loan_id")),
            pl.col("currency").cast(pl.Utf8).alias("_currency"),
        ).unique(raw("loan_id"), keep="last")
        work = work.join(cur, on=raw("loan_id"), how="left", maintain_order="left")
    else:
        currency = pl.col(raw("currency")) if "currency" in spec.columns else pl.lit("CNY")
        work = work.with_columns(currency.str.to_uppercase().alias("_currency"))
    work = work.with_columns(pl.col("_currency").fill_null("CNY"))
    checks = _Checks(feed, str(source))
    amounts = [f.name for f in spec.fields if f.kind is Kind.AMOUNT]
    if amounts:  # computed once, read by several checks
        exp = currency_exponent(pl.col("_currency"))
        work = work.with_columns(
            amount_rule(pl.col(raw(n)), exp).alias(f"_rule_{n}") for n in amounts
        )
    typed: list[pl.Expr] = []
    for f in spec.fields:
        typed.append(_check_field(f, work, checks).alias(f.name))
    work = work.with_columns(typed)
    _row_rules(spec, work, checks)
    work = _duplicates(spec, work, checks)
    error_frame = checks.collect(work)
    bad_lines = error_frame.get_column("line").unique().implode()
    valid = work.filter(~pl.col(LINE).is_in(bad_lines)).select(
        *(pl.col(c) for c in spec.columns), pl.col(LINE)
    )
    return ValidatedFeed(feed, source, frame, valid, error_frame)


def raw(name: str) -> str:
    """Name of the cleaned-text copy of column ``name`` inside the work frame."""
    return f"_raw_{name}"


def _clean(f: Field, columns: list[str]) -> pl.Expr:
    if f.name not in columns:
        return pl.lit(f.default, pl.Utf8)
    text = pl.col(f.name).cast(pl.Utf8).str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    if f.default is not None:
        text = text.fill_null(f.default)
    return text


@dataclass
class _Checks:
    feed: str
    file: str
    items: list[tuple[str, str, pl.Expr, pl.Expr, pl.Expr]] = field(default_factory=list)

    def add(
        self,
        column: str,
        rule: str,
        bad: pl.Expr,
        message: pl.Expr | str,
        value: pl.Expr | None = None,
    ) -> None:
        msg = pl.lit(message) if isinstance(message, str) else message
        shown = _shown(self.feed, column, pl.col(raw(column))) if value is None else value
        self.items.append((column, rule, bad.fill_null(False), msg, shown))

    def collect(self, work: pl.DataFrame) -> pl.DataFrame:
        parts = [
            work.filter(bad).select(
                pl.lit(self.file).alias("file"),
                pl.col(LINE).alias("line"),
                pl.lit(column).alias("column"),
                value.cast(pl.Utf8).alias("value"),
                pl.lit(rule).alias("rule"),
                message.cast(pl.Utf8).alias("message"),
            )
            for column, rule, bad, message, value in self.items
        ]
        frames = [p.cast(ERROR_SCHEMA) for p in parts]
        if not frames:
            return pl.DataFrame(schema=ERROR_SCHEMA)
        return pl.concat(frames).sort("line", maintain_order=True)


def _quoted(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("'"), expr, pl.lit("'"))


def _check_field(f: Field, work: pl.DataFrame, checks: _Checks) -> pl.Expr:
    """Register the checks of ``f`` and return its typed expression."""
    col = pl.col(raw(f.name))
    if f.value_required:
        checks.add(f.name, "required", col.is_null(), f"{f.name} is required but empty")
    if f.kind in (Kind.ID, Kind.TEXT):
        return col
    if f.kind is Kind.DATE:
        parsed = parse_date(col)
        checks.add(
            f.name,
            "bad_date",
            col.is_not_null() & pl.col(f.name).is_null(),  # the typed column, once parsed
            pl.format("{}: {} is not a date (use YYYY-MM-DD)", pl.lit(f.name), _quoted(col)),
        )
        return parsed
    if f.kind is Kind.AMOUNT:
        exp = currency_exponent(pl.col("_currency"))
        rule = pl.col(f"_rule_{f.name}")
        for name, text in AMOUNT_MESSAGES.items():
            message = pl.format("{} {}: {}", pl.lit(f.name), _quoted(col), pl.lit(text))
            if name == "too_many_decimals":
                message = pl.format(
                    "{} {}: more decimals than {} has ({}); that would lose money",
                    pl.lit(f.name),
                    _quoted(col),
                    pl.col("_currency"),
                    exp,
                )
            checks.add(f.name, name, rule == name, message)
        return amount_minor(col, exp, rule)
    if f.kind is Kind.INT:
        number = col.str.replace(r"^\+", "").cast(pl.Int64, strict=False)
        checks.add(
            f.name,
            "not_a_whole_number",
            col.is_not_null() & ~col.str.contains(r"^\+?\d{1,6}$"),
            pl.format("{}: {} is not a whole number", pl.lit(f.name), _quoted(col)),
        )
        checks.add(
            f.name,
            "out_of_range",
            (number < 1) | (number > MAX_TERM),
            pl.format("{}: {} must be between 1 and {}", pl.lit(f.name), col, pl.lit(MAX_TERM)),
        )
        return number.cast(pl.Int32)
    if f.kind is Kind.ENUM:
        low = col.str.to_lowercase()
        checks.add(
            f.name,
            "unknown_value",
            col.is_not_null() & ~low.is_in(list(f.choices)),
            pl.format(
                "{}: {} is not one of {}",
                pl.lit(f.name),
                _quoted(col),
                pl.lit(", ".join(f.choices)),
            ),
        )
        return low
    if f.kind is Kind.CURRENCY:
        up = col.str.to_uppercase()
        checks.add(
            f.name,
            "bad_currency",
            col.is_not_null() & ~up.str.contains(r"^[A-Z]{3}$"),
            pl.format("{}: {} is not an ISO 4217 code like CNY", pl.lit(f.name), _quoted(col)),
        )
        return up
    if f.kind is Kind.EMAIL:
        checks.add(
            f.name,
            "bad_email",
            col.is_not_null() & ~col.str.contains(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
            pl.format("{}: {} is not an e-mail address", pl.lit(f.name), _quoted(col)),
        )
        return col
    parser = PARSERS[f.kind]
    return _mapped(f.name, work, checks, parser)


def _mapped(
    name: str, work: pl.DataFrame, checks: _Checks, parser: Callable[[str], str]
) -> pl.Expr:
    """Parse each distinct value once in Python (there are few), then map them."""
    good: dict[str, str] = {}
    bad: dict[str, str] = {}
    for value in work.get_column(raw(name)).drop_nulls().unique().to_list():
        try:
            good[value] = parser(value)
        except (PostLoanError, ValueError) as err:
            bad[value] = f"{name}: {err}"
    col = pl.col(raw(name))
    if bad:
        checks.add(
            name,
            f"bad_{name}",
            col.is_in(list(bad)),
            col.replace_strict(bad, default=None, return_dtype=pl.Utf8),
        )
    return col.replace_strict(good, default=None, return_dtype=pl.Utf8)


def _row_rules(spec: FeedSpec, work: pl.DataFrame, checks: _Checks) -> None:
    """Rules between columns of one row."""
    if spec.name == "loans":
        checks.add(
            "principal",
            "not_positive",
            pl.col("principal") <= 0,
            "principal must be more than zero",
        )
        checks.add(
            "first_due_date",
            "first_due_not_after_disbursement",
            pl.col("first_due_date") <= pl.col("disbursement_date"),
            pl.format(
                "first_due_date {} is not after disbursement_date {}",
                pl.col("first_due_date"),
                pl.col("disbursement_date"),
            ),
        )
    elif spec.name == "loan_marks":
        checks.add(
            "end_date",
            "end_before_start",
            pl.col("end_date") < pl.col("start_date"),
            pl.format(
                "end_date {} is before start_date {}", pl.col("end_date"), pl.col("start_date")
            ),
        )
    elif spec.name == "transactions":
        checks.add(
            "reverses",
            "reversal_without_target",
            (pl.col("type") == "reversal") & pl.col("reverses").is_null(),
            "a reversal must name the txn_id it reverses in the 'reverses' column",
        )
    del work


def _duplicates(spec: FeedSpec, work: pl.DataFrame, checks: _Checks) -> pl.DataFrame:
    key = list(spec.key)
    present = pl.all_horizontal([pl.col(k).is_not_null() for k in key])
    work = work.with_columns(pl.col(LINE).min().over(key).alias("_first_line"))
    first_line = pl.col("_first_line")
    shown = pl.concat_str([pl.col(k).cast(pl.Utf8) for k in key], separator="/")
    checks.add(
        key[0] if len(key) == 1 else "+".join(key),
        "duplicate_key",
        present & (pl.col(LINE) != first_line),
        pl.format(
            "duplicate {} {} (first on line {}); later duplicates are rejected",
            pl.lit("/".join(key)),
            _quoted(shown),
            first_line,
        ),
        value=shown,
    )
    return work
