"""``postloan demo``: the main job on the embedded default, as far as it exists today.

It imports the embedded sample book into ``POSTLOAN_HOME`` (a re-run changes
nothing), works out every loan's state on the demo business date with the
per-loan reference, and prints a portfolio summary. The portfolio simulator,
the close-of-business pipeline and the web UI are later issues: until they
land the demo says so instead of pretending.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from postloan.cli import app
from postloan.domain.errors import ValidationError

if TYPE_CHECKING:
    from postloan.config import Settings
    from postloan.domain.loan_state import LoanState
    from postloan.domain.policy import ServicingPolicy

#: The business date the embedded sample book is written up to.
SAMPLE_BUSINESS_DATE = date(2026, 10, 31)


def sample_feeds_dir() -> Path:
    return Path(str(resources.files("postloan.demo") / "sample_feeds"))


@app.command("demo")
def demo_command(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Exit after printing the summary")
    ] = False,
    on: Annotated[
        str, typer.Option("--date", help="Business date YYYY-MM-DD")
    ] = SAMPLE_BUSINESS_DATE.isoformat(),
) -> None:
    """Import the sample book, compute every loan's state and print a portfolio summary."""
    from postloan.analytics.portfolio import summarise
    from postloan.commands.importing import print_report
    from postloan.config import load_settings
    from postloan.feeds.importer import import_directory
    from postloan.policy_config import load_policy

    try:
        business_date = date.fromisoformat(on)
    except ValueError:
        raise ValidationError(f"--date: {on!r} is not a date (YYYY-MM-DD)") from None
    console = Console()
    settings = load_settings()
    console.print(f"[bold]postloan demo[/] — home {settings.home}", highlight=False)
    report = import_directory(sample_feeds_dir())
    print_report(report, console)

    policy = load_policy(settings)
    states = compute_states(settings, business_date, policy, console)
    loan_ids = [state.loan_id for state in states]
    print_summary(summarise(states), business_date, console)
    console.print(
        "Next: `postloan state LOAN_ID --date "
        f"{business_date.isoformat()} --format json` for one loan "
        f"(e.g. {loan_ids[0] if loan_ids else 'L00001'}).",
        highlight=False,
    )
    if not no_serve:
        console.print(
            "The web UI is not built yet (open issue: REST API and web UI); nothing to serve.",
            highlight=False,
        )


def compute_states(
    settings: Settings, business_date: date, policy: ServicingPolicy, console: Console
) -> list[LoanState]:
    """Every loan's state on ``business_date`` through the per-loan reference, with a
    progress bar (the vectorised close of business will replace this)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from postloan.batch.reference import iter_books, reference_states
    from postloan.store.db import open_store
    from postloan.store.repository import (
        loans_frame,
        marks_frame,
        schedules_frame,
        transactions_frame,
    )

    store = open_store(settings)
    try:
        with store.begin() as conn:
            frames = (
                loans_frame(conn),
                schedules_frame(conn),
                transactions_frame(conn),
                marks_frame(conn),
            )
    finally:
        store.close()
    books = list(iter_books(*frames))
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(f"loan states on {business_date.isoformat()}", total=len(books))
        return reference_states(
            books, business_date, policy, progress=lambda n: bar.advance(task, n)
        )


def print_summary(summary: object, business_date: date, console: Console) -> None:
    from postloan.analytics.portfolio import PortfolioSummary
    from postloan.domain.money import format_minor

    assert isinstance(summary, PortfolioSummary)
    console.print(
        f"\n[bold]Portfolio on {business_date.isoformat()}[/]: {summary.loans} loans, "
        f"{summary.open_loans} open, gross balance {format_minor(summary.gross_balance)}",
        highlight=False,
    )
    console.print(
        f"NPL ratio 不良率 {float(summary.npl_ratio):.2%}   "
        f"90+ DPD ratio {float(summary.dpd90_ratio):.2%}   "
        f"charged off: {summary.charged_off_loans} loans, "
        f"{format_minor(summary.charged_off_balance)}",
        highlight=False,
    )
    buckets = Table("bucket", "loans", "balance", "share", title="bucket mix")
    for bucket in sorted(summary.bucket_count, key=_bucket_order):
        bal = summary.bucket_balance[bucket]
        share = bal / summary.gross_balance if summary.gross_balance else 0.0
        buckets.add_row(
            bucket, str(summary.bucket_count[bucket]), format_minor(bal), f"{share:.2%}"
        )
    classes = Table("class", "loans", "balance", title="five categories 五级分类")
    for klass in ("normal", "special_mention", "substandard", "doubtful", "loss"):
        if klass in summary.class_count:
            classes.add_row(
                klass, str(summary.class_count[klass]), format_minor(summary.class_balance[klass])
            )
    console.print(buckets)
    console.print(classes)


def _bucket_order(label: str) -> tuple[int, str]:
    digits = "".join(ch for ch in label if ch.isdigit())
    return (int(digits) if digits else 99, label)
