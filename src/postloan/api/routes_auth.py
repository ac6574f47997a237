"""Logging in: OAuth2 password flow for API clients, a session cookie for the web UI.

``POST /api/v1/auth/token`` returns a signed bearer token. ``GET/POST /auth/login``
and ``POST /auth/logout`` are the web forms, protected against CSRF by a signed
double-submit token (cookie + form field). Both logins share the rate limit and
the lockout of :func:`postloan.security.users.check_login`.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from postloan.api.context import ApiContext
from postloan.api.deps import CSRF_COOKIE, SESSION_COOKIE, Ctx, CurrentUser, context
from postloan.api.errors import CsrfFailed
from postloan.api.i18n import localized
from postloan.api.schemas import MeOut, TokenOut
from postloan.domain.errors import PostLoanError
from postloan.security.permissions import permissions_of
from postloan.security.ratelimit import TooManyAttempts
from postloan.security.tokens import NotAuthenticated, revoke, user_of
from postloan.security.users import User, audit, check_login

api = APIRouter(prefix="/api/v1", tags=["auth"])
web = APIRouter(tags=["web"])
LOGIN_CSRF_COOKIE = "postloan_login_csrf"


def _login(ctx: ApiContext, request: Request, username: str, password: str) -> User:
    now = ctx.clock()
    client = request.client.host if request.client else "unknown"
    stamp = now.timestamp()
    if not (
        ctx.login_by_user.hit(f"u:{username}", stamp)
        and ctx.login_by_client.hit(f"c:{client}", stamp)
    ):
        raise localized(TooManyAttempts, "auth.rate_limited", seconds=int(ctx.login_by_user.window))
    with ctx.store.begin() as conn:
        outcome = check_login(conn, username, password, now=now, policy=ctx.policy)
    if outcome.user is not None:
        return outcome.user
    err: PostLoanError
    if outcome.reason == "locked":
        err = localized(NotAuthenticated, "auth.locked", minutes=ctx.policy.lockout_minutes)
    elif outcome.reason == "disabled":
        err = localized(NotAuthenticated, "auth.disabled")
    else:
        err = localized(NotAuthenticated, "auth.bad_credentials")
    raise err


@api.post("/auth/token", response_model=TokenOut)
def token(
    request: Request,
    ctx: Ctx,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    """OAuth2 password flow: a bearer token for ``token_minutes`` (config ``security:``)."""
    user = _login(ctx, request, form.username, form.password)
    ttl = timedelta(minutes=ctx.policy.token_minutes)
    issued = ctx.signer.issue(user, kind="access", now=ctx.clock(), ttl=ttl)
    return TokenOut(access_token=issued, expires_in=int(ttl.total_seconds()))


@api.get("/me", response_model=MeOut)
def me(user: CurrentUser) -> MeOut:
    return MeOut(**user.public(), permissions=permissions_of(user.role))


_FORM = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>postloan</title></head><body><form method="post" action="/auth/login">
<input type="hidden" name="csrf_token" value="{csrf}">
<label>{user_label} <input name="username" autocomplete="username" required></label>
<label>{pw_label} <input name="password" type="password" autocomplete="current-password"
 required></label><button type="submit">{submit}</button></form></body></html>"""


@web.get("/auth/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> HTMLResponse:
    from postloan.api.i18n import negotiate

    lang = negotiate(request)
    labels = ("用户名", "密码", "登录") if lang == "zh-CN" else ("User", "Password", "Log in")
    csrf = ctx.signer.new_login_csrf()
    page = _FORM.format(
        lang=lang, csrf=escape(csrf), user_label=labels[0], pw_label=labels[1], submit=labels[2]
    )
    response = HTMLResponse(page)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@web.post("/auth/login", include_in_schema=False)
def login_submit(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (
        csrf_token
        and hmac.compare_digest(csrf_token, cookie)
        and ctx.signer.check_login_csrf(csrf_token)
    ):
        raise localized(CsrfFailed, "auth.csrf")
    user = _login(ctx, request, username, password)
    now = ctx.clock()
    ttl = timedelta(minutes=ctx.policy.session_minutes)
    session = ctx.signer.issue(user, kind="session", now=now, ttl=ttl)
    claims = ctx.signer.verify(session, kind="session", now=now)
    response = RedirectResponse("/", status_code=303)
    secure = _secure(request)
    max_age = int(ttl.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, session, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE,
        ctx.signer.csrf_for(claims.token_id),
        max_age=max_age,
        httponly=False,  # page scripts (HTMX) copy it into the X-CSRF-Token header
        samesite="strict",
        secure=secure,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@web.post("/auth/logout", include_in_schema=False)
def logout(
    request: Request,
    ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """End the web session; needs the session's CSRF token (form field or header)."""
    session = request.cookies.get(SESSION_COOKIE, "")
    now = ctx.clock()
    claims = ctx.signer.verify(session, kind="session", now=now)
    sent = csrf_token or request.headers.get("X-CSRF-Token", "")
    if not hmac.compare_digest(sent, ctx.signer.csrf_for(claims.token_id)):
        raise localized(CsrfFailed, "auth.csrf")
    with ctx.store.begin() as conn:
        user = user_of(conn, claims)
        revoke(conn, claims, now=now)
        audit(
            conn,
            actor=user.username,
            role=user.role,
            action="auth.logout",
            object_type="user",
            object_id=user.username,
        )
    ctx.auth_cache.clear()
    response = RedirectResponse("/auth/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response
