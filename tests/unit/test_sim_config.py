"""Simulator configuration: shipped defaults, overrides, and clear errors for typos."""

from __future__ import annotations

from pathlib import Path

import pytest

from postloan.domain.errors import ConfigError
from postloan.sim import SimConfig, load_config, simulate


def test_defaults_load_from_the_package() -> None:
    cfg = SimConfig.default()
    assert cfg["calendar"]["currency"] == "CNY"
    assert set(cfg["products"]) == {"consumer", "credit_line", "sme_owner"}
    assert cfg["strategy"]["reminder_days_before_due"] == [3]


def test_file_overrides_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "strategy:\n  name: fast\n  contact_days_after_due: [1, 2]\n"
        "products:\n  consumer: {share: 0.5}\n",
        encoding="utf-8",
    )
    cfg = load_config(path)
    assert cfg["strategy"]["contact_days_after_due"] == [1, 2]
    assert cfg["strategy"]["reminder_days_before_due"] == [3]  # untouched sibling
    assert cfg["products"]["consumer"]["share"] == 0.5
    assert (
        cfg["products"]["consumer"]["terms"] == SimConfig.default()["products"]["consumer"]["terms"]
    )
    assert "sme_owner" in cfg["products"]
    assert cfg.strategy_name == "fast"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("behaviour:\n  mis_logit: 1\n", "behaviour.mis_logit"),
        ("stratgy: {}\n", "stratgy"),
        ("treatment:\n  costs: {fax: 1}\n", "treatment.costs.fax"),
    ],
)
def test_unknown_keys_are_config_errors(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_config(path)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"regions": {"XX-99": 1.0}}, "not a supported province"),
        ({"strategy": {"litigation_at_overdue": 2}}, "litigation_at_overdue"),
        ({"macro": {"shocks": [{"region": "CN-99", "from_month": 1, "size": 1}]}}, "CN-99"),
        ({"behaviour": {"partial_fraction": [0.5, 0.9]}}, "partial_fraction"),
    ],
)
def test_inconsistent_values_are_config_errors(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        simulate(SimConfig.default().with_overrides(overrides), loans=20, months=3, seed=1)
