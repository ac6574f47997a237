"""One mapping from errors to HTTP: ``{code, message, details}`` in the caller's language.

PostLoanError subclasses map to status codes here (and to exit codes in the CLI):
not_authenticated 401, permission_denied 403, not_found 404, conflict and
illegal_transition 409, validation_error / invalid_terms / domain_error 422,
feed_error 400, too_many_requests 429, config_error 500. Request validation errors
are 422 with the offending fields in ``details.errors``; unknown routes are 404.
Nothing a user can trigger returns a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from postloan.api.i18n import localized, message_of, negotiate, title
from postloan.domain import errors as e
from postloan.security.ratelimit import TooManyAttempts
from postloan.security.tokens import NotAuthenticated

log = logging.getLogger("postloan.api")

STATUS: list[tuple[type[e.PostLoanError], int]] = [
    (NotAuthenticated, 401),
    (TooManyAttempts, 429),
    (e.PermissionDenied, 403),
    (e.NotFound, 404),
    (e.ConflictError, 409),
    (e.IllegalTransition, 409),
    (e.ValidationError, 422),
    (e.DomainError, 422),
    (e.FeedError, 400),
    (e.ConfigError, 500),
]


class CsrfFailed(e.PermissionDenied):
    code = "csrf_failed"


def status_of(err: e.PostLoanError) -> int:
    for cls, status in STATUS:
        if isinstance(err, cls):
            return status
    return 400


def error_body(code: str, message: str, details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details}


async def _postloan_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.PostLoanError)
    lang = negotiate(request)
    message, details = message_of(exc, lang)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    headers = {"Retry-After": "60"} if status == 429 else headers
    body = error_body(exc.code, message, details)
    return JSONResponse(body, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = negotiate(request)
    fields = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    body = error_body("validation_error", title("validation_error", lang), {"errors": fields})
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    lang = negotiate(request)
    if exc.status_code == 404:
        err = localized(e.NotFound, "route.not_found", path=request.url.path)
        message, details = message_of(err, lang)
        return JSONResponse(error_body("not_found", message, details), status_code=404)
    code = "method_not_allowed" if exc.status_code == 405 else "http_error"
    body = error_body(code, title(code, lang), {"reason": str(exc.detail)})
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    lang = negotiate(request)
    body = error_body("internal_error", title("internal_error", lang), {})
    return JSONResponse(body, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.PostLoanError, _postloan_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
