"""Family ``guba``: 东方财富股吧 — the firm's own stock bar and keyword search.

Stock bar list pages ``{url}/list,{code}.html`` (page N: ``list,{code}_{N}.html``) embed the posts as
``var article_list={"re":[...], "count": ...};`` in a script (80 posts a page). Each post has
``post_id``, ``post_title``, ``post_content`` (often empty: lists carry titles only),
``post_publish_time``, ``post_comment_count``, ``post_forward_count``, ``post_click_count``,
``user_nickname``, ``stockbar_code``. Where the list has no text, the post page
``{url}/news,{code},{post_id}.html`` is fetched: it embeds ``var post_article={...};`` with
``post_content``; without it the page goes through the generic article extraction.

Keyword search uses the site search's JSONP API (``search_url``, default
``https://search-api-web.eastmoney.com/search/jsonp``, ``param`` = a JSON query for
``gubaArticleWeb``), whose ``result.gubaArticleWeb`` items carry ``title``, ``content``, ``url``,
``createTime``, ``nickname``, ``code``, ``postId``.

Source options (``stock_codes`` or ``keywords``, or both):

- ``stock_codes`` (list): stock bars to read, e.g. ``["609999"]``
- ``keywords`` (list): search terms (the search already selected the posts)
- ``pages`` (int, default 1): list / search pages each
- ``fetch_detail`` (``"auto"`` default: only when the list has no text; ``true``; ``false``)
- ``search_url``: the search API endpoint; ``page_size`` (default 10)
- the article ``*_css`` / ``*_xpath`` overrides as for ``rss``, for post pages read by the generic extraction

The options are checked by ``crawlers.families.GubaOptions``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin

import scrapy
from scrapy.http import Response

from crawlers.extract import extract_article, html_fragment_to_text
from crawlers.families import GubaOptions
from crawlers.spiders.base import SourceSpider, seen_meta
from crawlers.spiders.common import parse_count

_VAR = re.compile(r"var\s+(article_list|post_article)\s*=\s*")


def embedded_json(html: str, name: str) -> Any | None:
    """The object assigned by ``var {name} = {...};`` in a page's script, or None."""
    decoder = json.JSONDecoder()
    for m in _VAR.finditer(html):
        if m.group(1) != name:
            continue
        try:
            value, _ = decoder.raw_decode(html, m.end())
        except ValueError:
            return None
        return value
    return None


class GubaSpider(SourceSpider):
    name = "guba"
    family = "guba"
    options: GubaOptions

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(source, **kwargs)
        self.stock_codes = self.options.stock_codes
        self.keywords = self.options.keywords
        self.pages = max(1, self.options.pages)
        self.page_size = max(1, self.options.page_size)
        self.fetch_detail = self.options.fetch_detail
        self.base = self.source["url"].rstrip("/")
        self.search_url = self.options.search_url

    def start_requests(self) -> Iterable[scrapy.Request]:
        if not self.stock_codes and not self.keywords:
            self.source_error(
                "config", "没有配置 options.stock_codes 或 keywords / no stock_codes or keywords"
            )
            return
        for code in self.stock_codes:
            for page in range(1, self.pages + 1):
                path = f"list,{code}.html" if page == 1 else f"list,{code}_{page}.html"
                yield scrapy.Request(
                    f"{self.base}/{path}",
                    callback=self.parse_list,
                    errback=self.request_failed,
                    cb_kwargs={"code": code},
                )
        for keyword in self.keywords:
            for page in range(1, self.pages + 1):
                param = {
                    "uid": "",
                    "keyword": keyword,
                    "type": ["gubaArticleWeb"],
                    "client": "web",
                    "clientVersion": "curr",
                    "clientType": "web",
                    "param": {
                        "gubaArticleWeb": {
                            "pageindex": page,
                            "pagesize": self.page_size,
                            "preTag": "<em>",
                            "postTag": "</em>",
                            "type": 0,
                            "searchScope": 0,
                            "sortOrder": 1,
                        }
                    },
                }
                query = urlencode({"cb": "jQuery_yuqing", "param": json.dumps(param, ensure_ascii=False)})
                yield self.json_request(f"{self.search_url}?{query}", self.parse_search)

    # -- stock bar list --------------------------------------------------------------------------

    def parse_list(self, response: Response, code: str) -> Iterator[Any]:
        html = self.load_html(response, "股吧列表页 guba list")
        if html is None:
            return
        data = embedded_json(html, "article_list")
        if not isinstance(data, dict) or not isinstance(data.get("re"), list):
            self.source_error(
                "no_content",
                "页面里没有 article_list（版式变了？）/ no article_list in the page",
                url=response.url,
            )
            return
        self._inc("yuqing/guba_listed", len(data["re"]))
        for row in data["re"]:
            if isinstance(row, Mapping):
                yield from self.from_list_row(row, code)

    def from_list_row(self, row: Mapping[str, Any], code: str) -> Iterator[Any]:
        post_id = str(row.get("post_id") or "")
        if not post_id:
            return
        bar = str(row.get("stockbar_code") or code)
        url = f"{self.base}/news,{bar},{post_id}.html"
        post = self.new_post(
            url=url,
            canonical_url=url,
            title=html_fragment_to_text(str(row.get("post_title") or "")),
            text=html_fragment_to_text(str(row.get("post_content") or "")),
            author=str(row.get("user_nickname") or ""),
            published_at=self.site_time(row.get("post_publish_time") or row.get("post_display_time")),
            reposts=parse_count(row.get("post_forward_count")),
            comments=parse_count(row.get("post_comment_count")),
            likes=parse_count(row.get("post_like_count")),
            site_id=post_id,
        )
        wants_detail = self.fetch_detail is True or (self.fetch_detail == "auto" and not post["text"])
        if wants_detail:
            yield scrapy.Request(
                url,
                callback=self.parse_detail,
                errback=self.detail_failed,
                cb_kwargs={"post": post},
                meta=seen_meta(f"guba:{post_id}", row.get("post_comment_count"), row.get("post_last_time")),
            )
        elif post["text"]:
            yield post
        else:
            self._inc("yuqing/guba_title_only")

    def parse_detail(self, response: Response, post: Any) -> Iterator[Any]:
        html = self.load_html(response, "股吧帖子页 guba post")
        if html is None:
            return
        article = embedded_json(html, "post_article")
        text = ""
        if isinstance(article, Mapping):
            text = html_fragment_to_text(str(article.get("post_content") or ""))
            post["published_at"] = post["published_at"] or self.site_time(article.get("post_publish_time"))
        if not text:
            try:
                text = extract_article(html, response.url, self.options.article_selectors())["text"]
            except ValueError as exc:
                self.source_error("config", str(exc), url=response.url)
                return
        if not text:
            self.source_error("no_content", "帖子页没有正文 / no text in the post page", url=response.url)
            return
        post["text"] = text
        yield post

    def detail_failed(self, failure: Any) -> None:
        self.request_failed(failure, "股吧帖子页不可用 / guba post unavailable")

    # -- search ----------------------------------------------------------------------------------

    def parse_search(self, response: Response) -> Iterator[Any]:
        data = self.load_json(response, "股吧搜索 guba search")
        if data is None:
            return
        if not isinstance(data, Mapping) or data.get("code") not in (0, "0", None):
            msg = data.get("msg") if isinstance(data, Mapping) else ""
            self.source_error("api_error", f"code={data.get('code')!r} msg={msg!r}", url=response.url)
            return
        rows = ((data.get("result") or {}).get("gubaArticleWeb")) or []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, Mapping):
                continue
            url = urljoin("https://guba.eastmoney.com/", str(row.get("url") or ""))
            text = html_fragment_to_text(str(row.get("content") or ""))
            if not row.get("url") or not text:
                continue
            yield self.new_post(
                url=url,
                canonical_url=url,
                title=html_fragment_to_text(str(row.get("title") or "")),
                text=text,
                author=str(row.get("nickname") or ""),
                published_at=self.site_time(row.get("createTime")),
                site_id=str(row.get("postId") or ""),
            )
