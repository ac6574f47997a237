"""A small but real book for the browser tests: the sample feeds imported, a week of
close of business run (so cases, KPIs and snapshots exist), one user per role,
cases given to two collectors, a pending waiver and an open alert."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from postloan.batch.pipeline import run_range
from postloan.collections import service
from postloan.collections.concessions import propose_waiver
from postloan.commands.demo import sample_feeds_dir
from postloan.config import load_settings
from postloan.feeds.importer import import_directory
from postloan.security.config import load_security_policy
from postloan.security.users import add_user
from postloan.store import Store, open_store
from postloan.store.tables_risk import Alert

PASSWORD = "correct-horse-9"
USERS = {
    "col_a": "collector",
    "col_b": "collector",
    "sup": "supervisor",
    "risk": "risk_manager",
    "aud": "auditor",
    "adm": "admin",
    "off": "loan_officer",
    "law": "legal",
}
CHEAP_ARGON2 = """security:
  argon2_time_cost: 1
  argon2_memory_kib: 64
  argon2_parallelism: 1
  login_attempts_per_minute: 1000
"""
FIRST_DAY = date(2026, 10, 1)
DAYS = 4
T0 = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)


def _activate_a_model(store: Store) -> str:
    """A small B-score trained on older loans than the sample book's (its PSI shifts)."""
    import numpy as np
    import polars as pl

    from postloan.risk import registry
    from postloan.risk.models import train

    rng = np.random.default_rng(3)
    n = 2000
    dpd = rng.choice([0, 0, 0, 0, 3, 10, 25], size=n)
    frame = pl.DataFrame(
        {
            "dpd": dpd,
            "max_dpd_12m": dpd + rng.choice([0, 5, 40], size=n),
            "months_on_book": rng.integers(20, 60, n),
            "bad": rng.uniform(size=n) < 1 / (1 + np.exp(3 - 0.08 * dpd)),
        }
    )
    model = train(frame, "bad", kind="lgbm", purpose="bscore", params={"num_boost_round": 20})
    model_id = registry.register(
        store.settings, model, training_window=None, data_hash="seed", metrics={}, params={}
    )
    registry.activate(store.settings, model_id, user="risk")
    return model_id


def seed(home: Path) -> dict[str, int]:
    """Fill the store of ``$POSTLOAN_HOME`` (= ``home``); returns ids the tests use."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(CHEAP_ARGON2, encoding="utf-8")
    settings = load_settings()
    store = open_store(settings)
    try:
        import_directory(sample_feeds_dir(), store)
        _activate_a_model(store)  # so the close of business records its monitoring
        run_range(store, [FIRST_DAY + timedelta(days=i) for i in range(DAYS)])
        policy = load_security_policy(settings)
        on = FIRST_DAY + timedelta(days=DAYS - 1)
        with store.begin() as conn:
            for name, role in USERS.items():
                add_user(
                    conn,
                    username=name,
                    role=role,
                    password=PASSWORD,
                    team="east",
                    policy=policy,
                    now=T0,
                )
            cases = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT case_id FROM collection_cases WHERE closed_on IS NULL "
                        "ORDER BY case_id"
                    )
                )
            ]
            for i, case_id in enumerate(cases):
                case = service.get_case(conn, case_id)
                service.assign(
                    conn,
                    case_id,
                    "col_a" if i % 2 == 0 else "col_b",
                    expected_version=case.version,
                    actor="sup",
                    role="supervisor",
                )
            waiver_loan, waiver_case, waiver_collector = conn.execute(
                text(
                    "SELECT s.loan_id, c.case_id, c.assigned_to FROM loan_state_current s "
                    "JOIN collection_case_loans cl ON cl.loan_id = s.loan_id "
                    "JOIN collection_cases c ON c.case_id = cl.case_id "
                    "WHERE s.penalty_outstanding > 1000 AND c.closed_on IS NULL "
                    "ORDER BY s.loan_id LIMIT 1"
                )
            ).one()
            waiver = propose_waiver(
                conn,
                loan_id=waiver_loan,
                kind="penalty",
                amount=100,
                maker=waiver_collector,
                business_date=on,
                reason="goodwill",
            )
            loan = conn.execute(select(text("loan_id")).select_from(text("loans"))).scalar()
            conn.execute(
                insert(Alert).values(
                    alert_key=f"seed:{loan}",
                    rule_id="dpd_jump",
                    loan_id=loan,
                    business_date=on,
                    severity="high",
                    owner_role="risk_manager",
                    state="new",
                    version=1,
                    sla_due_at=T0 + timedelta(days=1),
                    detail=json.dumps({"dpd": 31}),
                    created_at=T0,
                    updated_at=T0,
                )
            )
        return {"cases": len(cases), "waiver": waiver, "waiver_case": int(waiver_case)}
    finally:
        store.close()
