"""Family ``baidu_news``: Baidu News search result pages, optionally followed to the articles.

No real result page is saved in ../shared/pages, so the fixture (tests/fixtures/crawl/families/baidu_news/)
is built from the page's markup as public clients parse it (``div.result-op.c-container``, the title in
``h3 a``, the medium / time / summary in ``aria-label="新闻来源：…" / "发布于：…" / "摘要：…"`` spans).
The followed article is a saved GBK page (tests/fixtures/crawl/gbk_article.html).
"""

from __future__ import annotations

import pytest
from family_site import family_run, posts_of


@pytest.fixture(scope="module")
def run():
    return family_run()


def test_results_as_posts(run):
    stats, posts, _, _ = run
    s = stats["baidu"]
    assert (s["finish_reason"], s["errors"], s["items"]) == ("finished", 0, 3)
    by_title = {p["title"]: p for p in posts_of(posts, "baidu")}
    first = by_title["华鼎证券回应APP故障：已恢复，未造成资金损失"]
    assert first["author"] == "新浪财经"
    assert first["text"].startswith("华鼎证券称，今晨华鼎金管家APP部分用户登录异常")
    assert first["published_at"] == "2026-11-20T07:00:00+08:00"  # "3小时前" at 10:00
    assert by_title["浙江证监局对华鼎证券出具警示函"]["published_at"] == "2026-11-19T17:30:00+08:00"
    assert by_title["华鼎证券三季度营收同比增长12%"]["published_at"] == "2026-11-02T18:05:00+08:00"


def test_followed_articles_and_a_gone_one(run):
    stats, posts, site, _ = run
    s = stats["baidu-follow"]
    assert s["finish_reason"] == "finished" and s["items"] == 2
    assert s["stats"]["yuqing/source_error/http_404"] == 1  # the gone article is a recorded error
    by_url = {p["url"].rsplit("/", 1)[-1]: p for p in posts_of(posts, "baidu-follow")}
    article = by_url["gbk-article.html"]  # extracted from the GBK page, not the result's summary
    assert article["title"] == "某券商回应“交易系统故障”传闻"
    assert article["author"] == "王小明" and article["published_at"] == "2021-06-08T09:35:00+08:00"
    assert "委托延迟" in article["text"] and "9时30分至9时42分" in article["text"]
    gone = by_url["gone.html"]  # the result's own summary stands in for the missing article
    assert gone["text"].startswith("华鼎证券将于本周六凌晨") and gone["author"] == "汇财新闻网"
    assert gone["published_at"] == "2026-11-18T16:00:00+08:00"  # "前天 16:00"
