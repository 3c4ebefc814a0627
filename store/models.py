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
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.times import UTCDateTime

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


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # built once, not per call


def dumps(v: Any) -> str:
    """``json.dumps(v, ensure_ascii=False, separators=(",", ":"))``."""
    return _ENCODE(v)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # triage (0004): the post's event (posts of one event are grouped in the queue), who has it,
    # who acknowledged it, and — for a false positive — why (kept, exportable as training data)
    event_id: Mapped[str] = mapped_column(String(40), default="", server_default="", index=True)
    assignee: Mapped[str] = mapped_column(String(80), default="", server_default="")
    acknowledged_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    false_positive_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    false_positive_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    false_positive_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # (0006) every change a person makes is compare-and-set on this: UPDATE … WHERE version = <read>
    # (playbooks/triage.py); ingest's own updates (level, topic) do not move it
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

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
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    # clocks (0004): when the record first reached these states; how far up the escalation chain
    # it has been passed (0 = the owner; 1 = the next person in the chain …)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    chain_tier: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

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
    """Append-only and chained: the database refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) on this
    table, and every row carries the hash of the row before it (``prev_hash``) and its own (``row_hash``,
    over ``prev_hash`` and its canonical content). Rows are written only by ``store.records.audit`` at
    commit, one writer at a time; ``store.records.verify_audit`` finds the first row that breaks the chain.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # (0006) the chain: sha256 hex of the previous row's row_hash (GENESIS for the first) and this row
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditChain(Base):
    """One row (id 1): the chain's head as last written (id and hash of the last audit row).

    Appending updates this row first, so two writers never chain to the same predecessor (a row lock on
    PostgreSQL, the write lock on SQLite); ``verify_audit`` compares the log's last row with it, so rows
    cut off the end are found too.
    """

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    head_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SourceRun(Base):
    """One source in one crawl run: what it found, what was new, what went wrong (store/health.py)."""

    __tablename__ = "source_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    family: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
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
    """SimHash keys of stored posts (store/neardup.py): the fingerprint's two 32-bit halves (``band`` 0 and
    1, ``value`` less 2**31), looked up with every value one bit away, so any post within 3 bits is found.
    Looked up by post through ``near_dup_band_per_post`` (post_id first)."""

    __tablename__ = "near_dup_bands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[str] = mapped_column(String(40))
    band: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer)
    simhash: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str] = mapped_column(String(40))
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("post_id", "band", name="near_dup_band_per_post"),
        # covers the lookup (store/neardup.py): the first row of each fingerprint in a bucket, from the index
        Index("near_dup_lookup", "band", "value", "simhash", "drill", "id"),
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# --------------------------------------------------------------------------- the response desk (0004)

ROLES = ("officer", "manager", "admin")  # 值班员, 负责人, 管理员


class User(Base):
    """A person who signs in to the desk. The password is stored only as a salted slow hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[str] = mapped_column(String(20), default="officer")
    password_hash: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # ids of this person in 企业微信 / 钉钉 / 飞书 (for @-mentions in group bots), by channel name
    contacts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # the last time this person looked at the triage queue: what is newer is marked 新
    last_queue_look_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ApiToken(Base):
    """A token an admin issued to one person for the command line (``yuqing user token``): only its
    SHA-256 is kept; it expires and can be revoked. The CLI acts as that person with it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginAttempt(Base):
    """Every sign-in attempt, good or bad: the failed-login limit counts these."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(40), default="")
    client: Mapped[str] = mapped_column(String(80), default="")


class DeskSession(Base):
    """A signed-in session: only the hash of its token is kept; it expires and can be revoked."""

    __tablename__ = "desk_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EscalationStep(Base):
    """A playbook step marked done on an escalation record (the compliance rate counts these)."""

    __tablename__ = "escalation_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(80))
    done_by: Mapped[str] = mapped_column(String(80))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("escalation_id", "step_id", name="one_done_per_step"),)


class ClockBreach(Base):
    """A clock that ran out on an escalation, and who in the chain was told (once per clock and tier)."""

    __tablename__ = "clock_breaches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    clock: Mapped[str] = mapped_column(String(80))  # a level clock name, or "step:<step id>"
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    tier: Mapped[int] = mapped_column(Integer, default=1)
    notified: Mapped[str] = mapped_column(String(200), default="")
    drill: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("escalation_id", "clock", "tier", name="one_breach_per_clock_tier"),)


class StatementDraft(Base):
    """A holding statement drafted from a playbook template; usable only once compliance signs it off."""

    __tablename__ = "statement_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(80), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | approved | rejected
    drafted_by: Mapped[str] = mapped_column(String(80), default="")
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by: Mapped[str] = mapped_column(String(80), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    review_note: Mapped[str] = mapped_column(Text, default="")
    # (0006) compare-and-set: each change is UPDATE … WHERE version = <read> (playbooks/statements.py)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Notification(Base):
    """The outbox: one message to one channel. Sent with retries; a drill's messages never leave."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the same event told twice to the same channel is one row (e.g. "breach:12:acknowledge_within:1:wecom")
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)  # wecom | dingtalk | feishu | email
    target: Mapped[str] = mapped_column(String(200), default="")  # a channel name or an address
    kind: Mapped[str] = mapped_column(String(40), default="")
    escalation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    level: Mapped[str | None] = mapped_column(String(4), nullable=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(Text, default="")
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(
        String(20), default="pending", index=True
    )  # pending|sent|failed|suppressed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Report(Base):
    """A generated report (报告证监局 draft, daily brief, holiday summary) and its manager sign-off."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # regulator | daily | holiday | drill
    ref: Mapped[str] = mapped_column(String(80), default="")  # escalation id, date or holiday name
    title: Mapped[str] = mapped_column(Text, default="")
    content_md: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signed_by: Mapped[str] = mapped_column(String(80), default="")
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --------------------------------------------------------------------------- holiday readiness (0005)

DUTIES = ("primary", "backup", "manager")  # 主班值班员, 备班值班员, 带班负责人


class RosterEntry(Base):
    """One person on duty for one shift of one day (值班表); the escalation chain follows it."""

    __tablename__ = "duty_roster"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # YYYY-MM-DD, Beijing time
    shift_start: Mapped[str] = mapped_column(String(5), default="00:00")  # HH:MM, Beijing time
    shift_end: Mapped[str] = mapped_column(String(5), default="24:00")
    duty: Mapped[str] = mapped_column(String(20), default="primary")  # one of DUTIES
    username: Mapped[str] = mapped_column(String(40), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")  # reachable on this shift, if not the usual
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("day", "shift_start", "duty", "username", name="one_roster_slot_per_person"),
    )


class DrillRun(Base):
    """One rehearsal of a drill scenario on the live path: its posts are marked drill; its score is kept."""

    __tablename__ = "drill_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(80), index=True)
    scenario_name: Mapped[str] = mapped_column(Text, default="")
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | finished | aborted
    run_by: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    score: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report_md: Mapped[str] = mapped_column(Text, default="")


class DrillInjection(Base):
    """One post a drill injected, what it expected (should it be flagged?) and when it was flagged."""

    __tablename__ = "drill_injections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_run_id: Mapped[int] = mapped_column(ForeignKey("drill_runs.id"), index=True)
    step_no: Mapped[int] = mapped_column(Integer, default=0)
    post_id: Mapped[str] = mapped_column(String(40), index=True)
    should_flag: Mapped[bool] = mapped_column(Boolean, default=True)
    injected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    level: Mapped[str | None] = mapped_column(String(4), nullable=True)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --------------------------------------------------------------------------- learning from the desk (0006)


class FeedbackLayerVersion(Base):
    """One version of the firm's layer fit on its officers' verdicts (``yuqing learn``; nlp/feedback.py).

    Every version is kept. At most one is active: the analysis applies it. ``previous_id`` is the version
    that was active when this one was switched on (None: the analysis alone), so a rollback restores it.
    ``state``: active | retired (another version was switched on after it) | rolled_back.
    """

    __tablename__ = "feedback_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the version number
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    previous_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signature: Mapped[str] = mapped_column(String(40), default="")  # the analysis it was fit on
    verdicts: Mapped[int] = mapped_column(Integer, default=0)
    false_positives: Mapped[int] = mapped_column(Integer, default=0)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # before / after, cross-validated
    layer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # nlp.feedback.FeedbackLayer.to_dict()
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # at most one active version, even when two people run `yuqing learn` at the same moment
    __table_args__ = (
        Index(
            "one_active_feedback_layer",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )


# --------------------------------------------------------------------------- the desk at night (0008)


class HolidayEntry(Base):
    """A holiday of the State Council's notice, entered by an admin on the desk (节前准备) for a year the
    calendar package has not published yet; playbooks.holidays counts it like the package's data."""

    __tablename__ = "holiday_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    start: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    end: Mapped[str] = mapped_column(String(10))
    makeup_workdays: Mapped[list[str]] = mapped_column(JSON, default=list)  # YYYY-MM-DD, weekend days
    note: Mapped[str] = mapped_column(Text, default="")  # the notice it comes from (国办发明电〔…〕…号)
    entered_by: Mapped[str] = mapped_column(String(80), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)


class AckLink(Base):
    """A link in a notification that acknowledges one alert as the person it was sent to: only the hash of
    its token is kept; it expires, works once, and is never made for a drill (playbooks/ack_links.py)."""

    __tablename__ = "ack_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    username: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(
        String(40), default=""
    )  # the notification kind: alert, alert_chase, breach
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_from: Mapped[str] = mapped_column(String(80), default="")


class Evidence(Base):
    """固定证据: what the desk kept of a flagged post at the moment it flagged it (a snapshot of the post as
    received, ``kind`` snapshot), or a file an officer attached to a record (a screenshot, a PDF; ``kind``
    attachment). The bytes are kept with their SHA-256, so a copy handed on can be checked against it."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True, index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), nullable=True, index=True)
    post_id: Mapped[str] = mapped_column(String(40), default="", index=True)
    kind: Mapped[str] = mapped_column(String(20), default="snapshot")  # snapshot | page | attachment
    name: Mapped[str] = mapped_column(String(200), default="")
    mime: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    source_url: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    captured_by: Mapped[str] = mapped_column(String(80), default="")
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)


class Handover(Base):
    """交接班: the note one shift leaves the next — what is open, what waits on whom, what to watch — with
    the situation as it stood when written; the next officer acknowledges it (playbooks/handover.py)."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    written_by: Mapped[str] = mapped_column(String(80))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    to_user: Mapped[str] = mapped_column(String(80), default="")  # "" = whoever takes the next shift
    shift: Mapped[str] = mapped_column(String(80), default="")  # e.g. 12月7日 夜班（20:00–08:00）
    watch: Mapped[str] = mapped_column(Text, default="")  # 下一班须关注
    note: Mapped[str] = mapped_column(Text, default="")  # anything else
    situation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # open alerts, records, waiting
    acknowledged_by: Mapped[str] = mapped_column(String(80), default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
