"""The weibo spider against real m.weibo.cn responses (weibo-mobile-api/), plus its parsing helpers."""

from __future__ import annotations

import json

import pytest
from crawl_site import PAGES, require_pages

from crawlers.spiders.common import parse_count
from crawlers.spiders.weibo import WeiboSpider, iter_mblogs, weibo_text

LONG_ID = "4645748019299849"


def _by_site_id(posts: list[dict]) -> dict[str, dict]:
    return {p["site_id"]: p for p in posts if p["source"] == "weibo-ak"}


def test_timeline_posts(crawl_run):
    stats, posts, _ = crawl_run
    s = stats["weibo-ak"]
    assert s["finish_reason"] == "finished"
    assert s["errors"] == 0
    # page 1 has 10 posts; page 2 repeats them and adds one: 11 distinct posts;
    # page 3 is past the end ("这里还没有内容"), which is not an error
    assert s["items"] == 11
    assert s["stats"]["yuqing/weibo_end_of_timeline"] == 1
    weibo = _by_site_id(posts)
    assert len(weibo) == 11
    assert all(p["source_family"] == "weibo" and p["title"] == "" for p in weibo.values())

    lottery = weibo["4648806186747944"]
    assert lottery["text"].startswith("恭喜@黄防护服黄 等10名用户获得【音律联觉主题黑胶礼盒各一套】。")
    assert "<a" not in lottery["text"] and "href" not in lottery["text"]
    assert lottery["published_at"] == "2021-06-16T20:07:07+08:00"
    assert (lottery["reposts"], lottery["comments"], lottery["likes"]) == (7, 147, 1340)
    assert lottery["url"] == "https://m.weibo.cn/status/KktFEsjrO"  # the public host, not the test server


def test_long_text_fetched_via_statuses_extend(crawl_run):
    _, posts, site = crawl_run
    post = _by_site_id(posts)[LONG_ID]
    assert f"/statuses/extend?id={LONG_ID}" in site.requests
    # only in data.longTextContent, not in the timeline's truncated text
    assert "一、音律联觉原声EP将于2021年6月12日正式上架塞壬唱片官网及网易云音乐，敬请期待。" in post["text"]
    assert (
        "关注并转发本条微博，我们将通过@微博抽奖平台 抽取十位博士送出【音律联觉主题黑胶礼盒各一套】"
        in post["text"]
    )
    assert post["text"].startswith("#明日方舟# #音律联觉#\n")
    assert "全文" not in post["text"]
    assert post["published_at"] == "2021-06-08T09:35:04+08:00"
    assert (post["reposts"], post["comments"], post["likes"]) == (9079, 2126, 37053)
    assert post["author"] == "明日方舟Arknights"
    assert post["user_followers"] == 1363591
    assert post["user_verified"] is True
    assert post["url"] == "https://m.weibo.cn/status/Kjc77D1jz"
    assert post["canonical_url"] == f"https://m.weibo.cn/status/{LONG_ID}"


def test_error_response_is_a_source_error_not_a_post(crawl_run):
    stats, posts, _ = crawl_run
    s = stats["weibo-bad-uid"]
    assert s["finish_reason"] == "finished"
    assert s["errors"] == 1
    assert s["items"] == 0
    assert any("ok=0" in r and "这里还没有内容" in r for r in s["error_reasons"])
    assert s["stats"]["yuqing/source_error"] == 1
    assert not any(p["source"] == "weibo-bad-uid" for p in posts)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1363591, 1363591),
        ("1363591", 1363591),
        ("1.2万", 12000),
        ("3亿", 300_000_000),
        ("100万+", 1_000_000),
        ("1,234", 1234),
        (None, 0),
        ("", 0),
        ("n/a", 0),
        (-5, 0),
        (True, 0),
    ],
)
def test_parse_count(value, expected):
    assert parse_count(value) == expected


def test_weibo_text_keeps_emoji_alt_and_link_text():
    require_pages()
    data = json.loads((PAGES / "weibo-mobile-api" / "weibo_ys_list_0.json").read_text(encoding="utf-8"))
    texts = {m["id"]: weibo_text(m["text"]) for m in iter_mblogs(data["data"]["cards"])}
    assert texts["4655701919795833"].startswith("FOFO[作揖]")
    assert texts["4655401851422792"].startswith("晚安啦！[心]")
    assert texts["4655727546995839"].startswith("JDG！zoom青钢影太难处理了～后期\n最近比赛都是让一追二？")
    assert "#2021lpl#" in texts["4655727546995839"]
    for text in texts.values():
        assert "<" not in text and "src=" not in text


def test_mblog_mapping_without_network():
    spider = WeiboSpider(
        source={"name": "w", "family": "weibo", "url": "http://127.0.0.1:1", "options": {"uids": [1]}}
    )
    mblog = {
        "id": "1",
        "bid": "Abc",
        "created_at": "Tue Jun 08 09:35:04 +0800 2021",
        "text": "转发理由",
        "reposts_count": "1万",
        "comments_count": 2,
        "attitudes_count": "3",
        "user": {"screen_name": "某人", "followers_count": "2.5万", "verified": False},
        "retweeted_status": {"text": "原文<br />第二行", "user": {"screen_name": "原作者"}},
    }
    post = spider.post_from_mblog(mblog)
    assert post["url"] == "https://m.weibo.cn/status/Abc"
    assert post["text"] == "转发理由\n//转发 @原作者：原文\n第二行"
    assert (post["reposts"], post["comments"], post["likes"], post["user_followers"]) == (10000, 2, 3, 25000)
    assert post["published_at"] == "2021-06-08T09:35:04+08:00"
    assert spider.post_from_mblog({"text": "no id"}) is None
