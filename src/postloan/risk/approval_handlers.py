"""Approval handlers of the risk package, found by ``postloan.security.approvals.load_handlers``:
``model.activate`` makes an approved model the active one of its purpose."""

from __future__ import annotations

from postloan.risk.registry import apply_activation
from postloan.security.approvals import register_handler

register_handler("model.activate", apply_activation)
