"""Schemathesis against the OpenAPI document with a seeded database (issue 8 acceptance).

Every operation of ``/openapi.json`` is called with schema-derived requests (valid
and invalid, a bounded and derandomized number per operation) as a user who can read
most things (a risk manager, then a collector with a data scope). Each response must
be a documented status, match its documented schema and content type, and never be a
5xx. Idempotency-Key headers are generated from the spec like any other parameter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from api_fixtures import T0, Api, make_api, seed_case, seed_loan, seed_people
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import insert, text

from postloan.domain.errors import ConfigError
from postloan.store.tables_risk import Alert

EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# the web UI's HTML pages and form posts are tested by the browser tests
NOT_API = r"^/(?!api/v1/)"


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 8,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "no-shrink": True,
                "with-security-parameters": False,
            },
        }
    )


def _seed(api: Api) -> None:
    with api.store.begin() as conn:
        seed_people(conn)
        for k, officer in enumerate(["lo", "lo2", "lo"], start=1):
            seed_loan(conn, f"L{k}", f"B{k}", officer=officer)
            conn.execute(
                text("INSERT INTO borrowers (borrower_id, name) VALUES (:b, :n)"),
                {"b": f"B{k}", "n": f"借款人{k}"},
            )
        seed_case(conn, "B1", "L1", "co")
        seed_case(conn, "B2", "L2", "co2")
        for k in (1, 2):
            conn.execute(
                insert(Alert).values(
                    alert_key=f"st-{k}",
                    rule_id="dpd_entry",
                    loan_id=f"L{k}",
                    borrower_id=f"B{k}",
                    business_date=date(2026, 11, 28),
                    severity="high",
                    owner_role="loan_officer",
                    state="new",
                    version=1,
                    sla_due_at=T0,
                    created_at=T0,
                    updated_at=T0,
                )
            )


@pytest.fixture
def seeded(database_url: str) -> Iterator[Api]:
    for built in make_api(database_url):
        _seed(built)
        yield built


KNOWN_IDS: dict[str, Any] = {
    "case_id": 1,
    "loan_id": "L1",
    "borrower_id": "B1",
    "alert_id": 1,
    "username": "co",
    "approval_id": 1,
    "concession_id": 1,
    "legal_id": 1,
    "agency_id": "AG1",
    "model_id": "m1",
    "version": "v1",
}

# events on seeded loans and cases, with generated Idempotency-Keys (the seeded loans
# have no generated schedule, so a payment may end in a documented 422)
KNOWN_BODIES: dict[str, Any] = {
    "/api/v1/payments": {"loan_id": "L1", "amount_minor": 12_345},
    "/api/v1/failed-debits": {"loan_id": "L2", "amount_minor": 50_000},
    "/api/v1/contact-results": {"case_id": 1, "outcome": "no_answer", "expected_version": 1},
}


def _run_operation(
    op: Any, headers: dict[str, str], failures: list[str], statuses: Counter[int], full: bool
) -> int:
    """Positive cases on seeded ids, then (``full``) positive and negative generated ones."""
    names = {p.name for p in op.path_parameters}
    strategies = [
        op.as_strategy(GenerationMode.POSITIVE, path_parameters={n: KNOWN_IDS[n] for n in names})
    ]
    if full:
        strategies[1:] = [
            op.as_strategy(m) for m in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        strategies = strategies[int(not names) :]
    if op.path in KNOWN_BODIES:
        strategies.append(op.as_strategy(GenerationMode.POSITIVE, body=KNOWN_BODIES[op.path]))
    calls = 0

    for strategy in strategies:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            try:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                statuses[response.status_code] += 1
            except AssertionError as err:  # a failed check: keep going, report all at the end
                failures.append(f"{op.label}: {str(err).strip()[:600]}")
            except BaseExceptionGroup as err:  # schemathesis's grouped check failures
                failures.append(f"{op.label}: {type(err).__name__}: {str(err).strip()[:600]}")

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert strategy is strategies[-1], op.label
    return calls


@pytest.mark.parametrize(("username", "full"), [("rm", True), ("co", False), ("su", False)])
def test_every_operation_conforms(seeded: Api, username: str, full: bool) -> None:
    """No 5xx, only documented status codes, bodies match their schema (as ``username``).

    The risk manager gets valid and invalid requests; the collector (data scope, fewer
    permissions) valid ones on the seeded objects, their own and another's; the
    supervisor also posts payments and failed debits on seeded loans with generated
    Idempotency-Keys.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", seeded.client.app, config=_config())
    schema = schema.exclude(path_regex=NOT_API if full else NOT_API + "|^/api/v1/(auth|users)")
    headers = {**seeded.auth(username), "Accept-Language": "en"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    calls = operations = 0
    for result in schema.get_all_operations():
        operations += 1
        calls += _run_operation(result.ok(), headers, failures, statuses, full)
    assert operations >= 50 if full else operations >= 40, operations
    assert calls >= operations * (EXAMPLES if full else 1), calls
    assert statuses[200] >= 30, statuses  # the seeded objects were reached, not only 4xx
    assert not failures, "\n\n".join(sorted(set(failures)))


def test_a_server_error_fails_the_run(seeded: Api) -> None:
    """The harness itself: a 5xx is reported (a handled error's 500 response as a check
    failure; a crash propagates out of the run), never swallowed."""
    app = seeded.client.app

    @app.get("/api/v1/boom")  # type: ignore[attr-defined, misc]
    def boom() -> dict[str, str]:
        raise ConfigError("misconfigured on purpose")  # mapped to a 500 response

    @app.get("/api/v1/crash")  # type: ignore[attr-defined, misc]
    def crash() -> dict[str, str]:
        raise RuntimeError("crash")

    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config())
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.include(path="/api/v1/boom").get_all_operations():
        _run_operation(result.ok(), seeded.auth("rm"), failures, statuses, False)
    assert any("Server error" in f for f in failures), (statuses, failures)
    with pytest.raises(RuntimeError, match="crash"):
        for result in schema.include(path="/api/v1/crash").get_all_operations():
            _run_operation(result.ok(), seeded.auth("rm"), [], Counter(), False)
