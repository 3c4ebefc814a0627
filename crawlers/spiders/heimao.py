"""Family ``heimao``: 黑猫投诉 (tousu.sina.com.cn) complaints that name the firm, via its search API.

``GET {url}/api/index/s?ts=…&rs=…&signature=…&keywords={keyword}&page_size=N&page=P``: ``ts`` is the
time in ms, ``rs`` a random string, ``signature`` the SHA-256 of the sorted list ``[ts, rs, salt,
keywords, page_size, page]`` joined — as the site's own page script and public clients compute it
(the salt is public, in that script; ``options.sign_salt`` overrides it).

The answer is ``{"result": {"status": {"code": 0, "msg": …}, "data": {"lists": [{"main": {…},
"author": {…}}], "pager": {…}}}}``; ``main`` has ``sn``, ``title``, ``summary``, ``appeal`` (诉求),
``issue`` (投诉问题), ``cotitle`` (the company complained about), ``status`` (text, or a code that
``options.status_names`` can name), ``timestamp`` (epoch s), ``url``, ``comment_amount``,
``upvote_amount``, ``share_amount``. The pages themselves are rendered by script, so the API's fields
are the post: title, then 投诉对象 / 投诉问题 / 诉求 / 状态 lines, then the summary.

Source options: ``keywords`` (list, required: the firm's names), ``pages`` (int, default 1),
``page_size`` (default 10), ``sign_salt``, ``status_names`` (dict code → name).
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin

import scrapy
from scrapy.http import Response

from crawlers.extract import html_fragment_to_text
from crawlers.families import HeimaoOptions
from crawlers.spiders.base import SourceSpider
from crawlers.spiders.common import parse_count

PUBLIC_HOST = "https://tousu.sina.com.cn"


def signature(ts: str, rs: str, salt: str, keywords: str, page_size: int, page: int) -> str:
    parts = sorted([ts, rs, salt, keywords, str(page_size), str(page)])
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()


class HeimaoSpider(SourceSpider):
    name = "heimao"
    family = "heimao"
    options: HeimaoOptions

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(source, **kwargs)
        self.keywords = self.options.keywords
        self.pages = max(1, self.options.pages)
        self.page_size = max(1, self.options.page_size)
        self.salt = self.options.sign_salt
        self.status_names = self.options.status_names
        self.base = self.source["url"].rstrip("/")

    def start_requests(self) -> Iterable[scrapy.Request]:
        if not self.keywords:
            self.source_error("config", "没有配置 options.keywords / no keywords configured")
            return
        ts = str(int(self.now().timestamp() * 1000))
        for keyword in self.keywords:
            for page in range(1, self.pages + 1):
                rs = "".join(random.choices(string.ascii_letters + string.digits, k=16))
                params = {
                    "ts": ts,
                    "rs": rs,
                    "signature": signature(ts, rs, self.salt, keyword, self.page_size, page),
                    "keywords": keyword,
                    "page_size": self.page_size,
                    "page": page,
                }
                yield self.json_request(f"{self.base}/api/index/s?{urlencode(params)}", self.parse_search)

    def parse_search(self, response: Response) -> Iterator[Any]:
        data = self.load_json(response, "黑猫投诉接口 heimao API")
        if data is None:
            return
        result = data.get("result") if isinstance(data, Mapping) else None
        status = (result or {}).get("status") if isinstance(result, Mapping) else None
        if not isinstance(status, Mapping) or status.get("code") not in (0, "0"):
            msg = status.get("msg") if isinstance(status, Mapping) else "no result.status"
            code = status.get("code") if isinstance(status, Mapping) else None
            self.source_error("api_error", f"code={code!r} msg={msg!r}", url=response.url)
            return
        lists = ((result.get("data") or {}).get("lists")) or []
        for row in lists if isinstance(lists, list) else []:
            main = row.get("main") if isinstance(row, Mapping) else None
            if isinstance(main, Mapping):
                post = self.post_from_complaint(main, row.get("author") or {})
                if post is not None:
                    yield post

    def status_text(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        return self.status_names.get(str(value)) or (
            str(value) if isinstance(value, str) else f"状态码 {value}"
        )

    def post_from_complaint(self, main: Mapping[str, Any], author: Mapping[str, Any]) -> Any:
        sn = str(main.get("sn") or "")
        link = str(main.get("url") or (f"/complaint/view/{sn}/" if sn else ""))
        if not link:
            return None
        url = urljoin(PUBLIC_HOST + "/", link if not link.startswith("//") else "https:" + link)
        lines = [
            ("投诉对象", html_fragment_to_text(str(main.get("cotitle") or ""))),
            ("投诉问题", html_fragment_to_text(str(main.get("issue") or ""))),
            ("诉求", html_fragment_to_text(str(main.get("appeal") or ""))),
            ("状态", self.status_text(main.get("status"))),
        ]
        summary = html_fragment_to_text(str(main.get("summary") or main.get("content") or ""))
        text = "\n".join([f"{k}：{v}" for k, v in lines if v] + ([summary] if summary else []))
        return self.new_post(
            url=url,
            canonical_url=url,
            title=html_fragment_to_text(str(main.get("title") or "")),
            text=text,
            author=str(author.get("title") or "") if isinstance(author, Mapping) else "",
            published_at=self.site_time(main.get("timestamp")),
            reposts=parse_count(main.get("share_amount")),
            comments=parse_count(main.get("comment_amount")),
            likes=parse_count(main.get("upvote_amount")),
            site_id=sn,
        )
