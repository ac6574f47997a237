"""The web UI over HTTP (TestClient): pages per role, data scope, CSRF, escaping,
conflicts, the auditor's refusals and the language switch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from api_fixtures import T0, Api, make_api, seed_case, write_test_config
from sqlalchemy import insert, text

from postloan.batch.steps.kpi import CATEGORIES
from postloan.collections.states import ContactOutcome
from postloan.feeds.importer import import_directory
from postloan.security.config import load_security_policy
from postloan.security.users import add_user
from postloan.store.tables_risk import Alert
from postloan.web.i18n import TEXT
from postloan.web.pages import ENV, NAV

PASSWORD = "correct-horse-9"
PEOPLE = {
    "co": "collector",
    "co2": "collector",
    "su": "supervisor",
    "rm": "risk_manager",
    "au": "auditor",
    "ad": "admin",
    "O01": "loan_officer",
    "le": "legal",
}
XSS = "<script>alert(1)</script>' OR 1=1 --"
TEMPLATES = Path(__file__).parents[2] / "src" / "postloan" / "web" / "templates"


@pytest.fixture
def web(database_url: str, postloan_home: Path, data_dir: Path) -> Iterator[Api]:
    write_test_config(postloan_home)
    for api in make_api(database_url):
        import_directory(data_dir / "feeds" / "good", api.store)
        policy = load_security_policy(api.store.settings)
        with api.store.begin() as conn:
            for name, role in PEOPLE.items():
                add_user(conn, username=name, role=role, password=PASSWORD, policy=policy, now=T0)
            seed_case(conn, "B001", "L001", collector="co")
        yield api


def login(api: Api, username: str) -> str:
    """Log ``username`` in through the web form; the session's CSRF token."""
    api.client.cookies.clear()
    page = api.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    done = api.client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return str(api.client.cookies.get("postloan_csrf"))


def case_id(api: Api) -> int:
    with api.store.begin() as conn:
        return int(conn.execute(text("SELECT MIN(case_id) FROM collection_cases")).scalar_one())


def htmx(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf, "HX-Request": "true"}


def test_anonymous_is_sent_to_the_login_page(web: Api) -> None:
    for path in ("/", "/queue", "/cases/1", "/audit"):
        response = web.client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert web.client.post("/cases/1/contacts", data={}, follow_redirects=False).status_code in (
        303,
        422,
    )


def test_wrong_password_shows_the_form_again(web: Api) -> None:
    page = web.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = web.client.post(
        "/login", data={"username": "co", "password": "nope-nope", "csrf_token": token.group(1)}
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "postloan_session" not in web.client.cookies


def test_every_page_answers_by_role(web: Api) -> None:
    from postloan.security.permissions import has_permission

    for username, role in PEOPLE.items():
        login(web, username)
        home = web.client.get("/")
        assert home.status_code == (200 if has_permission(role, "kpi.view") else 403)
        for path, permission, _key in NAV:
            response = web.client.get(path)
            expected = 200 if has_permission(role, permission) else 403
            assert response.status_code == expected, (path, role, response.text[:300])
            assert "Traceback" not in response.text
        if has_permission(role, "kpi.view"):
            links = set(re.findall(r'<a href="(/[a-z]*)" class', home.text))
            assert links == {p for p, perm, _ in NAV if has_permission(role, perm)}


def test_redirects_stay_on_this_site(web: Api) -> None:
    for referer in ("http://evil.example//evil.example/x", "http://testserver/\\evil.example"):
        switched = web.client.get("/lang/en", headers={"referer": referer}, follow_redirects=False)
        assert switched.headers["location"] == "/"
    page = web.client.get("/login", params={"next": "//evil.example/"})
    assert 'name="next" value="/"' in page.text


def test_case_page_is_masked_and_scoped(web: Api) -> None:
    cid = case_id(web)
    login(web, "co")
    page = web.client.get(f"/cases/{cid}")
    assert page.status_code == 200
    assert "138****5678" in page.text
    assert "13812345678" not in page.text
    assert "110***********1234" in page.text
    assert 'id="contact-form"' in page.text and 'id="promise-form"' in page.text
    login(web, "co2")
    other = web.client.get(f"/cases/{cid}")
    assert other.status_code == 404
    assert "不在您的数据范围内" in other.text
    assert web.client.get("/cases/999999").status_code == 404


def test_contact_promise_conflict_and_escaping(web: Api) -> None:
    cid = case_id(web)
    csrf = login(web, "co")
    no_csrf = web.client.post(
        f"/cases/{cid}/contacts", data={"version": "1", "outcome": "right_party"}
    )
    assert no_csrf.status_code == 403
    logged = web.client.post(
        f"/cases/{cid}/contacts",
        data={"version": "1", "outcome": "right_party", "note": XSS},
        headers=htmx(csrf),
    )
    assert logged.status_code == 200
    assert "已登记联系记录" in logged.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#39; OR 1=1 --" in logged.text
    assert "<script>alert(1)" not in logged.text
    stale = web.client.post(
        f"/cases/{cid}/promises",
        data={"version": "1", "amount": "120.50", "promised_date": "2026-12-01"},
        headers=htmx(csrf),
    )
    assert 'role="alert"' in stale.text and "刷新页面" in stale.text
    version = re.search(r'name="version" value="(\d+)"', logged.text)
    assert version is not None
    promised = web.client.post(
        f"/cases/{cid}/promises",
        data={"version": version.group(1), "amount": "120.50", "promised_date": "2026-12-01"},
        headers=htmx(csrf),
    )
    assert "已登记还款承诺" in promised.text
    with web.store.begin() as conn:
        stored = conn.execute(
            text("SELECT amount, state FROM collection_promises WHERE case_id = :c"), {"c": cid}
        ).one()
        note = conn.execute(
            text("SELECT note FROM collection_contacts WHERE case_id = :c"), {"c": cid}
        ).scalar_one()
    assert tuple(stored) == (12050, "open")
    assert note == XSS  # stored as typed, rendered escaped
    bad = web.client.post(
        f"/cases/{cid}/promises",
        data={"version": "99", "amount": "1.234", "promised_date": "2026-12-01"},
        headers=htmx(csrf),
    )
    assert "两位小数" in bad.text or "two decimals" in bad.text
    direct = web.client.post(
        f"/cases/{cid}/promises",
        data={"version": "1", "amount": "10", "promised_date": "2026-12-01"},
        headers={"X-CSRF-Token": csrf},
    )
    assert direct.status_code == 409


def test_the_auditor_reads_but_every_change_is_refused(web: Api) -> None:
    cid = case_id(web)
    csrf = login(web, "au")
    page = web.client.get(f"/cases/{cid}")
    assert page.status_code == 200
    assert "contact-form" not in page.text and "只读" in page.text
    refused = {
        f"/cases/{cid}/contacts": {"version": "1", "outcome": "right_party"},
        f"/cases/{cid}/promises": {"version": "1", "amount": "1", "promised_date": "2026-12-01"},
        f"/cases/{cid}/restructurings": {"loan_id": "L001", "kind": "extension"},
        "/users": {"username": "mallory", "role": "admin", "password": "long-enough-1"},
        "/alerts/1/ack": {"version": "1"},
    }
    for path, form in refused.items():
        response = web.client.post(path, data=form, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 403, (path, response.status_code)
    with web.store.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM collection_contacts")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar() == len(PEOPLE)
    verified = web.client.post("/audit/verify", headers=htmx(csrf))
    assert verified.status_code == 200 and "校验通过" in verified.text


def test_admin_adds_a_user_and_audit_log_pages(web: Api) -> None:
    csrf = login(web, "ad")
    added = web.client.post(
        "/users",
        data={"username": "newbie", "role": "collector", "password": "long-enough-1"},
        headers=htmx(csrf),
    )
    assert "已新增用户 newbie" in added.text
    disabled = web.client.post("/users/newbie/disable", headers=htmx(csrf))
    assert 'id="user-newbie"' in disabled.text and "启用" in disabled.text
    myself = web.client.post("/users/ad/disable", headers=htmx(csrf))
    assert 'role="alert"' in myself.text
    csrf = login(web, "au")
    first = web.client.get("/audit?action=user.create")
    assert first.status_code == 200 and "newbie" in first.text
    assert web.client.get("/audit?page=999").status_code == 200


def test_language_switch_and_formatting(web: Api) -> None:
    login(web, "rm")
    assert "资产质量总览" in web.client.get("/").text
    english = web.client.get("/?lang=en")
    assert "Portfolio dashboard" in english.text and 'lang="en"' in english.text
    switched = web.client.get(
        "/lang/en", headers={"referer": "http://testserver/queue"}, follow_redirects=False
    )
    assert switched.headers["location"] == "/queue"
    assert "postloan_lang=en" in switched.headers["set-cookie"]
    web.client.cookies.set("postloan_lang", "en")
    page = web.client.get("/queue")
    assert "My work queue" in page.text


def test_every_text_key_in_the_templates_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(
            re.findall(
                r"""_\(\s*["']([a-z0-9_.]*[a-z0-9_])["']\s*[,)]""", template.read_text("utf-8")
            )
        )
        ENV.get_template(template.name)  # parses
    assert len(used) > 50, "too few text keys found"
    used |= {f"cat.{c}" for c in CATEGORIES} | {f"outcome.{o.value}" for o in ContactOutcome}
    assert used <= set(TEXT), sorted(used - set(TEXT))
    assert all(len(pair) == 2 and all(pair) for pair in TEXT.values())


def test_restructuring_form_checks_scope_and_reports_service_refusals(web: Api) -> None:
    cid = case_id(web)
    csrf = login(web, "co")
    # no close of business has run: the service refuses, the page says why
    refused = web.client.post(
        f"/cases/{cid}/restructurings",
        data={"loan_id": "L001", "kind": "extension", "periods": "6", "reason": "hardship"},
        headers=htmx(csrf),
    )
    assert 'role="alert"' in refused.text and "no principal outstanding" in refused.text
    elsewhere = web.client.post(
        f"/cases/{cid}/restructurings",
        data={"loan_id": "L002", "kind": "extension", "periods": "6"},
        headers=htmx(csrf),
    )
    assert "is not part of case" in elsewhere.text
    with web.store.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM approvals")).scalar() == 0


def test_approvals_waiting_for_me_and_a_rejection_needs_a_reason(web: Api) -> None:
    from postloan.security.approvals import get_approval, propose

    with web.store.begin() as conn:
        pending = propose(
            conn,
            maker="co",
            action="waiver.web_test",
            object_type="loan",
            object_id="L001",
            payload={},
            amount_minor=500,
            reason="goodwill",
        )
    csrf = login(web, "co")
    assert f'id="approval-{pending}"' not in web.client.get("/approvals").text  # the maker
    csrf = login(web, "su")
    assert f'id="approval-{pending}"' in web.client.get("/approvals").text
    no_reason = web.client.post(f"/approvals/{pending}/reject", headers=htmx(csrf))
    assert 'role="alert"' in no_reason.text
    rejected = web.client.post(
        f"/approvals/{pending}/reject", data={"reason": "not justified"}, headers=htmx(csrf)
    )
    assert "已驳回" in rejected.text
    with web.store.begin() as conn:
        assert get_approval(conn, pending).state == "rejected"
    assert f'id="approval-{pending}"' not in web.client.get("/approvals").text


def test_dashboard_without_snapshots_says_so_and_counts_open_cases(web: Api) -> None:
    import html
    import json

    login(web, "rm")
    page = web.client.get("/").text
    assert "postloan eod" in page  # no close of business yet
    found = re.search(r"id=\"chart-cases-age\" data-chart='([^']+)'", page)
    assert found is not None
    option = json.loads(html.unescape(found.group(1)))
    assert sum(option["series"][0]["data"]) == 1  # the one open case


def test_waiver_form_is_scoped_and_refused_for_the_auditor(web: Api) -> None:
    cid = case_id(web)
    csrf = login(web, "co")
    elsewhere = web.client.post(
        f"/cases/{cid}/waivers",
        data={"loan_id": "L002", "kind": "penalty", "amount": "1.00"},
        headers=htmx(csrf),
    )
    assert "is not part of case" in elsewhere.text
    csrf = login(web, "au")
    refused = web.client.post(
        f"/cases/{cid}/waivers",
        data={"loan_id": "L001", "kind": "penalty", "amount": "1.00"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403
    with web.store.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM approvals")).scalar() == 0


def _alert(web: Api, loan_id: str, state: str = "new") -> int:
    """An alert on ``loan_id`` in ``state`` (version 1)."""
    with web.store.begin() as conn:
        return int(
            conn.execute(
                insert(Alert)
                .values(
                    alert_key=f"web-{loan_id}-{state}",
                    rule_id="dpd_entry",
                    loan_id=loan_id,
                    borrower_id="B001",
                    business_date=date(2026, 11, 28),
                    severity="high",
                    owner_role="loan_officer",
                    state=state,
                    version=1,
                    sla_due_at=T0,
                    created_at=T0,
                    updated_at=T0,
                )
                .returning(Alert.id)
            ).scalar_one()
        )


def test_alerts_are_actioned_and_closed_from_the_inbox_with_a_note(web: Api) -> None:
    """The inbox offers the moves the state machine allows; a move keeps its note in
    the audit log; a closed alert offers none; an officer cannot move another
    officer's alert; a stale form is refused."""
    new, seen = _alert(web, "L001"), _alert(web, "L001", "acknowledged")
    elsewhere = _alert(web, "L002")
    csrf = login(web, "rm")
    inbox = web.client.get("/alerts", params={"state": ""}).text
    row = inbox[inbox.index(f'id="alert-{new}"') :].split("</tr>")[0]
    assert f'hx-post="/alerts/{new}/ack"' in row and 'value="closed"' in row
    assert 'value="actioned"' not in row  # new → actioned is not a move
    row = inbox[inbox.index(f'id="alert-{seen}"') :].split("</tr>")[0]
    assert 'value="actioned"' in row and 'value="closed"' in row and "/ack" not in row
    moved = web.client.post(
        f"/alerts/{seen}/move",
        data={"target": "actioned", "version": "1", "note": "called the borrower"},
        headers=htmx(csrf),
    )
    assert moved.status_code == 200 and "预警已处置" in moved.text
    plain = {"X-CSRF-Token": csrf}  # no HX-Request: the error's own status code
    stale = web.client.post(
        f"/alerts/{seen}/move", data={"target": "closed", "version": "1"}, headers=plain
    )
    assert stale.status_code == 409
    in_page = web.client.post(
        f"/alerts/{seen}/move", data={"target": "closed", "version": "1"}, headers=htmx(csrf)
    )
    assert in_page.headers["HX-Retarget"] == "#flash" and "刷新" in in_page.text
    closed = web.client.post(
        f"/alerts/{seen}/move", data={"target": "closed", "version": "2"}, headers=htmx(csrf)
    )
    assert closed.status_code == 200 and "预警已关闭" in closed.text
    again = web.client.post(
        f"/alerts/{seen}/move", data={"target": "actioned", "version": "3"}, headers=plain
    )
    assert again.status_code == 409 and "Traceback" not in again.text  # closed is final
    inbox = web.client.get("/alerts", params={"state": "closed"}).text
    row = inbox[inbox.index(f'id="alert-{seen}"') :].split("</tr>")[0]
    assert "<form" not in row
    with web.store.begin() as conn:
        notes = conn.execute(
            text("SELECT entry FROM audit_entries WHERE object_id = :a"), {"a": str(seen)}
        ).scalars()
        assert any("called the borrower" in str(n) for n in notes)
        state = conn.execute(text("SELECT state FROM alerts WHERE id = :a"), {"a": seen})
        assert state.scalar_one() == "closed"
    csrf = login(web, "O01")  # L002 is O02's loan
    refused = web.client.post(
        f"/alerts/{elsewhere}/move",
        data={"target": "closed", "version": "1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code in (403, 404)
    mine = web.client.post(
        f"/alerts/{new}/move", data={"target": "closed", "version": "1"}, headers=htmx(csrf)
    )
    assert mine.status_code == 200
    bad = web.client.post(
        f"/alerts/{new}/move",
        data={"target": "new", "version": "2"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422


def test_supervisor_assigns_a_case_to_another_collector_from_the_case_page(web: Api) -> None:
    """Supervisors get an assignment form listing the active collectors; assigning
    moves the case (audited), a stale form or a person who is not a collector is
    refused, and collectors neither see the form nor may post it."""
    cid = case_id(web)
    csrf = login(web, "co")
    page = web.client.get(f"/cases/{cid}").text
    assert 'id="assign-form"' not in page
    refused = web.client.post(
        f"/cases/{cid}/assign",
        data={"version": "1", "collector": "co2"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403
    csrf = login(web, "su")
    page = web.client.get(f"/cases/{cid}").text
    form = page[page.index('id="assign-form"') :].split("</form>")[0]
    assert re.findall(r'<option value="([^"]+)"', form) == ["co", "co2"]
    assert '<option value="co" selected' in form
    done = web.client.post(
        f"/cases/{cid}/assign", data={"version": "1", "collector": "co2"}, headers=htmx(csrf)
    )
    assert done.status_code == 200 and "已分派给 co2" in done.text
    assert 'data-testid="case-collector">co2<' in done.text
    plain = {"X-CSRF-Token": csrf}
    stale = web.client.post(
        f"/cases/{cid}/assign", data={"version": "1", "collector": "co"}, headers=plain
    )
    assert stale.status_code == 409
    not_a_collector = web.client.post(
        f"/cases/{cid}/assign", data={"version": "2", "collector": "rm"}, headers=plain
    )
    assert not_a_collector.status_code == 422 and "Traceback" not in not_a_collector.text
    with web.store.begin() as conn:
        assigned = conn.execute(
            text("SELECT assigned_to FROM collection_cases WHERE case_id = :c"), {"c": cid}
        ).scalar_one()
        audited = conn.execute(
            text(
                "SELECT COUNT(*) FROM audit_entries WHERE action = 'case.assign' AND object_id = :c"
            ),
            {"c": str(cid)},
        ).scalar_one()
    assert assigned == "co2" and audited == 1
