"""The regulator report draft (报告证监局): one escalation record written up for the local CSRC bureau.

``regulator_report`` gathers what the record shows — the posts of the event and their reach, the
level and why, what was done and when (the audit trail and the playbook steps marked done), the
holding statement used (only one compliance approved), where things stand, what comes next and whom
to call — writes it as Markdown and renders that as a .docx with Chinese fonts. It keeps a ``Report``
row (kind ``regulator``, ref = the escalation id, the SHA-256 of the .docx) and audits it.

Rules it enforces itself, whoever calls it: only a manager (``report.generate``) may generate, only a
manager (``report.sign``) may sign, and a drill never produces a regulator report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from playbooks.clocks import CLOCK_STATE_LABELS, escalation_clocks
from playbooks.escalation import STATE_LABELS
from playbooks.reports.wordfile import SIGNATURE_LINE, escape, render_docx, unescape
from playbooks.schema import Playbook
from store.models import (
    Alert,
    AuditEntry,
    Escalation,
    EscalationStep,
    Report,
    StatementDraft,
    User,
)
from store.records import audit
from store.times import as_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")
KIND = "regulator"
LEVEL_NAMES = {"I": "特别重大", "II": "重大", "III": "较大", "IV": "一般"}
APPROVED_STATEMENT = ("approved", "used")
MAX_POSTS_LISTED = 10
DRAFT_NOTE = "（本报告为舆情值守台根据处置记录生成的草稿，须经负责人审核签发、加盖公章后报送。）"

# audit actions that belong in "what was done", in the words a regulator reads
_ACTION_WORDS = {
    "alert.acknowledged": "值班员确认预警",
    "alert.assigned": "预警指派处理人",
    "escalation.opened": "开启处置记录",
    "escalation.assigned": "指定承办人",
    "statement.drafted": "起草对外口径",
    "statement.approved": "对外口径经合规审核通过",
    "statement.submitted": "对外口径提交合规审核",
    "statement.rejected": "对外口径经合规审核退回修改",
    "statement.used": "发布对外口径",
    "escalation.chain": "处置时限届满，按升级链通知上级负责人",
}


class ReportError(Exception):
    """A report that cannot be made or signed; the message is Chinese and shown as is."""


class ReportRefused(ReportError):
    """The rules forbid this report (a drill, a false positive)."""


def _bj(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Beijing local time text; '—' when unknown."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if value else None
        except ValueError:
            return value
    dt = as_utc(value) if value else None
    return dt.astimezone(SHANGHAI).strftime(fmt) if dt else "—"


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {mins} 分" if mins else f"{hours} 小时"
    return f"{mins} 分钟"


def _firm_name(firm: Any) -> str:
    name = getattr(firm, "name", firm)
    if not str(name or "").strip():
        raise ReportError("配置中没有公司全称（[firm] name），无法生成报告。")
    return str(name).strip()


def _playbook(playbooks: Sequence[Playbook] | Any, playbook_id: str | None) -> Playbook | None:
    if not playbook_id:
        return None
    return next((p for p in playbooks if p.id == playbook_id), None)


@dataclass
class _EventFacts:
    alerts: list[Alert]
    posts: dict[str, Any]  # post id → PostRecord (when a posts index was given)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(a.source for a in self.alerts if a.source))

    @property
    def first_seen(self) -> datetime | None:
        times = [a.created_at for a in self.alerts if a.created_at]
        return min(times) if times else None

    def reach(self) -> dict[str, int] | None:
        if not self.posts:
            return None
        out = {"reposts": 0, "comments": 0, "likes": 0}
        for p in self.posts.values():
            for k in out:
                out[k] += int(getattr(p, k, 0) or 0)
        return out


def _event_facts(session: Session, alert: Alert, index: Any | None) -> _EventFacts:
    """The alerts of the record's event (same event id, never a drill's), oldest first, and their posts."""
    if alert.event_id:
        alerts = list(
            session.scalars(
                select(Alert)
                .where(Alert.event_id == alert.event_id, Alert.drill.is_(False))
                .order_by(Alert.created_at, Alert.id)
            )
        )
    else:
        alerts = [alert]
    if alert not in alerts:
        alerts.insert(0, alert)
    posts = index.get_many([a.post_id for a in alerts]) if index is not None else {}
    return _EventFacts(
        alerts=alerts, posts={k: v for k, v in posts.items() if not getattr(v, "drill", False)}
    )


def _done_rows(
    session: Session, esc: Escalation, playbook: Playbook | None
) -> list[tuple[datetime, str, str, str]]:
    """(when, what, who, note) for everything done on the record, oldest first."""
    rows: list[tuple[datetime, str, str, str]] = []
    if esc.alert is not None and esc.alert.created_at is not None:
        rows.append((esc.alert.created_at, "监测系统生成预警", "系统", ""))
    titles = {s.id: s.title for s in playbook.steps} if playbook else {}
    for step in session.scalars(
        select(EscalationStep).where(EscalationStep.escalation_id == esc.id).order_by(EscalationStep.done_at)
    ):
        rows.append(
            (
                step.done_at,
                f"完成预案步骤：{titles.get(step.step_id, step.step_id)}",
                step.done_by,
                step.note,
            )
        )
    entries = session.scalars(
        select(AuditEntry)
        .where(
            ((AuditEntry.entity == "escalation") & (AuditEntry.entity_id == str(esc.id)))
            | ((AuditEntry.entity == "alert") & (AuditEntry.entity_id == str(esc.alert_id)))
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    for e in entries:
        detail = e.detail or {}
        if e.action == "escalation.state":
            after = STATE_LABELS.get(str(detail.get("after")), str(detail.get("after", "")))
            before = STATE_LABELS.get(str(detail.get("before")), str(detail.get("before", "")))
            what = f"处置状态：{before} → {after}"
        elif e.action in _ACTION_WORDS:
            what = _ACTION_WORDS[e.action]
            if e.action.endswith("assigned") and detail.get("after"):
                what += f"（{detail['after']}）"
            elif e.action == "statement.used" and detail.get("channel"):
                what += f"（{detail['channel']}）"
        else:
            continue  # internal bookkeeping (report drafts, alert refreshes, notifications): not a measure
        rows.append((e.at, what, e.actor, str(detail.get("note") or "")))
    rows.sort(key=lambda r: r[0] or datetime.min.replace(tzinfo=UTC))
    names: dict[str, str] = {}
    for who in {r[2] for r in rows}:
        names[who] = "系统" if who in ("system", "系统") else _person(session, who)
    return [(when, what, names[who], note) for when, what, who, note in rows]


def _person(session: Session, username: str) -> str:
    """王晓明（wang） for a desk user with a display name; the username as it is otherwise."""
    if not username:
        return ""
    user = session.scalar(select(User).where(User.username == username))
    return f"{user.display_name}（{username}）" if user is not None and user.display_name else username


def _approved_statement(session: Session, esc: Escalation) -> StatementDraft | None:
    return session.scalar(
        select(StatementDraft)
        .where(
            StatementDraft.escalation_id == esc.id,
            StatementDraft.status.in_(APPROVED_STATEMENT),
            StatementDraft.reviewed_at.is_not(None),
        )
        .order_by(StatementDraft.reviewed_at.desc(), StatementDraft.id.desc())
    )


def _title(alert: Alert, playbook: Playbook | None) -> str:
    subject = " ".join((alert.title or "").split())
    if subject:
        return f"关于“{escape(subject, 40)}”舆情事件的报告"
    kind = playbook.name.removesuffix("应对预案").removesuffix("舆情") if playbook else "相关"
    return f"关于{escape(kind)}舆情事件的报告"


def build_markdown(
    session: Session,
    esc: Escalation,
    *,
    playbook: Playbook | None,
    firm: str,
    actor: Actor,
    now: datetime,
    index: Any | None = None,
) -> tuple[str, str]:
    """(title, Markdown) of the draft for one record. Every outside text goes through ``escape``."""
    alert = esc.alert
    facts = _event_facts(session, alert, index)
    level = esc.level or alert.level
    level_text = f"{level} 级（{LEVEL_NAMES[level]}）" if level in LEVEL_NAMES else "未定级"
    # the addressee without the playbook's explanatory note: 当地证监局（公司住所地…派出机构） → 当地证监局
    to = re.sub(r"[（(][^）)]*[）)]$", "", playbook.regulator_report.to if playbook else "") or "当地证监局"
    title = _title(alert, playbook)
    sources = "、".join(escape(s) for s in facts.sources) or "网络"
    first_seen = facts.first_seen
    f = escape(firm)

    md: list[str] = [f"# {title}", "", f"{escape(to)}：", ""]
    md += [
        f"{f}（以下简称“我公司”）于 {_bj(first_seen)} 监测到{sources}等平台出现有关"
        f"“{escape(alert.title or alert.snippet, 60)}”的舆情（以下简称“本事件”）。"
        f"经研判，本事件定为 {level_text}。现将有关情况报告如下：",
        "",
    ]

    # 一、event
    md += ["## 一、事件基本情况", ""]
    md.append(f"- 首次监测时间：{_bj(first_seen)}")
    md.append(f"- 相关帖文：{len(facts.alerts)} 篇，来源：{sources}")
    reach = facts.reach()
    if reach is not None:
        md.append(
            f"- 传播情况（截至 {_bj(now)}）：转发 {reach['reposts']} 次，评论 {reach['comments']} 条，"
            f"点赞 {reach['likes']} 次"
        )
    if alert.snippet:
        md.append(f"- 主要内容：{escape(alert.snippet, 200)}")
    md.append("")
    md += ["| 发布/发现时间 | 来源 | 标题 | 转发/评论/点赞 |", "|---|---|---|---|"]
    for a in facts.alerts[:MAX_POSTS_LISTED]:
        post = facts.posts.get(a.post_id)
        when = _bj(post.published_at or post.first_seen_at) if post is not None else _bj(a.created_at)
        numbers = f"{post.reposts}/{post.comments}/{post.likes}" if post is not None else "—"
        md.append(
            f"| {escape(when)} | {escape(a.source) or '—'} | {escape(a.title or a.snippet, 100) or '—'} | {numbers} |"
        )
    if len(facts.alerts) > MAX_POSTS_LISTED:
        md += ["", f"另有 {len(facts.alerts) - MAX_POSTS_LISTED} 篇相关帖文未列出。"]
    md.append("")

    # 二、level and why
    md += ["## 二、事件级别及研判依据", ""]
    md.append(f"- 事件级别：{level_text}")
    reasons = "；".join(escape(r) for r in (alert.reasons or []) if str(r).strip())
    md.append(f"- 研判依据：{reasons or '—'}")
    if playbook is not None:
        md.append(f"- 适用预案：{escape(playbook.name)}")
        rr = playbook.regulator_report
        if level in rr.when:
            minutes = playbook.clocks(level).regulator_report_within
            md.append(
                f"- 报告要求：按预案，{level} 级事件须在预警后 {_duration(timedelta(minutes=minutes or 0))}内"
                f"报告{escape(to)}（{'；'.join(escape(h) for h in rr.how)}）"
            )
        else:
            md.append(f"- 报告要求：按预案，{level_text}事件不要求报告，本报告为我公司主动报告")
    md.append("")

    # 三、what was done
    md += ["## 三、已采取的处置措施", ""]
    done = _done_rows(session, esc, playbook)
    if done:
        md += ["| 时间 | 措施 | 执行人 | 备注 |", "|---|---|---|---|"]
        for when, what, who, note in done:
            md.append(
                f"| {escape(_bj(when))} | {escape(what)} | {escape(who) or '—'} | {escape(note, 120) or '—'} |"
            )
    else:
        md.append("截至报告时，处置记录中尚无已完成的处置措施。")
    md.append("")

    # 四、holding statement
    md += ["## 四、对外口径", ""]
    statement = _approved_statement(session, esc)
    if statement is not None:
        md.append(
            f"我公司采用的对外口径经合规审核（审核人：{escape(statement.reviewed_by) or '—'}，"
            f"审核时间：{_bj(statement.reviewed_at)}），全文如下："
        )
        md.append("")
        for para in (statement.text or "").splitlines():
            if para.strip():
                md += [f"> {escape(para)}", ""]
    else:
        md += ["截至报告时，尚无经合规审核通过的对外口径，我公司未就本事件对外发布说明。", ""]

    # 五、current state
    md += ["## 五、目前状态", ""]
    md.append(f"- 处置状态：{STATE_LABELS.get(esc.state, esc.state)}")
    md.append(f"- 承办人：{escape(_person(session, esc.owner)) or '—'}")
    if first_seen is not None:
        md.append(f"- 自首次监测已历时：{_duration(as_utc(now) - first_seen)}")
    clocks = escalation_clocks(session, esc, playbook, now=now) if playbook is not None else []
    level_clocks = [c for c in clocks if c.kind == "level" and c.state != "not_required"]
    for c in level_clocks:
        when = f"，完成于 {_bj(c.done_at)}" if c.done_at else f"，时限 {_bj(c.due_at)}"
        md.append(f"- {c.name}：{CLOCK_STATE_LABELS[c.state]}{when}")
    md.append("")

    # 六、next steps
    md += ["## 六、下一步工作安排", ""]
    pending = [c for c in clocks if c.kind == "step" and c.done_at is None and c.state != "not_required"]
    if pending:
        for c in pending:
            late = "，已超时" if c.state == "breached" else ""
            md.append(f"- {escape(c.name)}（{escape(c.owner_label)}，时限 {_bj(c.due_at)}{late}）")
    else:
        md.append("- 持续监测舆情变化，如有重大进展及时续报。")
    md.append("")

    # 七、contact
    md += ["## 七、联系人", ""]
    user = session.scalar(select(User).where(User.username == actor.username))
    name = (user.display_name if user and user.display_name else actor.display_name) or actor.username
    md.append(f"- 联系人：{escape(name)}（舆情处置负责人）")
    md.append(f"- 联系电话：{escape(user.phone) if user and user.phone else '—'}")
    md.append(f"- 电子邮箱：{escape(user.email) if user and user.email else '—'}")
    md.append("")

    md += [SIGNATURE_LINE, "", f, "", _bj(now, "%Y年%m月%d日"), "", DRAFT_NOTE, ""]
    return title, "\n".join(md)


def regulator_report(
    session: Session,
    escalation_id: int,
    *,
    playbooks: Sequence[Playbook],
    firm: Any,
    actor: Actor,
    now: datetime,
    index: Any | None = None,
) -> tuple[str, bytes]:
    """Generate the 报告证监局 draft for one escalation record: (Markdown, .docx bytes).

    ``firm``: the firm's full name (or the config's FirmConfig); ``index``: the posts index, for the
    posts' reach (optional). Refuses a drill and a false positive; requires ``report.generate``.
    Keeps a ``Report`` row and an audit entry in ``session`` (the caller's transaction).
    """
    require(actor, "report.generate")
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise ReportError(f"处置记录 {escalation_id} 不存在。")
    if esc.drill or (esc.alert is not None and esc.alert.drill):
        raise ReportRefused("这是演练处置记录：演练不生成报告证监局草稿，也不得对外报送。")
    if esc.state == "false_positive":
        raise ReportRefused("该处置记录已判定为误报，无需报告证监局。")
    firm_name = _firm_name(firm)
    now = as_utc(now).replace(microsecond=0)
    playbook = _playbook(playbooks, esc.playbook_id or esc.alert.playbook_id)
    title, markdown = build_markdown(
        session, esc, playbook=playbook, firm=firm_name, actor=actor, now=now, index=index
    )
    _, data = store_report(
        session,
        kind=KIND,
        ref=str(esc.id),
        title=title,
        markdown=markdown,
        firm=firm_name,
        actor=actor,
        now=now,
        audit_on=("escalation", esc.id),  # on the record's own history, beside its other changes
    )
    return markdown, data


def store_report(
    session: Session,
    *,
    kind: str,
    ref: str,
    title: str,
    markdown: str,
    firm: str,
    actor: Actor,
    now: datetime,
    audit_on: tuple[str, Any] | None = None,
) -> tuple[Report, bytes]:
    """Keep a generated report as a new ``Report`` row (never over an older one), with the sha256 of its
    .docx, and audit it — on the report itself, or on ``audit_on`` (entity, id) such as its escalation."""
    data = render_docx(markdown, title=unescape(title), author=firm, created=now)
    digest = hashlib.sha256(data).hexdigest()
    report = Report(
        kind=kind,
        ref=ref,
        title=unescape(title),
        content_md=markdown,
        sha256=digest,
        drill=False,
        created_by=actor.username,
        created_at=now,
    )
    session.add(report)
    session.flush()
    entity, entity_id = audit_on or ("report", report.id)
    audit(
        session,
        actor=actor.username,
        action="report.generated",
        entity=entity,
        entity_id=entity_id,
        report_id=report.id,
        kind=kind,
        ref=ref,
        sha256=digest,
    )
    return report, data


def _plain_title(title: str) -> str:
    return unescape(title)


def report_docx(report: Report) -> bytes:
    """The .docx of a stored report, rebuilt from its Markdown: the same bytes as when it was made."""
    return render_docx(
        report.content_md,
        title=report.title,
        author=_author_of(report),
        created=report.created_at,
    )


def _author_of(report: Report) -> str:
    """The firm name: the signature block's first line (the docx author is the firm, not a person)."""
    lines = [ln.strip() for ln in report.content_md.splitlines()]
    if SIGNATURE_LINE in lines:
        rest = [ln for ln in lines[lines.index(SIGNATURE_LINE) + 1 :] if ln]
        if rest:
            return unescape(rest[0])
    return ""


def verify(report: Report) -> bool:
    """Whether the stored SHA-256 is that of the .docx rebuilt from the stored Markdown."""
    return hashlib.sha256(report_docx(report)).hexdigest() == report.sha256


def reports_for(session: Session, escalation_id: int) -> list[Report]:
    """The regulator reports of one record, newest first."""
    return list(
        session.scalars(
            select(Report)
            .where(Report.kind == KIND, Report.ref == str(escalation_id))
            .order_by(Report.created_at.desc(), Report.id.desc())
        )
    )


SIGNABLE_KINDS = (KIND, "daily", "holiday")  # the daily brief and holiday summary: playbooks.reports.periodic


def sign_report(session: Session, report_id: int, *, actor: Actor, now: datetime) -> Report:
    """A manager signs off a report (签发: a regulator report draft, a daily brief, a holiday summary):
    who and when are kept and audited. A report is signed once; a new version is a new report."""
    require(actor, "report.sign")
    report = session.get(Report, report_id)
    if report is None or report.kind not in SIGNABLE_KINDS:
        raise ReportError(f"报告 {report_id} 不存在。")
    if report.drill:
        raise ReportRefused("演练报告不能签发。")
    if report.signed_at is not None:
        raise ReportError(f"该报告已由 {report.signed_by} 于 {_bj(report.signed_at)} 签发。")
    if not verify(report):
        raise ReportError("报告内容与生成时的校验值不符，不能签发；请重新生成。")
    report.signed_by = actor.username
    report.signed_at = as_utc(now)
    session.flush()
    audit(
        session,
        actor=actor.username,
        action="report.signed",
        entity="escalation" if report.kind == KIND else "report",
        entity_id=report.ref if report.kind == KIND else report.id,
        report_id=report.id,
        kind=report.kind,
        sha256=report.sha256,
    )
    return report
