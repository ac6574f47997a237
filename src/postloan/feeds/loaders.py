"""Write validated feeds into the store, with the checks that need the store.

What is loaded but flagged (``loan_flags``) and what is rejected is listed in
docs/feeds.md; in short: anything that would make a stored row wrong is
rejected, anything that is only suspicious is loaded and flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy import Connection, text

from postloan.batch.schedule_kernel import SCHEDULE_SCHEMA, generate_schedules
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.errors import InvalidTerms
from postloan.domain.schedule import LoanTerms, Method, generate_schedule
from postloan.feeds.context import Counts, RunContext, body
from postloan.feeds.held import hold
from postloan.feeds.readers import LINE
from postloan.feeds.reconcile import supersede_provisional
from postloan.feeds.validation import ValidatedFeed
from postloan.store.bulk import delete_where_in, insert, read_frame, upsert

SENSITIVE = {"borrowers": ("national_id", "phone", "address"), "contacts": ("phone",)}


def _ids(conn: Connection, table: str, column: str) -> pl.Series:
    frame = read_frame(conn, f"SELECT {column} FROM {table}", {column: pl.Utf8})
    return frame.get_column(column)


def _unknown(valid_column: str, known: pl.Series) -> pl.Expr:
    return ~pl.col(valid_column).is_in(known.implode())


def _protect(ctx: RunContext, feed: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Replace sensitive columns with ``*_enc`` ciphertext and ``*_bidx`` blind index."""
    cipher = ctx.store.cipher
    for name in SENSITIVE.get(feed, ()):
        values = frame.get_column(name).to_list()
        enc = [None if v is None else cipher.encrypt(name, v) for v in values]
        idx = [None if v is None else cipher.blind_index(name, v) for v in values]
        frame = frame.drop(name).with_columns(
            pl.Series(f"{name}_enc", enc, dtype=pl.Binary),
            pl.Series(f"{name}_bidx", idx, dtype=pl.Utf8),
        )
    return frame


def _keep_ciphertext(feed: str) -> dict[str, str]:
    return {f"{n}_enc": f"{n}_bidx" for n in SENSITIVE.get(feed, ())}


def _flag(conn: Connection, ctx: RunContext, flags: pl.DataFrame, rules: list[str]) -> int:
    """Replace the ``rules`` flags of the loans in ``flags`` (loan_id, rule, reason)."""
    loan_ids = flags.get_column("loan_id").unique().to_list()
    for rule in rules:
        delete_where_in_rule(conn, rule, loan_ids)
    rows = flags.filter(pl.col("rule").is_in(rules) & pl.col("reason").is_not_null())
    rows = rows.with_columns(pl.lit(ctx.run_id).alias("import_run_id"))
    upsert(conn, "loan_flags", rows, ("loan_id", "rule"))
    return rows.height


def delete_where_in_rule(conn: Connection, rule: str, loan_ids: list[str]) -> None:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for i in range(0, len(loan_ids), 500):
        part = loan_ids[i : i + 500]
        conn.exec_driver_sql(
            f"DELETE FROM loan_flags WHERE rule = {mark} AND loan_id IN "
            f"({', '.join(mark for _ in part)})",
            (rule, *part),
        )


def load_borrowers(conn: Connection, ctx: RunContext, vf: ValidatedFeed) -> Counts:
    rows = _protect(ctx, "borrowers", body(vf, ctx))
    upsert(conn, "borrowers", rows, ("borrower_id",), keep_if_same=_keep_ciphertext("borrowers"))
    return Counts(loaded=rows.height)


def load_contacts(conn: Connection, ctx: RunContext, vf: ValidatedFeed) -> Counts:
    vf.reject(
        _unknown("borrower_id", _ids(conn, "borrowers", "borrower_id")),
        "borrower_id",
        "unknown_borrower",
        pl.format("borrower {} is not known; import the borrower first", pl.col("borrower_id")),
    )
    rows = _protect(ctx, "contacts", body(vf, ctx))
    upsert(
        conn,
        "borrower_contacts",
        rows,
        ("borrower_id", "kind", "name"),
        keep_if_same=_keep_ciphertext("contacts"),
    )
    return Counts(loaded=rows.height)


def load_loans(conn: Connection, ctx: RunContext, vf: ValidatedFeed) -> Counts:
    rows = body(vf, ctx)
    upsert(conn, "loans", rows, ("loan_id",))
    ctx.loans_loaded.extend(rows.get_column("loan_id").to_list())
    known = _ids(conn, "borrowers", "borrower_id")
    flags = rows.select(
        "loan_id",
        pl.lit("unknown_borrower").alias("rule"),
        pl.when(_unknown("borrower_id", known))
        .then(pl.format("borrower {} is not in the borrowers feed or the store", "borrower_id"))
        .alias("reason"),
    )
    return Counts(loaded=rows.height, flagged=_flag(conn, ctx, flags, ["unknown_borrower"]))


SCHEDULE_RULES = ["schedule_principal_mismatch", "schedule_due_before_disbursement"]


def load_schedules(conn: Connection, ctx: RunContext, vf: ValidatedFeed) -> Counts:
    loans = read_frame(
        conn,
        "SELECT loan_id, principal, disbursement_date FROM loans",
        {"loan_id": pl.Utf8, "principal": pl.Int64, "disbursement_date": pl.Date},
    )
    vf.reject(
        _unknown("loan_id", loans.get_column("loan_id")),
        "loan_id",
        "unknown_loan",
        pl.format("loan {} is not known; import its loan first", pl.col("loan_id")),
    )
    rows = vf.valid.drop(LINE).sort("loan_id", "seq")
    rows = rows.with_columns(
        pl.col("principal_due").cum_sum().over("loan_id").alias("_paid"),
        pl.lit("feed").alias("source"),
    ).join(loans, on="loan_id", how="left")
    table = rows.select(
        "loan_id",
        "seq",
        "due_date",
        "principal_due",
        "interest_due",
        "fee_due",
        (pl.col("principal") - pl.col("_paid")).alias("balance"),
        "source",
    )
    loan_ids = table.get_column("loan_id").unique().to_list()
    delete_where_in(conn, "schedule_instalments", "loan_id", loan_ids)
    insert(conn, "schedule_instalments", table)
    _set_schedule_source(conn, loan_ids, "feed")
    per_loan = rows.group_by("loan_id").agg(
        pl.col("principal_due").sum().alias("total"),
        pl.col("principal").first(),
        pl.col("due_date").min().alias("first_due"),
        pl.col("disbursement_date").first(),
    )
    mismatch = per_loan.select(
        "loan_id",
        pl.lit(SCHEDULE_RULES[0]).alias("rule"),
        pl.when(pl.col("total") != pl.col("principal"))
        .then(
            pl.format(
                "schedule principal sums to {} minor units but the loan principal is {}",
                "total",
                "principal",
            )
        )
        .alias("reason"),
    )
    early = per_loan.select(
        "loan_id",
        pl.lit(SCHEDULE_RULES[1]).alias("rule"),
        pl.when(pl.col("first_due") <= pl.col("disbursement_date"))
        .then(
            pl.format(
                "first scheduled due date {} is not after disbursement {}",
                "first_due",
                "disbursement_date",
            )
        )
        .alias("reason"),
    )
    flagged = _flag(conn, ctx, pl.concat([mismatch, early]), SCHEDULE_RULES)
    return Counts(loaded=table.height, flagged=flagged)


def _set_schedule_source(conn: Connection, loan_ids: list[str], source: str) -> None:
    if not loan_ids:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"UPDATE loans SET schedule_source = {mark} WHERE loan_id = {mark}",
        [(source, loan_id) for loan_id in loan_ids],
    )


def generate_missing_schedules(conn: Connection, ctx: RunContext) -> int:
    """Generate the schedule of every loan loaded in this run that has no feed schedule,
    and of any loan that has none at all."""
    loans = read_frame(
        conn,
        "SELECT loan_id, principal, annual_rate, term, frequency, day_count, method, "
        "disbursement_date, first_due_date, fee_per_period, currency, schedule_source FROM loans "
        "WHERE schedule_source IS NULL OR schedule_source = 'generated'",
        LOAN_TERMS_SCHEMA | {"schedule_source": pl.Utf8},
    )
    loaded = set(ctx.loans_loaded)
    todo = loans.filter(pl.col("schedule_source").is_null() | pl.col("loan_id").is_in(list(loaded)))
    failed: list[dict[str, str]] = []
    try:  # the vectorised kernel, exact to the reference; per-loan only if a loan fails
        table = generate_schedules(todo).with_columns(pl.lit("generated").alias("source"))
    except InvalidTerms:
        table, failed = _schedules_one_by_one(todo)
    loan_ids = todo.get_column("loan_id").to_list()
    delete_where_in(conn, "schedule_instalments", "loan_id", loan_ids)
    insert(conn, "schedule_instalments", table)
    done = sorted(set(loan_ids) - {f["loan_id"] for f in failed})
    _set_schedule_source(conn, done, "generated")
    flags = pl.DataFrame(
        [{"loan_id": i, "rule": "schedule_failed", "reason": None} for i in done] + failed,
        schema={"loan_id": pl.Utf8, "rule": pl.Utf8, "reason": pl.Utf8},
    )
    if flags.height:
        _flag(conn, ctx, flags, ["schedule_failed"])
    return len(done)


def _schedules_one_by_one(todo: pl.DataFrame) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    """Schedules with the per-loan reference, collecting the loans that cannot have one."""
    out: list[tuple[str, int, date, int, int, int, int, str]] = []
    failed: list[dict[str, str]] = []
    for row in todo.iter_rows(named=True):
        try:
            schedule = generate_schedule(terms_from_row(row))
        except InvalidTerms as err:
            failed.append(
                {"loan_id": row["loan_id"], "rule": "schedule_failed", "reason": str(err)}
            )
            continue
        out.extend(
            (
                row["loan_id"],
                i.seq,
                i.due_date,
                i.principal,
                i.interest,
                i.fee,
                i.balance,
                "generated",
            )
            for i in schedule
        )
    schema = SCHEDULE_SCHEMA | {"source": pl.String()}
    return pl.DataFrame(out, schema=schema, orient="row"), failed


LOAN_TERMS_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "principal": pl.Int64(),
    "annual_rate": pl.Utf8(),
    "term": pl.Int32(),
    "frequency": pl.Utf8(),
    "day_count": pl.Utf8(),
    "method": pl.Utf8(),
    "disbursement_date": pl.Date(),
    "first_due_date": pl.Date(),
    "fee_per_period": pl.Int64(),
    "currency": pl.Utf8(),
}


def terms_from_row(row: dict[str, object]) -> LoanTerms:
    first_due = row["first_due_date"]
    disbursed = row["disbursement_date"]
    assert isinstance(disbursed, date)
    return LoanTerms(
        principal=int(str(row["principal"])),
        annual_rate=Decimal(str(row["annual_rate"])),
        term=int(str(row["term"])),
        frequency=Frequency.parse(str(row["frequency"])),
        day_count=DayCount.parse(str(row["day_count"])),
        method=Method.parse(str(row["method"])),
        disbursement_date=disbursed,
        first_due_date=first_due if isinstance(first_due, date) else None,
        fee_per_period=int(str(row["fee_per_period"] or 0)),
        currency=str(row["currency"]),
    )


def load_marks(conn: Connection, ctx: RunContext, vf: ValidatedFeed) -> Counts:
    vf.reject(
        _unknown("loan_id", _ids(conn, "loans", "loan_id")),
        "loan_id",
        "unknown_loan",
        pl.format("loan {} is not known; import its loan first", pl.col("loan_id")),
    )
    rows = body(vf, ctx)
    upsert(conn, "loan_marks", rows, ("mark_id",))
    return Counts(loaded=rows.height)


def load_transactions(conn: Connection, ctx: RunContext, vf: ValidatedFeed) -> Counts:
    held = vf.take(_unknown("loan_id", _ids(conn, "loans", "loan_id")))
    rows = body(vf, ctx)
    supersede_provisional(conn, rows, ctx.run_id)  # API payments the core now books
    upsert(conn, "transactions", rows, ("txn_id",))
    conn.execute(
        text(
            "UPDATE held_transactions SET status = 'superseded', resolved_run_id = :r "
            "WHERE status = 'held' AND txn_id IN (SELECT txn_id FROM transactions)"
        ),
        {"r": ctx.run_id},
    )
    hold(conn, ctx, vf, held)
    return Counts(loaded=rows.height, held=held.height)


def refresh_borrower_flags(conn: Connection) -> None:
    """Drop ``unknown_borrower`` flags whose borrower has arrived since."""
    conn.execute(
        text(
            "DELETE FROM loan_flags WHERE rule = 'unknown_borrower' AND loan_id IN "
            "(SELECT l.loan_id FROM loans l JOIN borrowers b ON b.borrower_id = l.borrower_id)"
        )
    )


LOADERS: dict[str, Callable[[Connection, RunContext, ValidatedFeed], Counts]] = {
    "borrowers": load_borrowers,
    "contacts": load_contacts,
    "loans": load_loans,
    "schedules": load_schedules,
    "loan_marks": load_marks,
    "transactions": load_transactions,
}
