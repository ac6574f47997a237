"""``postloan report monthly --month YYYY-MM --out DIR [--lang zh-CN|en]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postloan.cli import app
from postloan.domain.errors import ValidationError

report_app = typer.Typer(help="Reports: the monthly post-loan report (HTML, xlsx, CSV).")
app.add_typer(report_app, name="report")


@report_app.command("monthly")
def monthly_command(
    month: Annotated[str, typer.Option("--month", help="Month, YYYY-MM")],
    out: Annotated[Path, typer.Option("--out", help="Output folder")],
    lang: Annotated[str, typer.Option("--lang", help="zh-CN or en")] = "zh-CN",
) -> None:
    """Write report.html (self-contained, printable), report.xlsx and one CSV per table."""
    from postloan.analytics.report import build_monthly
    from postloan.commands.scorecard import parse_period
    from postloan.config import load_settings

    if lang not in ("zh-CN", "en"):
        raise ValidationError(f"--lang must be zh-CN or en, not {lang!r}")
    first, last = parse_period(month)
    written = build_monthly(load_settings(), first, last, out, lang)
    for path in written:
        typer.echo(str(path))
