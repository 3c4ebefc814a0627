"""Families ``rss`` (a feed) and ``news_list`` (list pages): news articles extracted generically.

Family ``rss``: a news site's RSS 2.0 / Atom feed, each item's article page extracted generically.

Source options (all optional):

- ``follow_links`` (bool, default true): fetch each item's article page; false = posts from the feed alone
- ``max_items`` (int, default 50): items taken from the feed per run
- ``title_css`` / ``body_css`` / ``time_css`` / ``author_css`` (and ``*_xpath``): per-site overrides
- ``allowed_domains`` (list): restrict article links to these domains

The feed's title, pubDate and author are fallbacks for what the article page does not give.

Family ``news_list``: a site without a feed, read through its list pages (``url``, or ``list_urls``),
each linked article extracted as above. Adding a site is configuration, not code. Options:

- ``link_css`` / ``link_xpath``: the article links on a list page (an ``<a>`` or an element holding
  one); ``link_pattern``: a regex the absolute link URL must match (alone it selects among all links)
- ``next_css`` / ``next_xpath``: the "next page" link; ``max_pages`` (int, default 1)
- ``list_urls`` (list): several list pages (default: the source ``url``)
- ``follow_links``, ``max_items``, ``allowed_domains`` and the article ``*_css`` / ``*_xpath`` overrides
  as for ``rss``; without ``follow_links`` a post is the link's title alone
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.extract import extract_article, html_fragment_to_text, parse_datetime
from crawlers.families import NewsListOptions, RssOptions
from crawlers.pipelines import canonical_url
from crawlers.spiders.base import SourceSpider, html_wall_kind, login_wall_kind, seen_meta

_XML_PARSER_KW = {"recover": True, "resolve_entities": False, "no_network": True, "remove_comments": True}


def _local(tag: Any) -> str:
    return lxml.etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(el: Any, *names: str) -> str:
    for name in names:
        for child in el:
            if _local(child.tag) == name:
                text = "".join(child.itertext()).strip()
                if text:
                    return text
    return ""


def parse_feed(body: bytes, base_url: str = "") -> list[dict[str, str]]:
    """Entries of an RSS 2.0, RSS 1.0 (RDF) or Atom feed: ``title, link, published, author, summary``.

    Raises ValueError when ``body`` is not a feed.
    """
    parser = lxml.etree.XMLParser(**_XML_PARSER_KW)
    try:
        root = lxml.etree.fromstring(body.strip(), parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    if root is None:
        raise ValueError("not XML: empty document")
    kind = _local(root.tag)
    if kind not in ("rss", "feed", "rdf"):
        raise ValueError(f"not a feed: root element <{kind}>")
    entries: list[dict[str, str]] = []
    for el in root.iter():
        name = _local(el.tag)
        if name not in ("item", "entry"):
            continue
        link = ""
        for child in el:
            if _local(child.tag) != "link":
                continue
            href = child.get("href")
            if href is not None:  # Atom
                if child.get("rel", "alternate") == "alternate":
                    link = href.strip()
                    break
                link = link or href.strip()
            elif (child.text or "").strip():
                link = child.text.strip()
                break
        if not link:
            guid = _child_text(el, "guid", "id")
            if guid.startswith(("http://", "https://")):
                link = guid
        author = _child_text(el, "author", "creator")
        if name == "entry":
            for child in el:
                if _local(child.tag) == "author":
                    author = _child_text(child, "name") or author
        entries.append(
            {
                "title": html_fragment_to_text(_child_text(el, "title")).replace("\n", " "),
                "link": urljoin(base_url, link) if link else "",
                "published": _child_text(el, "pubdate", "published", "date", "updated", "issued"),
                "author": author,
                "summary": _child_text(el, "encoded", "content", "description", "summary"),
                "guid": _child_text(el, "guid", "id"),
            }
        )
    return entries


class NewsSpider(SourceSpider):
    name = "news"
    family = "rss"
    options: RssOptions
    _entries_taken = 0

    def start_requests(self) -> Iterable[scrapy.Request]:
        yield scrapy.Request(
            self.source["url"], callback=self.parse_feed, errback=self.feed_failed, dont_filter=True
        )

    # -- feed ------------------------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if not response.body.strip():
            self.source_error("empty", "订阅源 feed", url=response.url)
            return
        try:
            entries = parse_feed(response.body, response.url)
        except ValueError as exc:
            text = response.body[:20000].decode("utf-8", errors="replace")
            wall = login_wall_kind(response.url) or html_wall_kind(text)
            if wall:
                self.source_error(wall, "订阅源 feed", url=response.url)
            else:
                self.record_source_error(
                    f"订阅源无法解析 / feed unreadable: {exc}", url=response.url, kind="feed"
                )
            return
        self.crawler.stats.set_value("yuqing/feed_entries", len(entries))
        if not entries:
            self.logger.info("source %r: feed has no items", self.source_name)
            return
        yield from self.follow_entries(entries)

    def follow_entries(self, entries: list[dict[str, str]]) -> Iterator[Any]:
        """Article requests (or posts from the entries alone) for up to ``max_items`` entries in all."""
        follow = self.options.follow_links
        allowed = [d.lower() for d in self.options.allowed_domains]
        limit = self.options.max_items
        for entry in entries:
            if self._entries_taken >= limit:
                break
            link = entry["link"]
            if not link or urlsplit(link).scheme not in ("http", "https"):
                self._inc("yuqing/feed_entries_without_link")
                continue
            host = (urlsplit(link).hostname or "").lower()
            if allowed and not any(host == d or host.endswith("." + d) for d in allowed):
                self._inc("yuqing/offsite_links")
                continue
            self._entries_taken += 1
            if follow:
                yield scrapy.Request(
                    link,
                    callback=self.parse_article,
                    errback=self.article_failed,
                    cb_kwargs={"entry": entry},
                    # the seen-store skips an article whose entry is unchanged since it was stored
                    meta=seen_meta(
                        f"article:{canonical_url(link)}", entry.get("published"), entry.get("title")
                    ),
                )
            else:
                post = self.post_from_entry(entry)
                if post is not None:
                    yield post

    def feed_failed(self, failure: Failure) -> None:
        described = self.describe_failure(failure)
        if described:
            kind, reason = described
            self.record_source_error(f"feed unavailable: {reason}", url=self.failed_url(failure), kind="feed")

    # -- article ---------------------------------------------------------------------------------

    def parse_article(self, response: Response, entry: dict[str, str]) -> Iterator[Any]:
        html = self.load_html(response, "文章页 article")
        if html is None:  # recorded; the feed's own summary (if any) still stands, a bare link title not
            post = self.post_from_entry(entry, fallback=True)
            if post is not None:
                self._inc("yuqing/body_from_feed")
                yield post
            return
        try:
            art = extract_article(html, response.url, self.options.article_selectors())
        except ValueError as exc:  # a bad per-site selector: the config is wrong, say so
            self.record_source_error(str(exc), url=response.url, kind="config")
            return
        text = art["text"] or html_fragment_to_text(entry.get("summary", ""))
        if not art["text"]:
            self._inc("yuqing/body_from_feed")
        yield self.new_post(
            url=response.url,
            canonical_url=art["canonical_url"] or response.url,
            title=art["title"] or entry.get("title", ""),
            text=text,
            author=art["author"] or entry.get("author", ""),
            published_at=art["published_at"] or parse_datetime(entry.get("published")),
            site_id=entry.get("guid", "") if not entry.get("guid", "").startswith("http") else "",
        )

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        described = self.describe_failure(failure)
        if not described:
            return
        kind, reason = described
        self.record_source_error(
            f"文章页不可用 / article unavailable: {reason}", url=self.failed_url(failure), kind=kind
        )
        entry = failure.request.cb_kwargs.get("entry") if getattr(failure, "request", None) else None
        if entry:
            post = self.post_from_entry(entry, fallback=True)
            if post is not None:
                self._inc("yuqing/body_from_feed")
                yield post

    def post_from_entry(self, entry: dict[str, str], *, fallback: bool = False):
        """A post from the feed entry alone; a list link's title counts as text only when not following
        links (as a stand-in for a page that failed, a bare title would pass a bad answer off as a post)."""
        text = html_fragment_to_text(entry.get("summary", ""))
        if not text and entry.get("title_is_text") and not fallback:
            text = entry.get("title", "")
        if not text:
            return None
        return self.new_post(
            url=entry["link"],
            canonical_url=entry["link"],
            title=entry.get("title", ""),
            text=text,
            author=entry.get("author", ""),
            published_at=parse_datetime(entry.get("published")),
        )


class NewsListSpider(NewsSpider):
    """Family ``news_list``: list pages → article links (by configured selectors) → articles."""

    name = "news_list"
    family = "news_list"
    options: NewsListOptions

    def __init__(self, source: Any = None, **kwargs: Any):
        super().__init__(source, **kwargs)
        o = self.options
        if not (o.link_css or o.link_xpath or o.link_pattern):
            raise ValueError("news_list needs options.link_css, link_xpath or link_pattern")
        self.link_re = re.compile(o.link_pattern) if o.link_pattern else None
        self.max_pages = max(1, o.max_pages)
        self.list_urls = o.list_urls or [self.source["url"]]

    def start_requests(self) -> Iterable[scrapy.Request]:
        for url in self.list_urls:
            yield scrapy.Request(
                url,
                callback=self.parse_list,
                errback=self.feed_failed,
                dont_filter=True,
                cb_kwargs={"page": 1},
            )

    def parse_list(self, response: Response, page: int) -> Iterator[Any]:
        html = self.load_html(response, "列表页 list page")
        if html is None:
            return
        sel = scrapy.Selector(text=html)
        try:
            entries = self.list_entries(sel, response.url)
            next_url = self.next_page(sel, response.url)
        except ValueError as exc:  # an invalid selector: the configuration is wrong, say so
            self.source_error("config", str(exc), url=response.url)
            return
        self._inc("yuqing/list_links", len(entries))
        if not entries:
            self.source_error(
                "no_content", "列表页没有匹配的文章链接 / no article links matched", url=response.url
            )
            return
        yield from self.follow_entries(entries)
        if next_url and page < self.max_pages:
            yield scrapy.Request(
                next_url, callback=self.parse_list, errback=self.feed_failed, cb_kwargs={"page": page + 1}
            )

    def _select(self, sel: scrapy.Selector, css_key: str, xpath_key: str) -> list[Any]:
        try:
            css, xpath = getattr(self.options, css_key), getattr(self.options, xpath_key)
            if css:
                return sel.css(css)
            if xpath:
                return sel.xpath(xpath)
        except Exception as exc:  # cssselect / lxml raise several types for a bad expression
            raise ValueError(
                f"选择器无效 / invalid selector in options.{css_key}/{xpath_key}: {exc}"
            ) from exc
        return sel.css("a[href]") if css_key == "link_css" else []

    def list_entries(self, sel: scrapy.Selector, base_url: str) -> list[dict[str, str]]:
        entries: list[dict[str, str]] = []
        seen: set[str] = set()
        for el in self._select(sel, "link_css", "link_xpath"):
            href = el.attrib.get("href") or el.css("a::attr(href)").get() or ""
            if not href.strip() or href.strip().startswith(("javascript:", "#")):
                continue
            link = urljoin(base_url, href.strip())
            if self.link_re is not None and not self.link_re.search(link):
                continue
            if link in seen:
                continue
            seen.add(link)
            title = " ".join("".join(el.css("::text").getall()).split())
            entries.append(
                {
                    "title": title,
                    "link": link,
                    "published": "",
                    "author": "",
                    "summary": "",
                    "guid": "",
                    "title_is_text": "1",
                }
            )
        return entries

    def next_page(self, sel: scrapy.Selector, base_url: str) -> str:
        found = self._select(sel, "next_css", "next_xpath")
        if not found:
            return ""
        href = found[0].attrib.get("href") or found[0].css("a::attr(href)").get() or ""
        return urljoin(base_url, href.strip()) if href.strip() else ""
