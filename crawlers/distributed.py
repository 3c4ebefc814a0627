"""Scale-out with scrapy-redis: several crawl processes (on one machine or many) share one request queue.

:func:`redis_settings` switches Scrapy's scheduler and dupefilter to scrapy-redis. Every process that
crawls a source in the same *round* pushes its requests to, and pops them from, one Redis queue, and
one Redis set of request fingerprints decides what has been requested already, so each page is
fetched once between them however many processes work on it.

Keys are per source and per round (``yuqing:<source>:<round>:requests`` / ``:dupefilter``), not per
spider class as scrapy-redis does by default: our spiders are families (every news site is the same
``news`` spider), and two sources must never pop each other's requests. A round is the source's
interval window (``floor(now / interval)``), so workers started by ``yuqing schedule`` on several
machines within one interval share a round; ``YUQING_REDIS_ROUND`` fixes it explicitly. Keys expire
after a day (``YUQING_REDIS_TTL``) instead of being flushed at close, because another worker may
still be busy when one finishes.

Differences from plain scrapy-redis, and why:

- a start request (the feed, the list page) is checked against the shared fingerprints even though
  it is ``dont_filter``: otherwise every worker would fetch the feed;
- a worker whose queue runs dry waits ``YUQING_REDIS_IDLE_CLOSE`` seconds for work pushed by the
  others before it closes (:class:`WaitForPeers`), as scrapy-redis' own ``RedisSpider`` does with
  ``MAX_IDLE_TIME_BEFORE_CLOSE``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

logger = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def redis_settings(
    redis_url: str, *, round_id: str | None = None, idle_close: float = 10.0
) -> dict[str, Any]:
    """Scrapy setting overrides that put a crawl on the shared Redis queue at ``redis_url``."""
    out: dict[str, Any] = {
        "SCHEDULER": "crawlers.distributed.SourceRedisScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # keys expire instead; another worker may still be using them
        "REDIS_URL": redis_url,
        "YUQING_REDIS_IDLE_CLOSE": idle_close,
        "EXTENSIONS": {"crawlers.distributed.WaitForPeers": 500},
    }
    if round_id:
        out["YUQING_REDIS_ROUND"] = round_id
    return out


def key_part(name: str) -> str:
    """A source name as a Redis key part: ASCII-safe and unique (Chinese names hash)."""
    safe = _SAFE.sub("_", name)
    if safe != name:
        safe = f"{safe[:40]}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:10]}"
    return safe


def round_for(spider: Any, settings: Any, now: float | None = None) -> str:
    explicit = settings.get("YUQING_REDIS_ROUND")
    if explicit:
        return key_part(str(explicit))
    source = getattr(spider, "source", None) or {}
    interval = max(60, int(source.get("interval_minutes") or 30) * 60)
    return str(int((now if now is not None else time.time()) // interval))


class SourceRedisScheduler(Scheduler):
    """scrapy-redis' scheduler with one queue and one fingerprint set per source and round."""

    def open(self, spider: Any) -> None:
        settings = spider.crawler.settings
        source = key_part(str(getattr(spider, "source_name", "") or spider.name))
        prefix = f"yuqing:{source}:{round_for(spider, settings)}"
        self.queue_key = f"{prefix}:requests"
        self.dupefilter_key = f"{prefix}:dupefilter"
        self.df = RFPDupeFilter(
            self.server, key=self.dupefilter_key, debug=settings.getbool("DUPEFILTER_DEBUG")
        )
        self.ttl = settings.getint("YUQING_REDIS_TTL", DEFAULT_TTL)
        super().open(spider)
        logger.info("source %r: shared Redis queue %s", source, self.queue_key)

    def enqueue_request(self, request: Any) -> bool:
        # the feed is requested once per round between all workers, though start requests are dont_filter
        if request.meta.get("is_start_request") and request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            if self.stats:
                self.stats.inc_value("yuqing/redis/start_taken_by_peer")
            return False
        added = super().enqueue_request(request)
        if added:
            self.server.expire(self.queue_key, self.ttl)
            self.server.expire(self.dupefilter_key, self.ttl)
        return added

    def close(self, reason: str) -> None:
        self.server.expire(self.queue_key, self.ttl)
        self.server.expire(self.dupefilter_key, self.ttl)
        super().close(reason)


class WaitForPeers:
    """Keep an idle worker open while its shared queue may still be fed by others.

    It closes after ``YUQING_REDIS_IDLE_CLOSE`` seconds of idleness with an empty queue.
    """

    def __init__(self, crawler: Any, idle_close: float):
        self.crawler = crawler
        self.idle_close = idle_close
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> WaitForPeers:
        if "scrapy_redis" not in str(crawler.settings.get("DUPEFILTER_CLASS")):
            raise NotConfigured("not a distributed crawl")
        ext = cls(crawler, crawler.settings.getfloat("YUQING_REDIS_IDLE_CLOSE", 10.0))
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(ext.request_scheduled, signal=signals.response_received)
        return ext

    def request_scheduled(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None

    def spider_idle(self, spider: Any = None) -> None:
        scheduler = self.crawler.engine.scheduler if self.crawler.engine else None
        if scheduler is not None and scheduler.has_pending_requests():
            self.idle_since = None
            raise DontCloseSpider("requests waiting in the shared queue")
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.idle_close:
            raise DontCloseSpider("waiting for peers to share work")
