"""Message templates: Jinja2 files in zh-CN and en, amounts and dates formatted with Babel.

Each template has a ``subject`` block (email) and a ``body`` block (every
channel). :class:`TemplateBook` checks at load time that every template exists
in every language and uses no variable that nobody supplies; rendering uses
``StrictUndefined``, so a missing variable is an error, never a blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    meta,
    pass_context,
)
from jinja2.runtime import Context

from postloan.contact.catalog import OPTIONAL, REQUIRED, SUPPLIED
from postloan.domain.errors import ConfigError, ValidationError
from postloan.domain.money import exponent, from_minor

TEMPLATE_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("zh-CN", "en")
#: Parsed once: Babel re-parses a locale name on every call, which dominated rendering.
_BABEL_LOCALE = {"zh-CN": Locale.parse("zh_CN"), "en": Locale.parse("en_US")}


def language_of(value: str | None) -> str:
    """The template language for a borrower's language tag (zh-CN unless it is English)."""
    if value and value.replace("_", "-").lower().split("-")[0] == "en":
        return "en"
    return "zh-CN"


@dataclass(frozen=True, slots=True)
class Institution:
    """Who is writing: stated in every message (CN guideline: identify on first contact)."""

    name_zh: str = "示例消费金融有限公司"
    name_en: str = "Example Consumer Finance Co., Ltd."
    phone: str = "400-000-0000"

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str
    lang: str


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{value!r} is not a date (use YYYY-MM-DD)") from None


@dataclass(frozen=True, slots=True)
class _Shape:
    """How Babel lays out one currency in one locale: prefix, separators, suffix."""

    prefix: str
    group: str
    decimal: str
    suffix: str
    digits: int


@lru_cache(maxsize=256)
def _shape(currency: str, lang: str) -> _Shape | None:
    """Learn the layout from Babel on a probe amount; None when it is not the plain
    ``prefix 1,234,567.12 suffix`` form (then Babel formats every amount itself)."""
    digits = exponent(currency)
    probe_minor = 123456712 if digits == 2 else 1234567 * 10**digits
    text = format_currency(from_minor(probe_minor, currency), currency, locale=_BABEL_LOCALE[lang])
    found = re.fullmatch(r"(\D*)1(\D)234(\D)567(?:(\D)(\d+))?(\D*)", text)
    if found is None or digits not in (0, 2):
        return None
    prefix, g1, g2, dec, frac, suffix = found.groups()
    if g1 != g2 or (digits == 2 and frac != "12") or (digits == 0 and frac is not None):
        return None
    shape = _Shape(prefix, g1, dec or "", suffix, digits)
    return shape if _apply(shape, probe_minor) == text else None


def _apply(shape: _Shape, minor: int) -> str:
    whole, frac = divmod(minor, 10**shape.digits) if shape.digits else (minor, 0)
    grouped = f"{whole:,}".replace(",", shape.group)
    tail = f"{shape.decimal}{frac:0{shape.digits}d}" if shape.digits else ""
    return f"{shape.prefix}{grouped}{tail}{shape.suffix}"


@lru_cache(maxsize=65536)
def format_money(minor: int, currency: str, lang: str) -> str:
    """Integer minor units in the locale's currency format, exactly.

    Babel decides the layout; non-negative amounts reuse the layout it gave for a
    probe (a property test checks it equals Babel), since Babel's own pattern
    formatting was the costliest step of rendering a message.
    """
    shape = _shape(currency, lang) if minor >= 0 else None
    if shape is not None:
        return _apply(shape, minor)
    return format_currency(from_minor(minor, currency), currency, locale=_BABEL_LOCALE[lang])


@pass_context
def _money(ctx: Context, minor: object, currency: str = "CNY") -> str:
    if isinstance(minor, bool) or not isinstance(minor, int):
        try:
            minor = int(str(minor))
        except ValueError:
            raise ValidationError(f"amount {minor!r} is not integer minor units") from None
    return format_money(minor, currency, ctx["lang"])


@pass_context
def _day(ctx: Context, value: object) -> str:
    return format_date(_as_date(value), format="long", locale=_BABEL_LOCALE[ctx["lang"]])


class TemplateBook:
    """The loaded, checked templates of one installation."""

    def __init__(self, institution: Institution | None = None, directory: Path | None = None):
        self.institution = institution or Institution()
        self.directory = directory or TEMPLATE_DIR
        self.env = Environment(
            loader=FileSystemLoader(self.directory),
            undefined=StrictUndefined,
            autoescape=False,
            auto_reload=False,  # loaded and checked once; no stat() per message
            trim_blocks=True,
        )
        self.env.filters["money"] = _money
        self.env.filters["day"] = _day
        self.check()

    def check(self) -> None:
        """Every template in every language, using only variables someone supplies."""
        allowed = set(OPTIONAL | SUPPLIED) | {"channel"}
        for name, required in REQUIRED.items():
            for lang in LANGUAGES:
                path = f"{lang}/{name}.j2"
                try:
                    source, _, _ = self.env.loader.get_source(self.env, path)  # type: ignore[union-attr]
                    used = meta.find_undeclared_variables(self.env.parse(source))
                except TemplateError as err:
                    raise ConfigError(f"contact template {path}: {err}") from None
                unknown = used - allowed - required
                if unknown:
                    raise ConfigError(
                        f"contact template {path} uses variables nobody supplies: {sorted(unknown)}"
                    )
                unused = required - used
                if unused:
                    raise ConfigError(f"contact template {path} does not show {sorted(unused)}")

    def render(
        self,
        name: str,
        lang: str | None,
        variables: Mapping[str, Any],
        *,
        borrower_name: str,
        channel: str = "sms",
        opt_out: bool = False,
    ) -> Rendered:
        """Subject and body of template ``name`` in the borrower's language."""
        lang = language_of(lang)
        missing = REQUIRED.get(name, frozenset()) - variables.keys()
        if name not in REQUIRED or missing:
            raise ValidationError(f"template {name!r}: unknown, or missing {sorted(missing)}")
        context = {
            "currency": "CNY",
            "loan_ref": None,
            "instalment_no": None,
            **variables,
            "borrower_name": borrower_name,
            "institution": self.institution.name(lang),
            "institution_phone": self.institution.phone,
            "opt_out": opt_out,
            "channel": channel,
            "lang": lang,
        }
        template = self.env.get_template(f"{lang}/{name}.j2")
        try:
            ctx = template.new_context(context)
            subject = "".join(template.blocks["subject"](ctx)).strip()
            body = "".join(template.blocks["body"](ctx)).strip()
        except TemplateError as err:
            raise ValidationError(f"template {lang}/{name}: {err}") from None
        return Rendered(subject=subject, body=body, lang=lang)
