"""What every source-family spider shares: the source as data, error recording, RawPost building."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.items import RawPost, new_rawpost

MAX_ERROR_REASONS = 20


class SourceSpider(scrapy.Spider):
    """A spider for one configured source.

    ``source`` is a ``SourceConfig`` as a dict (or its JSON, as ``scrapy crawl -a source=...`` gives);
    per-site differences live in ``source["options"]``.
    """

    family = ""

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(source, str):
            source = json.loads(source)
        if not source or not source.get("name") or not source.get("url"):
            raise ValueError(f"{type(self).__name__} needs source= a dict with at least 'name' and 'url'")
        if source.get("family") and self.family and source["family"] != self.family:
            raise ValueError(f"source {source['name']!r} is family {source['family']!r}, not {self.family!r}")
        self.source: dict[str, Any] = dict(source)
        self.options: dict[str, Any] = dict(self.source.get("options") or {})
        self.source_name: str = self.source["name"]

    # -- scrapy entry points (start() for Scrapy >= 2.13, start_requests() for older) -------------

    async def start(self) -> AsyncIterator[Any]:
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterable[scrapy.Request]:  # pragma: no cover - overridden
        return []

    # -- helpers ---------------------------------------------------------------------------------

    def new_post(self, **fields: Any) -> RawPost:
        return new_rawpost(source=self.source_name, source_family=self.family, **fields)

    def _inc(self, key: str, count: int = 1) -> None:
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            crawler.stats.inc_value(key, count)

    def record_source_error(self, reason: str, *, url: str = "", kind: str = "error") -> None:
        """A source failed (HTTP error, API error, unparseable response): log, count, keep the reason."""
        self.logger.error("source %r: %s%s", self.source_name, reason, f" ({url})" if url else "")
        self._inc("yuqing/source_error")
        self._inc(f"yuqing/source_error/{kind}")
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            reasons = list(crawler.stats.get_value("yuqing/source_error_reasons") or [])
            if len(reasons) < MAX_ERROR_REASONS:
                reasons.append(f"{reason}{f' ({url})' if url else ''}")
                crawler.stats.set_value("yuqing/source_error_reasons", reasons)

    def describe_failure(self, failure: Failure) -> tuple[str, str] | None:
        """``(kind, reason)`` for a failed request, or None when it was deliberately skipped (robots.txt)."""
        if failure.check(HttpError):
            response = failure.value.response
            return "http", f"HTTP {response.status}"
        if failure.check(IgnoreRequest):
            self._inc("yuqing/ignored")
            self.logger.info("source %r: request skipped: %s", self.source_name, failure.value)
            return None
        return "network", f"{failure.type.__name__}: {failure.getErrorMessage()}"

    @staticmethod
    def failed_url(failure: Failure) -> str:
        request = getattr(failure, "request", None)
        if request is not None:
            return request.url
        response = getattr(failure.value, "response", None)
        return response.url if response is not None else ""
