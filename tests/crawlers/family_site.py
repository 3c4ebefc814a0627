"""One local site and one real crawl for every spider family's offline tests (test_family_*.py).

Served from 127.0.0.1 by yuqing.localsite: the real saved pages in ../shared/pages (news articles, the
163 list page, Weibo API answers) and, for sites with no saved sample, fixtures built from the format
the site serves as public clients parse it (tests/fixtures/crawl/families/README.md says which). The
crawl runs once per test session, in a child process like ``yuqing crawl``, with a frozen clock.
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

from crawl_site import FAST_SETTINGS, FIXTURES, PAGES, require_pages

from yuqing.localsite import LocalSite

FAM = FIXTURES / "families"
NOW = "2026-11-20T10:00:00+08:00"  # the frozen clock: "5分钟前" is 09:55 that day
KEYWORD = "华鼎证券"
XQ_TOKEN = "test-xq-token-6f1c2a"  # fictional; only ever in the test's secrets file

JSON_CT = "application/json; charset=utf-8"
HTML_UTF8 = "text/html; charset=utf-8"


def _r(path: str, file: Path, content_type: str, query: dict | None = None, **extra) -> dict:
    return {"path": path, "query": query or {}, "file": str(file), "content_type": content_type, **extra}


def family_routes() -> list[dict]:
    w = PAGES / "weibo-mobile-api"
    search = f"100103type=1&q={KEYWORD}"
    return [
        _r("/robots.txt", FIXTURES / "robots.txt", "text/plain"),
        # weibo keyword search (fixture) and its end: the real "这里还没有内容" answer
        _r(
            "/api/container/getIndex",
            FAM / "weibo/search_p1.json",
            JSON_CT,
            {"containerid": search, "page": "1"},
        ),
        _r(
            "/api/container/getIndex",
            w / "weibo_err_profile.json",
            JSON_CT,
            {"containerid": search, "page": "2"},
        ),
        _r(
            "/statuses/extend",
            FAM / "weibo/extend_5100000000000003.json",
            JSON_CT,
            {"id": "5100000000000003"},
        ),
        # guba
        _r("/guba/list,609999.html", FAM / "guba/list_609999.html", HTML_UTF8),
        _r("/guba/news,609999,9001.html", FAM / "guba/news_609999_9001.html", HTML_UTF8),
        _r("/guba/news,609999,9002.html", FAM / "guba/news_609999_9002.html", "text/html"),
        _r("/guba-search/search/jsonp", FAM / "guba/search.jsonp", "application/javascript; charset=utf-8"),
        # xueqiu
        _r("/xueqiu/query/v1/search/status.json", FAM / "xueqiu/search.json", JSON_CT, {"q": KEYWORD}),
        _r(
            "/xueqiu/query/v1/symbol/search/status.json",
            FAM / "xueqiu/symbol_SH609999.json",
            JSON_CT,
            {"symbol": "SH609999"},
        ),
        _r(
            "/xueqiu/v4/statuses/user_timeline.json",
            FAM / "xueqiu/user_timeline_8000000009.json",
            JSON_CT,
            {"user_id": "8000000009"},
        ),
        _r("/xueqiu/statuses/show.json", FAM / "xueqiu/show_360000001.json", JSON_CT, {"id": "360000001"}),
        # heimao, cls
        _r("/heimao/api/index/s", FAM / "heimao/search.json", JSON_CT, {"keywords": KEYWORD}),
        _r("/cls/nodeapi/telegraphList", FAM / "cls/telegraph.json", JSON_CT),
        # baidu news results (the links of the first search are not followed; of the second, one article
        # is there, one is gone: 404)
        _r("/baidu/s", FAM / "baidu_news/results.html", HTML_UTF8, {"wd": KEYWORD, "tn": "news"}),
        _r("/baidu/s", FAM / "baidu_news/results_follow.html", HTML_UTF8, {"wd": "华鼎金管家", "tn": "news"}),
        _r("/follow-target/gbk-article.html", FIXTURES / "gbk_article.html", "text/html"),
        # news sites through list pages: list pages built for the test, articles the real saved pages
        *[
            _r(f"/lists/{name}.html", FAM / f"news_list/{name}.html", HTML_UTF8)
            for name in (
                "sina_list",
                "sina_list_2",
                "stcn_list",
                "hexun_list",
                "thepaper_list",
                "people_list",
            )
        ],
        _r("/lists/163.html", PAGES / "163-list/163-list-1.html", HTML_UTF8),
        _r("/pages/sina-finance/sina-1.html", PAGES / "sina-finance/sina-1.html", HTML_UTF8),
        _r("/pages/sina-finance/sina-2.html", PAGES / "sina-finance/sina-2.html", HTML_UTF8),
        _r("/pages/stcn/stcn-1.html", PAGES / "stcn/stcn-1.html", "text/html"),
        _r("/pages/hexun/hexun-1.html", PAGES / "hexun/hexun-1.html", "text/html; charset=gb2312"),
        _r("/lists/newsDetail_forward_4543264", PAGES / "thepaper/thepaper-1.html", "text/html"),
        # 人民网 declares GB2312 (header and meta) over UTF-8 bytes
        _r(
            "/pages/people/n1/2019/0615/c1013-31137391.html",
            PAGES / "people/people-1.html",
            "text/html; charset=GB2312",
        ),
    ]


def family_sources(base: str) -> list[dict]:
    return [
        {
            "name": "weibo-search",
            "family": "weibo",
            "url": base,
            "options": {"keywords": [KEYWORD], "pages": 2},
        },
        {
            "name": "guba-609999",
            "family": "guba",
            "url": f"{base}/guba",
            "options": {
                "stock_codes": ["609999"],
                "keywords": [KEYWORD],
                "search_url": f"{base}/guba-search/search/jsonp",
            },
        },
        {
            "name": "xueqiu",
            "family": "xueqiu",
            "url": f"{base}/xueqiu",
            "options": {"keywords": [KEYWORD], "symbols": ["SH609999"], "user_ids": ["8000000009"]},
        },
        {"name": "heimao", "family": "heimao", "url": f"{base}/heimao", "options": {"keywords": [KEYWORD]}},
        {"name": "cls", "family": "cls", "url": f"{base}/cls"},
        {"name": "baidu", "family": "baidu_news", "url": f"{base}/baidu", "options": {"keywords": [KEYWORD]}},
        {
            "name": "baidu-follow",
            "family": "baidu_news",
            "url": f"{base}/baidu",
            "options": {"keywords": ["华鼎金管家"], "follow_links": True},
        },
        # five news sites, each only configuration: a list page and its selectors
        {
            "name": "sina-finance",
            "family": "news_list",
            "url": f"{base}/lists/sina_list.html",
            "options": {"link_css": "ul.list_009 li a", "next_css": ".pagebox_next a", "max_pages": 2},
        },
        {
            "name": "stcn",
            "family": "news_list",
            "url": f"{base}/lists/stcn_list.html",
            "options": {"link_css": ".infinite-list li .tt a"},
        },
        {
            "name": "hexun",
            "family": "news_list",
            "url": f"{base}/lists/hexun_list.html",
            "options": {"link_xpath": "//div[@class='temp01']//li/a[2]"},
        },
        {
            "name": "thepaper",
            "family": "news_list",
            "url": f"{base}/lists/thepaper_list.html",
            "options": {"link_css": ".news_li h2 a", "author_css": ".news_about p"},
        },
        {
            "name": "people",
            "family": "news_list",
            "url": f"{base}/lists/people_list.html",
            "options": {"link_pattern": r"/n1/\d{4}/\d{4}/c\d+-\d+\.html$"},
        },
        {
            "name": "163-list",
            "family": "news_list",
            "url": f"{base}/lists/163.html",
            "options": {"link_css": ".news_title h3 a", "follow_links": False, "max_items": 100},
        },
    ]


@functools.cache
def family_run() -> tuple[dict, list[dict], LocalSite, str]:
    """``(stats, posts, site, log)`` of one crawl of every family source (the site stays up)."""
    from crawlers.runner import run_crawl_subprocess

    require_pages()
    tmp = Path(tempfile.mkdtemp(prefix="yuqing-families-"))
    site = LocalSite(tmp, {"routes": family_routes()}).start()
    secrets = tmp / "secrets.toml"
    secrets.write_text(f'xq_a_token = "{XQ_TOKEN}"\n', encoding="utf-8")
    out = tmp / "posts.jsonl"
    log = tmp / "crawl.log"
    stats = run_crawl_subprocess(
        family_sources(site.base_url),
        out,
        settings={**FAST_SETTINGS, "YUQING_NOW": NOW},
        timeout=180,
        log_path=log,
        secrets_file=secrets,
    )
    posts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    return stats, posts, site, log.read_text(encoding="utf-8")


def posts_of(posts: list[dict], source: str) -> list[dict]:
    return [p for p in posts if p["source"] == source]
