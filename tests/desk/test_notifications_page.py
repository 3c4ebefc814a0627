"""通知中心 (AppTest): a manager sees what was sent and what failed and why; an admin re-queues a
failure and tests the channels; a drill message can never be re-sent; an officer gets no page."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from playbooks.authz import Actor, PermissionDenied
from playbooks.notify.admin import NotifyAdminError, requeue
from store.models import AuditEntry, Notification
from tests.desk.conftest import APP, sign_in

PAGE = "views/notifications.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(desk_store, *rows: dict) -> list[int]:
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            objs = [Notification(**r) for r in rows]
            s.add_all(objs)
            s.flush()
            return [o.id for o in objs]
    finally:
        ctx.close()


FAILED = dict(
    dedupe_key="alert:1:I:wecom:值班群",
    channel="wecom",
    target="值班群",
    kind="alert",
    level="I",
    subject="【新预警】Ⅰ级 · 交易系统故障 · <b>华鼎证券APP崩了</b>",
    status="failed",
    attempts=5,
    last_error="企业微信返回 errcode 93000：invalid webhook url",
)
DRILL = dict(
    dedupe_key="alert:2:I:wecom:值班群",
    channel="wecom",
    target="值班群",
    kind="alert",
    level="I",
    subject="【演练】【新预警】Ⅰ级",
    status="suppressed",
    drill=True,
)


def _as(role: str, username: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(at, None, role=role, username=username)
    at.run()
    at.switch_page(PAGE).run()
    return at


def test_a_manager_sees_the_failure_and_its_reason_but_cannot_resend(desk_store):
    _rows(desk_store, FAILED, DRILL)
    at = _as("manager", "zhao")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["发送失败"] == "1" and metrics["演练未发出"] == "1"
    table = at.dataframe[-1].value
    assert list(table["状态"]) == ["发送失败"]  # failed and pending are shown first
    assert "invalid webhook url" in table["失败原因"].iloc[0]
    assert table["标题"].iloc[0] == FAILED["subject"]  # a table cell: text, never markup
    assert not [b for b in at.button if b.key == "desk.notify.requeue"]  # re-sending is the admin's
    assert any("尚未配置任何通知通道" in w.value for w in at.warning)


def test_an_admin_requeues_a_failure_and_it_is_audited(desk_store):
    (failed_id,) = _rows(desk_store, FAILED)
    at = _as("admin", "root")
    at.button(key="desk.notify.requeue").click().run()
    assert not at.exception
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            row = s.get(Notification, failed_id)
            assert (row.status, row.attempts) == ("pending", 0)
            entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "notification.requeued"))
            assert entry.actor == "root" and entry.detail["before"]["status"] == "failed"
    finally:
        ctx.close()


def test_a_drill_message_can_never_be_resent_and_an_officer_may_not_requeue(desk_store):
    failed_id, drill_id = _rows(desk_store, FAILED, DRILL)
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            with pytest.raises(NotifyAdminError, match="演练"):
                requeue(s, drill_id, Actor("root", "admin"))
            with pytest.raises(PermissionDenied):
                requeue(s, failed_id, Actor("wang", "officer"))
            assert s.get(Notification, drill_id).status == "suppressed"
    finally:
        ctx.close()


def test_an_admin_tests_the_channels_and_sees_a_dead_webhook_fail(desk_store, desk_config, monkeypatch):
    port = _free_port()  # nothing listens here
    monkeypatch.setenv("YUQING_SECRET_WECOM_DUTY", f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=k")
    with desk_config.open("a", encoding="utf-8") as f:
        f.write('\n[[notify.channels]]\nname = "值班群"\nkind = "wecom"\nwebhook_secret = "wecom_duty"\n')
    at = _as("admin", "root")
    assert [df.value["最近测试"].iloc[0] for df in at.dataframe][0] == "从未测试"
    at.button(key="desk.notify.test_all").click().run()
    assert not at.exception
    assert any("值班群" in e.value for e in at.error)
    assert at.dataframe[0].value["结果"].iloc[0] == "失败"
    assert "key=k" not in " ".join(e.value for e in at.error)  # the webhook's key never shows


def test_an_officer_does_not_get_the_page(desk_store):
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(at, None, role="officer", username="wang")
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
    page = AppTest.from_file(str(APP.parent / PAGE), default_timeout=60)
    sign_in(page, None, role="officer", username="wang")
    page.run()
    assert [e.value for e in page.error] == ["通知中心仅供负责人和管理员查看。"]
