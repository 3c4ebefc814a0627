"""Email over SMTP to a local aiosmtpd server that demands STARTTLS and a login."""

from __future__ import annotations

from datetime import UTC, datetime

from playbooks.notify.channels import Channel, NotifyConfig, RetryPolicy, SmtpSettings
from playbooks.notify.deliver import deliver_pending
from playbooks.notify.outbox import Recipient, enqueue
from store.models import Notification

LINK = "http://127.0.0.1:8501/item?alert=5"
T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def _smtp(rx, **kw) -> SmtpSettings:
    base = dict(
        host=rx.host,
        port=rx.port,
        starttls=True,
        username=rx.username,
        password=rx.password,
        from_addr="yuqing-desk@example-securities.cn",
        ca_file=rx.cert,
        timeout_s=10,
    )
    return SmtpSettings(**{**base, **kw})


def _enqueue(records, target: str, *, drill=False, key="esc:5") -> int:
    with records.session() as s:
        (row,) = enqueue(
            s,
            recipients=[Recipient("email", target)],
            kind="escalation",
            subject="Ⅰ级舆情「华鼎证券涉嫌违规被立案」已升级至负责人",
            body="<b>原帖</b>：华鼎证券被证监会立案调查？\n请在 1 小时内完成应对口径。",
            link=LINK,
            level="I",
            drill=drill,
            dedupe_key=key,
        )
        return row.id


def test_an_escalation_email_arrives_over_starttls_with_level_what_happened_and_link(records, smtp_server):
    rx = smtp_server
    ch = Channel(name="managers", kind="email", to=("pr-lead@example-securities.cn",), smtp=_smtp(rx))
    row_id = _enqueue(records, "managers")

    report = deliver_pending(records, NotifyConfig(channels=(ch,)), T0)

    assert report.sent == 1, report.outcomes
    (mail,) = rx.messages
    assert rx.envelopes[0].rcpt_tos == ["pr-lead@example-securities.cn"]
    assert mail["Subject"] == "【Ⅰ级·升级通知】Ⅰ级舆情「华鼎证券涉嫌违规被立案」已升级至负责人"
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    assert "级别：Ⅰ级（特别重大）" in plain
    assert "华鼎证券被证监会立案调查" in plain
    assert f"值守台链接：{LINK}" in plain
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;原帖&lt;/b&gt;" in html and "<b>原帖</b>" not in html  # post text escaped
    with records.session() as s:
        assert s.get(Notification, row_id).status == "sent"


def test_an_email_row_addressed_to_a_person_uses_the_smtp_settings(records, smtp_server):
    rx = smtp_server
    row_id = _enqueue(records, "duty-manager@example-securities.cn")
    deliver_pending(records, NotifyConfig(channels=(), smtp=_smtp(rx)), T0)
    assert rx.envelopes[0].rcpt_tos == ["duty-manager@example-securities.cn"]
    with records.session() as s:
        assert s.get(Notification, row_id).status == "sent"


def test_a_wrong_smtp_password_fails_with_a_reason_and_without_the_password(records, smtp_server, caplog):
    rx = smtp_server
    wrong = "definitely-wrong-password-7781"
    ch = Channel(name="managers", kind="email", to=("a@example.cn",), smtp=_smtp(rx, password=wrong))
    row_id = _enqueue(records, "managers")
    caplog.set_level("DEBUG")
    deliver_pending(records, NotifyConfig(channels=(ch,), retry=RetryPolicy(max_attempts=1)), T0)
    assert rx.messages == []
    with records.session() as s:
        row = s.get(Notification, row_id)
        assert row.status == "failed"
        assert row.last_error.startswith("邮件服务器拒绝登录")
        assert wrong not in row.last_error and wrong not in caplog.text


def test_a_server_certificate_that_is_not_trusted_is_refused(records, smtp_server):
    rx = smtp_server
    ch = Channel(name="managers", kind="email", to=("a@example.cn",), smtp=_smtp(rx, ca_file=""))
    row_id = _enqueue(records, "managers")
    deliver_pending(records, NotifyConfig(channels=(ch,), retry=RetryPolicy(max_attempts=1)), T0)
    assert rx.messages == []
    with records.session() as s:
        assert "TLS" in s.get(Notification, row_id).last_error


def test_a_drill_email_is_never_sent(records, smtp_server):
    rx = smtp_server
    ch = Channel(name="managers", kind="email", to=("a@example.cn",), smtp=_smtp(rx))
    row_id = _enqueue(records, "managers", drill=True)
    deliver_pending(records, NotifyConfig(channels=(ch,)), T0)
    assert rx.messages == []
    with records.session() as s:
        assert s.get(Notification, row_id).status == "suppressed"


def test_an_email_to_a_person_without_a_mail_server_configured_says_so(records):
    row_id = _enqueue(records, "duty-manager@example-securities.cn")
    deliver_pending(records, NotifyConfig(channels=(), retry=RetryPolicy(max_attempts=1)), T0)
    with records.session() as s:
        row = s.get(Notification, row_id)
        assert row.status == "failed"
        assert (
            row.last_error
            == "没有配置邮件服务器（notify.smtp.host），无法发邮件给 duty-manager@example-securities.cn"
        )
