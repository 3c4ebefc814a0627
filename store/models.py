"""What the store keeps: posts (a dataclass, indexed by a posts engine) and records (SQLAlchemy ORM).

Posts live in the posts index (SQLite FTS5 embedded, Elasticsearch in production); records — alerts,
escalations and the append-only audit trail — live in a relational database through SQLAlchemy
(the same SQLite file embedded, PostgreSQL in production).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

LEVELS = ("I", "II", "III", "IV")
SENTIMENTS = ("negative", "neutral", "positive")


def level_rank(level: str | None) -> int:
    """I → 1 (most severe) … IV → 4; unflagged → 9, so ascending order is most severe first."""
    return LEVELS.index(level) + 1 if level in LEVELS else 9


def utcnow() -> datetime:
    return datetime.now(UTC)


def utcnow_iso() -> str:
    return utcnow().isoformat(timespec="seconds")


_WS = re.compile(r"\s+")


def content_hash(title: str, text: str) -> str:
    """Hash of the normalised content: NFKC, whitespace removed, so reformatting is not a new post."""
    norm = _WS.sub("", unicodedata.normalize("NFKC", f"{title or ''}\n{text or ''}"))
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def post_id_for(canonical_url: str | None, chash: str) -> str:
    """Stable id: from the canonical URL when there is one, else from the content hash."""
    key = f"url:{canonical_url}" if canonical_url else f"text:{chash}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


@dataclass
class PostRecord:
    """A stored post: the RawPost fields, the analysis fields and the store's own bookkeeping."""

    id: str
    text: str
    title: str = ""
    url: str = ""
    canonical_url: str = ""
    source: str = ""
    source_family: str = ""
    author: str = ""
    published_at: str = ""
    fetched_at: str = ""
    site_id: str = ""
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    user_followers: int = 0
    user_verified: bool = False
    content_hash: str = ""
    # near-duplicates: 64-bit SimHash (16 hex digits) and the id of the first post of its group
    # ("" when this post is the first, or unique); reposts and copied articles share a group
    simhash: str = ""
    dup_of: str = ""
    # event: posts about one event share an id (coarser than dup_of: different wording, same story);
    # set at ingest by nlp.events, "" for posts about nobody we watch
    event_id: str = ""
    # analysis
    sentiment: dict[str, Any] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    negative_targets: list[str] = field(default_factory=list)
    falsity: dict[str, Any] = field(default_factory=dict)
    topic: str = ""
    level: str | None = None
    flagged: bool = False
    reasons: list[str] = field(default_factory=list)
    # bookkeeping
    drill: bool = False
    first_seen_at: str = ""
    updated_at: str = ""

    @property
    def sentiment_label(self) -> str:
        return str(self.sentiment.get("label", "")) if self.sentiment else ""

    @property
    def falsity_label(self) -> str:
        return str(self.falsity.get("label", "none")) if self.falsity else "none"

    @property
    def display_time(self) -> str:
        return self.published_at or self.first_seen_at

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_post(cls, post: dict[str, Any], *, drill: bool = False) -> PostRecord:
        """Build a record from a RawPost dict merged with its analysis; computes hash and id."""
        text = str(post.get("text") or "")
        title = str(post.get("title") or "")
        chash = content_hash(title, text)
        canonical = str(post.get("canonical_url") or post.get("url") or "")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in post.items() if k in known}
        values.update(
            id=post_id_for(canonical or None, chash),
            text=text,
            title=title,
            canonical_url=canonical,
            content_hash=chash,
            drill=bool(post.get("drill", drill)),
        )
        for name in ("reposts", "comments", "likes", "user_followers"):
            values[name] = _as_int(values.get(name))
        values["user_verified"] = bool(values.get("user_verified"))
        return cls(**values)


def _as_int(v: Any) -> int:
    try:
        return max(0, int(v or 0))
    except (TypeError, ValueError):
        return 0


def dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- records (SQLAlchemy)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Alert(Base):
    """One flagged post awaiting a person. Re-ingesting the post updates its alert."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[str] = mapped_column(String(40), unique=True, index=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    snippet: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str] = mapped_column(String(40), default="其他")
    level: Mapped[str | None] = mapped_column(String(4), nullable=True)
    level_rank: Mapped[int] = mapped_column(Integer, default=9, index=True)
    falsity_label: Mapped[str] = mapped_column(String(10), default="none")
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    playbook_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    drill: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    escalations: Mapped[list[Escalation]] = relationship(back_populates="alert", order_by="Escalation.id")


class Escalation(Base):
    """The escalation record a person opens from an alert; its state changes are audited."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="new", index=True)
    level: Mapped[str | None] = mapped_column(String(4), nullable=True)
    playbook_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    owner: Mapped[str] = mapped_column(String(80), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    alert: Mapped[Alert] = relationship(back_populates="escalations")

    __mapper_args__ = {"version_id_col": version}
    # at most one open escalation per alert, even when two officers click at the same moment
    __table_args__ = (
        Index(
            "one_open_escalation_per_alert",
            "alert_id",
            unique=True,
            sqlite_where=text("state NOT IN ('closed', 'false_positive')"),
            postgresql_where=text("state NOT IN ('closed', 'false_positive')"),
        ),
    )


class AuditEntry(Base):
    """Append-only: the database refuses UPDATE and DELETE on this table (see records.py)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SourceRun(Base):
    """One source in one crawl run: what it found, what was new, what went wrong (yuqing/health.py)."""

    __tablename__ = "source_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    family: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finish_reason: Mapped[str] = mapped_column(String(40), default="")
    items_found: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    error_kinds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("source_runs_by_source_time", "source", "started_at"),)


class NearDupBand(Base):
    """SimHash bands of stored posts: four 16-bit bands, so any post within 3 bits shares one band."""

    __tablename__ = "near_dup_bands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[str] = mapped_column(String(40), index=True)
    band: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer)
    simhash: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str] = mapped_column(String(40))
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("post_id", "band", name="near_dup_band_per_post"),
        Index("near_dup_lookup", "band", "value"),
    )


class RumorEntry(Base):
    """One known rumor in the firm's register (辟谣登记): the claim, the firm's clarification and its link.

    Kept on the desk (desk/views/rumors.py); the analyzer matches new posts against the active entries
    (nlp.rumor.RumorRegister), so a repeat of a refuted claim is flagged 不实 with the clarification.
    """

    __tablename__ = "rumor_register"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim: Mapped[str] = mapped_column(Text)
    clarification: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[str] = mapped_column(String(10), default="")  # YYYY-MM-DD of the clarification
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_by: Mapped[str] = mapped_column(String(80), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
