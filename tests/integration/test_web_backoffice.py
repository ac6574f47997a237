# ruff: noqa: F811  (the `web` fixture is imported from test_web_pages)
"""The case page's back-office forms over HTTP: write-off maker-checker, legal cases,
agency placements — permissions, localised mistakes, escaping and the HTMX swap."""

from __future__ import annotations

import re
from datetime import date

from api_fixtures import Api
from sqlalchemy import text
from test_web_pages import XSS, case_id, htmx, login, web  # noqa: F401  (web: a fixture)

from postloan.collections.agencies import register_agency


def _approval_state(api: Api, approval_id: int) -> str:
    with api.store.begin() as conn:
        return str(
            conn.execute(
                text("SELECT state FROM approvals WHERE id = :id"), {"id": approval_id}
            ).scalar_one()
        )


def test_writeoff_is_proposed_by_a_supervisor_and_approved_by_a_risk_manager(web: Api) -> None:
    cid = case_id(web)
    csrf = login(web, "co")
    page = web.client.get(f"/cases/{cid}")
    assert 'id="writeoff-form"' not in page.text  # a collector may not propose one
    refused = web.client.post(
        f"/cases/{cid}/write-offs", data={"loan_id": "L001", "reason": "x"}, headers=htmx(csrf)
    )
    assert "您的角色无权执行此操作" in refused.text

    csrf = login(web, "su")
    assert 'id="writeoff-form"' in web.client.get(f"/cases/{cid}").text
    missing = web.client.post(
        f"/cases/{cid}/write-offs", data={"loan_id": "L001", "reason": " "}, headers=htmx(csrf)
    )
    assert "核销须填写理由" in missing.text
    outside = web.client.post(
        f"/cases/{cid}/write-offs?lang=en",
        data={"loan_id": "L999", "reason": "x"},
        headers=htmx(csrf),
    )
    assert f"Loan L999 is not part of case {cid}" in outside.text
    done = web.client.post(
        f"/cases/{cid}/write-offs",
        data={"loan_id": "L001", "reason": "uncollectable " + XSS},
        headers=htmx(csrf),
    )
    assert done.status_code == 200
    assert 'id="case-work"' in done.text  # the HTMX swap target comes back
    found = re.search(r"审批号 (\d+)", done.text)
    assert found is not None, done.text[:500]
    approval_id = int(found.group(1))
    assert _approval_state(web, approval_id) == "pending"

    login(web, "su")
    assert f'id="approval-{approval_id}"' not in web.client.get("/approvals").text  # maker
    csrf = login(web, "rm")
    waiting = web.client.get("/approvals")
    assert f'id="approval-{approval_id}"' in waiting.text
    assert "<script>alert(1)</script>" not in waiting.text
    web.client.post(f"/approvals/{approval_id}/approve", data={"reason": "ok"}, headers=htmx(csrf))
    assert _approval_state(web, approval_id) in ("approved", "applied")


def test_legal_officer_opens_and_advances_a_legal_case(web: Api) -> None:
    cid = case_id(web)
    csrf = login(web, "le")
    page = web.client.get(f"/cases/{cid}")
    assert 'id="legal-form"' in page.text
    opened = web.client.post(
        f"/cases/{cid}/legal",
        data={"loan_id": "L001", "court": XSS, "lawyer": "Li", "firm": "", "cost": "300"},
        headers=htmx(csrf),
    )
    assert "已转诉讼" in opened.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in opened.text
    assert "<script>alert(1)</script>" not in opened.text
    with web.store.begin() as conn:
        legal_id, version, cost, court = conn.execute(
            text("SELECT legal_id, version, cost, court FROM legal_cases WHERE loan_id = 'L001'")
        ).one()
    assert (cost, court) == (30000, XSS)
    again = web.client.post(f"/cases/{cid}/legal", data={"loan_id": "L001"}, headers=htmx(csrf))
    assert f"已在诉讼中（诉讼案件 {legal_id}）" in again.text

    skip = web.client.post(
        f"/cases/{cid}/legal/{legal_id}/advance",
        data={"version": version, "to_state": "judgment"},
        headers=htmx(csrf),
    )
    assert "不能推进到 judgment" in skip.text
    bad_cost = web.client.post(
        f"/cases/{cid}/legal/{legal_id}/advance?lang=en",
        data={"version": version, "to_state": "filed", "cost": "12.345"},
        headers=htmx(csrf),
    )
    assert "at most two decimals" in bad_cost.text
    filed = web.client.post(
        f"/cases/{cid}/legal/{legal_id}/advance",
        data={"version": version, "to_state": "filed", "cost": "50", "note": "<b>filed</b>"},
        headers=htmx(csrf),
    )
    assert "已推进到：已立案" in filed.text
    assert "&lt;b&gt;filed&lt;/b&gt;" in filed.text
    stale = web.client.post(
        f"/cases/{cid}/legal/{legal_id}/advance",
        data={"version": version, "to_state": "hearing"},
        headers=htmx(csrf),
    )
    assert "刷新页面" in stale.text
    too_much = web.client.post(
        f"/cases/{cid}/legal/{legal_id}/recoveries",
        data={"amount": "99999999"},
        headers=htmx(csrf),
    )
    assert "超过贷款当前欠款" in too_much.text
    with web.store.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM collection_recoveries")).scalar_one() == 0
    posted = web.client.post(
        f"/cases/{cid}/legal/{legal_id}/recoveries", data={"amount": "10"}, headers=htmx(csrf)
    )
    assert "已登记回款并入账" in posted.text
    with web.store.begin() as conn:
        assert conn.execute(text("SELECT SUM(amount) FROM collection_recoveries")).scalar() == 1000


def test_agency_placement_and_recall_and_who_may(web: Api) -> None:
    cid = case_id(web)
    with web.store.begin() as conn:
        register_agency(
            conn,
            agency_id="AG1",
            name="East Recoveries",
            commission_rate="0.15",
            actor="le",
            listed_on=date(2026, 11, 1),
        )
    csrf = login(web, "au")
    page = web.client.get(f"/cases/{cid}")
    assert 'data-testid="back-office"' in page.text and 'id="placement-form"' not in page.text
    refused = web.client.post(
        f"/cases/{cid}/placements",
        data={"loan_id": "L001", "agency_id": "AG1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403

    csrf = login(web, "le")
    unlisted = web.client.post(
        f"/cases/{cid}/placements",
        data={"loan_id": "L001", "agency_id": "NOPE"},
        headers=htmx(csrf),
    )
    assert "不在委外名录中" in unlisted.text
    placed = web.client.post(
        f"/cases/{cid}/placements",
        data={"loan_id": "L001", "agency_id": "AG1"},
        headers=htmx(csrf),
    )
    assert "已委外给 AG1" in placed.text
    with web.store.begin() as conn:
        placement_id, version = conn.execute(
            text("SELECT placement_id, version FROM agency_placements")
        ).one()
    twice = web.client.post(
        f"/cases/{cid}/placements",
        data={"loan_id": "L001", "agency_id": "AG1"},
        headers=htmx(csrf),
    )
    assert "已委外" in twice.text and "请先收回" in twice.text
    page = web.client.get(f"/cases/{cid}").text
    assert f'hx-post="/cases/{cid}/placements/{placement_id}/collections"' in page
    nothing = web.client.post(
        f"/cases/{cid}/placements/{placement_id}/collections",
        data={"amount": "0"},
        headers=htmx(csrf),
    )
    assert "金额须大于 0" in nothing.text
    too_much = web.client.post(
        f"/cases/{cid}/placements/{placement_id}/collections",
        data={"amount": "99999999"},
        headers=htmx(csrf),
    )
    assert too_much.headers["HX-Retarget"] == "#flash"
    collected = web.client.post(
        f"/cases/{cid}/placements/{placement_id}/collections",
        data={"amount": "200.00", "reference": "AG1-2026-11-001"},
        headers=htmx(csrf),
    )
    assert f"已入账委外 {placement_id} 的回收" in collected.text
    with web.store.begin() as conn:
        amount, cost, source = conn.execute(
            text("SELECT amount, cost, source FROM collection_recoveries")
        ).one()
        placed_row = conn.execute(text("SELECT collected, commission FROM agency_placements")).one()
    assert (amount, cost, source) == (20000, 3000, "agency")  # 15% commission
    assert tuple(placed_row) == (20000, 3000)
    recalled = web.client.post(
        f"/cases/{cid}/placements/{placement_id}/recall",
        data={"version": version},
        headers=htmx(csrf),
    )
    assert f"已收回委外 {placement_id}" in recalled.text
    with web.store.begin() as conn:
        assert conn.execute(text("SELECT state FROM agency_placements")).scalar_one() == "recalled"


def test_the_auditor_changes_nothing_through_the_back_office_forms(web: Api) -> None:
    cid = case_id(web)
    with web.store.begin() as conn:
        register_agency(
            conn,
            agency_id="AG1",
            name="East Recoveries",
            commission_rate="0.15",
            actor="le",
            listed_on=date(2026, 11, 1),
        )
    for who in ("au", "co"):
        csrf = login(web, who)
        page = web.client.get(f"/cases/{cid}").text
        for form in ("writeoff-form", "legal-form", "placement-form"):
            assert f'id="{form}"' not in page, (who, form)
        attempts = {
            f"/cases/{cid}/write-offs": {"loan_id": "L001", "reason": "x"},
            f"/cases/{cid}/legal": {"loan_id": "L001", "court": "c"},
            f"/cases/{cid}/legal/1/advance": {"version": "1", "to_state": "filed"},
            f"/cases/{cid}/legal/1/recoveries": {"amount": "1"},
            f"/cases/{cid}/placements": {"loan_id": "L001", "agency_id": "AG1"},
            f"/cases/{cid}/placements/1/recall": {"version": "1"},
            f"/cases/{cid}/placements/1/collections": {"amount": "1"},
        }
        for path, form_data in attempts.items():
            response = web.client.post(path, data=form_data, headers={"X-CSRF-Token": csrf})
            assert response.status_code == 403, (who, path, response.status_code)
    with web.store.begin() as conn:
        for table in ("approvals", "legal_cases", "agency_placements", "collection_recoveries"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() == 0, table


def test_every_composed_text_key_exists() -> None:
    """Keys the templates and the back office build at run time (``"legal." ~ state``)."""
    import inspect

    from postloan.analytics.kpis import CUT_FIELDS
    from postloan.collections.states import LegalState, PlacementState
    from postloan.web import backoffice, routes
    from postloan.web.i18n import TEXT

    keys = {f"legal.{s.value}" for s in LegalState} | {
        f"placement.{s.value}" for s in PlacementState
    }
    keys |= {f"mon.band.{b}" for b in ("stable", "watch", "shift")}
    keys |= {f"dash.cut.{c}" for c in CUT_FIELDS}
    for module in (backoffice, routes):
        keys |= set(re.findall(r'UserMistake\(\s*"([a-z_.]+)"', inspect.getsource(module)))
    assert any(k.startswith("bo.err.") for k in keys)
    assert keys <= set(TEXT), sorted(keys - set(TEXT))


def test_the_agency_register_page_lists_and_delists_agencies(web: Api) -> None:
    """Legal lists an agency (a bad rate or a taken id is refused, audited when done) and
    delists it; the auditor reads the register but has no forms and may not post."""
    csrf = login(web, "le")
    page = web.client.get("/agencies")
    assert page.status_code == 200 and 'id="agency-form"' in page.text
    bad_rate = web.client.post(
        "/agencies",
        data={"agency_id": "AG9", "name": "Nine", "commission_rate": "1.5"},
        headers=htmx(csrf),
    )
    assert bad_rate.headers["HX-Retarget"] == "#flash" and "[0, 1)" in bad_rate.text
    listed = web.client.post(
        "/agencies",
        data={"agency_id": "AG9", "name": XSS, "commission_rate": "0.125"},
        headers=htmx(csrf),
    )
    assert "已登记委外机构 AG9" in listed.text and 'id="agency-AG9"' in listed.text
    assert XSS not in listed.text and "&lt;script&gt;" in listed.text
    assert "12.50%" in listed.text
    again = web.client.post(
        "/agencies",
        data={"agency_id": "AG9", "name": "Nine", "commission_rate": "0.1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert again.status_code == 409
    delisted = web.client.post("/agencies/AG9/delist", headers=htmx(csrf))
    assert "已将 AG9 移出名录" in delisted.text
    row = delisted.text[delisted.text.index('id="agency-AG9"') :].split("</tr>")[0]
    assert "<form" not in row
    with web.store.begin() as conn:
        actions = conn.execute(
            text("SELECT action FROM audit_entries WHERE object_id = 'AG9' ORDER BY id")
        ).scalars()
        assert list(actions) == ["agency.register", "agency.delist"]
    csrf = login(web, "au")
    page = web.client.get("/agencies")
    assert page.status_code == 200 and 'id="agency-AG9"' in page.text
    assert 'id="agency-form"' not in page.text
    for path, form in {
        "/agencies": {"agency_id": "AG8", "name": "x", "commission_rate": "0.1"},
        "/agencies/AG9/delist": {},
    }.items():
        refused = web.client.post(path, data=form, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403, path
    csrf = login(web, "co")
    assert web.client.get("/agencies").status_code == 403
