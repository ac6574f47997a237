"""Load the servicing policy (thresholds, buckets, allocation order …) from configuration.

The rules' numbers live in ``$POSTLOAN_HOME/config.yaml`` under ``servicing:``,
because credit-card and other product rules differ. A missing file means the
defaults of ``ServicingPolicy.default()``; a malformed one is a ``ConfigError``
that names the file and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from postloan.config import Settings, load_settings
from postloan.domain.errors import ConfigError, PostLoanError
from postloan.domain.policy import ServicingPolicy


def read_config(path: Path) -> dict[str, Any]:
    """The parsed YAML configuration file, or an empty mapping when it does not exist."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def load_policy(settings: Settings | None = None) -> ServicingPolicy:
    """The servicing policy from ``config.yaml`` (section ``servicing``), else the defaults."""
    settings = settings or load_settings()
    section = read_config(settings.config_file).get("servicing") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{settings.config_file}: 'servicing' must be a mapping")
    try:
        return ServicingPolicy.from_dict(section)
    except PostLoanError as err:
        raise ConfigError(f"{settings.config_file}: servicing: {err}") from None
