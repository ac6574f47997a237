"""The Polars allocator settings reach jemalloc, and a user's own value wins."""

from __future__ import annotations

import os
import subprocess
import sys

from postloan.allocator import ENV, SETTINGS, tune_polars_allocator

PROBE = (
    "import os, postloan.allocator as a; ok = a.tune_polars_allocator(); "
    "import polars as pl; assert pl.DataFrame({'x': [1, 2]})['x'].sum() == 3; "
    "print(ok, os.environ[a.ENV])"
)


def _probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )


def test_settings_are_set_before_polars_loads_and_jemalloc_accepts_them() -> None:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    done = _probe(env)
    ok, conf = done.stdout.split()
    assert ok == "True" and conf.endswith("," + SETTINGS)  # after Polars' own: ours win
    assert "jemalloc" not in done.stderr  # an option jemalloc rejects is reported there


def test_a_value_in_the_environment_wins() -> None:
    done = _probe({**os.environ, ENV: "dirty_decay_ms:1000"})
    ok, conf = done.stdout.split()
    assert ok == "True" and conf.endswith(",dirty_decay_ms:1000") and SETTINGS not in conf


def test_too_late_once_polars_is_loaded() -> None:
    import polars  # noqa: F401

    assert tune_polars_allocator() is False
