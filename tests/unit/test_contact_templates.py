"""Message templates: content, language, amounts to the cent, load-time checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.contact.catalog import REQUIRED
from postloan.contact.templates import (
    LANGUAGES,
    Institution,
    TemplateBook,
    format_money,
    language_of,
)
from postloan.domain.errors import ConfigError, ValidationError
from postloan.domain.money import from_minor

BOOK = TemplateBook(Institution(name_zh="测试银行", name_en="Test Bank", phone="95000"))

SAMPLE = {
    "due_date": "2026-03-02",
    "amount_due": 100001,
    "days_past_due": 17,
    "amount_overdue": 123456789,
    "promised_date": "2026-03-09",
    "promised_amount": 50000,
    "new_instalment": 33333,
    "offer_deadline": "2026-03-31",
    "deadline": "2026-04-15",
}


def test_overdue_in_chinese_states_days_amount_and_institution() -> None:
    out = BOOK.render("overdue", "zh-CN", SAMPLE, borrower_name="张三")
    assert out.lang == "zh-CN"
    assert out.subject == "逾期提醒：已逾期 17 天"
    assert "张三" in out.body
    assert "¥1,234,567.89" in out.body
    assert "【测试银行】" in out.body
    assert "退订" not in out.body  # CN profile: no opt-out line required


def test_overdue_in_english_with_the_opt_out_line() -> None:
    out = BOOK.render("overdue", "en-US", SAMPLE, borrower_name="Ann Lee", opt_out=True)
    assert out.lang == "en"
    assert out.subject == "Your payment is 17 days overdue"
    assert "CN¥1,234,567.89" in out.body
    assert "Test Bank" in out.body
    assert out.body.endswith("Reply STOP to opt out.")
    email = BOOK.render("overdue", "en", SAMPLE, borrower_name="A", opt_out=True, channel="email")
    assert "UNSUBSCRIBE" in email.body


@pytest.mark.parametrize(
    ("minor", "currency", "lang", "text"),
    [
        (1, "CNY", "zh-CN", "¥0.01"),
        (100001, "CNY", "zh-CN", "¥1,000.01"),
        (999999999999, "CNY", "en", "CN¥9,999,999,999.99"),
        (12345, "USD", "en", "$123.45"),
        (12345, "JPY", "en", "¥12,345"),
    ],
)
def test_amounts_are_exact_to_the_cent(minor: int, currency: str, lang: str, text: str) -> None:
    out = BOOK.render(
        "due_today", lang, {**SAMPLE, "amount_due": minor, "currency": currency}, borrower_name="x"
    )
    assert text in out.body


def test_dates_follow_the_language() -> None:
    zh = BOOK.render("pre_due_reminder", "zh-CN", SAMPLE, borrower_name="x")
    en = BOOK.render("pre_due_reminder", "en", SAMPLE, borrower_name="x")
    assert "2026年3月2日" in zh.body
    assert "March 2, 2026" in en.body


@pytest.mark.parametrize("name", sorted(REQUIRED))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_renders_every_required_amount(name: str, lang: str) -> None:
    out = BOOK.render(name, lang, SAMPLE, borrower_name="x")
    assert out.subject and out.body
    assert ("Test Bank" if lang == "en" else "测试银行") in out.body
    if "amount_overdue" in REQUIRED[name]:
        assert "1,234,567.89" in out.body


def test_language_of_defaults_to_chinese() -> None:
    assert language_of(None) == "zh-CN"
    assert language_of("zh") == "zh-CN"
    assert language_of("fr") == "zh-CN"
    assert language_of("en_GB") == "en"


def test_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(ValidationError, match="amount_overdue"):
        BOOK.render("overdue", "en", {"days_past_due": 3}, borrower_name="x")
    with pytest.raises(ValidationError, match="minor units"):
        BOOK.render("overdue", "en", {**SAMPLE, "amount_overdue": "12.5"}, borrower_name="x")


def _copy_templates(tmp_path: Path) -> Path:
    src = Path(BOOK.directory)
    for path in src.rglob("*.j2"):
        target = tmp_path / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_load_time_check_finds_an_unknown_variable(tmp_path: Path) -> None:
    root = _copy_templates(tmp_path)
    (root / "en" / "overdue.j2").write_text(
        "{% block subject %}x{% endblock %}{% block body %}{{ days_past_due }} "
        "{{ amount_overdue }} {{ amount_overdeu }}{% endblock %}",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="amount_overdeu"):
        TemplateBook(directory=root)


def test_load_time_check_finds_a_template_that_hides_the_amount(tmp_path: Path) -> None:
    root = _copy_templates(tmp_path)
    (root / "zh-CN" / "overdue.j2").write_text(
        "{% block subject %}x{% endblock %}{% block body %}{{ days_past_due }}{% endblock %}",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="amount_overdue"):
        TemplateBook(directory=root)
    (root / "zh-CN" / "overdue.j2").unlink()
    with pytest.raises(ConfigError, match="zh-CN/overdue.j2"):
        TemplateBook(directory=root)


@settings(max_examples=300, deadline=None)
@given(
    minor=st.integers(min_value=-(10**13), max_value=10**13),
    currency=st.sampled_from(["CNY", "USD", "EUR", "JPY", "HKD", "GBP"]),
    lang=st.sampled_from(LANGUAGES),
)
def test_fast_money_format_equals_babel(minor: int, currency: str, lang: str) -> None:
    locale = {"zh-CN": "zh_CN", "en": "en_US"}[lang]
    expected = format_currency(from_minor(minor, currency), currency, locale=locale)
    assert format_money(minor, currency, lang) == expected
