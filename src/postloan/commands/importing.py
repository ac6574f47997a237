"""``postloan import DIR``: load the feed files of a directory into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from postloan.cli import app

if TYPE_CHECKING:  # the importer pulls in Polars and SQLAlchemy: load it only when used
    from postloan.feeds.importer import ImportReport

#: Exit code when the import finished but some rows (or whole files) were rejected.
EXIT_REJECTED = 3


@app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="Folder holding borrowers.csv, loans.csv, …")],
    force: Annotated[
        bool, typer.Option(help="Load files again even if their content was loaded before")
    ] = False,
) -> None:
    """Validate and load every feed file in DIRECTORY; rejected rows go to quarantine."""
    from postloan.feeds.importer import import_directory

    report = import_directory(directory, force=force)
    console = Console()
    print_report(report, Console(width=max(console.width, 120)))
    if report.rejected or report.failed_files:
        raise typer.Exit(EXIT_REJECTED)


def print_report(report: ImportReport, console: Console) -> None:
    table = Table("feed", "file", "status", "rows", "loaded", "held", "rejected", "flagged")
    table.title = f"import {report.run_id}"
    for f in report.files:
        table.add_row(
            f.feed,
            f.path.name,
            f.status,
            str(f.rows),
            str(f.loaded),
            str(f.held),
            str(f.rejected),
            str(f.flagged),
        )
    console.print(table)
    for f in report.failed_files:
        console.print(f"[bold red]rejected file:[/] {f.message}", highlight=False)
    if report.released or report.held_rejected:
        console.print(
            f"held transactions released: {report.released}, rejected on release: "
            f"{report.held_rejected}"
        )
    if report.quarantine_dir is not None:
        console.print(f"quarantine: {report.quarantine_dir}", highlight=False)
