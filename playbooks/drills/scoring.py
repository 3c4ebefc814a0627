"""The score of a drill run: pure functions over what was injected and what the desk did with it.

Figures (all times in seconds, relative to the injection of the drill's posts):

* discovery rate — injected posts that should be flagged and were / posts that should be flagged;
  false alarms — posts that should not be flagged and were;
* time to flag — per flagged post, from its injection to its alert (the worst one counts);
* time to acknowledge — from the first flagged post's injection to the first acknowledgment of any
  of the run's alerts (in triage or on its escalation record); "未确认" when nobody did;
* time to escalate — the same to the first escalation record opened from one of the run's alerts;
  "未升级" when nobody did;
* compliance rate — of the playbook clocks of the run's escalation records that have come due or
  been done (playbooks/clocks.py states), the share done within their time: met / (met + met_late +
  breached); clocks still running are listed, not counted.

A run passes when every check passes (``Thresholds``, configurable): discovery rate, levels at least
as severe as expected, time to flag, **every alert that should be acknowledged was** (each flagged post
the scenario expected to be flagged; a false alarm is dismissed, not acknowledged), acknowledged in
time, escalated in time, compliance rate. Clocks not yet due (running, due soon) are never counted as
met: they are listed as 未到期 and left out of the rate.
``DrillRun.score`` stores ``Score.as_dict()``; ``DrillRun.passed`` its ``passed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

LEVEL_RANK = {"I": 1, "II": 2, "III": 3, "IV": 4}
LEVEL_LABELS = {"I": "I级（特别重大）", "II": "II级（重大）", "III": "III级（较大）", "IV": "IV级（一般）"}
COUNTED_CLOCK_STATES = ("met", "met_late", "breached")
PENDING_CLOCK_STATES = ("running", "due_soon")


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds())


def level_at_least(level: str | None, minimum: str | None) -> bool:
    """True when ``level`` is as severe as ``minimum`` or more (I is the most severe)."""
    if minimum is None:
        return True
    return level in LEVEL_RANK and LEVEL_RANK[level] <= LEVEL_RANK[minimum]


def duration_label(seconds: float | None, *, none: str = "—") -> str:
    """Seconds as a person reads them: 0.4 秒, 42 秒, 3 分 05 秒, 1 小时 02 分."""
    if seconds is None:
        return none
    if seconds < 10:
        return f"{seconds:.1f} 秒"
    s = int(round(seconds))
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分 {s % 60:02d} 秒"
    return f"{s // 3600} 小时 {(s % 3600) // 60:02d} 分"


def rate_label(rate: float | None, *, none: str = "—") -> str:
    return none if rate is None else f"{rate * 100:.0f}%"


@dataclass(frozen=True)
class Thresholds:
    """What a run must reach to pass. ``None`` for a time limit means: not checked."""

    min_discovery_rate: float = 1.0
    max_time_to_flag_s: float | None = 300.0
    require_levels: bool = True
    max_time_to_acknowledge_s: float | None = 900.0
    max_time_to_escalate_s: float | None = 1800.0
    min_compliance_rate: float = 0.8

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Thresholds:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class InjectionFacts:
    """One injected post and what became of it (DrillInjection + the scenario step + its alert)."""

    step_no: int
    should_flag: bool
    injected_at: datetime
    flagged: bool
    level: str | None = None
    flagged_at: datetime | None = None
    title: str = ""
    source: str = ""
    note: str = ""
    min_level: str | None = None
    expect_rumor: bool | None = None
    rumor: bool = False
    reasons: Sequence[str] = ()
    alert_id: int | None = None
    at_minutes: float = 0.0

    @property
    def level_ok(self) -> bool:
        return not self.flagged or level_at_least(self.level, self.min_level)

    @property
    def time_to_flag_s(self) -> float | None:
        return _seconds(self.flagged_at, self.injected_at) if self.flagged else None


@dataclass(frozen=True)
class AlertFacts:
    """What people did on the desk with one of the run's alerts."""

    alert_id: int
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    escalated_at: datetime | None = None  # the first escalation record opened from it
    escalated_by: str = ""
    escalation_id: int | None = None
    status: str = "open"


@dataclass(frozen=True)
class ClockFacts:
    """One playbook clock of one of the run's escalation records (playbooks.clocks.ClockState)."""

    escalation_id: int
    name: str
    state: str
    minutes: int | None = None


@dataclass
class Check:
    key: str
    label: str
    value: str
    threshold: str
    passed: bool


@dataclass
class Score:
    should_flag: int
    discovered: int
    discovery_rate: float | None
    not_flag: int
    false_alarms: int
    level_misses: int
    time_to_flag_s: float | None  # the worst
    time_to_flag_mean_s: float | None
    alerts: int
    acknowledged: int
    time_to_acknowledge_s: float | None
    should_acknowledge: int  # alerts of posts the scenario expected to be flagged
    unacknowledged: int  # of those, not acknowledged by anyone
    escalations: int
    time_to_escalate_s: float | None
    clocks_met: int
    clocks_late: int
    clocks_breached: int
    clocks_pending: int
    compliance_rate: float | None
    checks: list[Check] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        if self.passed:
            return "通过"
        failed = [c for c in self.checks if not c.passed]
        return "未通过：" + "；".join(f"{c.label}{c.value}（要求 {c.threshold}）" for c in failed)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["verdict"] = self.verdict
        return data

    def lines(self) -> list[str]:
        """The score as short Chinese lines (the headless command prints these)."""
        return [
            f"发现率：{self.discovered}/{self.should_flag}（{rate_label(self.discovery_rate)}）",
            f"误报：{self.false_alarms}/{self.not_flag} 条不应预警的帖子被预警",
            f"发现用时（最慢）：{duration_label(self.time_to_flag_s)}",
            "确认用时："
            + duration_label(self.time_to_acknowledge_s, none="未确认")
            + f"（已确认 {self.acknowledged}/{self.alerts} 条演练预警）",
            "升级用时：" + duration_label(self.time_to_escalate_s, none="未升级"),
            "时限达标率："
            + rate_label(self.compliance_rate, none="无处置记录")
            + f"（按时 {self.clocks_met}，超时完成 {self.clocks_late}，已超时 {self.clocks_breached}，"
            f"未到期 {self.clocks_pending}）",
            f"结论：{self.verdict}",
        ]


def compute_score(
    injections: Sequence[InjectionFacts],
    alerts: Iterable[AlertFacts],
    clocks: Iterable[ClockFacts],
    *,
    thresholds: Thresholds | None = None,
) -> Score:
    t = thresholds or Thresholds()
    alerts = list(alerts)
    clocks = list(clocks)
    should = [i for i in injections if i.should_flag]
    not_flag = [i for i in injections if not i.should_flag]
    discovered = [i for i in should if i.flagged]
    flag_times = [s for s in (i.time_to_flag_s for i in injections if i.flagged) if s is not None]
    flagged_first = min((i.injected_at for i in injections if i.flagged), default=None)
    acks = [a.acknowledged_at for a in alerts if a.acknowledged_at is not None]
    expected = {i.alert_id for i in should if i.flagged and i.alert_id is not None}
    acked_ids = {a.alert_id for a in alerts if a.acknowledged_at is not None}
    escs = [a.escalated_at for a in alerts if a.escalated_at is not None]
    states = [c.state for c in clocks]
    met, late, breached = (states.count(s) for s in COUNTED_CLOCK_STATES)
    pending = sum(states.count(s) for s in PENDING_CLOCK_STATES)
    counted = met + late + breached

    score = Score(
        should_flag=len(should),
        discovered=len(discovered),
        discovery_rate=(len(discovered) / len(should)) if should else None,
        not_flag=len(not_flag),
        false_alarms=sum(1 for i in not_flag if i.flagged),
        level_misses=sum(1 for i in discovered if not i.level_ok),
        time_to_flag_s=max(flag_times) if flag_times else None,
        time_to_flag_mean_s=(sum(flag_times) / len(flag_times)) if flag_times else None,
        alerts=len(alerts),
        acknowledged=len(acks),
        time_to_acknowledge_s=_seconds(min(acks), flagged_first) if acks else None,  # type: ignore[type-var]
        should_acknowledge=len(expected),
        unacknowledged=len(expected - acked_ids),
        escalations=len(escs),
        time_to_escalate_s=_seconds(min(escs), flagged_first) if escs else None,  # type: ignore[type-var]
        clocks_met=met,
        clocks_late=late,
        clocks_breached=breached,
        clocks_pending=pending,
        compliance_rate=(met / counted) if counted else None,
        thresholds=t.as_dict(),
    )
    score.checks = _checks(score, t)
    return score


def _checks(s: Score, t: Thresholds) -> list[Check]:
    checks = [
        Check(
            "discovery",
            "发现率",
            f"{s.discovered}/{s.should_flag}（{rate_label(s.discovery_rate)}）",
            f"≥ {rate_label(t.min_discovery_rate)}",
            s.discovery_rate is None or s.discovery_rate >= t.min_discovery_rate - 1e-9,
        )
    ]
    if t.require_levels:
        checks.append(
            Check(
                "levels",
                "预警级别",
                "全部达到预期" if not s.level_misses else f"{s.level_misses} 条低于预期级别",
                "不低于场景预期",
                s.level_misses == 0,
            )
        )
    if t.max_time_to_flag_s is not None:
        checks.append(
            Check(
                "time_to_flag",
                "发现用时",
                duration_label(s.time_to_flag_s, none="未发现"),
                f"≤ {duration_label(t.max_time_to_flag_s)}",
                s.time_to_flag_s is not None and s.time_to_flag_s <= t.max_time_to_flag_s,
            )
        )
    if s.should_acknowledge:
        checks.append(
            Check(
                "all_acknowledged",
                "应确认的预警",
                f"已确认 {s.should_acknowledge - s.unacknowledged}/{s.should_acknowledge}",
                "全部确认",
                s.unacknowledged == 0,
            )
        )
    if t.max_time_to_acknowledge_s is not None:
        checks.append(
            Check(
                "time_to_acknowledge",
                "确认用时",
                duration_label(s.time_to_acknowledge_s, none="未确认"),
                f"≤ {duration_label(t.max_time_to_acknowledge_s)}",
                s.time_to_acknowledge_s is not None
                and s.time_to_acknowledge_s <= t.max_time_to_acknowledge_s,
            )
        )
    if t.max_time_to_escalate_s is not None:
        checks.append(
            Check(
                "time_to_escalate",
                "升级用时",
                duration_label(s.time_to_escalate_s, none="未升级"),
                f"≤ {duration_label(t.max_time_to_escalate_s)}",
                s.time_to_escalate_s is not None and s.time_to_escalate_s <= t.max_time_to_escalate_s,
            )
        )
    checks.append(
        Check(
            "compliance",
            "时限达标率",
            rate_label(s.compliance_rate, none="无处置记录"),
            f"≥ {rate_label(t.min_compliance_rate)}",
            (s.compliance_rate is None and s.escalations == 0 and t.max_time_to_escalate_s is None)
            or (s.compliance_rate is not None and s.compliance_rate >= t.min_compliance_rate - 1e-9),
        )
    )
    return checks
