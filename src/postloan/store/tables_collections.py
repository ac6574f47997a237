"""ORM tables of collections: strategies, cases, tasks, promises, restructuring,
legal, agencies (issue 6).

Same conventions as :mod:`postloan.store.tables` (money in BigInteger minor
units, no plaintext personal data); the schema comes from the Alembic migrations.
"""

from __future__ import annotations

from postloan.store.tables import Base  # noqa: F401
