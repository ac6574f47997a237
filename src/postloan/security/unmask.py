"""Seeing a borrower's personal data in clear: permission, scope, a reason, an audit entry.

Masked is the default everywhere (``138****5678``). :func:`borrower_for` is the one
way services show a borrower; with ``unmask=True`` it needs ``pii.unmask``, the
borrower within the user's scope and a stated reason, and writes ``pii.unmask`` to
the audit log (the fields shown, never their values) in the caller's transaction.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from postloan.domain.errors import ValidationError
from postloan.security.pii import PiiCipher
from postloan.security.scope import authorize_object
from postloan.security.users import User, audit
from postloan.store.repository import borrower_view

BorrowerView = dict[str, str | int | date | None]


def borrower_for(
    conn: Connection,
    cipher: PiiCipher,
    user: User,
    borrower_id: str,
    *,
    unmask: bool = False,
    reason: str | None = None,
) -> BorrowerView:
    """The borrower as ``user`` may see them: masked, or in clear with a reason (audited)."""
    authorize_object(conn, user, "borrower.view", "borrower", borrower_id)
    if not unmask:
        return borrower_view(conn, cipher, borrower_id)
    authorize_object(conn, user, "pii.unmask", "borrower", borrower_id)
    if not (reason and reason.strip()):
        raise ValidationError("state why you need the personal data in clear (a reason)")
    view = borrower_view(conn, cipher, borrower_id, unmask=True)
    shown = sorted(k for k in ("national_id", "phone", "address") if view.get(k) is not None)
    audit(
        conn,
        actor=user.username,
        role=user.role,
        action="pii.unmask",
        object_type="borrower",
        object_id=borrower_id,
        after={"fields": shown},
        reason=reason.strip(),
    )
    return view
