"""Family ``rss``: a news site's RSS 2.0 / Atom feed, each item's article page extracted generically.

Source options (all optional):

- ``follow_links`` (bool, default true): fetch each item's article page; false = posts from the feed alone
- ``max_items`` (int, default 50): items taken from the feed per run
- ``title_css`` / ``body_css`` / ``time_css`` / ``author_css`` (and ``*_xpath``): per-site overrides
- ``allowed_domains`` (list): restrict article links to these domains

The feed's title, pubDate and author are fallbacks for what the article page does not give.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.extract import decode_html, extract_article, html_fragment_to_text, parse_datetime
from crawlers.spiders.base import SourceSpider

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

    def start_requests(self) -> Iterable[scrapy.Request]:
        yield scrapy.Request(
            self.source["url"], callback=self.parse_feed, errback=self.feed_failed, dont_filter=True
        )

    # -- feed ------------------------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        try:
            entries = parse_feed(response.body, response.url)
        except ValueError as exc:
            self.record_source_error(f"feed unreadable: {exc}", url=response.url, kind="feed")
            return
        self.crawler.stats.set_value("yuqing/feed_entries", len(entries))
        if not entries:
            self.logger.info("source %r: feed has no items", self.source_name)
            return
        follow = bool(self.options.get("follow_links", True))
        allowed = [d.lower() for d in self.options.get("allowed_domains") or []]
        for entry in entries[: int(self.options.get("max_items", 50))]:
            link = entry["link"]
            if not link or urlsplit(link).scheme not in ("http", "https"):
                self._inc("yuqing/feed_entries_without_link")
                continue
            host = (urlsplit(link).hostname or "").lower()
            if allowed and not any(host == d or host.endswith("." + d) for d in allowed):
                self._inc("yuqing/offsite_links")
                continue
            if follow:
                yield scrapy.Request(
                    link,
                    callback=self.parse_article,
                    errback=self.article_failed,
                    cb_kwargs={"entry": entry},
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
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        html, encoding = decode_html(response.body, content_type)
        try:
            art = extract_article(html, response.url, self.options)
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
            f"article unavailable: {reason}", url=self.failed_url(failure), kind="article"
        )
        entry = failure.request.cb_kwargs.get("entry") if getattr(failure, "request", None) else None
        if entry:
            post = self.post_from_entry(entry)
            if post is not None:
                self._inc("yuqing/body_from_feed")
                yield post

    def post_from_entry(self, entry: dict[str, str]):
        text = html_fragment_to_text(entry.get("summary", ""))
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
