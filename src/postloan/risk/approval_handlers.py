"""Approval handlers of the risk package, found by ``postloan.security.approvals.load_handlers``:
``model.activate`` makes an approved model the active one of its purpose.

The handler imports the model registry (and with it scikit-learn) only when an
activation is applied, so loading the handlers stays cheap.
"""

from __future__ import annotations

from typing import Any

from postloan.security.approvals import register_default


def _apply_activation(conn: Any, approval: Any) -> None:
    from postloan.risk.registry import apply_activation

    apply_activation(conn, approval)


def register() -> None:
    register_default("model.activate", _apply_activation)


register()
