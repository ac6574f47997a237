"""compute_states: engine choice, errors, empty partitions."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from postloan.batch.book import BookFrames
from postloan.batch.engines import compute_states, local_kernel_name
from postloan.batch.reference import STATE_SCHEMA
from postloan.domain.errors import ConfigError
from postloan.domain.policy import ServicingPolicy


def empty() -> BookFrames:
    return BookFrames(*(pl.DataFrame() for _ in range(4)))


def test_an_empty_partition_gives_an_empty_state_frame() -> None:
    for engine in ("local", "reference", "spark"):
        out = compute_states(empty(), date(2026, 1, 1), ServicingPolicy.default(), engine)
        assert out.height == 0
        assert dict(out.schema) == STATE_SCHEMA


def test_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="engine must be one of local, spark, reference"):
        compute_states(empty(), date(2026, 1, 1), ServicingPolicy.default(), "hadoop")


def test_local_engine_names_what_it_runs() -> None:
    assert local_kernel_name() in ("state_kernel", "reference")
