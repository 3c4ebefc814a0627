"""Family ``weibo``: keyword search and user timelines from the m.weibo.cn mobile API.

Timelines: ``GET {url}/api/container/getIndex?containerid=107603{uid}&page=N`` for each uid.
Keyword search: ``GET {url}/api/container/getIndex?containerid=100103type=1&q={keyword}&page_type=searchall
&page=N`` (the search container real clients use; results come as ``card_type 9`` cards, often inside
``card_type 11`` groups, with times such as "5分钟前" / "今天 08:30" that are read against the crawl's
clock). Posts are the cards with ``card_type == 9`` (``mblog``). Long posts (``isLongText``) are
completed from ``GET {url}/statuses/extend?id={id}`` (``data.longTextContent``).

Source options (``uids`` or ``keywords``, or both):

- ``uids`` (list): the accounts to watch
- ``keywords`` (list): search terms (the firm's names, stock code, products); the site's search already
  selected the posts
- ``pages`` (int, default 1): pages per account and per keyword
- ``fetch_long_text`` (bool, default true; ``long_text`` is accepted as an alias)
- ``status_host`` (default ``https://m.weibo.cn``): host of the public status URLs recorded on posts;
  only API requests go to the source ``url``, so a test server does not leak into stored URLs
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.extract import html_fragment_to_text
from crawlers.families import WeiboOptions
from crawlers.seen import SeenSkip, reach_bucket
from crawlers.spiders.base import SourceSpider, seen_meta
from crawlers.spiders.common import parse_count

TIMELINE_PREFIX = "107603"
SEARCH_PREFIX = "100103type=1&q="


def weibo_text(html: str) -> str:
    """Post HTML → plain text: emoji as their alt text (``[哈哈]``), links as their text, no "全文" link."""
    text = html_fragment_to_text(html or "")
    return re.sub(r"\s*(?:\.\.\.|…)?\s*全文$", "", text).strip()


def iter_mblogs(cards: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for card in cards or []:
        if not isinstance(card, Mapping):
            continue
        if card.get("card_type") == 9 and isinstance(card.get("mblog"), Mapping):
            yield card["mblog"]
        elif isinstance(card.get("card_group"), list):  # card_type 11: a group of cards
            yield from iter_mblogs(card["card_group"])


def retweet_text(mblog: Mapping[str, Any]) -> str:
    """The reposted post, appended to a repost's text as ``//转发 @user：text``."""
    rt = mblog.get("retweeted_status")
    if not isinstance(rt, Mapping):
        return ""
    rt_user = (rt.get("user") or {}).get("screen_name", "")
    rt_text = weibo_text(rt.get("text", ""))
    if not rt_text:
        return ""
    return f"\n//转发 @{rt_user}：{rt_text}" if rt_user else f"\n//转发：{rt_text}"


class WeiboSpider(SourceSpider):
    name = "weibo"
    family = "weibo"
    options: WeiboOptions

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(source, **kwargs)
        self.uids = self.options.uids
        self.keywords = self.options.keywords
        self.pages = max(1, self.options.pages)
        self.fetch_long_text = self.options.fetch_long_text
        self.status_host = self.options.status_host.rstrip("/")
        self.api_base = self.source["url"].rstrip("/")

    def start_requests(self) -> Iterable[scrapy.Request]:
        if not self.uids and not self.keywords:
            self.source_error(
                "config", "没有配置 options.uids 或 options.keywords / no uids or keywords configured"
            )
            return
        for uid in self.uids:
            for page in range(1, self.pages + 1):
                query = urlencode({"containerid": f"{TIMELINE_PREFIX}{uid}", "page": page})
                yield self.json_request(
                    f"{self.api_base}/api/container/getIndex?{query}",
                    self.parse_timeline,
                    errback=self.api_failed,
                    cb_kwargs={"uid": uid, "page": page},
                )
        for keyword in self.keywords:
            for page in range(1, self.pages + 1):
                query = urlencode(
                    {"containerid": f"{SEARCH_PREFIX}{keyword}", "page_type": "searchall", "page": page}
                )
                yield self.json_request(
                    f"{self.api_base}/api/container/getIndex?{query}",
                    self.parse_timeline,
                    errback=self.api_failed,
                    cb_kwargs={"uid": "", "page": page},
                )

    # -- responses -------------------------------------------------------------------------------

    def _json(self, response: Response, *, page: int = 1) -> dict[str, Any] | None:
        data = self.load_json(response, "微博接口 weibo API")
        if data is None:
            return None
        if not isinstance(data, dict):
            self.source_error("api_error", "微博接口返回的 JSON 结构不对 / unexpected JSON", url=response.url)
            return None
        if data.get("ok") != 1:
            msg = data.get("msg") or data.get("message") or ""
            cards = (data.get("data") or {}).get("cards") if isinstance(data.get("data"), dict) else None
            if page > 1 and not cards:
                # past the last page the API answers ok=0 "这里还没有内容": the end, not a failure
                self._inc("yuqing/weibo_end_of_timeline")
                self.logger.info(
                    "source %r: no more posts after page %d (%s)", self.source_name, page - 1, msg
                )
                return None
            self.source_error("api_error", f"weibo API ok={data.get('ok')!r} msg={msg!r}", url=response.url)
            return None
        return data

    def parse_timeline(self, response: Response, uid: str, page: int) -> Iterator[Any]:
        data = self._json(response, page=page)
        if data is None:
            return
        cards = (data.get("data") or {}).get("cards") or []
        for mblog in iter_mblogs(cards):
            post = self.post_from_mblog(mblog)
            if post is None:
                continue
            if mblog.get("isLongText") and self.fetch_long_text:
                post_id = mblog.get("id") or mblog.get("mid")
                yield self.json_request(
                    f"{self.api_base}/statuses/extend?{urlencode({'id': post_id})}",
                    self.parse_long_text,
                    errback=self.long_text_failed,
                    cb_kwargs={"post": post, "retweet": retweet_text(mblog)},
                    # the long text changes only when the post is edited; a jump in reach (log2 classes)
                    # makes the post worth storing again, and then it must carry its long text
                    meta=seen_meta(
                        f"weibo:{post_id}",
                        mblog.get("edit_count"),
                        mblog.get("edit_at"),
                        *(reach_bucket(post[k]) for k in ("reposts", "comments", "likes", "user_followers")),
                    ),
                )
            else:
                yield post

    def parse_long_text(self, response: Response, post: Any, retweet: str = "") -> Iterator[Any]:
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        long_html = (
            ((data or {}).get("data") or {}).get("longTextContent") if isinstance(data, dict) else None
        )
        if isinstance(data, dict) and data.get("ok") == 1 and long_html:
            text = weibo_text(long_html)
            if text:
                post["text"] = text + retweet
                self._inc("yuqing/long_text_fetched")
        else:
            self._inc("yuqing/long_text_failed")
            self.logger.warning(
                "source %r: no long text for %s; keeping the short text", self.source_name, post["site_id"]
            )
        yield post

    def long_text_failed(self, failure: Failure) -> Iterator[Any]:
        if failure.check(SeenSkip):  # stored before with its long text, unchanged: the short text must not
            return  # take its place
        described = self.describe_failure(failure)
        self._inc("yuqing/long_text_failed")
        if described:
            self.logger.warning("source %r: long text unavailable (%s)", self.source_name, described[1])
        post = failure.request.cb_kwargs.get("post") if getattr(failure, "request", None) else None
        if post is not None:
            yield post

    def api_failed(self, failure: Failure) -> None:
        self.request_failed(failure, "微博接口不可用 / weibo API unavailable")

    # -- mapping ---------------------------------------------------------------------------------

    def post_from_mblog(self, mblog: Mapping[str, Any]) -> Any:
        """A RawPost from one ``mblog`` (None when it has no id)."""
        post_id = str(mblog.get("id") or mblog.get("mid") or "")
        if not post_id:
            return None
        user = mblog.get("user") or {}
        text = weibo_text(mblog.get("text", ""))
        retweet = retweet_text(mblog)
        status_url = f"{self.status_host}/status/{mblog.get('bid') or post_id}"
        post = self.new_post(
            url=status_url,
            canonical_url=f"{self.status_host}/status/{post_id}",
            title="",
            text=text + retweet,
            author=str(user.get("screen_name") or ""),
            published_at=self.site_time(mblog.get("created_at")),
            reposts=parse_count(mblog.get("reposts_count")),
            comments=parse_count(mblog.get("comments_count")),
            likes=parse_count(mblog.get("attitudes_count")),
            user_followers=parse_count(user.get("followers_count")),
            user_verified=bool(user.get("verified")),
            site_id=str(mblog.get("mid") or post_id),
        )
        return post
