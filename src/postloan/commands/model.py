"""``postloan model``: train, evaluate, list and activate the risk models.

``train --data FILE --target COL --positive VALUE [--cv K]`` checks a model recipe
on any flat labelled table (CSV or Parquet; non-numeric columns are categories)
and prints ``auc ks gini brier`` (means over K folds, or on a held-out 30%).
``train --purpose bscore|bscore180|cscore`` trains on the store's history,
tests out of time and registers the model. With ``--json`` a command prints
exactly one JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from postloan.cli import app
from postloan.domain.errors import ValidationError

model_app = typer.Typer(no_args_is_help=True, help="Risk models: train, evaluate, activate (模型)")
app.add_typer(model_app, name="model")

PURPOSES = ("bscore", "bscore180", "cscore")
KINDS = ("lgbm", "scorecard")
FIGURES = ("auc", "ks", "gini", "brier", "psi", "oracle_auc")


def _emit(doc: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    typer.echo(title)
    for key in FIGURES:
        if key in doc:
            typer.echo(f"  {key:<11}{doc[key]:.4f}")
    for key, value in doc.items():
        if key not in FIGURES and not isinstance(value, (list, dict)):
            typer.echo(f"  {key:<11}{value}")


def _labelled(data: Path, target: str, positive: str | None) -> Any:
    import polars as pl

    from postloan.risk.tabular import binary_target, read_table

    frame = read_table(data)
    y = binary_target(frame, target, positive)
    return frame.with_columns(pl.Series(target, y, dtype=pl.Int8))


@model_app.command("train")
def train_command(
    data: Annotated[
        Path | None, typer.Option("--data", help="A labelled table (CSV or Parquet)")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="The outcome column")] = None,
    positive: Annotated[
        str | None, typer.Option("--positive", help="The outcome value that is the event")
    ] = None,
    cv: Annotated[int | None, typer.Option("--cv", help="K-fold cross-validation")] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="bscore, bscore180 or cscore (store history)")
    ] = None,
    window: Annotated[
        str | None, typer.Option("--window", help="Observation window FROM:TO (YYYY-MM-DD)")
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="lgbm or scorecard")] = "lgbm",
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 7,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Simulator truth.parquet (oracle AUC)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Train a model and print auc, ks, gini and brier (--data: evaluation only)."""
    if kind not in KINDS:
        raise ValidationError(f"--kind must be lgbm or scorecard, not {kind!r}")
    if (data is None) == (purpose is None):
        raise ValidationError("give either --data FILE --target COLUMN or --purpose bscore|cscore")
    if data is not None:
        if target is None:
            raise ValidationError("--data needs --target COLUMN (and --positive VALUE)")
        if window is not None:
            raise ValidationError("--window applies to --purpose (the store's history)")
        from postloan.risk.validation import cross_validate, holdout

        frame = _labelled(data, target, positive)
        if cv is not None:
            doc = cross_validate(frame, target, cv, kind=kind, seed=seed)  # type: ignore[arg-type]
        else:
            doc = holdout(frame, target, kind=kind, seed=seed)  # type: ignore[arg-type]
        doc |= {"kind": kind, "rows": frame.height, "events": int(frame[target].sum())}
        how = f"{cv}-fold CV means" if cv is not None else "held-out 30%"
        _emit(doc, as_json, f"{kind} on {data.name} ({how})")
        return
    assert purpose is not None
    if purpose not in PURPOSES:
        raise ValidationError(f"--purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}")
    if cv is not None or target is not None or positive is not None:
        raise ValidationError("--cv/--target/--positive apply to --data, not --purpose")
    from postloan.config import load_settings
    from postloan.risk.training import train_purpose

    _, doc = train_purpose(
        load_settings(),
        purpose,
        window=window,
        kind=kind,  # type: ignore[arg-type]
        seed=seed,
        truth=truth,
    )
    _emit(doc, as_json, f"{purpose} {kind} model {doc['model_id']} (out-of-time test)")


@model_app.command("evaluate")
def evaluate_command(
    model_id: Annotated[str, typer.Argument(help="Model id (postloan model list)")],
    data: Annotated[Path | None, typer.Option("--data", help="A labelled table")] = None,
    target: Annotated[str | None, typer.Option("--target", help="The outcome column")] = None,
    positive: Annotated[str | None, typer.Option("--positive", help="The event value")] = None,
    window: Annotated[str | None, typer.Option("--window", help="Observation window")] = None,
    truth: Annotated[Path | None, typer.Option("--truth", help="Simulator truth.parquet")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """auc, ks, gini, brier, psi (and oracle_auc on simulated data) of a model."""
    from postloan.config import load_settings
    from postloan.risk.training import evaluate_model

    settings = load_settings()
    frame = None
    if data is not None:
        if target is None:
            raise ValidationError("--data needs --target COLUMN (and --positive VALUE)")
        frame = _labelled(data, target, positive)
    elif target is not None or positive is not None:
        raise ValidationError("--target/--positive apply to --data")
    doc = evaluate_model(settings, model_id, frame=frame, target=target, window=window, truth=truth)
    _emit(doc, as_json, f"model {model_id}")


@model_app.command("monitor")
def monitor_command(
    model_id: Annotated[str, typer.Argument(help="Model id (postloan model list)")],
    on: Annotated[
        str | None, typer.Option("--date", help="Features snapshot date (default: latest)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """PSI of the score and every feature vs training; realised AUC/KS once matured."""
    from postloan.commands.eod import parse_date
    from postloan.config import load_settings
    from postloan.risk.training import monitor_date

    doc = monitor_date(load_settings(), model_id, parse_date(on, "--date"))
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    typer.echo(f"model {model_id} on {doc['date']}: {doc['rows']} loans")
    typer.echo(f"  psi probability {doc['psi']['probability']:.4f} ({doc['bands']['probability']})")
    for name, value in doc["psi"]["features"].items():
        typer.echo(f"  psi {name:<28}{value:.4f} ({doc['bands'][name]})")
    if doc["realised"]:
        typer.echo(f"  realised auc {doc['realised']['auc']:.4f} ks {doc['realised']['ks']:.4f}")
    for alert in doc["alerts"]:
        typer.echo(f"  ALERT [{alert['severity']}] {alert['message']}")


@model_app.command("monitoring")
def monitoring_command(
    model_id: Annotated[str | None, typer.Argument(help="Model id (default: every model)")] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="bscore, bscore180 or cscore")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """The monitoring history the close of business recorded, one line per model and date."""
    from postloan.risk.monitoring_history import history
    from postloan.store.db import open_store

    if purpose is not None and purpose not in PURPOSES:
        raise ValidationError(f"unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}")
    store = open_store()
    try:
        with store.begin() as conn:
            rows = history(conn, model_id=model_id, purpose=purpose)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps({"monitoring": rows}, ensure_ascii=False, default=str))
        return
    if not rows:
        typer.echo("no monitoring yet: activate a model and close a business date (postloan eod)")
        return
    for r in rows:
        auc = r["realised_auc"]
        realised = f"  auc {auc:.4f} ks {r['realised_ks']:.4f}" if auc is not None else ""
        typer.echo(
            f"{r['business_date']}  {r['model_id']:<28}{r['purpose']:<10}{r['rows']:>8}  "
            f"psi {r['psi_probability']:.4f} ({r['band']}){realised}  alerts {len(r['alerts'])}"
        )


@model_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Registered models, newest first (* = active for its purpose)."""
    from postloan.config import load_settings
    from postloan.risk.registry import list_models

    models = list_models(load_settings())
    if as_json:
        typer.echo(json.dumps({"models": models}, ensure_ascii=False, default=str))
        return
    if not models:
        typer.echo("no models yet: postloan model train --purpose bscore")
        return
    for m in models:
        test = (m["metrics"] or {}).get("test") or {}
        auc = f"auc {test['auc']:.4f}" if isinstance(test.get("auc"), float) else ""
        mark = "*" if m["active"] else " "
        typer.echo(
            f"{mark} {m['model_id']:<28}{m['purpose']:<10}{m['kind']:<10}{m['created_at']}  {auc}"
        )


@model_app.command("activate")
def activate_command(
    model_id: Annotated[str, typer.Argument(help="Model id (postloan model list)")],
    user: Annotated[str, typer.Option("--user", help="Who asks (the maker)")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Make a model the active one of its purpose (a second person approves once users exist)."""
    from postloan.config import load_settings
    from postloan.risk.registry import activate

    doc = activate(load_settings(), model_id, user=user, reason=reason)
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, default=str))
    elif doc["state"] == "pending":
        typer.echo(
            f"proposed: approval {doc['approval_id']} waits for a second risk manager "
            f"(postloan approvals approve {doc['approval_id']} --user …)"
        )
    else:
        typer.echo(f"{model_id} is active (before: {doc.get('previous') or 'none'})")
