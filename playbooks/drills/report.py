"""The drill report (演练报告) in Markdown: scenario, timeline, each injected post flagged or missed,
the times, clock compliance, the verdict and what to improve. Stored in ``DrillRun.report_md``.

The facts come from ``playbooks.drills.runs.collect`` (plain values: InjectionFacts, AlertFacts,
ClockFacts) and the score from ``scoring.compute_score``; ``render_drill_report`` writes them from
templates/drill_report.md.j2, escaping outside text with ``md`` (markup shown, not obeyed)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment

from playbooks.clocks import CLOCK_STATE_LABELS
from playbooks.drills.scoring import (
    LEVEL_LABELS,
    AlertFacts,
    ClockFacts,
    InjectionFacts,
    Score,
    duration_label,
    rate_label,
)
from playbooks.markdown import template_environment
from store.times import as_utc

BEIJING = ZoneInfo("Asia/Shanghai")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$])")
ALERT_STATUS_LABELS = {"open": "待处理", "escalated": "已升级", "false_positive": "误报", "closed": "已关闭"}


def md(text: object) -> str:
    """Plain text safe inside Markdown (a table cell included): markup is shown, not obeyed."""
    flat = _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))
    return "\\" + flat if flat[:1] in ("#", "-", "+", ">", "=") else flat


def bj(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None:
        return "—"
    return as_utc(value).astimezone(BEIJING).strftime(fmt)


def _level(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", "—")


@dataclass(frozen=True)
class DrillReportFacts:
    """What the drill report says: the run, and the facts its score was computed from (plain values,
    read by ``playbooks.drills.runs.collect``)."""

    run_id: int
    scenario_id: str
    scenario_name: str
    description: str
    firm: str
    run_by: str
    speed: float  # 0: everything injected at once
    started_at: datetime
    finished_at: datetime | None
    injections: Sequence[InjectionFacts]
    alerts: Sequence[AlertFacts]
    clocks: Sequence[ClockFacts]
    score: Score


def drill_report(
    *,
    run_id: int,
    scenario_id: str,
    scenario_name: str,
    description: str,
    firm: str,
    run_by: str,
    speed: float,
    started_at: datetime,
    finished_at: datetime | None,
    injections: Sequence[InjectionFacts],
    alerts: Sequence[AlertFacts],
    clocks: Sequence[ClockFacts],
    score: Score,
) -> str:
    """The report's Markdown for a run (``render_drill_report`` of these facts)."""
    facts = DrillReportFacts(
        run_id=run_id,
        scenario_id=scenario_id,
        scenario_name=scenario_name,
        description=description,
        firm=firm,
        run_by=run_by,
        speed=speed,
        started_at=started_at,
        finished_at=finished_at,
        injections=injections,
        alerts=alerts,
        clocks=clocks,
        score=score,
    )
    return render_drill_report(facts)


def render_drill_report(facts: DrillReportFacts) -> str:
    """The report's Markdown (templates/drill_report.md.j2): every outside text goes through ``md``."""
    return (
        _environment()
        .get_template("drill_report.md.j2")
        .render(
            f=facts,
            s=facts.score,
            alerts=list({a.alert_id: a for a in facts.alerts}.values()),  # each alert once
            improvements=improvements(facts.injections, facts.score, facts.clocks),
            result=_result,
            wanted=_wanted,
            level=_level,
            duration_label=duration_label,
            rate_label=rate_label,
            alert_status_labels=ALERT_STATUS_LABELS,
            clock_labels=CLOCK_STATE_LABELS,
        )
    )


def _result(i: InjectionFacts) -> str:
    """What became of an injected post: 已发现 / 误报 / **漏报** / 未预警（正确）, and whether it was taken as 不实."""
    if i.flagged and i.should_flag:
        result = "已发现" if i.level_ok else "已发现（级别偏低）"
    elif i.flagged:
        result = "误报"
    elif i.should_flag:
        result = "**漏报**"
    else:
        result = "未预警（正确）"
    if i.flagged and i.expect_rumor and not i.rumor:
        result += "（未识别为不实）"
    elif i.flagged and i.rumor:
        result += "（不实）"
    return result


def _wanted(i: InjectionFacts) -> str:
    """是 / 否, with the lowest level the scenario expects: 是（≥III级）."""
    want = "是" if i.should_flag else "否"
    if i.min_level:
        want += f"（≥{i.min_level}级）"
    return want


@cache
def _environment() -> Environment:
    return template_environment("playbooks.drills", md=md, bj=bj)


def improvements(
    injections: Sequence[InjectionFacts], score: Score, clocks: Sequence[ClockFacts] = ()
) -> list[str]:
    tips: list[str] = []
    missed = [i for i in injections if i.should_flag and not i.flagged]
    if missed:
        nums = "、".join(f"#{i.step_no}" for i in missed)
        tips.append(
            f"漏报 {len(missed)} 条（{nums}）：检查监测词（公司简称、APP 与产品名、高管姓名）是否齐全，"
            "以及负面与不实阈值是否过高。"
        )
    false = [i for i in injections if not i.should_flag and i.flagged]
    if false:
        nums = "、".join(f"#{i.step_no}" for i in false)
        tips.append(
            f"误报 {len(false)} 条（{nums}）：正常帖子被预警，会分散值班员精力，可在分诊中标为误报供模型改进。"
        )
    low = [i for i in injections if i.should_flag and i.flagged and not i.level_ok]
    if low:
        nums = "、".join(f"#{i.step_no}" for i in low)
        tips.append(f"级别偏低 {len(low)} 条（{nums}）：检查传播量与来源权威度的升级阈值。")
    if score.alerts and score.acknowledged == 0:
        tips.append("无人确认演练预警：核对值班表是否有人在岗、预警通知是否送达值班员。")
    elif score.time_to_acknowledge_s is not None and (
        score.thresholds.get("max_time_to_acknowledge_s") is not None
        and score.time_to_acknowledge_s > score.thresholds["max_time_to_acknowledge_s"]
    ):
        tips.append("确认偏慢：值班员应在预警出现后第一时间确认，可开启分诊页自动刷新与提醒。")
    if score.alerts and score.escalations == 0:
        tips.append("无人按预案开立处置记录：严重的不实信息应当升级，并按预案步骤处置。")
    breached = [c for c in clocks if c.state in ("breached", "met_late")]
    if breached:
        names = "、".join(dict.fromkeys(c.name for c in breached))
        tips.append(f"以下预案时限未按时完成：{md(names)}。复盘原因，必要时调整分工或时限。")
    if not tips:
        tips.append("各项指标达标。保持值班安排，节前再演练一次其他场景。")
    return tips
