"""Small display helpers for the desk pages.

Pure functions: they take what they need as arguments and never read ``st.session_state``. Text that
came from outside (post titles, bodies, authors, reasons that quote a post) is untrusted: show it with
``st.text`` (no Markdown, no HTML), or pass it through ``escape_markdown`` before it goes anywhere
Streamlit parses Markdown (``st.markdown``, widget and expander labels).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from store.times import as_utc, parse_instant

SHANGHAI = ZoneInfo("Asia/Shanghai")

LEVEL_LABELS = {"I": "I 级", "II": "II 级", "III": "III 级", "IV": "IV 级"}
LEVEL_NAMES = {"I": "特别重大", "II": "重大", "III": "较大", "IV": "一般"}
# red / orange / yellow / blue, as in Chinese emergency warning levels
LEVEL_COLORS = {"I": "red", "II": "orange", "III": "yellow", "IV": "blue"}

SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
FALSITY_LABELS = {"rumor": "疑似不实", "none": "未见不实"}
ALERT_STATUS_LABELS = {
    "open": "待处理",
    "escalated": "已立案",
    "closed": "已关闭",
    "false_positive": "误报",
}
AUDIT_ACTION_LABELS = {
    "alert.opened": "生成预警",
    "alert.updated": "预警更新",
    "alert.acknowledged": "确认预警",
    "alert.assigned": "指派",
    "alert.false_positive": "标为误报",
    "alert.reopened": "恢复预警",
    "escalation.opened": "开启处置记录",
    "escalation.state": "状态变更",
    "escalation.assigned": "转交承办人",
    "escalation.step_done": "完成预案步骤",
    "escalation.chain": "超时升级通知",
    "alert.announced": "通知值班群",
    "alert.chased": "无人确认催办",
    "alert.fp_exported": "导出误报数据",
    "queue.seen": "预警队列全部已读",
    "statement.drafted": "起草口径",
    "statement.revised": "修改口径",
    "statement.submitted": "提交合规审核",
    "statement.approved": "合规审核通过",
    "statement.rejected": "合规审核退回",
    "statement.used": "口径已使用",
    "report.generated": "生成报告",
    "report.signed": "签发报告",
    "notification.requeued": "重新发送通知",
    "notify.tested": "测试通知通道",
    "playbook.edit": "修改预案",
    "roster.add": "添加值班",
    "roster.remove": "删除值班",
    "roster.import": "导入值班表",
    "readiness.check": "节前准备检查",
    "readiness.signoff": "确认节前准备就绪",
    "drill.started": "开始演练",
    "drill.finished": "演练结束",
    "drill.aborted": "演练中止",
    "user.created": "新建用户",
    "user.updated": "修改用户",
    "user.enabled": "启用账号",
    "user.disabled": "停用账号",
    "user.unlocked": "解除锁定",
    "user.password_set": "重置密码",
    "user.password_changed": "修改密码",
    "user.token_issued": "签发命令行令牌",
    "user.tokens_revoked": "吊销命令行令牌",
    "feedback.switched_on": "启用本司反馈模型",
    "feedback.refused": "本司反馈模型未启用（未通过检验）",
    "feedback.rolled_back": "本司反馈模型回退到上一版",
    "rumor.added": "登记传言",
    "rumor.updated": "修改传言登记",
    "alert.ack_link_used": "经通知链接确认",
    "calendar.entered": "录入节假日安排",
    "calendar.removed": "删除节假日安排",
    "evidence.snapshot": "固定证据（发现时快照）",
    "evidence.page": "固定证据（抓取时原始页面）",
    "evidence.attached": "上传证据",
    "handover.written": "交班",
    "handover.acknowledged": "确认接班",
}

_MD_SPECIAL = set(string.punctuation)  # every ASCII punctuation character can be backslash-escaped
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


# ----------------------------------------------------------------------------- labels


def level_label(level: str | None) -> str:
    """'I' → 'I 级'; None → '未定级'."""
    return LEVEL_LABELS.get(level or "", "未定级")


def level_badge(level: str | None) -> tuple[str, str]:
    """(label, st.badge colour) for a level: I red, II orange, III yellow, IV blue, none gray."""
    if level in LEVEL_LABELS:
        return f"{LEVEL_LABELS[level]} · {LEVEL_NAMES[level]}", LEVEL_COLORS[level]
    return "未定级", "gray"


def sentiment_label(label: str | None) -> str:
    return SENTIMENT_LABELS.get(label or "", label or "—")


def falsity_label(label: str | None) -> str:
    return FALSITY_LABELS.get(label or "none", label or "—")


def alert_status_label(status: str | None) -> str:
    return ALERT_STATUS_LABELS.get(status or "", status or "无预警记录")


def audit_action_label(action: str) -> str:
    return AUDIT_ACTION_LABELS.get(action, action)


# ----------------------------------------------------------------------------- time


def to_shanghai(value: str | datetime | None) -> datetime | None:
    """An aware datetime in Asia/Shanghai. Naive values are taken as UTC (how the store keeps them)."""
    at = as_utc(value) if isinstance(value, datetime) else parse_instant(value)
    return at.astimezone(SHANGHAI) if at is not None else None


def format_time(value: str | datetime | None, *, with_seconds: bool = False) -> str:
    """'2024-10-01 02:13' in Beijing time; the raw value when it cannot be read; '—' when empty."""
    dt = to_shanghai(value)
    if dt is None:
        return str(value) if value else "—"
    return dt.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def format_duration(minutes: float) -> str:
    """90 → '1 小时 30 分'; 1500 → '1 天 1 小时'."""
    minutes = int(abs(minutes))
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {mins} 分" if mins else f"{hours} 小时"
    return f"{mins} 分钟"


def format_age(start: str | datetime | None, now: datetime) -> str:
    """How long ago ``start`` was, in Chinese ('3 小时 5 分'); '—' when unknown."""
    begin = to_shanghai(start)
    if begin is None:
        return "—"
    return format_duration((now - begin).total_seconds() / 60)


def format_deadline(due: datetime | None, now: datetime) -> str:
    """'剩余 12 分钟' before the deadline, '已超时 1 小时 3 分' after it."""
    if due is None:
        return "—"
    left = (due - now).total_seconds() / 60
    return f"剩余 {format_duration(left)}" if left >= 0 else f"已超时 {format_duration(left)}"


# ----------------------------------------------------------------------------- untrusted text


def plain(text: Any, limit: int | None = None) -> str:
    """Untrusted text made fit for ``st.text``: control and bidi-override characters removed, cut at ``limit``."""
    s = _CONTROL.sub("", str(text or ""))
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)].rstrip() + "…"
    return s


def escape_markdown(text: Any, limit: int | None = None) -> str:
    """Untrusted text for places Streamlit parses Markdown: every ASCII punctuation character is
    backslash-escaped (so no emphasis, link, HTML tag, ``:colour[...]`` directive, emoji shortcode or
    ``$math$`` survives) and line breaks become spaces (labels are one line)."""
    s = " ".join(plain(text, limit).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)


def safe_url(url: Any) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, else None (no javascript:, data:, …)."""
    s = str(url or "").strip()
    if not s or any(ch.isspace() or ord(ch) < 32 for ch in s):
        return None
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return s


def format_scores(scores: Mapping[str, Any] | None) -> str:
    """{'negative': 0.91, …} → '负面 91%　中性 7%　正面 2%'."""
    if not scores:
        return "—"
    parts = []
    for key in ("negative", "neutral", "positive"):
        if key in scores:
            parts.append(f"{SENTIMENT_LABELS[key]} {format_percent(scores[key])}")
    return "　".join(parts) or "—"


def format_percent(value: Any) -> str:
    """0.873 → '87%'; anything unreadable → '—'."""
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return "—"


def format_detail(detail: Mapping[str, Any] | None) -> str:
    """An audit entry's detail as one line of JSON (Chinese kept readable)."""
    if not detail:
        return ""
    return json.dumps(dict(detail), ensure_ascii=False, default=str, sort_keys=True)


def join_list(items: Any, sep: str = "、") -> str:
    values = [plain(x) for x in (items or []) if str(x or "").strip()]
    return sep.join(values) if values else "—"
