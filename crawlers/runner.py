"""Run the spiders for a list of sources and hand the posts to an ingest callable.

Two ways in:

- ``run_crawl(sources, ingest, settings=None)``: in this process, with Scrapy's ``CrawlerProcess``.
  Twisted's reactor cannot be restarted, so this works once per process.
- ``run_crawl_subprocess(sources, output_path, settings=None)``: a fresh process per run
  (``python -m crawlers.runner --sources SOURCES.json --output OUT.jsonl``) that writes RawPosts as
  JSONL and prints the per-source stats as JSON on its last stdout line. The CLI uses this one.

Both return per-source stats: ``{source_name: {"family", "items", "scraped", "dropped_invalid",
"duplicates", "ingest_failed", "errors", "error_reasons", "requests", "robots_forbidden",
"finish_reason", "elapsed_s"}}`` where ``items`` is the number of posts handed to ingest and ``errors``
the number of recorded source errors (HTTP errors, API errors, unreadable feeds, network failures).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from crawlers.families import FAMILIES

#: ``family`` in a ``[[sources]]`` entry → its spider (a view of crawlers.families.FAMILIES, the one list);
#: per-site differences are that entry's ``options``, checked by the family's options model
SPIDER_FAMILIES: dict[str, str] = {family: spec.spider for family, spec in FAMILIES.items()}

__all__ = ["SPIDER_FAMILIES", "JsonlWriter", "build_settings", "main", "run_crawl", "run_crawl_subprocess"]


class IngestHandle:
    """Wraps the ingest callable so Scrapy's per-crawler deep copy of settings keeps the same object."""

    def __init__(self, fn: Callable[[list[dict]], object]):
        self.fn = fn

    def __call__(self, batch: list[dict]) -> object:
        return self.fn(batch)

    def __deepcopy__(self, memo: dict) -> IngestHandle:
        return self


class JsonlWriter:
    """An ingest callable that appends each batch to a JSONL file (one RawPost per line)."""

    def __init__(self, path: str | os.PathLike[str], *, truncate: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate:
            self.path.write_text("", encoding="utf-8")
        self.count = 0

    def __call__(self, batch: list[dict]) -> int:
        with self.path.open("a", encoding="utf-8") as fh:
            for post in batch:
                fh.write(json.dumps(post, ensure_ascii=False, default=str) + "\n")
        self.count += len(batch)
        return len(batch)


def _source_dict(source: Any) -> dict[str, Any]:
    if hasattr(source, "model_dump"):  # a yuqing.config.SourceConfig
        return source.model_dump(mode="json")
    return dict(source)


def build_settings(
    ingest: Callable[[list[dict]], object] | None = None, overrides: Mapping[str, Any] | None = None
):
    """The project's Scrapy settings (``crawlers.settings``) with ``overrides`` on top."""
    from scrapy.settings import Settings

    from crawlers.pipelines import SeenSet

    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("YUQING_SEEN", SeenSet(), priority="project")
    if overrides:
        settings.update(dict(overrides), priority="cmdline")
    if ingest is not None:
        settings.set("YUQING_INGEST", IngestHandle(ingest), priority="cmdline")
    return settings


def _stat_summary(family: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    start, finish = stats.get("start_time"), stats.get("finish_time")
    elapsed = (
        (finish - start).total_seconds()
        if isinstance(start, datetime) and isinstance(finish, datetime)
        else None
    )
    return {
        "family": family,
        "items": int(stats.get("yuqing/ingested", 0)),
        "scraped": int(stats.get("item_scraped_count", 0)),
        "dropped_invalid": int(stats.get("yuqing/dropped_invalid", 0)),
        "duplicates": int(stats.get("yuqing/duplicates", 0)),
        "ingest_failed": int(stats.get("yuqing/ingest_failed", 0)),
        "errors": int(stats.get("yuqing/source_error", 0)),
        "error_reasons": list(stats.get("yuqing/source_error_reasons", [])),
        "requests": int(stats.get("downloader/request_count", 0)),
        "robots_forbidden": int(stats.get("robotstxt/forbidden", 0)),
        "finish_reason": stats.get("finish_reason", ""),
        "elapsed_s": round(elapsed, 3) if elapsed is not None else None,
        "stats": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()},
    }


def _not_started(family: str, reason: str) -> dict[str, Any]:
    return {
        "family": family,
        "items": 0,
        "scraped": 0,
        "dropped_invalid": 0,
        "duplicates": 0,
        "ingest_failed": 0,
        "errors": 1,
        "error_reasons": [reason],
        "requests": 0,
        "robots_forbidden": 0,
        "finish_reason": "not_started",
        "elapsed_s": None,
        "stats": {},
    }


def run_crawl(
    sources: Sequence[Mapping[str, Any]],
    ingest: Callable[[list[dict]], object],
    *,
    settings: dict | None = None,
) -> dict:
    """Crawl ``sources`` (SourceConfig dicts) once, in this process; return per-source stats.

    Disabled sources (``enabled: false``) are skipped. A source with an unknown family or without a
    name/url is reported with ``finish_reason: "not_started"`` and one error, and the rest still run.
    Call it at most once per process (the Twisted reactor cannot restart); use
    :func:`run_crawl_subprocess` to crawl again.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.misc import load_object

    results: dict[str, dict[str, Any]] = {}
    process = CrawlerProcess(build_settings(ingest, settings))
    crawlers: list[tuple[str, str, Any]] = []
    for raw in sources:
        src = _source_dict(raw)
        name = str(src.get("name") or "")
        family = str(src.get("family") or "")
        if not src.get("enabled", True):
            continue
        if not name or not src.get("url"):
            results[name or f"<unnamed #{len(results)}>"] = _not_started(
                family, "source needs a name and a url"
            )
            continue
        if name in results or any(n == name for n, _, _ in crawlers):
            results[name] = _not_started(family, f"duplicate source name {name!r}")
            continue
        if family not in SPIDER_FAMILIES:
            results[name] = _not_started(family, f"unknown source family {family!r}")
            continue
        spidercls = load_object(SPIDER_FAMILIES[family])
        try:  # a bad source must not take the run down: the first crawler also installs the reactor
            spidercls(source=src)
        except Exception as exc:
            results[name] = _not_started(family, f"bad source config: {type(exc).__name__}: {exc}")
            continue
        crawler = process.create_crawler(spidercls)
        process.crawl(crawler, source=src)
        crawlers.append((name, family, crawler))
    if crawlers:
        process.start(install_signal_handlers=threading.current_thread() is threading.main_thread())
    for name, family, crawler in crawlers:
        results[name] = _stat_summary(family, crawler.stats.get_stats())
    return results


def run_crawl_subprocess(
    sources: Sequence[Mapping[str, Any]],
    output_path: str | os.PathLike[str],
    settings: dict | None = None,
    *,
    timeout: float | None = None,
    log_path: str | os.PathLike[str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
) -> dict:
    """Crawl ``sources`` in a fresh Python process; RawPosts go to ``output_path`` as JSONL.

    Returns the same per-source stats as :func:`run_crawl`. Raises ``RuntimeError`` (with the end of
    the child's log) when the child process fails or prints no stats; ``subprocess.TimeoutExpired``
    when it runs past ``timeout`` seconds. ``log_path``, if given, receives the child's Scrapy log.
    ``secrets_file``: the path (never a secret itself) the child reads secrets from
    (``$YUQING_SECRETS_FILE``); secrets are never written into the sources file.
    """
    output_path = Path(output_path)
    with tempfile.TemporaryDirectory(prefix="yuqing-crawl-") as tmp:
        sources_file = Path(tmp) / "sources.json"
        sources_file.write_text(
            json.dumps([_source_dict(s) for s in sources], ensure_ascii=False, default=str), encoding="utf-8"
        )
        cmd = [
            sys.executable,
            "-m",
            "crawlers.runner",
            "--sources",
            str(sources_file),
            "--output",
            str(output_path),
        ]
        if settings:
            settings_file = Path(tmp) / "settings.json"
            settings_file.write_text(json.dumps(settings, default=str), encoding="utf-8")
            cmd += ["--settings", str(settings_file)]
        env = dict(os.environ)
        # the child must import this package even when it is not installed (e.g. run from a checkout)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONIOENCODING", "utf-8")
        if secrets_file:
            env["YUQING_SECRETS_FILE"] = str(Path(secrets_file).resolve())
        proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", timeout=timeout, env=env)
    if log_path is not None:
        Path(log_path).write_text(proc.stderr, encoding="utf-8")
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        stats = json.loads(last) if last else None
    except json.JSONDecodeError:
        stats = None
    if proc.returncode != 0 or not isinstance(stats, dict):
        tail = "\n".join(proc.stderr.strip().splitlines()[-30:])
        raise RuntimeError(f"crawl process failed (exit {proc.returncode}); log tail:\n{tail}")
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawlers.runner",
        description="Crawl the given sources once; write RawPosts as JSONL; print per-source stats as JSON.",
    )
    parser.add_argument("--sources", required=True, help="JSON file: a list of SourceConfig objects")
    parser.add_argument("--output", required=True, help="JSONL file for the RawPosts (truncated first)")
    parser.add_argument("--settings", help="JSON file: Scrapy setting overrides")
    parser.add_argument("--append", action="store_true", help="append to --output instead of truncating it")
    args = parser.parse_args(argv)

    sources = json.loads(Path(args.sources).read_text(encoding="utf-8"))
    if isinstance(sources, dict):
        sources = sources.get("sources", [])
    overrides = json.loads(Path(args.settings).read_text(encoding="utf-8")) if args.settings else None
    writer = JsonlWriter(args.output, truncate=not args.append)
    stats = run_crawl(sources, writer, settings=overrides)
    sys.stdout.write("\n" + json.dumps(stats, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
