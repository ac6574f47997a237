"""The application factory: ``create_app(settings) -> FastAPI``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from postloan import __version__
from postloan.api import errors
from postloan.api.context import ApiContext, Clock, system_clock
from postloan.api.routes_alerts import router as alerts_router
from postloan.api.routes_approvals import router as approvals_router
from postloan.api.routes_auth import api as auth_api
from postloan.api.routes_auth import web as auth_web
from postloan.api.routes_borrowers import router as borrowers_router
from postloan.api.routes_cases import router as cases_router
from postloan.api.routes_events import router as events_router
from postloan.api.routes_kpis import router as kpis_router
from postloan.api.routes_loans import router as loans_router
from postloan.api.routes_models import router as models_router
from postloan.api.routes_strategies import router as strategies_router
from postloan.api.routes_users import router as users_router
from postloan.api.schemas import ErrorOut
from postloan.config import Settings, load_settings
from postloan.security.config import load_security_policy
from postloan.security.ratelimit import SlidingWindow
from postloan.security.tokens import TokenSigner, load_or_create_key
from postloan.store import open_store
from postloan.web import mount_web

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in [
        (400, "malformed request (a body that is not JSON or not UTF-8)"),
        (401, "not authenticated"),
        (403, "permission denied"),
        (404, "not found or outside the caller's data scope"),
        (409, "conflict"),
        (422, "invalid input"),
        (429, "too many requests"),
    ]
}


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The API on the store of ``settings`` (default: the environment), migrated to head."""
    settings = settings or load_settings()
    store = open_store(settings)
    policy = load_security_policy(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        lifespan=lifespan,
        title="postloan",
        version=__version__,
        description="Post-loan management for personal loans (贷后管理). "
        "Errors are {code, message, details} in the language of Accept-Language "
        "(zh-CN by default, en).",
        openapi_url="/openapi.json",
        responses=ERROR_RESPONSES,
    )
    app.state.postloan = ApiContext(
        store=store,
        signer=TokenSigner(load_or_create_key(settings.keys_dir)),
        policy=policy,
        clock=clock or system_clock,
        login_by_user=SlidingWindow(max(policy.login_attempts_per_minute, 1), 60.0),
        login_by_client=SlidingWindow(max(policy.login_attempts_per_minute, 1) * 5, 60.0),
    )
    errors.install(app)
    app.include_router(auth_api)
    app.include_router(auth_web)
    app.include_router(users_router)
    app.include_router(approvals_router)
    for router in (
        borrowers_router,
        loans_router,
        events_router,
        alerts_router,
        cases_router,
        strategies_router,
        models_router,
        kpis_router,
    ):
        app.include_router(router)
    mount_web(app)  # the web UI's pages and static files
    return app
