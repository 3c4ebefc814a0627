"""Run the configured spiders once and ingest what they found (`yuqing crawl`, `yuqing demo`)."""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.health import record_failed_run, record_runs
from yuqing.context import Context
from yuqing.ingest import IngestReport, ingest_in_batches

if TYPE_CHECKING:
    from crawlers.seen import SeenStore

log = logging.getLogger(__name__)


class UnknownSource(ValueError):
    pass


class CrawlTimeout(RuntimeError):
    """The crawl process ran past its time limit and was stopped."""


@dataclass
class CrawlResult:
    stats: dict[str, Any] = field(default_factory=dict)
    report: IngestReport = field(default_factory=IngestReport)
    failed_sources: list[str] = field(default_factory=list)
    pages_kept: int = 0  # flagged posts whose page or API response was kept as evidence

    def summary(self) -> str:
        lines = [f"抓取完成：{self.report.summary()}"]
        for name, s in sorted(self.stats.items()):
            if not isinstance(s, dict):
                continue
            errors = s.get("errors", 0)
            lines.append(f"  {name}: {s.get('items', 0)} 条" + (f"，错误 {errors}" if errors else ""))
        if self.pages_kept:
            lines.append(f"  固定证据：{self.pages_kept} 条预警保存了抓取时的原始页面")
        if self.failed_sources:
            lines.append(f"  失败的信息源：{'、'.join(self.failed_sources)}")
        return "\n".join(lines)


def select_sources(ctx: Context, names: list[str] | None) -> list[dict[str, Any]]:
    configured = {s.name: s for s in ctx.settings.sources}
    if names:
        unknown = [n for n in names if n not in configured]
        if unknown:
            raise UnknownSource(f"未配置的信息源 / unknown sources: {', '.join(unknown)}")
        chosen = [configured[n] for n in names]
    else:
        chosen = [s for s in ctx.settings.sources if s.enabled]
    return [s.model_dump() for s in chosen]


def crawl_sources(
    ctx: Context,
    *,
    names: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> CrawlResult:
    """Crawl in a child process (Twisted's reactor cannot restart), then ingest through the one door.

    Polite by configuration (the User-Agent names ``crawl.contact_url``; per-source ``options.concurrency``
    and ``options.download_delay``), incremental through the seen-store next to the posts store (its
    versions are committed only after the posts are stored), and every source's run is written to
    ``source_runs`` for the health page, crashed and timed-out runs included. A crawl process that
    crashes raises ``RuntimeError``; one that runs past ``timeout`` seconds raises :class:`CrawlTimeout`.
    """
    sources = select_sources(ctx, names)
    result = CrawlResult()
    if not sources:
        return result
    run_id = f"crawl-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    overrides = scrapy_settings(ctx, sources, extra=settings)
    seen = open_seen_store(ctx, overrides, run_id)
    started = datetime.now(UTC)
    pages = tempfile.TemporaryDirectory(prefix="yuqing-pages-")  # each post's page, for the evidence
    overrides.setdefault("YUQING_PAGES_DIR", pages.name)
    try:
        result.stats, posts = run_spiders(
            ctx, sources, overrides, timeout=timeout, run_id=run_id, started=started
        )
        new_by_source = ingest_by_source(ctx, posts, result.report)
        result.pages_kept = keep_crawled_pages(ctx, Path(overrides["YUQING_PAGES_DIR"]))
    except BaseException:
        if seen is not None:
            seen.discard(run_id)  # nothing of this run counts as seen: the next run offers it again
            seen.close()
        raise
    finally:
        pages.cleanup()
    if seen is not None:
        seen.commit(run_id)
        seen.close()
    record_quietly(
        ctx,
        record_runs,
        run_id=run_id,
        started_at=started,
        finished_at=datetime.now(UTC),
        stats=result.stats,
        new_by_source=new_by_source,
    )
    result.failed_sources = [
        name
        for name, s in result.stats.items()
        if isinstance(s, dict) and s.get("errors") and not s.get("items")
    ]
    return result


def scrapy_settings(
    ctx: Context, sources: list[dict[str, Any]], *, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The crawl process's Scrapy settings: polite defaults per source, the shared scrapy-redis queue when
    ``crawl.redis_url`` is set (scale-out), then the caller's own."""
    from crawlers.politeness import politeness_overrides

    overrides: dict[str, Any] = politeness_overrides(sources, contact_url=ctx.settings.crawl.contact_url)
    if ctx.settings.crawl.redis_url:  # scale-out: share one scrapy-redis queue with the other workers
        from crawlers.distributed import redis_settings

        overrides.update(redis_settings(ctx.settings.crawl.redis_url))
    overrides.update(extra or {})
    return overrides


def open_seen_store(ctx: Context, overrides: dict[str, Any], run_id: str) -> SeenStore | None:
    """The seen-store next to the posts store, its versions held back for this run (committed once the posts
    are stored); None when ``crawl.seen_store`` is off or the caller named one of its own."""
    from crawlers.seen import SeenStore, seen_path_for

    if not ctx.settings.crawl.seen_store or overrides.get("YUQING_SEEN_DB"):
        return None
    seen = SeenStore(seen_path_for(ctx.settings.store.path))
    overrides.update(YUQING_SEEN_DB=str(seen.path), YUQING_RUN_ID=run_id, YUQING_SEEN_COMMIT="deferred")
    return seen


def run_spiders(
    ctx: Context,
    sources: list[dict[str, Any]],
    overrides: dict[str, Any],
    *,
    timeout: float | None,
    run_id: str,
    started: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(per-source stats, crawled posts) of one crawl process. A process that crashes or times out gets a
    failed run per source in ``source_runs`` before the error goes on up."""
    from crawlers.runner import run_crawl_subprocess

    with tempfile.TemporaryDirectory(prefix="yuqing-crawl-") as tmp:
        out = Path(tmp) / "posts.jsonl"
        try:
            # the child reads secrets (e.g. the 雪球 cookie) itself; it only gets the file's path
            stats = (
                run_crawl_subprocess(
                    sources, out, settings=overrides, timeout=timeout, secrets_file=ctx.settings.secrets_file
                )
                or {}
            )
        except subprocess.TimeoutExpired as exc:
            reason = f"抓取超过 {timeout:g} 秒未结束，已终止"
            record_quietly(
                ctx,
                record_failed_run,
                run_id=run_id,
                sources=sources,
                started_at=started,
                reason=reason,
                finish_reason="timeout",
            )
            raise CrawlTimeout(reason) from exc
        except RuntimeError as exc:
            lines = str(exc).strip().splitlines() or [""]
            reason = f"抓取进程异常退出：{lines[0]}" + (f"；日志末行：{lines[-1]}" if len(lines) > 1 else "")
            record_quietly(
                ctx,
                record_failed_run,
                run_id=run_id,
                sources=sources,
                started_at=started,
                reason=reason[:500],
            )
            raise
        posts = []
        if out.exists():
            with out.open(encoding="utf-8") as fh:
                posts = [json.loads(line) for line in fh if line.strip()]
    return stats, posts


def ingest_by_source(ctx: Context, posts: list[dict[str, Any]], report: IngestReport) -> dict[str, int]:
    """Each source's posts through ingest (merged into ``report``); returns the new posts per source."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for post in posts:
        by_source.setdefault(str(post.get("source") or ""), []).append(post)
    new_by_source: dict[str, int] = {}
    for name, group in by_source.items():
        part = ingest_in_batches(group, ctx=ctx)
        new_by_source[name] = part.stored_new
        report.merge(part)
    return new_by_source


def keep_crawled_pages(ctx: Context, directory: Path, *, chunk: int = 500) -> int:
    """固定证据: the page or API response each flagged post of this crawl was read from, kept with its
    alert (``playbooks.evidence.keep_page``; once per alert). Returns how many were kept. A records
    database that fails here costs the pages (logged), never the posts or their alerts."""
    from sqlalchemy import select

    from crawlers.pages import page_bytes, read_index
    from playbooks.evidence import keep_page
    from store.models import Alert
    from store.times import parse_instant

    index = {url.strip(): line for url, line in read_index(directory).items()}
    if not index:
        return 0
    kept = 0
    urls = list(index)
    try:
        for i in range(0, len(urls), chunk):
            with ctx.records.session() as session:
                for alert in session.scalars(select(Alert).where(Alert.url.in_(urls[i : i + chunk]))):
                    line = index[alert.url]
                    row = keep_page(
                        session,
                        alert,
                        page_bytes(directory, line),
                        sha=str(line["sha256"]),
                        size=int(line.get("size") or 0),
                        url=str(line.get("page_url") or alert.url),
                        mime=str(line.get("mime") or ""),
                        status=int(line.get("status") or 0),
                        fetched_at=parse_instant(line.get("fetched_at")),
                    )
                    kept += row is not None
    except Exception:
        log.exception("crawled pages not kept as evidence (records database unavailable?)")
    return kept


def record_quietly(ctx: Context, record: Callable[..., Any], **kwargs: Any) -> bool:
    """``record(session, **kwargs)`` (store.health's record_runs or record_failed_run) in its own transaction;
    a records database that is down costs the health history this run (logged as an error), never the
    crawl's posts."""
    try:
        with ctx.records.session() as session:
            record(session, **kwargs)
    except Exception:
        log.exception("source runs not recorded (records database unavailable?)")
        return False
    return True
