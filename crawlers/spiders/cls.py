"""Family ``cls``: 财联社 telegraph (电报), the fast-news roll market people read first.

``GET {url}/nodeapi/telegraphList?app=CailianpressWeb&os=web&sv=7.7.5&rn=N&sign=…`` (``sign`` is
``md5(sha1(the sorted query string))``, as the site's script and public clients compute it). The answer
is ``{"error": 0, "data": {"roll_data": [...]}}``; an item has ``id``, ``title`` (often empty),
``content`` (begins with ``【title】`` when there is one), ``brief``, ``ctime`` (epoch s),
``modified_time``, ``level`` (``A``/``B``/``C``: how important the editors rate it), ``reading_num``,
``share_num``, ``comment_num``, ``author`` and ``shareurl``.

Every telegraph is offered (flagging decides which concern the firm). RawPost has no field for
``level`` or the read count: level A/B shows as the editors' own label in the title (``[A] …``), the
read count is not kept. ``share_num`` → reposts, ``comment_num`` → comments. Posts link to
``https://www.cls.cn/detail/{id}``.

Source options: ``rn`` (items per request, default 20), ``category`` (e.g. ``""`` all, ``"red"`` the
highlighted ones), ``detail_host`` (default ``https://www.cls.cn``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawlers.extract import html_fragment_to_text
from crawlers.families import ClsOptions
from crawlers.spiders.base import SourceSpider
from crawlers.spiders.common import parse_count

_HEAD = re.compile(r"^\s*【([^】]{2,120})】")


def sign(params: Mapping[str, Any]) -> str:
    query = urlencode(sorted((k, str(v)) for k, v in params.items()))
    return hashlib.md5(hashlib.sha1(query.encode("utf-8")).hexdigest().encode("ascii")).hexdigest()


class ClsSpider(SourceSpider):
    name = "cls"
    family = "cls"
    options: ClsOptions

    def __init__(self, source: Mapping[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(source, **kwargs)
        self.rn = max(1, min(100, self.options.rn))
        self.category = self.options.category
        self.detail_host = self.options.detail_host.rstrip("/")
        self.base = self.source["url"].rstrip("/")

    def start_requests(self) -> Iterable[scrapy.Request]:
        params = {
            "app": "CailianpressWeb",
            "category": self.category,
            "os": "web",
            "rn": self.rn,
            "sv": "7.7.5",
        }
        params["sign"] = sign(params)
        yield self.json_request(f"{self.base}/nodeapi/telegraphList?{urlencode(params)}", self.parse_roll)

    def parse_roll(self, response: Response) -> Iterator[Any]:
        data = self.load_json(response, "财联社电报接口 cls API")
        if data is None:
            return
        if not isinstance(data, Mapping) or data.get("error") not in (0, "0", None):
            msg = (data.get("msg") or data.get("message") or "") if isinstance(data, Mapping) else ""
            err = data.get("error") if isinstance(data, Mapping) else None
            self.source_error("api_error", f"error={err!r} msg={msg!r}", url=response.url)
            return
        roll = (data.get("data") or {}).get("roll_data") if isinstance(data.get("data"), Mapping) else None
        if not isinstance(roll, list):
            self.source_error("api_error", "没有 data.roll_data / no data.roll_data", url=response.url)
            return
        for item in roll:
            if isinstance(item, Mapping):
                post = self.post_from_item(item)
                if post is not None:
                    yield post

    def post_from_item(self, item: Mapping[str, Any]) -> Any:
        item_id = str(item.get("id") or "")
        text = html_fragment_to_text(str(item.get("content") or "")) or html_fragment_to_text(
            str(item.get("brief") or "")
        )
        if not item_id or not text:
            return None
        title = html_fragment_to_text(str(item.get("title") or ""))
        if not title:
            m = _HEAD.match(text)
            title = m.group(1) if m else ""
        level = str(item.get("level") or "").strip().upper()
        url = f"{self.detail_host}/detail/{item_id}"
        return self.new_post(
            url=url,
            canonical_url=url,
            title=f"[{level}] {title}".strip() if level in ("A", "B") and title else title,
            text=text,
            author=str(item.get("author") or ""),
            published_at=self.site_time(item.get("ctime")),
            reposts=parse_count(item.get("share_num")),
            comments=parse_count(item.get("comment_num")),
            site_id=item_id,
        )
