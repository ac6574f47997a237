"""``postloan demo``: the main job on the embedded default, as far as it exists today.

It simulates a loan book (about 20k loans over 18 months by default), imports
the feed files into ``POSTLOAN_HOME`` (a re-run changes nothing), works out
every loan's state on the last business date of the book, and prints a
portfolio summary. The close-of-business pipeline and the web UI are later
issues: until they land the demo says so instead of pretending.
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
    loans: Annotated[int, typer.Option("--loans", help="Loans to simulate")] = 20_000,
    months: Annotated[int, typer.Option("--months", help="Months to simulate")] = 18,
    seed: Annotated[int, typer.Option("--seed", help="Simulator seed")] = 7,
    sample: Annotated[
        bool, typer.Option("--sample", help="Use the small embedded sample book instead")
    ] = False,
    on: Annotated[
        str | None, typer.Option("--date", help="Business date (default: end of the book)")
    ] = None,
) -> None:
    """Simulate a book, import it, compute every loan's state and print a portfolio summary."""
    from postloan.analytics.portfolio import summarise
    from postloan.commands.importing import print_report
    from postloan.config import load_settings
    from postloan.feeds.importer import import_directory
    from postloan.policy_config import load_policy

    console = Console()
    settings = load_settings()
    console.print(f"[bold]postloan demo[/] — home {settings.home}", highlight=False)
    if sample:
        feeds, end_of_book = sample_feeds_dir(), SAMPLE_BUSINESS_DATE
    else:
        feeds, end_of_book = simulated_feeds(settings, loans, months, seed, console)
    business_date = _parse_date(on) if on else end_of_book
    with console.status(f"importing {feeds}"):
        report = import_directory(feeds)
    print_report(report, console)

    console.print(
        "close of business: the vectorised pipeline is not built yet; loan states come "
        "from the per-loan reference implementation.",
        highlight=False,
    )
    policy = load_policy(settings)
    states = compute_states(settings, business_date, policy, console)
    print_summary(summarise(states), business_date, console)
    example = next((s.loan_id for s in states if s.days_past_due > 0), None)
    if example:
        console.print(
            f"Next: postloan state {example} --date {business_date.isoformat()} --format json",
            highlight=False,
        )
    if not no_serve:
        console.print(
            "The web UI is not built yet (open issue: REST API and web UI); nothing to serve.",
            highlight=False,
        )


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--date: {text!r} is not a date (YYYY-MM-DD)") from None


def simulated_feeds(
    settings: Settings, loans: int, months: int, seed: int, console: Console
) -> tuple[Path, date]:
    """Feed files of a simulated book under ``$POSTLOAN_HOME/demo``, simulated once per
    (loans, months, seed): a re-run reuses them, so the import is a no-op."""
    import json

    folder = settings.home / "demo" / f"sim-{loans}-{months}-{seed}"
    done = folder / "COMPLETE.json"
    if not done.exists():
        from postloan.sim import load_config, simulate, write_feeds

        with console.status(f"simulating {loans:,} loans over {months} months (seed {seed})"):
            result = simulate(load_config(None), loans=loans, months=months, seed=seed)
            write_feeds(result, folder, "parquet")
            end = result.truth["as_of"].max()
        done.write_text(json.dumps({"business_date": str(end)}), encoding="utf-8")
        console.print(
            f"simulated {loans:,} loans, {result.transactions.height:,} transactions → {folder}",
            highlight=False,
        )
    end_of_book = date.fromisoformat(json.loads(done.read_text(encoding="utf-8"))["business_date"])
    return folder, end_of_book


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
