"""The versions of the firm's feedback layer (``yuqing learn``; nlp/feedback.py) in the records database.

Every version is kept; at most one is active (a partial unique index holds that even under a race). A
version switched on remembers which one was active before it, so :func:`rollback` restores exactly that
(or the analysis alone). Each change writes an audit row (who, when, which versions, the figures).
Service functions are keyword-only and take the session; the caller checks the person's permission.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.models import FeedbackLayerVersion, utcnow
from store.records import audit

ENTITY = "feedback_layer"


class NothingToRollBack(Exception):
    """No version is active; the message is Chinese and shown as is."""


def active_version(session: Session) -> FeedbackLayerVersion | None:
    return session.scalar(select(FeedbackLayerVersion).where(FeedbackLayerVersion.active.is_(True)))


def active_version_id(session: Session) -> int | None:
    """The active version's number only (cheap: ingest looks every 30 s whether it changed)."""
    return session.scalar(select(FeedbackLayerVersion.id).where(FeedbackLayerVersion.active.is_(True)))


def versions(session: Session, *, limit: int = 20) -> list[FeedbackLayerVersion]:
    """The newest versions first."""
    return list(
        session.scalars(select(FeedbackLayerVersion).order_by(FeedbackLayerVersion.id.desc()).limit(limit))
    )


def switch_on(
    session: Session,
    *,
    layer: dict[str, Any],
    figures: dict[str, Any],
    signature: str,
    verdicts: int,
    false_positives: int,
    confirmed: int,
    actor: str,
    now: datetime | None = None,
) -> FeedbackLayerVersion:
    """Store a new version and make it the active one; the one active before is retired (kept)."""
    now = now or utcnow()
    previous = active_version(session)
    if previous is not None:
        session.execute(
            update(FeedbackLayerVersion)
            .where(FeedbackLayerVersion.active.is_(True))
            .values(active=False, state="retired", changed_at=now)
            .execution_options(synchronize_session=False)
        )
    row = FeedbackLayerVersion(
        created_at=now,
        created_by=actor,
        active=True,
        state="active",
        previous_id=previous.id if previous is not None else None,
        signature=signature,
        verdicts=verdicts,
        false_positives=false_positives,
        confirmed=confirmed,
        figures=figures,
        layer=layer,
        changed_at=now,
    )
    session.add(row)
    session.flush()
    entry = audit(
        session,
        actor=actor,
        action="feedback.switched_on",
        entity=ENTITY,
        entity_id=row.id,
        previous=row.previous_id,
        verdicts=verdicts,
        false_positives=false_positives,
        confirmed=confirmed,
        figures=figures,
    )
    entry.at = now
    return row


def rollback(
    session: Session, *, actor: str, now: datetime | None = None
) -> tuple[FeedbackLayerVersion, FeedbackLayerVersion | None]:
    """Switch the active version off and the one active before it on (None: the analysis alone).

    Returns (the version switched off, the version now active or None). Raises NothingToRollBack.
    """
    now = now or utcnow()
    current = active_version(session)
    if current is None:
        raise NothingToRollBack("当前没有启用的本司反馈模型，无需回滚。")
    current.active = False
    current.state = "rolled_back"
    current.changed_at = now
    session.flush()
    restored = session.get(FeedbackLayerVersion, current.previous_id) if current.previous_id else None
    if restored is not None:
        restored.active = True
        restored.state = "active"
        restored.changed_at = now
        session.flush()
    entry = audit(
        session,
        actor=actor,
        action="feedback.rolled_back",
        entity=ENTITY,
        entity_id=current.id,
        before=current.id,
        after=restored.id if restored is not None else None,
    )
    entry.at = now
    return current, restored


def record_refusal(
    session: Session, *, actor: str, reason: str, figures: dict[str, Any], now: datetime | None = None
) -> None:
    """A run of ``yuqing learn`` that switched nothing on: who, when, why, and what it measured."""
    entry = audit(
        session,
        actor=actor,
        action="feedback.refused",
        entity=ENTITY,
        entity_id="-",
        reason=reason,
        figures=figures,
    )
    entry.at = now or utcnow()


__all__ = [
    "NothingToRollBack",
    "active_version",
    "active_version_id",
    "record_refusal",
    "rollback",
    "switch_on",
    "versions",
]
