"""Batch kernels: pure functions over frames of whole loans (Arrow/Polars in, out).

Each kernel here runs unchanged in-process or inside Spark ``mapInArrow``.
"""

from postloan.batch.schedule_kernel import LOAN_COLUMNS, SCHEDULE_SCHEMA, generate_schedules

__all__ = ["LOAN_COLUMNS", "SCHEDULE_SCHEMA", "generate_schedules"]
