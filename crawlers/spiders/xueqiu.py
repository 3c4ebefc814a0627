"""Family ``xueqiu``: 雪球 posts — keyword search and a stock's discussion, through the site's JSON API.

- search: ``GET {url}/query/v1/search/status.json?sortId=2&q={keyword}&count=N&page=P``
- a stock's posts: ``GET {url}/query/v1/symbol/search/status.json?symbol=SH609999&sort=time&count=N
  &page=P&source=all&comment=0&hl=0&type=11&q=``
- an account's posts: ``GET {url}/v4/statuses/user_timeline.json?user_id=…&page=P`` (``{"statuses": […]}``)
- a full post when the list only has its start (``truncated``): ``GET {url}/statuses/show.json?id={id}``

Answers are ``{"list": [status…], "page": P, "maxPage": M}`` (``{"statuses": […]}`` is read too); a status
has ``id``, ``user_id``, ``title``, ``text`` (HTML), ``description``, ``created_at`` (epoch ms),
``retweet_count``, ``reply_count``, ``like_count``, ``target`` (``/{user_id}/{id}``) and ``user``
(``screen_name``, ``followers_count``, ``verified``). Errors come as ``{"error_code": "400016",
"error_description": "…重新登录…"}`` (400016: the token is missing or expired: a login wall).

The API wants the ``xq_a_token`` cookie of a logged-in or visitor session. It is a secret: it comes from
``crawlers.spiders.secrets.get_secret(options.token_secret or "xq_a_token")`` — the environment variable
``YUQING_SECRET_XQ_A_TOKEN`` or the secrets file — resolved in the crawl process and added to requests
at download time. A missing token is a source error (``secret_missing``), not a crash.

Source options: ``keywords`` (list), ``symbols`` (list, e.g. ``SH609999``), ``user_ids`` (accounts), ``pages`` (int, default 1),
``count`` (default 10), ``token_secret`` (default ``xq_a_token``), ``fetch_detail`` (default true:
complete truncated posts), ``status_host`` (default ``https://xueqiu.com``: host of the post URLs stored).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawlers.extract import html_fragment_to_text
from crawlers.families import XueqiuOptions
from crawlers.spiders.base import SourceSpider, http_status_reason, seen_meta
from crawlers.spiders.common import parse_count

LOGIN_ERROR_CODES = {"400016", "10022", "10026"}


class XueqiuSpider(SourceSpider):
    name = "xueqiu"
    family = "xueqiu"
    options: XueqiuOptions

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(source, **kwargs)
        self.keywords = self.options.keywords
        self.symbols = [s.upper() for s in self.options.symbols]
        self.user_ids = self.options.user_ids
        self.pages = max(1, self.options.pages)
        self.count = max(1, self.options.count)
        self.token_secret = self.options.token_secret
        self.fetch_detail = self.options.fetch_detail
        self.status_host = self.options.status_host.rstrip("/")
        self.base = self.source["url"].rstrip("/")
        self._token: str | None = None

    def secret_headers(self) -> dict[str, str]:
        return {"Cookie": f"xq_a_token={self._token}"} if self._token else {}

    def _api(self, path: str, params: Mapping[str, Any], callback: Any, **kwargs: Any) -> scrapy.Request:
        # the API answers errors (an expired token: 400016) as HTTP 400 with a JSON body worth reading
        meta = {"yuqing_auth": True, "handle_httpstatus_list": [400, 401], **kwargs.pop("meta", {})}
        return self.json_request(f"{self.base}{path}?{urlencode(params)}", callback, meta=meta, **kwargs)

    def start_requests(self) -> Iterable[scrapy.Request]:
        if not self.keywords and not self.symbols and not self.user_ids:
            self.source_error("config", "没有配置 options.keywords、symbols 或 user_ids / nothing to read")
            return
        from crawlers.spiders.secrets import SecretError, get_secret

        try:
            self._token = get_secret(self.token_secret)
        except SecretError as exc:
            self.source_error("secret_missing", str(exc))
            return
        if not self._token:
            self.source_error(
                "secret_missing",
                f"雪球接口需要 xq_a_token：设置 YUQING_SECRET_{self.token_secret.upper()} 或机密文件中的 "
                f"{self.token_secret} / set the {self.token_secret} secret",
            )
            return
        for keyword in self.keywords:
            for page in range(1, self.pages + 1):
                params = {"sortId": 2, "q": keyword, "count": self.count, "page": page}
                yield self._api("/query/v1/search/status.json", params, self.parse_list)
        for symbol in self.symbols:
            for page in range(1, self.pages + 1):
                params = {
                    "count": self.count,
                    "comment": 0,
                    "symbol": symbol,
                    "hl": 0,
                    "source": "all",
                    "sort": "time",
                    "page": page,
                    "q": "",
                    "type": 11,
                }
                yield self._api("/query/v1/symbol/search/status.json", params, self.parse_list)
        for user_id in self.user_ids:
            for page in range(1, self.pages + 1):
                params = {"user_id": user_id, "page": page, "type": 0}
                yield self._api("/v4/statuses/user_timeline.json", params, self.parse_list)

    # -- answers ---------------------------------------------------------------------------------

    def _checked(self, response: Response, what: str) -> Mapping[str, Any] | None:
        if response.status >= 400:
            try:
                data = json.loads(response.body)
            except ValueError:
                data = None
            if not isinstance(data, Mapping) or not data.get("error_code"):
                kind, reason = http_status_reason(response.status)
                self.record_source_error(f"{what}: {reason}", url=response.url, kind=kind)
                return None
        else:
            data = self.load_json(response, what)
        if data is None:
            return None
        if not isinstance(data, Mapping):
            self.source_error("api_error", f"{what}: unexpected JSON", url=response.url)
            return None
        code = data.get("error_code")
        if code not in (None, "", 0, "0"):
            desc = str(data.get("error_description") or "")
            kind = "login_wall" if str(code) in LOGIN_ERROR_CODES or "登录" in desc else "api_error"
            self.source_error(kind, f"{what}: error_code={code} {desc}", url=response.url)
            return None
        return data

    def parse_list(self, response: Response) -> Iterator[Any]:
        data = self._checked(response, "雪球接口 xueqiu API")
        if data is None:
            return
        statuses = data.get("list")
        if statuses is None:
            statuses = data.get("statuses")
        if not isinstance(statuses, list):
            self.source_error("api_error", "雪球接口没有 list / no list in the answer", url=response.url)
            return
        for status in statuses:
            if not isinstance(status, Mapping):
                continue
            post = self.post_from_status(status)
            if post is None:
                continue
            if self.fetch_detail and status.get("truncated"):
                yield self._api(
                    "/statuses/show.json",
                    {"id": status["id"]},
                    self.parse_detail,
                    cb_kwargs={"post": post},
                    errback=self.detail_failed,
                    meta=seen_meta(
                        f"xueqiu:{status['id']}", status.get("edited_at"), status.get("reply_count")
                    ),
                )
            elif post["text"]:
                yield post

    def parse_detail(self, response: Response, post: Any) -> Iterator[Any]:
        data = self._checked(response, "雪球帖子 xueqiu status")
        if data is None:  # recorded; the list's start of the post still stands
            if post["text"]:
                yield post
            return
        status = data.get("status") if isinstance(data.get("status"), Mapping) else data
        text = html_fragment_to_text(str(status.get("text") or ""))
        if text:
            post["text"] = text
            self._inc("yuqing/xueqiu_detail_fetched")
        if post["text"]:
            yield post

    def detail_failed(self, failure: Any) -> Iterator[Any]:
        self.request_failed(failure, "雪球帖子不可用 / xueqiu status unavailable")
        post = failure.request.cb_kwargs.get("post") if getattr(failure, "request", None) else None
        if post is not None and post["text"]:
            yield post

    # -- mapping ---------------------------------------------------------------------------------

    def post_from_status(self, status: Mapping[str, Any]) -> Any:
        post_id = str(status.get("id") or "")
        if not post_id:
            return None
        user = status.get("user") if isinstance(status.get("user"), Mapping) else {}
        user_id = str(status.get("user_id") or user.get("id") or "")
        target = str(status.get("target") or (f"/{user_id}/{post_id}" if user_id else f"/status/{post_id}"))
        text = html_fragment_to_text(str(status.get("text") or "")) or html_fragment_to_text(
            str(status.get("description") or "")
        )
        url = f"{self.status_host}{target if target.startswith('/') else '/' + target}"
        return self.new_post(
            url=url,
            canonical_url=url,
            title=html_fragment_to_text(str(status.get("title") or "")),
            text=text,
            author=str(user.get("screen_name") or ""),
            published_at=self.site_time(status.get("created_at")),
            reposts=parse_count(status.get("retweet_count")),
            comments=parse_count(status.get("reply_count")),
            likes=parse_count(status.get("like_count")),
            user_followers=parse_count(user.get("followers_count")),
            user_verified=bool(user.get("verified")),
            site_id=post_id,
        )
