"""One call for a batch: analyse → store → open or update alerts.

Crawled posts, vendor feeds (`yuqing ingest`) and drills all enter here, so every path is the same.
:func:`ingest` runs the steps in order on the parts the Context built once:

1. check each post against the one incoming schema (``store.incoming.check_post``): a post that fails is
   rejected with its reason and never stops the others; fields the desk derives (``drill``,
   ``first_seen_at``, the analysis) are never taken from the post: ``drill`` is this call's argument, which
   only the drill runner sets;
2. hand the analyzer the rumor register as the desk has it now (:func:`refresh_rumor_register`);
3. analyse the batch (``nlp.analyzer``);
4. event ids and bursts (:func:`seeded_events`: the event state, seeded from the store on first use);
5. store (:func:`store_batch`): batches spooled while the store was down first, then near-duplicate groups
   (:func:`assign_near_dups`), the posts index, and the alerts of flagged posts, each with the playbook
   that fits (``playbooks.matcher.match_post``); serious new alerts are announced to the duty channels.

Every flagged post has its alert, whatever dies when. When the posts index and the records are the same
SQLite file (the embedded default) a batch's posts, near-duplicate groups, alerts and announcements are one
transaction (:func:`one_transaction`): all of it is stored or none. Otherwise (Elasticsearch, PostgreSQL,
or two SQLite files) the posts commit first and the alerts after; a crash in between is repaired by
ingesting the same posts again (a stored flagged post without its alert gets it), by the spool's replay,
and by :func:`sweep_alerts` (``yuqing sweep``; ``yuqing schedule`` runs it periodically).

What the store cannot take now (an outage: the whole store, or single Elasticsearch items answered 5xx)
is spooled and replayed in order; what it refuses for what it holds (a 4xx item, a value SQLite cannot
bind) is set aside with its reason in the spool's ``rejected/`` (``yuqing spool status|replay``), and the
rest of the batch, alerts included, goes on. A bad value is never taken for an outage (``store.outage``).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nlp.simhash import MAX_DISTANCE, simhash
from playbooks.alerting import announce_alerts
from playbooks.evidence import audit_snapshot, snapshot_posts
from playbooks.matcher import match_post
from playbooks.notify.outbox import Recipient
from playbooks.roster import roster_on_duty
from playbooks.schema import PlaybookError
from store import neardup
from store.incoming import check_post
from store.models import Alert, PostRecord, utcnow, utcnow_iso
from store.outage import is_outage
from store.posts_sqlite import PostsRejected, UpsertResult
from store.records import post_ids_with_alerts
from store.records import upsert_alerts as upsert_alert_rows
from store.spool import SUFFIX, SpoolCorrupt, SpooledBatch
from yuqing.learn import refresh_feedback_layer

if TYPE_CHECKING:
    from nlp.events import EventTracker
    from yuqing.context import Context

log = logging.getLogger(__name__)

RUMOR_REGISTER_TTL_S = 30.0  # entries added on the desk reach the analyzer within this many seconds
EVENT_SEED_LIMIT = 2000  # stored posts of the last event window the event state starts from
SWEEP_PAGE = 500  # flagged post ids checked against the alerts per query


@dataclass
class IngestReport:
    received: int = 0
    stored_new: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: int = 0
    alerts_opened: int = 0
    alerts_updated: int = 0
    alerts_announced: int = 0  # serious new alerts put in the outbox for the duty channels
    alerts_repaired: int = 0  # of alerts_opened: stored flagged posts that had lost their alert
    rejected: list[str] = field(default_factory=list)
    set_aside: int = 0  # posts the store refused, kept in the spool's rejected/ with their reasons
    notes: list[str] = field(default_factory=list)  # values brought into range, text cleaned (kept)
    spooled: int = 0  # posts kept on disk because the store was down; written when it is back
    alerts_spooled: int = 0  # stored posts whose alerts wait on disk for the records database
    replayed: int = 0  # spooled posts written to the store during this call
    replay_error: str = ""

    def merge(self, other: IngestReport) -> None:
        for name in (
            "received",
            "stored_new",
            "updated",
            "unchanged",
            "flagged",
            "alerts_opened",
            "alerts_updated",
            "alerts_announced",
            "alerts_repaired",
            "set_aside",
            "spooled",
            "alerts_spooled",
            "replayed",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.extend(other.rejected)
        self.notes.extend(other.notes)
        self.replay_error = other.replay_error or self.replay_error

    def summary(self) -> str:
        return (
            f"收到 {self.received} 条，新增 {self.stored_new}，更新 {self.updated}，未变 {self.unchanged}，"
            f"预警 {self.flagged} 条（新开 {self.alerts_opened}，更新 {self.alerts_updated}），"
            f"拒收 {len(self.rejected)} 条"
            + (f"；{self.alerts_announced} 条严重预警已通知值班群" if self.alerts_announced else "")
            + (f"；补开此前缺失的预警 {self.alerts_repaired} 条" if self.alerts_repaired else "")
            + (f"；补写此前暂存 {self.replayed} 条" if self.replayed else "")
            + (f"；存储不可用，已暂存 {self.spooled} 条，恢复后自动补写" if self.spooled else "")
            + (f"；预警库不可用，{self.alerts_spooled} 条预警已暂存" if self.alerts_spooled else "")
            + (
                f"；{self.set_aside} 条被存储拒收，已另存待人工处理（yuqing spool status）"
                if self.set_aside
                else ""
            )
        )


def _label(post: Any, position: int | str) -> str:
    where = f"第 {position} 条" if isinstance(position, int) else str(position)
    if isinstance(post, dict):
        ident = post.get("id") or post.get("url")
        if ident and isinstance(ident, str | int) and not isinstance(ident, bool):
            return f"{where}（{str(ident)[:80]}）"
    return where


def ingest(
    posts: Sequence[Any],
    *,
    ctx: Context,
    drill: bool = False,
    checked: bool = False,
    arrived_at: str | None = None,
) -> IngestReport:
    """Analyse, store and alert one batch (one transaction where the engine allows: :func:`store_batch`).

    Invalid posts are reported, not stored, and never stop the batch. ``drill`` marks the whole batch as a
    drill (the drill runner's door, ``Context.drill_path``); a post cannot mark itself. ``checked``: the
    posts already passed ``store.incoming.check_post`` (`yuqing ingest` checks each line for its number).
    ``arrived_at``: when the batch arrived (ISO UTC), for a caller that rebuilds a history (the stress
    benchmark); by default the store stamps ``first_seen_at`` when it first stores a post.
    """
    report = IngestReport(received=len(posts))
    valid: list[dict[str, Any]] = []
    for i, post in enumerate(posts, start=1):
        if checked:
            valid.append(post)
            continue
        result = check_post(post)
        if result.post is None:
            report.rejected.append(f"{_label(post, i)}：{result.reason}")
            continue
        report.notes.extend(f"{_label(post, i)}：{n}" for n in result.notes)
        valid.append(result.post)
    if report.notes:
        log.info("%d values brought into range: %s", len(report.notes), "; ".join(report.notes[:5]))
    if not valid:
        return report

    refresh_rumor_register(ctx)  # entries added on the desk count within seconds
    refresh_feedback_layer(ctx)  # a layer switched on or rolled back (yuqing learn) counts within seconds
    analyses = ctx.analyzer.analyze(valid)
    records = []
    for post, analysis in zip(valid, analyses, strict=True):
        merged = {**post, **analysis, "drill": drill}  # drill: this call's, never the post's
        merged.pop("first_seen_at", None)
        if arrived_at:
            merged["first_seen_at"] = arrived_at
        records.append(PostRecord.from_post(merged, drill=drill))
    # event_id; a burst raises the level (reasons say so)
    seeded_events(ctx).apply(records, volume=partial(firm_volume, ctx))
    # then store: near-duplicate groups, the posts index, alerts with their playbook (store_batch)

    report.flagged = sum(1 for r in records if r.flagged)
    replay_spool(ctx, report)  # batches kept while the store was down go first, in the order they came
    if ctx.spool.pending():  # still down: queue behind them so the order is kept
        _spool(ctx, records, stage="posts", drill=drill, reason="前面暂存的批次尚未补写", report=report)
        return report
    outcome = store_batch(records, ctx=ctx, report=report)
    _keep(ctx, outcome, drill=drill, report=report)
    return report


# --------------------------------------------------------------------------- detection state


def refresh_rumor_register(ctx: Context, *, force: bool = False) -> None:
    """Hand the analyzer the register as it is now (entries added on the desk count within seconds).

    At most once per RUMOR_REGISTER_TTL_S (``force``: now). A records database that cannot be read keeps
    the analyzer matching against the entries read last time.
    """
    from nlp.rumor import RumorRegister

    analyzer = ctx.analyzer  # built on first use, with the register as it is then
    if not force and time.monotonic() - ctx.rumor_register_read_at < RUMOR_REGISTER_TTL_S:
        return
    entries = ctx.read_rumor_register()
    if entries is not None:
        analyzer.register = RumorRegister(entries)


def seeded_events(ctx: Context) -> EventTracker:
    """The event state, seeded once per process with the stored posts of the last event window, so events
    continue across restarts; a store that cannot be read leaves it empty rather than stopping ingest."""
    tracker = ctx.events
    if ctx.events_seeded:
        return tracker
    ctx.events_seeded = True
    since = (datetime.now(UTC) - tracker.window).replace(tzinfo=None).isoformat(timespec="seconds")
    try:
        page = ctx.index.search(since=since, order="newest", limit=EVENT_SEED_LIMIT, drill=None)
        tracker.seed(reversed(page.items))
    except Exception as exc:  # start empty rather than not at all
        log.warning("events not seeded from the store: %s", exc)
    return tracker


def firm_volume(ctx: Context, since: datetime, until: datetime) -> int:
    """Stored posts that name the firm between two instants (the burst baseline's counts)."""

    def naive(t: datetime) -> str:  # the index compares naive UTC timestamps
        return t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")

    f = ctx.settings.firm
    name = (f.short_names[0] if f.short_names else "") or f.name
    page = ctx.index.search(name, since=naive(since), until=naive(until), limit=0, drill=None)
    return int(page.total)


# --------------------------------------------------------------------------- storing


def assign_near_dups(session: Session, records: Sequence[PostRecord]) -> int:
    """Reposts and copied articles join their near-duplicate group (``simhash``, ``dup_of``): nlp's
    fingerprint, grouped in the records database (store/neardup.py). Returns how many joined a group."""
    return neardup.assign_near_dups(session, records, fingerprint=simhash, max_distance=MAX_DISTANCE)


def one_transaction(ctx: Context) -> bool:
    """Whether posts and records are one SQLite file, so a batch's posts and alerts commit together.

    True for the embedded default (``[store] path`` with ``records_url`` empty, or a ``sqlite:///`` URL
    naming the same file). Elasticsearch, PostgreSQL or a second SQLite file: two commits, repaired by
    re-ingest, replay and the sweep.
    """
    store = ctx.settings.store
    if store.posts_engine != "sqlite":
        return False
    url = ctx.records.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    index_path = getattr(ctx.index, "path", None)
    return index_path is not None and Path(url.database).resolve() == Path(index_path).resolve()


class PartlyStored(Exception):
    """The posts are in the index but their alerts could not be written; ``flagged`` still need them."""

    def __init__(self, flagged: list[PostRecord]):
        super().__init__("alerts not written")
        self.flagged = flagged


@dataclass
class Stored:
    """What :func:`store_batch` could not finish: for the spool, or set aside for a person."""

    waiting: list[PostRecord] = field(default_factory=list)  # the store could not take them now
    alerts_waiting: list[PostRecord] = field(
        default_factory=list
    )  # stored; their alerts could not be written
    refused: dict[str, str] = field(default_factory=dict)  # post id → why the store refuses it
    refused_posts: list[PostRecord] = field(default_factory=list)
    outage: str = ""  # why the store could not be used, when it could not

    def add(self, other: Stored) -> None:
        self.waiting += other.waiting
        self.alerts_waiting += other.alerts_waiting
        self.refused.update(other.refused)
        self.refused_posts += other.refused_posts
        self.outage = self.outage or other.outage


def store_batch(
    records: list[PostRecord], *, ctx: Context, report: IngestReport, replay: bool = False
) -> Stored:
    """Near-duplicate groups, the posts index, then alerts; never raises for a bad post or an outage.

    One transaction when :func:`one_transaction`; otherwise posts first, then alerts. A flagged post
    gets its alert when it is new or changed, on replay (idempotent upserts: a first attempt may have
    stored the post and died before its alert), and when it is unchanged but has no alert (a crash
    between the two commits). A batch the store refuses for something other than an outage is tried
    post by post, so one poisoned post is set aside with its reason and the others are stored.
    """
    part = IngestReport()
    try:
        outcome = _write_batch(records, ctx=ctx, report=part, replay=replay)
    except PartlyStored as exc:
        report.merge(part)
        return Stored(alerts_waiting=exc.flagged, outage=_why(exc.__cause__))
    except Exception as exc:
        if is_outage(exc):
            return Stored(waiting=list(records), outage=_why(exc))
        if len(records) == 1:
            if not isinstance(exc, PostsRejected):
                log.exception("post %s could not be stored", records[0].id)
            return Stored(refused={records[0].id: _why(exc)}, refused_posts=list(records))
        log.warning("batch of %d refused (%s); storing it post by post", len(records), _why(exc))
        outcome = Stored()
        for i, rec in enumerate(records):
            one = store_batch([rec], ctx=ctx, report=report, replay=replay)
            outcome.add(one)
            if one.outage:  # down now: the rest waits too, in order
                outcome.waiting += records[i + 1 :]
                break
        return outcome
    report.merge(part)
    return outcome


def _why(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"[:500] if exc is not None else ""


def _write_batch(records: list[PostRecord], *, ctx: Context, report: IngestReport, replay: bool) -> Stored:
    if one_transaction(ctx):
        with ctx.records.session() as session:
            raw = _begin_immediate(session)  # one writer: the posts' change_seq and the alerts together
            assign_near_dups(session, records)
            results = ctx.index.write_many(records, connection=raw)
            _alert_written(session, records, results, ctx=ctx, report=report, replay=replay)
        return _count(records, results, report)
    with ctx.records.session() as session:  # reposts and copied articles join their group (dup_of)
        assign_near_dups(session, records)
    results = ctx.index.write_many(records)
    outcome = _count(records, results, report)
    try:
        with ctx.records.session() as session:
            _alert_written(session, records, results, ctx=ctx, report=report, replay=replay)
    except Exception as exc:
        if not is_outage(exc):
            raise
        written = [r for r, res in zip(records, results, strict=True) if r.flagged and res.written]
        raise PartlyStored(written) from exc
    return outcome


def _begin_immediate(session: Session) -> Any:
    """The session's SQLite connection, in a write transaction taken now (BEGIN IMMEDIATE), so the posts
    written through it and the session's own writes commit or roll back together."""
    raw = session.connection().connection.dbapi_connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")
    return raw


def _count(records: list[PostRecord], results: list[UpsertResult], report: IngestReport) -> Stored:
    outcome = Stored()
    for rec, res in zip(records, results, strict=True):
        if res.retry:
            outcome.waiting.append(rec)
            outcome.outage = outcome.outage or res.error
        elif res.error:
            outcome.refused[rec.id] = res.error
            outcome.refused_posts.append(rec)
        elif res.created:
            report.stored_new += 1
        elif res.changed:
            report.updated += 1
        else:
            report.unchanged += 1
    return outcome


def _alert_written(
    session: Session,
    records: Sequence[PostRecord],
    results: Sequence[UpsertResult],
    *,
    ctx: Context,
    report: IngestReport,
    replay: bool,
) -> None:
    """Alerts for the flagged posts just written: new or changed ones, and unchanged ones without one."""
    unchanged = [
        r.id
        for r, res in zip(records, results, strict=True)
        if r.flagged and res.written and not (replay or res.created or res.changed)
    ]
    have = post_ids_with_alerts(session, post_ids=unchanged) if unchanged else set()
    due = []
    for rec, res in zip(records, results, strict=True):
        if not rec.flagged or not res.written:
            continue
        if replay or res.created or res.changed:
            due.append(rec)
        elif rec.id not in have:
            due.append(rec)
            report.alerts_repaired += 1
    upsert_alerts(session, due, ctx=ctx, report=report)


def upsert_alerts(
    session: Session, flagged: Sequence[PostRecord], *, ctx: Context, report: IngestReport
) -> None:
    """Open or update the alert of each flagged post, with the playbook that fits; announce serious new ones.

    A batch in a few statements (``store.records.upsert_alerts``, ``playbooks.evidence.snapshot_posts``);
    the audit entries are queued in the posts' order, each new alert's snapshot right after it."""
    if not flagged:
        return
    library = ctx.playbooks
    matches = [match_post(rec, library) for rec in flagged]
    changes = upsert_alert_rows(
        session, flagged, [m.playbook.id if m else None for m in matches], audit_now=False
    )
    # 固定证据: the post as flagged, with its SHA-256 (playbooks/evidence.py)
    opened = [(c.alert, rec) for c, rec in zip(changes, flagged, strict=True) if c.what == "opened"]
    snapshots = iter(snapshot_posts(session, opened, audit_now=False))
    touched = []
    for change in changes:
        change.audit(session)
        if change.what == "opened":
            report.alerts_opened += 1
            row, new = next(snapshots)
            if new:
                audit_snapshot(session, change.alert, row)
        elif change.what == "updated":
            report.alerts_updated += 1
        if change.what != "unchanged":
            touched.append(change.alert)
    _announce(session, touched, ctx=ctx, report=report)


def _announce(session: Session, alerts: list[Alert], *, ctx: Context, report: IngestReport) -> None:
    """Serious new alerts go to the duty channels at once, in the same transaction (playbooks/alerting.py)."""
    notify = ctx.settings.notify
    targets = notify.announce_targets()
    if not alerts or not targets:
        return
    try:
        playbooks = ctx.playbooks
    except PlaybookError:  # a broken library must not stop alerts being stored; the message names no playbook
        playbooks = []
    report.alerts_announced += announce_alerts(
        session,
        alerts,
        recipients=[Recipient(kind, name) for kind, name in targets],
        desk_base_url=ctx.settings.desk.base_url,
        levels=notify.announce_levels,
        playbooks=playbooks,
        on_duty=roster_on_duty(utcnow()),  # each of them gets an acknowledge link of their own
        ack_hours=notify.ack_link_hours,
    )


# --------------------------------------------------------------------------- spooling, setting aside, replay


def _keep(ctx: Context, outcome: Stored, *, drill: bool, report: IngestReport) -> None:
    """Spool what waits for the store; set aside what it refused (``rejected/``), each with its reason."""
    if outcome.waiting:
        _spool(ctx, outcome.waiting, stage="posts", drill=drill, reason=outcome.outage, report=report)
    if outcome.alerts_waiting:
        _spool(ctx, outcome.alerts_waiting, stage="alerts", drill=drill, reason=outcome.outage, report=report)
    if outcome.refused_posts:
        _set_aside(ctx, outcome.refused_posts, outcome.refused, drill=drill, report=report)


def _set_aside(
    ctx: Context, posts: list[PostRecord], reasons: dict[str, str], *, drill: bool, report: IngestReport
) -> Path:
    first = next(iter(reasons.values()), "")
    kept = ctx.spool.set_aside(
        posts, reason=f"存储拒收 {len(posts)} 条：{first}", reasons=reasons, drill=drill
    )
    for rec in posts:
        report.rejected.append(f"{rec.url or rec.id}：存储拒收（{reasons.get(rec.id, '')}），已另存到 {kept}")
    report.set_aside += len(posts)
    log.error("%d posts refused by the store, set aside in %s: %s", len(posts), kept, first)
    return kept


def _spool(
    ctx: Context, records: list[PostRecord], *, stage: str, drill: bool, reason: str, report: IngestReport
) -> None:
    now = utcnow_iso()
    for rec in records:  # the desk shows when a post arrived, not when the store came back
        rec.first_seen_at = rec.first_seen_at or now
    path = ctx.spool.put(records, stage=stage, drill=drill, reason=reason)
    report.spooled += len(records) if stage == "posts" else 0
    report.alerts_spooled += len(records) if stage == "alerts" else 0
    log.warning("store unavailable, %d posts kept in %s: %s", len(records), path, reason)


def replay_spool(ctx: Context, report: IngestReport | None = None) -> IngestReport:
    """Write spooled batches to the store, oldest first; stop at the first the store still cannot take.

    A batch file is removed only once the store has taken all of it; what is left of a batch the store
    took part of stays in its place in the queue. A batch the store refuses, or a file that cannot be
    read, is set aside in ``rejected/`` with the reason and the batches behind it go on. Running this
    twice (or two processes at once: a lock lets one replay) stores everything once.
    """
    report = report if report is not None else IngestReport()
    spool = ctx.spool
    if not spool.pending():
        return report
    with spool.replay_lock() as mine:
        if not mine:
            return report
        for path in spool.pending():
            try:
                batch = spool.read(path)
            except SpoolCorrupt as exc:
                where = spool.reject(path, str(exc))
                report.rejected.append(f"暂存批次无法读取，已移到 {where}：{exc}")
                log.error("spooled batch %s cannot be read, set aside: %s", path.name, exc)
                continue
            if not _replay_one(ctx, batch, report):
                break
    return report


def _replay_one(ctx: Context, batch: SpooledBatch, report: IngestReport) -> bool:
    """Replay one batch; False when the store is still down (the rest of the queue waits)."""
    spool = ctx.spool
    if batch.stage == "alerts":
        outcome = _replay_alerts(ctx, batch.posts, report)
    else:
        outcome = store_batch(batch.posts, ctx=ctx, report=report, replay=True)
    if outcome.refused_posts:
        where = _set_aside(ctx, outcome.refused_posts, outcome.refused, drill=batch.drill, report=report)
        log.error(
            "spooled batch %s: %d posts refused, set aside in %s",
            batch.path.name,
            len(outcome.refused),
            where,
        )
    left = [("posts", outcome.waiting), ("alerts", outcome.alerts_waiting)]
    done = len(batch.posts) - len(outcome.waiting) - len(outcome.alerts_waiting) - len(outcome.refused_posts)
    report.replayed += max(0, done) + (len(outcome.alerts_waiting) if batch.stage == "posts" else 0)
    if not outcome.waiting and not outcome.alerts_waiting:
        spool.done(batch)
        return True
    report.replay_error = outcome.outage or "store unavailable"
    log.warning("spool replay stopped at %s: %s", batch.path.name, report.replay_error)
    if outcome.waiting and len(outcome.waiting) == len(batch.posts) and batch.stage == "posts":
        return False  # nothing of it was taken: the file stays as it is
    stem = batch.path.name[: -len(SUFFIX)]
    for k, (stage, posts) in enumerate(left):  # what is left, in the batch's place in the queue
        if posts:
            spool.put(
                posts, stage=stage, drill=batch.drill, reason=report.replay_error, name=f"{stem}-{k}{SUFFIX}"
            )
    spool.done(batch)
    return False


def _replay_alerts(ctx: Context, posts: list[PostRecord], report: IngestReport) -> Stored:
    """The alerts of posts already stored (an ``alerts`` batch); one by one when the batch is refused."""
    part = IngestReport()
    try:
        with ctx.records.session() as session:
            upsert_alerts(session, posts, ctx=ctx, report=part)
    except Exception as exc:
        if is_outage(exc):
            return Stored(alerts_waiting=list(posts), outage=_why(exc))
        if len(posts) == 1:
            log.exception("alert of post %s could not be written", posts[0].id)
            return Stored(refused={posts[0].id: _why(exc)}, refused_posts=list(posts))
        outcome = Stored()
        for i, rec in enumerate(posts):
            one = _replay_alerts(ctx, [rec], report)
            outcome.add(one)
            if one.outage:
                outcome.alerts_waiting += posts[i + 1 :]
                break
        return outcome
    report.merge(part)
    return Stored()


@contextmanager
def settled_start_up(ctx: Context) -> Iterator[None]:
    """For a process about to ingest many batches (`yuqing ingest`): build the analyzer (its model and
    dictionaries) and the segmenter's dictionary now, then move everything alive out of the cyclic garbage
    collector's way (``gc.freeze``) until the block ends, so its full collections walk what ingest
    allocates, not the hundreds of thousands of objects of start-up (≈6 % of ingest's CPU before).
    Process-wide, so the command uses it, not :func:`ingest`; on the way out everything frozen is handed
    back to the collector (``gc.unfreeze``), so a caller in a longer-lived process (a test) leaks nothing.
    A part that cannot be built is left for ingest to report as it would have."""
    try:
        _ = ctx.analyzer
        _ = ctx.segmenter.tokenizer
    except Exception:  # ingest meets the same error and reports it
        log.debug("start-up not settled", exc_info=True)
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def ingest_in_batches(
    posts: Sequence[Any], *, ctx: Context, batch_size: int = 500, drill: bool = False, checked: bool = False
) -> IngestReport:
    total = IngestReport()
    for i in range(0, len(posts), batch_size):
        total.merge(ingest(posts[i : i + batch_size], ctx=ctx, drill=drill, checked=checked))
    return total


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepReport:
    """What :func:`sweep_alerts` found and did."""

    checked: int = 0  # flagged posts looked at
    missing: int = 0  # of those, without an alert
    opened: int = 0  # alerts opened for them
    announced: int = 0
    replay: IngestReport = field(default_factory=IngestReport)
    error: str = ""  # the store could not be used

    def summary(self) -> str:
        text = f"检查预警帖子 {self.checked} 条，缺少预警 {self.missing} 条，已补开 {self.opened} 条"
        if self.replay.replayed:
            text += f"；补写此前暂存 {self.replay.replayed} 条"
        if self.error:
            text += f"；存储不可用：{self.error}"
        return text


def sweep_alerts(ctx: Context, *, since: datetime | None = None) -> SweepReport:
    """Open the alert of every flagged post that has none; idempotent, safe beside a running ingest.

    Replays the spool first (a batch kept while the store was down). Then every flagged post in the
    index (drills too), or those first seen at or after ``since``, is checked against the alerts, a page
    at a time; a missing alert is opened as ingest opens it (playbook, audit row, announcement). Another
    process opening the same alert at the same moment is not an error: the page is read again.
    """
    out = SweepReport()
    replay_spool(ctx, out.replay)
    out.error = out.replay.replay_error  # batches still waiting: the store is not all there
    bound = since.astimezone(UTC).isoformat(timespec="seconds") if since is not None else None
    try:
        for ids in _pages(ctx.index.flagged_ids(since=bound), SWEEP_PAGE):
            out.checked += len(ids)
            for attempt in range(2):
                try:
                    _sweep_page(ctx, ids, out)
                    break
                except IntegrityError:  # opened by someone else meanwhile: look again
                    if attempt:
                        raise
    except Exception as exc:
        if not is_outage(exc):
            raise
        out.error = _why(exc)
        log.warning("alert sweep stopped: %s", out.error)
    if out.opened:
        log.warning("alert sweep opened %d missing alerts", out.opened)
    return out


def _pages(pages: Iterator[list[str]], size: int) -> Iterator[list[str]]:
    for page in pages:
        for i in range(0, len(page), size):
            yield page[i : i + size]


def _sweep_page(ctx: Context, ids: list[str], out: SweepReport) -> None:
    with ctx.records.session() as session:
        have = post_ids_with_alerts(session, post_ids=ids)
        missing = [i for i in ids if i not in have]
        if not missing:
            return
        found = ctx.index.get_many(missing)
        posts = [found[i] for i in missing if i in found and found[i].flagged]
        part = IngestReport()
        upsert_alerts(session, posts, ctx=ctx, report=part)
    out.missing += len(missing)
    out.opened += part.alerts_opened
    out.announced += part.alerts_announced


def sweep_window(last_start: float | None, *, margin: timedelta = timedelta(hours=1)) -> datetime | None:
    """What a periodic sweep looks at: everything the first time (``last_start`` None), then posts first
    seen since the previous sweep began, less ``margin`` (a batch's posts are stamped when it starts)."""
    if last_start is None:
        return None
    return datetime.fromtimestamp(last_start, UTC) - margin
