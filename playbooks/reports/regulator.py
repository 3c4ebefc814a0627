"""The regulator report draft (报告证监局): one escalation record written up for the local CSRC bureau.

``regulator_report`` gathers what the record shows — the posts of the event and their reach, the
level and why, what was done and when (the audit trail and the playbook steps marked done), the
holding statement used (only one compliance approved), where things stand, what comes next and whom
to call — as plain values (``regulator_facts``), writes them as Markdown (``render_markdown``, from
templates/regulator.md.j2) and renders that as a .docx with Chinese fonts. It keeps a ``Report`` row
(kind ``regulator``, ref = the escalation id, the SHA-256 of the .docx) and audits it.

Rules it enforces itself, whoever calls it: only a manager (``report.generate``) may generate, only a
manager (``report.sign``) may sign, and a drill never produces a regulator report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from playbooks import evidence
from playbooks.authz import Actor, require
from playbooks.clocks import CLOCK_STATE_LABELS, ClockState, escalation_clocks
from playbooks.escalation import STATE_LABELS
from playbooks.reports.common import (
    ReportConflict,
    ReportError,
    ReportRefused,
    author_of,
    bj,
    firm_name,
    person,
    render,
)
from playbooks.reports.wordfile import SIGNATURE_LINE, escape, render_docx, unescape
from playbooks.schema import Playbook
from playbooks.sources import IDENTITY, SourceNames
from store.models import (
    Alert,
    AuditEntry,
    Escalation,
    EscalationStep,
    Report,
    StatementDraft,
    User,
)
from store.records import SYSTEM_ACTOR, audit
from store.times import as_utc

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


def _playbook(playbooks: Sequence[Playbook] | Any, playbook_id: str | None) -> Playbook | None:
    if not playbook_id:
        return None
    return next((p for p in playbooks if p.id == playbook_id), None)


# --------------------------------------------------------------------------- the facts (query step)


@dataclass(frozen=True)
class PostLine:
    """One post of the event: the alert's post as the posts index has it, or the alert alone."""

    when: datetime | str | None  # published (or first seen); the alert's time when the post is unknown
    source: str
    title: str  # the alert's title, or its snippet
    indexed: bool  # the post is in the posts index (else no numbers)
    reposts: int = 0
    comments: int = 0
    likes: int = 0


@dataclass(frozen=True)
class DoneLine:
    """One thing done on the record (an audit entry or a playbook step), in a regulator's words."""

    when: datetime | None
    what: str
    who: str  # 王晓明（wang）, 系统
    note: str


@dataclass(frozen=True)
class ClockLine:
    name: str
    state: str  # one of playbooks.clocks.CLOCK_STATES
    owner: str  # a step's owner (值班员, 合规 …)
    due_at: datetime | None
    done_at: datetime | None


@dataclass(frozen=True)
class ApprovedStatement:
    reviewed_by: str
    reviewed_at: datetime | None
    text: str


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    email: str


@dataclass(frozen=True)
class EvidenceLine:
    """One piece of evidence the desk keeps (playbooks/evidence.py), as the report lists it."""

    when: datetime
    name: str
    who: str  # 系统自动 or 赵经理（zhao）
    sha256: str
    size: int


@dataclass(frozen=True)
class RegulatorFacts:
    """Everything the regulator report says about one record, as plain values (outside text raw)."""

    firm: str
    now: datetime
    addressee: str  # 当地证监局 (the playbook's addressee without its explanatory note)
    subject: str  # the alert's title ("" when it has none)
    snippet: str
    event_kind: str  # the playbook's name without 应对预案/舆情, or 相关: the title when there is no subject
    level: str | None
    first_seen: datetime | None
    sources: list[str]
    reach: dict[str, int] | None  # reposts, comments, likes summed over the posts (None: no posts index)
    posts: list[PostLine]  # every alert of the event, oldest first
    reasons: list[str]
    playbook_name: str | None  # None: no playbook
    report_required: bool  # the playbook requires a report at this level
    report_within: timedelta | None  # … within this time of the alert
    report_how: list[str]
    done: list[DoneLine]
    statement: ApprovedStatement | None
    state: str
    owner: str  # 王晓明（wang）
    level_clocks: list[ClockLine]  # the level's clocks that apply
    pending_steps: list[ClockLine]  # the playbook steps not done yet
    contact: Contact  # the manager who generates the report
    evidence: list[EvidenceLine] = field(default_factory=list)  # 固定证据: snapshots and attachments


def regulator_facts(
    session: Session,
    esc: Escalation,
    *,
    playbook: Playbook | None,
    firm: str,
    actor: Actor,
    now: datetime,
    index: Any | None = None,
    names: SourceNames = IDENTITY,
) -> RegulatorFacts:
    """The query step: what the records (and the posts index, when given) show about one record; sources by
    their display names (``names``)."""
    alert = esc.alert
    alerts = _event_alerts(session, alert)
    posts = _event_posts(alerts, index)
    times = [a.created_at for a in alerts if a.created_at]
    clocks = escalation_clocks(session, esc, playbook, now=now) if playbook is not None else []
    level = esc.level or alert.level
    rr = playbook.regulator_report if playbook is not None else None
    required = rr is not None and level in rr.when
    minutes = playbook.clocks(level).regulator_report_within if playbook is not None and required else None
    return RegulatorFacts(
        firm=firm,
        now=as_utc(now),
        # the addressee without the playbook's explanatory note: 当地证监局（公司住所地…派出机构） → 当地证监局
        addressee=re.sub(r"[（(][^）)]*[）)]$", "", rr.to if rr is not None else "") or "当地证监局",
        subject=alert.title or "",
        snippet=alert.snippet or "",
        event_kind=playbook.name.removesuffix("应对预案").removesuffix("舆情") if playbook else "相关",
        level=level,
        first_seen=min(times) if times else None,
        sources=names.many(a.source for a in alerts),
        reach=_reach(posts),
        posts=[_post_line(a, posts.get(a.post_id), names) for a in alerts],
        reasons=names.reasons(alert.reasons or []),
        playbook_name=playbook.name if playbook is not None else None,
        report_required=required,
        report_within=timedelta(minutes=minutes or 0) if required else None,
        report_how=list(rr.how) if rr is not None else [],
        done=_done_lines(session, esc, playbook),
        statement=_approved_statement(session, esc),
        state=esc.state,
        owner=person(session, esc.owner),
        level_clocks=[_clock_line(c) for c in clocks if c.kind == "level" and c.state != "not_required"],
        pending_steps=[
            _clock_line(c)
            for c in clocks
            if c.kind == "step" and c.done_at is None and c.state != "not_required"
        ],
        contact=_contact(session, actor),
        evidence=[
            EvidenceLine(
                when=e.captured_at,
                name=e.name,
                who="系统自动" if e.captured_by == SYSTEM_ACTOR else person(session, e.captured_by),
                sha256=e.sha256,
                size=e.size,
            )
            for e in evidence.for_alerts(session, [a.id for a in alerts])
        ],
    )


def _event_alerts(session: Session, alert: Alert) -> list[Alert]:
    """The alerts of the record's event (same event id, never a drill's), oldest first."""
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
    return alerts


def _event_posts(alerts: Sequence[Alert], index: Any | None) -> dict[str, Any]:
    """post id → PostRecord of the alerts' posts in the index (drills left out); {} without an index."""
    posts = index.get_many([a.post_id for a in alerts]) if index is not None else {}
    return {k: v for k, v in posts.items() if not getattr(v, "drill", False)}


def _reach(posts: dict[str, Any]) -> dict[str, int] | None:
    if not posts:
        return None
    out = {"reposts": 0, "comments": 0, "likes": 0}
    for p in posts.values():
        for k in out:
            out[k] += int(getattr(p, k, 0) or 0)
    return out


def _post_line(alert: Alert, post: Any | None, names: SourceNames = IDENTITY) -> PostLine:
    if post is None:
        return PostLine(
            when=alert.created_at,
            source=names(alert.source),
            title=alert.title or alert.snippet,
            indexed=False,
        )
    return PostLine(
        when=post.published_at or post.first_seen_at,
        source=names(alert.source),
        title=alert.title or alert.snippet,
        indexed=True,
        reposts=post.reposts,
        comments=post.comments,
        likes=post.likes,
    )


def _clock_line(c: ClockState) -> ClockLine:
    return ClockLine(name=c.name, state=c.state, owner=c.owner_label, due_at=c.due_at, done_at=c.done_at)


def _done_lines(session: Session, esc: Escalation, playbook: Playbook | None) -> list[DoneLine]:
    """Everything done on the record, oldest first."""
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
        names[who] = "系统" if who in ("system", "系统") else person(session, who)
    return [DoneLine(when=when, what=what, who=names[who], note=note) for when, what, who, note in rows]


def _approved_statement(session: Session, esc: Escalation) -> ApprovedStatement | None:
    """The holding statement compliance approved most recently (only an approved one is ever quoted)."""
    draft = session.scalar(
        select(StatementDraft)
        .where(
            StatementDraft.escalation_id == esc.id,
            StatementDraft.status.in_(APPROVED_STATEMENT),
            StatementDraft.reviewed_at.is_not(None),
        )
        .order_by(StatementDraft.reviewed_at.desc(), StatementDraft.id.desc())
    )
    if draft is None:
        return None
    return ApprovedStatement(
        reviewed_by=draft.reviewed_by, reviewed_at=draft.reviewed_at, text=draft.text or ""
    )


def _contact(session: Session, actor: Actor) -> Contact:
    user = session.scalar(select(User).where(User.username == actor.username))
    return Contact(
        name=(user.display_name if user and user.display_name else actor.display_name) or actor.username,
        phone=user.phone if user and user.phone else "",
        email=user.email if user and user.email else "",
    )


# --------------------------------------------------------------------------- the Markdown (render step)


def regulator_title(facts: RegulatorFacts) -> str:
    """关于“…”舆情事件的报告 (escaped Markdown)."""
    subject = " ".join(facts.subject.split())
    if subject:
        return f"关于“{escape(subject, 40)}”舆情事件的报告"
    return f"关于{escape(facts.event_kind)}舆情事件的报告"


def _level_text(level: str | None) -> str:
    """II 级（重大）; 未定级."""
    return f"{level} 级（{LEVEL_NAMES[level]}）" if level in LEVEL_NAMES else "未定级"


def render_markdown(facts: RegulatorFacts) -> tuple[str, str]:
    """(title, Markdown) of the draft. Every outside text goes through ``escape`` (the ``md`` filter)."""
    title = regulator_title(facts)
    markdown = render(
        "regulator.md.j2",
        f=facts,
        title=title,
        level_text=_level_text(facts.level),
        max_posts=MAX_POSTS_LISTED,
        state_labels=STATE_LABELS,
        clock_labels=CLOCK_STATE_LABELS,
        signature_line=SIGNATURE_LINE,
        draft_note=DRAFT_NOTE,
    )
    return title, markdown


def build_markdown(
    session: Session,
    esc: Escalation,
    *,
    playbook: Playbook | None,
    firm: str,
    actor: Actor,
    now: datetime,
    index: Any | None = None,
    names: SourceNames = IDENTITY,
) -> tuple[str, str]:
    """(title, Markdown) of the draft for one record: its facts, rendered."""
    facts = regulator_facts(
        session, esc, playbook=playbook, firm=firm, actor=actor, now=now, index=index, names=names
    )
    return render_markdown(facts)


def regulator_report(
    session: Session,
    escalation_id: int,
    *,
    playbooks: Sequence[Playbook],
    firm: Any,
    actor: Actor,
    now: datetime,
    index: Any | None = None,
    names: SourceNames = IDENTITY,
) -> tuple[str, bytes]:
    """Generate the 报告证监局 draft for one escalation record: (Markdown, .docx bytes).

    ``firm``: the firm's full name (or the config's FirmConfig); ``index``: the posts index, for the
    posts' reach (optional); ``names``: the sources' display names (never their ids in the document). Refuses a drill and a false positive; requires ``report.generate``.
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
    full_name = firm_name(firm)
    now = as_utc(now).replace(microsecond=0)
    playbook = _playbook(playbooks, esc.playbook_id or esc.alert.playbook_id)
    title, markdown = build_markdown(
        session, esc, playbook=playbook, firm=full_name, actor=actor, now=now, index=index, names=names
    )
    _, data = store_report(
        session,
        kind=KIND,
        ref=str(esc.id),
        title=title,
        markdown=markdown,
        firm=full_name,
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


def report_docx(report: Report) -> bytes:
    """The .docx of a stored report, rebuilt from its Markdown: the same bytes as when it was made."""
    return render_docx(
        report.content_md,
        title=report.title,
        author=author_of(report),
        created=report.created_at,
    )


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


@dataclass(frozen=True)
class ReportableRecord:
    """An escalation record a regulator report can be made for."""

    id: int
    level: str | None
    state: str
    title: str  # the alert's title, or its snippet


def reportable_records(session: Session, *, limit: int = 500) -> list[ReportableRecord]:
    """The records a regulator report can be made for (never a drill's nor a false positive), newest first."""
    rows = session.scalars(
        select(Escalation)
        .where(Escalation.drill.is_(False), Escalation.state != "false_positive")
        .order_by(Escalation.opened_at.desc(), Escalation.id.desc())
        .limit(limit)
    )
    return [
        ReportableRecord(id=e.id, level=e.level, state=e.state, title=e.alert.title or e.alert.snippet)
        for e in rows
    ]


def draft_docx(session: Session, report_id: int) -> tuple[bytes, bool]:
    """A stored report's .docx rebuilt from its Markdown (the same bytes as generated), and whether they
    are those whose SHA-256 was kept."""
    report = session.get(Report, report_id)
    if report is None:
        raise ReportError(f"报告 {report_id} 不存在。")
    data = report_docx(report)
    return data, hashlib.sha256(data).hexdigest() == report.sha256


SIGNABLE_KINDS = (KIND, "daily", "holiday")  # the daily brief and holiday summary: playbooks.reports.periodic


def sign_report(session: Session, report_id: int, *, actor: Actor, now: datetime) -> Report:
    """A manager signs off a report (签发: a regulator report draft, a daily brief, a holiday summary):
    who and when are kept and audited. A report is signed once; a new version is a new report. The
    signature is compare-and-set (``UPDATE … WHERE signed_at IS NULL``): of two managers signing at the
    same moment one signs and writes the audit entry, the other gets ReportConflict (已被他人签发)."""
    require(actor, "report.sign")
    report = session.get(Report, report_id, populate_existing=True)
    if report is None or report.kind not in SIGNABLE_KINDS:
        raise ReportError(f"报告 {report_id} 不存在。")
    if report.drill:
        raise ReportRefused("演练报告不能签发。")
    if report.signed_at is not None:
        raise ReportError(f"该报告已由 {report.signed_by} 于 {bj(report.signed_at)} 签发。")
    if not verify(report):
        raise ReportError("报告内容与生成时的校验值不符，不能签发；请重新生成。")
    session.flush()
    signed = session.execute(  # compare-and-set: of two managers signing at once, one signs
        update(Report)
        .where(Report.id == report.id, Report.signed_at.is_(None))
        .values(signed_by=actor.username, signed_at=as_utc(now))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(report)
    if not signed:
        raise ReportConflict(
            f"该报告已被他人签发（{report.signed_by} 于 {bj(report.signed_at)}），无需重复签发。"
        )
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
