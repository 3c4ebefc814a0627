"""The audit trail as a hash chain: written at commit, one writer at a time, verifiable row by row.

Every row carries ``prev_hash`` (the ``row_hash`` of the row before it; ``GENESIS`` for the first) and
``row_hash`` = SHA-256 over ``prev_hash`` and the row's canonical content (``at`` in UTC to the
microsecond, actor, action, entity, entity id and the detail as sorted JSON). Changing a row breaks its
own hash; deleting one breaks the next row's link; inserting one breaks the link of the row after it
(or, at the end, disagrees with the head kept in ``audit_chain``). ``verify_audit`` walks the log in id
order and names the first row where the chain breaks.

How rows get there: ``store.records.audit`` only queues an entry on the session. When the session's
outermost transaction commits, the queued entries are written last: the one ``audit_chain`` row is
updated first (a row lock on PostgreSQL, the database's write lock on SQLite), so two writers never
chain to the same predecessor, and the lock is held only from there to the commit. An entry queued
inside a savepoint that rolls back is dropped with it; a transaction that rolls back writes none.
An ``AuditEntry`` added to a session directly (``session.add``) is taken into the queue the same way.

The database refuses what the code never does (migration 0006): UPDATE and DELETE on ``audit_log``
(both engines), TRUNCATE (PostgreSQL), and an INSERT whose ``prev_hash`` is not the last row's hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

from store.models import AuditChain, AuditEntry, utcnow
from store.times import as_utc

GENESIS = "0" * 64  # the prev_hash of the first row of a chain
_ROW_FIELDS = ("at", "actor", "action", "entity", "entity_id", "detail", "prev_hash", "row_hash")
_PENDING = "store.auditlog.pending"  # session.info key: [(entry, transaction it was queued in)]


# --------------------------------------------------------------------------- the hash


def canonical(*, at: datetime, actor: str, action: str, entity: str, entity_id: str, detail: Any) -> bytes:
    """The bytes a row's hash covers (besides the previous hash): one JSON array, keys sorted."""
    return json.dumps(
        [as_utc(at).isoformat(timespec="microseconds"), actor, action, entity, str(entity_id), detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")


def chain_hash(prev_hash: str, **content: Any) -> str:
    """SHA-256 hex of the previous row's hash and this row's canonical content."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(**content)).hexdigest()


def entry_hash(prev_hash: str, entry: Any) -> str:
    """The chain hash of an AuditEntry (or a row with the same attributes) after ``prev_hash``."""
    return chain_hash(
        prev_hash,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        entity=entry.entity,
        entity_id=entry.entity_id,
        detail=entry.detail,
    )


def _as_stored(detail: Any) -> Any:
    """The detail as the database will hand it back (JSON round trip: tuples → lists, keys → str)."""
    return json.loads(json.dumps(detail if detail is not None else {}, allow_nan=False))


# --------------------------------------------------------------------------- queueing and writing


def queue(session: Session, entry: AuditEntry) -> AuditEntry:
    """Queue ``entry`` to be chained and written when the session's outermost transaction commits."""
    if session.get_transaction() is None:
        session.connection()  # begin, so the commit that writes the entry is the one the caller makes
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((entry, tx))
    return entry


def pending(session: Session) -> list[AuditEntry]:
    """The entries queued on this session and not written yet (in queue order)."""
    return [e for e, _tx in session.info.get(_PENDING, [])]


def _within(tx: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while tx is not None:
        if tx is ended:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "before_flush")
def _take_added_entries(session: Session, _flush_context, _instances) -> None:
    # an AuditEntry added with session.add (not through audit()) joins the queue, so it is chained too
    for obj in list(session.new):
        if isinstance(obj, AuditEntry) and obj.row_hash is None:
            session.expunge(obj)
            queue(session, obj)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    items = session.info.get(_PENDING)
    if not items:
        return
    if not previous.nested:
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [(e, tx) for e, tx in items if not _within(tx, previous)]


@event.listens_for(Session, "before_commit")
def _write_queued(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its entries wait for the outermost commit
    if not session.info.get(_PENDING) and not any(isinstance(o, AuditEntry) for o in session.new):
        return
    session.flush()  # the transaction's other writes first; an AuditEntry added directly joins the queue
    items = session.info.pop(_PENDING, None)
    if items:
        append(session, [e for e, _tx in items])


def append(session: Session, entries: Sequence[AuditEntry]) -> None:
    """Chain and insert ``entries`` now, after everything else the transaction wrote, under the chain lock."""
    if not entries:
        return
    session.flush()  # the transaction's other writes (and their row locks) come first
    locked = session.execute(
        update(AuditChain).where(AuditChain.id == 1).values(rows=AuditChain.rows)
    ).rowcount
    if not locked:  # the head row is made by migration 0006; made here if someone removed it
        session.add(AuditChain(id=1, last_id=0, head_hash="", rows=0))
        session.flush()
    last = session.execute(
        select(AuditEntry.id, AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    prev = (last.row_hash if last is not None else None) or GENESIS
    last_id = last.id if last is not None else 0
    rows = []
    for entry in entries:
        if entry.at is None:
            entry.at = utcnow()
        entry.at = as_utc(entry.at)
        entry.entity_id = str(entry.entity_id)
        entry.detail = _as_stored(entry.detail)
        entry.prev_hash = prev
        entry.row_hash = entry_hash(prev, entry)
        rows.append({c: getattr(entry, c) for c in _ROW_FIELDS})
        prev = entry.row_hash
    # one INSERT executed once per row in the chain's order (executemany: on both engines each row is its
    # own execution, so the database's chain guard sees the row before it and ids follow the chain), then
    # the new ids in one query: under the chain lock every row after the last one read is ours
    table = AuditEntry.__table__
    session.execute(insert(table), rows)
    written = session.execute(
        select(table.c.id, table.c.row_hash).where(table.c.id > last_id).order_by(table.c.id)
    ).all()
    if [r.row_hash for r in written] != [e.row_hash for e in entries]:
        raise RuntimeError("audit_log: the rows written are not the chain just computed")
    for entry, r in zip(entries, written, strict=True):
        entry.id = r.id
        make_transient_to_detached(entry)  # the entry joins the session as the stored row it now is
        session.add(entry)
    session.execute(
        update(AuditChain)
        .where(AuditChain.id == 1)
        .values(last_id=entries[-1].id, head_hash=prev, rows=AuditChain.rows + len(entries))
    )


# --------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain breaks: the row (None: at the end), how, and what it means (Chinese)."""

    row_id: int | None
    position: int  # 1-based position in id order (rows checked before it + 1)
    kind: str  # unchained | unlinked | changed | tail | anchor
    message: str


@dataclass(frozen=True)
class ChainReport:
    rows: int  # rows checked (all of them when the chain holds)
    head_id: int | None
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_audit(
    session: Session, *, anchors: dict[int, str] | None = None, batch: int = 2000
) -> ChainReport:
    """Walk the audit log in id order and recompute the chain; the first break, if any, is reported.

    ``anchors``: {row id: row_hash} noted down earlier (``yuqing audit verify`` prints the head): a row
    whose hash differs, or that is gone, means the log was rewritten from there on, chain and all.
    """
    anchors = dict(anchors or {})
    prev, prev_id, n, last_id = GENESIS, None, 0, 0
    while True:
        rows = session.execute(
            select(*_COLUMNS).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            n += 1
            found = _check_row(row, prev, prev_id, n)
            for anchor_id in [a for a in anchors if a < row.id]:
                found = found or ChainBreak(
                    anchor_id, n, "anchor", f"记下的审计 #{anchor_id} 已不在日志中：日志被改写过。"
                )
                anchors.pop(anchor_id)
            if found is None and row.id in anchors and anchors.pop(row.id) != row.row_hash:
                found = ChainBreak(
                    row.id,
                    n,
                    "anchor",
                    f"审计 #{row.id} 的链值与记下的不符：日志从此行（或更早）起被整体改写。",
                )
            if found is not None:
                return ChainReport(rows=n - 1, head_id=prev_id, head_hash=prev, first_break=found)
            prev, prev_id = row.row_hash or "", row.id
        last_id = rows[-1].id
    if anchors:
        first = min(anchors)
        return ChainReport(
            rows=n,
            head_id=prev_id,
            head_hash=prev,
            first_break=ChainBreak(
                first, n + 1, "anchor", f"记下的审计 #{first} 已不在日志中：末尾的记录被删除。"
            ),
        )
    head = session.get(AuditChain, 1)
    if head is not None and (head.last_id or 0) and (head.last_id != prev_id or head.head_hash != prev):
        where = f"#{prev_id}" if prev_id is not None else "（日志为空）"
        return ChainReport(
            rows=n,
            head_id=prev_id,
            head_hash=prev,
            first_break=ChainBreak(
                row_id=None,
                position=n + 1,
                kind="tail",
                message=(
                    f"链尾登记为审计 #{head.last_id}（共 {head.rows} 行），日志最后一行却是 {where}（共 {n} 行）："
                    "末尾的记录被删除，或末尾有未经值守台写入的记录，或链尾登记被改动。"
                ),
            ),
        )
    return ChainReport(rows=n, head_id=prev_id, head_hash=prev, first_break=None)


_COLUMNS = (
    AuditEntry.id,
    AuditEntry.at,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.entity,
    AuditEntry.entity_id,
    AuditEntry.detail,
    AuditEntry.prev_hash,
    AuditEntry.row_hash,
)


def _check_row(row: Any, prev: str, prev_id: int | None, n: int) -> ChainBreak | None:
    before = f"前一行（审计 #{prev_id}）" if prev_id is not None else "链首"
    if not row.row_hash or not row.prev_hash:
        return ChainBreak(
            row.id, n, "unchained", f"审计 #{row.id}（第 {n} 行）没有链值：不是经值守台写入的记录（被插入）。"
        )
    if row.prev_hash != prev:
        return ChainBreak(
            row.id,
            n,
            "unlinked",
            f"审计 #{row.id}（第 {n} 行）与{before}不相连：两行之间的记录被删除，或此行是被插入的。",
        )
    try:
        again = entry_hash(prev, row)
    except (TypeError, ValueError):
        again = ""
    if again != row.row_hash:
        return ChainBreak(
            row.id,
            n,
            "changed",
            f"审计 #{row.id}（第 {n} 行）的内容与其链值不符：此行被改动过，或是伪造插入的。",
        )
    return None


__all__ = [
    "GENESIS",
    "ChainBreak",
    "ChainReport",
    "append",
    "canonical",
    "chain_hash",
    "entry_hash",
    "pending",
    "queue",
    "verify_audit",
]
