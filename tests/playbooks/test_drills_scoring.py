"""The drill score and report: pure functions over what was injected and what the desk did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playbooks.drills.report import drill_report
from playbooks.drills.scoring import (
    AlertFacts,
    ClockFacts,
    InjectionFacts,
    Thresholds,
    compute_score,
    duration_label,
)

T0 = datetime(2026, 10, 2, 1, 0, tzinfo=UTC)  # 09:00 Beijing


def _inj(step, should, flagged, *, at_s=0, flag_after_s=1.0, level="III", min_level=None, alert_id=None):
    injected = T0 + timedelta(seconds=at_s)
    return InjectionFacts(
        step_no=step,
        should_flag=should,
        injected_at=injected,
        flagged=flagged,
        level=level if flagged else None,
        flagged_at=injected + timedelta(seconds=flag_after_s) if flagged else None,
        title=f"帖子 {step}",
        source="微博",
        min_level=min_level,
        alert_id=alert_id,
        reasons=["提及：华鼎证券"],
    )


INJECTIONS = [
    _inj(1, True, True, flag_after_s=2, alert_id=11),
    _inj(2, False, False, at_s=60),
    _inj(3, True, True, at_s=120, flag_after_s=4, min_level="III", alert_id=12),
    _inj(4, True, False, at_s=300),
    _inj(5, False, True, at_s=400, alert_id=13),  # a false alarm
]


def test_discovery_rate_false_alarms_and_time_to_flag():
    s = compute_score(INJECTIONS, [], [])
    assert (s.should_flag, s.discovered) == (3, 2)
    assert abs(s.discovery_rate - 2 / 3) < 1e-9
    assert (s.not_flag, s.false_alarms) == (2, 1)
    assert s.time_to_flag_s == 4.0  # the slowest flagged post
    assert not s.passed
    assert "发现率2/3（67%）" in s.verdict


def test_nobody_at_the_desk_reads_unacknowledged_and_not_escalated():
    s = compute_score(INJECTIONS[:3], [AlertFacts(11), AlertFacts(12)], [])
    assert s.discovery_rate == 1.0
    assert s.time_to_acknowledge_s is None and s.time_to_escalate_s is None
    lines = "\n".join(s.lines())
    assert "确认用时：未确认（已确认 0/2 条演练预警）" in lines
    assert "升级用时：未升级" in lines
    assert not s.passed
    assert "确认用时未确认" in s.verdict and "升级用时未升级" in s.verdict


def test_times_count_from_the_first_flagged_posts_injection_and_compliance_from_clock_states():
    alerts = [
        AlertFacts(
            11,
            acknowledged_at=T0 + timedelta(minutes=3),
            acknowledged_by="王晓明",
            escalated_at=T0 + timedelta(minutes=7),
            escalated_by="王晓明",
            escalation_id=5,
        ),
        AlertFacts(12, acknowledged_at=T0 + timedelta(minutes=2)),
    ]
    clocks = [
        ClockFacts(5, "确认预警并通知负责人", "met"),
        ClockFacts(5, "核实情况", "met"),
        ClockFacts(5, "合规审核口径", "met"),
        ClockFacts(5, "发布口径", "met_late"),
        ClockFacts(5, "报告监管", "running"),  # not yet due: listed, not counted
    ]
    s = compute_score(INJECTIONS[:3], alerts, clocks)
    assert s.time_to_acknowledge_s == 120.0  # the first acknowledgment, from the first flagged injection
    assert s.time_to_escalate_s == 420.0
    assert (s.clocks_met, s.clocks_late, s.clocks_breached, s.clocks_pending) == (3, 1, 0, 1)
    assert s.compliance_rate == 0.75
    assert not s.passed  # 75% < 80%
    assert [c.key for c in s.checks if not c.passed] == ["compliance"]
    s = compute_score(INJECTIONS[:3], alerts, clocks, thresholds=Thresholds(min_compliance_rate=0.7))
    assert s.passed and s.verdict == "通过"


def test_a_level_below_the_scenarios_expectation_fails_the_levels_check():
    low = [_inj(1, True, True, level="IV", min_level="II")]
    s = compute_score(
        low, [], [], thresholds=Thresholds(max_time_to_acknowledge_s=None, max_time_to_escalate_s=None)
    )
    assert s.level_misses == 1
    assert [c.key for c in s.checks if not c.passed] == ["levels"]


def test_slow_flagging_fails_the_time_check():
    slow = [_inj(1, True, True, flag_after_s=400)]
    s = compute_score(slow, [], [])
    assert next(c for c in s.checks if c.key == "time_to_flag").passed is False
    assert duration_label(400) == "6 分 40 秒"


def test_the_report_lists_each_post_flagged_or_missed_and_escapes_markup():
    hostile = InjectionFacts(
        step_no=6,
        should_flag=True,
        injected_at=T0,
        flagged=True,
        level="II",
        flagged_at=T0 + timedelta(seconds=1),
        title="**假消息** <script>alert(1)</script> | 表格 :red[红字] $x^2$",
        source="股吧",
        reasons=["不实线索：“网传”"],
        alert_id=14,
    )
    injections = [*INJECTIONS, hostile]
    score = compute_score(injections, [AlertFacts(11)], [])
    md = drill_report(
        run_id=7,
        scenario_id="app-outage-rumor",
        scenario_name="国庆期间APP无法登录传言",
        description="演练说明",
        firm="华鼎证券",
        run_by="李负责",
        speed=60,
        started_at=T0,
        finished_at=T0 + timedelta(minutes=30),
        injections=injections,
        alerts=[AlertFacts(11)],
        clocks=[],
        score=score,
    )
    assert md.startswith("# 演练报告：国庆期间APP无法登录传言")
    assert "**漏报**" in md and "误报" in md and "未预警（正确）" in md
    assert "II级（重大）" in md
    assert "09:00:00" in md  # Beijing time
    assert "<script>" not in md and "\\<script\\>" in md
    assert "\\*\\*假消息\\*\\*" in md and "\\| 表格" in md
    assert ":red\\[红字\\]" in md and "\\$x^2\\$" in md
    assert "## 改进建议" in md and "漏报 1 条（#4）" in md and "无人确认演练预警" in md
    assert f"**结论：{score.verdict}**" in md


def test_a_drill_passes_only_when_every_alert_it_expected_was_acknowledged():
    """Two alerts the scenario expected; acknowledging the first in time is not enough (it used to be:
    only the first acknowledgment was timed); clocks still running are listed, never counted as met."""
    relaxed = Thresholds(max_time_to_escalate_s=None, min_compliance_rate=0.0)
    one = [AlertFacts(11, acknowledged_at=T0 + timedelta(seconds=30)), AlertFacts(12)]
    s = compute_score(INJECTIONS[:3], one, [], thresholds=relaxed)
    assert (s.should_acknowledge, s.unacknowledged) == (2, 1)
    assert not s.passed and "应确认的预警已确认 1/2（要求 全部确认）" in s.verdict
    both = [AlertFacts(11, acknowledged_at=T0 + timedelta(seconds=30)),
            AlertFacts(12, acknowledged_at=T0 + timedelta(seconds=200))]  # fmt: skip
    assert compute_score(INJECTIONS[:3], both, [], thresholds=relaxed).passed
    # a false alarm (step 5) need not be acknowledged: it is dismissed
    with_false_alarm = compute_score(
        INJECTIONS[:3] + INJECTIONS[4:], [*both, AlertFacts(13)], [], thresholds=relaxed
    )
    assert with_false_alarm.unacknowledged == 0
    running = [ClockFacts(1, "确认预警", "met", 5), ClockFacts(1, "报告监管", "running", 60),
               ClockFacts(1, "发布对外口径", "due_soon", 30)]  # fmt: skip
    s = compute_score(INJECTIONS[:3], both, running, thresholds=relaxed)
    assert (s.clocks_met, s.clocks_pending, s.compliance_rate) == (1, 2, 1.0)  # 1 of 1 that came due
