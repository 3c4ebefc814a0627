"""The seen-store: a second crawl fetches no article page again and stores nothing new; a changed item is
fetched and stored again; nothing counts as seen before it is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crawl_site import FAST_SETTINGS
from newsroom import open_newsroom

from crawlers.runner import run_crawl_subprocess
from crawlers.seen import SeenStore, post_version, seen_path_for


@pytest.fixture
def room(tmp_path: Path):
    r = open_newsroom(tmp_path / "site")
    yield r
    r.site.stop()


class Crawler:
    def __init__(self, room, tmp_path: Path):
        self.room = room
        self.tmp = tmp_path
        self.db = tmp_path / "yuqing.seen.db"
        self.runs = 0

    def __call__(self, **settings) -> tuple[dict, list[dict]]:
        self.runs += 1
        self.room.site.requests.clear()
        out = self.tmp / f"posts-{self.runs}.jsonl"
        stats = run_crawl_subprocess(
            [self.room.source()],
            out,
            settings={**FAST_SETTINGS, "YUQING_SEEN_DB": str(self.db), **settings},
            timeout=90,
        )
        posts = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]
        return stats["newsroom"], posts


@pytest.fixture
def crawl(room, tmp_path):
    return Crawler(room, tmp_path)


def test_second_crawl_fetches_no_article_again_and_stores_nothing(room, crawl):
    first, posts = crawl()
    assert first["errors"] == 0
    assert sorted(p["title"] for p in posts) == sorted(t for t, _, _ in room.articles.values())
    assert sorted(room.article_requests()) == ["/article/a1.html", "/article/a2.html", "/article/a3.html"]

    second, posts = crawl()
    assert posts == []
    assert room.article_requests() == []  # not one article page fetched again
    assert "/feed.xml" in room.site.requests  # the feed itself is read every time: that is how news arrives
    assert second["stats"]["yuqing/seen_skipped"] == 3
    assert second["errors"] == 0 and second["finish_reason"] == "finished"  # skipping is not an error


def test_changed_item_is_fetched_and_stored_again(room, crawl):
    crawl()
    title, _, paras = room.articles["a2"]
    room.write(
        "a2",
        title + "（更新）",
        "Mon, 03 Mar 2025 16:45:00 +0800",
        [*paras, "更新：华鼎证券晚间补充说明，佣金调整不影响存量客户。"],
    )
    stats, posts = crawl()
    assert room.article_requests() == ["/article/a2.html"]
    assert [p["title"] for p in posts] == [title + "（更新）"]
    assert "晚间补充说明" in posts[0]["text"]
    assert stats["stats"]["yuqing/seen_skipped"] == 2


def test_same_article_under_a_new_date_is_fetched_but_not_stored_again(room, crawl):
    crawl()
    title, _, paras = room.articles["a3"]
    room.write("a3", title, "Tue, 04 Mar 2025 08:00:00 +0800", paras)  # the feed re-dated it, text unchanged
    stats, posts = crawl()
    assert room.article_requests() == ["/article/a3.html"]
    assert posts == []
    assert stats["stats"]["yuqing/unchanged"] == 1
    # and now that version of the page is known too
    _, posts = crawl()
    assert room.article_requests() == [] and posts == []


def test_nothing_counts_as_seen_until_the_posts_are_stored(room, crawl):
    deferred = {"YUQING_SEEN_COMMIT": "deferred"}
    _, posts = crawl(YUQING_RUN_ID="run-1", **deferred)
    assert len(posts) == 3
    # run-1's posts never reached the store (say the ingest failed): the next run offers them again
    _, posts = crawl(YUQING_RUN_ID="run-2", **deferred)
    assert len(room.article_requests()) == 3 and len(posts) == 3
    store = SeenStore(crawl.db)
    assert store.commit("run-2") > 0  # run-2's posts were stored
    store.discard("run-1")
    _, posts = crawl(YUQING_RUN_ID="run-3", **deferred)
    assert room.article_requests() == [] and posts == []


def test_post_version_ignores_layout_and_small_reach_changes():
    post = {"title": "华鼎证券回应", "text": "第一段\n第二段", "reposts": 100, "likes": 1000}
    assert post_version(post) == post_version({**post, "text": "第一段 第二段\n"})
    assert post_version(post) == post_version({**post, "likes": 1001})  # one more like: same version
    assert post_version(post) != post_version({**post, "reposts": 250})  # reach more than doubled
    assert post_version(post) != post_version({**post, "text": "第一段\n第二段（已删除）"})


def test_seen_store_lives_next_to_the_posts_store(tmp_path):
    assert seen_path_for(tmp_path / "data" / "yuqing.db") == tmp_path / "data" / "yuqing.seen.db"
    store = SeenStore(tmp_path / "data" / "yuqing.seen.db")
    store.mark("post:https://example.com/a", "v1")
    assert store.is_current("post:https://example.com/a", "v1")
    assert not store.is_current("post:https://example.com/a", "v2")
    assert not store.is_current("post:https://example.com/b", "v1")


def test_weibo_long_text_is_not_replaced_by_the_short_text_on_the_next_crawl(local_site, tmp_path):
    from crawl_site import WEIBO_UID

    source = {
        "name": "weibo-ak",
        "family": "weibo",
        "url": local_site.base_url,
        "options": {"uids": [WEIBO_UID]},
    }
    settings = {**FAST_SETTINGS, "YUQING_SEEN_DB": str(tmp_path / "seen.db")}

    def run(n: int) -> list[dict]:
        out = tmp_path / f"weibo-{n}.jsonl"
        run_crawl_subprocess([source], out, settings=settings, timeout=90)
        return [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]

    first = {p["site_id"]: p for p in run(1)}
    long_post = next(p for p in first.values() if "4645748019299849" in p["canonical_url"])
    assert len(long_post["text"]) > 300  # the long text was fetched
    local_site.requests.clear()
    second = run(2)
    # the edited-but-unchanged long post: its long text is not fetched again, and no truncated copy of it
    # is offered to the store in its place
    assert not any("statuses/extend" in r and "4645748019299849" in r for r in local_site.requests)
    assert all("4645748019299849" not in p["canonical_url"] for p in second)
    assert second == []
