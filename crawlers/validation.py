"""Validate a RawPost against the contract: a reason string, or None when it is fine."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from crawlers.items import INT_FIELDS, RAWPOST_DEFAULTS, REQUIRED_FIELDS, STR_FIELDS


def validation_error(post: Mapping[str, Any]) -> str | None:
    """Return why ``post`` breaks the RawPost contract, or None if it is valid."""
    for name in REQUIRED_FIELDS:
        value = post.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"missing or empty required field {name!r}"
    scheme = urlsplit(post["url"]).scheme
    if scheme not in ("http", "https"):
        return f"url is not http(s): {post['url']!r}"
    unknown = set(post) - set(RAWPOST_DEFAULTS)
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    for name in STR_FIELDS:
        if name in post and not isinstance(post[name], str):
            return f"field {name!r} must be str, got {type(post[name]).__name__}"
    for name in INT_FIELDS:
        value = post.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"field {name!r} must be a non-negative int, got {value!r}"
    if not isinstance(post.get("user_verified", False), bool):
        return "field 'user_verified' must be bool"
    text = post["text"]
    if "<" in text and ">" in text and _looks_like_html(text):
        return "text contains HTML markup"
    return None


def _looks_like_html(text: str) -> bool:
    return re.search(r"</?(p|div|span|a|br|img|script|table)\b[^>]*>", text, re.I) is not None
