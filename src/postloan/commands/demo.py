"""``postloan demo``: the main job on the embedded default, as far as it exists today.

It simulates a loan book (about 20k loans over 18 months by default), imports
the feed files into ``POSTLOAN_HOME`` (a re-run changes nothing), runs the
close of business for every day of the last two months (``--eod-days``) with
collections strategy, alerts and the outbox, creates one user per role (fresh
passwords printed on every run), prints the portfolio KPIs of the last day, and
then serves the web UI, the API and the dispatcher (``postloan serve``) until
interrupted (``--no-serve`` stops after the summary).
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from postloan.cli import app
from postloan.domain.errors import ValidationError

if TYPE_CHECKING:
    from postloan.config import Settings

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
    eod_days: Annotated[
        int, typer.Option("--eod-days", help="Run the close of business for this many days")
    ] = 61,
    host: Annotated[str, typer.Option("--host", help="Interface to serve on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to serve on")] = 8000,
) -> None:
    """Simulate a book, import it, compute every loan's state and print a portfolio summary."""
    from postloan.commands.importing import print_report
    from postloan.config import load_settings
    from postloan.feeds.importer import import_directory

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

    logins = demo_users(settings)  # before the closes, so collectors get cases assigned
    kpi = close_recent_days(settings, business_date, eod_days, console)
    print_logins(logins, console)
    print_summary(kpi, console)
    example = _delinquent_example(settings, business_date)
    if example:
        console.print(
            f"Next: postloan state {example} --date {business_date.isoformat()} --format json",
            highlight=False,
        )
    if not no_serve:
        from postloan.commands.serve import run_server

        console.print(
            f"Serving the web UI at http://{host}:{port}/ (API: /api/v1, /openapi.json); "
            "Ctrl-C to stop.",
            highlight=False,
        )
        run_server(settings, host, port)


def demo_users(settings: Settings) -> dict[str, tuple[str, str]]:
    """One user per role (``demo_<role>``), each with a new random password; the
    passwords exist only in this run's output (stored hashed, changes audited)."""
    import secrets

    from postloan.security.config import load_security_policy
    from postloan.security.roles import Role
    from postloan.security.users import create_role_users, find_user, set_password
    from postloan.store.db import open_store

    policy = load_security_policy(settings)
    store = open_store(settings)
    try:
        with store.begin() as conn:
            created = create_role_users(conn, prefix="demo", policy=policy)
            for name in (f"demo_{role.value}" for role in Role):
                user = find_user(conn, name)
                if name in created or user is None:
                    continue
                password = secrets.token_urlsafe(9)
                set_password(conn, name, password, actor="demo", actor_role="admin", policy=policy)
                created[name] = (user.role, password)
    finally:
        store.close()
    return dict(sorted(created.items()))


def print_logins(logins: dict[str, tuple[str, str]], console: Console) -> None:
    table = Table("user / 用户", "role / 角色", "password / 密码", title="Demo logins / 演示账号")
    for name, (role, password) in logins.items():
        table.add_row(name, role, password)
    console.print(table)


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


def close_recent_days(
    settings: Settings, business_date: date, days: int, console: Console
) -> dict[str, Any]:
    """Run the close of business for every day of the last ``days`` days up to
    ``business_date`` that is not closed yet, with a progress bar; return its KPIs."""
    from datetime import timedelta

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from postloan.batch.pipeline import last_closed_business_date, run_range
    from postloan.commands.kpi import kpi_document
    from postloan.store.db import open_store
    from postloan.store.snapshots import SnapshotStore

    if days < 1:
        raise ValidationError("--eod-days must be at least 1")
    store = open_store(settings)
    try:
        with store.begin() as conn:
            watermark = last_closed_business_date(conn)
        first = business_date - timedelta(days=days - 1)
        if watermark is not None and first <= watermark < business_date:
            first = watermark + timedelta(days=1)
        dates = [first + timedelta(days=k) for k in range((business_date - first).days + 1)]
        if watermark is not None and watermark >= business_date:
            dates = []
        columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("close of business", total=len(dates))

            def report(event: str, **fields: Any) -> None:
                if event == "date_done":
                    bar.update(task, advance=1, description=f"close of business {fields['date']}")

            run_range(store, dates, report=report)
    finally:
        store.close()
    rows = SnapshotStore(settings.snapshot_dir).read("kpi", business_date).to_dicts()
    return kpi_document(rows, business_date)


def _delinquent_example(settings: Settings, business_date: date) -> str | None:
    import polars as pl

    from postloan.store.snapshots import SnapshotStore

    states = SnapshotStore(settings.snapshot_dir).read("loan_state", business_date)
    late = states.filter(pl.col("days_past_due") > 0).sort("loan_id")
    return str(late["loan_id"][0]) if late.height else None


def print_summary(doc: dict[str, Any], console: Console) -> None:
    """The headline KPIs and the bucket and five-category mix of the last closed date."""
    console.print(
        f"\n[bold]Portfolio on {doc['date']}[/]: {doc['loans']} open loans, "
        f"gross balance {doc['balance']}",
        highlight=False,
    )
    console.print(
        f"NPL ratio 不良率 {float(doc['npl_ratio']):.2%}   "
        f"90+ DPD ratio {float(doc['dpd90_ratio']):.2%}   "
        f"charged off: {doc['charged_off']['count']} loans, {doc['charged_off']['balance']}",
        highlight=False,
    )
    for key, title in (("buckets", "bucket mix"), ("five_category", "five categories 五级分类")):
        table = Table(key, "loans", "balance", title=title)
        cells = doc[key]
        order = sorted(cells, key=_bucket_order) if key == "buckets" else list(cells)
        for name in order:
            table.add_row(name, str(cells[name]["count"]), cells[name]["balance"])
        console.print(table)


def _bucket_order(label: str) -> tuple[int, str]:
    digits = "".join(ch for ch in label if ch.isdigit())
    return (int(digits) if digits else 99, label)
