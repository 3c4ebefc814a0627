"""The daily brief (舆情日报) for one Beijing day, compared with the day before.

What it says: the day's volume (posts, negative, flagged by level) against the day before; the events
first seen that day with their first title and size; escalation records opened, closed and still open,
and the clocks overdue; the top sources; the notable items (the most severe flagged posts, with the
analyzer's reasons). Posts come from the posts index (``dashboard.post_figures``, the same figures as
态势总览), everything else from the records database. Drills never count.

``daily_facts`` reads all of it as plain values; ``render_markdown`` writes it from templates/daily.md.j2.
``daily_report`` requires ``report.generate``, keeps a ``Report`` row (kind ``daily``, ref the day
``YYYY-MM-DD``) and audits it; a manager signs it with ``sign_report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from playbooks.clocks import CLOCK_STATE_LABELS
from playbooks.dashboard import (
    SHANGHAI,
    OpenEscalation,
    PostFigures,
    day_range,
    open_escalations,
    post_figures,
)
from playbooks.escalation import STATE_LABELS
from playbooks.reports.common import ReportError, firm_name, person, render
from playbooks.reports.periodic import (
    MAX_LISTED,
    SIGN_PLACEHOLDER,
    NewEvent,
    escalations_opened,
    named_events,
    named_figures,
    new_events,
    save_report,
)
from playbooks.reports.wordfile import SIGNATURE_LINE
from playbooks.schema import Playbook
from playbooks.sources import IDENTITY, SourceNames
from store.models import LEVELS, ClockBreach, Escalation, PostRecord, Report
from store.times import as_utc

KIND = "daily"
NOTABLE = 5  # the most severe flagged posts listed
TOP_SOURCES = 5


def beijing_today(now: datetime) -> date:
    return as_utc(now).astimezone(SHANGHAI).date()


# --------------------------------------------------------------------------- the facts (query step)


@dataclass(frozen=True)
class EscalationLine:
    """One row of the 处置情况 table: a record opened that day, or one still open."""

    id: int
    title: str  # the alert's title or snippet (raw)
    level: str | None
    state: str
    worst: str | None  # the worst clock state of a record still open; None for one that is not


@dataclass(frozen=True)
class OverdueLine:
    """A record still open whose worst clock has run out."""

    id: int
    title: str  # raw
    clock: str | None  # the clock furthest behind (None: none to name)
    due_at: datetime | None
    overdue_by: timedelta | None


@dataclass(frozen=True)
class NotablePost:
    level: str | None
    title: str  # the post's title, or its text (raw)
    source: str
    when: str  # published (or first seen), as the index keeps it
    reposts: int
    comments: int
    reasons: list[str]


@dataclass(frozen=True)
class DailyFacts:
    """Everything the daily brief says about one Beijing day, as plain values (outside text raw)."""

    day: date
    firm: str
    now: datetime
    partial: bool  # the day is not over yet: figures as of ``now``
    today: PostFigures
    before: PostFigures  # the day before
    levels_today: dict[str, int]  # flagged posts by level
    levels_before: dict[str, int]
    events: list[NewEvent]  # first seen that day, biggest first
    events_before: int
    opened: int  # records opened that day
    opened_by_level: dict[str, int]
    opened_before: int
    closed: int  # records resolved or closed that day
    still_open: int  # records opened by the day's end and not yet resolved or closed
    breaches: int  # clocks that ran out that day (the chain's first tier)
    escalations: list[EscalationLine]  # opened that day, then the others still open
    overdue: list[OverdueLine]
    notable: list[NotablePost]  # the most severe flagged posts of the day
    author: str  # who generated it: 赵经理（zhao）


def daily_facts(
    session: Session,
    day: date,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: str,
    actor: Actor,
    now: datetime,
    names: SourceNames = IDENTITY,
) -> DailyFacts:
    """The query step: the day's figures from the posts index and the records database (no drills);
    sources by their display names (``names``)."""
    start, end = day_range(day, day)
    prev_start, prev_end = day_range(day - timedelta(days=1), day - timedelta(days=1))
    today = named_figures(post_figures(index, start=start, end=end, unit="day", top=TOP_SOURCES), names)
    before = named_figures(
        post_figures(index, start=prev_start, end=prev_end, unit="day", top=TOP_SOURCES), names
    )
    opened = escalations_opened(session, start, end)
    # records opened by the day's end and not yet resolved or closed (as they stand now)
    open_rows = [
        r
        for r in open_escalations(session, playbooks=playbooks, now=now)
        if r.state != "resolved" and r.started_at < end
    ]
    return DailyFacts(
        day=day,
        firm=firm,
        now=now,
        partial=as_utc(now) < end,
        today=today,
        before=before,
        levels_today=today.series[0].level if today.series else {},
        levels_before=before.series[0].level if before.series else {},
        events=named_events(new_events(session, start, end, index=index), names),
        events_before=len(new_events(session, prev_start, prev_end, index=index)),
        opened=len(opened),
        opened_by_level={lv: sum(1 for e in opened if e.level == lv) for lv in LEVELS},
        opened_before=len(escalations_opened(session, prev_start, prev_end)),
        closed=_closed_between(session, start, end),
        still_open=len(open_rows),
        breaches=_breaches_between(session, start, end),
        escalations=_escalation_lines(opened, open_rows),
        overdue=[_overdue_line(r) for r in open_rows if r.worst == "breached"],
        notable=_notable(index, start, end, names),
        author=person(session, actor.username),
    )


def _closed_between(session: Session, start: datetime, end: datetime) -> int:
    """Records (not drills) resolved or closed in [start, end)."""
    lo, hi = start, end
    n = session.scalar(
        select(func.count(Escalation.id)).where(
            Escalation.drill.is_(False),
            ((Escalation.closed_at >= lo) & (Escalation.closed_at < hi))
            | ((Escalation.resolved_at >= lo) & (Escalation.resolved_at < hi)),
        )
    )
    return int(n or 0)


def _breaches_between(session: Session, start: datetime, end: datetime) -> int:
    """Clock breaches the chain recorded in [start, end) (first tier: one per clock), drills left out."""
    n = session.scalar(
        select(func.count(ClockBreach.id)).where(
            ClockBreach.drill.is_(False),
            ClockBreach.tier == 1,
            ClockBreach.breached_at >= start,
            ClockBreach.breached_at < end,
        )
    )
    return int(n or 0)


def _escalation_lines(
    opened: Sequence[Escalation], open_rows: Sequence[OpenEscalation]
) -> list[EscalationLine]:
    """The records opened that day, then the other records still open, each once."""
    worst = {r.id: r.worst for r in open_rows}
    lines = [
        EscalationLine(
            id=esc.id,
            title=(esc.alert.title or esc.alert.snippet) if esc.alert is not None else "",
            level=esc.level,
            state=esc.state,
            worst=worst.get(esc.id),
        )
        for esc in opened
    ]
    shown = {esc.id for esc in opened}
    lines += [
        EscalationLine(id=r.id, title=r.title, level=r.level, state=r.state, worst=r.worst)
        for r in open_rows
        if r.id not in shown
    ]
    return lines


def _overdue_line(row: OpenEscalation) -> OverdueLine:
    c = row.worst_clock
    return OverdueLine(
        id=row.id,
        title=row.title,
        clock=c.name if c is not None else None,
        due_at=c.due_at if c is not None else None,
        overdue_by=c.overdue_by if c is not None else None,
    )


def _notable(index: Any, start: datetime, end: datetime, names: SourceNames = IDENTITY) -> list[NotablePost]:
    """The most severe flagged posts (not drills) of [start, end)."""
    page = index.search(
        flagged=True,
        drill=False,
        since=_bound(start),
        until=_bound(end),
        limit=NOTABLE,
        order="severity",
    )
    return [_notable_post(p, names) for p in page.items]


def _notable_post(p: PostRecord, names: SourceNames = IDENTITY) -> NotablePost:
    return NotablePost(
        level=p.level,
        title=p.title or p.text,
        source=names(p.source),
        when=p.published_at or p.first_seen_at,
        reposts=p.reposts,
        comments=p.comments,
        reasons=names.reasons(p.reasons or []),
    )


def _bound(value: datetime) -> str:
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the Markdown (render step)


def render_markdown(facts: DailyFacts) -> tuple[str, str]:
    """(title, Markdown) of the brief (templates/daily.md.j2). Every outside text is escaped there."""
    title = f"舆情日报（{facts.day:%Y年%m月%d日}）"
    markdown = render(
        "daily.md.j2",
        f=facts,
        title=title,
        levels=LEVELS,
        max_listed=MAX_LISTED,
        state_labels=STATE_LABELS,
        clock_labels=CLOCK_STATE_LABELS,
        sign_placeholder=SIGN_PLACEHOLDER,
        signature_line=SIGNATURE_LINE,
    )
    return title, markdown


def build_markdown(
    session: Session,
    day: date,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: str,
    actor: Actor,
    now: datetime,
    names: SourceNames = IDENTITY,
) -> tuple[str, str]:
    """(title, Markdown) of the brief for ``day``: its facts, rendered."""
    facts = daily_facts(
        session, day, index=index, playbooks=playbooks, firm=firm, actor=actor, now=now, names=names
    )
    return render_markdown(facts)


def daily_report(
    session: Session,
    day: date | None,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: Any,
    actor: Actor,
    now: datetime,
    names: SourceNames = IDENTITY,
) -> tuple[Report, str, bytes]:
    """Generate the 舆情日报 for a Beijing day (default: today): (the Report row, Markdown, .docx); sources
    by their display names (``names``)."""
    require(actor, "report.generate")
    full_name = firm_name(firm)
    now = as_utc(now).replace(microsecond=0)
    day = day or beijing_today(now)
    if day > beijing_today(now):
        raise ReportError("不能为尚未到来的日期生成日报。")
    title, markdown = build_markdown(
        session, day, index=index, playbooks=playbooks, firm=full_name, actor=actor, now=now, names=names
    )
    report, data = save_report(
        session,
        kind=KIND,
        ref=day.isoformat(),
        title=title,
        markdown=markdown,
        firm=full_name,
        actor=actor,
        now=now,
    )
    return report, markdown, data
