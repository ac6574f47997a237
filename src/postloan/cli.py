"""Command-line entry point: ``postloan COMMAND``.

Each command lives in a module under ``postloan.commands`` and registers itself
on :data:`app`. User mistakes raise a ``PostLoanError``; :func:`main` prints its
message (no stack trace) and exits with the error's exit code.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from postloan.allocator import tune_polars_allocator
from postloan.errors import PostLoanError

app = typer.Typer(
    no_args_is_help=True,
    help="postloan: post-loan management for personal loans (贷后管理)",
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print the version."""
    from postloan import __version__

    typer.echo(__version__)


def _register() -> None:
    """Import the command modules; each adds its commands to ``app``."""
    import postloan.commands.alerts  # noqa: F401
    import postloan.commands.audit  # noqa: F401
    import postloan.commands.cases  # noqa: F401
    import postloan.commands.demo  # noqa: F401
    import postloan.commands.dispatch  # noqa: F401
    import postloan.commands.eod  # noqa: F401
    import postloan.commands.importing  # noqa: F401
    import postloan.commands.kpi  # noqa: F401
    import postloan.commands.model  # noqa: F401
    import postloan.commands.recovery  # noqa: F401
    import postloan.commands.report  # noqa: F401
    import postloan.commands.scorecard  # noqa: F401
    import postloan.commands.simulate  # noqa: F401
    import postloan.commands.state  # noqa: F401
    import postloan.commands.strategy  # noqa: F401
    from postloan.commands import approvals, keys, schedule, serve, user  # noqa: F401


def main() -> None:
    tune_polars_allocator()  # before any command module imports Polars
    _register()
    try:
        app()
    except PostLoanError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False)
        sys.exit(err.exit_code)
