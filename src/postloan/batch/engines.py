"""Steps 1–5 of the close of business as one state computation, on a chosen engine.

ACCRUE_PENALTY, ALLOCATE_PAYMENTS, DAYS_PAST_DUE, BUCKET and CLASSIFY are one
pass over each loan's history (a day's penalty depends on yesterday's
allocation, and so on), so they run together and their columns come out in one
``STATE_SCHEMA`` frame; ``postloan.batch.steps.STEP_COLUMNS`` says which step
owns which column.

Engines:

- ``local``: the vectorised kernel ``postloan.batch.state_kernel.loan_states``
  when it is installed, else the per-loan reference (slow, exact);
- ``reference``: always the per-loan reference (for parity checks);
- ``spark``: ``postloan.batch.spark_engine.spark_states`` (PySpark, ``master``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import polars as pl

from postloan.batch.book import BookFrames
from postloan.batch.reference import STATE_SCHEMA, reference_states_frame
from postloan.domain.errors import ConfigError
from postloan.domain.policy import ServicingPolicy

ENGINES = ("local", "spark", "reference")


def _local_kernel() -> Callable[..., pl.DataFrame]:
    try:
        module = importlib.import_module("postloan.batch.state_kernel")
    except ImportError:
        return reference_states_frame
    kernel: Callable[..., pl.DataFrame] | None = getattr(module, "loan_states", None)
    return kernel if kernel is not None else reference_states_frame


def local_kernel_name() -> str:
    """``state_kernel`` or ``reference``: what ``engine="local"`` runs here."""
    return "reference" if _local_kernel() is reference_states_frame else "state_kernel"


def compute_states(
    frames: BookFrames,
    business_date: date,
    policy: ServicingPolicy,
    engine: str = "local",
    master: str | None = None,
) -> pl.DataFrame:
    """The ``STATE_SCHEMA`` frame of ``frames``' loans on ``business_date``, sorted by loan id."""
    args: tuple[Any, ...] = (*frames.as_tuple(), business_date, policy)
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if frames.loans.height == 0:  # an empty hash partition: nothing to compute
        return pl.DataFrame(schema=STATE_SCHEMA)
    if engine == "local":
        out = _local_kernel()(*args)
    elif engine == "reference":
        out = reference_states_frame(*args)
    elif engine == "spark":
        try:
            spark_engine = importlib.import_module("postloan.batch.spark_engine")
        except ImportError as err:
            raise ConfigError(
                f"the Spark engine is not available ({err}); install pyspark or use --engine local"
            ) from None
        options = {} if master is None else {"master": master}
        out = spark_engine.spark_states(*args, **options)
    else:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return out.select(pl.col(c).cast(t) for c, t in STATE_SCHEMA.items()).sort("loan_id")


def compute_state_pair(
    frames: BookFrames,
    business_date: date,
    policy: ServicingPolicy,
    engine: str = "local",
    master: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(compute_states(..., business_date - 1 day, ...), compute_states(..., business_date,
    ...))``: a full recompute needs yesterday's state for the roll events.

    On ``engine="local"`` with the vectorised kernel, one pass gives both
    (``state_kernel.loan_states_pair``, about the cost of one date); otherwise two calls."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    day_before = business_date - timedelta(days=1)
    if engine != "local" or _local_kernel() is reference_states_frame:
        return (
            compute_states(frames, day_before, policy, engine, master),
            compute_states(frames, business_date, policy, engine, master),
        )
    if frames.loans.height == 0:
        empty = pl.DataFrame(schema=STATE_SCHEMA)
        return empty, empty.clone()
    module = importlib.import_module("postloan.batch.state_kernel")
    before, today = module.loan_states_pair(*frames.as_tuple(), business_date, policy)
    return _shaped(before), _shaped(today)


def _shaped(states: pl.DataFrame) -> pl.DataFrame:
    return states.select(pl.col(c).cast(t) for c, t in STATE_SCHEMA.items()).sort("loan_id")
