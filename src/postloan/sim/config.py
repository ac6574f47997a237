"""Simulator configuration: the shipped defaults plus a user's overrides.

All parameters live in one YAML document (``default_config.yaml``, documented in
docs/simulator.md). A user file overrides keys: nested mappings merge, lists and
scalars replace. A key the defaults do not have is a ``ConfigError`` (a typo would
otherwise be silently ignored), except inside the open mappings listed in
``_OPEN`` (regions, category shares) where the user names the categories.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from postloan.domain.errors import ConfigError

__all__ = ["SimConfig", "load_config"]

#: Mappings whose keys are categories the user may replace wholesale.
_OPEN = {
    ("regions",),
    ("borrowers", "employment"),
    ("borrowers", "employment_risk"),
    ("borrowers", "channel"),
    ("borrowers", "channel_risk"),
    ("products",),
    ("organisation", "officer_quality"),
}
_OPEN_LEAVES = {"terms", "methods"}  # products.<name>.terms / .methods


@dataclass(frozen=True)
class SimConfig:
    """The merged configuration (a plain nested mapping, read-only by convention)."""

    data: Mapping[str, Any]

    def __getitem__(self, section: str) -> Any:
        return self.data[section]

    @classmethod
    def default(cls) -> SimConfig:
        return load_config(None)

    def with_overrides(self, overrides: Mapping[str, Any]) -> SimConfig:
        """A copy with ``overrides`` merged in (same rules as a --config file)."""
        return SimConfig(_merge(self.data, overrides, ()))

    @property
    def strategy_name(self) -> str:
        return str(self.data["strategy"].get("name", "strategy"))


def _default_data() -> dict[str, Any]:
    text = resources.files("postloan.sim").joinpath("default_config.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def load_config(path: Path | None) -> SimConfig:
    """The defaults, overridden by the YAML file at ``path`` when given."""
    base = _default_data()
    if path is None:
        return SimConfig(base)
    try:
        raw = yaml.safe_load(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"simulator config {path} does not exist") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"simulator config {path} is not valid YAML: {err}") from None
    if raw is None:
        return SimConfig(base)
    if not isinstance(raw, dict):
        raise ConfigError(f"simulator config {path} must be a mapping of sections")
    return SimConfig(_merge(base, raw, ()))


def _merge(
    base: Mapping[str, Any], over: Mapping[str, Any], where: tuple[str, ...]
) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    open_map = where in _OPEN or (
        len(where) == 3 and where[0] == "products" and where[2] in _OPEN_LEAVES
    )
    if open_map:
        # Categories replace wholesale; products may add a new product built on consumer's defaults.
        if where == ("products",):
            result: dict[str, Any] = copy.deepcopy(dict(base))
            for name, spec in over.items():
                if not isinstance(spec, Mapping):
                    raise ConfigError(f"products.{name} must be a mapping")
                template = base.get(name, base["consumer"])
                result[str(name)] = _merge(template, spec, ("products", str(name)))
            return result
        return copy.deepcopy(dict(over))
    for key, value in over.items():
        dotted = ".".join((*where, str(key)))
        if key not in base:
            known = ", ".join(sorted(map(str, base))) or "(none)"
            raise ConfigError(
                f"unknown simulator config key {dotted!r}; known keys here: {known} "
                "(see docs/simulator.md)"
            )
        if isinstance(base[key], Mapping):
            if not isinstance(value, Mapping):
                raise ConfigError(f"simulator config key {dotted!r} must be a mapping")
            out[key] = _merge(base[key], value, (*where, str(key)))
        else:
            out[key] = copy.deepcopy(value)
    return out
