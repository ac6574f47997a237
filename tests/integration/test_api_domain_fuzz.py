"""Random input against the domain endpoints: never a 5xx, always the error shape.

Like test_api_fuzz, but the bodies and query strings use the domain endpoints'
own field names (amounts, dates, versions, states, strategy texts), so the
draws get past request validation into the services.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from api_fixtures import Api, make_api, seed_case, seed_loan, seed_people
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api_permissions import seed_domain

FIELDS = [
    "loan_id",
    "amount_minor",
    "value_date",
    "channel",
    "case_id",
    "outcome",
    "expected_version",
    "note",
    "task_id",
    "to_state",
    "reason",
    "promised_date",
    "collector",
    "text",
    "date",
]
QUERY = [
    "page",
    "size",
    "state",
    "phone",
    "national_id",
    "region",
    "min_dpd",
    "from",
    "to",
    "date",
    "unmask",
    "type",
    "kind",
    "bucket",
]
DATES = st.dates().map(lambda d: d.isoformat())
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(0, 3),
    st.text(max_size=60),
    DATES,
    st.sampled_from(
        [
            "L-LO",
            "contacted",
            "right_party",
            "promise",
            "co",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "version: x\nsegments: []\n",
            "[: bad",
            "- a\n- b\n",
        ]
    ),
)
BODIES = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6)
QUERIES = st.dictionaries(
    st.sampled_from(QUERY),
    st.one_of(st.text(min_size=1, max_size=20), st.integers(-5, 10**7).map(str), DATES),
    max_size=3,
)
PARAMS = st.one_of(
    st.sampled_from(["L-LO", "B1", "1", "2", "AG1", "default-1"]),
    st.text(min_size=1, max_size=30),
    st.integers(-(2**40), 2**40).map(str),
)
OWN_PREFIXES = (
    "/api/v1/borrowers",
    "/api/v1/loans",
    "/api/v1/payments",
    "/api/v1/failed-debits",
    "/api/v1/contact-results",
    "/api/v1/alerts",
    "/api/v1/cases",
    "/api/v1/tasks",
    "/api/v1/promises",
    "/api/v1/restructurings",
    "/api/v1/legal-cases",
    "/api/v1/agencies",
    "/api/v1/strategies",
    "/api/v1/models",
    "/api/v1/kpis",
)


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    for built in make_api(database_url):
        with built.store.begin() as conn:
            seed_people(conn)
            seed_loan(conn, "L-LO", "B1", officer="lo")
            seed_case(conn, "B1", "L-LO", collector="co")
            seed_domain(conn)
        yield built


def _operations(api: Api) -> list[tuple[str, str]]:
    spec = api.client.get("/openapi.json").json()
    return sorted(
        (m.upper(), p)
        for p, ops in spec["paths"].items()
        for m in ops
        if p.startswith(OWN_PREFIXES)
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_server_errors_on_random_domain_input(api: Api, data: st.DataObject) -> None:
    method, template = data.draw(st.sampled_from(_operations(api)))
    path = template
    while "{" in path:
        head, _, rest = path.partition("{")
        _, _, tail = rest.partition("}")
        path = head + quote(data.draw(PARAMS), safe="") + tail
    query = data.draw(QUERIES)
    if query:
        path += "?" + urlencode(query)
    user = data.draw(st.sampled_from(["su", "co", "rm", "lo", "au"]))
    headers = dict(api.auth(user))
    kwargs: dict[str, Any] = {"headers": headers}
    if method == "POST":
        kwargs["json"] = data.draw(BODIES)
        if data.draw(st.booleans()):
            headers["Idempotency-Key"] = data.draw(
                st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable() and s.isascii())
            )
    response = api.client.request(method, path, **kwargs)
    assert response.status_code < 500, (method, path, kwargs, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "details"}
