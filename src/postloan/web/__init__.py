"""The web UI (server-rendered, Jinja2 + HTMX + ECharts), mounted on the API app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def mount_web(app: FastAPI) -> None:
    """Add the pages and their static files (vendored htmx and ECharts) to ``app``."""
    from postloan.security.approvals import load_handlers
    from postloan.web.pages import STATIC
    from postloan.web.routes import router
    from postloan.web.routes_backoffice import router as back_office

    load_handlers()  # deciding an approval applies it through its module's handler
    app.include_router(router)
    app.include_router(back_office)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
