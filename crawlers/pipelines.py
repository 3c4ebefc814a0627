"""Item pipelines: normalise → validate → dedup → hand batches to the ingest callable.

Stats (in the crawler's stats, read by ``crawlers.runner``):
``yuqing/dropped_invalid``, ``yuqing/duplicates``, ``yuqing/ingested``, ``yuqing/ingest_failed``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.misc import load_object

from crawlers.items import INT_FIELDS, RAWPOST_DEFAULTS, STR_FIELDS
from crawlers.validation import validation_error

logger = logging.getLogger(__name__)

# query parameters that only track a visit; dropped from canonical URLs
TRACKING_PARAMS = frozenset(
    {
        "spm",
        "from",
        "fbclid",
        "gclid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "share_source",
        "share_medium",
        "share_token",
    }
)
# content-hash dedup only for posts this long: short social posts ("晚安") repeat legitimately
MIN_HASHED_TEXT = 50


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no ``utm_*``/tracking parameters."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{netloc}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))


_FULLWIDTH_ALNUM = re.compile(
    r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\u00a0\u2002-\u200a\u202f\u205f]"
)
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")


def safe_nfkc(text: str) -> str:
    """NFKC only where it is safe for Chinese text: full-width letters/digits and odd spaces.

    Full NFKC would also turn the Chinese full-width punctuation ``，：（）！`` into ASCII, which changes
    what a duty officer reads; that we leave alone.
    """
    text = _ZERO_WIDTH.sub("", text)
    return _FULLWIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)


def normalize_text(text: str) -> str:
    """Strip each line, collapse runs of spaces, drop empty lines; paragraphs stay joined by ``\\n``."""
    text = safe_nfkc(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def normalize_post(post: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and normalise the fields of a RawPost dict (returns a new dict)."""
    out = {**RAWPOST_DEFAULTS, **post}
    for name in STR_FIELDS:
        value = out.get(name)
        out[name] = "" if value is None else str(value)
    out["text"] = normalize_text(out["text"])
    for name in ("title", "author", "source", "source_family", "site_id", "published_at", "fetched_at"):
        out[name] = " ".join(safe_nfkc(out[name]).split())
    out["url"] = out["url"].strip()
    out["canonical_url"] = canonical_url(out["canonical_url"] or out["url"])
    for name in INT_FIELDS:
        value = out.get(name)
        try:
            out[name] = max(0, int(value or 0))
        except (TypeError, ValueError):
            out[name] = 0
    out["user_verified"] = bool(out.get("user_verified"))
    return out


def content_hash(post: dict[str, Any]) -> str:
    basis = re.sub(r"\s+", "", f"{post.get('title', '')}\x1f{post.get('text', '')}")
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()


class _StatsMixin:
    crawler: Any

    def _inc(self, key: str, count: int = 1) -> None:
        stats = getattr(self.crawler, "stats", None)
        if stats is not None:
            stats.inc_value(key, count)


class NormalizePipeline:
    @classmethod
    def from_crawler(cls, crawler: Any) -> NormalizePipeline:
        return cls()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        normalized = normalize_post(dict(item))
        for key, value in normalized.items():
            item[key] = value
        return item


class ValidatePipeline(_StatsMixin):
    """Drop items that break the RawPost contract; the reason is logged and counted."""

    def __init__(self, crawler: Any = None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        reason = validation_error(dict(item))
        if reason:
            self._inc("yuqing/dropped_invalid")
            logger.warning(
                "invalid RawPost dropped (%s): source=%r url=%r", reason, item.get("source"), item.get("url")
            )
            raise DropItem(f"invalid RawPost: {reason}")
        return item


class SeenSet:
    """What a run has seen (canonical URLs, content hashes), shared by all of the run's crawlers.

    Put one in the ``YUQING_SEEN`` setting; Scrapy deep-copies settings per crawler, so this object
    copies as itself to stay shared.
    """

    def __init__(self) -> None:
        self.urls: set[str] = set()
        self.hashes: set[str] = set()

    def __deepcopy__(self, memo: dict) -> SeenSet:
        return self


class DedupPipeline(_StatsMixin):
    """Within one run: drop a post whose canonical URL, or whose content, was already seen.

    The run's ``YUQING_SEEN`` (a :class:`SeenSet`) makes the check span all sources of the run;
    without it each crawler dedups on its own.
    """

    def __init__(self, crawler: Any = None, seen: SeenSet | None = None):
        self.crawler = crawler
        self.seen = seen if seen is not None else SeenSet()
        self.seen_urls = self.seen.urls
        self.seen_hashes = self.seen.hashes

    @classmethod
    def from_crawler(cls, crawler: Any) -> DedupPipeline:
        seen = crawler.settings.get("YUQING_SEEN")
        return cls(crawler, seen if isinstance(seen, SeenSet) else None)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        key = item.get("canonical_url") or canonical_url(item.get("url", ""))
        if key and key in self.seen_urls:
            self._inc("yuqing/duplicates")
            raise DropItem(f"duplicate URL {key}")
        digest = content_hash(dict(item)) if len(item.get("text", "")) >= MIN_HASHED_TEXT else ""
        if digest and digest in self.seen_hashes:
            self._inc("yuqing/duplicates")
            raise DropItem(f"duplicate content of {key}")
        if key:
            self.seen_urls.add(key)
        if digest:
            self.seen_hashes.add(digest)
        return item


class IngestPipeline(_StatsMixin):
    """Batch posts to the ``YUQING_INGEST`` callable (``YUQING_BATCH_SIZE`` at a time, the rest on close).

    A batch the callable rejects is kept and tried again with the next batch and at close; what still
    fails at close is logged as an error and counted in ``yuqing/ingest_failed`` (never silently lost).
    """

    def __init__(self, ingest: Callable[[list[dict]], object], batch_size: int = 50, crawler: Any = None):
        if batch_size < 1:
            raise ValueError("YUQING_BATCH_SIZE must be >= 1")
        self.ingest = ingest
        self.batch_size = batch_size
        self.crawler = crawler
        self.pending: list[dict] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> IngestPipeline:
        ingest = crawler.settings.get("YUQING_INGEST")
        if not ingest:
            raise NotConfigured("YUQING_INGEST is not set: no ingest callable to hand posts to")
        if isinstance(ingest, str):
            ingest = load_object(ingest)
        if not callable(ingest):
            raise TypeError(f"YUQING_INGEST must be callable, got {ingest!r}")
        return cls(ingest, crawler.settings.getint("YUQING_BATCH_SIZE", 50), crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        self.pending.append(dict(item))
        if len(self.pending) >= self.batch_size:
            self._flush(final=False)
        return item

    def close_spider(self, spider: Any = None) -> None:
        self._flush(final=True)

    def _flush(self, *, final: bool) -> None:
        while self.pending and (final or len(self.pending) >= self.batch_size):
            batch = self.pending[: self.batch_size]
            try:
                self.ingest(batch)
            except Exception:
                if final:
                    self._inc("yuqing/ingest_failed", len(self.pending))
                    logger.exception("ingest failed at close: %d posts not ingested", len(self.pending))
                    self.pending = []
                else:
                    self._inc("yuqing/ingest_errors")
                    logger.exception("ingest failed for a batch of %d posts; will retry", len(batch))
                return
            del self.pending[: len(batch)]
            self._inc("yuqing/ingested", len(batch))
