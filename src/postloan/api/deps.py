"""FastAPI dependencies: who is calling (:func:`current_user`) and may they (:func:`require`).

Credentials, in this order: ``Authorization: Bearer <token>`` (OAuth2 password
flow), ``X-API-Key: pl_…`` (systems), the ``postloan_session`` cookie (the web UI).
A request authenticated by the session cookie that changes something must carry
the session's CSRF token in ``X-CSRF-Token`` (double submit: the same value is in
the ``postloan_csrf`` cookie).

The dependencies are ``async``: a read with a bearer token already in
:class:`~postloan.api.authcache.TokenCache` is authenticated on the event loop with
no database access and no thread hop; anything else runs :func:`current_user` (the
full check) in the thread pool once.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from postloan.api.context import ApiContext
from postloan.api.errors import CsrfFailed
from postloan.api.i18n import localized
from postloan.domain.errors import PermissionDenied
from postloan.security.permissions import PERMISSIONS, has_permission
from postloan.security.tokens import NotAuthenticated, is_revoked, user_of, user_of_api_key
from postloan.security.users import User

SESSION_COOKIE = "postloan_session"
CSRF_COOKIE = "postloan_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.postloan
    return ctx


Ctx = Annotated[ApiContext, Depends(context)]


def current_user(
    request: Request,
    ctx: Ctx,
    bearer: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> User:
    now = ctx.clock()
    with ctx.store.begin() as conn:
        if bearer:
            try:
                claims = ctx.signer.verify(bearer, kind="access", now=now)
                return user_of(conn, claims)
            except NotAuthenticated:
                raise localized(NotAuthenticated, "auth.invalid_token") from None
        if api_key:
            try:
                return user_of_api_key(conn, api_key, now=now)
            except NotAuthenticated:
                raise localized(NotAuthenticated, "auth.invalid_key") from None
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            try:
                claims = ctx.signer.verify(session, kind="session", now=now)
                if is_revoked(conn, claims):
                    raise NotAuthenticated("the session has ended; log in again")
                user = user_of(conn, claims)
            except NotAuthenticated:
                raise localized(NotAuthenticated, "auth.invalid_token") from None
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not hmac.compare_digest(sent, ctx.signer.csrf_for(claims.token_id)):
                    raise localized(CsrfFailed, "auth.csrf")
            return user
    raise localized(NotAuthenticated, "auth.missing")


async def authenticated_user(
    request: Request,
    ctx: Ctx,
    bearer: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> User:
    """:func:`current_user`, with reads by a recently checked bearer token served from the
    token cache (writes always check the user row)."""
    cacheable = bool(bearer) and request.method in SAFE_METHODS
    if cacheable and bearer:
        cached = ctx.auth_cache.get(bearer, ctx.clock())
        if cached is not None:
            return cached
    user = await run_in_threadpool(current_user, request, ctx, bearer, api_key)
    if cacheable and bearer:
        claims = ctx.signer.verify(bearer, kind="access", now=ctx.clock())
        ctx.auth_cache.put(bearer, user, claims.expires)
    return user


CurrentUser = Annotated[User, Depends(authenticated_user)]


def require(permission: str) -> Callable[[User], Awaitable[User]]:
    """A dependency: the current user, if their role holds ``permission`` (else 403)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def dependency(user: CurrentUser) -> User:
        if not has_permission(user.role, permission):
            raise localized(PermissionDenied, "perm.denied", role=user.role, permission=permission)
        return user

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency
