"""The rss spider, run for real (subprocess + loopback LocalSite) over real saved article pages.

Expected values were read off the saved pages by hand.
"""

from __future__ import annotations

import pytest

# path on the local site → what a duty officer must see
EXPECTED = {
    "/news/sina-1.html": {
        "title": "中国人习以为常的地方 为何老外却说“了不得”？",
        "author": "参考消息",
        "published_at": "2019-11-25T18:57:38+08:00",
        "canonical_url": "https://news.sina.com.cn/c/2019-11-25/doc-iihnzahi3275702.shtml",
        "body": [
            "其实就是中国人最习以为常的公园。",
            "这位加拿大大叔在广西南宁的南湖公园拍了一期视频，因为他认为“中国的公园真的很神奇”。",
            "BBC称，不只是温哥华，伦敦、柏林等城市也都开始效仿中国，打造鼓励市民健身运动的公园。",
        ],
        "absent": ["扫描成功", "责任编辑", "Copyright", "举报电话", "更多猛料"],
    },
    "/finance/sina-2.html": {
        "title": '60万"12306账号"外泄? 中铁总辟谣称消息不实',
        "author": "新京报",
        "published_at": "2018-12-28T19:56:29+08:00",
        "canonical_url": "https://finance.sina.com.cn/roll/2018-12-28/doc-ihqfskcn2160999.shtml",
        "starts": "新京报快讯（记者 裴剑飞）今日（12月28日）有网友爆料",
        "body": [
            "今晚，中国铁路总公司通过官方微博发布辟谣消息称：网传信息不实，铁路12306网站未发生用户信息泄漏。"
        ],
        "absent": ["老师回答", "点击投票", "责任编辑", "新浪财经意见反馈", "指数午前高开低走"],
    },
    "/stcn/stcn-1.html": {
        "title": "午间公告：天奇股份中标广汽丰田项目；运达股份中标7亿元项目",
        "author": "李在山",
        "published_at": "2019-09-26T12:11:00+08:00",
        "starts": "证券时报e公司讯，当升科技：9614.5万元竞得常州市工业用地",
        "body": [
            "天奇股份：确认中标广汽丰田公司涂装车间工程内搬送设备等项目，中标额6962万元。",
            "伊戈尔：拟1079.6万元收购控股子公司日本伊戈尔少数股权。",
        ],
        "absent": ["为你推荐", "金融委最新定调", "声明：证券时报", "点击排行"],
    },
    "/hexun/hexun-1.html": {
        "title": "交通运输部：着力打造京津冀区域综合立体交通网络",
        "author": "证券时报网",  # the page names no author; the feed's dc:creator is the fallback
        "published_at": "2019-09-26T10:56:28+08:00",
        "body": [
            "据财联社9月26日消息，今日从交通运输部行新闻发布会获悉",
            "形成相邻城市间基本实现“1.5小时交通圈”。",
        ],
        "absent": ["责任编辑", "投资学院", "炒股大赛", "和讯网 >"],
    },
    "/thepaper/thepaper-1.html": {
        "title": "共享充电宝涨价告别1元时代：是“收割韭菜”还是回归理性",
        "author": "石佳/中国青年报",  # from the per-site author_css option
        "published_at": "2019-09-24T09:10:00+08:00",
        "body": [
            "“以前花一两元就能充满电，前几天一下子被扣了12元。”吴翔宇自称是共享充电宝的长期用户",
            "刘颖对共享充电宝行业的发展比较有信心。",
        ],
        "absent": ["问吧", "把你最喜欢的栏目添加到这里来哦", "字号", "超大"],
    },
    "/people/people-1.html": {
        "title": "女儿出嫁，郑板桥画了几笔兰花当嫁妆",
        "author": "人民网-文化频道",
        "published_at": "2019-06-15T08:18:00+08:00",
        "starts": "父亲的教诲像一盏灯，为我们照亮前行的路",
        "body": ["今年的6月16日是父亲节。", "纸上得来终觉浅，绝知此事要躬行。", "字里行间都是对儿子的爱。"],
        "absent": ["点击进入“文艺星青年”", "责编", "【1】", "站内检索", "人民网>>文化"],
    },
    "/gbk/gbk-article.html": {
        "title": "某券商回应“交易系统故障”传闻",
        "author": "王小明",
        "published_at": "2021-06-08T09:35:00+08:00",
        "starts": "6月8日上午，有投资者在社交媒体上反映",
        "body": ["网传“客户资金被冻结”的说法不实，客户资产安全不受影响"],
        "absent": ["首页", "责任编辑", "版权所有"],
    },
}


def _post_for(posts: list[dict], path: str) -> dict:
    found = [p for p in posts if p["url"].split("?")[0].endswith(path)]
    assert len(found) == 1, f"expected one post for {path}, got {len(found)}"
    return found[0]


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_real_page_extraction(crawl_run, path):
    _, posts, _ = crawl_run
    post = _post_for(posts, path)
    exp = EXPECTED[path]
    assert post["title"] == exp["title"]
    assert post["author"] == exp["author"]
    assert post["published_at"] == exp["published_at"]
    if "canonical_url" in exp:
        assert post["canonical_url"] == exp["canonical_url"]
    if "starts" in exp:
        assert post["text"].startswith(exp["starts"])
    for sentence in exp["body"]:
        assert sentence in post["text"]
    for junk in exp["absent"]:
        assert junk not in post["text"], f"boilerplate {junk!r} leaked into the body of {path}"
    assert "<" not in post["text"] or "</" not in post["text"]
    assert "\ufffd" not in post["text"] + post["title"]
    assert post["source_family"] == "rss"
    assert post["fetched_at"].endswith("+00:00")


def test_people_page_charset_trap_comes_out_as_chinese(crawl_run):
    """The page declares GB2312 (header and meta) but its bytes are UTF-8."""
    _, posts, site = crawl_run
    post = _post_for(posts, "/people/people-1.html")
    assert "郑板桥" in post["title"]
    assert "父亲节" in post["text"]
    # decoding by the declaration would have produced mojibake such as '鐖朵翰' for 父亲
    assert "鐖" not in post["text"]


def test_feed_run_stats_dedup_and_robots(crawl_run):
    stats, posts, site = crawl_run
    s = stats["news-feed"]
    assert s["finish_reason"] == "finished"
    assert s["errors"] == 0
    assert s["items"] == 6  # 8 feed items: one duplicate (tracking params + fragment), one robots-denied
    assert s["duplicates"] == 1
    assert s["robots_forbidden"] == 1
    assert "/private/secret.html" not in site.requests
    assert not any("private" in p["url"] for p in posts)
    assert stats["thepaper"]["items"] == 1
    # the feed linked with utm_* params; the post keeps the fetched URL, the canonical drops them
    sina2 = _post_for(posts, "/finance/sina-2.html")
    assert "utm_source" in sina2["url"] and "utm_" not in sina2["canonical_url"]


@pytest.mark.parametrize(
    ("source", "reason"),
    [("feed-500", "HTTP 500"), ("feed-404", "HTTP 404"), ("feed-not-a-feed", "not a feed")],
)
def test_failing_feed_is_recorded_not_fatal(crawl_run, source, reason):
    stats, posts, _ = crawl_run
    s = stats[source]
    assert s["finish_reason"] == "finished"
    assert s["errors"] >= 1
    assert any(reason in r for r in s["error_reasons"])
    assert s["items"] == 0
    assert not any(p["source"] == source for p in posts)


def test_every_post_meets_the_contract(crawl_run):
    from crawlers.items import RAWPOST_DEFAULTS
    from crawlers.validation import validation_error

    _, posts, _ = crawl_run
    assert posts
    for post in posts:
        assert set(post) == set(RAWPOST_DEFAULTS)
        assert validation_error(post) is None
