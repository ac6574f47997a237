"""ORM tables of borrower contact: outbox, deliveries, opt-outs (issue 7).

Same conventions as :mod:`postloan.store.tables` (money in BigInteger minor
units, no plaintext personal data); the schema comes from the Alembic migrations.
"""

from __future__ import annotations

from postloan.store.tables import Base  # noqa: F401
