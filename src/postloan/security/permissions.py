"""Who may do what: one table of permissions × roles, in code.

A permission is ``"<object>.<verb>"``. Read permissions (``.view``, ``.read``) are the
only ones an auditor holds: the auditor reads everything and changes nothing.
Data scope (which cases or borrowers a user may see) is a separate check, in
:mod:`postloan.security.scope`. Pure module: docs/security.md is generated from it.
"""

from __future__ import annotations

from postloan.security.roles import Role

LO, RM, CO, SU, LE, AU, AD = (
    Role.LOAN_OFFICER,
    Role.RISK_MANAGER,
    Role.COLLECTOR,
    Role.SUPERVISOR,
    Role.LEGAL,
    Role.AUDITOR,
    Role.ADMIN,
)
ALL = frozenset(Role)
_READERS = frozenset({LO, RM, CO, SU, LE, AU})

# permission -> (roles that hold it, description zh-CN, description en)
PERMISSIONS: dict[str, tuple[frozenset[Role], str, str]] = {
    "borrower.view": (_READERS, "查看借款人（按数据范围）", "view borrowers (within scope)"),
    "loan.view": (_READERS, "查看贷款、还款计划与交易", "view loans, schedules, transactions"),
    "payment.post": (frozenset({SU}), "实时入账还款事件", "post real-time payment events"),
    "alert.view": (frozenset({LO, RM, CO, SU, AU}), "查看预警", "view alerts"),
    "alert.update": (frozenset({LO, RM, CO, SU}), "处理预警", "work on alerts"),
    "case.view": (frozenset({LO, CO, SU, LE, RM, AU}), "查看催收案件", "view collection cases"),
    "case.update": (frozenset({CO, SU, LE}), "更新案件", "update cases"),
    "case.assign": (frozenset({SU}), "分配案件", "assign cases"),
    "contact.log": (frozenset({LO, CO, SU, LE}), "登记联系记录", "log contacts"),
    "promise.create": (frozenset({CO, SU}), "登记还款承诺", "record promises to pay"),
    "waiver.propose": (frozenset({CO, SU}), "提议减免", "propose waivers"),
    "waiver.approve": (frozenset({SU, RM}), "审批减免", "approve waivers"),
    "restructuring.propose": (frozenset({LO, CO, SU}), "提议重组", "propose restructurings"),
    "restructuring.approve": (frozenset({SU, RM}), "审批重组", "approve restructurings"),
    "writeoff.propose": (frozenset({SU, LE}), "提议核销", "propose write-offs"),
    "writeoff.approve": (frozenset({RM}), "审批核销", "approve write-offs"),
    "legal.view": (frozenset({LE, SU, AU}), "查看诉讼案件", "view legal cases"),
    "legal.manage": (frozenset({LE}), "管理诉讼与委外", "manage litigation and agencies"),
    "strategy.view": (frozenset({RM, SU, AU}), "查看策略与规则", "view strategies and rules"),
    "strategy.propose": (frozenset({RM}), "提议策略变更", "propose strategy changes"),
    "strategy.approve": (frozenset({RM}), "审批策略上线", "approve strategy activation"),
    "model.view": (frozenset({RM, AU}), "查看模型与监控", "view models and monitoring"),
    "model.propose": (frozenset({RM}), "提议模型上线", "propose model activation"),
    "model.activate": (frozenset({RM}), "审批模型上线", "approve model activation"),
    "kpi.view": (_READERS, "查看指标与报表", "view KPIs and reports"),
    "pii.unmask": (frozenset({CO, SU, LE}), "查看完整个人信息（须说明理由）", "unmask PII"),
    "approval.view": (frozenset({RM, SU, LE, CO, LO, AU, AD}), "查看审批", "view approvals"),
    "audit.read": (frozenset({AU, AD}), "查看审计日志", "read the audit log"),
    "user.view": (frozenset({AD, AU, SU}), "查看用户", "view users"),
    "user.manage": (frozenset({AD}), "管理用户（增、停用、提议角色变更）", "manage users"),
    "role.approve": (frozenset({AD}), "审批角色变更", "approve role changes"),
    "config.manage": (frozenset({AD}), "管理配置与密钥", "manage configuration and keys"),
}

READ_VERBS = ("view", "read")


def is_read(permission: str) -> bool:
    return permission.rsplit(".", 1)[-1] in READ_VERBS


def roles_with(permission: str) -> frozenset[Role]:
    """The roles holding ``permission``; KeyError for a permission that does not exist."""
    return PERMISSIONS[permission][0]


def has_permission(role: str, permission: str) -> bool:
    entry = PERMISSIONS.get(permission)
    return entry is not None and role in {r.value for r in entry[0]}


def permissions_of(role: str) -> list[str]:
    return [p for p, (roles, _, _) in PERMISSIONS.items() if role in {r.value for r in roles}]


# Maker-checker: the first part of an approval action names its kind; each kind has
# the permission a maker needs to propose and the one a checker needs to decide.
APPROVAL_KINDS: dict[str, tuple[str, str]] = {
    "waiver": ("waiver.propose", "waiver.approve"),
    "restructuring": ("restructuring.propose", "restructuring.approve"),
    "writeoff": ("writeoff.propose", "writeoff.approve"),
    "strategy": ("strategy.propose", "strategy.approve"),
    "model": ("model.propose", "model.activate"),
    "role": ("user.manage", "role.approve"),
}


def approval_kind(action: str) -> str | None:
    """``"waiver.grant"`` → ``"waiver"``; None when the action is no maker-checker kind."""
    kind = action.split(".", 1)[0]
    return kind if kind in APPROVAL_KINDS else None


def permissions_markdown() -> str:
    """The permission table of docs/security.md (tested to match this module)."""
    roles = list(Role)
    head = "| permission | 说明 / description | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    rows = [head, rule]
    for name, (holders, zh, en) in PERMISSIONS.items():
        marks = " | ".join("✓" if r in holders else "" for r in roles)
        rows.append(f"| `{name}` | {zh} / {en} | {marks} |")
    return "\n".join(rows) + "\n"
