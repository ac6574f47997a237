"""The domain does no I/O: postloan.domain imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import postloan.domain

DOMAIN = Path(postloan.domain.__file__).parent
FORBIDDEN_STDLIB = {"sqlite3", "socket", "http", "urllib", "subprocess", "smtplib", "os", "io"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module)
    return roots


def test_domain_imports_only_stdlib_and_itself() -> None:
    offenders = {}
    for path in sorted(DOMAIN.rglob("*.py")):
        for name in _imported_roots(path):
            top = name.split(".")[0]
            if name.startswith("postloan.domain") or name == "__future__":
                continue
            if top in sys.stdlib_module_names and top not in FORBIDDEN_STDLIB:
                continue
            offenders.setdefault(path.name, []).append(name)
    assert offenders == {}


def test_domain_has_modules() -> None:
    assert len(list(DOMAIN.glob("*.py"))) >= 5
