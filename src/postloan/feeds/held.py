"""Held transactions: rows whose loan is not known yet are kept, never dropped.

They are stored with their original row (JSON), file and line, retried at the
end of every import, and released into ``transactions`` once their loan exists
(or quarantined if they then fail validation, e.g. decimals in a yen loan).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, text

from postloan.feeds.context import RunContext, body, loan_currencies
from postloan.feeds.readers import LINE
from postloan.feeds.validation import ValidatedFeed, validate
from postloan.store.bulk import upsert


def hold(conn: Connection, ctx: RunContext, vf: ValidatedFeed, held: pl.DataFrame) -> None:
    if held.height == 0:
        return
    originals = vf.original.filter(pl.col(LINE).is_in(held.get_column(LINE).implode()))
    raw = {
        r[LINE]: json.dumps({k: v for k, v in r.items() if k != LINE}, ensure_ascii=False)
        for r in originals.iter_rows(named=True)
    }
    table = held.select(
        "txn_id",
        "loan_id",
        pl.col(LINE).replace_strict(raw, return_dtype=pl.Utf8).alias("raw"),
        pl.lit(str(vf.source)).alias("source_file"),
        pl.col(LINE).cast(pl.Int32).alias("line"),
        pl.lit("held").alias("status"),
        pl.lit(1).alias("attempts"),
        pl.lit(ctx.run_id).alias("first_run_id"),
        pl.lit(ctx.run_id).alias("last_run_id"),
        pl.lit(None, pl.Utf8).alias("resolved_run_id"),
    )
    upsert(
        conn,
        "held_transactions",
        table,
        ("txn_id",),
        insert_only=("first_run_id",),
        update={"attempts": "held_transactions.attempts + 1"},
    )


def release_held(conn: Connection, ctx: RunContext) -> tuple[int, int]:
    """Load held transactions whose loan is now known; returns (released, rejected)."""
    held = conn.execute(
        text(
            "SELECT h.txn_id, h.raw, h.source_file, h.line FROM held_transactions h "
            "JOIN loans l ON l.loan_id = h.loan_id WHERE h.status = 'held' ORDER BY h.txn_id"
        )
    ).all()
    conn.execute(
        text(
            "UPDATE held_transactions SET attempts = attempts + 1, last_run_id = :r "
            "WHERE status = 'held'"
        ),
        {"r": ctx.run_id},
    )
    if not held:
        return 0, 0
    raws = [json.loads(h.raw) for h in held]
    columns = list(dict.fromkeys(k for r in raws for k in r))
    frame = pl.DataFrame(raws, schema=dict.fromkeys(columns, pl.Utf8)).with_columns(
        pl.int_range(1, len(held) + 1, dtype=pl.Int64).alias(LINE)
    )
    origin = pl.DataFrame(
        {
            "seq": range(1, len(held) + 1),
            "txn_id": [h.txn_id for h in held],
            "file": [h.source_file for h in held],
            "line": [h.line for h in held],
        },
        schema={"seq": pl.Int64, "txn_id": pl.Utf8, "file": pl.Utf8, "line": pl.Int64},
    )
    vf = validate(
        "transactions", frame, Path("held_transactions"), currencies=loan_currencies(conn)
    )
    rows = body(vf, ctx)
    upsert(conn, "transactions", rows, ("txn_id",))
    _resolve(conn, ctx, rows.get_column("txn_id").to_list(), "released")
    bad = origin.filter(pl.col("seq").is_in(vf.rejected_lines.implode()))
    _resolve(conn, ctx, bad.get_column("txn_id").to_list(), "rejected")
    if bad.height:
        errors = (
            vf.error_frame.join(origin, left_on="line", right_on="seq", how="left")
            .with_columns(pl.col("file_right").alias("file"), pl.col("line_right").alias("line"))
            .select(vf.error_frame.columns)
        )
        rejected = (
            vf.rejected.join(origin.select("seq", "line"), left_on=LINE, right_on="seq", how="left")
            .with_columns(pl.col("line").alias(LINE))
            .drop("line")
        )
        ctx.quarantine.rows("held_transactions", rejected, errors)
    return rows.height, bad.height


def _resolve(conn: Connection, ctx: RunContext, txn_ids: list[str], status: str) -> None:
    if txn_ids:
        conn.execute(
            text(
                "UPDATE held_transactions SET status = :s, resolved_run_id = :r WHERE txn_id = :t"
            ),
            [{"s": status, "r": ctx.run_id, "t": t} for t in txn_ids],
        )
