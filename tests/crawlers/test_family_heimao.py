"""Family ``heimao`` (黑猫投诉): complaints naming the firm, through the site's search API.

No real answer is saved in ../shared/pages (the site's pages are rendered by script), so the fixture
(tests/fixtures/crawl/families/heimao/) is built from the format the search API serves as public clients
parse it: ``result.status.code`` and ``result.data.lists[].main`` with sn, title, summary, appeal, issue,
cotitle, status, timestamp, url, comment/upvote/share amounts.
"""

from __future__ import annotations

import pytest
from family_site import KEYWORD, family_run, posts_of

from crawlers.spiders.heimao import signature


@pytest.fixture(scope="module")
def run():
    return family_run()


def test_complaints_with_company_appeal_and_status(run):
    stats, posts, site, _ = run
    s = stats["heimao"]
    assert (s["finish_reason"], s["errors"], s["items"]) == ("finished", 0, 2)
    by_sn = {p["site_id"]: p for p in posts_of(posts, "heimao")}
    c = by_sn["17390000001"]
    assert c["title"] == "华鼎证券客户经理误导购买鼎盈1号"
    for line in (
        "投诉对象：华鼎证券",
        "投诉问题：虚假宣传、销售误导",
        "诉求：退还本金、赔偿损失",
        "状态：处理中",
    ):
        assert line in c["text"].splitlines()
    assert "购买后亏损8%" in c["text"]
    assert c["url"] == "https://tousu.sina.com.cn/complaint/view/17390000001/"
    assert c["published_at"] == "2026-11-19T12:00:00+08:00"
    assert (c["likes"], c["comments"], c["reposts"]) == (12, 3, 1)
    assert "状态：已回复" in by_sn["17390000002"]["text"]
    # the request was signed the way the site's script signs it
    (req,) = [r for r in site.requests if r.startswith("/heimao/api/index/s?")]
    assert "signature=" in req and "ts=" in req and "rs=" in req


def test_signature_is_order_independent_sha256():
    a = signature("1795140000000", "abc", "salt", KEYWORD, 10, 1)
    assert len(a) == 64 and a == signature("1795140000000", "abc", "salt", KEYWORD, 10, 1)
    assert a != signature("1795140000000", "abc", "salt", KEYWORD, 10, 2)
