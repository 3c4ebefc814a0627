"""预警队列: what a duty officer sees and can do on the triage queue."""

from __future__ import annotations

from tests.desk.conftest import HOSTILE_TITLE, make_post, texts


def _titles_in_order(at, posts):
    shown = texts(at)
    return [k for t in shown for k, p in posts.items() if t == p.title]


def test_queue_lists_flagged_posts_level_one_first(desk_store, app):
    at = app()
    assert not at.exception
    assert at.title[0].value == "预警队列"
    order = _titles_in_order(at, desk_store.posts)
    assert order == ["outage", "rumor", "hostile", "complaint"]  # I, II, III, IV; newest first within a level
    # the unflagged post and the drill are not in the queue
    assert "praise" not in order and "drill" not in order
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["I 级 · 特别重大"] == "1"
    assert metrics["预警合计"] == "4"
    body = " ".join(c.value for c in at.caption)
    assert "涉及交易系统故障" in body  # reasons, in Chinese
    assert "待处理" in body  # alert status


def test_level_filter_narrows_the_list(desk_store, app):
    at = app()
    at.multiselect(key="desk.triage.levels").set_value(["II"]).run()
    assert not at.exception
    assert _titles_in_order(at, desk_store.posts) == ["rumor"]


def test_source_and_sentiment_filters(desk_store, app):
    at = app()
    assert set(at.multiselect(key="desk.triage.sources").options) == {"微博", "股吧", "雪球", "黑猫投诉"}
    at.multiselect(key="desk.triage.sources").set_value(["黑猫投诉"]).run()
    assert _titles_in_order(at, desk_store.posts) == ["complaint"]
    at.multiselect(key="desk.triage.sources").set_value([]).run()
    at.multiselect(key="desk.triage.sentiments").set_value(["neutral"]).run()
    assert _titles_in_order(at, desk_store.posts) == ["hostile"]


def test_search_finds_a_post_by_a_word(desk_store, app):
    at = app()
    at.text_input(key="desk.triage.query").input("立案").run()
    assert not at.exception
    assert _titles_in_order(at, desk_store.posts) == ["rumor"]


def test_search_with_no_match_says_so(desk_store, app):
    at = app()
    at.text_input(key="desk.triage.query").input("完全不相干的词语").run()
    assert not at.exception
    assert any("没有符合" in s.value for s in at.success)


HOSTILE_QUERIES = [
    '"',
    '""华鼎"',
    "AND OR NOT",
    "NEAR(华鼎 证券)",
    "华鼎*",
    "^证券",
    "title:华鼎",
    "<script>alert(1)</script>",
    "'; DROP TABLE posts; --",
    "[link](javascript:alert(1))",
    "**bold** {} () \\",
    "\x00\x01",
    "华鼎" * 250,
    "a" * 500,
]


def test_hostile_queries_do_not_raise(desk_store, app):
    at = app()
    for query in HOSTILE_QUERIES:
        at.text_input(key="desk.triage.query").input(query).run()
        assert not at.exception, query
        assert at.title[0].value == "预警队列"


def test_overlong_query_shows_the_index_note(desk_store, app):
    at = app()
    at.text_input(key="desk.triage.query").input("华鼎" * 250).run()
    assert not at.exception
    assert any("过长" in i.value for i in at.info)


def test_hostile_post_text_is_shown_literally(desk_store, app):
    at = app()
    assert HOSTILE_TITLE in texts(at)  # st.text: no Markdown, no HTML
    assert not at.html
    for md in [*at.markdown, *at.caption]:
        assert "<script>" not in md.value
        assert "**加粗标题**" not in md.value


def test_open_item_goes_to_the_item_page(desk_store, app):
    at = app()
    at.button(key="desk.triage.open.post-outage").click().run()
    assert not at.exception
    assert at.title[0].value == "预警详情"
    assert at.query_params.get("post") == "post-outage"


def test_pagination(desk_store, app):
    desk_store.add(
        [
            make_post(
                f"bulk{i:02d}",
                title=f"华鼎证券批量帖子{i:02d}",
                text="华鼎证券客户投诉",
                level="IV",
                source="股吧",
                minutes_ago=200 + i,
            )
            for i in range(20)
        ]
    )
    at = app()
    assert any("第 1 / 2 页" in c.value for c in at.caption)
    at.button(key="desk.triage.next").click().run()
    assert not at.exception
    assert any("第 2 / 2 页" in c.value for c in at.caption)
    shown = [t for t in texts(at) if t.startswith("华鼎证券批量帖子")]
    assert len(shown) == 4  # 24 flagged posts, 20 per page
    # changing a filter starts again from page 1
    at.multiselect(key="desk.triage.levels").set_value(["IV"]).run()
    assert any("第 1 / 2 页" in c.value for c in at.caption)


def test_drill_toggle_shows_only_drills(desk_store, app):
    at = app()
    at.toggle(key="desk.triage.drill").set_value(True).run()
    assert not at.exception
    assert _titles_in_order(at, desk_store.posts) == ["drill"]
