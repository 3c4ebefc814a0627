"""`yuqing stress --factor 3`: replay the busiest hour at three times its rate and say whether ingest kept up.

The regulator asks that capacity be at least three times the historical peak. This module finds that
peak and plays it again, faster, through the one ingest path (yuqing.ingest: analyse → store → alerts):

* **Which hour.** The hour with the most posts by ``first_seen_at`` — when ingest first stored a post,
  i.e. when the pipeline had to take it. ``published_at`` is when the author wrote it: crawlers pick posts
  up minutes or hours later and backfill old ones, so it says little about load on the pipeline. Drill
  posts are left out (drills never count in production figures). Found by a GROUP BY / date histogram in
  the store (store/arrivals.py), never by loading the posts. ``--input FILE`` takes the hour from a JSONL
  file instead (``first_seen_at``, else ``published_at``, is a post's arrival); ``--hour`` picks one.
* **How fast.** Posts that arrived in the same second came in one batch (ingest stamps a batch with one
  ``first_seen_at``) and are handed in as one batch again; the gaps between batches are divided by the
  factor. The replay starts at the hour's first arrival. ``--duration-limit`` stops offering new batches
  after that many seconds (a full hour at 3× takes 20 minutes); what was offered is measured.
* **Where to.** A scratch store: a fresh store in a temporary directory with the same configuration
  (firm, sources, risk thresholds, playbooks, notify channels; Elasticsearch: a scratch alias of its own,
  dropped afterwards), with the active rumor register copied in so the analysis does the same work. The
  production posts, alerts and outbox are only read (the hour's posts, the rumor register), never written.
  Replayed posts get fresh ids (``https://stress.invalid/<run>/<n>``) so deduplication does not swallow
  them, their ``published_at`` moved by as much as their arrival so they are as old on arrival as they
  were, and they are ingested with ``drill=True``: serious alerts still go through announcing (its cost is
  part of the pipeline) but their outbox rows are written ``suppressed``, in the scratch store, which is
  deleted when the run ends. Nothing is delivered and nobody is told.
* **What is measured.** Offered rate and achieved throughput (posts/s), the pipeline's capacity when
  busy (posts per second of ingest time, and that as a multiple of the historical peak rate), backlog
  (posts offered but not yet stored and flagged; the most and at the end), latency from offer to stored
  and flagged (p50/p95/max), CPU seconds and peak RSS. Kept up: the backlog drained (zero at the end,
  waiting at most the latency bound after the last offer) and p95 latency is within the bound (60 s).

Exit codes: 0 kept up, 1 did not keep up, 2 error (no posts to replay, bad arguments, store unreachable).
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yuqing.config import Settings, StoreConfig

if TYPE_CHECKING:
    from yuqing.context import Context

log = logging.getLogger(__name__)

DEFAULT_FACTOR = 3.0
DEFAULT_LATENCY_BOUND_S = 60.0
DEFAULT_MAX_POSTS = 50_000  # posts held in memory for one replay (a bulk import can put 1M in one hour)
INGEST_CHUNK = 500  # as ingest_in_batches: a bigger batch is handed in 500 at a time
BEIJING = timezone(timedelta(hours=8))
# what a crawler hands in (crawlers' RawPost); analysis and the store's bookkeeping are made again
RAW_FIELDS = (
    "text",
    "title",
    "url",
    "source",
    "source_family",
    "author",
    "published_at",
    "fetched_at",
    "site_id",
    "reposts",
    "comments",
    "likes",
    "user_followers",
    "user_verified",
)


class StressError(Exception):
    """The run cannot start; the message (Chinese) says why. Exit code 2."""


# --------------------------------------------------------------------------- the hour to replay


@dataclass
class PeakHour:
    hour: str  # UTC, YYYY-MM-DDTHH
    count: int  # posts that arrived in it
    origin: str  # "存储" or the file's path
    by: str  # the field that gave arrival times
    arrivals: list[tuple[datetime, Any]]  # (arrival, post id or post dict), in arrival order
    skipped: int = 0  # file lines without a usable arrival time or not JSON

    @property
    def peak_rate(self) -> float:
        """The hour's average arrival rate, posts per second."""
        return self.count / 3600.0


def parse_hour(text: str) -> str:
    """``--hour``: '2026-10-01T09' (Beijing time, as the desk shows times) or with an offset → UTC hour key."""
    from store.arrivals import hour_key

    raw = (text or "").strip().replace(" ", "T")
    if len(raw) == 13:  # YYYY-MM-DDTHH
        raw += ":00"
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise StressError(f"--hour 格式应为 2026-10-01T09（北京时间），收到 {text!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=BEIJING)
    return hour_key(dt.replace(minute=0, second=0, microsecond=0))


def beijing_label(hour: str) -> str:
    from store.arrivals import hour_bounds

    start, end = hour_bounds(hour)
    a, b = start.astimezone(BEIJING), end.astimezone(BEIJING)
    return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M} 北京时间（UTC {start:%H}:00）"


def peak_from_store(index: Any, hour: str | None = None) -> PeakHour:
    """The busiest hour of the store by first_seen_at (or ``hour``), with its posts' ids in arrival order."""
    from store.arrivals import arrival_hours, arrivals_in_hour

    hours = arrival_hours(index)
    if not hours:
        raise StressError("存储中没有可重放的帖子（演练帖不计）；先入库数据，或用 --input 指定文件")
    if hour is None:
        hour = max(hours, key=lambda h: (hours[h], h))  # the most posts; the latest of equals
    elif hour not in hours:
        raise StressError(
            f"{beijing_label(hour)} 没有帖子入库；最忙的一小时是 {beijing_label(max(hours, key=hours.get))}"
        )
    arrivals = arrivals_in_hour(index, hour)
    return PeakHour(hour=hour, count=len(arrivals), origin="存储", by="first_seen_at", arrivals=arrivals)


def peak_from_file(path: Path, hour: str | None = None) -> PeakHour:
    """The busiest hour of a JSONL file (two passes; only that hour's posts are kept in memory)."""
    from store.arrivals import hour_key, parse_instant
    from yuqing.cli_common import CliError, read_jsonl

    def arrival(obj: Any) -> tuple[datetime | None, str]:
        if not isinstance(obj, dict) or not isinstance(obj.get("text") or obj.get("title"), str):
            return None, ""
        for name in ("first_seen_at", "published_at"):
            dt = parse_instant(str(obj.get(name) or ""))
            if dt is not None:
                return dt, name
        return None, ""

    try:
        counts: dict[str, int] = {}
        fields_used: dict[str, int] = {}
        skipped = 0
        for _, obj, err in read_jsonl(path):
            dt, name = (None, "") if err else arrival(obj)
            if dt is None:
                skipped += 1
                continue
            counts[hour_key(dt)] = counts.get(hour_key(dt), 0) + 1
            fields_used[name] = fields_used.get(name, 0) + 1
        if not counts:
            raise StressError(
                f"文件 {path} 中没有可重放的帖子（每条需有正文 text 与到达时间 first_seen_at 或 published_at）"
            )
        if hour is None:
            hour = max(counts, key=lambda h: (counts[h], h))
        elif hour not in counts:
            raise StressError(f"文件中 {beijing_label(hour)} 没有帖子")
        picked: list[tuple[datetime, int, Any]] = []
        for n, obj, err in read_jsonl(path):
            dt, _ = (None, "") if err else arrival(obj)
            if dt is not None and hour_key(dt) == hour:
                picked.append((dt, n, obj))
    except CliError as exc:
        raise StressError(str(exc)) from exc
    picked.sort(key=lambda t: (t[0], t[1]))
    by = " / ".join(k for k, _ in sorted(fields_used.items(), key=lambda kv: -kv[1]))
    return PeakHour(
        hour=hour,
        count=len(picked),
        origin=str(path),
        by=by,
        arrivals=[(dt, obj) for dt, _, obj in picked],
        skipped=skipped,
    )


# --------------------------------------------------------------------------- the schedule


@dataclass
class Batch:
    offset: float  # seconds after the replay starts at which it is offered
    arrived: datetime  # when it arrived the first time
    posts: list[dict[str, Any]]


def raw_post(post: Any) -> dict[str, Any]:
    """What a crawler would hand in: the RawPost fields of a stored record or a file's line."""
    src = post.to_dict() if hasattr(post, "to_dict") else dict(post)
    return {k: src[k] for k in RAW_FIELDS if k in src and src[k] not in (None, "")}


def build_schedule(
    peak: PeakHour,
    *,
    factor: float,
    duration_limit: float | None,
    max_posts: int,
    fetch: Callable[[Sequence[str]], dict[str, Any]] | None = None,
) -> tuple[list[Batch], list[str]]:
    """Batches (same arrival second = one batch) with their offsets (gaps ÷ factor); notes on what was cut."""
    notes: list[str] = []
    groups: list[tuple[datetime, list[Any]]] = []
    first = peak.arrivals[0][0] if peak.arrivals else None
    for taken, (at, item) in enumerate(peak.arrivals):
        second = at.replace(microsecond=0)
        offset = (second - first.replace(microsecond=0)).total_seconds() / factor if first else 0.0
        if duration_limit is not None and offset > duration_limit:
            notes.append(f"--duration-limit {duration_limit:g} 秒：只重放了这一小时的前 {taken} 条")
            break
        if taken >= max_posts:
            notes.append(f"单次最多重放 {max_posts} 条（--max-posts），其余未重放")
            break
        if groups and groups[-1][0] == second:
            groups[-1][1].append(item)
        else:
            groups.append((second, [item]))
    batches: list[Batch] = []
    missing = 0
    for second, items in groups:
        if fetch is not None:  # ids from the store: read the posts now, before the clock starts
            found: dict[str, Any] = {}
            for i in range(0, len(items), 500):
                found.update(fetch(items[i : i + 500]))
            posts = [found[i] for i in items if i in found]
            missing += len(items) - len(posts)
        else:
            posts = list(items)
        if posts:
            offset = (second - groups[0][0]).total_seconds() / factor
            batches.append(Batch(offset=offset, arrived=second, posts=[raw_post(p) for p in posts]))
    if missing:
        notes.append(f"{missing} 条在读取前已从存储中删除，未重放")
    return batches, notes


# --------------------------------------------------------------------------- the scratch store


def scratch_settings(settings: Settings, directory: Path, run_id: str) -> Settings:
    """The same configuration with a fresh store in ``directory`` (Elasticsearch: an alias of its own)."""
    store = settings.store.model_dump()
    store.update(
        path=directory / "stress.db",
        records_url="",  # the records (alerts, outbox) in the scratch SQLite file, never production's
        spool_dir=directory / "spool",
        elasticsearch_index=f"{settings.store.elasticsearch_index}-stress-{run_id}",
    )
    return settings.model_copy(update={"store": StoreConfig(**store)})


def copy_production_store(settings: Settings, directory: Path) -> Path:
    """``--copy-store``: one consistent copy of the embedded store (posts and records in one SQLite file).

    The replay then meets a store as big as production's (FTS index, near-duplicate bands, events seeded
    from the latest posts). Outbox rows still pending in the copy are marked suppressed: nothing reads the
    copy's outbox, and nothing ever will.
    """
    import sqlite3

    s = settings.store
    if s.posts_engine != "sqlite" or (s.records_url and s.records_url != f"sqlite:///{s.path}"):
        raise StressError("--copy-store 只支持内嵌存储（帖子与记录在同一个 SQLite 文件中）")
    if not Path(s.path).exists():
        raise StressError(f"存储 {s.path} 不存在，没有可复制的存储")
    target = directory / "stress.db"
    source = sqlite3.connect(f"file:{Path(s.path).resolve()}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # one read transaction: a snapshot while production keeps writing
        have = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "notifications" in have:
            copy.execute("UPDATE notifications SET status = 'suppressed' WHERE status = 'pending'")
            copy.commit()
    except sqlite3.Error as exc:
        raise StressError(f"无法复制存储 {s.path}：{exc}") from exc
    finally:
        copy.close()
        source.close()
    return target


def copy_rumor_register(settings: Settings, scratch_ctx: Context) -> int:
    """The production register's active entries into the scratch records (read only on production)."""
    from sqlalchemy import select

    from store.models import RumorEntry
    from store.records import Records

    s = settings.store
    if not s.records_url and not Path(s.path).exists():
        return 0
    try:
        prod = Records(s.resolved_records_url(), create=False)  # create=False: never migrate production
        try:
            with prod.session() as session:
                rows = [
                    {
                        c: getattr(r, c)
                        for c in ("claim", "clarification", "url", "date", "keywords", "added_by")
                    }
                    for r in session.scalars(select(RumorEntry).where(RumorEntry.active))
                ]
        finally:
            prod.dispose()
    except Exception as exc:  # an old or unreachable records database: replay without the register
        log.warning("rumor register not copied into the scratch store: %s", exc)
        return 0
    if rows:
        with scratch_ctx.records.session() as session:
            session.add_all(RumorEntry(active=True, **row) for row in rows)
    return len(rows)


# --------------------------------------------------------------------------- the replay


@dataclass
class StressResult:
    origin: str
    by: str
    hour: str
    hour_label: str
    hour_posts: int
    factor: float
    latency_bound_s: float
    peak_rate: float  # posts/s, the hour's average
    nominal_rate: float  # posts/s, factor × peak rate
    offered_rate: float = 0.0  # posts/s as offered: offered posts over the schedule (bursts run higher)
    offered: int = 0
    ingested: int = 0
    flagged: int = 0
    alerts_opened: int = 0
    announced: int = 0  # serious alerts whose announcement was written (suppressed: drill)
    rejected: int = 0
    spooled: int = 0
    schedule_s: float = 0.0  # from the first offer to the last
    wall_s: float = 0.0  # from the first offer to the last batch stored (or the drain deadline)
    busy_s: float = 0.0  # inside ingest
    throughput: float = 0.0  # ingested / wall
    capacity: float = 0.0  # ingested / busy: what the pipeline takes when it never waits
    headroom: float = 0.0  # capacity / peak rate
    backlog_max: int = 0
    backlog_end: int = 0
    backlog_timeline: list[tuple[float, int]] = field(default_factory=list)
    latency_p50_s: float = 0.0
    latency_p95_s: float = 0.0
    latency_max_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    rumor_entries: int = 0
    notes: list[str] = field(default_factory=list)
    kept_up: bool = False
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _shift_published(post: dict[str, Any], arrived: datetime, offered_at: datetime) -> dict[str, Any]:
    """As old on arrival as the first time: published_at moves with the arrival."""
    from store.arrivals import parse_instant

    pub = parse_instant(str(post.get("published_at") or ""))
    if pub is not None:
        post = {**post, "published_at": (pub + (offered_at - arrived)).isoformat(timespec="seconds")}
    return post


def replay(
    batches: Sequence[Batch],
    *,
    ingest_batch: Callable[[list[dict[str, Any]]], Any],
    result: StressResult,
    run_id: str,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> StressResult:
    """Offer ``batches`` on their schedule to ``ingest_batch`` (one consumer, in order) and measure."""
    offsets = [b.offset for b in batches]
    cumulative: list[int] = []
    total = 0
    for b in batches:
        total += len(b.posts)
        cumulative.append(total)
    result.offered = total
    result.schedule_s = offsets[-1] if offsets else 0.0
    result.offered_rate = total / result.schedule_s if result.schedule_s > 0 else float(total)
    deadline = result.schedule_s + result.latency_bound_s  # the backlog must drain by then

    def offered_by(t: float) -> int:
        i = bisect.bisect_right(offsets, t)
        return cumulative[i - 1] if i else 0

    latencies: list[float] = []
    timeline: list[tuple[float, int]] = [(0.0, 0)]
    seq = 0
    done = 0
    busy = 0.0
    cpu0 = _cpu_seconds()
    start = clock()
    start_wall = datetime.now(UTC)
    now = 0.0
    for batch in batches:
        now = clock() - start
        if now < batch.offset:
            sleep(batch.offset - now)  # idle: nothing waiting
        elif now > deadline:
            break  # the backlog did not drain in time: what is left stays the backlog
        offered_at = start_wall + timedelta(seconds=batch.offset)
        for i in range(0, len(batch.posts), INGEST_CHUNK):
            chunk = []
            for post in batch.posts[i : i + INGEST_CHUNK]:
                seq += 1
                fresh = f"https://stress.invalid/{run_id}/{seq}"
                chunk.append(
                    {
                        **_shift_published(post, batch.arrived, offered_at),
                        "url": fresh,
                        "canonical_url": fresh,
                    }
                )
            t0 = clock()
            report = ingest_batch(chunk)
            t1 = clock()
            busy += t1 - t0
            now = t1 - start
            lost = len(report.rejected) + report.spooled
            stored = len(chunk) - lost
            result.backlog_max = max(result.backlog_max, offered_by(now) - done)  # just before this lands
            done += stored
            result.rejected += len(report.rejected)
            result.spooled += report.spooled
            result.flagged += report.flagged
            result.alerts_opened += report.alerts_opened
            result.announced += report.alerts_announced
            latencies.extend([now - batch.offset] * stored)
            timeline.append((round(now, 3), offered_by(now) - done))
    end = max(now, result.schedule_s)
    result.cpu_s = _cpu_seconds() - cpu0
    result.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result.ingested = done
    result.backlog_end = total - done
    result.wall_s = end
    result.busy_s = busy
    result.throughput = done / end if end > 0 else float(done)
    result.capacity = done / busy if busy > 0 else 0.0
    result.headroom = result.capacity / result.peak_rate if result.peak_rate else 0.0
    result.latency_p50_s = percentile(latencies, 50)
    result.latency_p95_s = percentile(latencies, 95)
    result.latency_max_s = max(latencies, default=0.0)
    result.backlog_timeline = _thin(timeline, 24)
    result.reasons = []
    if result.backlog_end:
        result.reasons.append(
            f"积压未清空：最后一批提供后 {result.latency_bound_s:g} 秒仍有 {result.backlog_end} 条未入库"
        )
    if result.latency_p95_s > result.latency_bound_s:
        result.reasons.append(f"p95 延迟 {result.latency_p95_s:.1f} 秒超过上限 {result.latency_bound_s:g} 秒")
    if result.rejected or result.spooled:
        result.reasons.append(f"{result.rejected} 条被拒收，{result.spooled} 条因存储不可用被暂存")
    result.kept_up = not result.reasons and done > 0
    if done == 0 and not result.reasons:
        result.reasons.append("没有帖子入库")
    return result


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _thin(points: list[tuple[float, int]], n: int) -> list[tuple[float, int]]:
    """At most ``n`` points, always the first, the last and the highest."""
    if len(points) <= n:
        return points
    step = (len(points) - 1) / (n - 1)
    keep = {round(i * step) for i in range(n)} | {max(range(len(points)), key=lambda i: points[i][1])}
    return [points[i] for i in sorted(keep)]


# --------------------------------------------------------------------------- one run


def run_stress(
    settings: Settings,
    *,
    factor: float = DEFAULT_FACTOR,
    input_path: Path | None = None,
    hour: str | None = None,
    duration_limit: float | None = None,
    latency_bound: float = DEFAULT_LATENCY_BOUND_S,
    max_posts: int = DEFAULT_MAX_POSTS,
    copy_store: bool = False,
) -> StressResult:
    """Find the hour, build the scratch store, replay, measure; the scratch store is gone afterwards.

    ``copy_store``: the scratch store starts as a copy of production's embedded store, not empty.
    """
    from yuqing.context import build_context
    from yuqing.ingest import ingest

    if not factor > 0:
        raise StressError("--factor 必须大于 0")
    if duration_limit is not None and not duration_limit > 0:
        raise StressError("--duration-limit 必须大于 0 秒")
    if not latency_bound > 0:
        raise StressError("--latency-bound 必须大于 0 秒")
    hour_key_ = parse_hour(hour) if hour else None

    if input_path is not None:
        peak = peak_from_file(input_path, hour_key_)
        batches, notes = build_schedule(
            peak, factor=factor, duration_limit=duration_limit, max_posts=max_posts
        )
    else:
        peak, batches, notes = _peak_from_production(settings, hour_key_, factor, duration_limit, max_posts)
    if peak.skipped:
        notes.append(f"文件中 {peak.skipped} 行没有正文或到达时间，已跳过")
    result = StressResult(
        origin=peak.origin,
        by=peak.by,
        hour=peak.hour,
        hour_label=beijing_label(peak.hour),
        hour_posts=peak.count,
        factor=factor,
        latency_bound_s=latency_bound,
        peak_rate=peak.peak_rate,
        nominal_rate=peak.peak_rate * factor,
        notes=notes,
    )
    if not batches:
        raise StressError("这一小时的帖子都无法读取，无法重放")

    run_id = uuid.uuid4().hex[:10]
    with tempfile.TemporaryDirectory(prefix="yuqing-stress-") as tmp:
        if copy_store:
            t = time.perf_counter()
            copy_production_store(settings, Path(tmp))
            result.notes.append(
                f"临时存储是生产存储的副本（复制用时 {time.perf_counter() - t:.1f} 秒）"
                " / the scratch store is a copy of production's"
            )
        scratch = build_context(scratch_settings(settings, Path(tmp), run_id))
        try:
            if not copy_store:  # a copy has the register already
                result.rumor_entries = copy_rumor_register(settings, scratch)
            _warm_up(scratch, batches[0].posts[0])
            replay(
                batches,
                ingest_batch=lambda posts: ingest(posts, ctx=scratch, drill=True),
                result=result,
                run_id=run_id,
            )
        finally:
            if settings.store.posts_engine == "elasticsearch" and scratch.has_index:
                try:
                    scratch.index.drop()
                except Exception as exc:  # say so: the alias has to be dropped by hand
                    log.warning("scratch index %s not dropped: %s", scratch.index.alias, exc)
            scratch.close()
    return result


def _peak_from_production(
    settings: Settings, hour: str | None, factor: float, duration_limit: float | None, max_posts: int
) -> tuple[PeakHour, list[Batch], list[str]]:
    """Read the production posts index (only read): the hour, then its posts."""
    from nlp.segment import Segmenter
    from store.posts_sqlite import SqlitePostIndex, StoreUnavailable

    s = settings.store
    if s.posts_engine == "sqlite" and not Path(s.path).exists():
        raise StressError(f"存储 {s.path} 不存在，没有可重放的帖子；先入库数据，或用 --input 指定文件")
    if s.posts_engine == "sqlite":  # the hour and the posts need no jieba: search tokens are not used
        index: Any = SqlitePostIndex(s.path, Segmenter([]), columnar=False)
    else:
        from yuqing.context import build_context

        index = build_context(settings).index
    try:
        peak = peak_from_store(index, hour)
        batches, notes = build_schedule(
            peak, factor=factor, duration_limit=duration_limit, max_posts=max_posts, fetch=index.get_many
        )
    except StoreUnavailable as exc:
        raise StressError(f"无法读取存储：{exc}") from exc
    finally:
        index.close()
    return peak, batches, notes


def _warm_up(ctx: Context, sample: dict[str, Any]) -> None:
    """What a running ingest process already has: the model, jieba, the playbooks, open stores."""
    from yuqing.ingest import refresh_rumor_register, seeded_events

    refresh_rumor_register(ctx, force=True)
    ctx.analyzer.analyze([sample])
    seeded_events(ctx)
    ctx.index.count()
    with ctx.records.session():
        pass
    ctx.playbooks  # noqa: B018


# --------------------------------------------------------------------------- output and the command


def describe(r: StressResult) -> list[str]:
    source = (
        f"存储（按首次入库时间 {r.by}）" if r.origin == "存储" else f"文件 {r.origin}（到达时间取 {r.by}）"
    )
    lines = [
        f"压力测试 / stress test：以 {r.factor:g} 倍速重放最忙的一小时 / the busiest hour at {r.factor:g}×",
        f"  来源 / source：{source}",
        f"  时段 / hour：{r.hour_label}，{r.hour_posts} 条（峰值 {r.peak_rate:.2f} 条/秒 / posts/s）",
        f"  重放 / offered：{r.offered} 条，历时 {r.schedule_s:.1f} 秒，平均 {r.offered_rate:.2f} 条/秒"
        f"（小时均值 × {r.factor:g} = {r.nominal_rate:.2f} 条/秒）"
        f" / {r.offered} posts over {r.schedule_s:.1f} s, {r.offered_rate:.2f} posts/s",
        f"  吞吐 / throughput：实际入库 {r.throughput:.2f} 条/秒；满负荷能力 {r.capacity:.1f} 条/秒，"
        f"为历史峰值的 {r.headroom:.0f} 倍 / capacity {r.capacity:.1f} posts/s = {r.headroom:.0f}× the peak",
        f"  积压 / backlog：最多 {r.backlog_max} 条，结束时 {r.backlog_end} 条 / max {r.backlog_max}, at end {r.backlog_end}",
        f"  延迟 / latency（提供→入库并完成预警判断 offer→stored+flagged）：p50 {r.latency_p50_s:.2f} 秒  "
        f"p95 {r.latency_p95_s:.2f} 秒  最大 max {r.latency_max_s:.2f} 秒（上限 bound {r.latency_bound_s:g} 秒）",
        f"  预警 / flagged：{r.flagged} 条，新开预警 {r.alerts_opened} 条，严重预警通知 {r.announced} 条"
        "（演练标记，通知为 suppressed，写在临时存储中，已随之删除）",
        f"  资源 / resources：CPU {r.cpu_s:.1f} 秒，峰值内存 peak RSS {r.peak_rss_mib:.0f} MiB",
    ]
    lines += [f"  说明 / note：{n}" for n in r.notes]
    if r.kept_up:
        lines.append(
            f"结论 / verdict：跟上了 KEPT UP — {r.factor:g}× 峰值下积压清空，p95 延迟 {r.latency_p95_s:.2f} 秒"
            f" ≤ {r.latency_bound_s:g} 秒"
        )
    else:
        lines.append("结论 / verdict：没跟上 DID NOT KEEP UP — " + "；".join(r.reasons))
    return lines


def add_parser(sub: Any) -> argparse.ArgumentParser:
    s = sub.add_parser(
        "stress",
        help="容量压测：按 N 倍速重放最忙的一小时，看入库是否跟得上 / replay the busiest hour at N× its rate",
    )
    s.add_argument("--factor", type=float, default=DEFAULT_FACTOR, help="倍速（默认 3）/ speed-up factor")
    s.add_argument("--input", help="从 JSONL 文件取最忙的一小时 / take the hour from a JSONL file")
    s.add_argument("--hour", help="指定时段，北京时间，如 2026-10-01T09 / this hour (Beijing time)")
    s.add_argument(
        "--duration-limit", type=float, help="最多提供这么多秒 / offer for at most this many seconds"
    )
    s.add_argument(
        "--latency-bound",
        type=float,
        default=DEFAULT_LATENCY_BOUND_S,
        help="p95 延迟上限（秒，默认 60）/ p95 latency bound, seconds",
    )
    s.add_argument(
        "--max-posts", type=int, default=DEFAULT_MAX_POSTS, help="最多重放条数 / at most this many posts"
    )
    s.add_argument(
        "--copy-store",
        action="store_true",
        help="临时存储从生产存储的副本开始（仅内嵌存储）/ start the scratch store as a copy of production's",
    )
    s.add_argument("--json", action="store_true", help="输出 JSON / print the figures as JSON")
    return s


def run_cli(args: argparse.Namespace, settings: Settings) -> int:
    try:
        result = run_stress(
            settings,
            factor=args.factor,
            input_path=Path(args.input) if args.input else None,
            hour=args.hour,
            duration_limit=args.duration_limit,
            latency_bound=args.latency_bound,
            max_posts=args.max_posts,
            copy_store=args.copy_store,
        )
    except StressError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(describe(result)))
    return 0 if result.kept_up else 1


__all__ = [
    "PeakHour",
    "StressError",
    "StressResult",
    "add_parser",
    "build_schedule",
    "parse_hour",
    "peak_from_file",
    "peak_from_store",
    "replay",
    "run_cli",
    "run_stress",
]
