"""Shared fixtures: every test gets its own POSTLOAN_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def postloan_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "postloan-home"
    monkeypatch.setenv("POSTLOAN_HOME", str(home))
    return home
