"""Holding statements (对外口径): drafted from a playbook template, signed off by compliance before use.

The life of a draft (``StatementDraft.status``)::

    draft ──submit──▶ submitted ──approve──▶ approved ──mark_used──▶ used
      ▲                   │
      └──── revise ◀── rejected ◀──reject──┘

* drafting, revising, submitting and marking used need ``statement.draft`` (值班员 and up);
* approving or rejecting (合规审核 / 签批) needs ``statement.approve`` (负责人 and up), with a note
  for a rejection, and never by the person who drafted it (four eyes);
* nothing is used (published, sent, read out) before approval: ``mark_used`` refuses any other draft;
  on a drill the draft is marked used but nothing leaves the building.

Every change is written to the record's audit trail (entity ``escalation``) with who and when; the
draft id is in the detail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from playbooks.escalation import OPEN_STATES, EscalationError
from playbooks.schema import PLACEHOLDERS, HoldingStatement, Playbook
from store.models import Escalation, StatementDraft, utcnow
from store.records import audit

STATUSES = ("draft", "submitted", "approved", "rejected", "used")
STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待合规审核",
    "approved": "已批准",
    "rejected": "已退回",
    "used": "已使用",
}
MAX_TEXT = 4000
MAX_NOTE = 500


class StatementError(EscalationError):
    """A statement change that cannot be made; the message is Chinese and shown as is."""


def template(playbook: Playbook, template_id: str) -> HoldingStatement:
    hs = next((h for h in playbook.holding_statements if h.id == template_id), None)
    if hs is None:
        raise StatementError(f"预案「{playbook.name}」中没有对外口径模板「{template_id}」")
    return hs


def render(hs: HoldingStatement, values: dict[str, str]) -> str:
    """Fill the template; a placeholder without a value is left as 【待填写：…】 for the drafter."""
    filled = {
        name: (str(values.get(name) or "").strip() or f"【待填写：{PLACEHOLDERS.get(name, name)}】")
        for name in hs.placeholders
    }
    return hs.render(filled)


def _escalation(session: Session, escalation_id: int) -> Escalation:
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise StatementError(f"处置记录 {escalation_id} 不存在")
    return esc


def _draft(session: Session, draft_id: int) -> StatementDraft:
    row = session.get(StatementDraft, draft_id)
    if row is None:
        raise StatementError(f"口径稿 {draft_id} 不存在")
    return row


def _clean(text: str, limit: int) -> str:
    return (text or "").strip()[:limit]


def _audit(session: Session, actor: Actor, action: str, row: StatementDraft, **detail) -> None:
    audit(
        session,
        actor=actor.username,
        action=action,
        entity="escalation",
        entity_id=row.escalation_id,
        draft_id=row.id,
        template_id=row.template_id,
        **detail,
    )


def draft_statement(
    session: Session,
    *,
    escalation_id: int,
    playbook: Playbook,
    template_id: str,
    values: dict[str, str] | None = None,
    text: str | None = None,
    actor: Actor,
) -> StatementDraft:
    """A new draft from the playbook's template ``template_id``: ``text`` as edited, or the template
    rendered with ``values``."""
    require(actor, "statement.draft")
    esc = _escalation(session, escalation_id)
    if esc.state not in OPEN_STATES:
        raise StatementError(f"处置记录 {escalation_id} 已结束，不能再起草口径")
    hs = template(playbook, template_id)
    body = _clean(text if text is not None else render(hs, values or {}), MAX_TEXT)
    if not body:
        raise StatementError("口径内容不能为空")
    row = StatementDraft(
        escalation_id=esc.id,
        template_id=hs.id,
        text=body,
        status="draft",
        drafted_by=actor.username,
        drafted_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _audit(session, actor, "statement.drafted", row, title=hs.title)
    return row


def revise(session: Session, *, draft_id: int, text: str, actor: Actor) -> StatementDraft:
    """Change the text of a draft or of a rejected one (which becomes a draft again)."""
    require(actor, "statement.draft")
    row = _draft(session, draft_id)
    if row.status not in ("draft", "rejected"):
        raise StatementError(f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」，不能修改")
    body = _clean(text, MAX_TEXT)
    if not body:
        raise StatementError("口径内容不能为空")
    before = row.status
    row.text = body
    row.status = "draft"
    row.drafted_by = actor.username
    row.drafted_at = utcnow()
    session.flush()
    _audit(session, actor, "statement.revised", row, before=before)
    return row


def submit(session: Session, *, draft_id: int, actor: Actor) -> StatementDraft:
    """提交合规审核."""
    require(actor, "statement.draft")
    row = _draft(session, draft_id)
    if row.status != "draft":
        raise StatementError(f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」，不能提交审核")
    row.status = "submitted"
    session.flush()
    _audit(session, actor, "statement.submitted", row)
    return row


def _review(
    session: Session, *, draft_id: int, actor: Actor, approve: bool, note: str, now: datetime | None = None
) -> StatementDraft:
    require(actor, "statement.approve")
    row = _draft(session, draft_id)
    if row.status != "submitted":
        raise StatementError(
            f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」，只有待合规审核的口径才能审批"
        )
    if row.drafted_by == actor.username:
        raise StatementError("不能审批自己起草的口径，请由另一位负责人审核")
    note = _clean(note, MAX_NOTE)
    if not approve and not note:
        raise StatementError("退回口径时请写明原因")
    row.status = "approved" if approve else "rejected"
    row.reviewed_by = actor.username
    row.reviewed_at = now or utcnow()
    row.review_note = note
    session.flush()
    _audit(session, actor, "statement.approved" if approve else "statement.rejected", row, note=note)
    return row


def approve(
    session: Session, *, draft_id: int, actor: Actor, note: str = "", now: datetime | None = None
) -> StatementDraft:
    """合规审核通过 (sign-off): the draft may now be used; ``now`` is when (default: the current time)."""
    return _review(session, draft_id=draft_id, actor=actor, approve=True, note=note, now=now)


def reject(session: Session, *, draft_id: int, actor: Actor, note: str) -> StatementDraft:
    """退回 with the reason (required)."""
    return _review(session, draft_id=draft_id, actor=actor, approve=False, note=note)


def mark_used(session: Session, *, draft_id: int, actor: Actor, channel: str = "") -> StatementDraft:
    """Record that an approved statement was published / sent; refused for anything not approved."""
    require(actor, "statement.draft")
    row = _draft(session, draft_id)
    if row.status != "approved":
        raise StatementError(
            f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」：未经合规审核批准，不得对外使用"
        )
    esc = _escalation(session, row.escalation_id)
    row.status = "used"
    session.flush()
    _audit(session, actor, "statement.used", row, channel=_clean(channel, 80), drill=bool(esc.drill))
    return row


def drafts_for(session: Session, escalation_id: int) -> list[StatementDraft]:
    return list(
        session.scalars(
            select(StatementDraft)
            .where(StatementDraft.escalation_id == escalation_id)
            .order_by(StatementDraft.id)
        )
    )
