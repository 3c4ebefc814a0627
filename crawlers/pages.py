"""The page or API response each post was read from, kept for the evidence (固定证据) of a flagged post.

A spider middleware: for every post a callback yields, the response it came from (an article page, a
Weibo API answer, a 股吧 list page …) is written once, by its SHA-256, under ``YUQING_PAGES_DIR``, and a
line ``{url, page_url, status, mime, sha256, size, fetched_at, file}`` joins ``index.jsonl`` there. The
crawl orchestration (``yuqing.crawl``) hands the pages of the posts that were flagged to
``playbooks.evidence.keep_page`` after ingest, then deletes the folder: nothing of a post's RawPost
contract changes, and a page no alert needs is never stored.

A response larger than ``YUQING_PAGE_MAX_BYTES`` (5 MB) is indexed with its SHA-256 and size but its
bytes are not kept (``file`` is null), so the evidence says what was fetched without filling the store.
Unset ``YUQING_PAGES_DIR``: the middleware is off (``NotConfigured``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.exceptions import NotConfigured

INDEX = "index.jsonl"
MAX_BYTES = 5 * 1024 * 1024


class PageKeeperMiddleware:
    def __init__(self, directory: Path, max_bytes: int = MAX_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._written: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: Any) -> PageKeeperMiddleware:
        where = crawler.settings.get("YUQING_PAGES_DIR")
        if not where:
            raise NotConfigured("YUQING_PAGES_DIR is not set")
        return cls(Path(where), crawler.settings.getint("YUQING_PAGE_MAX_BYTES", MAX_BYTES))

    def process_spider_output(self, response: Any, result: Any, spider: Any = None):
        for obj in result:
            self._keep(response, obj)
            yield obj

    async def process_spider_output_async(self, response: Any, result: Any, spider: Any = None):
        async for obj in result:
            self._keep(response, obj)
            yield obj

    def _keep(self, response: Any, obj: Any) -> None:
        if isinstance(obj, Request) or not hasattr(obj, "get"):
            return
        url = obj.get("url")
        body = getattr(response, "body", None)
        if not url or body is None:
            return
        body = bytes(body)
        digest = hashlib.sha256(body).hexdigest()
        kept = len(body) <= self.max_bytes
        with self._lock:
            if kept and digest not in self._written:
                (self.directory / digest).write_bytes(body)
                self._written.add(digest)
            ctype = response.headers.get(b"Content-Type") if getattr(response, "headers", None) else None
            line = {
                "url": str(url),
                "page_url": str(getattr(response, "url", "") or ""),
                "status": int(getattr(response, "status", 0) or 0),
                "mime": (ctype or b"").decode("latin-1")[:100],
                "sha256": digest,
                "size": len(body),
                "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "file": digest if kept else None,
            }
            with (self.directory / INDEX).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def read_index(directory: Path) -> dict[str, dict[str, Any]]:
    """``url`` → the last page line for it (a post yielded twice keeps the later response)."""
    out: dict[str, dict[str, Any]] = {}
    path = directory / INDEX
    if not path.is_file():
        return out
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            try:
                line = json.loads(raw)
            except ValueError:  # a line cut short by a killed crawl: the others stand
                continue
            if isinstance(line, dict) and line.get("url"):
                out[str(line["url"])] = line
    return out


def page_bytes(directory: Path, line: dict[str, Any]) -> bytes | None:
    """The kept bytes of an index line, checked against its SHA-256; None if not kept or not intact."""
    name = line.get("file")
    if not name or "/" in str(name) or "\\" in str(name):
        return None
    path = directory / str(name)
    if not path.is_file():
        return None
    data = path.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == line.get("sha256") else None
