"""The drill report (演练报告) in Markdown: scenario, timeline, each injected post flagged or missed,
the times, clock compliance, the verdict and what to improve. Stored in ``DrillRun.report_md``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from playbooks.drills.scoring import (
    LEVEL_LABELS,
    AlertFacts,
    ClockFacts,
    InjectionFacts,
    Score,
    duration_label,
    rate_label,
)
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
    out: list[str] = []
    out.append(f"# 演练报告：{md(scenario_name)}")
    out.append("")
    out.append("> 本报告为应急演练记录，演练帖子均标记为演练，不对外发送、不报告监管、不计入生产统计。")
    out.append("")
    out.append(f"- 演练编号：#{run_id}")
    out.append(f"- 场景：{md(scenario_name)}（{md(scenario_id)}）")
    out.append(f"- 公司：{md(firm)}")
    out.append(f"- 发起人：{md(run_by) or '—'}")
    speed_text = "不等待（一次注入）" if speed <= 0 else f"{speed:g} 倍速"
    out.append(f"- 速度：{speed_text}")
    out.append(f"- 开始：{bj(started_at)}（北京时间）；结束：{bj(finished_at)}")
    out.append(f"- **结论：{md(score.verdict)}**")
    if description:
        out.append("")
        out.append(md(description))

    out.append("")
    out.append("## 成绩")
    out.append("")
    out.append("| 指标 | 结果 | 要求 | 是否达标 |")
    out.append("|---|---|---|---|")
    for c in score.checks:
        out.append(f"| {c.label} | {md(c.value)} | {md(c.threshold)} | {'达标' if c.passed else '未达标'} |")
    out.append("")
    out.append(f"- 误报：{score.false_alarms}/{score.not_flag} 条不应预警的帖子被预警")
    out.append(
        f"- 发现用时：最慢 {duration_label(score.time_to_flag_s)}，平均 {duration_label(score.time_to_flag_mean_s)}"
    )
    out.append(
        f"- 确认：{score.acknowledged}/{score.alerts} 条演练预警已确认，首次确认用时 "
        f"{duration_label(score.time_to_acknowledge_s, none='未确认')}"
    )
    out.append(
        f"- 升级：{score.escalations} 条预警开立了处置记录，首次升级用时 "
        f"{duration_label(score.time_to_escalate_s, none='未升级')}"
    )
    out.append(
        f"- 预案时限：按时完成 {score.clocks_met}，超时完成 {score.clocks_late}，已超时 {score.clocks_breached}，"
        f"未到期 {score.clocks_pending}；达标率 {rate_label(score.compliance_rate, none='无处置记录')}"
    )

    out.append("")
    out.append("## 时间线")
    out.append("")
    out.append("| # | 时间 | 来源 | 内容 | 应预警 | 结果 | 级别 | 发现用时 | 依据 |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    by_alert = {a.alert_id: a for a in alerts}
    for i in injections:
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
        want = "是" if i.should_flag else "否"
        if i.min_level:
            want += f"（≥{i.min_level}级）"
        out.append(
            f"| {i.step_no} | +{i.at_minutes:g} 分 · {bj(i.injected_at, '%H:%M:%S')} | {md(i.source)} | "
            f"{md((i.title or '')[:60])} | {want} | {result} | {_level(i.level) if i.flagged else '—'} | "
            f"{duration_label(i.time_to_flag_s)} | {md('；'.join(list(i.reasons)[:4]))} |"
        )

    out.append("")
    out.append("## 值守台响应")
    out.append("")
    if not alerts:
        out.append("本次演练没有产生预警。")
    else:
        out.append("| 预警 | 确认 | 升级（处置记录） | 状态 |")
        out.append("|---|---|---|---|")
        for a in by_alert.values():
            ack = (
                f"{bj(a.acknowledged_at, '%H:%M:%S')} {md(a.acknowledged_by)}"
                if a.acknowledged_at
                else "未确认"
            )
            esc = (
                f"#{a.escalation_id} {bj(a.escalated_at, '%H:%M:%S')} {md(a.escalated_by)}"
                if a.escalated_at
                else "未升级"
            )
            out.append(
                f"| #{a.alert_id} | {ack} | {esc} | {ALERT_STATUS_LABELS.get(a.status, md(a.status))} |"
            )
    if clocks:
        out.append("")
        out.append("| 处置记录 | 时限 | 状态 |")
        out.append("|---|---|---|")
        from playbooks.clocks import CLOCK_STATE_LABELS

        for c in clocks:
            out.append(f"| #{c.escalation_id} | {md(c.name)} | {CLOCK_STATE_LABELS.get(c.state, c.state)} |")

    out.append("")
    out.append("## 改进建议")
    out.append("")
    for line in improvements(injections, score, clocks):
        out.append(f"- {line}")
    out.append("")
    return "\n".join(out)


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
