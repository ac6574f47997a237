"""Rendering: the Jinja2 environment (autoescape on), the signed-in user of a page,
and errors as HTML (a page, or an in-page message for an HTMX request).

HTMX fragments report a refusal or a conflict inside the page with HTTP 200 (the
message in a ``role="alert"`` box) so the form stays where it is; a direct
request gets the real status (403, 404, 409, 422) and an error page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape

from postloan.api.context import ApiContext
from postloan.api.deps import CSRF_COOKIE, context, current_user
from postloan.api.errors import status_of
from postloan.api.i18n import negotiate
from postloan.domain import errors as e
from postloan.security.tokens import NotAuthenticated
from postloan.security.users import User
from postloan.web import i18n

STATIC = Path(__file__).parent / "static"
ENV = Environment(
    loader=PackageLoader("postloan.web", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: (path, permission, text key) — the navigation, filtered by the user's role
NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "kpi.view", "nav.dashboard"),
    ("/alerts", "alert.view", "nav.alerts"),
    ("/queue", "case.view", "nav.queue"),
    ("/strategy", "strategy.view", "nav.strategy"),
    ("/models", "model.view", "nav.models"),
    ("/approvals", "approval.view", "nav.approvals"),
    ("/audit", "audit.read", "nav.audit"),
    ("/users", "user.view", "nav.users"),
    ("/scorecards", "case.view", "nav.scorecards"),
    ("/agencies", "legal.view", "nav.agencies"),
)


class LoginRequired(Exception):
    """No valid web session: send the browser to the login page."""


def page_user(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> User:
    """The user of the session cookie (a change also needs the X-CSRF-Token header)."""
    try:
        return current_user(request, ctx, None, None)
    except NotAuthenticated:
        raise LoginRequired from None


PageUser = Annotated[User, Depends(page_user)]
Ctx = Annotated[ApiContext, Depends(context)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _nobody_can(permission: str) -> bool:
    del permission
    return False


def render(
    request: Request,
    template: str,
    user: User | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """``template`` with the language helpers, the user, the CSRF token and navigation."""
    lang = negotiate(request)
    page = ENV.get_template(template).render(
        request=request,
        lang=lang,
        _=partial(i18n.text, lang),
        money=lambda minor, currency="CNY": i18n.money(minor, lang, currency),
        number=lambda v: i18n.number(v, lang),
        percent=lambda v: i18n.percent(v, lang),
        day=lambda v: i18n.day(v, lang),
        moment=lambda v: i18n.moment(v, lang),
        user=user,
        can=user.can if user else _nobody_can,
        csrf=request.cookies.get(CSRF_COOKIE, ""),
        nav=[n for n in NAV if user and user.can(n[1])],
        path=request.url.path,
        **values,
    )
    return HTMLResponse(page, status_code=status_code)


def _message_key(err: e.PostLoanError) -> str:
    if isinstance(err, e.ConflictError):
        return "error.conflict"
    if isinstance(err, e.PermissionDenied):
        return "error.forbidden"
    if isinstance(err, e.NotFound):
        return "error.not_found"
    if isinstance(err, e.ValidationError | e.DomainError):
        return "error.invalid"
    return "error.failed"


def _message(lang: str, err: e.PostLoanError) -> str:
    key = getattr(err, "key", None)
    params = getattr(err, "params", None)
    if isinstance(key, str) and isinstance(params, dict):  # a web.backoffice.UserMistake
        shown = {
            k.removesuffix("_minor"): i18n.money(v, lang) if k.endswith("_minor") else v
            for k, v in params.items()
        }
        return i18n.text(lang, key, **shown)
    if isinstance(err, e.IllegalTransition):
        return i18n.text(lang, "error.illegal", reason=str(err))
    return i18n.text(lang, _message_key(err), reason=str(err))


def error_response(request: Request, err: e.PostLoanError) -> Response:
    lang = negotiate(request)
    message = _message(lang, err)
    if is_htmx(request):  # into the page's message area: the form stays as it was
        response = render(request, "_message.html", kind="error", message=message)
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "error.html", status_code=status_of(err), message=message)


def login_redirect(request: Request) -> Response:
    target = "/login?next=" + quote(request.url.path, safe="/")
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class HtmlRoute(APIRoute):
    """A route whose errors are HTML for people, not the API's JSON."""

    def get_route_handler(self) -> Endpoint:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                return login_redirect(request)
            except NotAuthenticated:
                return login_redirect(request)
            except e.PostLoanError as err:
                return error_response(request, err)

        return handler
