"""``postloan audit ...``: verify the audit log, sign checkpoints, print and check proofs.

Messages are in zh-CN by default, English with ``POSTLOAN_LANG=en``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from postloan.cli import app
from postloan.domain.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from postloan.store import Store

audit_app = typer.Typer(
    no_args_is_help=True,
    help="Verifiable audit log (审计日志): verify, checkpoints, proofs",
)
app.add_typer(audit_app, name="audit")


def _t(zh: str, en: str) -> str:
    lang = os.environ.get("POSTLOAN_LANG", "zh-CN").lower()
    return en if lang.startswith("en") else zh


def _store() -> Store:
    from postloan.store import open_store

    return open_store()


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValidationError(
            _t(
                f"无法读取{what} {path}: {err.strerror}",
                f"cannot read {what} {path}: {err.strerror}",
            )
        ) from None


def _installation_key(store: Store) -> str | None:
    from postloan.audit.checkpoint import key_path, load_signing_key

    if not key_path(store.settings.keys_dir).exists():
        return None
    return load_signing_key(store.settings.keys_dir, create=False).verifier_key()


@audit_app.command("verify")
def verify_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Verifier key to check signatures (default: ours)"),
    ] = None,
) -> None:
    """Recompute the whole tree from the entries; exit 1 naming the first bad entry/checkpoint."""
    from postloan.audit.audit_check import verify_log

    store = _store()
    try:
        key = _read(public_key, _t("公钥", "public key")) if public_key else None
        with store.begin() as conn:
            report = verify_log(conn, key or _installation_key(store))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    elif report.ok:
        typer.echo(
            _t(
                f"审计日志一致：{report.entries} 条记录，{report.checkpoints} 个签名检查点，"
                f"根哈希 {report.root.hex()}",
                f"audit log consistent: {report.entries} entries, {report.checkpoints} signed "
                f"checkpoints, root {report.root.hex()}",
            )
        )
    else:
        first = report.problems[0]
        typer.echo(_t(f"审计日志校验失败：{first.message}", f"audit log FAILED: {first.message}"))
        for problem in report.problems[1:]:
            typer.echo(f"  - {problem.message}")
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Sign the current tree head, store it and print it (C2SP signed note)."""
    from postloan.audit.checkpoint import write_checkpoint

    store = _store()
    try:
        with store.begin() as conn:
            checkpoint = write_checkpoint(conn, store.settings)
    finally:
        store.close()
    typer.echo(checkpoint.note, nl=False)
    sys.stderr.write(
        _t(f"检查点 {checkpoint.id} 已写入\n", f"checkpoint {checkpoint.id} written\n")
    )


@audit_app.command("show-checkpoint")
def show_checkpoint_command(
    checkpoint_id: Annotated[
        int | None, typer.Argument(help="Checkpoint id (default: newest)")
    ] = None,
) -> None:
    """Print a stored checkpoint as text, for an auditor to keep."""
    from postloan.audit.checkpoint import get_checkpoint

    store = _store()
    try:
        with store.begin() as conn:
            checkpoint = get_checkpoint(conn, checkpoint_id)
    finally:
        store.close()
    if checkpoint is None:
        raise NotFound(_t("没有这个检查点", "no such checkpoint"))
    typer.echo(checkpoint.note, nl=False)


def _echo_json(data: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@audit_app.command("prove")
def prove_command(
    entry_id: Annotated[int, typer.Argument(help="Audit entry id")],
    checkpoint: Annotated[
        int | None, typer.Option("--checkpoint", help="Checkpoint id (default: newest)")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to file")] = None,
) -> None:
    """Print an inclusion proof (JSON) of one entry against a checkpoint."""
    from postloan.audit.proofs import inclusion_proof

    store = _store()
    try:
        with store.begin() as conn:
            proof = inclusion_proof(conn, entry_id, checkpoint)
    finally:
        store.close()
    _echo_json(proof, output)


@audit_app.command("consistency")
def consistency_command(
    old: Annotated[int, typer.Argument(help="Older checkpoint id")],
    new: Annotated[int | None, typer.Argument(help="Newer checkpoint id (default: newest)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to file")] = None,
) -> None:
    """Print a consistency proof (JSON) that checkpoint NEW extends checkpoint OLD."""
    from postloan.audit.proofs import consistency_proof

    store = _store()
    try:
        with store.begin() as conn:
            proof = consistency_proof(conn, old, new)
    finally:
        store.close()
    _echo_json(proof, output)


@audit_app.command("verify-proof")
def verify_proof_command(
    proof_file: Annotated[Path, typer.Argument(help="Proof JSON (audit prove / consistency)")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="Signed checkpoint file")],
    public_key: Annotated[Path, typer.Option("--public-key", help="Verifier key or PEM file")],
    old_checkpoint: Annotated[
        Path | None, typer.Option("--old-checkpoint", help="Older checkpoint (consistency)")
    ] = None,
) -> None:
    """Check a proof with only the public key (no database needed)."""
    from postloan.audit.verifier import VerificationError, check_proof

    try:
        proof = json.loads(_read(proof_file, _t("证明文件", "proof file")))
    except json.JSONDecodeError:
        raise ValidationError(
            _t(f"{proof_file} 不是 JSON 证明", f"{proof_file} is not a JSON proof")
        ) from None
    old = _read(old_checkpoint, _t("旧检查点", "old checkpoint")) if old_checkpoint else None
    try:
        summary = check_proof(
            proof,
            _read(checkpoint, _t("检查点", "checkpoint")),
            _read(public_key, _t("公钥", "public key")),
            old,
        )
    except (VerificationError, KeyError, ValueError) as err:
        typer.echo(_t(f"证明无效：{err}", f"proof INVALID: {err}"))
        raise typer.Exit(1) from None
    typer.echo(summary)


@audit_app.command("export-key")
def export_key_command(
    pem: Annotated[bool, typer.Option("--pem", help="PEM instead of a note verifier key")] = False,
) -> None:
    """Print the installation's public key (created on first use) for auditors."""
    from postloan.audit.checkpoint import load_signing_key
    from postloan.config import load_settings

    key = load_signing_key(load_settings().keys_dir)
    typer.echo(key.public_pem() if pem else key.verifier_key(), nl=not pem)


@audit_app.command("log")
def log_command(
    obj: Annotated[
        str | None, typer.Option("--object", help="TYPE or TYPE:ID, e.g. loan:L0001")
    ] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest N entries")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON entry per line")] = False,
) -> None:
    """List the newest audit entries (the entry JSON itself, which verify checks)."""
    from sqlalchemy import select

    from postloan.store.tables_audit import AuditEntry

    stmt = select(AuditEntry.id, AuditEntry.entry).order_by(AuditEntry.id.desc()).limit(limit)
    if obj:
        kind, _, ident = obj.partition(":")
        stmt = stmt.where(AuditEntry.object_type == kind)
        if ident:
            stmt = stmt.where(AuditEntry.object_id == ident)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    store = _store()
    try:
        with store.begin() as conn:
            rows = conn.execute(stmt).all()
    finally:
        store.close()
    for entry_id, entry in reversed(rows):
        data = json.loads(entry)
        if as_json:
            typer.echo(json.dumps({"id": entry_id, **data}, ensure_ascii=False))
            continue
        reason = f"  ({data['reason']})" if data.get("reason") else ""
        typer.echo(
            f"{entry_id:>8}  {data['at']}  {data['actor']}/{data['role']}  {data['action']}  "
            f"{data['object_type']}:{data['object_id']}{reason}"
        )
