"""企业微信, 钉钉 and 飞书 group bots against local receivers that check keys, signatures and payloads."""

from __future__ import annotations

import re
import time

import pytest

from playbooks.notify import dingtalk, feishu
from playbooks.notify.channels import Channel, NotifyConfig, RetryPolicy, SendError
from playbooks.notify.deliver import deliver_pending
from playbooks.notify.message import Message
from playbooks.notify.outbox import Recipient, enqueue
from store.models import Notification

LINK = "http://desk.example.cn:8501/item?alert=42"
SUBJECT = "「华鼎证券交易系统无法登录」确认时限已过"
HOSTILE = (
    '**假消息** [点我领奖](http://evil.example/x) <@all> <at user_id="all"></at>\n'
    "# 大标题\n- 列表\n<script>alert(1)</script> `code` |表格| ~~删除~~ @13800000000"
)


def all_strings(obj) -> str:
    """Every string in a JSON payload, one per line: what a person in the group would read."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return "\n".join(all_strings(v) for v in obj.values())
    if isinstance(obj, list):
        return "\n".join(all_strings(v) for v in obj)
    return ""


def _bot_channel(rx, *, fmt="markdown", secret=None) -> Channel:
    return Channel(
        name=f"{rx.kind}-duty",
        kind=rx.kind,
        webhook=rx.webhook,
        secret=rx.secret if secret is None else secret,
        format=fmt,
        timeout_s=5,
    )


def _enqueue(records, channel: Channel, *, body=HOSTILE, level="I", drill=False, key="breach:1", mention=""):
    with records.session() as s:
        rows = enqueue(
            s,
            recipients=[Recipient(channel.kind, channel.name, mention)],
            kind="breach",
            subject=SUBJECT,
            body=body,
            link=LINK,
            level=level,
            escalation_id=7,
            alert_id=42,
            drill=drill,
            dedupe_key=key,
        )
        return [r.id for r in rows]


def _row(records, row_id) -> Notification:
    with records.session() as s:
        return s.get(Notification, row_id)


def _signed(kind):
    return {
        "wecom": "",
        "dingtalk": "SECdingtalk-signing-secret-0123456789",
        "feishu": "feishu-signing-secret-abcdef",
    }[kind]


KINDS = ["wecom", "dingtalk", "feishu"]


@pytest.mark.parametrize("fmt", ["markdown", "text"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_breach_reaches_each_bot_with_level_what_happened_and_link(records, bot, kind, fmt):
    rx = bot(kind, secret=_signed(kind))
    ch = _bot_channel(rx, fmt=fmt)
    (row_id,) = _enqueue(records, ch)

    report = deliver_pending(records, NotifyConfig(channels=(ch,)))

    assert report.sent == 1 and rx.rejected == []
    assert len(rx.received) == 1
    said = all_strings(rx.received[0])
    assert "Ⅰ级" in said
    assert "确认时限已过" in said and "华鼎证券交易系统无法登录" in said
    assert LINK in said
    row = _row(records, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_post_text_cannot_add_links_mentions_or_markup(records, bot, kind):
    rx = bot(kind, secret=_signed(kind))
    ch = _bot_channel(rx, fmt="markdown")
    _enqueue(records, ch)
    deliver_pending(records, NotifyConfig(channels=(ch,)))
    said = all_strings(rx.received[0])
    # the only markdown link is ours; the post's link text and URL are inert
    assert re.findall(r"\]\(([^)]*)\)", said) in ([LINK], [])
    assert "[点我领奖](" not in said
    for markup in (
        "<@all>",
        '<at user_id="all">',
        "<script>",
        "**假消息**",
        "\n# 大标题",
        "`code`",
        "~~删除~~",
    ):
        assert markup not in said, markup
    assert "假消息" in said and "点我领奖" in said  # the words are still there to read
    assert "http://evil.example" not in said and "evil.example" in said  # shown, not clickable


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_post_text_cannot_mention_everyone_in_a_text_message(records, bot, kind):
    rx = bot(kind, secret=_signed(kind))
    ch = _bot_channel(rx, fmt="text")
    _enqueue(records, ch)
    deliver_pending(records, NotifyConfig(channels=(ch,)))
    p = rx.received[0]
    said = all_strings(p)
    assert '<at user_id="all">' not in said and "<@all>" not in said
    assert "http://evil.example" not in said and LINK in said
    assert "假消息" in said
    if kind == "wecom":
        assert "mentioned_list" not in p["text"]
    if kind == "dingtalk":
        assert p["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}


def test_wecom_cuts_a_long_post_but_keeps_level_and_link(records, bot):
    rx = bot("wecom")
    ch = _bot_channel(rx)
    _enqueue(records, ch, body="投诉内容很长。" * 2000)
    deliver_pending(records, NotifyConfig(channels=(ch,)))
    content = rx.received[0]["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "Ⅰ级" in content and LINK in content and "已截断" in content


def test_wecom_text_message_mentions_by_user_id_and_mobile(records, bot):
    rx = bot("wecom")
    ch = _bot_channel(rx, fmt="markdown")
    _enqueue(records, ch, mention="zhangsan,13800001111")
    deliver_pending(records, NotifyConfig(channels=(ch,)))
    text = rx.received[0]["text"]  # a mobile mention needs a text message
    assert text["mentioned_list"] == ["zhangsan"]
    assert text["mentioned_mobile_list"] == ["13800001111"]


def test_dingtalk_at_mobiles_are_named_in_the_payload_and_the_text(records, bot):
    rx = bot("dingtalk", secret=_signed("dingtalk"))
    ch = _bot_channel(rx)
    _enqueue(records, ch, mention="13800001111")
    deliver_pending(records, NotifyConfig(channels=(ch,)))
    p = rx.received[0]
    assert p["at"]["atMobiles"] == ["13800001111"]
    assert "@13800001111" in p["markdown"]["text"]


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_wrong_signing_secret_is_refused_and_the_row_fails_with_the_reason(records, bot, kind, caplog):
    rx = bot(kind, secret=_signed(kind))
    wrong = "not-the-real-signing-secret-42"
    ch = _bot_channel(rx, secret=wrong)
    (row_id,) = _enqueue(records, ch)

    caplog.set_level("DEBUG")
    deliver_pending(records, NotifyConfig(channels=(ch,), retry=RetryPolicy(max_attempts=1)))

    assert rx.received == [] and rx.rejected == ["sign"]
    row = _row(records, row_id)
    assert row.status == "failed" and row.attempts == 1
    assert ("errcode 310000" if kind == "dingtalk" else "code 19021") in row.last_error
    assert "sign" in row.last_error and ("钉钉拒收" if kind == "dingtalk" else "飞书拒收") in row.last_error
    for secret in (wrong, rx.secret, rx.token):
        assert secret not in row.last_error
        assert secret not in caplog.text


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_timestamp_more_than_an_hour_old_is_refused(bot, kind):
    rx = bot(kind, secret=_signed(kind))
    ch = _bot_channel(rx)
    msg = Message(subject=SUBJECT, body="x", level="II", link=LINK)
    with pytest.raises(SendError, match="拒收"):
        if kind == "dingtalk":
            dingtalk.send(ch, msg, timestamp_ms=int((time.time() - 7200) * 1000))
        else:
            feishu.send(ch, msg, timestamp_s=int(time.time() - 7200))
    assert rx.rejected == ["sign"]
    # the same message signed now goes through: the receiver is not simply refusing everything
    (dingtalk if kind == "dingtalk" else feishu).send(ch, msg)
    assert len(rx.received) == 1


def test_wecom_wrong_key_fails_with_the_service_reason_and_no_key_in_it(records, bot, caplog):
    rx = bot("wecom")
    good_key = rx.token
    ch = Channel(
        name="wecom-duty", kind="wecom", webhook=rx.webhook.replace(good_key, "wrongkey0123456789abcdef")
    )
    (row_id,) = _enqueue(records, ch)
    caplog.set_level("DEBUG")
    deliver_pending(records, NotifyConfig(channels=(ch,), retry=RetryPolicy(max_attempts=1)))
    row = _row(records, row_id)
    assert row.status == "failed"
    assert "errcode 93000" in row.last_error and "invalid webhook url" in row.last_error
    assert "wrongkey0123456789abcdef" not in row.last_error + caplog.text
