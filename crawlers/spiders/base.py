"""What every source-family spider shares: the source as data, error recording, RawPost building.

Bad answers are recognised here once for every family, each under its own error ``kind`` (the health
page groups by it) with a Chinese + English reason: HTTP 403 / 418 / 429 (after retries) / 404 / 5xx,
login walls (a redirect to a login host, or a 200 page that is a login form), captcha pages, empty bodies,
truncated HTML, undecodable text, non-JSON where JSON was expected, and API error answers (per family).
A bad answer is counted and explained, never stored as a post, never a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.python.failure import Failure
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

from crawlers.extract import decode_html
from crawlers.families import SourceOptions, parse_options
from crawlers.items import RawPost, new_rawpost
from crawlers.spiders.timeparse import parse_now, parse_site_time

MAX_ERROR_REASONS = 20

#: error kind → (中文, English): the reason a person reads on the health page
ERROR_KINDS: dict[str, tuple[str, str]] = {
    "http_403": ("禁止访问（HTTP 403），可能被封禁", "forbidden (HTTP 403), possibly blocked"),
    "http_418": ("被识别为爬虫而拒绝（HTTP 418）", "refused as a bot (HTTP 418)"),
    "rate_limited": ("请求过于频繁，重试后仍被限流（HTTP 429）", "rate limited (HTTP 429) after retries"),
    "http_404": ("页面不存在（HTTP 404）", "not found (HTTP 404)"),
    "http_5xx": ("站点服务器错误", "server error"),
    "http": ("HTTP 错误", "HTTP error"),
    "redirect": ("接口被重定向", "API answered with a redirect"),
    "login_wall": ("需要登录才能查看（登录墙）", "login wall: the site wants a login"),
    "captcha": ("站点要求人机验证", "the site answered with a captcha"),
    "empty": ("响应内容为空", "empty response body"),
    "truncated": ("页面不完整（被截断）", "truncated HTML"),
    "bad_encoding": ("页面编码无法识别，内容是乱码", "undecodable text (wrong charset)"),
    "bad_json": ("应返回 JSON，实际不是", "not JSON where JSON was expected"),
    "api_error": ("接口返回错误", "the API answered with an error"),
    "secret_missing": ("缺少登录凭据（Cookie/令牌）", "missing credential (cookie/token)"),
    "config": ("信息源配置有误", "bad source configuration"),
    "feed": ("订阅源无法解析", "feed unreadable"),
    "no_content": ("页面中没有找到内容", "no content found on the page"),
    "timeout": ("请求超时", "request timed out"),
    "network": ("网络错误", "network error"),
}

_LOGIN_HOST = re.compile(r"^(passport|login|signin|sso|account|accounts)\.", re.I)
_LOGIN_PATH = re.compile(r"/(login|signin|sign_in|sign-in|passport|logon)(?:[/._?]|$)", re.I)
_CAPTCHA = re.compile(r"captcha|^wappass\.baidu\.com", re.I)
_PASSWORD_INPUT = re.compile(r"<input[^>]+type\s*=\s*[\"']?password", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_LOGIN_HEAD = re.compile(
    r"^(用户|账号|帐号|会员|新浪|微博|雪球)?(通行证)?(登录|登入|login|log\s*in|sign\s*in|passport)(页|页面)?$",
    re.I,
)
_CAPTCHA_TITLE = re.compile(r"安全验证|人机验证|验证码|captcha|visitor system", re.I)
_JSONP = re.compile(r"^\s*[\w$.]+\s*\((.*)\)\s*;?\s*$", re.S)


def login_wall_kind(url: str) -> str | None:
    """``"login_wall"`` / ``"captcha"`` when ``url`` is a login or human-check page, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _CAPTCHA.search(host + parts.path):
        return "captcha"
    if _LOGIN_HOST.match(host) or _LOGIN_PATH.search(parts.path or ""):
        return "login_wall"
    return None


def html_wall_kind(html: str) -> str | None:
    """A 200 page that is a login form or a captcha instead of content.

    Judged by a short title about logging in / verification *and* a page with little text besides (plus a
    password field for a login form): an article titled "华鼎金管家APP登录故障" is content, not a wall.
    """
    m = _TITLE.search(html[:20000])
    title = re.sub(r"\s+", " ", m.group(1)).strip() if m else ""
    # the page's own name, before " - 雪球" / "_新浪网"-style site suffixes
    head = re.split(r"\s*[-_|–—·]\s*", title)[0] if title else ""
    if not head or len(title) > 40 or len(_visible_text(html)) > 1500:
        return None
    if _CAPTCHA_TITLE.search(head):
        return "captcha"
    return "login_wall" if _LOGIN_HEAD.match(head) and _PASSWORD_INPUT.search(html) else None


def _visible_text(html: str) -> str:
    body = re.sub(r"(?is)<(script|style|noscript)\b.*?</\1\s*>|<!--.*?-->", " ", html)
    return re.sub(r"\s+", "", re.sub(r"(?s)<[^>]*>", " ", body))


def looks_truncated(body: bytes) -> bool:
    """An HTML document whose end never came: neither ``</html>`` nor ``</body>`` near its end."""
    tail = body[-4096:].lower()
    return b"<html" in body[:4096].lower() and b"</html" not in tail and b"</body" not in tail


def http_status_reason(status: int) -> tuple[str, str]:
    """``(kind, reason)`` for an HTTP error status."""
    kind = {403: "http_403", 418: "http_418", 429: "rate_limited", 404: "http_404"}.get(status)
    if kind is None:
        kind = "http_5xx" if status >= 500 else "redirect" if 300 <= status < 400 else "http"
    zh, en = ERROR_KINDS[kind]
    return kind, f"HTTP {status} {zh} / {en}"


def seen_meta(key: str, *changes: Any) -> dict[str, str]:
    """Request meta for the seen-store (crawlers.seen): a stable item id (platform id or canonical URL)
    and a version derived from what changes with the item (edit time, counts); ``""`` when unknown."""
    from crawlers.seen import version_of

    known = any(c not in (None, "") for c in changes)
    return {"seen_key": str(key), "seen_version": version_of(*changes) if known else ""}


class SecretHeaderMiddleware:
    """Downloader middleware: add the spider's secret headers to requests marked ``meta["yuqing_auth"]``.

    The secret is added just before download, so it is not part of the request as the spider built it
    (nor of a queued, serialised request) and never appears in the spider's own code paths or logs.
    """

    def __init__(self, crawler: Any = None):
        self.crawler = crawler

    def process_request(self, request: scrapy.Request) -> None:
        spider = getattr(self.crawler, "spider", None)
        if request.meta.get("yuqing_auth") and spider is not None and hasattr(spider, "secret_headers"):
            for key, value in spider.secret_headers().items():
                request.headers[key] = value
        return None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SecretHeaderMiddleware:
        return cls(crawler)


class LoginWallMiddleware:
    """Downloader middleware: a redirect to a login / captcha page is not followed but recorded.

    Following it would fetch a login form (or, offline, fail on DNS) and hide the real reason; instead
    the redirect reaches the spider's errback as an HTTP error carrying ``meta["yuqing_wall"]``.
    """

    def process_response(self, request: scrapy.Request, response: Response) -> Response:
        if response.status in (301, 302, 303, 307, 308):
            location = response.headers.get("Location", b"").decode("latin-1")
            kind = login_wall_kind(urljoin(request.url, location))
            if kind:
                request.meta["dont_redirect"] = True
                request.meta["yuqing_wall"] = (kind, urljoin(request.url, location))
        return response


class SourceSpider(scrapy.Spider):
    """A spider for one configured source.

    ``source`` is a ``SourceConfig`` as a dict (or its JSON, as ``scrapy crawl -a source=...`` gives);
    per-site differences live in ``source["options"]``, validated here by the family's options model
    (crawlers.families) into ``self.options``: an unknown or mistyped option raises SourceOptionsError.
    """

    family = ""
    options: SourceOptions

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(source, str):
            source = json.loads(source)
        if not source or not source.get("name") or not source.get("url"):
            raise ValueError(f"{type(self).__name__} needs source= a dict with at least 'name' and 'url'")
        if source.get("family") and self.family and source["family"] != self.family:
            raise ValueError(f"source {source['name']!r} is family {source['family']!r}, not {self.family!r}")
        self.source: dict[str, Any] = dict(source)
        self.source_name: str = self.source["name"]
        self.options = parse_options(self.family, self.source.get("options"), source=self.source_name)

    # -- scrapy entry points (start() for Scrapy >= 2.13, start_requests() for older) -------------

    async def start(self) -> AsyncIterator[Any]:
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterable[scrapy.Request]:  # pragma: no cover - overridden
        return []

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        # added to whatever the project configured, not replacing it (crawl-ops owns the rest)
        mws = settings.getdict("DOWNLOADER_MIDDLEWARES")
        mws.update({LoginWallMiddleware: 650, SecretHeaderMiddleware: 710})
        # at spider priority: CrawlerProcess.crawl(crawler) lays the process's settings over the
        # crawler's at their own priority, which would drop an addition made at project priority
        priority = max(settings.getpriority("DOWNLOADER_MIDDLEWARES") or 0, SETTINGS_PRIORITIES["spider"])
        settings.set("DOWNLOADER_MIDDLEWARES", mws, priority=priority)

    def secret_headers(self) -> dict[str, str]:
        """Headers carrying a secret (a cookie), added by SecretHeaderMiddleware at download time only."""
        return {}

    # -- helpers ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The crawl's clock: the ``YUQING_NOW`` setting (a frozen clock for tests) or the real one."""
        cached = getattr(self, "_now", None)
        if cached is None:
            settings = getattr(self, "settings", None)
            cached = self._now = parse_now(settings.get("YUQING_NOW") if settings is not None else None)
        return cached

    def site_time(self, value: Any) -> str:
        """A site's time string ("5分钟前", "今天 08:30", an epoch, an absolute date) → ISO +08:00."""
        return parse_site_time(value, self.now())

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

    def source_error(self, kind: str, detail: str = "", *, url: str = "") -> None:
        """Record a source error of ``kind`` with its Chinese + English reason (and a detail)."""
        zh, en = ERROR_KINDS.get(kind, ("信息源错误", "source error"))
        self.record_source_error(f"{zh} / {en}{f': {detail}' if detail else ''}", url=url, kind=kind)

    def describe_failure(self, failure: Failure) -> tuple[str, str] | None:
        """``(kind, reason)`` for a failed request, or None when it was deliberately skipped (robots.txt)."""
        if failure.check(HttpError):
            response = failure.value.response
            status = response.status
            wall = response.meta.get("yuqing_wall") if response.request is not None else None
            if wall:
                kind, target = wall
                zh, en = ERROR_KINDS[kind]
                return kind, f"HTTP {status} → {target}: {zh} / {en}"
            return http_status_reason(status)
        if failure.check(IgnoreRequest):
            self._inc("yuqing/ignored")
            self.logger.info("source %r: request skipped: %s", self.source_name, failure.value)
            return None
        kind = "timeout" if failure.check(TxTimeoutError, TCPTimedOutError) else "network"
        if failure.check(DNSLookupError):
            kind = "network"
        zh, en = ERROR_KINDS[kind]
        return kind, f"{zh} / {en}: {failure.type.__name__}: {failure.getErrorMessage()}"

    def request_failed(self, failure: Failure, what: str = "") -> None:
        """A generic errback: record the failure under its kind."""
        described = self.describe_failure(failure)
        if described:
            kind, reason = described
            self.record_source_error(
                f"{what}: {reason}" if what else reason, url=self.failed_url(failure), kind=kind
            )

    # -- answers: check before parsing -------------------------------------------------------------

    def load_json(self, response: Response, what: str = "接口 API") -> Any | None:
        """The JSON (or JSONP) body, or None after recording why it is not usable."""
        body = response.body or b""
        if not body.strip():
            self.source_error("empty", what, url=response.url)
            return None
        text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
        wall = login_wall_kind(response.url) or (html_wall_kind(text) if text.lstrip()[:1] == "<" else None)
        if wall:
            self.source_error(wall, what, url=response.url)
            return None
        m = _JSONP.match(text) if text.lstrip()[:1] not in "{[" else None
        try:
            return json.loads(m.group(1) if m else text)
        except ValueError as exc:
            got = "HTML" if text.lstrip()[:1] == "<" else repr(text.strip()[:40])
            self.source_error("bad_json", f"{what}: got {got} ({exc})", url=response.url)
            return None

    def load_html(self, response: Response, what: str = "页面 page") -> str | None:
        """The decoded page, or None after recording why it is not usable.

        A charset declaration that lies (GB2312 declared over UTF-8 bytes, or the reverse) is not an
        error when the bytes still decode cleanly: the page is read correctly and the lie is counted in
        ``yuqing/charset_mismatch``. Text that decodes to garbage under every charset is an error.
        """
        body = response.body or b""
        if not body.strip():
            self.source_error("empty", what, url=response.url)
            return None
        wall = login_wall_kind(response.url)
        if wall:
            self.source_error(wall, what, url=response.url)
            return None
        if looks_truncated(body):
            self.source_error("truncated", f"{what}, {len(body)} bytes", url=response.url)
            return None
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        html, encoding = decode_html(body, content_type)
        bad = html.count("\ufffd")
        if bad > max(3, len(html) // 200):
            self.source_error(
                "bad_encoding", f"{what}: {bad} undecodable characters ({encoding})", url=response.url
            )
            return None
        declared = http_content_type_encoding(content_type) or html_body_declared_encoding(body)
        if declared and _charset_family(declared) != _charset_family(encoding):
            self._inc("yuqing/charset_mismatch")
            self.logger.info(
                "source %r: page declares %s but is %s; read as %s (%s)",
                self.source_name,
                declared,
                encoding,
                encoding,
                response.url,
            )
        wall = html_wall_kind(html)
        if wall:
            self.source_error(wall, what, url=response.url)
            return None
        return html

    def json_request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        headers = {"Accept": "application/json, text/plain, */*", **kwargs.pop("headers", {})}
        kwargs.setdefault("errback", self.request_failed)
        return scrapy.Request(url, callback=callback, headers=headers, **kwargs)

    @staticmethod
    def failed_url(failure: Failure) -> str:
        request = getattr(failure, "request", None)
        if request is not None:
            return request.url
        response = getattr(failure.value, "response", None)
        return response.url if response is not None else ""


def _charset_family(name: str) -> str:
    n = (name or "").lower().replace("-", "").replace("_", "")
    if n in ("gb2312", "gbk", "gb18030", "cp936", "euccn", "xgbk", "hz"):
        return "gb"
    if n in ("utf8", "utf8sig"):
        return "utf8"
    return n
