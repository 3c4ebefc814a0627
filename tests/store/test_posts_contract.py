"""Posts index contract: search as a person types it, idempotent upserts, hostile input.

Runs against every engine that can be reached (the ``index`` fixture in conftest.py): the embedded
SQLite index always, Elasticsearch when YUQING_TEST_ES_URL is set.
"""

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


def test_counts_by_day_in_beijing_time(index):
    index.upsert_many(
        [
            make_post("华鼎证券 一", url="u1", published_at="2026-11-20T23:30:00+08:00"),
            make_post("华鼎证券 二", url="u2", published_at="2026-11-20T16:30:00+00:00"),  # 00:30 on the 21st
            make_post("华鼎证券 三", url="u3", published_at="2026-11-21T09:00:00+08:00", level="II"),
        ]
    )
    assert index.facets()["day"] == {"2026-11-20": 1, "2026-11-21": 2}
    assert index.facets(levels=["II"])["day"] == {"2026-11-21": 1}
    assert index.facets("一")["day"] == {"2026-11-20": 1}


def test_time_window_filter(index):
    index.upsert_many(
        [
            make_post("华鼎证券 早", url="u1", published_at="2026-11-20T08:00:00+08:00"),
            make_post("华鼎证券 晚", url="u2", published_at="2026-11-21T08:00:00+08:00"),
        ]
    )
    page = index.search("华鼎证券", since="2026-11-20T12:00:00", until="2026-11-21T12:00:00")
    assert [p.url for p in page.items] == ["u2"]


def test_get_many_and_export_stream_every_post_once(index):
    posts = [make_post(f"华鼎证券 第{i}条", url=f"u{i}") for i in range(25)]
    drill = PostRecord.from_post({"text": "演练 华鼎证券", "url": "d1"}, drill=True)
    index.upsert_many([*posts, drill])
    got = index.get_many([posts[3].id, posts[7].id, "no-such-id"])
    assert set(got) == {posts[3].id, posts[7].id} and got[posts[7].id].text == "华鼎证券 第7条"
    assert sorted(p.url for p in index.iter_all(batch=4, drill=False)) == sorted(f"u{i}" for i in range(25))
    assert len(list(index.iter_all(batch=10))) == 26
    assert [p.url for p in index.iter_all(drill=True)] == ["d1"]
    assert index.count() == 26


def test_paging_walks_the_queue_without_repeats(index):
    index.upsert_many(
        [
            make_post(
                f"华鼎证券 {i}", url=f"u{i}", level="III", published_at=f"2026-11-{10 + i}T10:00:00+08:00"
            )
            for i in range(9)
        ]
    )
    seen = []
    for offset in (0, 4, 8):
        page = index.search("华鼎证券", limit=4, offset=offset)
        assert page.total == 9
        seen.extend(p.url for p in page.items)
    assert seen == [f"u{i}" for i in reversed(range(9))]


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
        "title:证券 AND (华鼎 OR",
        "证券* OR 华鼎?",
        "[1 TO 5] {x} ~2 /正则/ \\",
        "：；！……",
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


def test_query_syntax_is_searched_as_text(index):
    index.upsert_many(
        [make_post("华鼎证券 NOT 回应 AND 传闻", url="u1"), make_post("华鼎证券 回应", url="u2")]
    )
    assert [p.url for p in index.search("NOT 回应").items] == ["u1"]  # NOT is a word here, not an operator
    assert index.search('"华鼎证券" OR "回应"').total == 0  # OR is a word, and no post says "or"
    page = index.search("***")
    assert (page.total, page.note) == (0, "搜索词中没有可检索的文字")


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


def test_column_cache_sees_writes_from_another_process(tmp_path, segmenter):
    """The desk's index caches columns; the crawler writes through its own connection and process."""
    desk = SqlitePostIndex(tmp_path / "shared.db", segmenter)
    crawler = SqlitePostIndex(tmp_path / "shared.db", segmenter, columnar=False)
    try:
        crawler.upsert_many([make_post("华鼎证券 传闻", url="u1", source="微博")])
        assert desk.search("华鼎证券").total == 1
        assert desk.facets()["level"] == {"—": 1}
        crawler.upsert_many(
            [
                make_post("华鼎证券 传闻", url="u1", source="微博", level="I"),
                make_post("华鼎证券 新帖", url="u2"),
            ]
        )
        assert [p.url for p in desk.search("华鼎证券", flagged=True).items] == ["u1"]
        assert desk.facets()["level"] == {"I": 1, "—": 1}
        assert desk.search("新帖").total == 1
    finally:
        desk.close()
        crawler.close()


def test_a_post_the_engine_cannot_store_is_refused_alone_with_its_reason(index):
    """A count beyond 64 bits (SQLite cannot bind it; Elasticsearch's `long` cannot hold it): that post's
    result says why and it is not stored; the rest of the batch is; ``upsert_many`` raises instead."""
    from store.posts_sqlite import PostsRejected

    good = make_post("华鼎证券发布公告", url="https://x.example/ok")
    bad = make_post("华鼎证券APP无法登录", url="https://x.example/huge", level="III")
    bad.reposts = 10**30
    results = index.write_many([bad, good])
    assert [r.written for r in results] == [False, True]
    assert results[0].error and not results[0].retry
    assert index.count() == 1 and index.get(bad.id) is None
    with pytest.raises(PostsRejected):
        index.upsert_many([bad])


def test_flagged_ids_page_through_flagged_posts_since_a_time(index):
    posts = [
        make_post(f"华鼎证券投诉 {i}", url=f"https://x.example/{i}", level="III" if i % 2 else None)
        for i in range(7)
    ]
    posts[1].first_seen_at = "2026-01-01T00:00:00+00:00"
    index.upsert_many(posts)
    drill = make_post("演练帖子", url="https://x.example/drill", level="II", drill=True)
    index.upsert_many([drill])
    everything = [i for page in index.flagged_ids(batch=2) for i in page]
    assert sorted(everything) == sorted([p.id for p in posts if p.flagged] + [drill.id])
    recent = [i for page in index.flagged_ids(since="2026-06-01T00:00:00+00:00") for i in page]
    assert posts[1].id not in recent and len(recent) == 3  # posts 3 and 5, and the drill
