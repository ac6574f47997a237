"""Read a strategy file (YAML or JSON) and the default strategy that ships."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import yaml

from postloan.collections.strategy import Strategy, parse_strategy
from postloan.domain.errors import NotFound, ValidationError

DEFAULT_NAME = "default_strategy.yaml"


def default_text() -> str:
    return resources.files("postloan.collections").joinpath(DEFAULT_NAME).read_text("utf-8")


def parse_text(text: str, source: str) -> Strategy:
    try:
        doc = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as err:
        raise ValidationError(f"{source}: not valid YAML or JSON ({err})") from None
    strategy = parse_strategy(doc, source)
    check_templates(strategy, source)
    return strategy


def check_templates(strategy: Strategy, source: str) -> None:
    """Automated actions must name a template of the contact catalogue."""
    from postloan.contact.catalog import REQUIRED

    problems = sorted(
        {
            f"{source}: segments ({seg.name}).{group}: {act.action} template {act.template!r} "
            f"is not in the contact catalogue ({', '.join(sorted(REQUIRED))})"
            for seg, group, _i, act in strategy.actions()
            if act.kind == "automated" and act.template not in REQUIRED
        }
    )
    if problems:
        raise ValidationError("\n".join(problems))


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{path}: no such strategy file") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: a strategy file must be UTF-8 text") from None


def load_strategy(path: Path) -> tuple[Strategy, str]:
    """The validated strategy of ``path`` and its text."""
    text = read_text(path)
    return parse_text(text, str(path)), text


def default_strategy() -> Strategy:
    return parse_text(default_text(), DEFAULT_NAME)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
