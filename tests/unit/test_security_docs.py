"""docs/security.md shows the permission table of the code, unchanged."""

from __future__ import annotations

from pathlib import Path

from postloan.security.permissions import permissions_markdown

DOC = Path(__file__).parents[2] / "docs" / "security.md"


def test_the_permission_table_in_the_docs_is_generated_from_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- permissions:start -->\n", 1)[1].split("<!-- permissions:end -->")[0]
    assert table == permissions_markdown()
