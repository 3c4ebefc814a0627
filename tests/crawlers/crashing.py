"""A Scrapy extension that kills its crawl process as soon as the spider opens: a deliberately crashing
source for the scheduler tests (loaded in the crawl child process through EXTENSIONS)."""

from __future__ import annotations

import os

from scrapy import signals


class CrashOnOpen:
    @classmethod
    def from_crawler(cls, crawler):
        crawler.signals.connect(cls.crash, signal=signals.spider_opened)
        return cls()

    @staticmethod
    def crash(spider=None):
        os._exit(70)
