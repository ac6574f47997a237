"""Personal data in clear only with the permission, within scope, with a reason; audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_fixtures import T0, seed_case
from sqlalchemy import text

from postloan.domain.errors import NotFound, PermissionDenied, ValidationError
from postloan.feeds.importer import import_directory
from postloan.security.unmask import borrower_for
from postloan.security.users import add_user, get_user
from postloan.store import Store


def test_unmask_needs_permission_scope_and_reason(store: Store, data_dir: Path) -> None:
    import_directory(data_dir / "feeds" / "good", store)
    with store.begin() as conn:
        for name, role in [
            ("co", "collector"),
            ("co2", "collector"),
            ("au", "auditor"),
            ("O01", "loan_officer"),
            ("O02", "loan_officer"),
        ]:
            add_user(conn, username=name, role=role, password=None, now=T0)
        seed_case(conn, "B001", "L001", collector="co")
    cipher = store.cipher
    with store.begin() as conn:
        co, co2, au, o1, o2 = (get_user(conn, n) for n in ("co", "co2", "au", "O01", "O02"))
        masked = borrower_for(conn, cipher, co, "B001")
        assert masked["phone"] == "138****5678"
        assert borrower_for(conn, cipher, o1, "B001")["phone"] == "138****5678"
        assert borrower_for(conn, cipher, au, "B001")["national_id"] == "110***********1234"
        with pytest.raises(NotFound):
            borrower_for(conn, cipher, co2, "B001")  # not their case
        with pytest.raises(NotFound):
            borrower_for(conn, cipher, o2, "B001")  # not their borrower
        with pytest.raises(PermissionDenied):
            borrower_for(conn, cipher, au, "B001", unmask=True, reason="audit sample")
        with pytest.raises(PermissionDenied):
            borrower_for(conn, cipher, o1, "B001", unmask=True, reason="call")
        with pytest.raises(ValidationError, match="reason"):
            borrower_for(conn, cipher, co, "B001", unmask=True)
        clear = borrower_for(conn, cipher, co, "B001", unmask=True, reason="right-party check")
        assert clear["phone"] == "13812345678"
        rows = conn.execute(
            text("SELECT actor, object_id, entry FROM audit_entries WHERE action = 'pii.unmask'")
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("co", "B001")]
    assert "13812345678" not in rows[0][2] and "110101199001011234" not in rows[0][2]
