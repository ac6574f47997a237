"""``simulate``: a whole synthetic book, its servicing history and the oracle's truth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from postloan.batch import generate_schedules
from postloan.domain.errors import ConfigError
from postloan.sim import engine
from postloan.sim.behaviour import Behaviour
from postloan.sim.calendar import SimCalendar
from postloan.sim.config import SimConfig
from postloan.sim.oracle import Oracle
from postloan.sim.population import (
    Book,
    borrowers_frame,
    build_book,
    contacts_frame,
    loans_frame,
)

__all__ = ["SimResult", "simulate"]


@dataclass
class SimResult:
    """Frames in memory. Amounts are int64 minor units; ``write_feeds`` formats them.

    ``borrowers``, ``contacts``, ``loans``, ``schedules``, ``transactions``,
    ``loan_marks``: the feeds. ``truth``: the oracle per open loan per month-end.
    ``monthly``: the simulator's own month-end arrears per loan. ``treatments``:
    restructuring offers and litigation events.
    """

    config: SimConfig
    seed: int
    months: int
    borrowers: pl.DataFrame
    contacts: pl.DataFrame
    loans: pl.DataFrame
    schedules: pl.DataFrame
    transactions: pl.DataFrame
    loan_marks: pl.DataFrame
    truth: pl.DataFrame
    monthly: pl.DataFrame
    treatments: pl.DataFrame


def simulate(config: SimConfig, *, loans: int, months: int, seed: int) -> SimResult:
    """Simulate ``loans`` loans over ``months`` months; the same arguments give the same result."""
    if loans < 1:
        raise ConfigError("--loans must be at least 1")
    cal_cfg = config["calendar"]
    cal = SimCalendar(
        cal_cfg["start_month"], months, cal_cfg["origination_months"], cal_cfg["backbook_months"]
    )
    root = np.random.SeedSequence([seed, 1])
    pop_rng, people_rng = (np.random.Generator(np.random.PCG64(s)) for s in root.spawn(2))
    book = build_book(config, cal, pop_rng, loans)
    currency = str(cal_cfg["currency"])
    loans_df = loans_frame(book, cal, currency)
    sched = generate_schedules(loans_df)
    sch = engine.build_schedules(book, sched)
    beh = Behaviour(config, book.regions, len(cal.month_end), cal.offset)
    rcfg = config["risk"]
    oracle = Oracle(book, cal, beh, float(rcfg["ar_phi"]), float(rcfg["ar_sigma"]))
    raw = engine.run(book, cal, beh, sch, seed, oracle)
    del sch, oracle  # the dense schedule arrays are the largest thing alive
    borrowers = borrowers_frame(book, people_rng, float(config["borrowers"]["email_share"]))
    contacts = contacts_frame(
        book, borrowers, people_rng, float(config["borrowers"]["employer_contact_share"])
    )
    loan_ids = loans_df["loan_id"]
    month_ends = pl.Series(cal.month_end[cal.offset : cal.total].astype(np.int32)).cast(pl.Date)
    all_month_ends = pl.Series(cal.month_end[: cal.total].astype(np.int32)).cast(pl.Date)
    return SimResult(
        config=config,
        seed=seed,
        months=months,
        borrowers=borrowers,
        contacts=contacts,
        loans=loans_df,
        schedules=sched.select(
            "loan_id", "seq", "due_date", "principal_due", "interest_due", "fee_due"
        ),
        transactions=_transactions(raw, loan_ids, book),
        loan_marks=_marks(raw, loan_ids, cal, book),
        truth=_by_month(raw.truth, loan_ids, month_ends),
        monthly=_monthly(raw, loan_ids, month_ends),
        treatments=_treatments(raw, loan_ids, all_month_ends),
    )


def _concat(
    parts: dict[str, list[np.ndarray]], names: list[str], dtypes: Mapping[str, Any]
) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame({k: np.zeros(0, dtype=dtypes[k]) for k in names})
    return pl.DataFrame({k: np.concatenate(parts[k]).astype(dtypes[k]) for k in names})


def _transactions(raw: engine.EngineOutput, loan_ids: pl.Series, book: Book) -> pl.DataFrame:
    """Transactions by loan and value date. ``txn_id`` = loan number, month and slot
    (0 failed debit, 1 repayment, 2 payoff, 3 litigation recovery, 4
    write-off): unique because a
    loan has at most one event per slot in a month."""
    cols = ["loan", "type", "amount", "day", "channel", "month"]
    dtypes = {
        "loan": np.int32,
        "type": np.int8,
        "amount": np.int64,
        "day": np.int32,
        "channel": np.int8,
        "month": np.int16,
    }
    frame = _concat(raw.txn, cols, dtypes).sort(
        ["loan", "day", "type"], descending=[False, False, True]
    )
    kind, channel = frame["type"].to_numpy(), frame["channel"].to_numpy()
    slot = np.select([kind == 1, kind == 2, channel == 2, channel == 4], [0, 4, 2, 3], 1)
    code = (frame["month"].to_numpy().astype(np.int64) + 1) * 10 + slot
    return pl.DataFrame(
        {
            "txn_id": "T"
            + pl.Series(frame["loan"] + 1).cast(pl.String).str.zfill(book.width)
            + "-"
            + pl.Series(code).cast(pl.String).str.zfill(4),
            "loan_id": loan_ids.gather(frame["loan"]),
            "type": pl.Series(engine.TXN_TYPES).gather(frame["type"]),
            "amount": frame["amount"],
            "value_date": frame["day"].cast(pl.Date),
            "channel": pl.Series(engine.CHANNELS).gather(frame["channel"]),
        }
    )


def _events(raw: engine.EngineOutput) -> pl.DataFrame:
    dtypes = {"loan": np.int32, "kind": np.int8, "month": np.int16}
    return _concat(raw.events, ["loan", "kind", "month"], dtypes).sort(["loan", "month", "kind"])


def _marks(
    raw: engine.EngineOutput, loan_ids: pl.Series, cal: SimCalendar, book: Book
) -> pl.DataFrame:
    ev = _events(raw).filter(pl.col("kind") == 1)
    start = pl.Series(cal.month_start[ev["month"].to_numpy()].astype(np.int32)).cast(pl.Date)
    return pl.DataFrame(
        {
            "mark_id": "R"
            + pl.Series(ev["loan"] + 1).cast(pl.String).str.zfill(book.width)
            + "-"
            + (ev["month"] + 1).cast(pl.String).str.zfill(3),
            "loan_id": loan_ids.gather(ev["loan"]),
            "kind": pl.repeat("restructured", ev.height, eager=True, dtype=pl.String),
            "start_date": start,
            "end_date": pl.Series([None] * ev.height, dtype=pl.Date),
            "note": pl.repeat(
                "simulated restructuring offer accepted", ev.height, eager=True, dtype=pl.String
            ),
        }
    )


def _by_month(
    parts: list[pl.DataFrame], loan_ids: pl.Series, month_ends: pl.Series
) -> pl.DataFrame:
    frame = pl.concat(parts)
    return frame.select(
        loan_ids.gather(frame["loan"]).alias("loan_id"),
        month_ends.gather(frame["month"]).alias("as_of"),
        *[c for c in frame.columns if c not in ("loan", "month")],
    )


def _monthly(raw: engine.EngineOutput, loan_ids: pl.Series, month_ends: pl.Series) -> pl.DataFrame:
    frame = pl.concat(raw.monthly, rechunk=False)
    out = _by_month([frame], loan_ids, month_ends)
    bucket = _buckets(frame["dpd"].to_numpy())
    bucket = pl.select(
        pl.when(frame["charged_off"]).then(pl.lit("WO")).otherwise(bucket)
    ).to_series()
    return out.with_columns(pl.Series("month_index", frame["month"]), bucket.alias("bucket"))


_BUCKET_LABELS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]


def _buckets(dpd: np.ndarray) -> pl.Series:
    """postloan's default buckets: M0 = 0, M1 = 1–30, …, M6 = 151–180, M7+ over 180."""
    k = np.minimum((dpd + 29) // 30, 7)
    return pl.Series(_BUCKET_LABELS, dtype=pl.String).gather(k)


def _treatments(
    raw: engine.EngineOutput, loan_ids: pl.Series, month_ends: pl.Series
) -> pl.DataFrame:
    ev = _events(raw)
    return pl.DataFrame(
        {
            "loan_id": loan_ids.gather(ev["loan"]),
            "as_of": month_ends.gather(ev["month"]),
            "event": pl.Series(engine.TREATMENTS, dtype=pl.String).gather(ev["kind"]),
        }
    )
