"""The outbox seen by people: what was sent, what is waiting, what failed and why; re-sending a failure.

A failed message (every try used) stays failed until an admin re-queues it on the desk (通知中心), for
example after fixing a webhook secret; that is audited. Drill rows (suppressed) are listed so a drill
can show what *would* have been sent, and can never be re-queued: nothing about a drill leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from store.models import Notification
from store.records import audit, change_if

STATUS_LABELS = {"pending": "待发送", "sent": "已送达", "failed": "发送失败", "suppressed": "演练未发出"}
KIND_LABELS = {
    "alert": "新预警",
    "alert_chase": "预警无人确认",
    "breach": "处置超时升级",
    "test": "通道测试",
}


class NotifyAdminError(Exception):
    """A change that cannot be made; the message is Chinese and shown as is."""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: datetime
    kind: str
    channel: str
    target: str
    level: str | None
    subject: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None
    drill: bool
    alert_id: int | None
    escalation_id: int | None


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Notification.status, func.count()).group_by(Notification.status))
    return {status: int(n) for status, n in rows}


def outbox(session: Session, *, statuses: Sequence[str] | None = None, limit: int = 200) -> list[OutboxRow]:
    """The newest rows first, optionally only some statuses."""
    stmt = select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(Notification.status.in_(list(statuses)))
    return [
        OutboxRow(
            id=n.id,
            created_at=n.created_at,
            kind=n.kind,
            channel=n.channel,
            target=n.target,
            level=n.level,
            subject=n.subject,
            status=n.status,
            attempts=n.attempts,
            last_error=n.last_error,
            sent_at=n.sent_at,
            drill=n.drill,
            alert_id=n.alert_id,
            escalation_id=n.escalation_id,
        )
        for n in session.scalars(stmt)
    ]


def requeue(session: Session, notification_id: int, actor: Actor) -> bool:
    """Put a failed message back in the queue for a fresh set of tries; True when this call did it."""
    require(actor, "notify.configure")
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotifyAdminError(f"通知 {notification_id} 不存在")
    if row.drill or row.status == "suppressed":
        raise NotifyAdminError("演练通知不会真实发出，不能重新发送。")
    if row.kind == "test":
        raise NotifyAdminError("通道测试记录不能重新发送，请重新测试该通道。")
    if row.status != "failed":
        return False
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    # compare-and-set: requeued once, however many admins click at the same moment
    if not change_if(
        session, row, Notification.status == "failed", status="pending", attempts=0, next_attempt_at=None
    ):
        return False
    audit(
        session,
        actor=actor.username,
        action="notification.requeued",
        entity="notification",
        entity_id=row.id,
        before=before,
        channel=row.channel,
        target=row.target,
    )
    return True
