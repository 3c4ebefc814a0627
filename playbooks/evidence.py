"""固定证据 — the first step of every playbook, kept by the desk itself.

* At the moment a post is flagged (its alert opens, ``yuqing.ingest``), ``snapshot_post`` keeps the post
  as the desk received it — title, text, address, author, publication and fetch times, source, counts and
  the analysis that flagged it — as canonical JSON, with its SHA-256 and the time. A page edited or
  deleted later does not change what was seen.
* A crawled post's page or API response (``keep_page``): the bytes the crawler read the post from, kept
  for the flagged post with its address, HTTP status, type, fetch time and SHA-256 (``kind`` page).
* An officer attaches screenshots or files to a record (``attach``: 10 MB at most each), kept with
  their SHA-256, who and when; audited.
* ``for_record`` lists what a record has (its alert's snapshot, the attachments), ``content`` hands the
  bytes back (checked against the SHA-256), ``bundle`` zips them with a manifest for handing on; the
  regulator report lists them.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from store.models import Alert, Escalation, Evidence, PostRecord, utcnow
from store.records import SYSTEM_ACTOR, audit
from store.times import as_utc

MAX_BYTES = 10 * 1024 * 1024
PAGE_NAME = "原始页面（抓取时）"
TOO_LARGE = "超过保存上限，仅记录 SHA-256"  # a page kept by its hash and size alone
KIND_NAMES = {"snapshot": "发现时快照", "page": "原始页面", "attachment": "附件"}
MAX_NAME = 120
SNAPSHOT_NAME = "帖子快照（发现时）"
SNAPSHOT_FIELDS = (
    "id", "url", "canonical_url", "source", "source_family", "site_id", "title", "text", "author",
    "published_at", "fetched_at", "first_seen_at", "reposts", "comments", "likes", "user_followers",
    "user_verified", "sentiment", "falsity", "targets", "negative_targets", "topic", "level", "reasons",
    "content_hash", "drill",
)  # fmt: skip


class EvidenceError(ValueError):
    """Evidence that cannot be kept or handed back; the message is Chinese."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot_bytes(post: PostRecord, *, captured_at: datetime) -> bytes:
    """The post as the desk received it, as canonical JSON (sorted keys, UTF-8): what the SHA-256 covers."""
    fields = {k: getattr(post, k) for k in SNAPSHOT_FIELDS}
    doc = {"captured_at": as_utc(captured_at).isoformat(timespec="seconds"), "post": fields}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1, default=str).encode("utf-8")


def snapshot_post(
    session: Session, alert: Alert, post: PostRecord, *, now: datetime | None = None
) -> Evidence:
    """Keep the post as flagged (once per alert: the first sighting is the evidence); returns the row."""
    [(row, new)] = snapshot_posts(session, [(alert, post)], now=now, audit_now=False)
    if new:
        audit_snapshot(session, alert, row)
    return row


def snapshot_posts(
    session: Session,
    pairs: Sequence[tuple[Alert, PostRecord]],
    *,
    now: datetime | None = None,
    audit_now: bool = True,
) -> list[tuple[Evidence, bool]]:
    """:func:`snapshot_post` for a batch of alerts (one read, one flush): each alert's snapshot row and
    whether it was taken now. ``audit_now=False``: the caller queues :func:`audit_snapshot` for each new
    row itself (ingest puts it right after its alert's own entry)."""
    ids = list(dict.fromkeys(alert.id for alert, _ in pairs))
    existing: dict[int, Evidence] = {}
    for i in range(0, len(ids), 500):
        rows = session.scalars(
            select(Evidence)
            .where(Evidence.alert_id.in_(ids[i : i + 500]), Evidence.kind == "snapshot")
            .order_by(Evidence.id)
        )
        for row in rows:
            existing.setdefault(row.alert_id, row)
    out: list[tuple[Evidence, bool]] = []
    for alert, post in pairs:
        if alert.id in existing:
            out.append((existing[alert.id], False))
            continue
        at = as_utc(now or utcnow())
        data = snapshot_bytes(post, captured_at=at)
        row = existing[alert.id] = Evidence(
            alert_id=alert.id,
            post_id=post.id,
            kind="snapshot",
            name=SNAPSHOT_NAME,
            mime="application/json",
            size=len(data),
            sha256=sha256(data),
            content=data,
            source_url=post.url or "",
            captured_by=SYSTEM_ACTOR,
            captured_at=at,
            drill=bool(post.drill),
        )
        session.add(row)
        out.append((row, True))
    if any(new for _, new in out):
        session.flush()  # the rows get their ids, which their audit entries name
    if audit_now:
        for (row, new), (alert, _) in zip(out, pairs, strict=True):
            if new:
                audit_snapshot(session, alert, row)
    return out


def audit_snapshot(session: Session, alert: Alert, row: Evidence) -> None:
    """The audit entry of a snapshot just taken."""
    audit(
        session,
        actor=SYSTEM_ACTOR,
        action="evidence.snapshot",
        entity="alert",
        entity_id=alert.id,
        evidence_id=row.id,
        sha256=row.sha256,
        size=row.size,
    )


def keep_page(
    session: Session,
    alert: Alert,
    data: bytes | None,
    *,
    sha: str,
    size: int,
    url: str,
    mime: str = "",
    status: int = 0,
    fetched_at: datetime | None = None,
) -> Evidence | None:
    """Keep the page or API response a flagged post was crawled from (once per alert); audited. ``data``
    None: the page was too large to keep; its SHA-256 and size are still recorded (an empty content)."""
    existing = session.scalar(
        select(Evidence.id).where(Evidence.alert_id == alert.id, Evidence.kind == "page").limit(1)
    )
    if existing is not None:
        return None
    if data is not None and sha256(data) != sha:
        raise EvidenceError("抓取页面的内容与其 SHA-256 不符，未保存。")
    base = (mime or "").split(";")[0].strip().lower()
    ext = {"text/html": ".html", "application/json": ".json", "text/xml": ".xml", "application/xml": ".xml",
           "application/rss+xml": ".xml", "application/atom+xml": ".xml", "text/plain": ".txt",
           "application/javascript": ".js", "text/javascript": ".js"}.get(base, "")  # fmt: skip
    note = f"HTTP {status}" if status else ""
    if data is None:
        note = (note + "；" if note else "") + f"页面 {size} 字节，{TOO_LARGE}"
    row = Evidence(
        alert_id=alert.id,
        post_id=alert.post_id,
        kind="page",
        name=PAGE_NAME + ext,
        mime=(mime or "application/octet-stream")[:100],
        size=size,
        sha256=sha,
        content=data if data is not None else b"",
        source_url=url,
        note=note,
        captured_by=SYSTEM_ACTOR,
        captured_at=as_utc(fetched_at or utcnow()),
        drill=bool(alert.drill),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=SYSTEM_ACTOR,
        action="evidence.page",
        entity="alert",
        entity_id=alert.id,
        evidence_id=row.id,
        sha256=sha,
        size=size,
        url=url,
    )
    return row


def attach(
    session: Session,
    actor: Actor | None,
    *,
    escalation_id: int,
    name: str,
    data: bytes,
    mime: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Evidence:
    """An officer attaches a file (a screenshot, a page saved as PDF …) to a record; audited with its hash."""
    who = require(actor, "escalation.step_done").username
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise EvidenceError(f"处置记录 {escalation_id} 不存在。")
    if not data:
        raise EvidenceError("文件是空的，未保存。")
    if len(data) > MAX_BYTES:
        raise EvidenceError(f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，请压缩或分拆后上传。")
    name = " ".join(str(name or "").replace("/", "_").replace("\\", "_").split())[:MAX_NAME] or "附件"
    row = Evidence(
        alert_id=esc.alert_id,
        escalation_id=esc.id,
        post_id=esc.alert.post_id if esc.alert is not None else "",
        kind="attachment",
        name=name,
        mime=(mime or "application/octet-stream")[:100],
        size=len(data),
        sha256=sha256(data),
        content=data,
        note=" ".join(str(note or "").split())[:500],
        captured_by=who,
        captured_at=as_utc(now or utcnow()),
        drill=bool(esc.drill),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=who,
        action="evidence.attached",
        entity="escalation",
        entity_id=esc.id,
        evidence_id=row.id,
        name=name,
        sha256=row.sha256,
        size=row.size,
    )
    return row


@dataclass(frozen=True)
class EvidenceView:
    id: int
    kind: str
    name: str
    mime: str
    size: int
    sha256: str
    captured_by: str
    captured_at: datetime
    source_url: str
    note: str


def _view(e: Evidence) -> EvidenceView:
    return EvidenceView(
        id=e.id,
        kind=e.kind,
        name=e.name,
        mime=e.mime,
        size=e.size,
        sha256=e.sha256,
        captured_by=e.captured_by,
        captured_at=e.captured_at,
        source_url=e.source_url,
        note=e.note,
    )


def for_alerts(session: Session, alert_ids: Sequence[int]) -> list[EvidenceView]:
    """The evidence of these alerts (their snapshots and their records' attachments), oldest first."""
    if not alert_ids:
        return []
    rows = session.scalars(
        select(Evidence).where(Evidence.alert_id.in_(list(alert_ids))).order_by(Evidence.id)
    )
    return [_view(e) for e in rows]


def for_record(session: Session, escalation_id: int) -> list[EvidenceView]:
    """A record's evidence: its alert's snapshot and the files attached to it, oldest first."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        return []
    rows = session.scalars(
        select(Evidence)
        .where(
            or_(
                Evidence.escalation_id == esc.id,
                (Evidence.alert_id == esc.alert_id) & Evidence.kind.in_(("snapshot", "page")),
            )
        )
        .order_by(Evidence.id)
    )
    return [_view(e) for e in rows]


def content(session: Session, evidence_id: int, actor: Actor | None) -> tuple[EvidenceView, bytes]:
    """The bytes of one piece of evidence, checked against its SHA-256 (EvidenceError when they differ)."""
    require(actor, "alert.view")
    e = session.get(Evidence, evidence_id)
    if e is None:
        raise EvidenceError("证据不存在。")
    if e.kind == "page" and not e.content:
        raise EvidenceError(
            f"「{e.name}」超过保存上限，只记录了 SHA-256 与大小（{e.size} 字节），没有内容可下载。"
        )
    if sha256(e.content) != e.sha256:
        raise EvidenceError(f"证据「{e.name}」的内容与保存时的 SHA-256 不符，请勿使用，并报告管理员。")
    return _view(e), bytes(e.content)


def bundle(session: Session, escalation_id: int, actor: Actor | None) -> bytes:
    """A zip of the record's evidence with 清单.json (name, kind, who, when, SHA-256 of each file)."""
    require(actor, "alert.view")
    views = for_record(session, escalation_id)
    buf = io.BytesIO()
    manifest: list[dict[str, Any]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for v in views:
            arc: str | None = None
            if not (v.kind == "page" and TOO_LARGE in v.note):  # a page too large: listed, not packed
                _, data = content(session, v.id, actor)
                ext = ".json" if v.kind == "snapshot" else ""
                arc = f"{v.id:04d}-{v.name}{ext}"
                z.writestr(arc, data)
            manifest.append(
                {
                    "file": arc,
                    "kind": v.kind,
                    "sha256": v.sha256,
                    "size": v.size,
                    "captured_by": v.captured_by,
                    "captured_at": v.captured_at.isoformat(timespec="seconds"),
                    "source_url": v.source_url,
                    "note": v.note,
                }
            )
        z.writestr("清单.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return buf.getvalue()
