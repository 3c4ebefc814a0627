"""The outbox's delivery: retries with backoff, giving up, drills never sent, two senders at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from playbooks.notify.channels import Channel, NotifyConfig, RetryPolicy
from playbooks.notify.deliver import deliver_pending, last_channel_tests, run_channel_tests
from playbooks.notify.outbox import Recipient, enqueue
from store.models import Notification

LINK = "http://127.0.0.1:8501/item?alert=9"
T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def _channel(rx) -> Channel:
    return Channel(name="duty", kind=rx.kind, webhook=rx.webhook, secret=rx.secret, timeout_s=5)


def _enqueue(records, ch, *, key="breach:9:ack:1", drill=False, n=1):
    ids = []
    with records.session() as s:
        for i in range(n):
            rows = enqueue(
                s,
                recipients=[Recipient(ch.kind, ch.name)],
                kind="breach",
                subject=f"Ⅱ级舆情「客户投诉集中」确认时限已过 #{i}",
                body="值班员 15 分钟内未确认",
                link=LINK,
                level="II",
                drill=drill,
                dedupe_key=f"{key}:{i}",
            )
            ids += [r.id for r in rows]
    return ids


def _row(records, row_id) -> Notification:
    with records.session() as s:
        return s.get(Notification, row_id)


def test_a_receiver_failing_twice_gets_the_message_on_the_third_attempt(records, bot):
    rx = bot("dingtalk", secret="SECsigning", fail_first=2)
    ch = _channel(rx)
    (row_id,) = _enqueue(records, ch)
    config = NotifyConfig(channels=(ch,), retry=RetryPolicy(max_attempts=5, backoff_s=60))

    first = deliver_pending(records, config, T0)
    assert first.retrying == 1 and rx.received == []
    row = _row(records, row_id)
    assert row.status == "pending" and row.attempts == 1 and "HTTP 500" in row.last_error
    assert row.next_attempt_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=60)

    # not yet due: nothing is sent before the backoff has passed
    assert deliver_pending(records, config, T0 + timedelta(seconds=59)).outcomes == []
    assert rx.hits == 1

    deliver_pending(records, config, T0 + timedelta(seconds=60))
    row = _row(records, row_id)
    assert row.attempts == 2
    assert row.next_attempt_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=60 + 120)  # doubled

    third = deliver_pending(records, config, T0 + timedelta(seconds=180))
    assert third.sent == 1
    row = _row(records, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert len(rx.received) == 1 and rx.hits == 3


def test_a_receiver_that_always_fails_leaves_the_row_failed_after_max_attempts(records, bot):
    rx = bot("wecom", always_fail=True)
    ch = _channel(rx)
    (row_id,) = _enqueue(records, ch)
    config = NotifyConfig(channels=(ch,), retry=RetryPolicy(max_attempts=3, backoff_s=10, backoff_max_s=15))
    now = T0
    for _ in range(6):
        deliver_pending(records, config, now)
        now += timedelta(seconds=15)
    row = _row(records, row_id)
    assert row.status == "failed" and row.attempts == 3
    assert row.last_error == '企业微信返回 HTTP 500：{"error": "internal error"}'
    assert row.next_attempt_at is None
    assert rx.hits == 3  # no fourth try


def test_a_drill_is_never_sent(records, bot):
    rx = bot("feishu", secret="feishu-secret")
    ch = _channel(rx)
    (drill_id,) = _enqueue(records, ch, key="drill", drill=True)
    (forced_id,) = _enqueue(records, ch, key="drill-forced", drill=True)
    with records.session() as s:  # a drill row left pending by hand must not slip out either
        s.execute(update(Notification).where(Notification.id == forced_id).values(status="pending"))

    report = deliver_pending(records, NotifyConfig(channels=(ch,)), T0)

    assert rx.hits == 0 and report.outcomes == []
    assert report.suppressed == 1
    assert _row(records, drill_id).status == "suppressed"
    assert _row(records, forced_id).status == "suppressed" and _row(records, forced_id).attempts == 0


def test_an_unknown_channel_name_fails_with_a_clear_reason(records, bot):
    rx = bot("wecom")
    known = _channel(rx)
    ghost = Channel(name="no-such-group", kind="wecom", webhook="")
    (row_id,) = _enqueue(records, ghost)
    deliver_pending(records, NotifyConfig(channels=(known,), retry=RetryPolicy(max_attempts=1)), T0)
    row = _row(records, row_id)
    assert row.status == "failed" and "no-such-group" in row.last_error and "[notify]" in row.last_error


def test_a_channel_with_a_missing_secret_fails_with_what_is_missing(records):
    ch = Channel(name="duty", kind="dingtalk", problem="缺少机密 ding_duty_webhook（设置环境变量 …）")
    (row_id,) = _enqueue(records, ch)
    deliver_pending(records, NotifyConfig(channels=(ch,), retry=RetryPolicy(max_attempts=1)), T0)
    assert _row(records, row_id).last_error.startswith("缺少机密 ding_duty_webhook")


def test_four_senders_at_once_send_each_message_exactly_once(records, bot):
    rx = bot("wecom", delay_s=0.01)
    ch = _channel(rx)
    ids = _enqueue(records, ch, n=30)
    config = NotifyConfig(channels=(ch,))
    reports = []
    start = threading.Barrier(4)

    def sender():
        start.wait()
        reports.append(deliver_pending(records, config, T0))

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # whatever one pass left (SQLite: the other sender held the lock), a later pass delivers
    deliver_pending(records, config, T0)

    subjects = [p["markdown"]["content"] for p in rx.received]
    assert len(subjects) == 30 == rx.hits == len(set(subjects))
    assert sum(r.sent for r in reports) <= 30
    with records.session() as s:
        rows = s.scalars(select(Notification).where(Notification.id.in_(ids))).all()
        assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}


def test_channel_tests_are_recorded_for_the_readiness_check(records, bot):
    rx = bot("feishu", secret="feishu-secret")
    good = _channel(rx)
    broken = Channel(name="ding-duty", kind="dingtalk", problem="缺少机密 ding_duty_webhook")
    config = NotifyConfig(channels=(good, broken))

    results = run_channel_tests(records, config, link=LINK, now=T0)

    assert [(r.channel, r.ok) for r in results] == [("duty", True), ("ding-duty", False)]
    assert results[1].reason == "缺少机密 ding_duty_webhook"
    assert "通道测试" in rx.received[0]["card"]["header"]["title"]["content"]
    later = T0 + timedelta(hours=1)
    run_channel_tests(records, config, names=["ding-duty"], now=later)
    with records.session() as s:
        assert last_channel_tests(s) == {"duty": (T0, True), "ding-duty": (later, False)}
    # test rows are records, not outbox work: a delivery pass leaves them alone
    assert deliver_pending(records, config, later).outcomes == []
    assert len(rx.received) == 1
