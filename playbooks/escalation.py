"""The escalation workflow: a record opened from an alert, moved through states, every change audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from store.models import Alert, Escalation
from store.records import audit

STATES = ("new", "acknowledged", "responding", "escalated", "resolved", "closed", "false_positive")
STATE_LABELS = {
    "new": "新建",
    "acknowledged": "已确认",
    "responding": "处置中",
    "escalated": "已升级",
    "resolved": "已解决",
    "closed": "已关闭",
    "false_positive": "误报",
}
OPEN_STATES = ("new", "acknowledged", "responding", "escalated", "resolved")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged", "escalated", "false_positive"),
    "acknowledged": ("responding", "escalated", "resolved", "false_positive"),
    "responding": ("escalated", "resolved"),
    "escalated": ("responding", "resolved"),
    "resolved": ("closed", "responding"),
    "closed": (),
    "false_positive": (),
}
# what the alert shows once its escalation reaches a state
_ALERT_STATUS = {"closed": "closed", "false_positive": "false_positive"}


class EscalationError(Exception):
    """A change that cannot be made; the message is Chinese and shown to the person as is."""


class InvalidTransition(EscalationError):
    pass


class StaleEscalation(EscalationError):
    """Someone else changed the record since it was loaded."""


def open_escalation(
    session: Session, *, alert_id: int, actor: str, playbook_id: str | None = None, note: str = ""
) -> tuple[Escalation, bool]:
    """Open an escalation record for an alert; returns (record, created).

    Idempotent: while the alert has an escalation that is still open, that one is returned, so two
    clicks (or two officers) do not open two records.
    """
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise EscalationError(f"预警 {alert_id} 不存在")
    existing = session.scalar(
        select(Escalation)
        .where(Escalation.alert_id == alert_id, Escalation.state.in_(OPEN_STATES))
        .order_by(Escalation.id.desc())
    )
    if existing is not None:
        return existing, False
    esc = Escalation(
        alert_id=alert_id,
        state="new",
        level=alert.level,
        playbook_id=playbook_id or alert.playbook_id,
        owner=actor,
        summary=note,
        opened_by=actor,
        drill=alert.drill,
    )
    try:
        with session.begin_nested():  # a savepoint: losing a race leaves the outer transaction usable
            session.add(esc)
            session.flush()
    except IntegrityError:
        # another officer opened one between our read and our insert: theirs is the record
        winner = session.scalar(
            select(Escalation).where(Escalation.alert_id == alert_id, Escalation.state.in_(OPEN_STATES))
        )
        if winner is None:
            raise
        return winner, False
    alert.status = "escalated"
    audit(
        session,
        actor=actor,
        action="escalation.opened",
        entity="escalation",
        entity_id=esc.id,
        alert_id=alert_id,
        level=esc.level,
        playbook_id=esc.playbook_id,
        note=note,
    )
    return esc, True


def transition(
    session: Session,
    *,
    escalation_id: int,
    to_state: str,
    actor: str,
    note: str = "",
    expected_version: int | None = None,
) -> Escalation:
    """Move an escalation to ``to_state``; refuse moves the workflow does not allow and stale edits."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise EscalationError(f"处置记录 {escalation_id} 不存在")
    if expected_version is not None and esc.version != expected_version:
        raise StaleEscalation(f"处置记录 {escalation_id} 已被他人修改，请刷新后再操作")
    if to_state not in STATES:
        raise InvalidTransition(f"未知状态：{to_state}")
    if to_state not in TRANSITIONS[esc.state]:
        raise InvalidTransition(f"不能从「{STATE_LABELS[esc.state]}」变为「{STATE_LABELS[to_state]}」")
    before = esc.state
    esc.state = to_state
    if to_state in _ALERT_STATUS:
        esc.alert.status = _ALERT_STATUS[to_state]
    try:
        session.flush()  # the version check happens here
    except StaleDataError as exc:
        raise StaleEscalation(f"处置记录 {escalation_id} 已被他人修改，请刷新后再操作") from exc
    audit(
        session,
        actor=actor,
        action="escalation.state",
        entity="escalation",
        entity_id=esc.id,
        before=before,
        after=to_state,
        note=note,
    )
    return esc


def assign(session: Session, *, escalation_id: int, owner: str, actor: str) -> Escalation:
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise EscalationError(f"处置记录 {escalation_id} 不存在")
    before = esc.owner
    esc.owner = owner
    session.flush()
    audit(
        session,
        actor=actor,
        action="escalation.assigned",
        entity="escalation",
        entity_id=esc.id,
        before=before,
        after=owner,
    )
    return esc


def allowed_next(state: str) -> tuple[str, ...]:
    return TRANSITIONS.get(state, ())
