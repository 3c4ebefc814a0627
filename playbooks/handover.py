"""交接班 — the shift handover: a note per shift that lists the open alerts and records, what is waiting on
whom, and what the next shift must watch; the next officer acknowledges it. Both are audited.

``situation`` reads what is open now (plain values, kept with the note so the note says what the writer
saw); ``write`` keeps a note (any signed-in person); ``take_over`` is the next officer's acknowledgement
(not the writer's own; compare-and-set, so two people cannot both take the same note over);
``waiting_for`` is what the desk shows the person who signs in next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from playbooks import people
from playbooks.authz import Actor, require
from playbooks.clocks import unacknowledged_alerts
from playbooks.dashboard import open_escalations
from playbooks.schema import Playbook
from store.models import Handover, Report, StatementDraft, utcnow
from store.records import audit
from store.times import as_utc

MAX_TEXT = 2000
LISTED = 20


class HandoverError(ValueError):
    """A handover that cannot be written or taken over; the message is Chinese."""


def situation(session: Session, *, playbooks: Sequence[Playbook], now: datetime) -> dict[str, Any]:
    """What is open now, as the note keeps it: alerts waiting to be acknowledged, records being worked,
    and what waits on whom (statements for compliance, reports for signature, records by owner)."""
    now = as_utc(now)
    names = people.names(session)
    waiting_alerts = unacknowledged_alerts(session, playbooks=playbooks, now=now)
    records = open_escalations(session, playbooks=playbooks, now=now)
    statements = session.scalars(select(StatementDraft).where(StatementDraft.status == "submitted")).all()
    unsigned = session.scalars(
        select(Report).where(Report.signed_at.is_(None), Report.drill.is_(False)).order_by(Report.id)
    ).all()
    waiting: list[dict[str, Any]] = []
    for d in statements:
        waiting.append(
            {"who": "负责人（合规审核）", "what": f"处置记录 #{d.escalation_id} 的对外口径稿 #{d.id} 待审核"}
        )
    for r in unsigned:
        waiting.append({"who": "负责人（签发）", "what": f"报告 #{r.id}《{r.title}》待签发"})
    for r in records:
        who = names.get(r.owner, r.owner) or "未指定承办人"
        clock = f"，{r.worst_clock.name}{r.worst_label}" if r.worst_clock is not None else ""
        waiting.append({"who": who, "what": f"处置记录 #{r.id}「{r.state_label}」{clock}"})
    return {
        "at": now.isoformat(timespec="seconds"),
        "alerts": [
            {
                "id": a.id,
                "post_id": a.post_id,
                "level": a.level,
                "title": (a.title or a.snippet)[:80],
                "assignee": names.get(a.assignee, a.assignee),
                "due_at": c.due_at.isoformat(timespec="seconds") if c.due_at else None,
                "state": c.state,
            }
            for a, c in waiting_alerts[:LISTED]
        ],
        "alerts_total": len(waiting_alerts),
        "records": [
            {
                "id": r.id,
                "level": r.level,
                "state": r.state_label,
                "owner": names.get(r.owner, r.owner),
                "title": r.title[:80],
                "worst": r.worst_label,
            }
            for r in records[:LISTED]
        ],
        "records_total": len(records),
        "waiting": waiting[: LISTED * 2],
    }


def write(
    session: Session,
    actor: Actor | None,
    *,
    playbooks: Sequence[Playbook],
    shift: str,
    watch: str,
    note: str = "",
    to_user: str = "",
    now: datetime | None = None,
) -> Handover:
    """Keep a handover note with the situation as it is now; audited."""
    who = require(actor, "alert.view").username
    watch = (watch or "").strip()[:MAX_TEXT]
    if not watch:
        raise HandoverError("请写明下一班须关注的事项（没有也请写「无」）。")
    now = as_utc(now or utcnow())
    row = Handover(
        written_by=who,
        written_at=now,
        to_user=(to_user or "").strip(),
        shift=" ".join((shift or "").split())[:80],
        watch=watch,
        note=(note or "").strip()[:MAX_TEXT],
        situation=situation(session, playbooks=playbooks, now=now),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=who,
        action="handover.written",
        entity="handover",
        entity_id=row.id,
        shift=row.shift,
        to_user=row.to_user,
        alerts=row.situation["alerts_total"],
        records=row.situation["records_total"],
    )
    return row


def take_over(
    session: Session, actor: Actor | None, handover_id: int, *, expected_version: int | None = None,
    now: datetime | None = None,
) -> Handover:  # fmt: skip
    """The next officer acknowledges the note (确认接班); audited. Not the writer's own; once only."""
    who = require(actor, "alert.view").username
    row = session.get(Handover, handover_id, populate_existing=True)
    if row is None:
        raise HandoverError(f"交接班记录 {handover_id} 不存在。")
    if row.written_by == who:
        raise HandoverError("交接班须由下一班的值班员确认，不能确认自己写的交接记录。")
    if row.to_user and row.to_user != who:
        raise HandoverError(f"这份交接记录写明交给 {row.to_user}，请由其本人确认接班。")
    if row.acknowledged_at is not None:
        raise HandoverError(f"这份交接记录已由 {row.acknowledged_by} 于接班时确认。")
    version = row.version if expected_version is None else expected_version
    now = as_utc(now or utcnow())
    done = session.execute(
        update(Handover)
        .where(Handover.id == row.id, Handover.version == version, Handover.acknowledged_at.is_(None))
        .values(acknowledged_by=who, acknowledged_at=now, version=Handover.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(row)
    if not done:
        raise HandoverError(f"这份交接记录已被他人处理（{row.acknowledged_by or '已修改'}），请刷新后再看。")
    audit(session, actor=who, action="handover.acknowledged", entity="handover", entity_id=row.id,
          written_by=row.written_by, shift=row.shift)  # fmt: skip
    return row


@dataclass(frozen=True)
class HandoverView:
    id: int
    written_by: str
    written_at: datetime
    to_user: str
    shift: str
    watch: str
    note: str
    situation: dict[str, Any]
    acknowledged_by: str
    acknowledged_at: datetime | None
    version: int


def _view(h: Handover) -> HandoverView:
    return HandoverView(
        id=h.id,
        written_by=h.written_by,
        written_at=h.written_at,
        to_user=h.to_user,
        shift=h.shift,
        watch=h.watch,
        note=h.note,
        situation=dict(h.situation or {}),
        acknowledged_by=h.acknowledged_by,
        acknowledged_at=h.acknowledged_at,
        version=h.version,
    )


def recent(session: Session, *, limit: int = 20) -> list[HandoverView]:
    return [_view(h) for h in session.scalars(select(Handover).order_by(Handover.id.desc()).limit(limit))]


def waiting_for(session: Session, username: str) -> list[HandoverView]:
    """Handover notes not yet taken over that this person may take over (not their own), newest first."""
    rows = session.scalars(
        select(Handover)
        .where(Handover.acknowledged_at.is_(None), Handover.written_by != username)
        .order_by(Handover.id.desc())
        .limit(5)
    )
    return [_view(h) for h in rows if not h.to_user or h.to_user == username]


__all__ = [
    "HandoverError",
    "HandoverView",
    "recent",
    "situation",
    "take_over",
    "waiting_for",
    "write",
]
