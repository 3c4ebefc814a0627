"""Family ``news_list``: news sites through list pages + selectors, articles through the generic extraction.

Adding a news site needs no code: Sina Finance, 证券时报, 和讯, 澎湃 and 人民网 are configured below
(family_site.family_sources) with nothing but a list page URL and options (CSS, XPath, or a URL pattern;
a next-page link). The articles are the real pages saved in ../shared/pages; the five small list pages
(tests/fixtures/crawl/families/news_list/) were written for this test in the style of each site's list
markup, since no real list page of those sites is saved; 网易's list page (163-list) is real.
"""

from __future__ import annotations

import pytest
from family_site import family_run, family_sources, posts_of

SITES = {
    # source: (title, a sentence of the body, published_at)
    "sina-finance": (
        '60万"12306账号"外泄? 中铁总辟谣称消息不实',
        "中国铁路总公司",
        "2018-12-28T19:56:29+08:00",
    ),
    "stcn": (
        "午间公告：天奇股份中标广汽丰田项目；运达股份中标7亿元项目",
        "证券时报e公司讯",
        "2019-09-26T12:11:00+08:00",
    ),
    "hexun": (
        "交通运输部：着力打造京津冀区域综合立体交通网络",
        "京津冀交通一体化",
        "2019-09-26T10:56:28+08:00",
    ),
    "thepaper": (
        "共享充电宝涨价告别1元时代：是“收割韭菜”还是回归理性",
        "共享充电宝",
        "2019-09-24T09:10:00+08:00",
    ),
    "people": ("女儿出嫁，郑板桥画了几笔兰花当嫁妆", "父爱如山", "2019-06-15T08:18:00+08:00"),
}


@pytest.fixture(scope="module")
def run():
    return family_run()


def test_sites_are_configuration_only():
    sources = {s["name"]: s for s in family_sources("http://127.0.0.1:1")}
    for name in [*SITES, "163-list"]:
        assert sources[name]["family"] == "news_list"
        assert set(sources[name]) <= {"name", "family", "url", "options"}


@pytest.mark.parametrize("source", sorted(SITES))
def test_each_site_through_its_list_page(run, source):
    stats, posts, _, _ = run
    title, sentence, published = SITES[source]
    s = stats[source]
    assert s["finish_reason"] == "finished" and s["errors"] == 0
    found = [p for p in posts_of(posts, source) if p["title"] == title]
    assert found, [p["title"] for p in posts_of(posts, source)]
    post = found[0]
    assert sentence in post["text"] and len(post["text"]) > 100
    assert post["published_at"] == published
    assert post["source_family"] == "news_list"


def test_next_page_followed_and_lying_charset_read_right(run):
    stats, posts, site, _ = run
    assert "/lists/sina_list_2.html" in site.requests  # page 2 through next_css
    assert stats["sina-finance"]["stats"]["yuqing/list_links"] == 2
    # 人民网 declares GB2312 over UTF-8 bytes: read as UTF-8, counted, not an error
    assert stats["people"]["stats"]["yuqing/charset_mismatch"] == 1
    people = posts_of(posts, "people")[0]
    assert "父爱如山" in people["text"] and "\ufffd" not in people["text"]


def test_real_163_list_page_without_following(run):
    stats, posts, _, _ = run
    s = stats["163-list"]
    assert s["errors"] == 0 and s["items"] == 29
    titles = {p["title"]: p for p in posts_of(posts, "163-list")}
    post = titles["美三大股指集体收涨!苹果市值全球最高"]
    assert post["url"] == "https://money.163.com/20/0801/06/FIU4BFJ7002580S6.html"
    assert post["text"] == post["title"]  # the list gives titles only


def test_a_list_without_selectors_is_a_config_error():
    from crawlers.spiders.news import NewsListSpider

    with pytest.raises(ValueError, match="link_css"):
        NewsListSpider(source={"name": "x", "url": "http://127.0.0.1:9/list.html", "options": {}})
