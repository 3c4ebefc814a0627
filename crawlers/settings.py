"""Polite Scrapy defaults for Yuqing Desk spiders.

The runner (``crawlers.runner``) loads this module and lays per-run overrides on top; tests lower the
delays because they crawl a loopback server.
"""

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# Say who we are; the contact URL is in the deployment's config (``[crawl] contact_url`` in yuqing.toml),
# and ``yuqing crawl`` puts it here (crawlers.politeness.user_agent).
USER_AGENT = "YuqingDesk/0.1 (public-opinion monitoring)"

# Politeness
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = (
    2  # per source: options.concurrency / options.download_delay → DOWNLOAD_SLOTS
)
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

# Retries: transient server errors and rate limiting (429). On 429/503 we wait before retrying,
# 2 s, 4 s, 8 s … or the server's Retry-After when longer (crawlers.politeness.BackoffRetryMiddleware).
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_HTTP_CODES = [429, 503]
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 120.0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.politeness.BackoffRetryMiddleware": 550,
    # after robots.txt (100): a forbidden page is reported as forbidden, not as "seen"
    "crawlers.seen.SeenRequestMiddleware": 120,
}
SPIDER_MIDDLEWARES = {
    "crawlers.seen.SeenSpiderMiddleware": 950,
    # the page or API response each post came from, for a flagged post's evidence (on with YUQING_PAGES_DIR)
    "crawlers.pages.PageKeeperMiddleware": 940,
}

# Let error responses reach the spiders' errbacks so a failing source is recorded, not silently skipped
HTTPERROR_ALLOW_ALL = False

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

ITEM_PIPELINES = {
    "crawlers.pipelines.NormalizePipeline": 100,
    "crawlers.pipelines.ValidatePipeline": 200,
    "crawlers.pipelines.DedupPipeline": 300,
    "crawlers.seen.SeenPipeline": 350,
    "crawlers.pipelines.IngestPipeline": 900,
}

# The ingest callable: ``Callable[[list[dict]], object]`` or a dotted path to one. Set by the runner.
YUQING_INGEST = None
YUQING_BATCH_SIZE = 50

# The seen-store (crawlers.seen): a SQLite path (unset: every run fetches and offers everything again),
# the run id its versions are staged under, and who commits them ("close": this crawl, once every batch
# was ingested; "deferred": the caller, after the posts are stored).
YUQING_SEEN_DB = None
YUQING_RUN_ID = None
YUQING_SEEN_COMMIT = "close"

# Where the crawl keeps the page or API response of each post (crawlers.pages); unset: not kept.
YUQING_PAGES_DIR = None
YUQING_PAGE_MAX_BYTES = 5 * 1024 * 1024
