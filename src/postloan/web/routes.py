"""The web UI's pages: server-rendered with Jinja2, partial updates with HTMX.

Every page calls service functions (or the read-only queries of
:mod:`postloan.web.queries`) directly in one transaction; every change goes
through :mod:`postloan.web.actions`, which checks permission and data scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from postloan.api.i18n import negotiate
from postloan.api.routes_auth import LOGIN_CSRF_COOKIE, login_submit
from postloan.audit.audit_check import verify_log
from postloan.collections import service
from postloan.collections.activation import active_strategy
from postloan.collections.concessions import WAIVER_KINDS
from postloan.collections.dry_run import dry_run
from postloan.collections.restructure_rules import RestructuringKind
from postloan.collections.states import ContactOutcome
from postloan.collections.strategy_io import default_text, parse_text
from postloan.config import Settings
from postloan.contact.service import CallPermission, check_call
from postloan.contact.settings import ContactSettings, load_contact_settings
from postloan.domain.errors import PostLoanError, ValidationError
from postloan.risk import registry
from postloan.risk.alert_rules import TRANSITIONS, AlertState
from postloan.risk.alerts import list_alerts
from postloan.security.roles import Role
from postloan.security.scope import authorize, authorize_object
from postloan.security.unmask import borrower_for
from postloan.security.users import list_users
from postloan.store.snapshots import SnapshotStore
from postloan.web import actions, backoffice, charts, dashboard_view, queries
from postloan.web.backoffice import UserMistake
from postloan.web.monitoring_view import BAND_COLOUR
from postloan.web.pages import Ctx, HtmlRoute, PageUser, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
AUDIT_PAGE_SIZE = 50
CONTACT_CHANNELS = ("phone", "sms", "visit", "email")


def _snapshots(ctx: Any) -> SnapshotStore:
    return SnapshotStore(ctx.store.settings.snapshot_dir)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, ctx: Ctx, next: str = "/") -> HTMLResponse:
    return _login_form(request, ctx, next, None)


def _login_form(request: Request, ctx: Ctx, target: str, message: str | None) -> HTMLResponse:
    token = ctx.signer.new_login_csrf()
    target = _local_path(target)
    response = render(
        request,
        "login.html",
        login_csrf=token,
        next=target,
        message=message,
        status_code=401 if message else 200,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """The session login of ``/auth/login``; a failure shows the form again with why."""
    try:
        response = login_submit(request, ctx, username, password, csrf_token)
    except PostLoanError as err:
        from postloan.api.i18n import message_of

        return _login_form(request, ctx, next, message_of(err, negotiate(request))[0])
    response.headers["location"] = _local_path(next)
    return response


def _local_path(target: str) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirect)."""
    if target.startswith("/") and target[1:2] not in ("/", "\\") and "\\" not in target:
        return target
    return "/"


@router.get("/lang/{code}")
def switch_language(request: Request, code: str) -> RedirectResponse:
    lang = "en" if code == "en" else "zh-CN"
    back = request.headers.get("referer") or "/"
    target = "/" + back.split("/", 3)[3] if back.count("/") >= 3 else "/"
    response = RedirectResponse(_local_path(target.split("?lang=")[0]), status_code=303)
    response.set_cookie("postloan_lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    by: Annotated[str, Query(max_length=20)] = "",
    value: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """The portfolio from the analytics functions (the numbers of ``postloan kpi``)."""
    authorize(user, "kpi.view")
    lang = negotiate(request)
    figures = dashboard_view.portfolio(ctx.store.settings, _snapshots(ctx), by, value)
    with ctx.store.begin() as conn:
        on = queries.business_date(conn)
        alerts_age = queries.alerts_by_age(conn, on)
        cases_age = queries.cases_by_age(conn, on)
    doc = figures.doc
    return render(
        request,
        "dashboard.html",
        user,
        on=figures.on or on,
        doc=doc,
        has_data=bool(doc),
        balance_minor=dashboard_view.minor(doc["balance"]) if doc else 0,
        rolls=figures.rolls,
        cuts=dashboard_view.CUTS,
        by=by,
        value=value,
        cut_options=figures.cut_options,
        options=charts.dashboard(lang, figures, alerts_age, cases_age),
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    state: Annotated[str, Query(max_length=20)] = "new",
    rule: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    authorize(user, "alert.view")
    owner = user.username if user.role == "loan_officer" else None
    with ctx.store.begin() as conn:
        rows = list_alerts(conn, state=state or None, rule=rule or None, owner=owner)
    return render(
        request,
        "alerts.html",
        user,
        alerts=rows,
        state=state,
        rule=rule,
        states=[s.value for s in AlertState],
        moves={
            str(s): [str(t) for t in sorted(TRANSITIONS[s]) if t != AlertState.ACKNOWLEDGED]
            for s in AlertState
        },
    )


@router.post("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def acknowledge(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    alert_id: int,
    version: Annotated[int, Form()],
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        actions.acknowledge_alert(conn, user, alert_id, expected_version=version, now=ctx.clock())
    return render(request, "_message.html", user, kind="ok", message=_t(request, "alerts.acked"))


@router.post("/alerts/{alert_id}/move", response_class=HTMLResponse)
def move_alert_form(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    alert_id: int,
    target: Annotated[Literal["actioned", "closed"], Form()],
    version: Annotated[int, Form(ge=1, le=2**31 - 1)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Mark an alert actioned or close it, with an optional note for the audit log."""
    with ctx.store.begin() as conn:
        state = actions.move_alert_as(
            conn,
            user,
            alert_id,
            target,
            expected_version=version,
            now=ctx.clock(),
            note=note.strip() or None,
        )
    message = _t(request, "alerts.moved", state=_t(request, f"alerts.state.{state}"))
    return render(request, "_message.html", user, kind="ok", message=message)


def _t(request: Request, key: str, **params: Any) -> str:
    from postloan.web.i18n import text

    return text(negotiate(request), key, **params)


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    authorize(user, "case.view")
    with ctx.store.begin() as conn:
        if user.role == "collector":
            cases = queries.open_cases(conn, collector=user.username)
            tasks = service.list_queue(conn, collector=user.username)
        elif user.role == "loan_officer":
            cases = queries.officer_cases(conn, user.username)
            tasks = []
        else:
            cases = queries.open_cases(conn, collector=None)
            tasks = service.list_queue(conn)[:200]
    return render(request, "queue.html", user, cases=cases, tasks=tasks)


_CONTACT_SETTINGS: dict[tuple[str, float], ContactSettings] = {}


def _contact_settings(settings: Settings) -> ContactSettings:
    """The contact settings of config.yaml, read again only when the file changes."""
    path = settings.config_file
    key = (str(path), path.stat().st_mtime if path.exists() else 0.0)
    if key not in _CONTACT_SETTINGS:
        _CONTACT_SETTINGS.clear()
        _CONTACT_SETTINGS[key] = load_contact_settings(settings)
    return _CONTACT_SETTINGS[key]


def _case_view(ctx: Any, conn: Any, user: Any, case_id: int, lang: str) -> dict[str, Any]:
    authorize_object(conn, user, "case.view", "case", str(case_id))
    case = service.get_case(conn, case_id)
    borrower = borrower_for(conn, ctx.store.cipher, user, case.borrower_id)
    loans = queries.case_loans(conn, case.borrower_id)
    loan_ids = [row["loan_id"] for row in loans]
    guard: CallPermission | ValidationError | None = None
    if user.can("contact.log"):
        try:
            guard = check_call(
                conn,
                ctx.store.cipher,
                _contact_settings(ctx.store.settings),
                borrower_id=case.borrower_id,
                now=ctx.clock(),
                lang=lang,
            )
        except ValidationError as err:
            guard = err
    return {
        "case": case,
        "borrower": borrower,
        "loans": loans,
        "schedules": {lid: queries.schedule(conn, lid) for lid in case.loan_ids},
        "txns": queries.transactions(conn, loan_ids),
        "contacts": queries.contacts(conn, case_id),
        "promises": queries.promises(conn, case_id),
        "scores": queries.latest_scores(conn, loan_ids),
        "guard": guard,
        "on": queries.business_date(conn),
        "outcomes": [o.value for o in ContactOutcome],
        "channels": CONTACT_CHANNELS,
        "restructure_kinds": [k.value for k in RestructuringKind],
        "waiver_kinds": list(WAIVER_KINDS),
        "collectors": actions.assignable_collectors(conn, user),
        **_back_office(conn, user, case.loan_ids),
    }


def _back_office(conn: Any, user: Any, loan_ids: Sequence[str]) -> dict[str, Any]:
    """Legal cases, placements and listed agencies, for the roles that see them."""
    if not (user.can("legal.view") or user.can("legal.manage")):
        return {"legal_cases": [], "placements": [], "agencies": []}
    return {
        "legal_cases": backoffice.legal_cases(conn, list(loan_ids)),
        "placements": backoffice.placements(conn, list(loan_ids)),
        "agencies": backoffice.listed_agencies(conn) if user.can("legal.manage") else [],
    }


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, ctx: Ctx, user: PageUser, case_id: int) -> HTMLResponse:
    with ctx.store.begin() as conn:
        view = _case_view(ctx, conn, user, case_id, negotiate(request))
    return render(request, "case.html", user, **view)


def _case_work(
    request: Request, ctx: Any, user: Any, case_id: int, kind: str, message: str
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        view = _case_view(ctx, conn, user, case_id, negotiate(request))
    return render(request, "_case_work.html", user, flash=(kind, message), **view)


@router.post("/cases/{case_id}/contacts", response_class=HTMLResponse)
def log_contact(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    version: Annotated[int, Form()],
    outcome: Annotated[str, Form(max_length=20)],
    channel: Annotated[str, Form(max_length=20)] = "phone",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        actions.log_contact(
            conn,
            user,
            case_id,
            outcome=outcome,
            channel=channel,
            note=note,
            expected_version=version,
            on=queries.business_date(conn),
        )
    return _case_work(request, ctx, user, case_id, "ok", _t(request, "case.contact_logged"))


@router.post("/cases/{case_id}/assign", response_class=HTMLResponse)
def assign_case(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    version: Annotated[int, Form(ge=1, le=2**31 - 1)],
    collector: Annotated[str, Form(min_length=1, max_length=64)],
) -> HTMLResponse:
    """Give the case and its open tasks to another collector (supervisors)."""
    with ctx.store.begin() as conn:
        actions.assign_case(conn, user, case_id, collector=collector, expected_version=version)
    message = _t(request, "case.assigned", collector=collector)
    return _case_work(request, ctx, user, case_id, "ok", message)


def _minor_units(yuan: str) -> int:
    """A typed yuan amount (``1200.50``) in minor units, refusing what is not one."""
    try:
        amount = Decimal(yuan.strip())
    except InvalidOperation:
        raise UserMistake("bo.err.not_amount", text=yuan) from None
    if not amount.is_finite():
        raise UserMistake("bo.err.not_amount", text=yuan)
    minor = amount * 100
    if minor != minor.to_integral_value():
        raise UserMistake("bo.err.two_decimals")
    if minor < 0:
        raise UserMistake("bo.err.amount_negative")
    return int(minor)


@router.post("/cases/{case_id}/promises", response_class=HTMLResponse)
def record_promise(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    version: Annotated[int, Form()],
    amount: Annotated[str, Form(max_length=20)],
    promised_date: Annotated[date, Form()],
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        actions.record_promise(
            conn,
            user,
            case_id,
            amount_minor=_minor_units(amount),
            promised_date=promised_date,
            expected_version=version,
            on=queries.business_date(conn),
        )
    return _case_work(request, ctx, user, case_id, "ok", _t(request, "case.promise_recorded"))


@router.post("/cases/{case_id}/restructurings", response_class=HTMLResponse)
def propose_restructuring(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    loan_id: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=32)],
    periods: Annotated[int, Form(ge=1, le=120)] = 3,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        concession_id = actions.propose_case_restructuring(
            conn,
            user,
            case_id,
            loan_id=loan_id,
            kind=kind,
            periods=periods,
            on=queries.business_date(conn),
            reason=reason or None,
        )
        approval_id = backoffice.approval_of(conn, concession_id)
    message = _t(request, "case.restructuring_proposed", id=approval_id)
    return _case_work(request, ctx, user, case_id, "ok", message)


@router.post("/cases/{case_id}/waivers", response_class=HTMLResponse)
def propose_waiver(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    case_id: int,
    loan_id: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=32)],
    amount: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        concession_id = actions.propose_case_waiver(
            conn,
            user,
            case_id,
            loan_id=loan_id,
            kind=kind,
            amount_minor=_minor_units(amount),
            on=queries.business_date(conn),
            reason=reason or None,
        )
        approval_id = backoffice.approval_of(conn, concession_id)
    message = _t(request, "case.waiver_proposed", id=approval_id)
    return _case_work(request, ctx, user, case_id, "ok", message)


@router.get("/strategy", response_class=HTMLResponse)
def strategy_page(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    authorize(user, "strategy.view")
    with ctx.store.begin() as conn:
        active = active_strategy(conn)
        body = conn.exec_driver_sql(
            "SELECT body FROM collection_strategies WHERE status = 'active'"
        ).scalar_one_or_none()
        on = queries.business_date(conn)
    return render(
        request, "strategy.html", user, version=active.version, body=body or default_text(), on=on
    )


@router.post("/strategy/dry-run", response_class=HTMLResponse)
def strategy_dry_run(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    body: Annotated[str, Form(max_length=200_000)],
    on: Annotated[date, Form()],
) -> HTMLResponse:
    """Run a (possibly edited) strategy on the book of ``on`` without changing anything."""
    authorize(user, "strategy.view")
    strategy = parse_text(body, "the strategy form")
    with ctx.store.begin() as conn:
        result = dry_run(conn, _snapshots(ctx), strategy, on)
    return render(request, "_dry_run.html", user, result=result)


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    authorize(user, "model.view")
    from postloan.risk.monitoring_history import history
    from postloan.web.monitoring_view import panels

    models = registry.list_models(ctx.store.settings)
    active = [m["model_id"] for m in models if m["active"]]
    with ctx.store.begin() as conn:
        runs = {model_id: history(conn, model_id=model_id) for model_id in active}
    return render(
        request,
        "models.html",
        user,
        models=models,
        panels=panels(negotiate(request), models, runs),
        colours=BAND_COLOUR,
    )


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    from postloan.security.approvals import list_approvals

    with ctx.store.begin() as conn:
        waiting = actions.waiting_for(conn, user)
        mine = list_approvals(conn, maker=user.username, limit=50)
    return render(request, "approvals.html", user, waiting=waiting, mine=mine)


@router.post("/approvals/{approval_id}/{decision}", response_class=HTMLResponse)
def decide(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    approval_id: int,
    decision: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    if decision not in ("approve", "reject"):
        raise ValidationError("decide with approve or reject")
    with ctx.store.begin() as conn:
        done = actions.decide(
            conn,
            user,
            approval_id,
            approve=decision == "approve",
            reason=reason,
            policy=ctx.policy,
            now=ctx.clock(),
        )
    ctx.auth_cache.clear()  # an applied role change ends the user's cached API tokens now
    key = "approvals.approved" if done.state in ("approved", "applied") else "approvals.rejected"
    return render(request, "_message.html", user, kind="ok", message=_t(request, key))


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    authorize(user, "audit.read")
    with ctx.store.begin() as conn:
        rows, more = queries.audit_page(
            conn, page=page, size=AUDIT_PAGE_SIZE, actor=actor or None, action=action or None
        )
    return render(
        request, "audit.html", user, rows=rows, page=page, more=more, actor=actor, action=action
    )


@router.post("/audit/verify", response_class=HTMLResponse)
def audit_verify(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    """Recompute the audit log's hash tree (reads only; a POST because it is costly)."""
    authorize(user, "audit.read")
    from postloan.audit.checkpoint import key_path, load_signing_key

    keys = ctx.store.settings.keys_dir
    public = (
        load_signing_key(keys, create=False).verifier_key() if key_path(keys).exists() else None
    )
    with ctx.store.begin() as conn:
        report = verify_log(conn, public)
    return render(request, "_verify.html", user, report=report)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    authorize(user, "user.view")
    with ctx.store.begin() as conn:
        people = list_users(conn)
    return render(request, "users.html", user, people=people, roles=[r.value for r in Role])


@router.post("/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    ctx: Ctx,
    user: PageUser,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=200)],
    team: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    with ctx.store.begin() as conn:
        created = actions.create_user(
            conn,
            user,
            username=username,
            role=role,
            password=password,
            team=team,
            policy=ctx.policy,
            now=ctx.clock(),
        )
    message = _t(request, "users.added", name=created.username)
    return render(request, "_message.html", user, kind="ok", message=message)


@router.post("/users/{username}/{change}", response_class=HTMLResponse)
def enable_or_disable(
    request: Request, ctx: Ctx, user: PageUser, username: str, change: str
) -> HTMLResponse:
    if change not in ("enable", "disable"):
        raise ValidationError("change a user with enable or disable")
    with ctx.store.begin() as conn:
        person = actions.set_user_active(conn, user, username, active=change == "enable")
    ctx.auth_cache.clear()  # a disabled user's cached API tokens end now, not at the TTL
    return render(request, "_user_row.html", user, p=person)


@router.get("/scorecards", response_class=HTMLResponse)
def scorecards(request: Request, ctx: Ctx, user: PageUser) -> HTMLResponse:
    authorize(user, "case.view")
    with ctx.store.begin() as conn:
        collectors = queries.collector_scorecards(conn)
        officers = queries.officer_scorecards(conn)
    if user.role == "collector":
        collectors = [c for c in collectors if c["collector"] == user.username]
        officers = []
    elif user.role == "loan_officer":
        collectors = []
        officers = [o for o in officers if o["officer"] == user.username]
    return render(request, "scorecards.html", user, collectors=collectors, officers=officers)


__all__ = ["router"]
