"""The RawPost item (crawlers → ingest); fields and meanings as in docs/contracts.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import scrapy

#: field name → default used when a spider leaves it unset
RAWPOST_DEFAULTS: dict[str, Any] = {
    "url": "",
    "canonical_url": "",
    "source": "",
    "source_family": "",
    "title": "",
    "text": "",
    "author": "",
    "published_at": "",
    "fetched_at": "",
    "reposts": 0,
    "comments": 0,
    "likes": 0,
    "user_followers": 0,
    "user_verified": False,
    "site_id": "",
}

STR_FIELDS = tuple(k for k, v in RAWPOST_DEFAULTS.items() if isinstance(v, str))
INT_FIELDS = ("reposts", "comments", "likes", "user_followers")
REQUIRED_FIELDS = ("url", "source", "text")


class RawPost(scrapy.Item):
    url = scrapy.Field()
    canonical_url = scrapy.Field()
    source = scrapy.Field()
    source_family = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    author = scrapy.Field()
    published_at = scrapy.Field()
    fetched_at = scrapy.Field()
    reposts = scrapy.Field()
    comments = scrapy.Field()
    likes = scrapy.Field()
    user_followers = scrapy.Field()
    user_verified = scrapy.Field()
    site_id = scrapy.Field()


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def new_rawpost(**fields: Any) -> RawPost:
    """A RawPost with every contract field present (defaults filled in)."""
    item = RawPost()
    for key, default in RAWPOST_DEFAULTS.items():
        item[key] = fields.pop(key, default)
    if fields:
        raise KeyError(f"unknown RawPost fields: {sorted(fields)}")
    if not item["fetched_at"]:
        item["fetched_at"] = utc_now_iso()
    return item
