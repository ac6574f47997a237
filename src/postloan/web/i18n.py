"""Every text the web UI shows, in zh-CN (default) and en, and Babel formatting.

The language comes from ``?lang=``, the ``postloan_lang`` cookie or
``Accept-Language`` — the same negotiation as API errors
(:func:`postloan.api.i18n.negotiate`). Templates call ``_("key")``; a missing
key is a programming error caught by the tests (every key used must exist).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from postloan.web.i18n_more import MORE_TEXT

LOCALES = {"zh-CN": "zh_CN", "en": "en"}

TEXT: dict[str, tuple[str, str]] = {
    "app.name": ("postloan 贷后管理", "postloan post-loan management"),
    "nav.dashboard": ("资产总览", "Dashboard"),
    "nav.alerts": ("预警", "Alerts"),
    "nav.queue": ("我的工作", "My queue"),
    "nav.strategy": ("策略", "Strategy"),
    "nav.models": ("模型监控", "Models"),
    "nav.approvals": ("待我审批", "Approvals"),
    "nav.audit": ("审计日志", "Audit log"),
    "nav.users": ("用户", "Users"),
    "nav.scorecards": ("业绩", "Scorecards"),
    "nav.logout": ("退出", "Log out"),
    "nav.language": ("English", "中文"),
    "login.title": ("登录", "Log in"),
    "login.user": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "common.as_of": ("业务日期", "Business date"),
    "common.none": ("暂无数据", "Nothing to show"),
    "common.state": ("状态", "State"),
    "common.all": ("全部", "All"),
    "common.filter": ("筛选", "Filter"),
    "common.date": ("日期", "Date"),
    "common.amount": ("金额", "Amount"),
    "common.reason": ("理由", "Reason"),
    "common.count": ("笔数", "Count"),
    "common.balance": ("余额", "Balance"),
    "common.share": ("占比", "Share"),
    "common.loan": ("贷款", "Loan"),
    "common.borrower": ("借款人", "Borrower"),
    "common.role": ("角色", "Role"),
    "common.team": ("团队", "Team"),
    "common.submit": ("提交", "Submit"),
    "common.previous": ("上一页", "Previous"),
    "common.next": ("下一页", "Next"),
    "common.page": ("第 {n} 页", "Page {n}"),
    "common.saved": ("已保存", "Saved"),
    "common.read_only": ("只读：您的角色不能修改", "Read only: your role cannot change anything"),
    "error.title": ("无法完成", "Could not be done"),
    "error.back": ("返回", "Back"),
    "error.conflict": (
        "该案件刚被其他人修改过，请刷新页面查看最新情况后再试。",
        "Someone else changed this case a moment ago; reload the page and try again.",
    ),
    "error.forbidden": ("您的角色无权执行此操作。", "Your role may not do this."),
    "error.not_found": ("不存在，或不在您的数据范围内。", "Not found, or outside your data scope."),
    "error.invalid": ("输入有误：{reason}", "Invalid input: {reason}"),
    "error.failed": ("操作失败：{reason}", "The operation failed: {reason}"),
    "dash.title": ("资产质量总览", "Portfolio dashboard"),
    "dash.npl_trend": ("不良率与逾期 90+ 占比趋势", "NPL and 90+ ratio trend"),
    "dash.npl": ("不良率", "NPL ratio"),
    "dash.dpd90": ("逾期 90 天以上占比", "90+ DPD ratio"),
    "dash.open_balance": ("在贷余额", "Open balance"),
    "dash.open_loans": ("在贷笔数", "Open loans"),
    "dash.bucket_mix": ("逾期阶段分布（余额）", "Delinquency buckets (balance)"),
    "dash.category_mix": ("五级分类分布（余额）", "Five-category mix (balance)"),
    "dash.roll_rate": (
        "迁徙率热力图 {start} → {end}（笔数占比 %，closed = 已结清）",
        "Roll rates {start} → {end} (% of loans; closed = paid off)",
    ),
    "dash.roll_from": ("期初阶段", "From bucket"),
    "dash.roll_to": ("期末阶段", "To bucket"),
    "dash.vintage": (
        "账龄曲线：30+@MOB（逾期 30 天以上余额 ÷ 放款额，时点口径，按放款月）",
        "Vintage curves: 30+@MOB (balance 30+ DPD ÷ originated, point-in-time, by month)",
    ),
    "dash.mob": ("账龄（月）", "Months on book"),
    "dash.alerts_age": ("未处理预警（按天数）", "Open alerts by age (days)"),
    "dash.cases_age": ("在催案件（按天数）", "Open cases by age (days)"),
    "dash.no_snapshots": (
        "还没有日终快照：先运行 `postloan eod`。",
        "No close-of-business snapshots yet: run `postloan eod` first.",
    ),
    "cat.normal": ("正常", "normal"),
    "cat.special_mention": ("关注", "special mention"),
    "cat.substandard": ("次级", "substandard"),
    "cat.doubtful": ("可疑", "doubtful"),
    "cat.loss": ("损失", "loss"),
    "alerts.title": ("预警收件箱", "Alert inbox"),
    "alerts.rule": ("规则", "Rule"),
    "alerts.severity": ("级别", "Severity"),
    "alerts.owner": ("负责人", "Owner"),
    "alerts.sla": ("处理时限", "SLA due"),
    "alerts.ack": ("确认", "Acknowledge"),
    "alerts.acked": ("已确认", "Acknowledged"),
    "case.assign": ("分派给催收员", "Assign to a collector"),
    "case.assigned": ("已分派给 {collector}", "Assigned to {collector}"),
    "alerts.move": ("更新", "Update"),
    "alerts.note": ("备注（记入审计日志）", "Note (kept in the audit log)"),
    "alerts.moved": ("预警已{state}", "The alert is now {state}"),
    "alerts.state.new": ("新建", "new"),
    "alerts.state.acknowledged": ("确认", "acknowledged"),
    "alerts.state.actioned": ("处置", "actioned"),
    "alerts.state.closed": ("关闭", "closed"),
    "queue.title": ("我的工作队列", "My work queue"),
    "queue.cases": ("我的案件", "My cases"),
    "queue.tasks": ("待办任务", "Open tasks"),
    "queue.case": ("案件", "Case"),
    "queue.bucket": ("阶段", "Bucket"),
    "queue.dpd": ("逾期天数", "DPD"),
    "queue.overdue": ("逾期金额", "Overdue"),
    "queue.assigned": ("催收员", "Collector"),
    "queue.opened": ("立案日", "Opened"),
    "queue.due": ("到期", "Due"),
    "queue.action": ("动作", "Action"),
    "queue.open": ("打开", "Open"),
    "case.title": ("案件 {id}", "Case {id}"),
    "case.borrower": ("借款人 360", "Borrower 360"),
    "case.name": ("姓名", "Name"),
    "case.national_id": ("身份证号", "National ID"),
    "case.phone": ("手机号", "Phone"),
    "case.address": ("地址", "Address"),
    "case.region": ("地区", "Region"),
    "case.income": ("月收入", "Monthly income"),
    "case.masked": ("个人信息已脱敏显示", "Personal data is masked"),
    "case.loans": ("贷款", "Loans"),
    "case.schedule": ("还款计划：{loan}", "Schedule: {loan}"),
    "case.payments": ("交易流水", "Payments and transactions"),
    "case.contacts": ("联系记录", "Contact history"),
    "case.promises": ("还款承诺", "Promises to pay"),
    "case.score": ("风险评分与原因", "Score and reasons"),
    "case.no_score": ("暂无评分", "No score yet"),
    "case.guard": ("合规校验（拨打前）", "Conduct guard (before any call)"),
    "case.guard_ok": ("现在可以致电 {phone}", "A call is allowed now: {phone}"),
    "case.guard_no": ("现在不能致电：{reason}", "No call now: {reason}"),
    "case.guard_until": ("最早 {until} 可致电", "Allowed from {until}"),
    "case.version": ("版本", "Version"),
    "case.log_contact": ("登记联系", "Log a contact"),
    "case.outcome": ("结果", "Outcome"),
    "case.channel": ("渠道", "Channel"),
    "case.note": ("备注（勿填个人信息）", "Note (no personal data)"),
    "case.record_promise": ("登记还款承诺", "Record a promise"),
    "case.promised_date": ("承诺日期", "Promised date"),
    "case.amount_yuan": ("金额（元）", "Amount (yuan)"),
    "case.propose_restructuring": ("提议重组", "Propose a restructuring"),
    "case.kind": ("方式", "Kind"),
    "case.propose_waiver": ("提议减免", "Propose a waiver"),
    "case.waiver_proposed": (
        "已提交减免提议（审批号 {id}），等待审批",
        "Waiver proposed (approval {id}), waiting for a checker",
    ),
    "case.periods": ("期数", "Periods"),
    "case.contact_logged": ("已登记联系记录", "Contact logged"),
    "case.promise_recorded": ("已登记还款承诺", "Promise recorded"),
    "case.restructuring_proposed": (
        "已提交重组提议（审批号 {id}），等待审批",
        "Restructuring proposed (approval {id}), waiting for a checker",
    ),
    "case.due_date": ("应还日", "Due date"),
    "case.principal": ("本金", "Principal"),
    "case.interest": ("利息", "Interest"),
    "case.type": ("类型", "Type"),
    "case.value_date": ("起息日", "Value date"),
    "case.collector": ("催收员", "Collector"),
    "outcome.right_party": ("本人接通", "right party"),
    "outcome.third_party": ("第三方接听", "third party"),
    "outcome.no_answer": ("无人接听", "no answer"),
    "outcome.wrong_number": ("号码错误", "wrong number"),
    "outcome.refused": ("拒绝还款", "refused"),
    "outcome.promise": ("承诺还款", "promise"),
    "outcome.complaint": ("投诉", "complaint"),
    "strategy.title": ("催收策略", "Collection strategy"),
    "strategy.active": ("当前生效版本：{version}", "Active version: {version}"),
    "strategy.text": (
        "策略（YAML，可修改后试运行，不会生效）",
        "Strategy (YAML: edit and dry-run; nothing goes live)",
    ),
    "strategy.dry_run": ("试运行", "Dry run"),
    "strategy.on": ("按该日数据", "On the book of"),
    "strategy.considered": ("参与贷款 {n} 笔", "{n} loans considered"),
    "strategy.segment": ("分群", "Segment"),
    "strategy.group": ("组", "Group"),
    "strategy.actions": ("应执行动作", "Actions due"),
    "strategy.action": ("动作", "Action"),
    "strategy.kind": ("类型", "Kind"),
    "strategy.due": ("数量", "Due"),
    "models.title": ("模型与监控", "Models and monitoring"),
    "models.id": ("模型", "Model"),
    "models.purpose": ("用途", "Purpose"),
    "models.kind": ("算法", "Kind"),
    "models.created": ("训练时间", "Trained"),
    "models.window": ("训练窗口", "Training window"),
    "models.active": ("生效", "Active"),
    "models.metrics": ("指标", "Metrics"),
    "models.psi": ("稳定性（PSI）", "Stability (PSI)"),
    "models.none": (
        "还没有注册的模型：用 `postloan model train` 训练。",
        "No registered model yet: train one with `postloan model train`.",
    ),
    "approvals.title": ("待我审批", "Approvals waiting for me"),
    "approvals.mine": ("我提交的", "My proposals"),
    "approvals.id": ("编号", "No."),
    "approvals.action": ("事项", "Action"),
    "approvals.object": ("对象", "Object"),
    "approvals.maker": ("提议人", "Maker"),
    "approvals.approve": ("批准", "Approve"),
    "approvals.reject": ("驳回", "Reject"),
    "approvals.approved": ("已批准", "Approved"),
    "approvals.rejected": ("已驳回", "Rejected"),
    "audit.title": ("审计日志", "Audit log"),
    "audit.actor": ("操作人", "Actor"),
    "audit.action": ("动作", "Action"),
    "audit.object": ("对象", "Object"),
    "audit.recorded": ("记录时间", "Recorded at"),
    "audit.verify": ("校验完整性", "Verify integrity"),
    "audit.ok": ("校验通过：{n} 条记录，根哈希 {root}", "Verified: {n} entries, root {root}"),
    "audit.bad": ("发现 {n} 个问题", "{n} problems found"),
    "users.title": ("用户管理", "User admin"),
    "users.username": ("用户名", "User name"),
    "users.active": ("启用", "Active"),
    "users.add": ("新增用户", "Add a user"),
    "users.disable": ("停用", "Disable"),
    "users.enable": ("启用", "Enable"),
    "users.added": ("已新增用户 {name}", "User {name} added"),
    "score.title": ("业绩看板", "Scorecards"),
    "score.collectors": ("催收员", "Collectors"),
    "score.officers": ("客户经理", "Loan officers"),
    "score.open_cases": ("在催案件", "Open cases"),
    "score.contacts": ("联系次数", "Contacts"),
    "score.reached": ("接通本人", "Reached"),
    "score.promises": ("承诺", "Promises"),
    "score.kept": ("兑现", "Kept"),
    "score.broken": ("违约", "Broken"),
    "score.loans": ("在贷笔数", "Open loans"),
    "score.overdue_loans": ("逾期笔数", "Overdue loans"),
    "score.overdue_share": ("逾期余额占比", "Overdue balance share"),
    "score.note": (
        "简单计数，来自已登记的联系与承诺；更完整的业绩口径见后续版本。",
        "Plain counts from logged contacts and promises; fuller scorecards come later.",
    ),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}


TEXT.update(MORE_TEXT)


def text(lang: str, key: str, **params: Any) -> str:
    """The text of ``key`` in ``lang`` (zh-CN or en), formatted with ``params``."""
    zh, en = TEXT[key]
    template = en if lang == "en" else zh
    return template.format(**params) if params else template


_PARSED = {lang: Locale.parse(name) for lang, name in LOCALES.items()}


def locale_of(lang: str) -> Locale:
    """The parsed Babel locale (parsing per call would dominate a page's rendering)."""
    return _PARSED.get(lang, _PARSED["zh-CN"])


def money(minor: int | None, lang: str, currency: str = "CNY") -> str:
    """Integer minor units as a currency amount in the user's locale."""
    if minor is None:
        return "—"
    return _money(int(minor), lang, currency)


@lru_cache(maxsize=8192)
def _money(minor: int, lang: str, currency: str) -> str:
    return format_currency(Decimal(minor) / 100, currency, locale=locale_of(lang))


def number(value: int | float | Decimal | None, lang: str) -> str:
    return "—" if value is None else format_decimal(value, locale=locale_of(lang))


def percent(value: float | Decimal | None, lang: str) -> str:
    if value is None:
        return "—"
    return format_percent(value, format="#,##0.00%", locale=locale_of(lang))


def day(value: date | str | None, lang: str) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return _day(value, lang)


@lru_cache(maxsize=4096)
def _day(value: date, lang: str) -> str:
    return format_date(value, format="medium", locale=locale_of(lang))


def moment(value: datetime | None, lang: str) -> str:
    if value is None:
        return "—"
    return format_datetime(value, format="short", locale=locale_of(lang), tzinfo=value.tzinfo)
