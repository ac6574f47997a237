"""Strategy versions in the store: which one is active, and maker-checker activation.

``postloan strategy activate`` proposes a version (``strategy.activate``, via
:mod:`postloan.security.approvals`); when a second person approves it, the
handler :func:`apply_activation` makes it the one active version and retires
the previous one. With no activated version the shipped default is active.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Connection, Table, insert, select, update

from postloan.collections.strategy import Strategy
from postloan.collections.strategy_io import default_strategy, parse_text, text_sha256
from postloan.domain.errors import ConflictError, NotFound, ValidationError
from postloan.store.tables_collections import CollectionStrategy

if TYPE_CHECKING:
    from postloan.security.approvals import Approval

STRATEGIES = cast(Table, CollectionStrategy.__table__)
ACTION = "strategy.activate"


def active_strategy(conn: Connection) -> Strategy:
    """The active strategy (the shipped default when none was activated)."""
    row = (
        conn.execute(
            select(STRATEGIES.c.version, STRATEGIES.c.body).where(STRATEGIES.c.status == "active")
        )
        .mappings()
        .first()
    )
    if row is None:
        return default_strategy()
    return parse_text(row["body"], f"active strategy {row['version']}")


def propose_activation(conn: Connection, text: str, source: str, *, user: str) -> int:
    """Validate ``text``, store it as a proposed version and file the approval; its id."""
    from postloan.audit import record
    from postloan.security.approvals import propose

    strategy = parse_text(text, source)
    digest = text_sha256(text)
    now = datetime.now(UTC)
    existing = (
        conn.execute(select(STRATEGIES).where(STRATEGIES.c.version == strategy.version))
        .mappings()
        .first()
    )
    if existing is not None and existing["sha256"] != digest:
        raise ValidationError(
            f"{source}: version {strategy.version!r} is already stored with other content; "
            "give the changed strategy a new version"
        )
    if existing is not None and existing["status"] == "active":
        raise ConflictError(f"strategy version {strategy.version!r} is already active")
    approval_id = propose(
        conn,
        maker=user,
        action=ACTION,
        object_type="collection_strategy",
        object_id=strategy.version,
        payload={"version": strategy.version, "sha256": digest},
        reason=f"activate collections strategy {strategy.version} ({strategy.name})",
    )
    values = {
        "name": strategy.name,
        "sha256": digest,
        "body": text,
        "status": "proposed",
        "proposed_by": user,
        "proposed_at": now,
        "approval_id": approval_id,
    }
    if existing is None:
        conn.execute(insert(STRATEGIES).values(version=strategy.version, **values))
    else:
        conn.execute(
            update(STRATEGIES).where(STRATEGIES.c.version == strategy.version).values(**values)
        )
    record(
        conn,
        actor=user,
        role="risk_manager",
        action="strategy.propose",
        object_type="collection_strategy",
        object_id=strategy.version,
        after={"sha256": digest, "approval_id": approval_id},
    )
    return approval_id


def apply_activation(conn: Connection, approval: Approval) -> None:
    """The approval handler: make the approved version the active one."""
    from postloan.audit import record

    version = str(approval.payload["version"])
    row = conn.execute(select(STRATEGIES).where(STRATEGIES.c.version == version)).mappings().first()
    if row is None:
        raise NotFound(f"strategy version {version!r} is not stored; propose it again")
    if row["sha256"] != approval.payload.get("sha256"):
        raise ConflictError(f"strategy {version!r} changed after it was proposed; propose it again")
    previous = conn.execute(
        select(STRATEGIES.c.version).where(STRATEGIES.c.status == "active")
    ).scalar_one_or_none()
    conn.execute(update(STRATEGIES).where(STRATEGIES.c.status == "active").values(status="retired"))
    conn.execute(
        update(STRATEGIES)
        .where(STRATEGIES.c.version == version)
        .values(status="active", activated_by=approval.checker, activated_at=datetime.now(UTC))
    )
    record(
        conn,
        actor=approval.checker or "system",
        role="risk_manager",
        action="strategy.activate",
        object_type="collection_strategy",
        object_id=version,
        before={"active": previous},
        after={"active": version, "approval_id": approval.id},
    )


def register() -> None:
    from postloan.security.approvals import register_default

    register_default(ACTION, apply_activation)
