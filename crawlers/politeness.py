"""Politeness that Scrapy does not give by itself: backoff before retrying 429/503, per-source limits,
and the User-Agent that names us and says where to reach us.

Scrapy's ``RetryMiddleware`` retries a 429 at once, which is exactly what a rate-limited site asked us
not to do. :class:`BackoffRetryMiddleware` takes its place: on the codes in ``RETRY_BACKOFF_HTTP_CODES``
(429, 503) it waits ``RETRY_BACKOFF_BASE × 2^n`` seconds (n = retries so far), or the server's
``Retry-After`` when that is longer, never more than ``RETRY_BACKOFF_MAX``; other retryable codes and
network errors are retried as Scrapy does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)

PRODUCT = "YuqingDesk/0.1"


def user_agent(contact_url: str = "") -> str:
    """``YuqingDesk/0.1 (+https://firm.example/crawler; 舆情监测)``: who we are and how to reach us."""
    contact = (contact_url or "").strip()
    return (
        f"{PRODUCT} (+{contact}; public-opinion monitoring)"
        if contact
        else f"{PRODUCT} (public-opinion monitoring)"
    )


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware with exponential backoff (and ``Retry-After``) for rate limiting and overload."""

    def __init__(self, settings: Any):
        super().__init__(settings)
        self.backoff_codes = {int(x) for x in settings.getlist("RETRY_BACKOFF_HTTP_CODES") or [429, 503]}
        self.backoff_base = max(0.0, settings.getfloat("RETRY_BACKOFF_BASE", 2.0))
        self.backoff_max = max(0.0, settings.getfloat("RETRY_BACKOFF_MAX", 120.0))

    def backoff_delay(self, request: Any, response: Any) -> float:
        tries = int(request.meta.get("retry_times", 0))
        delay = self.backoff_base * (2**tries)
        server = retry_after_seconds(response.headers.get("Retry-After"))
        if server is not None:
            delay = max(delay, server)
        return min(delay, self.backoff_max)

    async def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if response.status in self.backoff_codes:
            delay = self.backoff_delay(request, response)
            stats = getattr(self.crawler, "stats", None)
            if stats is not None:
                stats.inc_value("yuqing/backoff_waits")
                stats.inc_value("yuqing/backoff_seconds", delay)
            logger.info(
                "HTTP %d from %s: waiting %.1f s before retrying", response.status, request.url, delay
            )
            if delay > 0:
                from twisted.internet import reactor, task

                await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))
        return retry


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def source_slots(sources: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``DOWNLOAD_SLOTS`` from per-source options ``concurrency`` and ``download_delay``.

    Keyed by the source URL's host (Scrapy's download slot); two sources on one host get the
    stricter of their limits.
    """
    slots: dict[str, dict[str, Any]] = {}
    for src in sources:
        options = src.get("options") or {}
        host = _host(str(src.get("url") or ""))
        if not host or not src.get("enabled", True):
            continue
        slot: dict[str, Any] = {}
        if options.get("concurrency") is not None:
            slot["concurrency"] = max(1, int(options["concurrency"]))
        if options.get("download_delay") is not None:
            slot["delay"] = max(0.0, float(options["download_delay"]))
        if not slot:
            continue
        prev = slots.setdefault(host, {})
        if "concurrency" in slot:
            prev["concurrency"] = min(prev.get("concurrency", slot["concurrency"]), slot["concurrency"])
        if "delay" in slot:
            prev["delay"] = max(prev.get("delay", slot["delay"]), slot["delay"])
    return slots


def politeness_overrides(sources: Iterable[Mapping[str, Any]], *, contact_url: str = "") -> dict[str, Any]:
    """Scrapy setting overrides for a run: the identifying User-Agent and per-source slots."""
    sources = list(sources)
    if not contact_url:
        logger.warning("crawl.contact_url is not set: the User-Agent names no contact for site operators")
    out: dict[str, Any] = {"USER_AGENT": user_agent(contact_url)}
    slots = source_slots(sources)
    if slots:
        out["DOWNLOAD_SLOTS"] = slots
    return out
