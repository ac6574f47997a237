"""The verifiable audit log (issue 9): an RFC 6962 Merkle tree in the operational store.

Services call :func:`record` (or :func:`record_many` for batch steps) inside
their own transaction; :func:`write_checkpoint` signs the tree head after each
close of business and on demand. Proofs and the whole-log check live in
:mod:`postloan.audit.proofs` and :mod:`postloan.audit.audit_check`; the stand-alone
verifier an auditor runs is :mod:`postloan.audit.verifier`.
"""

from postloan.audit.checkpoint import Checkpoint, write_checkpoint
from postloan.audit.entry import AuditEvent
from postloan.audit.log import record, record_many

__all__ = ["AuditEvent", "Checkpoint", "record", "record_many", "write_checkpoint"]
