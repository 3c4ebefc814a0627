"""The local test site for crawler tests: the saved real pages (../shared/pages) plus our fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
PAGES = SHARED / "pages"
FIXTURES = REPO / "tests" / "fixtures" / "crawl"

WEIBO_UID = "6279793937"  # 明日方舟Arknights, the account in weibo_ak_list_*.json
WEIBO_ERR_UID = "1111111111"

HTML = "text/html"
HTML_UTF8 = "text/html; charset=utf-8"
JSON_CT = "application/json; charset=utf-8"


def require_pages() -> Path:
    if not (PAGES / "SOURCES.md").exists():
        pytest.skip(f"saved real pages not found at {PAGES} (../shared/pages from the repo root)")
    return PAGES


def site_manifest() -> dict:
    """Routes for the whole local test site (absolute file paths; LocalSite joins them as is)."""
    w = PAGES / "weibo-mobile-api"
    routes = [
        {"path": "/robots.txt", "file": str(FIXTURES / "robots.txt"), "content_type": "text/plain"},
        # feeds
        {
            "path": "/feeds/news.xml",
            "file": str(FIXTURES / "news_feed.xml"),
            "content_type": "application/rss+xml; charset=utf-8",
        },
        {
            "path": "/feeds/thepaper.atom",
            "file": str(FIXTURES / "thepaper_atom.xml"),
            "content_type": "application/atom+xml",
        },
        {
            "path": "/feeds/broken.xml",
            "body": "<html><body>502 Bad Gateway</body></html>",
            "content_type": HTML,
        },
        {"path": "/feeds/down.xml", "status": 500, "body": "internal error", "content_type": "text/plain"},
        # article pages, real and saved; content types as the real sites sent them
        {
            "path": "/news/sina-1.html",
            "file": str(PAGES / "sina-finance/sina-1.html"),
            "content_type": HTML_UTF8,
        },
        {
            "path": "/finance/sina-2.html",
            "file": str(PAGES / "sina-finance/sina-2.html"),
            "content_type": HTML_UTF8,
        },
        {"path": "/stcn/stcn-1.html", "file": str(PAGES / "stcn/stcn-1.html"), "content_type": HTML},
        {
            "path": "/hexun/hexun-1.html",
            "file": str(PAGES / "hexun/hexun-1.html"),
            "content_type": "text/html; charset=gb2312",
        },
        {
            "path": "/thepaper/thepaper-1.html",
            "file": str(PAGES / "thepaper/thepaper-1.html"),
            "content_type": HTML,
        },
        # declares GB2312 (header and meta) but the bytes are UTF-8
        {
            "path": "/people/people-1.html",
            "file": str(PAGES / "people/people-1.html"),
            "content_type": "text/html; charset=GB2312",
        },
        # truly GBK bytes, no charset in the header: only the <meta> says so
        {"path": "/gbk/gbk-article.html", "file": str(FIXTURES / "gbk_article.html"), "content_type": HTML},
        {
            "path": "/private/secret.html",
            "body": "<html><body><p>不应被抓取的页面内容不应被抓取。</p></body></html>",
            "content_type": HTML_UTF8,
        },
        # weibo mobile API
        {
            "path": "/api/container/getIndex",
            "query": {"containerid": f"107603{WEIBO_UID}"},
            "file": str(w / "weibo_ak_list_0.json"),
            "content_type": JSON_CT,
        },
        {
            "path": "/api/container/getIndex",
            "query": {"containerid": f"107603{WEIBO_UID}", "page": "2"},
            "file": str(w / "weibo_ak_list_1.json"),
            "content_type": JSON_CT,
        },
        {  # past the last page the real API answers like the bad-uid error
            "path": "/api/container/getIndex",
            "query": {"containerid": f"107603{WEIBO_UID}", "page": "3"},
            "file": str(w / "weibo_err_profile.json"),
            "content_type": JSON_CT,
        },
        {
            "path": "/api/container/getIndex",
            "query": {"containerid": f"107603{WEIBO_ERR_UID}"},
            "file": str(w / "weibo_err_profile.json"),
            "content_type": JSON_CT,
        },
        {
            "path": "/statuses/extend",
            "query": {"id": "4645748019299849"},
            "file": str(w / "weibo_statuses_extend_4645748019299849.json"),
            "content_type": JSON_CT,
        },
    ]
    return {"routes": routes}


# Scrapy settings for crawling the loopback site: no politeness delays (robots.txt still obeyed)
FAST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 10,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "LOG_LEVEL": "INFO",
}


def sources_for(base_url: str) -> list[dict]:
    return [
        {"name": "news-feed", "family": "rss", "url": f"{base_url}/feeds/news.xml", "options": {}},
        {
            "name": "thepaper",
            "family": "rss",
            "url": f"{base_url}/feeds/thepaper.atom",
            "options": {"author_css": ".news_about p"},
        },
        {"name": "feed-not-a-feed", "family": "rss", "url": f"{base_url}/feeds/broken.xml"},
        {"name": "feed-500", "family": "rss", "url": f"{base_url}/feeds/down.xml"},
        {"name": "feed-404", "family": "rss", "url": f"{base_url}/feeds/missing.xml"},
        {
            "name": "weibo-ak",
            "family": "weibo",
            "url": base_url,
            "options": {"uids": [WEIBO_UID], "pages": 3},
        },
        {"name": "weibo-bad-uid", "family": "weibo", "url": base_url, "options": {"uids": [WEIBO_ERR_UID]}},
    ]
