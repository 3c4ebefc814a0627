"""The daily brief (舆情日报) for one Beijing day, compared with the day before.

What it says: the day's volume (posts, negative, flagged by level) against the day before; the events
first seen that day with their first title and size; escalation records opened, closed and still open,
and the clocks overdue; the top sources; the notable items (the most severe flagged posts, with the
analyzer's reasons). Posts come from the posts index (``dashboard.post_figures``, the same figures as
态势总览), everything else from the records database. Drills never count.

``daily_report`` requires ``report.generate``, keeps a ``Report`` row (kind ``daily``, ref the day
``YYYY-MM-DD``) and audits it; a manager signs it with ``sign_report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from playbooks.clocks import CLOCK_STATE_LABELS
from playbooks.dashboard import SHANGHAI, day_range, open_escalations, post_figures
from playbooks.escalation import STATE_LABELS
from playbooks.reports.common import ReportError, as_utc, bj, firm_name, person
from playbooks.reports.periodic import (
    MAX_LISTED,
    SIGN_PLACEHOLDER,
    change,
    dur,
    escalation_title,
    escalations_opened,
    events_table,
    level_text,
    more,
    new_events,
    save_report,
)
from playbooks.reports.wordfile import SIGNATURE_LINE, escape
from playbooks.schema import Playbook
from store.models import LEVELS, ClockBreach, Escalation, Report

KIND = "daily"
NOTABLE = 5  # the most severe flagged posts listed
TOP_SOURCES = 5


def beijing_today(now: datetime) -> date:
    return as_utc(now).astimezone(SHANGHAI).date()  # type: ignore[union-attr]


def _closed_between(session: Session, start: datetime, end: datetime) -> list[Escalation]:
    """Records (not drills) resolved or closed in [start, end)."""
    lo, hi = as_utc(start), as_utc(end)
    return list(
        session.scalars(
            select(Escalation)
            .where(
                Escalation.drill.is_(False),
                ((Escalation.closed_at >= lo) & (Escalation.closed_at < hi))
                | ((Escalation.resolved_at >= lo) & (Escalation.resolved_at < hi)),
            )
            .order_by(Escalation.id)
        )
    )


def _breaches_between(session: Session, start: datetime, end: datetime) -> int:
    """Clock breaches the chain recorded in [start, end) (first tier: one per clock), drills left out."""
    n = session.scalar(
        select(func.count(ClockBreach.id)).where(
            ClockBreach.drill.is_(False),
            ClockBreach.tier == 1,
            ClockBreach.breached_at >= as_utc(start),
            ClockBreach.breached_at < as_utc(end),
        )
    )
    return int(n or 0)


def build_markdown(
    session: Session,
    day: date,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: str,
    actor: Actor,
    now: datetime,
) -> tuple[str, str]:
    """(title, Markdown) of the brief for ``day``. Every outside text goes through ``escape``."""
    start, end = day_range(day, day)
    prev_start, prev_end = day_range(day - timedelta(days=1), day - timedelta(days=1))
    today = post_figures(index, start=start, end=end, unit="day", top=TOP_SOURCES)
    before = post_figures(index, start=prev_start, end=prev_end, unit="day", top=TOP_SOURCES)
    levels_today = today.series[0].level if today.series else {}
    levels_before = before.series[0].level if before.series else {}
    events = new_events(session, start, end)
    events_before = new_events(session, prev_start, prev_end)
    opened = escalations_opened(session, start, end)
    opened_before = escalations_opened(session, prev_start, prev_end)
    closed = _closed_between(session, start, end)
    # records opened by the day's end and not yet resolved or closed (as they stand now)
    open_rows = [
        r
        for r in open_escalations(session, playbooks=playbooks, now=now)
        if r.state != "resolved" and r.started_at < end
    ]
    overdue = [r for r in open_rows if r.worst == "breached"]
    breaches = _breaches_between(session, start, end)
    day_text = day.strftime("%Y年%m月%d日")
    title = f"舆情日报（{day_text}）"
    f = escape(firm)
    partial = as_utc(now) < end  # type: ignore[operator]

    md: list[str] = [f"# {title}", ""]
    md.append(
        f"{f} {day_text}（北京时间 00:00—24:00"
        + (f"，统计截至 {bj(now, '%H:%M')}" if partial else "")
        + "）舆情监测与处置情况如下，与前一日比较。演练数据不计入。"
    )
    md.append("")

    # 一、volume
    md += ["## 一、舆情总量", ""]
    md += ["| 指标 | 当日 | 前一日 | 变化 |", "|---|---|---|---|"]
    rows = [
        ("监测帖文", today.total, before.total),
        ("负面帖文", today.negative, before.negative),
        ("预警帖文", today.flagged, before.flagged),
    ]
    rows += [(f"其中 {lv} 级", levels_today.get(lv, 0), levels_before.get(lv, 0)) for lv in LEVELS]
    rows += [
        ("新发现事件", len(events), len(events_before)),
        ("新开处置记录", len(opened), len(opened_before)),
    ]
    for name, a, b in rows:
        md.append(f"| {name} | {a} | {b} | {change(a, b)} |")
    md.append("")

    # 二、new events
    md += ["## 二、新发现事件", ""]
    md += events_table(events, time_format="%H:%M", none="当日未发现新的舆情事件。")
    md.append("")

    # 三、escalations
    md += ["## 三、处置情况", ""]
    md.append(f"- 当日新开处置记录：{len(opened)} 件" + _by_level(opened))
    md.append(f"- 当日办结（已解决或已关闭）：{len(closed)} 件")
    md.append(f"- 尚未办结（截至 {bj(now)}）：{len(open_rows)} 件，其中有超时环节的 {len(overdue)} 件")
    md.append(f"- 当日处置时限超时并按升级链通知：{breaches} 次")
    md.append("")
    if opened or open_rows:
        md += ["| 处置记录 | 事件 | 级别 | 状态 | 时限 |", "|---|---|---|---|---|"]
        lines = []
        shown: set[int] = set()
        for esc in opened:
            shown.add(esc.id)
            lines.append(
                f"| #{esc.id} | {escalation_title(esc)} | {level_text(esc.level)} | "
                f"{STATE_LABELS.get(esc.state, esc.state)} | {_clock_text(open_rows, esc.id)} |"
            )
        for r in open_rows:
            if r.id in shown:
                continue
            lines.append(
                f"| #{r.id} | {escape(r.title, 40) or '—'} | {level_text(r.level)} | {r.state_label} | "
                f"{_clock_text(open_rows, r.id)} |"
            )
        md += [*lines[:MAX_LISTED], "", *more(len(lines))]
    if overdue:
        md += ["### 超时未完成的环节", ""]
        for r in overdue[:MAX_LISTED]:
            c = r.worst_clock
            if c is None:
                continue
            md.append(
                f"- 处置记录 #{r.id}（{escape(r.title, 30) or '—'}）：{escape(c.name)}，"
                f"时限 {bj(c.due_at)}，已超时 {dur(c.overdue_by)}"
            )
        md += ["", *more(len(overdue))]

    # 四、sources
    md += ["## 四、主要来源", ""]
    if today.sources:
        md += ["| 来源 | 帖文数 | 占比 |", "|---|---|---|"]
        for name, n in today.sources:
            md.append(f"| {escape(name) or '—'} | {n} | {n / today.total:.1%} |")
    else:
        md.append("当日无监测帖文。")
    md.append("")

    # 五、notable items
    md += ["## 五、重点关注", ""]
    page = index.search(
        flagged=True,
        drill=False,
        since=_bound(start),
        until=_bound(end),
        limit=NOTABLE,
        order="severity",
    )
    if page.items:
        for i, p in enumerate(page.items, 1):
            reasons = "；".join(escape(r, 60) for r in (p.reasons or []) if str(r).strip()) or "—"
            when = bj(p.published_at or p.first_seen_at, "%H:%M")
            md.append(
                f"{i}\\. 【{level_text(p.level)}】{escape(p.title or p.text, 60) or '—'}"
                f"（{escape(p.source) or '—'}，{escape(when)}，转发 {p.reposts} / 评论 {p.comments}）；"
                f"研判依据：{reasons}"
            )
            md.append("")
    else:
        md += ["当日无预警帖文。", ""]

    # sign-off
    md += ["## 六、编制与签发", ""]
    md.append(f"- 编制：{escape(person(session, actor.username))}，{bj(now)}（北京时间）")
    md.append(SIGN_PLACEHOLDER)
    md.append("")
    md += [SIGNATURE_LINE, "", f, "", bj(now, "%Y年%m月%d日"), ""]
    return title, "\n".join(md)


def _bound(value: datetime) -> str:
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="seconds")  # type: ignore[union-attr]


def _by_level(escalations: Sequence[Escalation]) -> str:
    counts = {lv: sum(1 for e in escalations if e.level == lv) for lv in LEVELS}
    parts = [f"{lv} 级 {n} 件" for lv, n in counts.items() if n]
    return f"（{'，'.join(parts)}）" if parts else ""


def _clock_text(open_rows, esc_id: int) -> str:
    row = next((r for r in open_rows if r.id == esc_id), None)  # at most a few hundred rows
    if row is None:
        return "—"
    return CLOCK_STATE_LABELS[row.worst]


def daily_report(
    session: Session,
    day: date | None,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: Any,
    actor: Actor,
    now: datetime,
) -> tuple[Report, str, bytes]:
    """Generate the 舆情日报 for a Beijing day (default: today): (the Report row, Markdown, .docx)."""
    require(actor, "report.generate")
    full_name = firm_name(firm)
    now = as_utc(now).replace(microsecond=0)  # type: ignore[union-attr]
    day = day or beijing_today(now)
    if day > beijing_today(now):
        raise ReportError("不能为尚未到来的日期生成日报。")
    title, markdown = build_markdown(
        session, day, index=index, playbooks=playbooks, firm=full_name, actor=actor, now=now
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
