"""The clocks of an escalation record: what is due when, what was done when, and how each one stands.

The playbook gives, per level, how many minutes the desk has to acknowledge, to publish a holding
statement and to report to the regulator, and a deadline for each step. **Every clock counts from the
alert's opening** (``Alert.created_at``, the moment the desk first saw the post as an alert), the same
origin the playbook files and the item page use: an officer who opens the escalation record late does
not get extra time. Where a record has no alert time the escalation's own ``opened_at`` is used.

What counts as done:

* acknowledge — the first of: the escalation left 新建 (``Escalation.acknowledged_at``), the alert was
  acknowledged in triage (``Alert.acknowledged_at``), the step whose deadline is this clock was marked
  done;
* holding statement — the first approval (compliance sign-off) of a holding-statement draft, or the
  step on this clock marked done;
* regulator report — a signed regulator report (``Report`` kind ``regulator``, ``ref`` = the record's
  id), or the step on this clock marked done;
* a step — its ``EscalationStep`` row (the step on the acknowledge clock also by acknowledging).

Once a record is resolved, closed or a false positive, clocks that are not done stop: one that had run
out by then stays 已超时, the others become 本级不要求 (nothing more is asked of them).

``clock_states`` is pure (all facts and ``now`` are passed in); ``facts_for`` reads the facts from the
records database and ``escalation_clocks`` does both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks.schema import LEVELS, Playbook
from store.models import Alert, Escalation, EscalationStep, Report, StatementDraft
from store.times import as_utc

# clock states, from the one that needs attention most to the one that needs none
CLOCK_STATES = ("breached", "due_soon", "met_late", "running", "met", "not_required")
CLOCK_STATE_LABELS = {
    "met": "已按时完成",
    "met_late": "超时完成",
    "running": "进行中",
    "due_soon": "即将超时",
    "breached": "已超时",
    "not_required": "本级不要求",
}
# Streamlit badge / markdown colours
CLOCK_STATE_COLORS = {
    "met": "green",
    "met_late": "orange",
    "running": "blue",
    "due_soon": "orange",
    "breached": "red",
    "not_required": "gray",
}
DUE_SOON_FRACTION = 0.2  # a running clock with at most this share of its time left is 即将超时

# the level clocks, their names in ClockBreach.clock and on the desk
LEVEL_CLOCKS: dict[str, str] = {
    "acknowledge_within": "确认预警",
    "holding_statement_within": "发布对外口径",
    "regulator_report_within": "报告监管",
}
STEP_PREFIX = "step:"
_STOPPED_STATES = ("resolved", "closed", "false_positive")


def _first(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


@dataclass(frozen=True)
class EscalationFacts:
    """What the clocks of one record are computed from (read by ``facts_for``, or built in tests)."""

    escalation_id: int
    level: str | None
    state: str
    started_at: datetime  # the alert's opening: every clock counts from here
    acknowledged_at: datetime | None = None  # first acknowledgment (record or alert)
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    steps_done: Mapping[str, datetime] = field(default_factory=dict)  # step id → done_at
    statement_approved_at: datetime | None = None  # first compliance sign-off of a holding statement
    regulator_reported_at: datetime | None = None  # first signed regulator report
    drill: bool = False

    @property
    def stopped_at(self) -> datetime | None:
        """When the clocks stopped (resolved / closed / false positive), None while they run."""
        if self.state not in _STOPPED_STATES:
            return None
        return _first(self.resolved_at, self.closed_at) or self.started_at


@dataclass(frozen=True)
class ClockState:
    """One clock of one record, as it stands at ``now``."""

    key: str  # "acknowledge_within" … or "step:<step id>" (the same as ClockBreach.clock)
    kind: str  # "level" | "step"
    name: str  # Chinese: 确认预警 / 发布对外口径 / 报告监管 / the step's title
    minutes: int | None  # the time allowed, from started_at; None: not required at this level
    due_at: datetime | None
    done_at: datetime | None
    state: str  # one of CLOCK_STATES
    now: datetime
    owner_label: str = ""  # a step's owner (值班员, 合规 …)
    external: bool = False  # a step that reaches outside the firm (a drill must not perform it)
    requires_signoff: bool = False
    on_clock: str | None = None  # a step whose deadline is a level clock (``due_clock``)

    @property
    def label(self) -> str:
        return CLOCK_STATE_LABELS[self.state]

    @property
    def color(self) -> str:
        return CLOCK_STATE_COLORS[self.state]

    @property
    def remaining(self) -> timedelta | None:
        """Time left before the deadline (negative once past it); None when done or not required."""
        if self.due_at is None or self.done_at is not None or self.state == "not_required":
            return None
        return self.due_at - self.now

    @property
    def overdue_by(self) -> timedelta | None:
        """How long past the deadline: still open and breached, or done late."""
        if self.due_at is None:
            return None
        if self.done_at is not None:
            return self.done_at - self.due_at if self.done_at > self.due_at else None
        if self.state == "breached":
            return self.now - self.due_at
        return None


def _state(
    minutes: int | None,
    due_at: datetime | None,
    done_at: datetime | None,
    now: datetime,
    stopped: datetime | None,
) -> str:
    if minutes is None or due_at is None:
        return "not_required"
    if done_at is not None:
        return "met" if done_at <= due_at else "met_late"
    if stopped is not None:
        return "breached" if stopped > due_at else "not_required"
    if now > due_at:
        return "breached"
    left = (due_at - now).total_seconds()
    return "due_soon" if left <= DUE_SOON_FRACTION * minutes * 60 else "running"


def clock_states(facts: EscalationFacts, playbook: Playbook | None, *, now: datetime) -> list[ClockState]:
    """The level clocks (always three, in playbook order) then each step that applies at the level.

    Empty when there is no playbook or the record has no level.
    """
    if playbook is None or facts.level not in LEVELS:
        return []
    now = as_utc(now)
    start = facts.started_at
    stopped = facts.stopped_at
    if facts.state == "false_positive":
        stopped = start  # a false positive asks nothing of anyone: nothing counts as run out
    level = facts.level
    clocks = playbook.clocks(level)
    steps_done = facts.steps_done

    # a step whose deadline is a level clock also completes that clock
    by_clock: dict[str, list[str]] = {}
    for step in playbook.steps:
        if step.due_clock is not None and level in step.levels:
            by_clock.setdefault(step.due_clock, []).append(step.id)

    def step_done_for(clock: str) -> datetime | None:
        return _first(*(steps_done.get(sid) for sid in by_clock.get(clock, ())))

    level_done = {
        "acknowledge_within": _first(facts.acknowledged_at, step_done_for("acknowledge_within")),
        "holding_statement_within": _first(
            facts.statement_approved_at, step_done_for("holding_statement_within")
        ),
        "regulator_report_within": _first(
            facts.regulator_reported_at, step_done_for("regulator_report_within")
        ),
    }
    out: list[ClockState] = []
    for key, name in LEVEL_CLOCKS.items():
        minutes = clocks.minutes(key)
        due = None if minutes is None else start + timedelta(minutes=minutes)
        done = level_done[key] if minutes is not None else None
        out.append(
            ClockState(
                key=key,
                kind="level",
                name=name,
                minutes=minutes,
                due_at=due,
                done_at=done,
                state=_state(minutes, due, done, now, stopped),
                now=now,
            )
        )
    for step in playbook.steps:
        minutes = step.due_minutes_at(level, clocks)
        if minutes is None:
            continue
        due = start + timedelta(minutes=minutes)
        done = steps_done.get(step.id)
        if step.due_clock == "acknowledge_within":  # acknowledging the record is this step
            done = _first(done, facts.acknowledged_at)
        out.append(
            ClockState(
                key=STEP_PREFIX + step.id,
                kind="step",
                name=step.title,
                minutes=minutes,
                due_at=due,
                done_at=done,
                state=_state(minutes, due, done, now, stopped),
                now=now,
                owner_label=step.owner_label,
                external=step.external,
                requires_signoff=step.requires_signoff,
                on_clock=step.due_clock,
            )
        )
    return out


def worst_state(clocks: Iterable[ClockState]) -> str:
    """The state that needs attention most (CLOCK_STATES order); 'not_required' when there are none."""
    states = {c.state for c in clocks}
    return next((s for s in CLOCK_STATES if s in states), "not_required")


def facts_for(session: Session, esc: Escalation) -> EscalationFacts:
    """Read what the clocks need for one record from the records database."""
    alert = esc.alert
    steps = {
        row.step_id: row.done_at
        for row in session.scalars(select(EscalationStep).where(EscalationStep.escalation_id == esc.id))
    }
    approved = session.scalars(
        select(StatementDraft.reviewed_at).where(
            StatementDraft.escalation_id == esc.id,
            StatementDraft.status.in_(("approved", "used")),
            StatementDraft.reviewed_at.is_not(None),
        )
    ).all()
    reported = session.scalars(
        select(Report.signed_at).where(
            Report.kind == "regulator", Report.ref == str(esc.id), Report.signed_at.is_not(None)
        )
    ).all()
    return EscalationFacts(
        escalation_id=esc.id,
        level=esc.level,
        state=esc.state,
        started_at=alert.created_at if alert is not None and alert.created_at else esc.opened_at,
        acknowledged_at=_first(esc.acknowledged_at, alert.acknowledged_at if alert is not None else None),
        resolved_at=esc.resolved_at,
        closed_at=esc.closed_at,
        steps_done=steps,
        statement_approved_at=_first(*approved),
        regulator_reported_at=_first(*reported),
        drill=bool(esc.drill),
    )


def escalation_clocks(
    session: Session, esc: Escalation, playbook: Playbook | None, *, now: datetime
) -> list[ClockState]:
    """``clock_states`` for a record read from the database."""
    return clock_states(facts_for(session, esc), playbook, now=now)


# --------------------------------------------------------------------------- an alert's own clock

_SETTLED_ALERTS = ("false_positive", "closed")


def alert_ack_clock(
    alert: Alert,
    playbook: Playbook | None,
    *,
    now: datetime,
    escalation_acknowledged_at: datetime | None = None,
) -> ClockState | None:
    """The acknowledge clock of one alert, from its opening, as it stands at ``now`` — the same clock the
    queue, the item page, the dashboard and the chase (playbooks.alerting) count. None when the alert has
    no level, or its playbook (``playbook``: the alert's, else the fallback) does not apply at it.

    Acknowledged: in triage (``Alert.acknowledged_at``) or by its record leaving 新建. A dismissed or
    closed alert asks nothing more (本级不要求), unless its clock had already run out (已超时 stays)."""
    if playbook is None or alert.level not in LEVELS or not playbook.applies_at(alert.level):
        return None
    minutes = playbook.clocks(alert.level).acknowledge_within
    start = as_utc(alert.created_at)
    due = start + timedelta(minutes=minutes)
    done = _first(alert.acknowledged_at, escalation_acknowledged_at)
    stopped = as_utc(alert.updated_at) if alert.status in _SETTLED_ALERTS and done is None else None
    return ClockState(
        key="acknowledge_within",
        kind="level",
        name=LEVEL_CLOCKS["acknowledge_within"],
        minutes=minutes,
        due_at=due,
        done_at=done,
        state=_state(minutes, due, done, as_utc(now), stopped),
        now=as_utc(now),
    )


def playbook_for_alert(alert: Alert, playbooks: Iterable[Playbook]) -> Playbook | None:
    """The alert's playbook, or the fallback (``generic``) when it names none or an unknown one."""
    by_id = {p.id: p for p in playbooks}
    return (
        by_id.get(alert.playbook_id or "")
        or by_id.get("generic")
        or next((p for p in by_id.values() if p.fallback), None)
    )


def unacknowledged_alerts(
    session: Session, *, playbooks: Iterable[Playbook], now: datetime, include_drills: bool = False
) -> list[tuple[Alert, ClockState]]:
    """Alerts still waiting for someone to acknowledge them (open, not acknowledged, no record that left
    新建), each with its acknowledge clock; the most overdue (least time left) first."""
    library = list(playbooks)
    acked_by_record = select(Escalation.alert_id).where(Escalation.acknowledged_at.is_not(None))
    stmt = select(Alert).where(
        Alert.status.in_(("open", "escalated")),
        Alert.acknowledged_at.is_(None),
        Alert.level.is_not(None),
        Alert.id.not_in(acked_by_record),
    )
    if not include_drills:
        stmt = stmt.where(Alert.drill.is_(False))
    out = []
    for alert in session.scalars(stmt):
        clock = alert_ack_clock(alert, playbook_for_alert(alert, library), now=now)
        if clock is not None:
            out.append((alert, clock))
    out.sort(key=lambda r: (r[1].due_at, r[0].level_rank, r[0].id))
    return out
