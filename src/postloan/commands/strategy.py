"""``postloan strategy``: validate, dry-run and activate a collections strategy file.

Messages are in zh-CN by default, English with ``POSTLOAN_LANG=en``. Activation
is maker-checker: ``activate`` files a proposal that a second person approves
with ``postloan approvals approve ID --user CHECKER``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from postloan.cli import app

strategy_app = typer.Typer(
    no_args_is_help=True, help="Collections strategies (催收策略): validate, dry-run, activate"
)
app.add_typer(strategy_app, name="strategy")


def _t(zh: str, en: str) -> str:
    return en if os.environ.get("POSTLOAN_LANG", "zh-CN").lower().startswith("en") else zh


@strategy_app.command("validate")
def validate(file: Annotated[Path, typer.Argument(help="Strategy YAML or JSON")]) -> None:
    """Check a strategy file (exit 0 when valid, 2 with one line per problem)."""
    from postloan.collections.strategy_io import load_strategy

    strategy, _text = load_strategy(file)
    typer.echo(
        _t(
            f"{file}: 策略 {strategy.version} 有效（{len(strategy.segments)} 个分群，"
            f"分组 {', '.join(strategy.groups)}）",
            f"{file}: strategy {strategy.version} is valid ({len(strategy.segments)} segments, "
            f"groups {', '.join(strategy.groups)})",
        )
    )


@strategy_app.command("dry-run")
def dry_run_command(
    file: Annotated[Path, typer.Argument(help="Strategy YAML or JSON")],
    on: Annotated[str, typer.Option("--date", help="Business date (YYYY-MM-DD)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Loans per segment and group, and the actions due that day (nothing is written)."""
    from postloan.collections.dry_run import dry_run
    from postloan.collections.strategy_io import load_strategy
    from postloan.commands.eod import parse_date
    from postloan.config import load_settings
    from postloan.store.db import open_store
    from postloan.store.snapshots import SnapshotStore

    strategy, _text = load_strategy(file)
    business_date = parse_date(on, "--date")
    assert business_date is not None
    store = open_store()
    try:
        with store.begin() as conn:
            doc = dry_run(
                conn, SnapshotStore(load_settings().snapshot_dir), strategy, business_date
            )
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    seg = Table(
        _t("分群", "segment"),
        _t("分组", "group"),
        _t("贷款数", "loans"),
        _t("余额", "balance"),
        title=_t(
            f"策略 {doc['strategy_version']} 于 {doc['date']}",
            f"strategy {doc['strategy_version']} on {doc['date']}",
        ),
    )
    for row in doc["segments"]:
        seg.add_row(row["segment"], row["group"], str(row["loans"]), f"{row['balance'] / 100:.2f}")
    console.print(seg)
    due = Table(_t("动作", "action"), _t("类型", "kind"), _t("当日到期", "due today"))
    for row in doc["actions_due"]:
        due.add_row(row["action"], row["kind"], str(row["due"]))
    console.print(due)


@strategy_app.command("activate")
def activate(
    file: Annotated[Path, typer.Argument(help="Strategy YAML or JSON")],
    user: Annotated[str, typer.Option("--user", help="The maker (a risk manager)")],
) -> None:
    """Propose the strategy for activation; it goes live when a second person approves."""
    from postloan.collections.activation import propose_activation
    from postloan.collections.strategy_io import read_text
    from postloan.store.db import open_store

    text = read_text(file)
    store = open_store()
    try:
        with store.begin() as conn:
            approval_id = propose_activation(conn, text, str(file), user=user)
    finally:
        store.close()
    typer.echo(
        _t(
            f"已提交审批 {approval_id}；由另一位风险经理执行 "
            f"`postloan approvals approve {approval_id} --user 审批人` 后生效",
            f"proposed as approval {approval_id}; it goes live when another risk manager runs "
            f"`postloan approvals approve {approval_id} --user CHECKER`",
        )
    )
