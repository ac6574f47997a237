"""A payment posted through the API and then booked by the core system's feed is
counted once: the core row replaces the provisional one."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.feeds.reconcile import match_provisional
from postloan.store import Store
from postloan.store.tables import Transaction
from postloan.store.tables_audit import AuditEntry

TXNS = Transaction.__table__
D = date(2026, 10, 20)


def _provisional(store: Store, txn_id: str, amount: int, on: date) -> None:
    with store.begin() as conn:
        conn.execute(
            insert(TXNS).values(
                txn_id=txn_id,
                loan_id="L00001",
                type="repayment",
                amount=amount,
                value_date=on,
                channel="api",
            )
        )


def _feed(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    header = "txn_id,loan_id,type,amount,value_date,channel,reverses\n"
    (folder / "transactions.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return folder


def _ids(store: Store) -> set[str]:
    with store.begin() as conn:
        return set(
            conn.execute(
                select(TXNS.c.txn_id).where(
                    TXNS.c.txn_id.startswith("API-") | TXNS.c.txn_id.startswith("T9")
                )
            ).scalars()
        )


def test_the_core_feed_confirms_an_api_payment_once(store: Store, tmp_path: Path) -> None:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    _provisional(store, "API-aaa", 77_128, D)
    _provisional(store, "API-bbb", 5_000, D)  # the core never books this one (yet)
    feed = _feed(
        tmp_path / "day1",
        [
            "T9000001,L00001,repayment,771.28,2026-10-21,core,",  # a day later: still the same
            "T9000002,L00001,repayment,771.28,2026-10-22,core,",  # a second payment
        ],
    )
    assert import_directory(feed, store).rejected == 0
    assert _ids(store) == {"API-bbb", "T9000001", "T9000002"}
    with store.begin() as conn:
        audit = conn.execute(
            select(AuditEntry.object_id, AuditEntry.action, AuditEntry.entry).where(
                AuditEntry.action == "transaction.confirmed_by_core"
            )
        ).all()
    assert [(a.object_id, a.action) for a in audit] == [
        ("API-aaa", "transaction.confirmed_by_core")
    ]
    assert "T9000001" in audit[0].entry
    # the same file again, or a later file repeating the row, changes nothing
    assert import_directory(feed, store, force=True).rejected == 0
    assert _ids(store) == {"API-bbb", "T9000001", "T9000002"}


def test_a_core_payment_too_late_or_of_another_amount_is_another_payment(
    store: Store, tmp_path: Path
) -> None:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    _provisional(store, "API-ccc", 77_128, D)
    feed = _feed(
        tmp_path / "day2",
        [
            "T9000003,L00001,repayment,771.28,2026-10-24,core,",  # 4 days later
            "T9000004,L00001,repayment,771.29,2026-10-20,core,",  # another amount
            "T9000005,L00001,repayment,771.28,2026-10-19,core,",  # before the API's
        ],
    )
    assert import_directory(feed, store).rejected == 0
    assert _ids(store) == {"API-ccc", "T9000003", "T9000004", "T9000005"}


_rows = st.lists(
    st.tuples(st.sampled_from(["L1", "L2"]), st.sampled_from([100, 200]), st.integers(0, 6)),
    max_size=8,
)


def _frame(prefix: str, rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "txn_id": [f"{prefix}{i}" for i in range(len(rows))],
            "loan_id": [r[0] for r in rows],
            "type": ["repayment"] * len(rows),
            "amount": [r[1] for r in rows],
            "value_date": [D + timedelta(days=r[2]) for r in rows],
        },
        schema={
            "txn_id": pl.Utf8,
            "loan_id": pl.Utf8,
            "type": pl.Utf8,
            "amount": pl.Int64,
            "value_date": pl.Date,
        },
    )


@settings(max_examples=200, deadline=None)
@given(api=_rows, core=_rows)
def test_matching_is_one_to_one_within_the_window(
    api: list[tuple[str, int, int]], core: list[tuple[str, int, int]]
) -> None:
    provisional, incoming = _frame("API-", api), _frame("T", core)
    pairs = match_provisional(incoming, provisional, window_days=3)
    assert len({a for a, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
    by_id = {r["txn_id"]: r for r in pl.concat([provisional, incoming]).iter_rows(named=True)}
    for a, c in pairs:
        pa, pc = by_id[a], by_id[c]
        assert (pa["loan_id"], pa["amount"]) == (pc["loan_id"], pc["amount"])
        assert pa["value_date"] <= pc["value_date"] <= pa["value_date"] + timedelta(days=3)
    # nothing left that could still pair up: an unmatched core row has no free partner
    used = {a for a, _ in pairs}
    matched = {c for _, c in pairs}
    for pc in incoming.iter_rows(named=True):
        if pc["txn_id"] in matched:
            continue
        for pa in provisional.iter_rows(named=True):
            if pa["txn_id"] in used:
                continue
            same = (pa["loan_id"], pa["amount"]) == (pc["loan_id"], pc["amount"])
            window = pa["value_date"] <= pc["value_date"] <= pa["value_date"] + timedelta(3)
            assert not (same and window)
