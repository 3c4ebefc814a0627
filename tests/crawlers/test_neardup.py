"""Near-duplicates: reposts and copied articles join the group of the first post; a different article on
the same topic does not."""

from __future__ import annotations

import pytest

from nlp.simhash import MAX_DISTANCE, distance, normalize_for_dup, simhash
from store.neardup import bands, probes
from yuqing.config import settings_from_dict
from yuqing.context import build_context
from yuqing.ingest import ingest

ORIGINAL = (
    "华鼎证券今日早盘交易系统出现故障，部分客户无法登录手机APP下单，委托长时间显示“处理中”。"
    "公司客服回应称，技术团队正在紧急排查，预计午间恢复，投资者可通过电话委托进行交易。"
    "据了解，此次故障持续约一个半小时，多名客户在社交媒体上表示损失了最佳卖出时机。"
)
COPY_WITH_HEADER = (
    "【华鼎证券交易系统早盘故障 客户无法下单】\n"
    + ORIGINAL.replace("“处理中”", "'处理中'")
    + "\n来源：证券时报网\n（责任编辑：王伟）"
)
REPOST = "转发微博 //@财经观察员: 又崩了？\n//转发 @证券时报：" + ORIGINAL + " http://t.cn/A6xYz"
SAME_TOPIC = (
    "华鼎证券晚间发布公告称，今日早盘交易系统故障系机房网络设备异常所致，已于10时20分全面恢复。"
    "公司将对受影响客户的合理诉求逐一核实处理，并对系统进行全面排查，避免类似情况再次发生。"
)
OTHER_FIRM_SAME_WORDS = (
    ORIGINAL.replace("华鼎证券", "东海证券")
    .replace("一个半小时", "四十分钟")
    .replace("手机APP", "电脑客户端")
)


def test_reposts_and_copies_are_near_duplicates():
    h = simhash(ORIGINAL)
    assert distance(h, simhash(COPY_WITH_HEADER)) <= MAX_DISTANCE
    assert distance(h, simhash(REPOST)) <= MAX_DISTANCE


def test_same_topic_is_not_a_duplicate():
    assert distance(simhash(ORIGINAL), simhash(SAME_TOPIC)) > MAX_DISTANCE * 3


def test_wrapping_is_stripped_words_are_kept():
    norm = normalize_for_dup("【快讯】华鼎证券回应\n来源：新浪财经\n//@小王: 关注 #华鼎证券# http://t.cn/x")
    assert norm == "华鼎证券回应关注华鼎证券"


def test_short_posts_are_never_grouped():
    assert simhash("晚安") is None and simhash("转发微博") is None and simhash("") is None


def test_near_fingerprints_are_found_by_the_store_lookup():
    a = simhash(ORIGINAL)
    b = simhash(REPOST)
    assert any(key in asked for key, asked in zip(bands(b), probes(a), strict=True))


@pytest.fixture
def ctx(tmp_path):
    settings = settings_from_dict(
        {
            "firm": {"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券"]},
            "store": {"path": str(tmp_path / "yuqing.db")},
        }
    )
    c = build_context(settings)
    yield c
    c.close()


def post(key: str, text: str, source: str = "stcn", title: str = "") -> dict:
    return {"url": f"https://{source}.example.com/{key}", "source": source, "text": text, "title": title}


def test_ingest_groups_copies_under_the_first_post(ctx):
    ingest([post("orig", ORIGINAL)], ctx=ctx)
    ingest(
        [
            post("copy", COPY_WITH_HEADER, source="sina"),
            post("repost", REPOST, source="weibo"),
            post("topic", SAME_TOPIC, source="hexun"),
            post("other", OTHER_FIRM_SAME_WORDS, source="hexun"),
        ],
        ctx=ctx,
    )
    stored = {p.url.rsplit("/", 1)[1]: p for p in ctx.index.iter_all()}
    first = stored["orig"]
    assert first.dup_of == "" and len(first.simhash) == 16
    assert stored["copy"].dup_of == first.id
    assert stored["repost"].dup_of == first.id
    assert stored["topic"].dup_of == ""
    assert stored["other"].dup_of == ""  # another firm's outage is another story
    # storing the original again changes nothing
    ingest([post("orig", ORIGINAL)], ctx=ctx)
    assert ctx.index.get(first.id).dup_of == ""


def test_drills_do_not_join_real_groups(ctx):
    ingest([post("orig", ORIGINAL)], ctx=ctx)
    ingest([post("drill-copy", COPY_WITH_HEADER, source="drill")], ctx=ctx, drill=True)
    drill = next(p for p in ctx.index.iter_all(drill=True) if p.url.endswith("drill-copy"))
    assert drill.dup_of == ""


def test_groups_on_postgresql(tmp_path):
    """The band lookup on PostgreSQL (CI sets YUQING_TEST_PG_URL)."""
    import os
    import uuid

    from sqlalchemy import delete

    from store.models import NearDupBand, PostRecord
    from store.neardup import group_sizes
    from yuqing.ingest import assign_near_dups

    url = os.environ.get("YUQING_TEST_PG_URL")
    if not url:
        pytest.skip("YUQING_TEST_PG_URL not set: near-duplicates on PostgreSQL not tested")
    tag = uuid.uuid4().hex[:8]  # the test database is shared: texts and ids of our own
    ctx = build_context(
        settings_from_dict(
            {
                "firm": {"name": "华鼎证券股份有限公司"},
                "store": {"path": str(tmp_path / "y.db"), "records_url": url},
            }
        )
    )
    posts = [
        PostRecord.from_post({"url": f"https://a.example.com/{tag}", "text": ORIGINAL + tag}),
        PostRecord.from_post(
            {
                "url": f"https://b.example.com/{tag}",
                "text": COPY_WITH_HEADER.replace("。\n来源", tag + "\n来源"),
            }
        ),
        PostRecord.from_post({"url": f"https://c.example.com/{tag}", "text": SAME_TOPIC + tag}),
    ]
    try:
        with ctx.records.session() as session:
            assign_near_dups(session, posts)
            sizes = group_sizes(session, posts)
        assert posts[1].dup_of == posts[0].id and posts[2].dup_of == ""
        assert sizes == {posts[0].id: 2, posts[1].id: 2, posts[2].id: 1}
    finally:
        with ctx.records.session() as session:
            session.execute(delete(NearDupBand).where(NearDupBand.post_id.in_([p.id for p in posts])))
        ctx.close()


def test_in_one_batch_the_earliest_published_post_leads(ctx):
    repost = {**post("repost", REPOST, source="weibo"), "published_at": "2025-03-03T10:30:00+08:00"}
    orig = {**post("orig", ORIGINAL), "published_at": "2025-03-03T09:40:00+08:00"}
    ingest([repost, orig], ctx=ctx)  # the repost arrives first (timelines list the newest first)
    stored = {p.url.rsplit("/", 1)[1]: p for p in ctx.index.iter_all()}
    assert stored["orig"].dup_of == "" and stored["repost"].dup_of == stored["orig"].id
