"""Records through SQLAlchemy: alerts, escalations and the append-only audit trail.

The same code serves the embedded SQLite file and PostgreSQL; only the URL differs. The schema is
Alembic's (store/migrations): every start runs ``upgrade head``, and ``yuqing migrate`` does it on
demand (``--sql`` prints the SQL for a DBA instead).
Service functions are keyword-only and take the session they work in.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from store import auditlog
from store.models import Alert, AuditEntry, Base, Escalation, PostRecord, level_rank, utcnow

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> AlembicConfig:
    """Alembic settings built in code: the URL comes from the caller (config or environment), not a file."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


_SCRIPT_HEADS: tuple[str, ...] | None = None


def script_heads() -> tuple[str, ...]:
    """The head revisions of store/migrations, read once per process: every Records start compares the
    database's with them, and ``alembic upgrade`` loads every migration file again (≈40 ms) even with
    nothing to do."""
    global _SCRIPT_HEADS
    if _SCRIPT_HEADS is None:
        _SCRIPT_HEADS = tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
    return _SCRIPT_HEADS


def upgrade_sql(url: str) -> str:
    """The SQL ``yuqing migrate --sql`` prints: every migration up to head, for a DBA to review and run."""
    buf = io.StringIO()
    cfg = alembic_config(url)
    cfg.output_buffer = buf
    command.upgrade(cfg, "head", sql=True)
    return buf.getvalue()


class RecordsUnavailable(Exception):
    """The records database cannot be reached; the message says which and why."""


class Records:
    """Engine + session factory for one records database."""

    def __init__(self, url: str, *, create: bool = True, echo: bool = False):
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            self.create_all()

    def create_all(self) -> None:
        """Bring the schema to the newest migration (``alembic upgrade head``); safe to run every start."""
        try:
            self.migrate()
        except OperationalError as exc:
            raise RecordsUnavailable(
                f"cannot reach records database ({self.engine.url!r}): {exc.orig}"
            ) from exc

    def migrate(self) -> list[str]:
        """Run pending Alembic migrations; returns the revisions applied (empty when up to date)."""
        for attempt in range(2):
            try:
                return self._migrate_once()
            except (IntegrityError, OperationalError) as exc:
                # another process migrated at the same moment (or SQLite was busy): look again once
                if attempt or isinstance(exc, OperationalError) and not _is_busy(exc):
                    raise
        return []

    def _migrate_once(self) -> list[str]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(7361)"))  # one migrator at a time
            before = MigrationContext.configure(conn).get_current_heads()
            after = before
            if tuple(sorted(before)) != script_heads():  # up to date: nothing to load or run
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                after = MigrationContext.configure(conn).get_current_heads()
            existing = set(inspect(conn).get_table_names())
            unmigrated = [t for t in Base.metadata.sorted_tables if t.name not in existing]
            if unmigrated:
                # a model added without its migration (tests/store/test_migrations.py fails on that):
                # create it so work in progress runs, and say so
                log.warning("tables without a migration, created directly: %s", [t.name for t in unmigrated])
                Base.metadata.create_all(conn, tables=unmigrated)
        return [] if tuple(before) == tuple(after) else list(after)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()


def _is_busy(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower()


# SQLite's page cache per connection, in KiB (its default is 2 MiB): ingest writes the posts index, its
# FTS table and the near-duplicate bands through this connection when they share the file, and with 2 MiB
# every batch re-read the B-tree pages it had just written from the OS (CPU per post grew with the store).
# A ceiling, not an allocation: pages are cached as they are read. Performance only: durability unchanged.
SQLITE_CACHE_KIB = 65_536


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # see SQLITE_CACHE_KIB
    cur.close()


# --------------------------------------------------------------------------- audit


def audit(
    session: Session, *, actor: str, action: str, entity: str, entity_id: Any, **detail: Any
) -> AuditEntry:
    """An audit entry for the change this transaction makes: written, chained, when it commits (and only
    then: a transaction or savepoint that rolls back leaves no entry). ``entry.at`` may be set until
    then (default: the time of writing). See store/auditlog.py."""
    entry = AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(entity_id), detail=detail)
    return auditlog.queue(session, entry)


def audit_trail(session: Session, *, entity: str | None = None, entity_id: Any = None) -> list[AuditEntry]:
    """The written entries (and, after them, this session's entries still waiting for its commit)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == str(entity_id))
    waiting = [
        e
        for e in auditlog.pending(session)
        if (not entity or e.entity == entity) and (entity_id is None or e.entity_id == str(entity_id))
    ]
    return [*session.scalars(stmt), *waiting]


def change_if(session: Session, obj: Any, *conditions: Any, **values: Any) -> bool:
    """Compare-and-set one row: ``UPDATE <obj's table> SET values WHERE id = obj.id AND conditions``.

    True when the row changed (and ``obj`` is refreshed from the database either way). False: the
    conditions no longer held — someone else changed the row since it was read; the caller says so.
    """
    cls = type(obj)
    session.flush()
    result = session.execute(
        update(cls)
        .where(cls.id == obj.id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(obj)
    return bool(result.rowcount)


def serialize(session: Session, key: str) -> None:
    """Hold a lock named ``key`` until this transaction ends: callers with the same key take turns.

    PostgreSQL: a transaction-level advisory lock on the key (other keys run in parallel). SQLite: the
    database's write lock (one writer at a time; a write statement takes it, so a no-op UPDATE does).
    Take it before reading what the change depends on.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 7361))"), {"k": key})
    else:
        session.execute(text("UPDATE audit_chain SET rows = rows WHERE id = -1"))


# --------------------------------------------------------------------------- alerts

SYSTEM_ACTOR = "system"


@dataclass
class AlertChange:
    """What :func:`upsert_alerts` did to one post's alert: 'opened', 'updated' or 'unchanged', and the
    detail of its audit entry (queued by :meth:`audit`, once the alert has its id)."""

    alert: Alert
    what: str
    detail: dict[str, Any]

    def audit(self, session: Session) -> None:
        if self.what in ("opened", "updated"):
            audit(
                session,
                actor=SYSTEM_ACTOR,
                action=f"alert.{self.what}",
                entity="alert",
                entity_id=self.alert.id,
                **self.detail,
            )


def upsert_alert(session: Session, *, post: PostRecord, playbook_id: str | None = None) -> tuple[Alert, str]:
    """Open an alert for a flagged post, or bring its alert up to date.

    Returns the alert and what happened: 'opened', 'updated' or 'unchanged'.
    """
    [change] = upsert_alerts(session, [post], [playbook_id])
    return change.alert, change.what


def upsert_alerts(
    session: Session,
    posts: Sequence[PostRecord],
    playbook_ids: Sequence[str | None],
    *,
    audit_now: bool = True,
) -> list[AlertChange]:
    """:func:`upsert_alert` for a batch, in order, in a few statements: one read of the batch's alerts,
    one flush of the new and changed ones. The audit entries are queued in the posts' order
    (``audit_now=False``: the caller queues each with :meth:`AlertChange.audit`, e.g. between others)."""
    alerts: dict[str, Alert] = {}
    ids = list(dict.fromkeys(p.id for p in posts))
    for i in range(0, len(ids), 500):
        alerts.update(alerts_for_posts(session, post_ids=ids[i : i + 500]))
    changes: list[AlertChange] = []
    for post, playbook_id in zip(posts, playbook_ids, strict=True):
        fields = {
            "source": post.source,
            "title": post.title,
            "snippet": post.text[:280],
            "url": post.url,
            "topic": post.topic or "其他",
            "level": post.level,
            "level_rank": level_rank(post.level),
            "falsity_label": post.falsity_label,
            "reasons": list(post.reasons),
            "drill": post.drill,
            "event_id": post.event_id or "",
        }
        if playbook_id is not None:
            fields["playbook_id"] = playbook_id
        alert = alerts.get(post.id)
        if alert is None:
            alert = alerts[post.id] = Alert(post_id=post.id, status="open", **fields)
            session.add(alert)
            detail = {"level": post.level, "topic": alert.topic, "drill": post.drill}
            changes.append(AlertChange(alert, "opened", detail))
            continue
        before = {k: getattr(alert, k) for k in ("level", "topic", "falsity_label")}
        for k, v in fields.items():
            setattr(alert, k, v)
        after = {k: getattr(alert, k) for k in ("level", "topic", "falsity_label")}
        if before != after:
            changes.append(AlertChange(alert, "updated", {"before": before, "after": after}))
        else:
            changes.append(AlertChange(alert, "unchanged", {}))
    session.flush()  # the new alerts get their ids
    if audit_now:
        for change in changes:
            change.audit(session)
    return changes


def get_alert(session: Session, *, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def get_alert_for_post(session: Session, *, post_id: str) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.post_id == post_id))


def alerts_for_posts(session: Session, *, post_ids: Sequence[str]) -> dict[str, Alert]:
    if not post_ids:
        return {}
    rows = session.scalars(select(Alert).where(Alert.post_id.in_(list(post_ids))))
    return {a.post_id: a for a in rows}


def post_ids_with_alerts(session: Session, *, post_ids: Sequence[str]) -> set[str]:
    """Which of these posts have an alert (the ids only: the alert sweep asks this of every flagged post)."""
    found: set[str] = set()
    ids = list(post_ids)
    for i in range(0, len(ids), 500):
        found.update(session.scalars(select(Alert.post_id).where(Alert.post_id.in_(ids[i : i + 500]))))
    return found


def list_alerts(
    session: Session, *, statuses: Sequence[str] | None = None, drill: bool | None = False, limit: int = 200
) -> list[Alert]:
    stmt = select(Alert).order_by(Alert.level_rank, Alert.created_at.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(Alert.status.in_(list(statuses)))
    if drill is not None:
        stmt = stmt.where(Alert.drill == drill)
    return list(session.scalars(stmt))


# --------------------------------------------------------------------------- escalations (reads)


def get_escalation(session: Session, *, escalation_id: int) -> Escalation | None:
    return session.get(Escalation, escalation_id)


def list_escalations(
    session: Session,
    *,
    states: Sequence[str] | None = None,
    drill: bool | None = False,
    find: str = "",
    limit: int = 200,
) -> list[Escalation]:
    """Records newest first, at most ``limit``. ``find``: ``#12`` (the record numbered 12), or a number or
    words matched against record numbers and its alert's title or text, searched over every record
    however old (wildcards in it are literal)."""
    stmt = select(Escalation).order_by(Escalation.opened_at.desc()).limit(limit)
    find = " ".join(str(find or "").split())[:100]
    by_number = find.startswith("#")  # #12: the record numbered 12, nothing else
    find = find.lstrip("#").strip()
    if by_number and not find.isdigit():
        return []
    if find:
        like = "%" + find.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        hit = or_(Alert.title.ilike(like, escape="\\"), Alert.snippet.ilike(like, escape="\\"))
        if find.isdigit() and len(find) < 10:
            hit = Escalation.id == int(find) if by_number else or_(Escalation.id == int(find), hit)
        stmt = stmt.join(Alert, Alert.id == Escalation.alert_id).where(hit)
    if states:
        stmt = stmt.where(Escalation.state.in_(list(states)))
    if drill is not None:
        stmt = stmt.where(Escalation.drill == drill)
    return list(session.scalars(stmt))


__all__ = [
    "Records",
    "change_if",
    "serialize",
    "RecordsUnavailable",
    "alerts_for_posts",
    "audit",
    "audit_trail",
    "get_alert",
    "get_alert_for_post",
    "get_escalation",
    "list_alerts",
    "list_escalations",
    "post_ids_with_alerts",
    "upsert_alert",
    "utcnow",
]
