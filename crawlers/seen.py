"""The seen-store: an unchanged item is neither fetched again nor stored again.

One small SQLite file (next to the posts store: ``yuqing.db`` → ``yuqing.seen.db``) keeps, for every
key, the version last stored. Two kinds of key live there:

- request keys, set by spiders on requests for things that have a version of their own
  (``meta["seen_key"]``, ``meta["seen_version"]``: an article link and its feed date, a Weibo long text
  and its edit count). :class:`SeenSpiderMiddleware` drops such a request as the callback yields it when
  that version is already stored (no errback runs, so no spider falls back to a shorter version of the
  item); :class:`SeenRequestMiddleware` is the backstop in the downloader for requests that do not come
  from a callback. Either way: counted in ``yuqing/seen_skipped``, not an error.
- post keys (``post:<canonical URL>``) with a version of the post's content and reach
  (:func:`post_version`). :class:`SeenPipeline` drops a post whose version is unchanged
  (``yuqing/unchanged``).

Nothing is marked seen until its posts are safely stored: versions are *staged* under the run's id
and *committed* afterwards — at the end of the crawl when the ingest callable took every batch
(``YUQING_SEEN_COMMIT = "close"``), or by the caller once the posts are in the store
(``"deferred"``, what ``yuqing crawl`` does, since the child process only writes a file). A run that
fails leaves its staged versions uncommitted, so the next run fetches and stores them again.

Settings: ``YUQING_SEEN_DB`` (path; unset = no seen-store), ``YUQING_RUN_ID``, ``YUQING_SEEN_COMMIT``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.exceptions import DropItem, IgnoreRequest, NotConfigured

logger = logging.getLogger(__name__)

SEEN_SUFFIX = ".seen.db"
REQUEST_META_KEY = "seen_key"
REQUEST_META_VERSION = "seen_version"
ITEM_ATTR = "_yuqing_seen_request"  # (key, version) of the request an item came from

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS staged (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, key)
);
"""


class SeenSkip(IgnoreRequest):
    """A request skipped because what it would fetch is already stored in this version."""


def seen_path_for(store_path: str | Path) -> Path:
    """Where the seen-store lives for a posts store file: ``yuqing.db`` → ``yuqing.seen.db``."""
    p = Path(store_path)
    return p.with_name(p.stem + SEEN_SUFFIX)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def reach_bucket(n: Any) -> int:
    """log2 buckets: 0, 1, 2-3, 4-7, …; a post whose reach doubles is worth storing again."""
    try:
        value = max(0, int(n or 0))
    except (TypeError, ValueError):
        value = 0
    return int(math.log2(value + 1))


def post_version(post: Mapping[str, Any]) -> str:
    """A post's version: its content (whitespace ignored) and its reach class.

    A Weibo post liked once more is the same version; one reposted twice as often is a new one,
    because reach moves a post's risk level.
    """
    content = re.sub(r"\s+", "", f"{post.get('title', '')}\x1f{post.get('text', '')}")
    reach = ",".join(
        str(reach_bucket(post.get(k))) for k in ("reposts", "comments", "likes", "user_followers")
    )
    return hashlib.sha1(f"{content}\x1e{reach}".encode()).hexdigest()[:20]


def post_key(post: Mapping[str, Any]) -> str:
    ident = post.get("canonical_url") or post.get("url") or ""
    if not ident and post.get("site_id"):
        ident = f"{post.get('source', '')}#{post['site_id']}"
    return f"post:{ident}" if ident else ""


def version_of(*parts: Any) -> str:
    """A short version string from the things that change when an item changes (for spiders)."""
    basis = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


class SeenStore:
    """Keys and the version last stored, in one SQLite file shared by every crawl process."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def _txn(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- reading ---------------------------------------------------------------------------------

    def version(self, key: str) -> str | None:
        row = self._conn().execute("SELECT version FROM seen WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def is_current(self, key: str, version: str) -> bool:
        return bool(key) and bool(version) and self.version(key) == version

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM seen").fetchone()[0])

    # -- writing ---------------------------------------------------------------------------------

    def stage(self, run_id: str, key: str, version: str, source: str = "") -> None:
        """Remember ``key`` at ``version`` for this run; it counts as seen only after :meth:`commit`."""
        with self._txn() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO staged (run_id, key, version, source) VALUES (?, ?, ?, ?)",
                (run_id, key, version, source),
            )

    def commit(self, run_id: str) -> int:
        """Make the run's staged versions current; returns how many keys were committed."""
        now = _now()
        with self._txn() as conn:
            rows = conn.execute(
                "SELECT key, version, source FROM staged WHERE run_id = ?", (run_id,)
            ).fetchall()
            conn.executemany(
                """INSERT INTO seen (key, version, source, first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(key) DO UPDATE SET version = excluded.version, source = excluded.source,
                   updated_at = excluded.updated_at""",
                [(k, v, s, now, now) for k, v, s in rows],
            )
            conn.execute("DELETE FROM staged WHERE run_id = ?", (run_id,))
        return len(rows)

    def discard(self, run_id: str) -> int:
        """Forget a failed run's staged versions (what it fetched will be fetched again)."""
        with self._txn() as conn:
            return conn.execute("DELETE FROM staged WHERE run_id = ?", (run_id,)).rowcount

    def mark(self, key: str, version: str, source: str = "") -> None:
        """Stage and commit at once (tests, tools)."""
        run = f"mark-{uuid.uuid4().hex}"
        self.stage(run, key, version, source)
        self.commit(run)


# ----------------------------------------------------------------------------- Scrapy components


def _store_from_crawler(crawler: Any) -> tuple[SeenStore, str]:
    path = crawler.settings.get("YUQING_SEEN_DB")
    if not path:
        raise NotConfigured("YUQING_SEEN_DB is not set: no seen-store")
    run_id = str(crawler.settings.get("YUQING_RUN_ID") or "")
    if not run_id:  # a crawl without a run id stages under its own and commits at close
        run_id = getattr(crawler, "_yuqing_run_id", "") or f"run-{uuid.uuid4().hex}"
        crawler._yuqing_run_id = run_id
    return SeenStore(path), run_id


def _inc(crawler: Any, key: str, count: int = 1) -> None:
    if getattr(crawler, "stats", None) is not None:
        crawler.stats.inc_value(key, count)


class SeenRequestMiddleware:
    """Downloader middleware: skip a request whose ``seen_key`` is stored at its ``seen_version``."""

    def __init__(self, crawler: Any, store: SeenStore):
        self.crawler = crawler
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeenRequestMiddleware:
        store, _ = _store_from_crawler(crawler)
        return cls(crawler, store)

    def process_request(self, request: Any, spider: Any = None) -> None:
        key = request.meta.get(REQUEST_META_KEY)
        version = request.meta.get(REQUEST_META_VERSION)
        if key and version and self.store.is_current(str(key), str(version)):
            _inc(self.crawler, "yuqing/seen_skipped")
            raise SeenSkip(f"unchanged since last crawl: {key}")
        return None


class SeenSpiderMiddleware:
    """Spider middleware, two jobs on what callbacks yield:

    - a request whose ``seen_key`` is stored at its ``seen_version`` is dropped right here (counted in
      ``yuqing/seen_skipped``), before it is scheduled: so no errback runs for it, and no spider falls back
      to a shorter version of the item (a Weibo short text, a search summary) that would replace the stored
      full one;
    - each item is tagged with the ``(seen_key, seen_version)`` of its response's request, so the pipeline
      can mark that request seen once the item is stored.
    """

    def __init__(self, crawler: Any, store: SeenStore):
        self.crawler = crawler
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeenSpiderMiddleware:
        store, _ = _store_from_crawler(crawler)
        return cls(crawler, store)

    def process_spider_output(self, response: Any, result: Any, spider: Any = None):
        for obj in result:
            if self._keep(response, obj):
                yield obj

    async def process_spider_output_async(self, response: Any, result: Any, spider: Any = None):
        async for obj in result:
            if self._keep(response, obj):
                yield obj

    def _keep(self, response: Any, obj: Any) -> bool:
        if isinstance(obj, Request):
            key, version = obj.meta.get(REQUEST_META_KEY), obj.meta.get(REQUEST_META_VERSION)
            if key and version and self.store.is_current(str(key), str(version)):
                _inc(self.crawler, "yuqing/seen_skipped")
                return False
            return True
        meta = getattr(response, "meta", None) or {}
        key, version = meta.get(REQUEST_META_KEY), meta.get(REQUEST_META_VERSION)
        if key and version and hasattr(obj, "fields") and not hasattr(obj, ITEM_ATTR):
            setattr(obj, ITEM_ATTR, (str(key), str(version)))
        return True


class SeenPipeline:
    """Drop posts stored before in the same version; stage the versions of the rest.

    Runs after the in-run dedup and before ingest. At close, when ``YUQING_SEEN_COMMIT`` is
    ``"close"`` and no batch failed to ingest, the staged versions are committed; on a failed ingest
    they are discarded (the posts will be fetched and offered again).
    """

    def __init__(self, crawler: Any, store: SeenStore, run_id: str, commit: str = "close"):
        if commit not in ("close", "deferred"):
            raise ValueError("YUQING_SEEN_COMMIT must be 'close' or 'deferred'")
        self.crawler = crawler
        self.store = store
        self.run_id = run_id
        self.commit_mode = commit

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeenPipeline:
        store, run_id = _store_from_crawler(crawler)
        return cls(crawler, store, run_id, str(crawler.settings.get("YUQING_SEEN_COMMIT") or "close"))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        post = dict(item)
        source = str(post.get("source") or "")
        request = getattr(item, ITEM_ATTR, None)
        if request:
            self.store.stage(self.run_id, request[0], request[1], source)
        key = post_key(post)
        if not key:
            return item
        version = post_version(post)
        if self.store.version(key) == version:
            _inc(self.crawler, "yuqing/unchanged")
            raise DropItem(f"unchanged since last crawl: {key}")
        self.store.stage(self.run_id, key, version, source)
        return item

    def close_spider(self, spider: Any = None) -> None:
        if self.commit_mode != "close":
            return
        stats = self.crawler.stats
        if stats is not None and stats.get_value("yuqing/ingest_failed"):
            dropped = self.store.discard(self.run_id)
            logger.warning("ingest failed: %d seen versions not committed (will be fetched again)", dropped)
            return
        self.store.commit(self.run_id)
