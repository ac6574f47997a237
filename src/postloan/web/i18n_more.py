"""Texts of the back-office forms, model monitoring and the dashboard filters (zh-CN, en);
merged into :data:`postloan.web.i18n.TEXT` so templates use them the same way."""

from __future__ import annotations

MORE_TEXT: dict[str, tuple[str, str]] = {
    # back office on the case page
    "bo.title": ("后台处置：核销、诉讼、委外", "Back office: write-off, legal, agencies"),
    "bo.propose_writeoff": ("提议核销", "Propose a write-off"),
    "bo.writeoff_hint": (
        "按当前全部敞口核销，须风险经理审批后生效。",
        "Charges off the whole exposure once a risk manager approves it.",
    ),
    "bo.writeoff_proposed": (
        "已提交核销提议（审批号 {id}），等待审批",
        "Write-off proposed (approval {id}), waiting for a checker",
    ),
    "bo.legal": ("诉讼案件", "Legal cases"),
    "bo.open_legal": ("转诉讼", "Open a legal case"),
    "bo.court": ("法院", "Court"),
    "bo.lawyer": ("律师", "Lawyer"),
    "bo.firm": ("律所", "Law firm"),
    "bo.cost_yuan": ("费用（元）", "Cost (yuan)"),
    "bo.exposure": ("转诉时敞口", "Exposure at referral"),
    "bo.recovered": ("已回收", "Recovered"),
    "bo.cost": ("费用", "Cost"),
    "bo.advance": ("推进到", "Move to"),
    "bo.note": ("说明", "Note"),
    "bo.record_recovery": ("登记诉讼回款", "Record a court recovery"),
    "bo.history": ("经过", "History"),
    "bo.legal_opened": ("已转诉讼（诉讼案件 {id}）", "Legal case {id} opened"),
    "bo.legal_moved": ("诉讼案件 {id} 已推进到：{state}", "Legal case {id} moved to: {state}"),
    "bo.recovery_posted": ("已登记回款并入账", "Recovery posted to the loan"),
    "bo.agencies": ("委外催收", "Collection agencies"),
    "bo.agency": ("委外机构", "Agency"),
    "bo.place": ("委外", "Place"),
    "bo.recall": ("收回", "Recall"),
    "bo.collect": ("入账委外回收", "Post a collection"),
    "bo.reference": ("凭证号", "Reference"),
    "bo.agency_collected": (
        "已入账委外 {placement} 的回收 {id}（扣佣金）",
        "Collection {id} of placement {placement} posted (commission charged)",
    ),
    "bo.placed_balance": ("委外金额", "Placed balance"),
    "bo.collected": ("机构已催回", "Collected"),
    "bo.placed": ("已委外给 {agency}（委外编号 {id}）", "Placed with {agency} (placement {id})"),
    "bo.recalled": ("已收回委外 {id}", "Placement {id} recalled"),
    "bo.no_agencies": (
        "还没有登记在册的委外机构（`postloan agencies add`）。",
        "No listed agency yet (`postloan agencies add`).",
    ),
    "bo.err.loan_not_in_case": (
        "贷款 {loan} 不属于案件 {case}，请从列表中选择。",
        "Loan {loan} is not part of case {case}; pick one from the list.",
    ),
    "bo.err.charged_off": (
        "贷款 {loan} 已核销，不能再次核销。",
        "Loan {loan} is already charged off.",
    ),
    "bo.err.nothing_owed": (
        "贷款 {loan} 已无欠款，无需核销。",
        "Loan {loan} owes nothing; there is nothing to write off.",
    ),
    "bo.err.reason_needed": (
        "核销须填写理由，供审批人判断。",
        "A write-off needs a reason for the checker.",
    ),
    "bo.err.legal_not_in_case": (
        "诉讼案件 {legal} 不属于案件 {case}。",
        "Legal case {legal} is not part of case {case}.",
    ),
    "bo.err.already_legal": (
        "贷款 {loan} 已在诉讼中（诉讼案件 {legal}）。",
        "Loan {loan} is already in legal case {legal}.",
    ),
    "bo.err.legal_edge": (
        "诉讼案件 {legal} 当前为 {state}，不能推进到 {target}。",
        "Legal case {legal} is {state} and cannot move to {target}.",
    ),
    "bo.err.amount_positive": ("金额须大于 0。", "The amount must be more than 0."),
    "bo.err.amount_negative": ("金额不能为负数。", "An amount cannot be negative."),
    "bo.err.above_balance": (
        "金额 {amount} 超过贷款当前欠款 {owed}。",
        "The amount {amount} is more than the loan owes: {owed}.",
    ),
    "bo.err.recovery_state": (
        "诉讼案件 {legal} 当前为 {state}：回款须在立案之后、结案之前登记。",
        "Legal case {legal} is {state}: recoveries come after filing and before closure.",
    ),
    "bo.err.agency_unlisted": (
        "机构 {agency} 不在委外名录中，只能委外给在册机构。",
        "Agency {agency} is not on the register; only listed agencies get placements.",
    ),
    "bo.err.already_placed": (
        "贷款 {loan} 已委外（委外编号 {placement}），请先收回。",
        "Loan {loan} is already placed (placement {placement}); recall it first.",
    ),
    "bo.err.placement_not_in_case": (
        "委外 {placement} 不属于案件 {case}。",
        "Placement {placement} is not part of case {case}.",
    ),
    "bo.err.not_placed": (
        "委外 {placement} 已收回。",
        "Placement {placement} was already recalled.",
    ),
    "bo.err.not_amount": (
        "“{text}” 不是金额，请填写如 1200.50。",
        "“{text}” is not an amount; type one such as 1200.50.",
    ),
    "bo.err.two_decimals": ("金额最多两位小数。", "An amount has at most two decimals."),
    "error.illegal": ("当前状态不允许此操作：{reason}", "Not allowed in this state: {reason}"),
    "legal.referred": ("已转诉", "referred"),
    "legal.filed": ("已立案", "filed"),
    "legal.hearing": ("审理中", "hearing"),
    "legal.judgment": ("已判决", "judgment"),
    "legal.enforcement": ("执行中", "enforcement"),
    "legal.recovery": ("回款中", "recovery"),
    "legal.closed": ("已结案", "closed"),
    "placement.placed": ("委外中", "placed"),
    "placement.recalled": ("已收回", "recalled"),
    # model monitoring over time
    "mon.title": ("模型监控：{model}（{purpose}）", "Monitoring: {model} ({purpose})"),
    "mon.none": (
        "该模型还没有监控记录：日终批处理评分后会记录。",
        "No monitoring yet: the close of business records it after scoring.",
    ),
    "mon.latest": ("最近一次 {date}（共 {n} 个业务日）", "Latest {date} ({n} business dates)"),
    "mon.scored": ("评分 {n} 笔", "{n} scored"),
    "mon.psi": ("评分 PSI", "Score PSI"),
    "mon.psi_over_time": ("评分稳定性（PSI）走势", "Score stability (PSI) over time"),
    "mon.realised_over_time": ("实际区分度（AUC、KS）走势", "Realised AUC and KS over time"),
    "mon.not_matured": (
        "表现期尚未到期，暂无实际 AUC/KS。",
        "No outcome window has matured yet: no realised AUC/KS.",
    ),
    "mon.features": ("特征稳定性（最近一次，最差在前）", "Feature PSI (latest, worst first)"),
    "mon.feature": ("特征", "Feature"),
    "mon.band": ("区间", "Band"),
    "mon.band.stable": ("稳定", "stable"),
    "mon.band.watch": ("关注", "watch"),
    "mon.band.shift": ("偏移", "shift"),
    "mon.alerts": ("监控预警", "Monitoring alerts"),
    "mon.auc": ("实际 AUC", "Realised AUC"),
    "mon.ks": ("实际 KS", "Realised KS"),
    "mon.alert_psi": (
        "{subject} 的 PSI 为 {value}（{band}）",
        "PSI of {subject} is {value} ({band})",
    ),
    "mon.alert_auc": (
        "实际 AUC {value} 明显低于训练时",
        "Realised AUC {value} is well below the AUC at training",
    ),
    "mon.registry": ("已注册模型", "Registered models"),
    # dashboard filters
    "dash.cut": ("维度", "Cut by"),
    "dash.whole_book": ("全部资产", "Whole book"),
    "dash.cut_value": ("取值", "Value"),
    "dash.cut.product": ("产品", "product"),
    "dash.cut.branch": ("网点", "branch"),
    "dash.cut.region": ("地区", "region"),
    "dash.cut.officer": ("客户经理", "loan officer"),
    "dash.cut.vintage": ("放款月", "vintage"),
    "dash.cut.channel": ("渠道", "channel"),
}
