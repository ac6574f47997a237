"""The verifiable audit log (issue 9): an RFC 6962 Merkle tree in the operational store.

Services call :func:`record` (or :func:`record_many` for batch steps) inside
their own transaction; :func:`write_checkpoint` signs the tree head after each
close of business and on demand. Proofs and the whole-log check live in
:mod:`postloan.audit.proofs` and :mod:`postloan.audit.audit_check`; the stand-alone
verifier an auditor runs is :mod:`postloan.audit.verifier`.

The names are imported lazily, so ``python -m postloan.audit.verifier`` loads
only the standard library and ``cryptography``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postloan.audit.checkpoint import Checkpoint, write_checkpoint
    from postloan.audit.entry import AuditEvent
    from postloan.audit.log import record, record_many

_EXPORTS = {
    "AuditEvent": "postloan.audit.entry",
    "Checkpoint": "postloan.audit.checkpoint",
    "record": "postloan.audit.log",
    "record_many": "postloan.audit.log",
    "write_checkpoint": "postloan.audit.checkpoint",
}

__all__ = ["AuditEvent", "Checkpoint", "record", "record_many", "write_checkpoint"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'postloan.audit' has no attribute {name!r}")
