"""Family ``baidu_news``: Baidu News search result pages, optionally followed to the articles.

``GET {url}/s?tn=news&rtt=4&bsst=1&cl=2&wd={keyword}&medium=0&pn={(page-1)*10}`` (``rtt=4``: newest
first) returns an HTML result list. Each result is a ``div.result-op.c-container`` (older layout:
``div.result``) with the title link in ``h3 a``, and spans labelled for screen readers:
``aria-label="新闻来源：…"`` (the medium), ``aria-label="发布于：…"`` (a time such as "3小时前" or
"2026年11月20日 10:30", read against the crawl's clock) and ``aria-label="摘要：…"`` (the summary).
Baidu's hashed class names change often; the aria labels are what public clients rely on, and every
selector can be overridden in ``options``.

A verification page (a redirect to wappass.baidu.com, or a "百度安全验证" page) is a ``captcha`` error.

Source options: ``keywords`` (list, required), ``pages`` (int, default 1), ``follow_links`` (default
false: the result's summary is the post; true: the article page through the generic extraction, the
summary as fallback), ``result_css``, ``title_link_css``, ``media_css``, ``time_css``, ``summary_css``,
and the article ``*_css`` / ``*_xpath`` overrides as for ``rss``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import scrapy
from scrapy.http import Response

from crawlers.extract import extract_article
from crawlers.families import BaiduNewsOptions
from crawlers.pipelines import canonical_url
from crawlers.spiders.base import SourceSpider, seen_meta

DEFAULTS = {
    "result_css": "div.result-op.c-container, div.result",
    "title_link_css": "h3 a",
    "media_css": "[aria-label^='新闻来源']",
    "time_css": "[aria-label^='发布于']",
    "summary_css": "[aria-label^='摘要']",
}
_LABEL = re.compile(r"^(新闻来源|发布于|摘要|标题)[:：]\s*")


def _text(sel: Any) -> str:
    if not sel:
        return ""
    label = sel[0].attrib.get("aria-label", "")
    if label and _LABEL.match(label):
        return _LABEL.sub("", label).strip()
    return " ".join("".join(sel[0].css("::text").getall()).split())


class BaiduNewsSpider(SourceSpider):
    name = "baidu_news"
    family = "baidu_news"
    options: BaiduNewsOptions

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(source, **kwargs)
        self.keywords = self.options.keywords
        self.pages = max(1, self.options.pages)
        self.follow = self.options.follow_links
        self.css = {k: getattr(self.options, k) or v for k, v in DEFAULTS.items()}
        self.base = self.source["url"].rstrip("/")

    def start_requests(self) -> Iterable[scrapy.Request]:
        if not self.keywords:
            self.source_error("config", "没有配置 options.keywords / no keywords configured")
            return
        for keyword in self.keywords:
            for page in range(1, self.pages + 1):
                params = {
                    "tn": "news",
                    "rtt": 4,
                    "bsst": 1,
                    "cl": 2,
                    "wd": keyword,
                    "medium": 0,
                    "pn": (page - 1) * 10,
                }
                yield scrapy.Request(
                    f"{self.base}/s?{urlencode(params)}",
                    callback=self.parse_results,
                    errback=self.request_failed,
                    cb_kwargs={"keyword": keyword},
                )

    def parse_results(self, response: Response, keyword: str) -> Iterator[Any]:
        html = self.load_html(response, "百度新闻搜索 baidu news")
        if html is None:
            return
        if "百度安全验证" in html[:5000]:
            self.source_error("captcha", "百度新闻搜索 baidu news", url=response.url)
            return
        sel = scrapy.Selector(text=html)
        try:
            results = sel.css(self.css["result_css"])
        except Exception as exc:  # cssselect raises several types for a bad expression
            self.source_error("config", f"options.result_css: {exc}", url=response.url)
            return
        self._inc("yuqing/baidu_results", len(results))
        if not results and "没有找到" not in html:
            self.source_error(
                "no_content", "结果页里没有搜索结果（版式变了？）/ no results found", url=response.url
            )
            return
        for result in results:
            entry = self.entry_from_result(result, response.url)
            if entry is None:
                continue
            if self.follow:
                yield scrapy.Request(
                    entry["url"],
                    callback=self.parse_article,
                    errback=self.article_failed,
                    cb_kwargs={"entry": entry},
                    meta=seen_meta(
                        f"article:{canonical_url(entry['url'])}", entry["published_at"], entry["title"]
                    ),
                )
            else:
                post = self.post_from_entry(entry)
                if post is not None:
                    yield post

    def entry_from_result(self, result: Any, base_url: str) -> dict[str, str] | None:
        link = result.css(self.css["title_link_css"])
        href = (link[0].attrib.get("href") or "").strip() if link else ""
        if not href:
            return None
        url = urljoin(base_url, href)
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        title = " ".join("".join(link[0].css("::text").getall()).split())
        return {
            "url": url,
            "title": title or _LABEL.sub("", link[0].attrib.get("aria-label", "")),
            "media": _text(result.css(self.css["media_css"])),
            "published_at": self.site_time(_text(result.css(self.css["time_css"]))),
            "summary": _text(result.css(self.css["summary_css"])),
        }

    def post_from_entry(self, entry: Mapping[str, str]) -> Any:
        if not entry["summary"] and not entry["title"]:
            return None
        return self.new_post(
            url=entry["url"],
            canonical_url=entry["url"],
            title=entry["title"],
            text=entry["summary"] or entry["title"],
            author=entry["media"],
            published_at=entry["published_at"],
        )

    def parse_article(self, response: Response, entry: Mapping[str, str]) -> Iterator[Any]:
        html = self.load_html(response, "文章页 article")
        art = None
        if html is not None:
            try:
                art = extract_article(html, response.url, self.options.article_selectors())
            except ValueError as exc:
                self.source_error("config", str(exc), url=response.url)
        if not art or not art["text"]:
            post = self.post_from_entry(entry)
            if post is not None:
                self._inc("yuqing/body_from_results")
                yield post
            return
        yield self.new_post(
            url=response.url,
            canonical_url=art["canonical_url"] or response.url,
            title=art["title"] or entry["title"],
            text=art["text"],
            author=art["author"] or entry["media"],
            published_at=art["published_at"] or entry["published_at"],
        )

    def article_failed(self, failure: Any) -> Iterator[Any]:
        self.request_failed(failure, "文章页不可用 / article unavailable")
        entry = failure.request.cb_kwargs.get("entry") if getattr(failure, "request", None) else None
        if entry:
            post = self.post_from_entry(entry)
            if post is not None:
                yield post
