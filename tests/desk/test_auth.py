"""Sign-in on the desk: the login form gates everything, sessions end, pages follow the role."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import streamlit as st
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from playbooks import users
from store.models import AuditEntry, DeskSession, LoginAttempt, utcnow
from tests.desk.conftest import APP, OFFICER, TEST_PASSWORD, TOKEN_KEY, make_user, sign_in

LOGIN = "FormSubmitter:desk.login_form-登录"


def _fresh() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=30)


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="desk.login.username").input(username)
    at.text_input(key="desk.login.password").input(password)
    at.button(key=LOGIN).click().run()
    assert not at.exception
    return at


def _has_button(at: AppTest, key: str) -> bool:
    return any(b.key == key for b in at.button)


def _on_login_form(at: AppTest) -> bool:
    return [t.value for t in at.title] == ["舆情值守台 · 登录"] and _has_button(at, LOGIN)


def _store(desk_store, fn):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            return fn(s)
    finally:
        ctx.close()


def test_desk_without_sign_in_shows_the_login_form_and_no_queue(desk_store):
    at = _fresh().run()
    assert not at.exception
    assert _on_login_form(at)
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert not at.dataframe
    shown = " ".join(m.value for m in at.markdown)
    assert "预警队列" not in shown and "华鼎证券APP崩了" not in shown
    assert not at.sidebar.markdown  # no navigation, no user


def test_sign_in_with_the_form_opens_the_queue(desk_store):
    make_user(desk_store, role="officer", display_name="王晓明")
    at = _login(_fresh().run(), OFFICER, TEST_PASSWORD)
    assert [t.value for t in at.title] == ["预警队列"]
    assert any(
        "当前用户" in m.value and "王晓明" in m.value and "值班员" in m.value for m in at.sidebar.markdown
    )
    assert at.session_state["desk.login.password"] == ""  # not kept after the callback
    token = at.session_state[TOKEN_KEY]
    rows = _store(
        desk_store, lambda s: [(r.token_hash, r.revoked_at) for r in s.scalars(select(DeskSession))]
    )
    assert rows == [(users.token_hash(token), None)]


def test_wrong_password_and_unknown_name_are_refused_alike(desk_store):
    make_user(desk_store, role="officer")
    at = _login(_fresh().run(), OFFICER, "not-the-password")
    assert _on_login_form(at)
    assert [e.value for e in at.error] == ["用户名或密码错误。"]
    at = _login(_fresh().run(), "nobody", "not-the-password")
    assert [e.value for e in at.error] == ["用户名或密码错误。"]
    assert not at.session_state[TOKEN_KEY]
    reasons = _store(
        desk_store, lambda s: [a.reason for a in s.scalars(select(LoginAttempt).order_by(LoginAttempt.id))]
    )
    assert reasons == ["bad_password", "unknown_user"]


def test_five_failures_lock_the_account_on_the_form(desk_store):
    make_user(desk_store, role="officer")
    at = _fresh().run()
    for _ in range(5):
        _login(at, OFFICER, "not-the-password")
    assert any("已暂时锁定" in e.value for e in at.error)
    _login(at, OFFICER, TEST_PASSWORD)  # the right password does not help while locked
    assert _on_login_form(at) and any("已暂时锁定" in e.value for e in at.error)


def test_sign_out_ends_the_session(desk_store):
    at = _fresh()
    sign_in(at, desk_store, "officer")
    at.run()
    token = at.session_state[TOKEN_KEY]
    at.sidebar.button(key="desk.sign_out").click().run()
    assert not at.exception
    assert _on_login_form(at)
    assert any("已退出登录" in s.value for s in at.success)
    revoked = _store(
        desk_store,
        lambda s: s.scalar(
            select(DeskSession.revoked_at).where(DeskSession.token_hash == users.token_hash(token))
        ),
    )
    assert revoked is not None


def test_expired_session_sends_back_to_the_login_form(desk_store):
    at = _fresh()
    sign_in(at, desk_store, "officer")
    at.run()
    assert [t.value for t in at.title] == ["预警队列"]
    # 31 minutes without use (the idle limit is 30)
    _store(
        desk_store,
        lambda s: s.execute(update(DeskSession).values(last_seen_at=utcnow() - timedelta(minutes=31))),
    )
    at.run()
    assert _on_login_form(at)
    assert any("登录已过期，请重新登录" in w.value for w in at.warning)
    assert not at.dataframe


def test_officer_has_no_user_management_page(desk_store):
    at = _fresh()
    sign_in(at, desk_store, "officer")
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/users.py")


def _users_page(desk_store) -> AppTest:
    at = _fresh()
    sign_in(at, desk_store, "admin")
    at.run()
    assert any("管理员" in m.value for m in at.sidebar.markdown)
    at.switch_page("views/users.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["用户管理"]
    return at


def test_admin_adds_a_user_on_the_page_and_the_password_stays_secret(desk_store, caplog):
    caplog.set_level(logging.DEBUG)
    at = _users_page(desk_store)
    new_password = "Brand-New-Pass-7"
    at.text_input(key="desk.users.add.username").input("zhangsan")
    at.text_input(key="desk.users.add.display_name").input("张三")
    at.selectbox(key="desk.users.add.role").set_value("manager")
    at.text_input(key="desk.users.add.email").input("zhangsan@huading.example")
    at.text_area(key="desk.users.add.contacts").input('{"wecom": "ZhangSan", "feishu": "ou_123"}')
    at.text_input(key="desk.users.add.password").input(new_password)
    at.text_input(key="desk.users.add.password2").input(new_password)
    at.button(key="FormSubmitter:desk.users.add-添加用户").click().run()
    assert not at.exception
    assert any("已添加用户 zhangsan" in s.value for s in at.success)
    table = next(df.value for df in at.dataframe if "用户名" in df.value.columns)
    row = table[table["用户名"] == "zhangsan"].iloc[0]
    assert (row["姓名"], row["角色"], row["状态"]) == ("张三", "负责人", "正常")
    assert at.session_state["desk.users.add.password"] == ""

    def check(s):
        user = users.get_user(s, "zhangsan")
        trail = [
            (a.actor, a.action, a.detail)
            for a in s.scalars(select(AuditEntry).where(AuditEntry.entity == "user"))
        ]
        return users.view(user), user.password_hash, trail

    view, stored_hash, trail = _store(desk_store, check)
    assert (view.role, view.contacts) == ("manager", {"wecom": "ZhangSan", "feishu": "ou_123"})
    assert ("admin", "user.created") in [(a, b) for a, b, _ in trail]
    assert users.verify_password(new_password, stored_hash)
    for secret in (new_password, stored_hash):
        assert secret not in repr(trail) and secret not in caplog.text
    # and the new manager can sign in with it
    assert [t.value for t in _login(_fresh().run(), "zhangsan", new_password).title] == ["预警队列"]


def test_admin_disables_resets_and_unlocks_on_the_page(desk_store):
    officer = _fresh()
    sign_in(officer, desk_store, "officer")
    assert [t.value for t in officer.run().title] == ["预警队列"]
    at = _users_page(desk_store)
    at.selectbox(key="desk.users.select").set_value(OFFICER).run()
    prefix = f"desk.users.edit.{OFFICER}"
    at.button(key=f"{prefix}.disable").click().run()
    assert any(f"已停用用户 {OFFICER}" in s.value for s in at.success)
    officer.run()  # the disabled officer's open desk: out at the next run
    assert _on_login_form(officer) and any("账号已停用" in w.value for w in officer.warning)
    assert _on_login_form(_login(_fresh().run(), OFFICER, TEST_PASSWORD))
    at.button(key=f"{prefix}.enable").click().run()
    at.text_input(key=f"{prefix}.password").input("short")
    at.text_input(key=f"{prefix}.password2").input("short")
    at.button(key=f"FormSubmitter:{prefix}.reset-重置密码").click().run()
    assert any("至少需要 10 个字符" in w.value for w in at.warning)
    at.text_input(key=f"{prefix}.password").input("Reset-By-Admin-1")
    at.text_input(key=f"{prefix}.password2").input("Reset-By-Admin-1")
    at.button(key=f"FormSubmitter:{prefix}.reset-重置密码").click().run()
    assert any("已重置" in s.value for s in at.success)
    other = _fresh().run()
    for _ in range(5):
        _login(other, OFFICER, "not-the-password")
    at.run()
    assert at.button(key=f"{prefix}.unlock").disabled is False
    at.button(key=f"{prefix}.unlock").click().run()
    assert any(f"已解锁用户 {OFFICER}" in s.value for s in at.success)
    history = next(df.value for df in at.dataframe if "操作" in df.value.columns)
    assert list(history["操作"]) == ["解锁", "重置密码", "启用", "停用", "新增用户"]  # newest first
    assert list(history["操作人"])[:4] == ["admin"] * 4
    assert "Reset-By-Admin-1" not in history.to_string()
    assert [t.value for t in _login(_fresh().run(), OFFICER, "Reset-By-Admin-1").title] == ["预警队列"]


def test_user_management_functions_refuse_an_officer_server_side(desk_store):
    from desk import accounts
    from playbooks.authz import Actor, PermissionDenied

    officer, admin = Actor(OFFICER, "officer"), Actor("admin", "admin")
    ctx = desk_store.context()
    try:
        make_user(ctx, role="officer")
        calls = [
            lambda a: accounts.add_user(
                ctx.records, a, username="mallory", role="admin", password=TEST_PASSWORD
            ),
            lambda a: accounts.update_profile(ctx.records, a, OFFICER, role="admin"),
            lambda a: accounts.reset_password(ctx.records, a, OFFICER, "Taken-Over-123"),
            lambda a: accounts.set_user_active(ctx.records, a, OFFICER, False),
            lambda a: accounts.unlock_user(ctx.records, a, OFFICER),
            lambda a: accounts.list_users(ctx.records, a),
        ]
        for call in calls:
            with pytest.raises(PermissionDenied, match="需要管理员"):
                call(officer)
            with pytest.raises(PermissionDenied, match="请先登录"):
                call(None)
        with ctx.records.session() as s:
            assert [u.username for u in users.list_users(s)] == [OFFICER]
            assert users.get_user(s, OFFICER).role == "officer"
        # an admin may, but not lower their own role (someone must stay able to manage users)
        assert accounts.add_user(
            ctx.records, admin, username="zhaoli", role="officer", password=TEST_PASSWORD
        )
        make_user(ctx, role="admin")
        with pytest.raises(users.UserError, match="不能降低"):
            accounts.update_profile(ctx.records, admin, "admin", role="officer")
    finally:
        ctx.close()


def test_signed_in_person_changes_their_own_password(desk_store):
    other = _fresh()
    sign_in(other, desk_store, "officer")  # the same person signed in elsewhere
    at = _fresh()
    sign_in(at, desk_store, "officer")
    at.run()

    def change(current: str, new: str, again: str) -> None:
        at.text_input(key="desk.passwd.current").input(current)
        at.text_input(key="desk.passwd.new").input(new)
        at.text_input(key="desk.passwd.again").input(again)
        at.button(key="FormSubmitter:desk.passwd_form-修改密码").click().run()
        assert not at.exception

    change("not-the-password", "Mine-New-Pass-1", "Mine-New-Pass-1")
    assert any("当前密码不正确" in w.value for w in at.warning)
    change(TEST_PASSWORD, "Mine-New-Pass-1", "Mine-New-Pass-2")
    assert any("不一致" in w.value for w in at.warning)
    change(TEST_PASSWORD, "Mine-New-Pass-1", "Mine-New-Pass-1")
    assert any("密码已修改" in s.value for s in at.success)
    assert all(
        at.session_state[k] == "" for k in ("desk.passwd.current", "desk.passwd.new", "desk.passwd.again")
    )
    assert [t.value for t in at.title] == ["预警队列"]  # this session stays signed in
    assert _on_login_form(other.run())  # the other one ended
    assert any("登录已失效" in w.value for w in other.warning)
    assert [t.value for t in _login(_fresh().run(), OFFICER, "Mine-New-Pass-1").title] == ["预警队列"]
    trail = _store(
        desk_store,
        lambda s: [
            (a.actor, a.action) for a in s.scalars(select(AuditEntry).where(AuditEntry.entity == "user"))
        ],
    )
    assert (OFFICER, "user.password_changed") in trail


def _with_sso(desk_config, monkeypatch, identity):
    """[desk] oidc = true, an [auth] secret, and the identity provider's answer (st.user cannot run here)."""
    import desk.auth

    desk_config.write_text(
        desk_config.read_text(encoding="utf-8") + "\n[desk]\noidc = true\n", encoding="utf-8"
    )
    monkeypatch.setattr(desk.auth, "_sso_identity", lambda: identity)
    st.cache_resource.clear()  # the desk caches its Context (and so the config) per config path
    at = _fresh()
    at.secrets["auth"] = {"client_id": "desk", "server_metadata_url": "https://idp.example/.well-known"}
    return at


def test_single_sign_on_maps_the_email_to_the_desk_user(desk_store, desk_config, monkeypatch):
    make_user(desk_store, role="manager", email="lifz@huading.example")
    at = _with_sso(desk_config, monkeypatch, (True, "LiFZ@huading.example", True)).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["预警队列"]
    assert any("李负责" in m.value and "负责人" in m.value for m in at.sidebar.markdown)
    assert at.session_state["desk.login.sso"] is True


def test_single_sign_on_with_an_unknown_email_is_refused(desk_store, desk_config, monkeypatch):
    at = _with_sso(desk_config, monkeypatch, (True, "stranger@elsewhere.example", True)).run()
    assert not at.exception
    assert any("请联系管理员开通" in e.value for e in at.error)
    assert not at.session_state[TOKEN_KEY] and not at.dataframe


def test_login_form_offers_single_sign_on_only_when_configured(desk_store, desk_config, monkeypatch):
    plain_form = _fresh().run()
    assert _on_login_form(plain_form) and not _has_button(plain_form, "desk.sso_login")
    at = _with_sso(desk_config, monkeypatch, (False, "", None)).run()
    assert _on_login_form(at) and at.button(key="desk.sso_login").label == "单点登录"
