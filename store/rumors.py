"""The rumor register's records: list, add, edit (each change audited), with input checked first.

The desk page (desk/views/rumors.py) calls these; the context reads the active entries for the
analyzer (nlp.rumor.RumorRegister). Service functions are keyword-only and take the session.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import RumorEntry, utcnow
from store.records import audit, change_if

MAX_CLAIM = 500
MAX_CLARIFICATION = 5_000
MAX_URL = 1_000
MAX_KEYWORDS = 10
MAX_KEYWORD = 30
_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
_SPLIT = re.compile(r"[\s,，、;；]+")


class RumorInputError(ValueError):
    """What the officer typed cannot be registered; the message says why, in Chinese."""


def clean_entry(
    *, claim: Any, clarification: Any = "", url: Any = "", date_text: Any = "", keywords: Any = ""
) -> dict[str, Any]:
    """Checked and normalised fields, or RumorInputError."""
    claim_s = " ".join(str(claim or "").split())
    if not claim_s:
        raise RumorInputError("请填写传言内容。")
    if len(claim_s) > MAX_CLAIM:
        raise RumorInputError(f"传言内容过长（{len(claim_s)} 字），请精简到 {MAX_CLAIM} 字以内。")
    clar = str(clarification or "").strip()
    if len(clar) > MAX_CLARIFICATION:
        raise RumorInputError(f"澄清内容过长，请精简到 {MAX_CLARIFICATION} 字以内。")
    url_s = str(url or "").strip()
    if url_s and (len(url_s) > MAX_URL or not _URL.match(url_s)):
        raise RumorInputError("澄清链接须以 http:// 或 https:// 开头，且不含空格。")
    if isinstance(date_text, date):
        day = date_text.isoformat()
    else:
        day = str(date_text or "").strip()
        if day:
            try:
                day = date.fromisoformat(day).isoformat()
            except ValueError:
                raise RumorInputError("澄清日期格式应为 YYYY-MM-DD，例如 2026-03-01。") from None
    kws = keywords if isinstance(keywords, list | tuple) else _SPLIT.split(str(keywords or ""))
    kws = list(dict.fromkeys(k.strip() for k in kws if k and k.strip()))
    if len(kws) > MAX_KEYWORDS:
        raise RumorInputError(f"关键词最多 {MAX_KEYWORDS} 个。")
    if any(len(k) > MAX_KEYWORD for k in kws):
        raise RumorInputError(f"每个关键词不超过 {MAX_KEYWORD} 字。")
    return {"claim": claim_s, "clarification": clar, "url": url_s, "date": day, "keywords": kws}


def list_rumors(session: Session, *, include_inactive: bool = True) -> list[RumorEntry]:
    stmt = select(RumorEntry).order_by(RumorEntry.id.desc())
    if not include_inactive:
        stmt = stmt.where(RumorEntry.active)
    return list(session.scalars(stmt))


def add_rumor(session: Session, *, actor: str, **fields: Any) -> RumorEntry:
    values = clean_entry(**fields)
    entry = RumorEntry(**values, added_by=actor, active=True)
    session.add(entry)
    session.flush()
    audit(
        session, actor=actor, action="rumor.added", entity="rumor", entity_id=entry.id, claim=values["claim"]
    )
    return entry


def update_rumor(
    session: Session, *, rumor_id: int, actor: str, active: bool = True, **fields: Any
) -> RumorEntry:
    entry = session.get(RumorEntry, rumor_id, populate_existing=True)
    if entry is None:
        raise RumorInputError(f"传言登记 #{rumor_id} 不存在（可能已被删除）。")
    values = {**clean_entry(**fields), "active": bool(active)}
    before = {k: getattr(entry, k) for k in values}
    changed = {k: [before[k], values[k]] for k in values if before[k] != values[k]}
    if changed:
        # compare-and-set on updated_at as read: two officers editing one entry at once, one wins
        if not change_if(
            session,
            entry,
            RumorEntry.updated_at == entry.updated_at,
            **{k: new for k, (_old, new) in changed.items()},
            updated_at=utcnow(),
        ):
            raise RumorInputError(f"传言登记 #{rumor_id} 已被他人修改，请刷新后再操作。")
        audit(
            session, actor=actor, action="rumor.updated", entity="rumor", entity_id=entry.id, changed=changed
        )
    return entry
