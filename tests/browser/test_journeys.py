"""The main journeys of issue 8 in a real browser, plus XSS and the auditor's refusals."""

from __future__ import annotations

import re
import sqlite3

import pytest
from browsing import Server, Watched, shot
from playwright.sync_api import Page, expect
from seeding import PASSWORD

pytestmark = pytest.mark.browser

MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")
XSS = "<script>alert(1)</script> ' OR 1=1 --"


def login(page: Page, username: str, then: str = "/") -> None:
    page.goto(f"/login?next={then}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{then}")
    expect(page.get_by_test_id("whoami")).to_contain_text(username)


def csrf_of(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "postloan_csrf")


def test_collector_works_the_top_case(watched: Watched) -> None:
    page = watched.page
    login(page, "col_a", "/queue")
    first = page.locator("a.case-link").first
    case_url = first.get_attribute("href")
    first.click()
    page.wait_for_url(f"**{case_url}")
    phone = page.get_by_test_id("phone").inner_text().strip()
    assert MASKED_PHONE.match(phone), phone
    assert "*" in page.get_by_test_id("national-id").inner_text()
    expect(page.get_by_test_id("guard")).to_be_visible()
    shot(page, "collector-case")

    page.select_option("#contact-form select[name=outcome]", "right_party")
    page.fill("#contact-form input[name=note]", "borrower will pay on Friday")
    page.click("#contact-form button[type=submit]")
    expect(page.get_by_role("status").first).to_contain_text("已登记联系记录")
    expect(page.get_by_test_id("contacts")).to_contain_text("borrower will pay on Friday")

    page.fill("#promise-form input[name=amount]", "500.00")
    page.click("#promise-form button[type=submit]")
    expect(page.get_by_role("status").first).to_contain_text("已登记还款承诺")
    expect(page.get_by_test_id("promises")).to_contain_text("500.00")
    expect(page.get_by_test_id("promises")).to_contain_text("open")
    expect(page.get_by_test_id("case-state")).to_have_text("promise_to_pay")
    shot(page, "collector-promise")

    page.select_option("#restructuring-form select[name=kind]", "extension")
    page.fill("#restructuring-form input[name=periods]", "6")
    page.click("#restructuring-form button[type=submit]")
    expect(page.get_by_role("status").first).to_contain_text("已提交重组提议")
    assert not watched.dialogs


def test_stale_form_gets_a_friendly_conflict(watched: Watched) -> None:
    page = watched.page
    login(page, "col_b", "/queue")
    page.locator("a.case-link").first.click()
    page.wait_for_selector("#contact-form")
    # someone else moves the case: the form's version is now stale
    page.evaluate("document.querySelector('#promise-form input[name=version]').value = '1'")
    page.fill("#promise-form input[name=amount]", "100")
    page.click("#promise-form button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("刷新页面")


def test_xss_payload_in_a_note_is_shown_as_text(watched: Watched) -> None:
    page = watched.page
    login(page, "col_a", "/queue")
    page.locator("a.case-link").nth(1).click()
    page.wait_for_selector("#contact-form")
    page.fill("#contact-form input[name=note]", XSS)
    page.click("#contact-form button[type=submit]")
    note = page.get_by_test_id("contacts").locator("td.note").first
    expect(note).to_have_text(XSS)
    page.reload()
    expect(page.get_by_test_id("contacts").locator("td.note").first).to_have_text(XSS)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    assert page.locator("td.note script").count() == 0
    assert not watched.dialogs, watched.dialogs


def test_supervisor_approves_a_waiver(watched: Watched, server: Server) -> None:
    page = watched.page
    case_id = server.ids["waiver_case"]
    with sqlite3.connect(server.home / "postloan.db") as db:
        (collector,) = db.execute(
            "SELECT assigned_to FROM collection_cases WHERE case_id = ?", (case_id,)
        ).fetchone()
    login(page, collector, f"/cases/{case_id}")
    page.select_option("#waiver-form select[name=kind]", "penalty")
    page.fill("#waiver-form input[name=amount]", "1.00")
    page.fill("#waiver-form input[name=reason]", "first missed payment")
    page.click("#waiver-form button[type=submit]")
    status = page.get_by_role("status").first
    expect(status).to_contain_text("已提交减免提议")
    found = re.search(r"审批号 (\d+)", status.inner_text())
    assert found is not None
    proposed = int(found.group(1))
    page.context.clear_cookies()

    login(page, "sup", "/approvals")
    row = page.locator(f"#approval-{proposed}")
    expect(row).to_contain_text("waiver")
    expect(page.locator(f"#approval-{server.ids['waiver']}")).to_have_count(1)
    shot(page, "supervisor-approvals")
    row.locator("input[name=reason]").fill("checked the arrears")
    row.get_by_role("button", name="批准").click()
    expect(row).to_contain_text("已批准")
    page.reload()
    expect(page.locator(f"#approval-{proposed}")).to_have_count(0)
    with sqlite3.connect(server.home / "postloan.db") as db:
        (state,) = db.execute("SELECT state FROM approvals WHERE id = ?", (proposed,)).fetchone()
    assert state in ("approved", "applied")


def test_risk_manager_dry_runs_a_strategy(watched: Watched) -> None:
    page = watched.page
    login(page, "risk", "/")
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    expect(page.locator("#chart-rolls canvas")).to_have_count(1)
    shot(page, "risk-dashboard")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_contain_text("Portfolio dashboard")
    page.goto("/alerts")
    row = page.locator("tr[id^=alert-]").first
    alert_row = row.get_attribute("id")
    row.get_by_role("button", name="Acknowledge").click()
    expect(row).to_contain_text("Acknowledged")
    # the same alert, now acknowledged: closed with a note for the audit log
    page.goto("/alerts?state=acknowledged")
    row = page.locator(f"tr#{alert_row}")
    row.locator("select[name=target]").select_option("closed")
    row.locator("input[name=note]").fill("false alarm: paid at the branch")
    row.get_by_role("button", name="Update").click()
    expect(row).to_contain_text("The alert is now closed")
    page.goto("/strategy")
    page.click("#dry-run-form button[type=submit]")
    result = page.get_by_test_id("dry-run-result")
    expect(result).to_contain_text("loans considered")
    shot(page, "risk-dry-run")


def test_auditor_reads_everything_and_changes_nothing(watched: Watched, server: Server) -> None:
    page = watched.page
    login(page, "aud", "/queue")
    page.locator("a.case-link").first.click()
    page.wait_for_selector("[data-testid=borrower]")
    assert page.locator("#contact-form, #promise-form, #restructuring-form").count() == 0
    expect(page.get_by_text("只读")).to_be_visible()
    case_id = page.url.rstrip("/").rsplit("/", 1)[1]
    page.goto("/audit")
    page.get_by_role("button", name="校验完整性").click()
    expect(page.get_by_test_id("verify")).to_contain_text("校验通过")
    shot(page, "auditor-audit-log")
    page.goto("/approvals")
    assert page.locator("[data-testid=waiting] button").count() == 0

    # the server refuses every change, whatever the page shows
    headers = {"X-CSRF-Token": csrf_of(page)}
    attempts: dict[str, dict[str, str | float | bool]] = {
        f"/cases/{case_id}/contacts": {"version": "1", "outcome": "right_party"},
        f"/cases/{case_id}/promises": {
            "version": "1",
            "amount": "10",
            "promised_date": "2026-10-08",
        },
        f"/approvals/{server.ids['waiver'] + 100}/approve": {"reason": "x"},
        "/users": {"username": "mallory", "role": "admin", "password": "long-enough-1"},
        "/alerts/1/ack": {"version": "1"},
    }
    for path, form in attempts.items():
        response = page.request.post(path, form=form, headers=headers)
        assert response.status in (403, 404), (path, response.status)
        if "approve" not in path:
            assert response.status == 403, (path, response.status)


def _open_cases(server: Server) -> list[tuple[int, str]]:
    """Open cases (newest first) with one of their loans."""
    with sqlite3.connect(server.home / "postloan.db") as db:
        return db.execute(
            "SELECT c.case_id, MIN(cl.loan_id) FROM collection_cases c "
            "JOIN collection_case_loans cl ON cl.case_id = c.case_id "
            "WHERE c.closed_on IS NULL GROUP BY c.case_id ORDER BY c.case_id DESC"
        ).fetchall()


def test_supervisor_proposes_a_writeoff_and_a_risk_manager_approves(
    watched: Watched, server: Server
) -> None:
    page = watched.page
    case_id, loan_id = _open_cases(server)[0]
    login(page, "sup", f"/cases/{case_id}")
    # the case goes to another collector first (its tasks follow it)
    names = page.locator("#assign-form select[name=collector] option").all_inner_texts()
    page.select_option("#assign-form select[name=collector]", names[-1])
    page.click("#assign-form button[type=submit]")
    expect(page.get_by_test_id("case-collector")).to_have_text(names[-1])
    page.reload()  # the assignment's message gone: the next status is the write-off's
    page.select_option("#writeoff-form select[name=loan_id]", loan_id)
    page.fill("#writeoff-form input[name=reason]", "borrower deceased, no estate")
    page.click("#writeoff-form button[type=submit]")
    status = page.get_by_role("status").first
    expect(status).to_contain_text("已提交核销提议")
    found = re.search(r"审批号 (\d+)", status.inner_text())
    assert found is not None
    proposed = int(found.group(1))
    shot(page, "supervisor-writeoff")
    page.goto("/approvals")
    expect(page.locator(f"#approval-{proposed}")).to_have_count(0)  # not for the maker
    page.context.clear_cookies()

    login(page, "risk", "/approvals")
    row = page.locator(f"#approval-{proposed}")
    expect(row).to_contain_text("writeoff")
    row.locator("input[name=reason]").fill("no recovery prospect")
    row.get_by_role("button", name="批准").click()
    expect(row).to_contain_text("已批准")
    shot(page, "risk-approves-writeoff")
    with sqlite3.connect(server.home / "postloan.db") as db:
        (state,) = db.execute("SELECT state FROM approvals WHERE id = ?", (proposed,)).fetchone()
        (kind,) = db.execute(
            "SELECT type FROM transactions WHERE loan_id = ? AND txn_id LIKE 'pl-writeoff-%'",
            (loan_id,),
        ).fetchone()
    assert state in ("approved", "applied")
    assert kind == "write_off"


def test_legal_officer_opens_a_legal_case_and_free_text_stays_text(
    watched: Watched, server: Server
) -> None:
    page = watched.page
    case_id, loan_id = _open_cases(server)[1]
    login(page, "law", f"/cases/{case_id}")
    page.select_option("#legal-form select[name=loan_id]", loan_id)
    page.fill("#legal-form input[name=court]", XSS)
    page.fill("#legal-form input[name=lawyer]", "王律师")
    page.fill("#legal-form input[name=cost]", "300.00")
    page.click("#legal-form button[type=submit]")
    expect(page.get_by_role("status").first).to_contain_text("已转诉讼")
    legal = page.get_by_test_id("legal-cases")
    expect(legal.locator("td.court").first).to_have_text(XSS)
    expect(legal.get_by_test_id("legal-state").first).to_have_text("已转诉")
    expect(page.get_by_test_id("case-state")).to_have_text("legal")

    page.locator(".advance-form select[name=to_state]").first.select_option("filed")
    page.locator(".advance-form input[name=note]").first.fill("filed at the district court")
    page.locator(".advance-form button[type=submit]").first.click()
    expect(page.get_by_role("status").first).to_contain_text("已立案")
    page.locator(".recovery-form input[name=amount]").first.fill("99999999")
    page.locator(".recovery-form button[type=submit]").first.click()
    expect(page.get_by_role("alert")).to_contain_text("超过贷款当前欠款")
    page.locator(".recovery-form input[name=amount]").first.fill("10.00")  # the form stayed
    page.locator(".recovery-form button[type=submit]").first.click()
    expect(page.get_by_role("status").first).to_contain_text("已登记回款")
    expect(page.get_by_role("alert")).to_have_count(0)
    page.reload()
    expect(page.get_by_test_id("legal-cases").locator("td.court").first).to_have_text(XSS)
    assert page.locator("td.court script").count() == 0
    shot(page, "legal-case")
    assert not watched.dialogs, watched.dialogs


def test_risk_manager_sees_model_monitoring_over_time(watched: Watched) -> None:
    page = watched.page
    login(page, "risk", "/models")
    panel = page.locator("[data-testid^=monitoring-]").first
    expect(panel.locator("[id^=chart-psi-] canvas")).to_have_count(1)
    rows = panel.get_by_test_id("feature-psi").locator("tr")
    expect(rows).to_have_count(4)  # header + dpd, max_dpd_12m, months_on_book
    psis = [float(v) for v in rows.locator("td.num").all_inner_texts()]
    assert psis == sorted(psis, reverse=True)
    shot(page, "risk-model-monitoring")


def test_risk_manager_filters_the_dashboard_by_product(watched: Watched) -> None:
    page = watched.page
    login(page, "risk", "/")
    whole = page.get_by_test_id("npl").get_attribute("data-ratio")
    page.select_option("#cut-form select[name=by]", "product")
    page.click("#cut-form button[type=submit]")
    page.wait_for_url("**/?by=product*")
    options = page.locator("#cut-form select[name=value] option")
    expect(options).not_to_have_count(1)  # "all" plus the products of the book
    product = options.nth(1).get_attribute("value")
    assert product
    page.select_option("#cut-form select[name=value]", product)
    page.click("#cut-form button[type=submit]")
    expect(page.get_by_test_id("cut")).to_contain_text(product)
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    assert page.get_by_test_id("npl").get_attribute("data-ratio") is not None
    assert whole is not None
    shot(page, "risk-dashboard-cut")
