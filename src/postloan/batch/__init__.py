"""Batch kernels: pure functions over frames of whole loans (Arrow/Polars in, out).

Each kernel here runs unchanged in-process or inside Spark ``mapInArrow``.
"""

from postloan.batch.schedule_kernel import (
    LOAN_COLUMNS,
    SCHEDULE_SCHEMA,
    SCHEDULE_SPARK_SCHEMA,
    generate_schedules,
    schedule_arrow_batches,
)

__all__ = [
    "LOAN_COLUMNS",
    "SCHEDULE_SCHEMA",
    "SCHEDULE_SPARK_SCHEMA",
    "generate_schedules",
    "schedule_arrow_batches",
]
