"""The audit trail in Chinese: each entry's detail as one sentence a person reads, with people named the one
way the desk names them (playbooks.people: 王晓明（wang）) — never raw JSON, never a bare username where a
name is known. Pure: the caller passes the names (``people.names``) and, where it has them, step titles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATE_LABELS = {
    "new": "新建", "acknowledged": "已确认", "responding": "处置中", "escalated": "已升级",
    "resolved": "已解决", "closed": "已关闭", "false_positive": "误报",
    "open": "待处理", "draft": "草稿", "submitted": "待审核", "approved": "已批准", "rejected": "已退回",
    "used": "已使用",
}  # fmt: skip
REPORT_KINDS = {
    "regulator": "报告证监局",
    "daily": "舆情日报",
    "holiday": "假期舆情工作总结",
    "drill": "演练报告",
}
LEVEL_TEXT = {"I": "I 级", "II": "II 级", "III": "III 级", "IV": "IV 级"}
CHANNELS = {"wecom": "企业微信", "dingtalk": "钉钉", "feishu": "飞书", "email": "邮件"}
CLOCKS = {
    "acknowledge_within": "确认预警",
    "holding_statement_within": "发布对外口径",
    "regulator_report_within": "报告监管",
}
ROLES = {"officer": "值班员", "manager": "负责人", "admin": "管理员"}
FIELDS = {
    "level": "级别", "topic": "主题", "falsity_label": "真实性", "note": "备注", "reason": "原因",
    "display_name": "显示名", "email": "邮箱", "phone": "电话", "role": "角色", "contacts": "联系方式",
    "active": "启用", "channel": "渠道", "name": "名称", "start": "开始", "end": "结束", "shift": "班次",
    "sha256": "SHA-256", "size": "大小（字节）", "via": "途径", "ready": "结论", "holiday": "假期",
    "rows": "条数", "drill": "演练", "post_id": "帖子", "alert_id": "预警", "playbook_id": "预案",
    "step_id": "步骤", "report_id": "报告", "draft_id": "口径稿", "template_id": "模板",
}  # fmt: skip
_SKIP = {"drill", "post_id", "checks", "checked_at", "client", "link_id", "evidence_id"}


def _who(names: Mapping[str, str], username: Any) -> str:
    u = str(username or "")
    return names.get(u, u) if u else "无"


def _value(key: str, value: Any, names: Mapping[str, str]) -> str:
    if value is None or value == "":
        return "无"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in ("level",):
        return LEVEL_TEXT.get(str(value), str(value))
    if key in ("state", "status", "before", "after") and str(value) in STATE_LABELS:
        return STATE_LABELS[str(value)]
    if key == "role":
        return ROLES.get(str(value), str(value))
    if isinstance(value, Mapping):
        return "，".join(f"{FIELDS.get(k, k)} {_value(k, v, names)}" for k, v in value.items()) or "无"
    if isinstance(value, list | tuple):
        return "、".join(_value(key, v, names) for v in value) or "无"
    return str(value)


def _generic(detail: Mapping[str, Any], names: Mapping[str, str]) -> str:
    parts = []
    for k, v in detail.items():
        if k in _SKIP or v in (None, "", [], {}):
            continue
        parts.append(f"{FIELDS.get(k, k)}：{_value(k, v, names)}")
    return "；".join(parts)


def describe(
    action: str,
    detail: Mapping[str, Any] | None,
    names: Mapping[str, str] | None = None,
    *,
    steps: Mapping[str, str] | None = None,
) -> str:
    """One Chinese sentence for an audit entry's detail ("" when there is nothing to add)."""
    d = dict(detail or {})
    names = names or {}
    steps = steps or {}
    note = f"；备注：{d['note']}" if d.get("note") else ""
    drill = "（演练）" if d.get("drill") else ""
    if action == "alert.opened":
        return f"级别 {_value('level', d.get('level'), names)}，主题 {d.get('topic') or '其他'}{drill}"
    if action == "alert.updated":
        before, after = d.get("before") or {}, d.get("after") or {}
        changes = [
            f"{FIELDS.get(k, k)} {_value(k, before.get(k), names)} → {_value(k, after.get(k), names)}"
            for k in after
            if before.get(k) != after.get(k)
        ]
        return "；".join(changes) or "分析结果更新"
    if action == "alert.acknowledged":
        return f"确认预警{drill}"
    if action in ("alert.assigned", "escalation.assigned"):
        return f"{_who(names, d.get('before'))} → {_who(names, d.get('after'))}"
    if action == "alert.false_positive":
        return f"原因：{d.get('reason') or '—'}{drill}"
    if action == "alert.reopened":
        before = d.get("before") or {}
        was = STATE_LABELS.get(str(before.get("status")), str(before.get("status") or ""))
        return f"由「{was}」恢复为待处理{note}"
    if action == "alert.announced":
        chans = "、".join(
            f"{CHANNELS.get(c.split(':', 1)[0], c)}「{c.split(':', 1)[1]}」" if ":" in c else c
            for c in d.get("channels") or []
        )
        return f"按 {_value('level', d.get('level'), names)} 通知：{chans or '—'}{drill}"
    if action == "alert.chased":
        told = "、".join(_who(names, u) for u in d.get("notified") or []) or "无人可通知"
        return f"已 {d.get('overdue_minutes', '?')} 分钟无人确认，按升级链通知第 {d.get('tier', '?')} 级：{told}{drill}"
    if action == "alert.ack_link_used":
        done = "确认了预警" if d.get("acknowledged") else "预警此前已有人确认"
        return f"经通知中的一键确认链接{done}" + (f"（来自 {d['client']}）" if d.get("client") else "")
    if action == "escalation.opened":
        return f"由预警 #{d.get('alert_id', '?')} 开启，级别 {_value('level', d.get('level'), names)}{note}"
    if action == "escalation.state":
        text = f"{_value('before', d.get('before'), names)} → {_value('after', d.get('after'), names)}{note}"
        if d.get("open_steps"):
            text += f"；结案时未完成的步骤：{'、'.join(d['open_steps'])}"
        return text
    if action == "escalation.step_done":
        sid = str(d.get("step_id") or "")
        return f"完成「{steps.get(sid, sid)}」{note}"
    if action == "escalation.chain":
        clocks = "、".join(
            CLOCKS.get(c, steps.get(c.removeprefix("step:"), c.removeprefix("step:")))
            for c in d.get("clocks") or []
        )
        told = "、".join(_who(names, u) for u in d.get("notified") or []) or "无人可通知"
        return f"{clocks or '时限'}已超时，升至第 {d.get('after', '?')} 级，通知：{told}{drill}"
    if action.startswith("statement."):
        extra = f"；审核意见：{d['review_note']}" if d.get("review_note") else ""
        used = f"；使用渠道：{d['channel']}" if d.get("channel") else ""
        return f"口径稿 #{d.get('draft_id', '?')}{extra}{used}{note}"
    if action in ("report.generated", "report.signed"):
        title = REPORT_KINDS.get(str(d.get("kind") or ""), str(d.get("kind") or ""))
        return f"报告 #{d.get('report_id', '?')} {title}".strip() + (
            f"，SHA-256 {str(d['sha256'])[:16]}…" if d.get("sha256") else ""
        )
    if action in ("evidence.snapshot", "evidence.attached", "evidence.page"):
        what = d.get("name") or ("原始页面（抓取时）" if action == "evidence.page" else "帖子快照（发现时）")
        return f"固定证据「{what}」，{d.get('size', '?')} 字节，SHA-256 {str(d.get('sha256', ''))[:16]}…"
    if action == "handover.written":
        to = f"，交给 {_who(names, d['to_user'])}" if d.get("to_user") else ""
        return f"{d.get('shift') or '交班'}：待确认预警 {d.get('alerts', 0)} 条，未结记录 {d.get('records', 0)} 条{to}"
    if action == "handover.acknowledged":
        return f"接下 {_who(names, d.get('written_by'))} 的交接（{d.get('shift') or '—'}）"
    if action == "readiness.check":
        verdict = "已就绪" if d.get("ready") else "未就绪：" + "、".join(d.get("failed") or [])
        return verdict + (f"；节假日依据：{d['calendar_basis']}" if d.get("calendar_basis") else "")
    if action in ("calendar.entered", "calendar.removed"):
        return f"{d.get('name', '')} {d.get('start', '')} 至 {d.get('end', '')}" + (
            f"（{d['note']}）" if d.get("note") else ""
        )
    return _generic(d, names)
