"""Frame equality for the state kernel's parity tests, with the first differing loan shown."""

from __future__ import annotations

import polars as pl


def first_difference(got: pl.DataFrame, want: pl.DataFrame) -> str | None:
    """None when equal; else which loan and fields differ, both rows side by side."""
    if got.schema != want.schema:
        return f"schemas differ: {got.schema} != {want.schema}"
    if got["loan_id"].to_list() != want["loan_id"].to_list():
        extra = set(got["loan_id"]) ^ set(want["loan_id"])
        return f"loan ids differ ({got.height} vs {want.height} rows): {sorted(extra)[:5]}"
    if got.equals(want, null_equal=True):
        return None
    for i, (a, b) in enumerate(
        zip(got.iter_rows(named=True), want.iter_rows(named=True), strict=True)
    ):
        if a != b:
            fields = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
            head = f"row {i} loan {a['loan_id']}: (kernel, reference) {fields}"
            return f"{head}\nkernel={a}\nreference={b}"
    return "frames differ"
