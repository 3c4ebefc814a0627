"""Run the configured spiders once and ingest what they found (`yuqing crawl`, `yuqing demo`)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yuqing.context import Context
from yuqing.ingest import IngestReport, ingest_in_batches


class UnknownSource(ValueError):
    pass


class CrawlTimeout(RuntimeError):
    """The crawl process ran past its time limit and was stopped."""


@dataclass
class CrawlResult:
    stats: dict[str, Any] = field(default_factory=dict)
    report: IngestReport = field(default_factory=IngestReport)
    failed_sources: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"抓取完成：{self.report.summary()}"]
        for name, s in sorted(self.stats.items()):
            if not isinstance(s, dict):
                continue
            errors = s.get("errors", 0)
            lines.append(f"  {name}: {s.get('items', 0)} 条" + (f"，错误 {errors}" if errors else ""))
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
    from crawlers.politeness import politeness_overrides
    from crawlers.runner import run_crawl_subprocess
    from crawlers.seen import SeenStore, seen_path_for
    from yuqing.health import record_failed_run, record_quietly, record_runs

    sources = select_sources(ctx, names)
    result = CrawlResult()
    if not sources:
        return result
    run_id = f"crawl-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    overrides: dict[str, Any] = politeness_overrides(sources, contact_url=ctx.settings.crawl.contact_url)
    if ctx.settings.crawl.redis_url:  # scale-out: share one scrapy-redis queue with the other workers
        from crawlers.distributed import redis_settings

        overrides.update(redis_settings(ctx.settings.crawl.redis_url))
    overrides.update(settings or {})
    seen: SeenStore | None = None
    if ctx.settings.crawl.seen_store and not overrides.get("YUQING_SEEN_DB"):
        seen = SeenStore(seen_path_for(ctx.settings.store.path))
        overrides.update(YUQING_SEEN_DB=str(seen.path), YUQING_RUN_ID=run_id, YUQING_SEEN_COMMIT="deferred")
    started = datetime.now(UTC)
    try:
        with tempfile.TemporaryDirectory(prefix="yuqing-crawl-") as tmp:
            out = Path(tmp) / "posts.jsonl"
            try:
                # the child reads secrets (e.g. the 雪球 cookie) itself; it only gets the file's path
                result.stats = (
                    run_crawl_subprocess(
                        sources,
                        out,
                        settings=overrides,
                        timeout=timeout,
                        secrets_file=ctx.settings.secrets_file,
                    )
                    or {}
                )
            except subprocess.TimeoutExpired as exc:
                reason = f"抓取超过 {timeout:g} 秒未结束，已终止"
                record_quietly(
                    record_failed_run,
                    ctx,
                    run_id=run_id,
                    sources=sources,
                    started_at=started,
                    reason=reason,
                    finish_reason="timeout",
                )
                raise CrawlTimeout(reason) from exc
            except RuntimeError as exc:
                lines = str(exc).strip().splitlines() or [""]
                reason = f"抓取进程异常退出：{lines[0]}" + (
                    f"；日志末行：{lines[-1]}" if len(lines) > 1 else ""
                )
                record_quietly(
                    record_failed_run,
                    ctx,
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
        new_by_source: dict[str, int] = {}
        by_source: dict[str, list[dict[str, Any]]] = {}
        for post in posts:
            by_source.setdefault(str(post.get("source") or ""), []).append(post)
        for name, group in by_source.items():
            report = ingest_in_batches(group, ctx=ctx)
            new_by_source[name] = report.stored_new
            result.report.merge(report)
    except BaseException:
        if seen is not None:
            seen.discard(run_id)  # nothing of this run counts as seen: the next run offers it again
            seen.close()
        raise
    if seen is not None:
        seen.commit(run_id)
        seen.close()
    record_quietly(
        record_runs,
        ctx,
        run_id=run_id,
        started_at=started,
        finished_at=datetime.now(UTC),
        stats=result.stats,
        new_by_source=new_by_source,
    )
    for name, s in result.stats.items():
        if isinstance(s, dict) and s.get("errors") and not s.get("items"):
            result.failed_sources.append(name)
    return result
