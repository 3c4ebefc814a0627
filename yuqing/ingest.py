"""One call for a batch: analyse → store → open or update alerts.

Crawled posts, vendor feeds (`yuqing ingest`) and drills all enter here, so every path is the same.
:func:`ingest` runs the steps in order on the parts the Context built once:

1. check each post (:func:`validate_post`);
2. hand the analyzer the rumor register as the desk has it now (:func:`refresh_rumor_register`);
3. analyse the batch (``nlp.analyzer``);
4. event ids and bursts (:func:`seeded_events`: the event state, seeded from the store on first use);
5. store (:func:`store_batch`): batches spooled while the store was down first, then near-duplicate groups
   (:func:`assign_near_dups`), the posts index, and the alerts of flagged posts, each with the playbook
   that fits (``playbooks.matcher.match_post``); serious new alerts are announced to the duty channels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from nlp.simhash import MAX_DISTANCE, simhash
from playbooks.alerting import announce_alerts
from playbooks.matcher import match_post
from playbooks.notify.outbox import Recipient
from playbooks.schema import PlaybookError
from store import neardup
from store.models import Alert, PostRecord, utcnow_iso
from store.outage import STORE_DOWN
from store.posts_es import PostsRejected
from store.records import upsert_alert
from yuqing.learn import refresh_feedback_layer

if TYPE_CHECKING:
    from nlp.events import EventTracker
    from yuqing.context import Context

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1_000_000
RUMOR_REGISTER_TTL_S = 30.0  # entries added on the desk reach the analyzer within this many seconds
EVENT_SEED_LIMIT = 2000  # stored posts of the last event window the event state starts from


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
    rejected: list[str] = field(default_factory=list)
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
            "spooled",
            "alerts_spooled",
            "replayed",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.extend(other.rejected)
        self.replay_error = other.replay_error or self.replay_error

    def summary(self) -> str:
        return (
            f"收到 {self.received} 条，新增 {self.stored_new}，更新 {self.updated}，未变 {self.unchanged}，"
            f"预警 {self.flagged} 条（新开 {self.alerts_opened}，更新 {self.alerts_updated}），"
            f"拒收 {len(self.rejected)} 条"
            + (f"；{self.alerts_announced} 条严重预警已通知值班群" if self.alerts_announced else "")
            + (f"；补写此前暂存 {self.replayed} 条" if self.replayed else "")
            + (f"；存储不可用，已暂存 {self.spooled} 条，恢复后自动补写" if self.spooled else "")
            + (f"；预警库不可用，{self.alerts_spooled} 条预警已暂存" if self.alerts_spooled else "")
        )


def validate_post(post: Any, position: int | str) -> tuple[dict[str, Any] | None, str | None]:
    """Check one incoming post; return (clean post, None) or (None, reason in Chinese).

    ``position`` names the post in the reason (a line number, or its place in the batch).
    """
    if not isinstance(post, Mapping):
        return None, f"{_label(post, position)}不是对象（JSON object）"
    text = post.get("text")
    if not isinstance(text, str) or not text.strip():
        title = post.get("title")
        if isinstance(title, str) and title.strip():
            text = ""
        else:
            return None, f"{_label(post, position)}没有正文（text）"
    clean = dict(post)
    clean["text"] = text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS]
    if len(text) > MAX_TEXT_CHARS:
        log.warning("post %s truncated from %d to %d characters", position, len(text), MAX_TEXT_CHARS)
    return clean, None


def _label(post: Any, position: int | str) -> str:
    where = f"第 {position} 条" if isinstance(position, int) else str(position)
    if isinstance(post, Mapping):
        ident = post.get("id") or post.get("url")
        if ident:
            return f"{where}（{str(ident)[:80]}）"
    return where


def ingest(posts: Sequence[Any], *, ctx: Context, drill: bool = False) -> IngestReport:
    """Analyse, store and alert one batch. Invalid posts are reported, not stored, and never stop the batch."""
    report = IngestReport(received=len(posts))
    valid: list[dict[str, Any]] = []
    for i, post in enumerate(posts, start=1):
        clean, reason = validate_post(post, i)
        if clean is None:
            report.rejected.append(reason or f"第 {i} 条无效")
            continue
        valid.append(clean)
    if not valid:
        return report

    refresh_rumor_register(ctx)  # entries added on the desk count within seconds
    refresh_feedback_layer(ctx)  # a layer switched on or rolled back (yuqing learn) counts within seconds
    analyses = ctx.analyzer.analyze(valid)
    records = []
    for post, analysis in zip(valid, analyses, strict=True):
        merged = {**post, **analysis}
        records.append(PostRecord.from_post(merged, drill=drill))
    # event_id; a burst raises the level (reasons say so)
    seeded_events(ctx).apply(records, volume=partial(firm_volume, ctx))
    # then store: near-duplicate groups, the posts index, alerts with their playbook (store_batch)

    report.flagged = sum(1 for r in records if r.flagged)
    replay_spool(ctx, report)  # batches kept while the store was down go first, in the order they came
    if ctx.spool.pending():  # still down: queue behind them so the order is kept
        _spool(ctx, records, stage="posts", drill=drill, reason="前面暂存的批次尚未补写", report=report)
        return report
    try:
        store_batch(records, ctx=ctx, report=report)
    except PartlyStored as exc:
        _spool(ctx, exc.flagged, stage="alerts", drill=drill, reason=str(exc.__cause__), report=report)
    except STORE_DOWN as exc:
        _spool(ctx, records, stage="posts", drill=drill, reason=str(exc), report=report)
    except PostsRejected as exc:  # refused documents are kept aside for a person, never dropped
        kept = ctx.spool.reject(
            ctx.spool.read(ctx.spool.put(records, stage="posts", drill=drill, reason="")), str(exc)
        )
        report.rejected.append(f"存储拒收本批，已保存到 {kept}：{exc}")
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


# --------------------------------------------------------------------------- storing, spooling, replay


def assign_near_dups(session: Session, records: Sequence[PostRecord]) -> int:
    """Reposts and copied articles join their near-duplicate group (``simhash``, ``dup_of``): nlp's
    fingerprint, grouped in the records database (store/neardup.py). Returns how many joined a group."""
    return neardup.assign_near_dups(session, records, fingerprint=simhash, max_distance=MAX_DISTANCE)


class PartlyStored(Exception):
    """The posts are in the index but their alerts could not be written; ``flagged`` still need them."""

    def __init__(self, flagged: list[PostRecord]):
        super().__init__("alerts not written")
        self.flagged = flagged


def store_batch(
    records: list[PostRecord], *, ctx: Context, report: IngestReport, replay: bool = False
) -> None:
    """Near-duplicate groups, the posts index, then alerts. Raises STORE_DOWN or PartlyStored.

    On replay every flagged post gets its alert upserted (idempotent), because a first attempt may
    have stored the post and died before its alert.
    """
    with ctx.records.session() as session:  # reposts and copied articles join their group (dup_of)
        assign_near_dups(session, records)
    results = ctx.index.upsert_many(records)
    for res in results:
        if res.created:
            report.stored_new += 1
        elif res.changed:
            report.updated += 1
        else:
            report.unchanged += 1
    flagged = [
        r
        for r, res in zip(records, results, strict=True)
        if r.flagged and (replay or res.created or res.changed)
    ]
    try:
        _open_alerts(flagged, ctx=ctx, report=report)
    except STORE_DOWN as exc:
        raise PartlyStored(flagged) from exc


def _open_alerts(flagged: Sequence[PostRecord], *, ctx: Context, report: IngestReport) -> None:
    if not flagged:
        return
    with ctx.records.session() as session:
        touched = []
        for rec in flagged:
            match = match_post(rec, ctx.playbooks)
            alert, what = upsert_alert(session, post=rec, playbook_id=match.playbook.id if match else None)
            if what == "opened":
                report.alerts_opened += 1
            elif what == "updated":
                report.alerts_updated += 1
            if what != "unchanged":
                touched.append(alert)
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
    )


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
    """Write spooled batches to the store, oldest first; stop at the first that still fails.

    A batch file is removed only once the store has taken all of it; running this twice (or two
    processes at once: a lock lets one replay) stores everything once.
    """
    report = report if report is not None else IngestReport()
    spool = ctx.spool
    if not spool.pending():
        return report
    with spool.replay_lock() as mine:
        if not mine:
            return report
        for batch in spool.batches():
            try:
                if batch.stage == "alerts":
                    _open_alerts(batch.posts, ctx=ctx, report=report)
                else:
                    store_batch(batch.posts, ctx=ctx, report=report, replay=True)
            except (PartlyStored, *STORE_DOWN) as exc:
                report.replay_error = str(exc.__cause__ if isinstance(exc, PartlyStored) else exc)
                log.warning("spool replay stopped at %s: %s", batch.path.name, report.replay_error)
                break
            except PostsRejected as exc:  # the index refuses the documents: retrying cannot help
                where = spool.reject(batch, str(exc))
                report.rejected.append(f"暂存批次被存储拒收，已移到 {where}：{exc}")
                log.error("spooled batch %s rejected by the store: %s", batch.path.name, exc)
                continue
            spool.done(batch)
            report.replayed += len(batch.posts)
    return report


def ingest_in_batches(
    posts: Sequence[Any], *, ctx: Context, batch_size: int = 500, drill: bool = False
) -> IngestReport:
    total = IngestReport()
    for i in range(0, len(posts), batch_size):
        total.merge(ingest(posts[i : i + batch_size], ctx=ctx, drill=drill))
    return total
