"""``postloan simulate``: write a synthetic loan book as feed files (and compare strategies)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postloan.cli import app
from postloan.domain.errors import ConfigError

simulate_app = typer.Typer(
    help="Simulate a synthetic loan book (digital twin) and write it as feed files.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(simulate_app, name="simulate")


@simulate_app.callback()
def simulate_command(
    ctx: typer.Context,
    loans: Annotated[int | None, typer.Option("--loans", help="Number of loans")] = None,
    months: Annotated[int | None, typer.Option("--months", help="Months to simulate")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML overriding default_config.yaml")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet|csv (feeds)")] = "parquet",
) -> None:
    """Write borrowers, contacts, loans, schedules, loan_marks and transactions feeds,
    plus truth.parquet (the oracle), sim_monthly.parquet and treatments.parquet."""
    if ctx.invoked_subcommand is not None:
        return
    if loans is None or months is None or out is None:
        raise ConfigError("postloan simulate needs --loans N --months M --out DIR (and --seed S)")
    from postloan.sim import load_config, simulate, write_feeds

    cfg = load_config(config)
    result = simulate(cfg, loans=loans, months=months, seed=seed)
    paths = write_feeds(result, out, fmt)
    typer.echo(
        f"simulated {loans} loans over {months} months (seed {seed}): "
        f"{result.transactions.height} transactions, {result.truth.height} truth rows"
    )
    for path in paths:
        typer.echo(f"  {path}")


@simulate_app.command("compare")
def compare_command(
    champion: Annotated[Path, typer.Option("--champion", help="Strategy config A (YAML)")],
    challenger: Annotated[Path, typer.Option("--challenger", help="Strategy config B (YAML)")],
    loans: Annotated[int, typer.Option("--loans", help="Number of loans")] = 20_000,
    months: Annotated[int, typer.Option("--months", help="Months to simulate")] = 18,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 0,
) -> None:
    """Replay the same book (same borrowers, same shocks, same random numbers) under two
    strategies and print their outcomes side by side."""
    from rich.console import Console
    from rich.table import Table

    from postloan.sim import load_config
    from postloan.sim.compare import compare

    rows = compare(
        {"champion": load_config(champion), "challenger": load_config(challenger)},
        loans=loans,
        months=months,
        seed=seed,
    )
    table = Table(title=f"{loans} loans, {months} months, seed {seed} (common random numbers)")
    table.add_column("outcome")
    for name in rows:
        table.add_column(name, justify="right")
    metrics = list(next(iter(rows.values())))
    for metric in metrics:
        table.add_row(metric, *(rows[name][metric] for name in rows))
    Console().print(table)
