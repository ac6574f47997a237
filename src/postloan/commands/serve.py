"""``postloan serve``: the API, the web UI and the outbox dispatcher in one process.

uvicorn serves the app; the dispatcher (``postloan dispatch``) runs on a thread
beside it and stops with the server, so reminders and collection messages go
out while staff work. ``--no-dispatch`` serves only the app (e.g. when the
dispatcher runs as its own service).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

import typer

from postloan.cli import app

if TYPE_CHECKING:
    from postloan.config import Settings


def run_server(settings: Settings, host: str, port: int, *, dispatch: bool = True) -> None:
    """Serve until interrupted; the dispatcher thread (if any) stops with the server."""
    import uvicorn

    from postloan.api.app import create_app

    application = create_app(settings)  # opens (and migrates) the store first, on this thread
    stop = threading.Event()
    worker = _start_dispatcher(settings, stop) if dispatch else None
    try:
        uvicorn.run(application, host=host, port=port, log_level="info")
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)


def _start_dispatcher(settings: Settings, stop: threading.Event) -> threading.Thread:
    from postloan.contact.dispatcher import Dispatcher, utc_now
    from postloan.contact.settings import load_contact_settings
    from postloan.store import open_store

    def loop() -> None:
        store = open_store(settings)
        worker = Dispatcher(store, load_contact_settings(settings), clock=utc_now)
        try:
            worker.run(stop, poll_seconds=5.0)
        finally:
            worker.close()
            store.close()

    thread = threading.Thread(target=loop, name="postloan-dispatcher", daemon=True)
    thread.start()
    return thread


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    no_dispatch: Annotated[
        bool, typer.Option("--no-dispatch", help="Do not run the outbox dispatcher")
    ] = False,
) -> None:
    """Serve the web UI at http://HOST:PORT/ and the REST API at /api/v1 (OpenAPI at
    /openapi.json), with the outbox dispatcher. 启动界面、接口与消息发送。"""
    from postloan.config import load_settings

    run_server(load_settings(), host, port, dispatch=not no_dispatch)
