"""``postloan serve``: run the API (and, later, the web UI and dispatcher) with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from postloan.cli import app


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Serve the REST API at http://HOST:PORT/api/v1 (OpenAPI at /openapi.json)."""
    import uvicorn

    from postloan.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")
