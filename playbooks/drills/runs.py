"""Drill runs in the records database: what the desk and the composition root read and write.

``collect`` gathers the facts of one run (its injections, what people did with its alerts, the clocks
of its escalation records) and ``rescore`` turns them into the score and the report stored on the run.
The run keeps its plan (each step's time, expectation and note) in ``DrillRun.score["plan"]``, so a
run can be scored again later without its scenario file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playbooks.clocks import escalation_clocks
from playbooks.drills.report import drill_report
from playbooks.drills.scoring import (
    AlertFacts,
    ClockFacts,
    InjectionFacts,
    Score,
    Thresholds,
    compute_score,
)
from playbooks.schema import Playbook
from store.models import Alert, DrillInjection, DrillRun, Escalation
from store.times import as_utc

STALE_AFTER = timedelta(hours=12)  # a run still "running" after this long was left behind by a crash
OPEN_ALERT_STATUSES = ("open", "escalated")


def running_runs(session: Session, *, now: datetime) -> list[DrillRun]:
    """Runs in progress (started within STALE_AFTER), newest first."""
    rows = session.scalars(
        select(DrillRun).where(DrillRun.status == "running").order_by(DrillRun.id.desc())
    ).all()
    now = as_utc(now)
    return [r for r in rows if (r.started_at or now) >= now - STALE_AFTER]


def open_drill_alerts(session: Session) -> int:
    """Drill alerts still waiting on the desk (not dismissed, not closed)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.drill.is_(True), Alert.status.in_(OPEN_ALERT_STATUSES))
        )
        or 0
    )


def recent_runs(session: Session, *, limit: int = 50) -> list[DrillRun]:
    return list(session.scalars(select(DrillRun).order_by(DrillRun.id.desc()).limit(limit)))


def latest_finished(session: Session, scenario_id: str | None = None) -> DrillRun | None:
    """The last run that ran to its end (the readiness gate reads its ``passed``)."""
    stmt = select(DrillRun).where(DrillRun.status == "finished")
    if scenario_id:
        stmt = stmt.where(DrillRun.scenario_id == scenario_id)
    return session.scalar(stmt.order_by(DrillRun.finished_at.desc(), DrillRun.id.desc()).limit(1))


def injections_of(session: Session, run_id: int) -> list[DrillInjection]:
    return list(
        session.scalars(
            select(DrillInjection)
            .where(DrillInjection.drill_run_id == run_id)
            .order_by(DrillInjection.step_no)
        )
    )


def collect(
    session: Session,
    run: DrillRun,
    *,
    playbooks: Sequence[Playbook],
    now: datetime,
    posts: Any = None,
) -> tuple[list[InjectionFacts], list[AlertFacts], list[ClockFacts]]:
    """The facts of one run. ``posts`` (the posts index, optional) gives the reasons of missed posts."""
    plan = {int(p["step_no"]): p for p in (run.score or {}).get("plan", [])}
    rows = injections_of(session, run.id)
    post_ids = [r.post_id for r in rows]
    alerts = (
        {a.post_id: a for a in session.scalars(select(Alert).where(Alert.post_id.in_(post_ids)))}
        if post_ids
        else {}
    )
    stored = {}
    if posts is not None and post_ids:
        try:
            stored = posts.get_many(post_ids)
        except Exception:  # the reasons of a missed post are a nicety; the score does not need them
            stored = {}
    injections: list[InjectionFacts] = []
    for r in rows:
        step = plan.get(r.step_no, {})
        alert = alerts.get(r.post_id)
        post = stored.get(r.post_id)
        reasons = list(alert.reasons) if alert is not None else list(getattr(post, "reasons", []) or [])
        rumor = (
            alert.falsity_label if alert is not None else getattr(post, "falsity_label", "none")
        ) == "rumor"
        injections.append(
            InjectionFacts(
                step_no=r.step_no,
                should_flag=bool(r.should_flag),
                injected_at=r.injected_at,
                flagged=bool(r.flagged),
                level=r.level,
                flagged_at=r.flagged_at,
                title=str(step.get("title") or (alert.title if alert is not None else "")),
                source=str(step.get("source", "")),
                note=str(step.get("note", "")),
                min_level=step.get("min_level"),
                expect_rumor=step.get("rumor"),
                rumor=rumor,
                reasons=reasons,
                alert_id=alert.id if alert is not None else None,
                at_minutes=float(step.get("at", 0.0)),
            )
        )
    by_id = {p.id: p for p in playbooks}
    alert_facts: list[AlertFacts] = []
    clock_facts: list[ClockFacts] = []
    for alert in sorted(alerts.values(), key=lambda a: a.id):
        escs = list(
            session.scalars(select(Escalation).where(Escalation.alert_id == alert.id).order_by(Escalation.id))
        )
        first = escs[0] if escs else None
        acks = [t for t in (alert.acknowledged_at, *(e.acknowledged_at for e in escs)) if t is not None]
        ack_at = min(acks, default=None)
        ack_by = alert.acknowledged_by or (
            next((e.owner for e in escs if e.acknowledged_at), "") if acks else ""
        )
        alert_facts.append(
            AlertFacts(
                alert_id=alert.id,
                acknowledged_at=ack_at,
                acknowledged_by=ack_by,
                escalated_at=first.opened_at if first is not None else None,
                escalated_by=first.opened_by if first is not None else "",
                escalation_id=first.id if first is not None else None,
                status=alert.status,
            )
        )
        for esc in escs:
            playbook = by_id.get(esc.playbook_id or "")
            for c in escalation_clocks(session, esc, playbook, now=now):
                if c.kind == "step" and c.state != "not_required":
                    clock_facts.append(
                        ClockFacts(escalation_id=esc.id, name=c.name, state=c.state, minutes=c.minutes)
                    )
    return injections, alert_facts, clock_facts


def thresholds_for(run: DrillRun) -> Thresholds:
    return Thresholds.from_dict((run.score or {}).get("thresholds"))


def rescore(
    session: Session,
    run: DrillRun,
    *,
    playbooks: Sequence[Playbook],
    now: datetime,
    firm: str,
    posts: Any = None,
    description: str = "",
) -> Score:
    """Score the run as things stand now and store the score, ``passed`` and the report on it."""
    injections, alerts, clocks = collect(session, run, playbooks=playbooks, now=now, posts=posts)
    previous = dict(run.score or {})
    score = compute_score(injections, alerts, clocks, thresholds=thresholds_for(run))
    data = score.as_dict()
    data["plan"] = previous.get("plan", [])
    data["description"] = description or previous.get("description", "")
    data["scored_at"] = as_utc(now).isoformat()
    run.score = data
    run.passed = score.passed
    run.report_md = drill_report(
        run_id=run.id,
        scenario_id=run.scenario_id,
        scenario_name=run.scenario_name,
        description=data["description"],
        firm=firm,
        run_by=run.run_by,
        speed=run.speed,
        started_at=run.started_at,
        finished_at=run.finished_at,
        injections=injections,
        alerts=alerts,
        clocks=clocks,
        score=score,
    )
    return score
