"""The post-holiday summary (假期舆情工作总结) for a holiday period.

The period comes from the exchange calendar (``playbooks.holidays``): the whole closure (the statutory
days and the weekends joined to them) plus the last trading day before it and the reopening day, as
the regulator expects a view of the whole closure; or it is given as two dates (used as given).

What it says: 一、总体情况; 二、值班安排 (the duty roster of the period); 三、舆情总量 (posts, negative and
flagged per day); 四、主要舆情事件; 五、处置情况 (records by level and by state); 六、响应时效 (median and
worst time to acknowledge and to the first approved holding statement, the share of clocks met =
compliance rate); 七、报告监管情况 (regulator reports in the period); 八、节前演练 (drill runs before the
holiday, with their scores); 九、存在问题与改进措施 (false positives, clocks run out or met late); 十、编制
与签发. Drills never count in the figures; the drill results section lists the drill runs.

``holiday_facts`` reads all of it as plain values; ``render_markdown`` writes it from
templates/holiday.md.j2. ``holiday_report`` requires ``report.generate``, keeps a ``Report`` row (kind ``holiday``, ref
"<name> <year>" or "<from>~<to>") and audits it; a manager signs it with ``sign_report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from playbooks.dashboard import PostFigures, day_range, post_figures
from playbooks.escalation import STATE_LABELS, STATES
from playbooks.reports.common import ReportError, dur, firm_name, person, render
from playbooks.reports.periodic import (
    MAX_LISTED,
    SIGN_PLACEHOLDER,
    NewEvent,
    ResponseTimes,
    escalations_opened,
    false_positives,
    named_events,
    named_figures,
    new_events,
    response_times,
    save_report,
    user_phone,
)
from playbooks.reports.regulator import KIND as REGULATOR
from playbooks.reports.wordfile import SIGNATURE_LINE, escape
from playbooks.schema import Playbook
from playbooks.sources import IDENTITY, SourceNames
from store.models import DUTIES, LEVELS, ClockBreach, DrillRun, Report, RosterEntry
from store.times import as_utc

KIND = "holiday"
MAX_DAYS = 31  # a holiday summary covers a closure, not a season
DRILL_LOOKBACK = timedelta(days=30)  # drill runs this long before the period count as 节前演练
DUTY_LABELS = {"primary": "主班值班员", "backup": "备班值班员", "manager": "带班负责人"}
WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Period:
    """The days a summary covers (Beijing days, both included) and what it is called."""

    first: date
    last: date
    title: str  # 2026年国庆节假期舆情工作总结 / 假期舆情工作总结（2026-10-01 至 2026-10-08）
    holiday_name: str  # 国庆节、中秋节; "" for given dates
    ref: str  # the Report.ref: "国庆节、中秋节 2026" / "2026-10-01~2026-10-08"
    holiday_start: date  # the first day off (drills before it are 节前演练)
    holiday_end: date
    reopen: date | None = None

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def period_for_holiday(name: str, year: int) -> Period:
    """The period of a holiday in the exchange calendar: the last trading day before the closure, the
    closure, and the reopening day. ReportError (Chinese) when the calendar has no such holiday."""
    from playbooks import holidays  # the calendar packages are loaded only when a holiday is asked for

    try:
        found = [h for h in holidays.holidays_in(year) if _matches(h, name)]
    except holidays.CalendarDataMissing as exc:
        raise ReportError(str(exc)) from exc
    if not found:
        try:
            names = "、".join(h.name_cn for h in holidays.holidays_in(year))
        except holidays.CalendarDataMissing:
            names = ""
        raise ReportError(
            f"{year}年没有名为“{name}”的节假日" + (f"（可选：{names}）" if names else "") + "。"
        )
    h = found[0]
    closed = sorted(h.exchange_closed_days) or [h.start + timedelta(days=i) for i in range(h.days)]
    first = closed[0] - timedelta(days=1)  # the last trading day before the closure
    last = h.reopen or closed[-1] + timedelta(days=1)
    return Period(
        first=first,
        last=last,
        title=f"{year}年{h.name_cn}假期舆情工作总结",
        holiday_name=h.name_cn,
        ref=f"{h.name_cn} {year}",
        holiday_start=h.start,
        holiday_end=h.end,
        reopen=h.reopen,
    )


def _matches(holiday: Any, name: str) -> bool:
    want = name.strip().lower()
    return bool(want) and (want in holiday.name_cn.lower() or want in holiday.name_en.lower())


def period_between(first: date, last: date) -> Period:
    """A period given as two dates, used as given."""
    if last < first:
        raise ReportError("结束日期不能早于开始日期。")
    text = f"{first.isoformat()} 至 {last.isoformat()}"
    return Period(
        first=first,
        last=last,
        title=f"假期舆情工作总结（{text}）",
        holiday_name="",
        ref=f"{first.isoformat()}~{last.isoformat()}",
        holiday_start=first,
        holiday_end=last,
    )


# --------------------------------------------------------------------------- the facts (query step)


@dataclass(frozen=True)
class DutyPerson:
    name: str  # 王晓明（wang）
    phone: str  # the shift's phone, else the user's ("" when neither)


@dataclass(frozen=True)
class Shift:
    """One shift of the roster (day, hours) and who holds each duty in it."""

    day: str  # 2026-10-01
    start: str  # 00:00
    end: str  # 24:00
    people: dict[str, list[DutyPerson]]  # duty (store.models.DUTIES) → people


@dataclass(frozen=True)
class RegulatorReportLine:
    id: int
    ref: str  # the escalation record's id
    title: str
    created_at: datetime
    signed_by: str  # 赵经理（zhao）; "" when not signed
    signed_at: datetime | None


@dataclass(frozen=True)
class DrillLine:
    finished_at: datetime | None
    scenario: str  # its name (or id)
    score: dict[str, Any]  # as playbooks.drills.scoring stores it (Score.as_dict())
    passed: bool | None


@dataclass(frozen=True)
class HolidayFacts:
    """Everything the holiday summary says about a period, as plain values (outside text raw)."""

    period: Period
    firm: str
    now: datetime
    figures: PostFigures  # per day
    level_totals: dict[str, int]  # flagged posts by level over the period
    events: list[NewEvent]  # first seen in the period, biggest first
    escalations: int  # records opened in the period
    by_level: dict[str | None, int]  # records by level (None: unrated), LEVELS order
    by_state: dict[str, int]  # records by state, STATES order
    times: ResponseTimes
    false_positives: int  # alerts marked false positive in the period
    alerts_opened: int
    chain_breaches: int  # clocks that ran out (the chain's first tier)
    roster: list[Shift]
    gaps: list[date]  # days with nobody on primary duty
    regulator_reports: list[RegulatorReportLine]
    drills: list[DrillLine]  # finished from DRILL_LOOKBACK before the holiday to the period's end
    author: str  # 赵经理（zhao）


def holiday_facts(
    session: Session,
    period: Period,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: str,
    actor: Actor,
    now: datetime,
    names: SourceNames = IDENTITY,
) -> HolidayFacts:
    """The query step: the period's figures from the posts index and the records database (no drills)."""
    start, end = day_range(period.first, period.last)
    figures = named_figures(post_figures(index, start=start, end=end, unit="day", top=5), names)
    escalations = escalations_opened(session, start, end)
    marked, alerts_opened = false_positives(session, start, end)
    roster = _roster(session, period)
    covered = {s.day for s in roster if s.people["primary"]}
    return HolidayFacts(
        period=period,
        firm=firm,
        now=now,
        figures=figures,
        level_totals={lv: sum(b.level.get(lv, 0) for b in figures.series) for lv in LEVELS},
        events=named_events(new_events(session, start, end, index=index, limit=10), names),
        escalations=len(escalations),
        by_level={lv: sum(1 for e in escalations if e.level == lv) for lv in (*LEVELS, None)},
        by_state={st: sum(1 for e in escalations if e.state == st) for st in STATES},
        times=response_times(session, escalations, playbooks=playbooks, now=now),
        false_positives=marked,
        alerts_opened=alerts_opened,
        chain_breaches=_chain_breaches(session, start, end),
        roster=roster,
        gaps=[d for d in period.days if d.isoformat() not in covered],
        regulator_reports=_regulator_reports(session, start, end),
        drills=_drill_runs(session, period),
        author=person(session, actor.username),
    )


def _chain_breaches(session: Session, start: datetime, end: datetime) -> int:
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


def _roster(session: Session, period: Period) -> list[Shift]:
    """The 值班安排: the period's shifts in roster order, with who holds each duty."""
    entries = session.scalars(
        select(RosterEntry)
        .where(RosterEntry.day >= period.first.isoformat(), RosterEntry.day <= period.last.isoformat())
        .order_by(RosterEntry.day, RosterEntry.shift_start, RosterEntry.id)
    ).all()
    shifts: dict[tuple[str, str, str], dict[str, list[DutyPerson]]] = {}
    for e in entries:
        who = DutyPerson(name=person(session, e.username), phone=e.phone or user_phone(session, e.username))
        shifts.setdefault((e.day, e.shift_start, e.shift_end), {d: [] for d in DUTIES})[e.duty].append(who)
    return [Shift(day=day, start=lo, end=hi, people=people) for (day, lo, hi), people in shifts.items()]


def _regulator_reports(session: Session, start: datetime, end: datetime) -> list[RegulatorReportLine]:
    """Regulator reports (not drills) generated or signed in [start, end)."""
    lo, hi = start, end
    rows = session.scalars(
        select(Report)
        .where(
            Report.kind == REGULATOR,
            Report.drill.is_(False),
            ((Report.created_at >= lo) & (Report.created_at < hi))
            | ((Report.signed_at >= lo) & (Report.signed_at < hi)),
        )
        .order_by(Report.created_at, Report.id)
    )
    return [
        RegulatorReportLine(
            id=r.id,
            ref=r.ref,
            title=r.title,
            created_at=r.created_at,
            signed_by=person(session, r.signed_by) if r.signed_at else "",
            signed_at=r.signed_at,
        )
        for r in rows
    ]


def _drill_runs(session: Session, period: Period) -> list[DrillLine]:
    """Drill runs finished from DRILL_LOOKBACK before the holiday's first day to the period's end."""
    lo, _ = day_range(period.holiday_start - DRILL_LOOKBACK, period.holiday_start)
    _, hi = day_range(period.last, period.last)
    rows = session.scalars(
        select(DrillRun)
        .where(
            DrillRun.status == "finished",
            DrillRun.finished_at >= lo,
            DrillRun.finished_at < hi,
        )
        .order_by(DrillRun.finished_at, DrillRun.id)
    )
    return [
        DrillLine(
            finished_at=r.finished_at,
            scenario=r.scenario_name or r.scenario_id,
            score=dict(r.score or {}),
            passed=r.passed,
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- the Markdown (render step)


def improvements(facts: HolidayFacts) -> list[str]:
    """改进措施: what the period's problems call for (something to keep doing when there were none)."""
    out = []
    if facts.times.late:
        out.append("对超时环节逐一复盘，核实原因（人员、通知、流程），必要时调整预案时限或升级链。")
    if facts.alerts_opened and facts.false_positives / facts.alerts_opened >= 0.3:
        out.append("误报比例偏高，将误报样本导出用于规则与模型调优。")
    elif facts.false_positives:
        out.append("整理误报样本，持续优化监测规则。")
    if facts.gaps:
        out.append("补齐值班表空缺，确保每日有主班值班员并留有联系方式。")
    if any(r.passed is False for r in facts.drills):
        out.append("针对未通过的演练场景补充演练，直至通过。")
    if not out:
        out.append("本期间各项处置时限均按时完成，继续保持值班与演练安排。")
    return out


def _rate(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    return f"{v:.0%}" if v <= 1 else f"{v:.0f}%"


def _seconds(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if v < 60:
        return f"{v:.0f} 秒"
    return dur(timedelta(seconds=v))


def render_markdown(facts: HolidayFacts) -> tuple[str, str]:
    """(title, Markdown) of the summary (templates/holiday.md.j2). Every outside text is escaped there."""
    title = escape(facts.period.title)
    markdown = render(
        "holiday.md.j2",
        f=facts,
        title=title,
        improvements=improvements(facts),
        levels=LEVELS,
        duties=DUTIES,
        weekdays=WEEKDAYS,
        drill_lookback_days=DRILL_LOOKBACK.days,
        max_listed=MAX_LISTED,
        state_labels=STATE_LABELS,
        rate=_rate,
        seconds=_seconds,
        sign_placeholder=SIGN_PLACEHOLDER,
        signature_line=SIGNATURE_LINE,
    )
    return title, markdown


def build_markdown(
    session: Session,
    period: Period,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: str,
    actor: Actor,
    now: datetime,
    names: SourceNames = IDENTITY,
) -> tuple[str, str]:
    """(title, Markdown) of the summary for ``period``: its facts, rendered."""
    facts = holiday_facts(
        session, period, index=index, playbooks=playbooks, firm=firm, actor=actor, now=now, names=names
    )
    return render_markdown(facts)


def holiday_report(
    session: Session,
    period: Period,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: Any,
    actor: Actor,
    now: datetime,
    names: SourceNames = IDENTITY,
) -> tuple[Report, str, bytes]:
    """Generate the 假期舆情工作总结 for ``period``: (the Report row, Markdown, .docx); sources by their
    display names (``names``)."""
    require(actor, "report.generate")
    full_name = firm_name(firm)
    if len(period.days) > MAX_DAYS:
        raise ReportError(f"假期总结最多覆盖 {MAX_DAYS} 天，请缩短日期范围。")
    now = as_utc(now).replace(microsecond=0)
    title, markdown = build_markdown(
        session, period, index=index, playbooks=playbooks, firm=full_name, actor=actor, now=now, names=names
    )
    report, data = save_report(
        session,
        kind=KIND,
        ref=period.ref,
        title=title,
        markdown=markdown,
        firm=full_name,
        actor=actor,
        now=now,
    )
    return report, markdown, data
