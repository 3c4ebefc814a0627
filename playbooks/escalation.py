"""The escalation workflow: a record opened from an alert, moved through states, every change audited.

Every function takes the acting person (``authz.Actor``) and checks the permission itself
(``authz.require``), so a hidden button is never the only guard: escalation.open / transition / assign /
step_done, and escalation.close (负责人) for resolved → closed. The actor's username goes into the audit
trail with the time.

Timestamps: ``acknowledged_at`` is set when the record first leaves 新建 (acknowledging or escalating
it straight away both mean a person has taken it; a false positive does not count), ``resolved_at`` when
it first reaches 已解决, ``closed_at`` when it first reaches 已关闭 or 误报. Reopening (已解决 → 处置中)
keeps the first ``resolved_at``: the clocks (playbooks/clocks.py) read these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from playbooks.authz import Actor, require
from store.models import Alert, Escalation, EscalationStep, User, utcnow
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
SETTLING = ("resolved", "closed")  # moves that end the work: with playbook steps open, a reason is needed
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


class AlertChanged(EscalationError):
    """The alert changed (dismissed, escalated) since it was read: opening a record from it is refused."""


ALERT_STATUS_LABELS = {"open": "待处理", "escalated": "已升级", "false_positive": "误报", "closed": "已关闭"}


def open_escalation(
    session: Session,
    *,
    alert_id: int,
    actor: Actor,
    playbook_id: str | None = None,
    note: str = "",
    expected_alert_version: int | None = None,
) -> tuple[Escalation, bool]:
    """Open an escalation record for an alert; returns (record, created). The opener owns it.

    Idempotent: while the alert has an escalation that is still open, that one is returned, so two
    clicks (or two officers) do not open two records. The alert moves to 已升级 by compare-and-set on
    its version (the one read here, or ``expected_alert_version``, what the person was shown): an alert
    dismissed as 误报 meanwhile is refused with AlertChanged, and no record is left behind.
    """
    who = require(actor, "escalation.open").username
    alert = session.get(Alert, alert_id, populate_existing=True)
    if alert is None:
        raise EscalationError(f"预警 {alert_id} 不存在")
    existing = _open_for(session, alert_id)
    if existing is not None:
        return existing, False
    version = alert.version if expected_alert_version is None else expected_alert_version
    if alert.version != version or alert.status == "false_positive":
        raise AlertChanged(_alert_changed(alert))
    esc = Escalation(
        alert_id=alert_id,
        state="new",
        level=alert.level,
        playbook_id=playbook_id or alert.playbook_id,
        owner=who,
        summary=note,
        opened_by=who,
        drill=alert.drill,
    )
    try:
        with session.begin_nested():  # a savepoint: losing a race leaves the outer transaction usable
            session.add(esc)
            session.flush()
            moved = session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.version == version, Alert.status != "false_positive")
                .values(status="escalated", version=Alert.version + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            if not moved:
                raise _AlertMoved()
    except IntegrityError:
        # another officer opened one between our read and our insert: theirs is the record
        winner = _open_for(session, alert_id)
        if winner is None:
            raise
        return winner, False
    except _AlertMoved:
        session.refresh(alert)
        winner = _open_for(session, alert_id)
        if winner is not None:
            return winner, False
        raise AlertChanged(_alert_changed(alert)) from None
    session.refresh(alert)
    audit(
        session,
        actor=who,
        action="escalation.opened",
        entity="escalation",
        entity_id=esc.id,
        alert_id=alert_id,
        level=esc.level,
        playbook_id=esc.playbook_id,
        note=note,
    )
    return esc, True


class _AlertMoved(Exception):
    """The alert's compare-and-set found another version: undo the record's insert (the savepoint)."""


def _open_for(session: Session, alert_id: int) -> Escalation | None:
    return session.scalar(
        select(Escalation)
        .where(Escalation.alert_id == alert_id, Escalation.state.in_(OPEN_STATES))
        .order_by(Escalation.id.desc())
    )


def _alert_changed(alert: Alert) -> str:
    label = ALERT_STATUS_LABELS.get(alert.status, alert.status)
    if alert.status == "false_positive":
        by = f"由 {alert.false_positive_by} " if alert.false_positive_by else ""
        return f"该预警已被他人处理（{by}标为误报），不能升级；如需处置，请负责人先恢复该预警。"
    return f"该预警已被他人处理（现为「{label}」），请刷新后再操作。"


def transition(
    session: Session,
    *,
    escalation_id: int,
    to_state: str,
    actor: Actor,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
    open_steps: Sequence[str] = (),
) -> Escalation:
    """Move an escalation to ``to_state``; refuse moves the workflow does not allow and stale edits.

    ``now`` (default: the current time) is when the move happened, for the record's timestamps.
    ``open_steps``: the playbook steps not done yet (``playbooks.escalation_records.open_steps``): resolving
    or closing with any open needs a stated reason (``note``), kept with the list in the audit entry."""
    require(actor, "escalation.transition")
    esc = _get(session, escalation_id)
    if expected_version is not None and esc.version != expected_version:
        raise StaleEscalation(f"处置记录 {escalation_id} 已被他人修改，请刷新后再操作")
    if to_state not in STATES:
        raise InvalidTransition(f"未知状态：{to_state}")
    if to_state not in TRANSITIONS[esc.state]:
        raise InvalidTransition(f"不能从「{STATE_LABELS[esc.state]}」变为「{STATE_LABELS[to_state]}」")
    if to_state == "closed":
        require(actor, "escalation.close")
    note = " ".join((note or "").split())
    if to_state in SETTLING and open_steps and not note:
        shown = "、".join(open_steps[:3]) + (f"等 {len(open_steps)} 项" if len(open_steps) > 3 else "")
        raise EscalationError(
            f"尚有预案步骤未完成（{shown}），{STATE_LABELS[to_state]}前须在备注中说明原因（记入审计日志）。"
        )
    before = esc.state
    now = now or utcnow()
    esc.state = to_state
    if before == "new" and to_state != "false_positive" and esc.acknowledged_at is None:
        esc.acknowledged_at = now
    if to_state == "resolved" and esc.resolved_at is None:
        esc.resolved_at = now
    if to_state in ("closed", "false_positive") and esc.closed_at is None:
        esc.closed_at = now
    try:
        session.flush()  # the version check happens here
    except StaleDataError as exc:
        raise StaleEscalation(f"处置记录 {escalation_id} 已被他人修改，请刷新后再操作") from exc
    if to_state in _ALERT_STATUS:
        # the alert follows its record; its version moves, so a triage action drawn before this is refused
        session.execute(
            update(Alert)
            .where(Alert.id == esc.alert_id)
            .values(status=_ALERT_STATUS[to_state], version=Alert.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.refresh(esc.alert)
    audit(
        session,
        actor=actor.username,
        action="escalation.state",
        entity="escalation",
        entity_id=esc.id,
        before=before,
        after=to_state,
        note=note,
        **({"open_steps": list(open_steps)} if to_state in SETTLING and open_steps else {}),
    )
    return esc


def assign(
    session: Session,
    *,
    escalation_id: int,
    owner: str,
    actor: Actor,
    expected_version: int | None = None,
) -> Escalation:
    """Hand the record to ``owner``, the username of an active desk user."""
    require(actor, "escalation.assign")
    esc = _get(session, escalation_id)
    if expected_version is not None and esc.version != expected_version:
        raise StaleEscalation(f"处置记录 {escalation_id} 已被他人修改，请刷新后再操作")
    if esc.state not in OPEN_STATES:
        raise EscalationError(f"处置记录 {escalation_id} 已结束，不能再转交")
    owner = (owner or "").strip()
    user = session.scalar(select(User).where(User.username == owner)) if owner else None
    if user is None:
        raise EscalationError(f"没有用户名为「{owner}」的值守台账号")
    if not user.active:
        raise EscalationError(f"账号「{owner}」已停用，不能接手处置记录")
    before = esc.owner
    if before == owner:
        return esc
    esc.owner = owner
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleEscalation(f"处置记录 {escalation_id} 已被他人修改，请刷新后再操作") from exc
    audit(
        session,
        actor=actor.username,
        action="escalation.assigned",
        entity="escalation",
        entity_id=esc.id,
        before=before,
        after=owner,
    )
    return esc


def mark_step_done(
    session: Session,
    *,
    escalation_id: int,
    step_id: str,
    actor: Actor,
    note: str = "",
    step_ids: tuple[str, ...] | None = None,
    now: datetime | None = None,
) -> tuple[EscalationStep, bool]:
    """Mark a playbook step done on the record; returns (row, created).

    Idempotent: a step already done keeps who did it and when (the first), and is not audited again.
    ``step_ids``, when given, are the steps of the record's playbook at its level: another id is refused.
    """
    require(actor, "escalation.step_done")
    esc = _get(session, escalation_id)
    step_id = (step_id or "").strip()
    if not step_id or (step_ids is not None and step_id not in step_ids):
        raise EscalationError(f"预案中没有步骤「{step_id}」")
    if esc.state not in OPEN_STATES:
        raise EscalationError(f"处置记录 {escalation_id} 已结束，不能再标记步骤")
    existing = _step_row(session, esc.id, step_id)
    if existing is not None:
        return existing, False
    row = EscalationStep(
        escalation_id=esc.id, step_id=step_id, done_by=actor.username, done_at=now or utcnow(), note=note
    )
    try:
        with session.begin_nested():  # two officers clicking 完成 at once: the first one counts
            session.add(row)
            session.flush()
    except IntegrityError:
        winner = _step_row(session, esc.id, step_id)
        if winner is None:
            raise
        return winner, False
    audit(
        session,
        actor=actor.username,
        action="escalation.step_done",
        entity="escalation",
        entity_id=esc.id,
        step_id=step_id,
        note=note,
    )
    return row, True


def steps_done(session: Session, escalation_id: int) -> dict[str, EscalationStep]:
    """The steps marked done on a record, by step id."""
    rows = session.scalars(select(EscalationStep).where(EscalationStep.escalation_id == escalation_id))
    return {r.step_id: r for r in rows}


def _step_row(session: Session, escalation_id: int, step_id: str) -> EscalationStep | None:
    return session.scalar(
        select(EscalationStep).where(
            EscalationStep.escalation_id == escalation_id, EscalationStep.step_id == step_id
        )
    )


def _get(session: Session, escalation_id: int) -> Escalation:
    esc = session.get(Escalation, escalation_id, populate_existing=True)  # as the database has it now
    if esc is None:
        raise EscalationError(f"处置记录 {escalation_id} 不存在")
    return esc


def allowed_next(state: str) -> tuple[str, ...]:
    return TRANSITIONS.get(state, ())
