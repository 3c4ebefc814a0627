"""Run the configured spiders once and ingest what they found (`yuqing crawl`, `yuqing demo`)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yuqing.context import Context
from yuqing.ingest import IngestReport, ingest_in_batches


class UnknownSource(ValueError):
    pass


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
    ctx: Context, *, names: list[str] | None = None, settings: dict[str, Any] | None = None
) -> CrawlResult:
    """Crawl in a child process (Twisted's reactor cannot restart), then ingest through the one door."""
    from crawlers.runner import run_crawl_subprocess

    sources = select_sources(ctx, names)
    result = CrawlResult()
    if not sources:
        return result
    with tempfile.TemporaryDirectory(prefix="yuqing-crawl-") as tmp:
        out = Path(tmp) / "posts.jsonl"
        result.stats = run_crawl_subprocess(sources, out, settings=settings) or {}
        posts = []
        if out.exists():
            with out.open(encoding="utf-8") as fh:
                posts = [json.loads(line) for line in fh if line.strip()]
    result.report = ingest_in_batches(posts, ctx=ctx)
    for name, s in result.stats.items():
        if isinstance(s, dict) and s.get("errors") and not s.get("items"):
            result.failed_sources.append(name)
    return result
