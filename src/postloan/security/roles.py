"""The roles of DESIGN.md ("Who uses it"): one id per job, nothing else.

Pure module (standard library only) so the domain, the API and the docs share it.
"""

from __future__ import annotations

from enum import StrEnum

from postloan.domain.errors import ValidationError


class Role(StrEnum):
    LOAN_OFFICER = "loan_officer"
    RISK_MANAGER = "risk_manager"
    COLLECTOR = "collector"
    SUPERVISOR = "supervisor"
    LEGAL = "legal"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.LOAN_OFFICER: ("客户经理", "loan officer"),
    Role.RISK_MANAGER: ("风险经理", "risk analyst / manager"),
    Role.COLLECTOR: ("催收员", "collector"),
    Role.SUPERVISOR: ("催收主管", "collections supervisor"),
    Role.LEGAL: ("法务专员", "legal officer"),
    Role.AUDITOR: ("审计员", "auditor"),
    Role.ADMIN: ("系统管理员", "admin"),
}


def parse_role(value: str) -> Role:
    """The role named ``value``; a ValidationError that lists the valid ids otherwise."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise ValidationError(f"unknown role {value!r}; use one of: {valid}") from None
