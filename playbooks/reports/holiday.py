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

``holiday_report`` requires ``report.generate``, keeps a ``Report`` row (kind ``holiday``, ref
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
from playbooks.dashboard import day_range, post_figures
from playbooks.escalation import STATE_LABELS, STATES
from playbooks.reports.common import ReportError, as_utc, bj, firm_name, person
from playbooks.reports.periodic import (
    MAX_LISTED,
    SIGN_PLACEHOLDER,
    ResponseTimes,
    dur,
    escalations_opened,
    events_table,
    false_positives,
    level_text,
    more,
    new_events,
    pct,
    response_times,
    save_report,
    user_phone,
)
from playbooks.reports.regulator import KIND as REGULATOR
from playbooks.reports.wordfile import SIGNATURE_LINE, escape
from playbooks.schema import Playbook
from store.models import DUTIES, LEVELS, ClockBreach, DrillRun, Report, RosterEntry

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


# --------------------------------------------------------------------------- sections


def _roster(session: Session, period: Period) -> tuple[list[str], list[date]]:
    """The 值班安排 table rows and the days with nobody on primary duty."""
    entries = session.scalars(
        select(RosterEntry)
        .where(RosterEntry.day >= period.first.isoformat(), RosterEntry.day <= period.last.isoformat())
        .order_by(RosterEntry.day, RosterEntry.shift_start, RosterEntry.id)
    ).all()
    shifts: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    for e in entries:
        who = escape(person(session, e.username))
        phone = e.phone or user_phone(session, e.username)
        if phone:
            who += f" {escape(phone)}"
        shifts.setdefault((e.day, e.shift_start, e.shift_end), {d: [] for d in DUTIES})[e.duty].append(who)
    rows = []
    for (day, lo, hi), duty in shifts.items():
        when = "全天" if (lo, hi) == ("00:00", "24:00") else f"{lo}—{hi}"
        cells = ["、".join(duty[d]) or "—" for d in DUTIES]
        rows.append(f"| {escape(day)} | {escape(when)} | {' | '.join(cells)} |")
    covered = {day for (day, _, _), duty in shifts.items() if duty["primary"]}
    gaps = [d for d in period.days if d.isoformat() not in covered]
    return rows, gaps


def _regulator_reports(session: Session, start: datetime, end: datetime) -> list[Report]:
    """Regulator reports (not drills) generated or signed in [start, end)."""
    lo, hi = as_utc(start), as_utc(end)
    return list(
        session.scalars(
            select(Report)
            .where(
                Report.kind == REGULATOR,
                Report.drill.is_(False),
                ((Report.created_at >= lo) & (Report.created_at < hi))
                | ((Report.signed_at >= lo) & (Report.signed_at < hi)),
            )
            .order_by(Report.created_at, Report.id)
        )
    )


def _drill_runs(session: Session, period: Period) -> list[DrillRun]:
    """Drill runs finished from DRILL_LOOKBACK before the holiday's first day to the period's end."""
    lo, _ = day_range(period.holiday_start - DRILL_LOOKBACK, period.holiday_start)
    _, hi = day_range(period.last, period.last)
    return list(
        session.scalars(
            select(DrillRun)
            .where(
                DrillRun.status == "finished",
                DrillRun.finished_at >= as_utc(lo),
                DrillRun.finished_at < as_utc(hi),
            )
            .order_by(DrillRun.finished_at, DrillRun.id)
        )
    )


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


def _drill_row(run: DrillRun) -> str:
    """One drill run's row: its score as playbooks.drills.scoring stores it (Score.as_dict())."""
    s = run.score or {}
    passed = "通过" if run.passed else ("未通过" if run.passed is False else "—")
    cells = [
        bj(run.finished_at),
        escape(run.scenario_name or run.scenario_id, 40) or "—",
        _rate(s.get("discovery_rate")),
        _seconds(s.get("time_to_flag_s")),
        _seconds(s.get("time_to_acknowledge_s")),
        _seconds(s.get("time_to_escalate_s")),
        _rate(s.get("compliance_rate")),
        passed,
    ]
    return "| " + " | ".join(cells) + " |"


def build_markdown(
    session: Session,
    period: Period,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: str,
    actor: Actor,
    now: datetime,
) -> tuple[str, str]:
    """(title, Markdown) of the summary for ``period``. Every outside text goes through ``escape``."""
    start, end = day_range(period.first, period.last)
    figures = post_figures(index, start=start, end=end, unit="day", top=5)
    events = new_events(session, start, end, limit=10)
    escalations = escalations_opened(session, start, end)
    times: ResponseTimes = response_times(session, escalations, playbooks=playbooks, now=now)
    marked, alerts_opened = false_positives(session, start, end)
    chain_breaches = session.scalar(
        select(func.count(ClockBreach.id)).where(
            ClockBreach.drill.is_(False),
            ClockBreach.tier == 1,
            ClockBreach.breached_at >= as_utc(start),
            ClockBreach.breached_at < as_utc(end),
        )
    )
    roster_rows, gaps = _roster(session, period)
    regulator = _regulator_reports(session, start, end)
    drills = _drill_runs(session, period)
    f = escape(firm)
    title = escape(period.title)
    span = f"{period.first:%Y年%m月%d日}至{period.last:%Y年%m月%d日}"

    md: list[str] = [f"# {title}", ""]
    if period.reopen is not None:
        scope = (
            f"本总结覆盖 {span}（共 {len(period.days)} 天），即休市前最后一个交易日、"
            f"{escape(period.holiday_name)}假期休市期间及节后复市首日（{period.reopen:%m月%d日}）。"
        )
    else:
        scope = f"本总结覆盖 {span}（共 {len(period.days)} 天）。"
    md += [f"{f}{scope}统计口径为北京时间，演练数据不计入各项统计。", ""]

    # 一、overview
    md += ["## 一、总体情况", ""]
    md.append(
        f"- 监测帖文 {figures.total} 篇，其中负面 {figures.negative} 篇，预警 {figures.flagged} 篇"
        f"（{'，'.join(f'{lv} 级 {sum(b.level.get(lv, 0) for b in figures.series)} 篇' for lv in LEVELS)}）"
    )
    md.append(f"- 新发现舆情事件 {len(events)} 起，开立处置记录 {len(escalations)} 件")
    md.append(
        f"- 确认预警用时中位数 {dur(times.median_acknowledge)}，处置时限达标率 "
        f"{pct(times.clocks_met, times.clocks_due)}（{times.clocks_met}/{times.clocks_due}）"
    )
    md.append(f"- 报告监管 {len(regulator)} 份，节前演练 {len(drills)} 次")
    md.append("")

    # 二、roster
    md += ["## 二、值班安排", ""]
    if roster_rows:
        md += ["| 日期 | 时段 | 主班值班员 | 备班值班员 | 带班负责人 |", "|---|---|---|---|---|"]
        md += roster_rows
        md.append("")
    else:
        md += ["值班表中没有本期间的排班。", ""]
    if gaps:
        md += [f"未安排主班值班员的日期：{'、'.join(d.isoformat() for d in gaps)}。", ""]

    # 三、volume per day
    md += ["## 三、舆情总量", ""]
    md += [
        "| 日期 | 帖文 | 负面 | 预警 | I 级 | II 级 | III 级 | IV 级 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for b in figures.series:
        d = b.start.date()
        label = f"{d:%m-%d}（{WEEKDAYS[d.weekday()]}）"
        flagged = sum(b.level.values())
        md.append(
            f"| {label} | {b.total} | {b.sentiment.get('negative', 0)} | {flagged} | "
            + " | ".join(str(b.level.get(lv, 0)) for lv in LEVELS)
            + " |"
        )
    total_levels = [sum(b.level.get(lv, 0) for b in figures.series) for lv in LEVELS]
    md.append(
        f"| 合计 | {figures.total} | {figures.negative} | {figures.flagged} | "
        + " | ".join(str(n) for n in total_levels)
        + " |"
    )
    md.append("")
    if figures.sources:
        md.append(
            "主要来源：" + "、".join(f"{escape(name) or '—'} {n} 篇" for name, n in figures.sources) + "。"
        )
        md.append("")

    # 四、events
    md += ["## 四、主要舆情事件", ""]
    md += events_table(events, none="本期间未发现新的舆情事件。")
    md.append("")

    # 五、escalations
    md += ["## 五、处置情况", ""]
    md.append(f"本期间开立处置记录 {len(escalations)} 件。")
    md.append("")
    md += ["| 级别 | 件数 |", "|---|---|"]
    for lv in (*LEVELS, None):
        n = sum(1 for e in escalations if e.level == lv)
        if n or lv is not None:
            md.append(f"| {level_text(lv)} | {n} |")
    md.append("")
    md += ["| 目前状态 | 件数 |", "|---|---|"]
    for st in STATES:
        n = sum(1 for e in escalations if e.state == st)
        if n:
            md.append(f"| {STATE_LABELS[st]} | {n} |")
    if not escalations:
        md.append("| — | 0 |")
    md.append("")

    # 六、response times
    md += ["## 六、响应时效", ""]
    md.append("各项用时自预警生成时起算；不含误报与演练。")
    md.append("")
    md += ["| 指标 | 中位数 | 最长 | 件数 |", "|---|---|---|---|"]
    md.append(
        f"| 确认预警用时 | {dur(times.median_acknowledge)} | {dur(times.worst_acknowledge)} | "
        f"{len(times.to_acknowledge)} |"
    )
    md.append(
        f"| 首次对外口径用时（合规审核通过） | {dur(times.median_statement)} | "
        f"{dur(times.worst_statement)} | {len(times.to_statement)} |"
    )
    md.append("")
    md.append(
        f"- 处置时限达标率：{pct(times.clocks_met, times.clocks_due)}（按时完成 {times.clocks_met} 项 / "
        f"已到期 {times.clocks_due} 项，含确认、口径、报告及预案步骤时限）"
    )
    if times.unacknowledged:
        md.append(f"- 截至 {bj(now)} 仍未确认的处置记录：{times.unacknowledged} 件")
    md.append("")

    # 七、regulator
    md += ["## 七、报告监管情况", ""]
    if regulator:
        md += ["| 报告编号 | 处置记录 | 标题 | 生成时间 | 签发 |", "|---|---|---|---|---|"]
        for r in regulator:
            signed = f"{escape(person(session, r.signed_by))}，{bj(r.signed_at)}" if r.signed_at else "未签发"
            md.append(
                f"| {r.id} | #{escape(r.ref)} | {escape(r.title, 50)} | {bj(r.created_at)} | {signed} |"
            )
    else:
        md.append("本期间未生成报告证监局的报告。")
    md.append("")

    # 八、drills
    md += ["## 八、节前演练", ""]
    if drills:
        md += [
            "| 完成时间 | 演练场景 | 发现率 | 发现用时 | 确认用时 | 升级用时 | 时限达标率 | 结果 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        md += [_drill_row(r) for r in drills]
        md.append("")
        md.append(
            f"演练 {len(drills)} 次，通过 {sum(1 for r in drills if r.passed)} 次。演练数据不计入上述统计。"
        )
    else:
        md.append(f"假期前 {DRILL_LOOKBACK.days} 天内没有完成的演练。")
    md.append("")

    # 九、problems and improvements
    md += ["## 九、存在问题与改进措施", ""]
    md.append(
        f"- 误报：本期间标为误报的预警 {marked} 条（同期新开预警 {alerts_opened} 条，占 {pct(marked, alerts_opened)}）"
    )
    md.append(
        f"- 处置时限：超时未完成 {len(times.breached)} 项，超时完成 {len(times.late) - len(times.breached)} 项；"
        f"按升级链通知上级 {int(chain_breaches or 0)} 次"
    )
    if gaps:
        md.append(f"- 值班安排：{len(gaps)} 天未安排主班值班员")
    md.append("")
    if times.late:
        md += ["| 处置记录 | 事件 | 级别 | 环节 | 时限 | 完成 |", "|---|---|---|---|---|---|"]
        for c in times.late[:MAX_LISTED]:
            done = f"{bj(c.done_at)}（超时 {dur(c.done_at - c.due_at)}）" if c.done_at else "未完成"
            md.append(
                f"| #{c.escalation_id} | {c.title} | {level_text(c.level)} | {escape(c.clock)} | {bj(c.due_at)} | {done} |"
            )
        md += ["", *more(len(times.late))]
    md.append("改进措施：")
    md.append("")
    improvements = []
    if times.late:
        improvements.append("对超时环节逐一复盘，核实原因（人员、通知、流程），必要时调整预案时限或升级链。")
    if alerts_opened and marked / alerts_opened >= 0.3:
        improvements.append("误报比例偏高，将误报样本导出用于规则与模型调优。")
    elif marked:
        improvements.append("整理误报样本，持续优化监测规则。")
    if gaps:
        improvements.append("补齐值班表空缺，确保每日有主班值班员并留有联系方式。")
    if any(r.passed is False for r in drills):
        improvements.append("针对未通过的演练场景补充演练，直至通过。")
    if not improvements:
        improvements.append("本期间各项处置时限均按时完成，继续保持值班与演练安排。")
    md += [f"- {text}" for text in improvements]
    md.append("")

    # 十、sign-off
    md += ["## 十、编制与签发", ""]
    md.append(f"- 编制：{escape(person(session, actor.username))}，{bj(now)}（北京时间）")
    md.append(SIGN_PLACEHOLDER)
    md.append("")
    md += [SIGNATURE_LINE, "", f, "", bj(now, "%Y年%m月%d日"), ""]
    return title, "\n".join(md)


def holiday_report(
    session: Session,
    period: Period,
    *,
    index: Any,
    playbooks: Sequence[Playbook],
    firm: Any,
    actor: Actor,
    now: datetime,
) -> tuple[Report, str, bytes]:
    """Generate the 假期舆情工作总结 for ``period``: (the Report row, Markdown, .docx)."""
    require(actor, "report.generate")
    full_name = firm_name(firm)
    if len(period.days) > MAX_DAYS:
        raise ReportError(f"假期总结最多覆盖 {MAX_DAYS} 天，请缩短日期范围。")
    now = as_utc(now).replace(microsecond=0)  # type: ignore[union-attr]
    title, markdown = build_markdown(
        session, period, index=index, playbooks=playbooks, firm=full_name, actor=actor, now=now
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
