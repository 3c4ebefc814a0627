"""Escalation records (处置记录) as the desk reads them, in plain values that outlive the session: the
list with each record's worst clock, and one record's file — its clocks, the steps done, the chain's
breaches, the holding-statement drafts, who can take it over, and its audit trail.

Reads only; every change goes through ``playbooks.escalation`` and ``playbooks.statements``, which check
the actor's role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks import statements
from playbooks.authz import Actor
from playbooks.clocks import ClockState, escalation_clocks, worst_state
from playbooks.escalation import SETTLING, steps_done, transition
from playbooks.schema import Playbook
from store.models import ClockBreach, Escalation, User
from store.records import audit_trail, list_escalations


def open_steps(session: Session, esc: Escalation, playbook: Playbook | None, *, now: datetime) -> list[str]:
    """The titles of the playbook steps that apply at the record's level and are not done (a step on a
    level clock counts as done when that clock is: 向证监局报告 by a signed regulator report, say)."""
    clocks = escalation_clocks(session, esc, playbook, now=now)
    level_done = {c.key for c in clocks if c.kind == "level" and c.done_at is not None}
    return [
        c.name
        for c in clocks
        if c.kind == "step"
        and c.done_at is None
        and c.state != "not_required"
        and not (c.on_clock and c.on_clock in level_done)
    ]


def settle(
    session: Session,
    *,
    escalation_id: int,
    to_state: str,
    actor: Actor,
    note: str,
    playbook: Playbook | None,
    expected_version: int | None = None,
    now: datetime,
) -> Escalation:
    """Move a record on (``playbooks.escalation.transition``), the open steps worked out here, so resolving
    or closing with steps open (above all 向证监局报告) needs a stated reason whoever calls."""
    esc = session.get(Escalation, escalation_id)
    steps = open_steps(session, esc, playbook, now=now) if esc is not None and to_state in SETTLING else []
    return transition(
        session,
        escalation_id=escalation_id,
        to_state=to_state,
        actor=actor,
        note=note,
        expected_version=expected_version,
        now=now,
        open_steps=steps,
    )


@dataclass(frozen=True)
class RecordRow:
    """One record of the list."""

    id: int
    state: str
    level: str | None
    playbook_id: str | None
    owner: str
    opened_by: str
    opened_at: datetime
    version: int  # what a change must expect (a change made meanwhile by someone else is refused)
    summary: str
    drill: bool
    chain_tier: int
    post_id: str
    title: str  # the alert's title, or its snippet
    worst: str  # the worst clock state; "" when no clock runs (no playbook, no level)


def record_rows(
    session: Session,
    *,
    states: Sequence[str] | None,
    drill: bool | None,
    playbooks: Mapping[str, Playbook],
    now: datetime,
    find: str = "",
) -> list[RecordRow]:
    """The records in ``states`` (all when None), drills or not (both when ``drill`` is None), newest
    first, each with the worst state of its clocks at ``now``; ``find`` (a number or title words) searches
    every record, however old (``store.records.list_escalations``)."""
    rows = []
    for e in list_escalations(session, states=states, drill=drill, find=find):
        board = escalation_clocks(session, e, playbooks.get(e.playbook_id or ""), now=now)
        rows.append(
            RecordRow(
                id=e.id,
                state=e.state,
                level=e.level,
                playbook_id=e.playbook_id,
                owner=e.owner,
                opened_by=e.opened_by,
                opened_at=e.opened_at,
                version=e.version,
                summary=e.summary,
                drill=e.drill,
                chain_tier=e.chain_tier,
                post_id=e.alert.post_id,
                title=e.alert.title or e.alert.snippet,
                worst=worst_state(board) if board else "",
            )
        )
    return rows


@dataclass(frozen=True)
class Breach:
    """A clock that ran out, and whom the chain told."""

    clock: str  # acknowledge_within … or step:<id>
    due_at: datetime
    breached_at: datetime
    tier: int
    notified: str
    drill: bool


@dataclass(frozen=True)
class Draft:
    """A holding-statement draft and where it stands in compliance review."""

    id: int
    template_id: str
    text: str
    status: str
    drafted_by: str
    drafted_at: datetime
    reviewed_by: str
    reviewed_at: datetime | None
    review_note: str
    version: int = 1  # what a change must expect (a change made meanwhile by someone else is refused)


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    role: str


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class RecordFile:
    """Everything the desk shows about one record, read in one transaction."""

    clocks: list[ClockState]  # empty: no playbook, or not rated
    steps_done: dict[str, tuple[str, datetime]]  # step id → (by, at)
    breaches: list[Breach]
    drafts: list[Draft]
    active_users: list[Person]  # who can take the record over, by username
    trail: list[TrailEntry]


def record_file(
    session: Session, escalation_id: int, *, playbook: Playbook | None, now: datetime
) -> RecordFile:
    """One record's clocks (at ``now``, by ``playbook``), steps done, breaches, drafts, the active users
    and its audit trail."""
    rec = session.get(Escalation, escalation_id)
    breaches = session.scalars(
        select(ClockBreach).where(ClockBreach.escalation_id == escalation_id).order_by(ClockBreach.id)
    )
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return RecordFile(
        clocks=escalation_clocks(session, rec, playbook, now=now) if rec else [],
        steps_done={k: (v.done_by, v.done_at) for k, v in steps_done(session, escalation_id).items()},
        breaches=[
            Breach(
                clock=b.clock,
                due_at=b.due_at,
                breached_at=b.breached_at,
                tier=b.tier,
                notified=b.notified,
                drill=b.drill,
            )
            for b in breaches
        ],
        drafts=[
            Draft(
                id=d.id,
                template_id=d.template_id,
                text=d.text,
                status=d.status,
                drafted_by=d.drafted_by,
                drafted_at=d.drafted_at,
                reviewed_by=d.reviewed_by,
                reviewed_at=d.reviewed_at,
                review_note=d.review_note,
                version=int(d.version or 1),
            )
            for d in statements.drafts_for(session, escalation_id)
        ],
        active_users=[Person(u.username, u.display_name, u.role) for u in users],
        trail=[
            TrailEntry(at=a.at, actor=a.actor, action=a.action, detail=dict(a.detail or {}))
            for a in audit_trail(session, entity="escalation", entity_id=escalation_id)
        ],
    )
