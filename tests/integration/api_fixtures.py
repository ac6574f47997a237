"""Helpers for the API tests: an app on the test store with a clock the test sets."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, text
from starlette.exceptions import StarletteDeprecationWarning

from postloan.api.app import create_app
from postloan.api.context import ApiContext
from postloan.config import load_settings
from postloan.security.users import User, add_user, get_user
from postloan.store import Store
from postloan.store.tables_collections import CollectionCase, CollectionCaseLoan

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 instead of httpx (not in requirements.lock yet)
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    client: TestClient
    clock: Clock
    ctx: ApiContext
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.ctx.store

    def token_for(self, username: str) -> str:
        with self.store.begin() as conn:
            user = get_user(conn, username)
        return self.ctx.signer.issue(
            user, kind="access", now=self.clock(), ttl=timedelta(minutes=60)
        )

    def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = self.token_for(username)
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def make_api(database_url: str) -> Iterator[Api]:
    del database_url  # the fixture has set POSTLOAN_DATABASE_URL
    clock = Clock()
    app = create_app(load_settings(), clock=clock)
    ctx: ApiContext = app.state.postloan
    try:
        yield Api(TestClient(app), clock, ctx)
    finally:
        ctx.store.close()


api_fixture = pytest.fixture(make_api, name="api")

ONE_PER_ROLE = {
    "lo": "loan_officer",
    "lo2": "loan_officer",
    "rm": "risk_manager",
    "rm2": "risk_manager",
    "co": "collector",
    "co2": "collector",
    "su": "supervisor",
    "le": "legal",
    "au": "auditor",
    "ad": "admin",
    "ad2": "admin",
}


def seed_people(conn: Connection) -> dict[str, User]:
    """One user per role (and a second of some), API-key/token only: no argon2 cost."""
    return {
        name: add_user(conn, username=name, role=role, password=None, team="east", now=T0)
        for name, role in ONE_PER_ROLE.items()
    }


def seed_loan(conn: Connection, loan_id: str, borrower_id: str, officer: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO loans (loan_id, borrower_id, product, principal, annual_rate, term, "
            "frequency, day_count, method, disbursement_date, officer_id, currency, "
            "fee_per_period) VALUES (:l, :b, 'cash', 1200000, '0.12', 12, 'monthly', "
            "'30/360', 'annuity', :d, :o, 'CNY', 0)"
        ),
        {"l": loan_id, "b": borrower_id, "d": date(2026, 1, 5), "o": officer},
    )


def seed_case(conn: Connection, borrower_id: str, loan_id: str, collector: str) -> int:
    case_id = conn.execute(
        insert(CollectionCase)
        .values(
            borrower_id=borrower_id,
            state="open",
            opened_on=date(2026, 11, 1),
            source="delinquency",
            assigned_to=collector,
            updated_by="system",
            updated_at=T0,
        )
        .returning(CollectionCase.case_id)
    ).scalar_one()
    conn.execute(
        insert(CollectionCaseLoan).values(
            case_id=case_id, loan_id=loan_id, added_on=date(2026, 11, 1)
        )
    )
    return int(case_id)


TEST_CONFIG = """security:
  argon2_time_cost: 1
  argon2_memory_kib: 64
  argon2_parallelism: 1
  lockout_threshold: 3
  lockout_minutes: 15
  login_attempts_per_minute: 8
  token_minutes: 30
"""


def write_test_config(home: Path) -> None:
    """Cheap argon2 and a short lockout for the tests (never for production)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(TEST_CONFIG, encoding="utf-8")
