"""Desk users: password hashing, sign-in with a failed-login limit, sessions that expire and end."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from playbooks import users
from playbooks.authz import Actor, PermissionDenied, require
from store.models import AuditEntry, DeskSession, LoginAttempt, User
from tests.store.conftest import records  # noqa: F401  (the engine fixture: SQLite, and PostgreSQL when set)

PASSWORD = "Tide-Watch-2024"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
POLICY = users.AuthPolicy()  # 30 min idle, 12 h absolute, 5 failures in 15 min lock for 15 min


@pytest.fixture
def rec(records):  # noqa: F811
    with records.session() as s:
        users.create_user(
            s,
            username="wangxm",
            role="officer",
            password=PASSWORD,
            by="admin",
            display_name="王晓明",
            email="WangXM@Huading.example",
        )
    return records


def attempt(rec, username: str, password: str, at: datetime) -> users.LoginRefused | User:
    """One sign-in, committed either way (as the desk does)."""
    with rec.session() as s:
        try:
            return users.authenticate(s, username, password, policy=POLICY, now=at)
        except users.LoginRefused as exc:
            return exc


@pytest.mark.production_scrypt  # the desk's own cost, not the cheaper one the other tests use (conftest)
def test_hash_is_salted_scrypt_with_its_parameters_and_verifies():
    h1, h2 = users.hash_password(PASSWORD), users.hash_password(PASSWORD)
    assert h1 != h2  # a fresh salt each time
    assert h1.startswith("scrypt$n=16384,r=8,p=1$") and PASSWORD not in h1
    assert users.verify_password(PASSWORD, h1)
    assert not users.verify_password(PASSWORD + "x", h1)
    assert not users.verify_password(PASSWORD, "")
    assert not users.verify_password(PASSWORD, "scrypt$n=16384,r=8,p=1$!!$??")
    assert not users.verify_password(PASSWORD, "plain$" + PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1", "至少需要 10 个字符"), ("aaaaaaaaaaaa", "过于简单"), ("wangxm-2024!", "不能包含用户名")],
)
def test_weak_passwords_are_refused(records, password, message):  # noqa: F811
    with records.session() as s, pytest.raises(users.UserError, match=message):
        users.create_user(s, username="wangxm", role="officer", password=password, by="admin")
    with records.session() as s:
        assert users.count_users(s) == 0


def test_right_password_signs_in_and_wrong_one_is_refused(rec):
    user = attempt(rec, "wangxm", PASSWORD, T0)
    assert isinstance(user, User) and user.username == "wangxm"
    wrong = attempt(rec, "wangxm", "not-the-password", T0)
    unknown = attempt(rec, "nobody", "not-the-password", T0)
    assert isinstance(wrong, users.LoginRefused) and isinstance(unknown, users.LoginRefused)
    # the same words whether or not the name exists
    assert str(wrong) == str(unknown) == "用户名或密码错误。"
    with rec.session() as s:
        rows = [
            (a.username, a.ok, a.reason) for a in s.scalars(select(LoginAttempt).order_by(LoginAttempt.id))
        ]
        last_login = users.view(users.get_user(s, "wangxm")).last_login_at
    assert rows == [
        ("wangxm", True, "ok"),
        ("wangxm", False, "bad_password"),
        ("nobody", False, "unknown_user"),
    ]
    assert last_login == T0


def test_disabled_user_cannot_sign_in_and_is_told_nothing_more(rec):
    with rec.session() as s:
        users.set_active(s, "wangxm", False, by="admin")
    refused = attempt(rec, "wangxm", PASSWORD, T0)
    assert isinstance(refused, users.LoginRefused) and str(refused) == "用户名或密码错误。"
    with rec.session() as s:
        users.set_active(s, "wangxm", True, by="admin")
    assert isinstance(attempt(rec, "wangxm", PASSWORD, T0), User)


def test_lockout_after_five_failures_and_unlock_after_the_window(rec):
    for i in range(4):
        assert (
            str(attempt(rec, "wangxm", "wrong-password", T0 + timedelta(minutes=i))) == "用户名或密码错误。"
        )
    fifth = attempt(rec, "wangxm", "wrong-password", T0 + timedelta(minutes=4))
    assert "已暂时锁定" in str(fifth)
    # locked: even the right password is refused, and that attempt is recorded too
    locked = attempt(rec, "wangxm", PASSWORD, T0 + timedelta(minutes=10))
    assert isinstance(locked, users.LoginRefused) and locked.reason == "locked"
    with rec.session() as s:
        assert users.view(users.get_user(s, "wangxm")).locked(T0 + timedelta(minutes=10))
    # still locked just before the lock ends (last failure + 15 min) …
    assert isinstance(
        attempt(rec, "wangxm", PASSWORD, T0 + timedelta(minutes=18, seconds=59)), users.LoginRefused
    )
    # … and free after it
    assert isinstance(attempt(rec, "wangxm", PASSWORD, T0 + timedelta(minutes=19, seconds=1)), User)
    with rec.session() as s:
        assert s.scalar(select(LoginAttempt).where(LoginAttempt.reason == "locked").limit(1)) is not None
        assert not users.view(users.get_user(s, "wangxm")).locked(T0 + timedelta(minutes=20))


def test_failures_spread_beyond_the_window_do_not_lock(rec):
    for i in range(8):  # one failure every 4 minutes: never 5 within 15 minutes
        refused = attempt(rec, "wangxm", "wrong-password", T0 + timedelta(minutes=4 * i))
        assert "锁定" not in str(refused)
    assert isinstance(attempt(rec, "wangxm", PASSWORD, T0 + timedelta(minutes=33)), User)


def test_unknown_names_lock_the_same_way(rec):
    for i in range(5):
        last = attempt(rec, "ghost", "wrong-password", T0 + timedelta(seconds=i))
    assert "已暂时锁定" in str(last)
    assert "已暂时锁定" in str(attempt(rec, "ghost", "anything-at-all", T0 + timedelta(minutes=1)))


def test_admin_unlock_lifts_the_lock_at_once(rec):
    for i in range(5):
        attempt(rec, "wangxm", "wrong-password", T0 + timedelta(seconds=i))
    assert isinstance(attempt(rec, "wangxm", PASSWORD, T0 + timedelta(minutes=1)), users.LoginRefused)
    with rec.session() as s:
        users.unlock(s, "wangxm", by="admin", now=T0 + timedelta(minutes=2))
    assert isinstance(attempt(rec, "wangxm", PASSWORD, T0 + timedelta(minutes=3)), User)
    with rec.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.entity == "user"))]
    assert actions == ["user.created", "user.unlocked"]


def _session(rec, at: datetime) -> str:
    with rec.session() as s:
        return users.open_session(s, users.get_user(s, "wangxm"), policy=POLICY, now=at)


def _check(rec, token: str, at: datetime) -> users.Principal | str:
    with rec.session() as s:
        try:
            return users.check_session(s, token, policy=POLICY, now=at)
        except users.SessionInvalid as exc:
            return exc.reason


def test_session_token_is_stored_only_as_its_hash(rec):
    token = _session(rec, T0)
    with rec.session() as s:
        row = s.scalar(select(DeskSession))
    assert row.token_hash == users.token_hash(token) and token not in row.token_hash
    who = _check(rec, token, T0 + timedelta(minutes=1))
    assert who == users.Principal(
        user_id=row.user_id,
        username="wangxm",
        role="officer",
        display_name="王晓明",
        email="wangxm@huading.example",
    )
    assert _check(rec, "not-a-token", T0) == "unknown"


def test_session_expires_when_idle_but_not_while_used(rec):
    token = _session(rec, T0)
    for minutes in (20, 40, 60):  # used every 20 minutes: stays alive past 30 minutes
        assert isinstance(_check(rec, token, T0 + timedelta(minutes=minutes)), users.Principal)
    assert _check(rec, token, T0 + timedelta(minutes=60 + 31)) == "expired"


def test_session_expires_after_the_absolute_limit_even_when_used(rec):
    token = _session(rec, T0)
    at = T0
    while at + timedelta(minutes=20) < T0 + timedelta(hours=12):
        at += timedelta(minutes=20)
        assert isinstance(_check(rec, token, at), users.Principal)
    assert _check(rec, token, T0 + timedelta(hours=12)) == "expired"


def test_revoked_session_and_sessions_ended_by_password_reset_or_disable(rec):
    token = _session(rec, T0)
    with rec.session() as s:
        assert users.revoke_session(s, token, now=T0)
    assert _check(rec, token, T0 + timedelta(minutes=1)) == "revoked"

    token = _session(rec, T0)
    with rec.session() as s:
        users.set_password(s, "wangxm", "Another-Good-Pass", by="admin")
    assert _check(rec, token, T0 + timedelta(minutes=1)) == "revoked"
    assert isinstance(attempt(rec, "wangxm", "Another-Good-Pass", T0), User)
    assert isinstance(attempt(rec, "wangxm", PASSWORD, T0), users.LoginRefused)

    token = _session(rec, T0)
    with rec.session() as s:
        users.set_active(s, "wangxm", False, by="admin")
    assert _check(rec, token, T0 + timedelta(minutes=1)) == "disabled"
    with rec.session() as s:  # enabled again, the old session stays ended
        users.set_active(s, "wangxm", True, by="admin")
    assert _check(rec, token, T0 + timedelta(minutes=1)) == "revoked"


def test_officer_may_not_manage_users():
    officer = Actor(username="wangxm", role="officer")
    with pytest.raises(PermissionDenied, match="无权执行此操作，需要管理员"):
        require(officer, "user.manage")
    assert require(Actor(username="root", role="admin"), "user.manage").username == "root"


def test_user_changes_are_audited_without_any_password_or_hash(rec, caplog):
    caplog.set_level(logging.DEBUG)
    with rec.session() as s:
        users.update_user(s, "wangxm", by="admin", role="manager", contacts={"wecom": "WangXiaoMing"})
        users.set_password(s, "wangxm", "Secret-Sauce-99", by="admin")
        users.set_active(s, "wangxm", False, by="admin")
        users.set_active(s, "wangxm", True, by="admin")
        users.unlock(s, "wangxm", by="admin")
        stored = users.get_user(s, "wangxm").password_hash
    attempt(rec, "wangxm", "Secret-Sauce-99", T0)
    attempt(rec, "wangxm", "Wrong-Sauce-123", T0)
    with rec.session() as s:
        trail = [
            (a.actor, a.action, a.entity_id, a.detail)
            for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert [t[1] for t in trail] == [
        "user.created",
        "user.updated",
        "user.password_set",
        "user.disabled",
        "user.enabled",
        "user.unlocked",
    ]
    assert all(t[0] == "admin" and t[2] == "wangxm" for t in trail)
    assert trail[1][3]["changes"] == {
        "role": ["officer", "manager"],
        "contacts": [{}, {"wecom": "WangXiaoMing"}],
    }
    everything = repr(trail) + caplog.text
    for secret in (PASSWORD, "Secret-Sauce-99", "Wrong-Sauce-123", stored, stored.split("$")[-1]):
        assert secret not in everything
    assert "password_hash" not in everything


def test_bad_profile_fields_are_refused(rec):
    with rec.session() as s:
        with pytest.raises(users.UserError, match="已存在"):
            users.create_user(s, username="wangxm", role="officer", password=PASSWORD, by="admin")
        with pytest.raises(users.UserError, match="已被其他用户使用"):
            users.create_user(
                s,
                username="lij",
                role="officer",
                password=PASSWORD,
                by="admin",
                email="wangxm@huading.example",
            )
        with pytest.raises(users.UserError, match="角色"):
            users.create_user(s, username="lij", role="root", password=PASSWORD, by="admin")
        with pytest.raises(users.UserError, match="用户名"):
            users.create_user(s, username="<b>x</b>", role="officer", password=PASSWORD, by="admin")
        with pytest.raises(users.UserError, match="未知的联系渠道"):
            users.update_user(s, "wangxm", by="admin", contacts={"qq": "1"})
        with pytest.raises(users.UserError, match="不能停用当前登录"):
            users.set_active(s, "wangxm", False, by="wangxm")


def test_single_sign_on_maps_a_verified_email_to_its_user(rec):
    with rec.session() as s:
        assert users.sso_user(s, " WANGXM@huading.example ", email_verified=True).username == "wangxm"
        for email, verified in [
            ("nobody@huading.example", True),
            ("", None),
            ("wangxm@huading.example", False),
        ]:
            with pytest.raises(users.LoginRefused, match="请联系管理员"):
                users.sso_user(s, email, email_verified=verified)
        users.set_active(s, "wangxm", False, by="admin")
        with pytest.raises(users.LoginRefused):
            users.sso_user(s, "wangxm@huading.example")
        reasons = [a.reason for a in s.scalars(select(LoginAttempt).order_by(LoginAttempt.id))]
    assert reasons == ["sso", "sso_unknown", "sso_unknown", "sso_unverified", "sso_unknown"]


def test_changing_ones_own_password_needs_the_current_one_and_keeps_this_session(rec):
    here, elsewhere = _session(rec, T0), _session(rec, T0)
    with rec.session() as s, pytest.raises(users.UserError, match="当前密码不正确"):
        users.change_own_password(s, "wangxm", "wrong-password", "Fresh-Pass-2025", keep_token=here)
    with rec.session() as s:
        with pytest.raises(users.UserError, match="不能与当前密码相同"):
            users.change_own_password(s, "wangxm", PASSWORD, PASSWORD, keep_token=here)
        users.change_own_password(s, "wangxm", PASSWORD, "Fresh-Pass-2025", keep_token=here, now=T0)
    assert isinstance(_check(rec, here, T0 + timedelta(minutes=1)), users.Principal)
    assert _check(rec, elsewhere, T0 + timedelta(minutes=1)) == "revoked"
    assert isinstance(attempt(rec, "wangxm", "Fresh-Pass-2025", T0), User)


def test_wrong_current_passwords_count_toward_the_lock(rec):
    for i in range(5):
        # caught inside the transaction, as the desk does: the failure is recorded
        with rec.session() as s, contextlib.suppress(users.UserError):
            users.change_own_password(s, "wangxm", f"guess-number-{i}", "Fresh-Pass-2025")
    with rec.session() as s, pytest.raises(users.UserError, match="锁定"):
        users.change_own_password(s, "wangxm", PASSWORD, "Fresh-Pass-2025")
    assert isinstance(attempt(rec, "wangxm", PASSWORD, datetime.now(UTC)), users.LoginRefused)
