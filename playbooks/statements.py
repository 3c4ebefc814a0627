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
draft id is in the detail. Every change is compare-and-set on the draft's version (``UPDATE … WHERE
version = <read>``; the desk passes the version it showed as ``expected_version``): a draft is decided
once — of two managers approving, or one approving and one rejecting at the same moment, one wins and
the other is told 已被他人处理 (StatementConflict) — and the audit entry is written only by the winner,
in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
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


class StatementConflict(StatementError):
    """Someone else changed the draft since it was read (or since the page showing it was drawn)."""


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


def _draft(session: Session, draft_id: int, expected_version: int | None = None) -> StatementDraft:
    row = session.get(StatementDraft, draft_id, populate_existing=True)  # as the database has it now
    if row is None:
        raise StatementError(f"口径稿 {draft_id} 不存在")
    if expected_version is not None and row.version != expected_version:
        raise StatementConflict(_conflict(row))
    return row


def _conflict(row: StatementDraft) -> str:
    now_is = f"现为「{STATUS_LABELS.get(row.status, row.status)}」"
    if row.status in ("approved", "rejected") and row.reviewed_by:
        now_is += f"，由 {row.reviewed_by} 审批"
    return f"口径稿 {row.id} 已被他人处理（{now_is}），请刷新后再操作。"


def _move(session: Session, row: StatementDraft, **values) -> None:
    """``UPDATE statement_drafts SET … WHERE id = :id AND version = :read`` (the version moves by one);
    StatementConflict when the row moved on meanwhile."""
    session.flush()
    result = session.execute(
        update(StatementDraft)
        .where(StatementDraft.id == row.id, StatementDraft.version == row.version)
        .values(**values, version=StatementDraft.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    if not result.rowcount:
        raise StatementConflict(_conflict(row))


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


def revise(
    session: Session, *, draft_id: int, text: str, actor: Actor, expected_version: int | None = None
) -> StatementDraft:
    """Change the text of a draft or of a rejected one (which becomes a draft again)."""
    require(actor, "statement.draft")
    row = _draft(session, draft_id, expected_version)
    if row.status not in ("draft", "rejected"):
        raise StatementError(f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」，不能修改")
    body = _clean(text, MAX_TEXT)
    if not body:
        raise StatementError("口径内容不能为空")
    before = row.status
    _move(session, row, text=body, status="draft", drafted_by=actor.username, drafted_at=utcnow())
    _audit(session, actor, "statement.revised", row, before=before)
    return row


def submit(
    session: Session, *, draft_id: int, actor: Actor, expected_version: int | None = None
) -> StatementDraft:
    """提交合规审核."""
    require(actor, "statement.draft")
    row = _draft(session, draft_id, expected_version)
    if row.status != "draft":
        raise StatementError(f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」，不能提交审核")
    _move(session, row, status="submitted")
    _audit(session, actor, "statement.submitted", row)
    return row


def _review(
    session: Session,
    *,
    draft_id: int,
    actor: Actor,
    approve: bool,
    note: str,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> StatementDraft:
    require(actor, "statement.approve")
    row = _draft(session, draft_id, expected_version)
    if row.status != "submitted":
        raise StatementError(
            f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」，只有待合规审核的口径才能审批"
        )
    if row.drafted_by == actor.username:
        raise StatementError("不能审批自己起草的口径，请由另一位负责人审核")
    note = _clean(note, MAX_NOTE)
    if not approve and not note:
        raise StatementError("退回口径时请写明原因")
    _move(
        session,
        row,
        status="approved" if approve else "rejected",
        reviewed_by=actor.username,
        reviewed_at=now or utcnow(),
        review_note=note,
    )
    _audit(session, actor, "statement.approved" if approve else "statement.rejected", row, note=note)
    return row


def approve(
    session: Session,
    *,
    draft_id: int,
    actor: Actor,
    note: str = "",
    now: datetime | None = None,
    expected_version: int | None = None,
) -> StatementDraft:
    """合规审核通过 (sign-off): the draft may now be used; ``now`` is when (default: the current time)."""
    return _review(
        session,
        draft_id=draft_id,
        actor=actor,
        approve=True,
        note=note,
        now=now,
        expected_version=expected_version,
    )


def reject(
    session: Session, *, draft_id: int, actor: Actor, note: str, expected_version: int | None = None
) -> StatementDraft:
    """退回 with the reason (required)."""
    return _review(
        session, draft_id=draft_id, actor=actor, approve=False, note=note, expected_version=expected_version
    )


def mark_used(
    session: Session, *, draft_id: int, actor: Actor, channel: str = "", expected_version: int | None = None
) -> StatementDraft:
    """Record that an approved statement was published / sent; refused for anything not approved."""
    require(actor, "statement.draft")
    row = _draft(session, draft_id, expected_version)
    if row.status != "approved":
        raise StatementError(
            f"口径稿 {draft_id} 当前为「{STATUS_LABELS[row.status]}」：未经合规审核批准，不得对外使用"
        )
    esc = _escalation(session, row.escalation_id)
    _move(session, row, status="used")
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
