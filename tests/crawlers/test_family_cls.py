"""Family ``cls`` (财联社 telegraph): ``data.roll_data`` from the telegraph list API.

No real answer is saved in ../shared/pages, so the fixture (tests/fixtures/crawl/families/cls/) is built
from the format the API serves as public clients parse it (``error``, ``data.roll_data[]`` with id,
title, content, brief, ctime, level, reading_num, share_num, comment_num, shareurl).
"""

from __future__ import annotations

import pytest
from family_site import family_run, posts_of


@pytest.fixture(scope="module")
def run():
    return family_run()


def test_telegraphs(run):
    stats, posts, site, _ = run
    s = stats["cls"]
    assert (s["finish_reason"], s["errors"], s["items"]) == ("finished", 0, 2)
    by_id = {p["site_id"]: p for p in posts_of(posts, "cls")}
    a = by_id["2100001"]
    assert a["title"] == "[A] 华鼎证券：网传高管被调查消息不实"  # level A: the editors' own label
    assert "公司经营正常" in a["text"]
    assert a["published_at"] == "2026-11-20T09:40:00+08:00"
    assert (a["reposts"], a["comments"]) == (120, 33)
    assert a["url"] == "https://www.cls.cn/detail/2100001"
    c = by_id["2100002"]  # no title: taken from the 【…】 head; level C: no label
    assert c["title"] == "沪指震荡走高"
    (req,) = [r for r in site.requests if r.startswith("/cls/")]
    assert "sign=" in req and "rn=20" in req
