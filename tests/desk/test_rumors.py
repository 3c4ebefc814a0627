"""传言登记: the desk keeps the rumor register, and a repeat of a registered claim is flagged 不实."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from playbooks.users import revoke_session
from store.models import AuditEntry, RumorEntry
from store.rumors import add_rumor
from tests.desk.conftest import HOSTILE_TEXT, OFFICER, TOKEN_KEY, frame
from yuqing.ingest import ingest

PAGE = "views/rumors.py"


def _page(app, officer=OFFICER):
    return app(officer=officer).switch_page(PAGE).run()


def _entries(desk_store):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            rows = [
                (r.claim, r.url, r.date, list(r.keywords), r.added_by, r.active)
                for r in s.scalars(select(RumorEntry).order_by(RumorEntry.id))
            ]
            audit = [
                (a.actor, a.action) for a in s.scalars(select(AuditEntry).where(AuditEntry.entity == "rumor"))
            ]
            return rows, audit
    finally:
        ctx.close()


def _submit(at, label):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def test_empty_register_offers_the_form(desk_store, app):
    at = _page(app)
    assert not at.exception
    assert at.title[0].value == "传言登记"
    assert any("还没有登记的传言" in i.value for i in at.info)


def test_officer_adds_an_entry_and_it_is_listed_and_audited(desk_store, app):
    at = _page(app)
    at.text_area(key="desk.rumor.add.claim").input("华鼎证券总经理李静被带走调查")
    at.text_input(key="desk.rumor.add.keywords").input("李静，被带走")
    at.text_area(key="desk.rumor.add.clarification").input("李静总经理正常履职。")
    at.text_input(key="desk.rumor.add.url").input("https://www.huading.example/notice/1")
    at.text_input(key="desk.rumor.add.date").input("2026-03-01")
    _submit(at, "登记")
    assert any("已登记传言" in s.value for s in at.success)
    rows, audit = _entries(desk_store)
    assert rows == [
        (
            "华鼎证券总经理李静被带走调查",
            "https://www.huading.example/notice/1",
            "2026-03-01",
            ["李静", "被带走"],
            OFFICER,
            True,
        )
    ]
    assert audit == [(OFFICER, "rumor.added")]
    table = frame(at, "传言")
    assert list(table["传言"]) == ["华鼎证券总经理李静被带走调查"]
    assert list(table["状态"]) == ["有效"]


def test_bad_input_is_refused_with_a_chinese_message_and_nothing_stored(desk_store, app):
    at = _page(app)
    at.text_area(key="desk.rumor.add.claim").input("华鼎证券要倒闭了")
    at.text_input(key="desk.rumor.add.url").input("javascript:alert(1)")
    _submit(at, "登记")
    assert any("http://" in w.value for w in at.warning)
    at.text_input(key="desk.rumor.add.url").input("https://ok.example/x")
    at.text_input(key="desk.rumor.add.date").input("三月一日")
    _submit(at, "登记")
    assert any("YYYY-MM-DD" in w.value for w in at.warning)
    at.text_area(key="desk.rumor.add.claim").input("   ")
    at.text_input(key="desk.rumor.add.date").input("")
    _submit(at, "登记")
    assert any("请填写传言内容" in w.value for w in at.warning)
    assert _entries(desk_store) == ([], [])


def test_after_sign_out_elsewhere_nothing_is_registered(desk_store, app):
    at = _page(app)
    ctx = desk_store.context()
    try:  # the same session signed out in another tab: its token is revoked in the store
        with ctx.records.session() as s:
            revoke_session(s, at.session_state[TOKEN_KEY])
    finally:
        ctx.close()
    at.text_area(key="desk.rumor.add.claim").input("华鼎证券要倒闭了")
    _submit(at, "登记")
    assert any("请先登录" in w.value for w in at.warning)
    assert _entries(desk_store) == ([], [])
    assert at.button(key="FormSubmitter:desk.login_form-登录")  # back at the login form


def test_edit_and_switch_off_an_entry(desk_store, app):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            add_rumor(s, actor="李值班", claim="华鼎证券资金链断裂", keywords="资金链断裂")
    finally:
        ctx.close()
    at = _page(app)
    prefix = "desk.rumor.edit.1"
    at.text_input(key=f"{prefix}.url").input("https://www.huading.example/notice/2")
    at.checkbox(key=f"{prefix}.active").uncheck()
    _submit(at, "保存修改")
    assert any("已保存" in s.value for s in at.success)
    rows, audit = _entries(desk_store)
    assert rows[0][1] == "https://www.huading.example/notice/2" and rows[0][5] is False
    assert audit == [("李值班", "rumor.added"), (OFFICER, "rumor.updated")]
    assert list(frame(at, "状态")["状态"]) == ["已停用"]


def test_hostile_claim_is_shown_as_literal_text(desk_store, app):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            add_rumor(s, actor=OFFICER, claim=HOSTILE_TEXT[:200])
    finally:
        ctx.close()
    at = _page(app)
    assert not at.exception
    shown = frame(at, "传言")["传言"].iloc[0]
    assert "<script>" in shown  # shown as text in a table cell, not rendered


def test_a_repeat_of_a_registered_claim_is_flagged_with_the_clarification(desk_store):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            add_rumor(
                s,
                actor=OFFICER,
                claim="华鼎证券总经理李静被带走调查",
                keywords="李静 带走",
                url="https://www.huading.example/notice/1",
                date_text="2026-03-01",
            )
        ctx.refresh_rumor_register(force=True)
        posts = [
            {"url": "https://weibo.example/1", "text": "听朋友说李静昨天被带走了，华鼎证券要出大事"},
            {"url": "https://weibo.example/2", "text": "华鼎证券今天开了业绩说明会，李静出席"},
            {
                "url": "https://weibo.example/3",
                "text": "华鼎证券澄清：总经理李静正常履职，网传被带走调查不实",
            },
        ]
        report = ingest(posts, ctx=ctx)
        assert not report.rejected
        got = {p.url: p for p in ctx.index.search("华鼎证券", limit=10, drill=None).items}
    finally:
        ctx.close()
    repeat, unrelated, denial = (
        got["https://weibo.example/1"],
        got["https://weibo.example/2"],
        got["https://weibo.example/3"],
    )
    assert repeat.falsity["label"] == "rumor" and repeat.flagged and repeat.topic == "不实信息"
    reason = next(r for r in repeat.reasons if r.startswith("与已辟谣传言相符"))
    assert "华鼎证券总经理李静被带走调查" in reason and "https://www.huading.example/notice/1" in reason
    assert unrelated.falsity["label"] == "none"
    assert denial.falsity["label"] == "none"
    assert any("对应已登记传言" in r for r in denial.reasons)


def test_a_switched_off_entry_stops_matching_and_a_down_database_keeps_the_last_register(desk_store):
    from store.rumors import update_rumor

    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            rid = add_rumor(s, actor=OFFICER, claim="华鼎证券资金链断裂", keywords="资金链断裂").id
        ctx.refresh_rumor_register(force=True)
        assert len(ctx.analyzer.register) == 1
        # the records database goes away (file moved): the last register read stays in use
        db = Path(ctx.settings.store.path)
        ctx.records.engine.dispose()
        moved = {p: p.with_name(p.name + ".away") for p in db.parent.glob(db.name + "*")}
        for src, dst in moved.items():
            src.rename(dst)
        ctx.refresh_rumor_register(force=True)
        assert len(ctx.analyzer.register) == 1
        ctx.records.engine.dispose()
        for p in db.parent.glob(db.name + "*"):
            if p not in moved.values():
                p.unlink()
        for src, dst in moved.items():
            dst.rename(src)
        with ctx.records.session() as s:
            update_rumor(s, rumor_id=rid, actor=OFFICER, active=False, claim="华鼎证券资金链断裂")
        ctx.refresh_rumor_register(force=True)
        assert len(ctx.analyzer.register) == 0
        a = ctx.analyzer.analyze([{"text": "华鼎证券资金链断裂了"}])[0]
        assert not any(r.startswith("与已辟谣传言相符") for r in a["reasons"])
    finally:
        ctx.close()


def test_service_refuses_oversized_and_odd_input():
    import pytest

    from store.rumors import RumorInputError, clean_entry

    with pytest.raises(RumorInputError, match="过长"):
        clean_entry(claim="传" * 501)
    with pytest.raises(RumorInputError, match="关键词最多"):
        clean_entry(claim="传言", keywords=" ".join(f"k{i}" for i in range(11)))
    with pytest.raises(RumorInputError, match="http"):
        clean_entry(claim="传言", url="https://a.example/ x")
    ok = clean_entry(
        claim="  华鼎证券\n资金链  断裂 ",
        keywords="资金链，断裂、资金链",
        date_text="2026-03-01",
    )
    assert (
        ok["claim"] == "华鼎证券 资金链 断裂"
        and ok["keywords"] == ["资金链", "断裂"]
        and ok["date"] == "2026-03-01"
    )
