"""Family ``guba`` (东方财富股吧): the stock bar's list page, post pages, keyword search.

No real guba page is saved in ../shared/pages, so the fixtures (tests/fixtures/crawl/families/guba/) are
built from the format the site serves as public clients parse it: the list page embeds
``var article_list={"re":[…]}`` with guba's field names (post_id, post_title, post_publish_time,
post_comment_count, user_nickname, stockbar_code…); post pages embed ``var post_article={…}`` (or, older
layout, only the HTML text); search is the site search's JSONP answer (``result.gubaArticleWeb``).
"""

from __future__ import annotations

import pytest
from family_site import family_run, posts_of

from crawlers.spiders.guba import embedded_json


@pytest.fixture(scope="module")
def run():
    return family_run()


def _by_id(run) -> dict[str, dict]:
    return {p["site_id"]: p for p in posts_of(run[1], "guba-609999")}


def test_stock_bar_and_search_posts(run):
    stats, _, site, _ = run
    s = stats["guba-609999"]
    assert (s["finish_reason"], s["errors"], s["items"]) == ("finished", 0, 4)
    assert "/guba/list,609999.html" in site.requests
    assert set(_by_id(run)) == {"9001", "9002", "9003", "9101"}


def test_title_only_list_rows_are_completed_from_the_post_page(run):
    posts = _by_id(run)
    outage = posts["9001"]  # post_article script on the post page
    assert outage["title"] == "华鼎证券的APP今天又崩了，开盘半小时登不上"
    assert "客服电话排队一百多人" in outage["text"] and "<p>" not in outage["text"]
    assert outage["published_at"] == "2026-11-20T09:41:07+08:00"
    assert (outage["author"], outage["comments"], outage["reposts"]) == ("股民老李", 48, 2)
    assert outage["url"].endswith("/guba/news,609999,9001.html")
    older = posts["9002"]  # no script: the page's text through the generic extraction
    assert "风险等级R2" in older["text"] and "要不要去投诉销售不当" in older["text"]
    assert "版权所有" not in older["text"]
    _, _, site, _ = run
    assert "/guba/news,609999,9003.html" not in site.requests  # the list already had its text


def test_search_result(run):
    post = _by_id(run)["9101"]
    assert post["title"] == "华鼎证券被浙江证监局出具警示函"  # <em> highlight gone
    assert "提前透露研究观点" in post["text"]
    assert post["published_at"] == "2026-11-19T17:20:00+08:00"
    assert post["url"] == "http://guba.eastmoney.com/news,609999,9101.html"


def test_embedded_json_reads_the_script_variable_only():
    html = '<script>var other={"re":[1]};var article_list={"re":[{"post_id":1,"post_title":"a};b"}],"count":1};</script>'
    assert embedded_json(html, "article_list") == {"re": [{"post_id": 1, "post_title": "a};b"}], "count": 1}
    assert embedded_json(html, "post_article") is None
    assert embedded_json('<script>var article_list={"re":[{"post_id":1,</script>', "article_list") is None


def test_second_crawl_fetches_no_post_page_again(tmp_path):
    """The seen-store contract: post-page requests carry ``seen_key``/``seen_version``, so with the
    seen-store on, an unchanged post's page is not fetched again on the next run."""
    import json

    from crawl_site import FAST_SETTINGS
    from family_site import family_routes, family_sources

    from crawlers.runner import run_crawl_subprocess
    from yuqing.localsite import LocalSite

    with LocalSite(tmp_path, {"routes": family_routes()}) as site:
        (source,) = [s for s in family_sources(site.base_url) if s["name"] == "guba-609999"]
        settings = {**FAST_SETTINGS, "YUQING_SEEN_DB": str(tmp_path / "seen.db")}
        runs = []
        for n in (1, 2):
            site.requests.clear()
            out = tmp_path / f"posts-{n}.jsonl"
            stats = run_crawl_subprocess([source], out, settings=settings, timeout=90)
            posts = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]
            runs.append((stats["guba-609999"], posts, [r for r in site.requests if "/news," in r]))
    (first, posts1, pages1), (second, _, pages2) = runs
    assert len(posts1) == 4 and sorted(pages1) == [
        "/guba/news,609999,9001.html",
        "/guba/news,609999,9002.html",
    ]
    assert pages2 == []  # the list is read again (that is how new posts arrive), the post pages are not
    assert second["stats"]["yuqing/seen_skipped"] == 2 and second["errors"] == 0
