"""The embedded posts index: search as a person types it, idempotent upserts, hostile input."""

from __future__ import annotations

import pytest

from store.models import PostRecord
from store.posts_sqlite import SqlitePostIndex


def make_post(text: str, *, url: str = "", title: str = "", level: str | None = None, **kw) -> PostRecord:
    analysis = {
        "sentiment": {"label": kw.pop("sentiment", "neutral"), "scores": {}},
        "flagged": level is not None,
        "level": level,
        "topic": kw.pop("topic", "其他"),
        "reasons": kw.pop("reasons", []),
    }
    return PostRecord.from_post({"text": text, "url": url, "title": title, **kw, **analysis})


@pytest.fixture
def index(tmp_path, segmenter):
    idx = SqlitePostIndex(tmp_path / "posts.db", segmenter)
    yield idx
    idx.close()


def test_firm_name_found_by_full_name_and_by_part(index):
    index.upsert_many([make_post("中信证券发布三季度业绩快报", url="https://a.example/1")])
    index.upsert_many([make_post("今天天气很好", url="https://a.example/2")])
    for query in ("中信证券", "证券", "中信"):
        page = index.search(query)
        assert [p.url for p in page.items] == ["https://a.example/1"], query


def test_same_page_crawled_twice_is_stored_once(index):
    post = make_post("华鼎证券APP无法登录", url="https://weibo.example/status/1")
    first = index.upsert_many([post])
    again = index.upsert_many([make_post("华鼎证券APP无法登录", url="https://weibo.example/status/1")])
    assert first[0].created and not again[0].created and not again[0].changed
    assert index.count() == 1


def test_posts_without_url_dedup_by_content(index):
    index.upsert_many([make_post("华鼎证券 客服 电话 打不通")])
    index.upsert_many([make_post("华鼎证券  客服 电话\n打不通")])  # only whitespace differs
    assert index.count() == 1


def test_repost_counts_update_the_stored_post(index):
    index.upsert_many([make_post("传言扩散", url="https://x.example/1", reposts=10)])
    res = index.upsert_many([make_post("传言扩散", url="https://x.example/1", reposts=5000)])
    assert res[0].changed and not res[0].created
    assert index.search("传言").items[0].reposts == 5000
    assert index.count() == 1


def test_changed_text_is_reindexed(index):
    index.upsert_many([make_post("旧的内容", url="https://x.example/1")])
    index.upsert_many([make_post("全新的标题党内容", url="https://x.example/1")])
    assert index.search("旧的").total == 0
    assert index.search("标题党").total == 1


def test_queue_order_most_severe_then_newest(index):
    index.upsert_many(
        [
            make_post("一般负面 A", url="u1", level="IV", published_at="2026-11-20T10:00:00+08:00"),
            make_post("重大事件 B", url="u2", level="I", published_at="2026-11-19T10:00:00+08:00"),
            make_post("较大事件 C", url="u3", level="III", published_at="2026-11-21T10:00:00+08:00"),
            make_post("重大事件 D", url="u4", level="I", published_at="2026-11-21T09:00:00+08:00"),
            make_post("没有预警", url="u5"),
        ]
    )
    page = index.search(flagged=True)
    assert [p.url for p in page.items] == ["u4", "u2", "u3", "u1"]
    assert page.total == 4


def test_filters_and_facets(index):
    index.upsert_many(
        [
            make_post("华鼎证券 投诉", url="u1", level="II", source="微博", sentiment="negative"),
            make_post("华鼎证券 好评", url="u2", source="新闻", sentiment="positive"),
            make_post("华鼎证券 投诉 二", url="u3", level="IV", source="新闻", sentiment="negative"),
        ]
    )
    assert {p.url for p in index.search("华鼎证券", sources=["新闻"]).items} == {"u2", "u3"}
    assert [p.url for p in index.search(levels=["II"]).items] == ["u1"]
    assert [p.url for p in index.search(sentiments=["positive"]).items] == ["u2"]
    facets = index.facets()
    assert facets["source"] == {"微博": 1, "新闻": 2}
    assert facets["sentiment"] == {"negative": 2, "positive": 1}


def test_drill_posts_stay_out_of_production_search(index):
    index.upsert_many([PostRecord.from_post({"text": "演练：华鼎证券APP无法登录", "url": "d1"}, drill=True)])
    assert index.search("华鼎证券").total == 0
    assert index.search("华鼎证券", drill=True).total == 1


@pytest.mark.parametrize(
    "query",
    [
        '"',
        'a" OR "b',
        "NEAR(证券 华鼎, 2)",
        "证券 AND OR NOT",
        "*",
        "^华鼎",
        "tokens:证券",
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "'; DROP TABLE posts; --",
        "证" * 5000,
        "   ",
        "\x00\x01",
    ],
)
def test_hostile_search_input_never_raises(index, query):
    index.upsert_many([make_post("华鼎证券 APP 无法登录", url="u1")])
    page = index.search(query)
    assert page.total >= 0
    assert index.count() == 1  # nothing dropped


def test_long_query_is_shortened_with_a_note(index):
    page = index.search("证券" * 300)
    assert "过长" in page.note


def test_full_text_round_trips(index):
    post = make_post(
        "正文\n第二段", url="u1", title="标题", level="II", reasons=["提及：华鼎证券", "负面情绪 0.91"]
    )
    index.upsert_many([post])
    got = index.get(post.id)
    assert got is not None
    assert (got.title, got.text, got.level, got.reasons, got.flagged) == (
        "标题",
        "正文\n第二段",
        "II",
        post.reasons,
        True,
    )
    assert got.first_seen_at


def test_unwritable_location_is_a_clear_error(tmp_path, segmenter):
    from store.posts_sqlite import StoreUnavailable

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable, match="cannot open posts index"):
        SqlitePostIndex(blocker / "sub" / "posts.db", segmenter)
