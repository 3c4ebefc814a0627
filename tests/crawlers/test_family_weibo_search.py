"""Family ``weibo``, keyword search: the m.weibo.cn search container, read against a frozen clock.

No real search answer is saved in ../shared/pages, so the fixture (tests/fixtures/crawl/families/weibo/)
is built from the format the site serves as public clients parse it (getIndex ``data.cards``: card_type 9
``mblog`` cards, grouped in card_type 11 ``card_group``s, relative ``created_at`` such as "5分钟前");
page 2 is the real saved "这里还没有内容" answer (weibo_err_profile.json).
"""

from __future__ import annotations

import pytest
from family_site import KEYWORD, family_run, posts_of


@pytest.fixture(scope="module")
def run():
    return family_run()


def _by_id(run) -> dict[str, dict]:
    _, posts, _, _ = run
    return {p["site_id"]: p for p in posts_of(posts, "weibo-search")}


def test_search_finds_every_post_of_the_result_cards(run):
    stats, _, site, _ = run
    s = stats["weibo-search"]
    assert (s["finish_reason"], s["errors"], s["items"]) == ("finished", 0, 5)
    # the search container with the keyword was asked for; page 2 is past the end, which is no error
    assert s["stats"]["yuqing/weibo_end_of_timeline"] == 1
    assert any("100103type" in r and "page_type=searchall" in r for r in site.requests)
    posts = _by_id(run)
    assert set(posts) == {f"510000000000000{i}" for i in range(1, 6)}  # the hot-topic card is not a post
    assert all(p["source_family"] == "weibo" for p in posts.values())
    assert KEYWORD in posts["5100000000000002"]["text"] and "<span" not in posts["5100000000000002"]["text"]


@pytest.mark.parametrize(
    ("site_id", "created_at", "published_at"),
    [
        ("5100000000000001", "刚刚", "2026-11-20T10:00:00+08:00"),
        ("5100000000000002", "5分钟前", "2026-11-20T09:55:00+08:00"),
        ("5100000000000003", "今天 08:30", "2026-11-20T08:30:00+08:00"),
        ("5100000000000004", "昨天 21:05", "2026-11-19T21:05:00+08:00"),
        ("5100000000000005", "11-18", "2026-11-18T00:00:00+08:00"),
    ],
)
def test_relative_times_against_the_frozen_clock(run, site_id, created_at, published_at):
    assert _by_id(run)[site_id]["published_at"] == published_at, created_at


def test_reach_counts_and_long_text(run):
    posts = _by_id(run)
    rumor = posts["5100000000000002"]
    assert (rumor["reposts"], rumor["comments"], rumor["likes"]) == (
        12000,
        856,
        1_000_000,
    )  # "1.2万", "100万+"
    assert (rumor["author"], rumor["user_followers"], rumor["user_verified"]) == ("老周看盘", 213000, True)
    reply = posts["5100000000000003"]  # isLongText: completed from statuses/extend
    assert "未造成客户资金损失" in reply["text"] and "全文" not in reply["text"]
    assert reply["url"] == "https://m.weibo.cn/status/P1aBcDeF3"
    repost = posts["5100000000000005"]
    assert "//转发 @财经快线：华鼎证券（609999）发布澄清公告" in repost["text"]


def test_long_text_request_carries_the_seen_key():
    """The seen-store contract: a long-text request names the post and a version that changes on edit."""
    import json

    from crawl_site import FIXTURES
    from scrapy import Request
    from scrapy.http import TextResponse

    from crawlers.spiders.weibo import WeiboSpider

    spider = WeiboSpider(source={"name": "w", "url": "http://127.0.0.1:9", "options": {"keywords": ["x"]}})
    data = json.loads((FIXTURES / "families/weibo/search_p1.json").read_text(encoding="utf-8"))

    def long_text_requests() -> list[Request]:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        response = TextResponse("http://127.0.0.1:9/api/container/getIndex", body=body, encoding="utf-8")
        return [r for r in spider.parse_timeline(response, "", 1) if isinstance(r, Request)]

    (request,) = long_text_requests()
    assert "/statuses/extend?id=5100000000000003" in request.url
    assert request.meta["seen_key"] == "weibo:5100000000000003" and request.meta["seen_version"]
    data["data"]["cards"][1]["mblog"]["edit_count"] = 2  # edited again: fetch the long text again
    (edited,) = long_text_requests()
    assert edited.meta["seen_key"] == request.meta["seen_key"]
    assert edited.meta["seen_version"] != request.meta["seen_version"]
