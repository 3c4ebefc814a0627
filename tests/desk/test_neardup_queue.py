"""The triage queue folds reposts and copies (a near-duplicate group) under the first post and says so."""

from __future__ import annotations

from tests.desk.conftest import make_post, store_posts
from yuqing.ingest import assign_near_dups

TEXT = (
    "华鼎证券今日早盘交易系统出现故障，部分客户无法登录手机APP下单，委托长时间显示处理中。"
    "公司客服回应称，技术团队正在紧急排查，预计午间恢复，投资者可通过电话委托进行交易。"
)


def test_queue_names_first_posts_and_copies(desk_store, app):
    first = make_post(
        "first", title="华鼎证券交易系统故障", text=TEXT, level="II", source="证券时报", minutes_ago=50
    )
    copy = make_post(
        "copy",
        title="【快讯】华鼎证券早盘故障",
        text="【华鼎证券早盘故障】" + TEXT + "\n来源：证券时报",
        level="II",
        source="新浪财经",
        minutes_ago=40,
    )
    ctx = desk_store.context()
    try:
        with ctx.records.session() as session:
            assign_near_dups(session, [first, copy])
        assert copy.dup_of == first.id
        store_posts(ctx, [first, copy])
    finally:
        ctx.close()
    at = app()
    assert not at.exception
    captions = [c.value for c in at.caption]
    # one row: the first post leads (though the copy is newer), the copy is folded under it
    assert any("证券时报" in c and "相似稿 2 条（首发）" in c for c in captions)
    assert any("已折叠转载/抄发 1 条" in c and "新浪财经" in c for c in captions)
    assert any("同一事件 · 共 2 条" in c for c in captions)
    shown = [t.value for t in at.text]
    assert "华鼎证券交易系统故障" in shown and "【快讯】华鼎证券早盘故障" not in shown
    # posts without copies say nothing about it
    assert sum("相似稿" in c for c in captions) == 1
