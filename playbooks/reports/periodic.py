"""What the daily brief (舆情日报) and the holiday summary (假期舆情工作总结) share: keeping a generated
report as a ``Report`` row, the signed copy, the list of reports, and the figures both read from the
records database (escalations in a period, response times, clock compliance, false positives).

A report is kept as its Markdown (every outside text escaped, ``wordfile.escape``) with the SHA-256 of
the .docx rendered from it. Every generation is a new row: a signed report is never written over, so
regenerating after a sign-off leaves the signed version as it was and adds a new, unsigned one.

The Markdown carries a sign-off line (``SIGN_PLACEHOLDER``); the files handed out for a signed report
(``report_files``) have that line replaced by who signed and when. The stored Markdown and its SHA-256
stay those of the draft as generated, which is what ``regulator.verify`` checks before a sign-off.

Drills never count: every query here leaves out ``drill`` rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playbooks.authz import Actor
from playbooks.clocks import escalation_clocks, facts_for
from playbooks.dashboard import PostFigures, events_of, flagged_posts, post_time
from playbooks.reports.common import ReportError, author_of, bj, person
from playbooks.reports.regulator import report_docx, store_report, verify
from playbooks.reports.wordfile import escape, render_docx
from playbooks.schema import Playbook
from playbooks.sources import SourceNames
from store.models import Alert, Escalation, Report, User

KINDS = ("daily", "holiday")
KIND_LABELS = {"regulator": "报告证监局", "daily": "舆情日报", "holiday": "假期舆情工作总结"}
SIGN_PLACEHOLDER = "- 签发：待负责人在舆情值守台审核签发"
DUE_STATES = ("met", "met_late", "breached")  # clocks whose deadline has come (or that were done)
MAX_LISTED = 30  # rows a report's table lists (a busy period is summed up, not printed whole)


# --------------------------------------------------------------------------- keeping and signing


def save_report(
    session: Session,
    *,
    kind: str,
    ref: str,
    title: str,
    markdown: str,
    firm: str,
    actor: Actor,
    now: datetime,
) -> tuple[Report, bytes]:
    """Keep a generated report as a new ``Report`` row (never over an older one) and audit it."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    return store_report(
        session, kind=kind, ref=ref, title=title, markdown=markdown, firm=firm, actor=actor, now=now
    )


def signed_markdown(session: Session, report: Report) -> str:
    """The report's Markdown as handed out: with who signed it and when, once it is signed."""
    if report.signed_at is None or SIGN_PLACEHOLDER not in report.content_md:
        return report.content_md
    line = f"- 签发：{escape(person(session, report.signed_by))}，{bj(report.signed_at)}（北京时间）"
    return report.content_md.replace(SIGN_PLACEHOLDER, line, 1)


def report_files(session: Session, report: Report) -> tuple[str, bytes]:
    """(Markdown, .docx) of a stored report: the draft as generated, or the signed copy once signed."""
    if report.signed_at is None:
        return report.content_md, report_docx(report)
    md = signed_markdown(session, report)
    return md, render_docx(md, title=report.title, author=author_of(report), created=report.created_at)


@dataclass(frozen=True)
class ReportFiles:
    """The files handed out for a stored report, and whether its draft is intact."""

    markdown: str
    docx: bytes
    intact: bool  # the draft's .docx rebuilt from the stored Markdown has the SHA-256 kept with it
    docx_name: str
    md_name: str


def files_of(session: Session, report_id: int) -> ReportFiles:
    """The Markdown and .docx of a stored report as handed out (the signed copy once signed)."""
    report = session.get(Report, report_id)
    if report is None:
        raise ReportError(f"报告 {report_id} 不存在。")
    markdown, data = report_files(session, report)
    return ReportFiles(
        markdown=markdown,
        docx=data,
        intact=verify(report),
        docx_name=file_name(report, "docx"),
        md_name=file_name(report, "md"),
    )


def reports_of(session: Session, kind: str, ref: str | None = None, *, limit: int = 200) -> list[Report]:
    """Reports of one kind (and ref), newest first."""
    stmt = select(Report).where(Report.kind == kind, Report.drill.is_(False))
    if ref is not None:
        stmt = stmt.where(Report.ref == ref)
    return list(session.scalars(stmt.order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)))


def file_name(report: Report, suffix: str) -> str:
    """舆情日报-2026-10-01-报告12.docx: a name without characters a file system refuses."""
    ref = "".join(ch if ch.isalnum() or ch in "-_~" else "_" for ch in report.ref)
    return f"{KIND_LABELS.get(report.kind, report.kind)}-{ref}-报告{report.id}.{suffix}"


# --------------------------------------------------------------------------- figures from the records


def escalations_opened(session: Session, start: datetime, end: datetime) -> list[Escalation]:
    """Escalation records (not drills) opened in [start, end), oldest first."""
    return list(
        session.scalars(
            select(Escalation)
            .where(
                Escalation.drill.is_(False),
                Escalation.opened_at >= start,
                Escalation.opened_at < end,
            )
            .order_by(Escalation.opened_at, Escalation.id)
        )
    )


def escalation_title(esc: Escalation, limit: int = 40) -> str:
    alert = esc.alert
    return escape((alert.title or alert.snippet) if alert is not None else "", limit) or "—"


@dataclass
class LateClock:
    escalation_id: int
    title: str  # escaped
    level: str | None
    clock: str  # the clock's name (确认预警, a step's title)
    due_at: datetime
    done_at: datetime | None  # None: never done (breached)


@dataclass
class ResponseTimes:
    """Response figures over a set of escalation records, every clock counted from the alert's opening."""

    records: int = 0
    to_acknowledge: list[timedelta] = field(default_factory=list)
    to_statement: list[timedelta] = field(default_factory=list)
    unacknowledged: int = 0
    clocks_due: int = 0  # clocks whose deadline came (met, met late, breached)
    clocks_met: int = 0
    late: list[LateClock] = field(default_factory=list)  # met late or breached, by deadline

    @staticmethod
    def _median(values: list[timedelta]) -> timedelta | None:
        return statistics.median(values) if values else None

    @property
    def median_acknowledge(self) -> timedelta | None:
        return self._median(self.to_acknowledge)

    @property
    def worst_acknowledge(self) -> timedelta | None:
        return max(self.to_acknowledge) if self.to_acknowledge else None

    @property
    def median_statement(self) -> timedelta | None:
        return self._median(self.to_statement)

    @property
    def worst_statement(self) -> timedelta | None:
        return max(self.to_statement) if self.to_statement else None

    @property
    def compliance(self) -> float | None:
        """Share of the clocks that came due which were met in time (None when none came due)."""
        return self.clocks_met / self.clocks_due if self.clocks_due else None

    @property
    def breached(self) -> list[LateClock]:
        return [c for c in self.late if c.done_at is None]


def response_times(
    session: Session, escalations: Sequence[Escalation], *, playbooks: Sequence[Playbook], now: datetime
) -> ResponseTimes:
    """Times to acknowledge and to the first approved holding statement, and clock compliance.

    A record's acknowledgment is its acknowledge clock's completion (the record left 新建, its alert was
    acknowledged in triage, or the step on that clock was done); its holding statement is the first
    compliance approval (or the step on that clock). Records that are drills or false positives are
    left out: a false positive asks nothing of anyone.
    """
    by_id = {p.id: p for p in playbooks}
    out = ResponseTimes()
    for esc in escalations:
        if esc.drill or esc.state == "false_positive":
            continue
        out.records += 1
        facts = facts_for(session, esc)
        start = facts.started_at
        playbook = by_id.get(esc.playbook_id or (esc.alert.playbook_id if esc.alert else "") or "")
        clocks = escalation_clocks(session, esc, playbook, now=now) if playbook is not None else []
        done = {c.key: c.done_at for c in clocks if c.kind == "level"}
        acked = done.get("acknowledge_within") or facts.acknowledged_at
        stated = done.get("holding_statement_within") or facts.statement_approved_at
        if acked is not None:
            out.to_acknowledge.append(max(acked - start, timedelta(0)))
        else:
            out.unacknowledged += 1
        if stated is not None:
            out.to_statement.append(max(stated - start, timedelta(0)))
        for c in clocks:
            if c.state not in DUE_STATES:
                continue
            out.clocks_due += 1
            if c.state == "met":
                out.clocks_met += 1
            else:
                out.late.append(
                    LateClock(
                        escalation_id=esc.id,
                        title=escalation_title(esc),
                        level=esc.level,
                        clock=c.name,
                        due_at=c.due_at,  # type: ignore[arg-type]
                        done_at=c.done_at,
                    )
                )
    out.late.sort(key=lambda c: (c.due_at, c.escalation_id))
    return out


def false_positives(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """(alerts marked false positive in [start, end), alerts opened in [start, end)), drills left out."""
    marked = session.scalar(
        select(func.count(Alert.id)).where(
            Alert.drill.is_(False),
            Alert.false_positive_at >= start,
            Alert.false_positive_at < end,
        )
    )
    opened = session.scalar(
        select(func.count(Alert.id)).where(
            Alert.drill.is_(False), Alert.created_at >= start, Alert.created_at < end
        )
    )
    return int(marked or 0), int(opened or 0)


@dataclass
class NewEvent:
    event_id: str
    title: str  # the first alert's title (raw; escape before writing)
    first_seen: datetime
    alerts: int  # alerts of the event up to the end of the period
    worst_level: str | None
    sources: list[str]


def new_events(
    session: Session, start: datetime, end: datetime, *, index: Any, limit: int = 20
) -> list[NewEvent]:
    """Events (drills left out) whose first flagged post falls in [start, end), biggest first — by the
    posts' time, the clock the period's post figures count by (playbooks.dashboard)."""
    in_range = events_of(session, flagged_posts(index, start=start, end=end))
    if not in_range:
        return []
    # an event whose earlier posts came before the period is not new: look at all of its alerts
    ids = [e.event_id for e in in_range]
    earlier: dict[str, datetime] = {}
    alerts = session.scalars(select(Alert).where(Alert.event_id.in_(ids), Alert.drill.is_(False))).all()
    found = index.get_many([a.post_id for a in alerts]) if alerts else {}
    for a in alerts:
        post = found.get(a.post_id)
        when = (post_time(post) if post is not None else None) or a.created_at
        if when < start:
            earlier[a.event_id] = when
    return [
        NewEvent(
            event_id=e.event_id,
            title=e.title,
            first_seen=e.first_seen,
            alerts=e.alerts,
            worst_level=e.worst_level,
            sources=e.sources,
        )
        for e in in_range
        if e.event_id not in earlier
    ][:limit]


def named_events(events: list[NewEvent], names: SourceNames) -> list[NewEvent]:
    """The events with their sources by display name."""
    return [replace(e, sources=names.many(e.sources)) for e in events]


def named_figures(figures: PostFigures, names: SourceNames) -> PostFigures:
    """Post figures with the top sources by display name (two ids with one name are added up)."""
    merged: dict[str, int] = {}
    for source, n in figures.sources:
        key = names(source) if source != "—" else source
        merged[key] = merged.get(key, 0) + n
    return replace(figures, sources=sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))


def user_phone(session: Session, username: str) -> str:
    user = session.scalar(select(User).where(User.username == username))
    return user.phone if user is not None else ""
