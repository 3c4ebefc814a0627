"""`yuqing notify test|send` with channels configured in yuqing.toml and secrets in the environment."""

from __future__ import annotations

import pytest

from playbooks.notify.deliver import last_channel_tests
from playbooks.notify.outbox import Recipient, enqueue
from store.records import Records
from yuqing.cli import main
from yuqing.config import ConfigError, load_settings
from yuqing.notify import notify_config

NOTIFY_TOML = """
[notify]
max_attempts = 2
backoff_seconds = 30

[[notify.channels]]
name = "wecom-duty"
kind = "wecom"
webhook_secret = "wecom_duty_webhook"

[[notify.channels]]
name = "ding-duty"
kind = "dingtalk"
webhook_secret = "ding_duty_webhook"
sign_secret = "ding_duty_sign"
format = "text"

[[notify.channels]]
name = "feishu-duty"
kind = "feishu"
webhook_secret = "feishu_duty_webhook"
sign_secret = "feishu_duty_sign"
"""


@pytest.fixture
def configured(config_file, bot, monkeypatch):
    config_file.write_text(config_file.read_text(encoding="utf-8") + NOTIFY_TOML, encoding="utf-8")
    wecom = bot("wecom")
    ding = bot("dingtalk", secret="SECding-sign-secret-555")
    monkeypatch.setenv("YUQING_SECRET_WECOM_DUTY_WEBHOOK", wecom.webhook)
    monkeypatch.setenv("YUQING_SECRET_DING_DUTY_WEBHOOK", ding.webhook)
    monkeypatch.setenv("YUQING_SECRET_DING_DUTY_SIGN", ding.secret)
    # 飞书's secrets are not set: that channel must fail with what is missing
    return config_file, wecom, ding


def test_notify_test_tries_every_channel_and_records_the_result(configured, capsys):
    path, wecom, ding = configured
    assert main(["notify", "test"]) == 1  # one channel is not ready

    out = capsys.readouterr().out
    assert "wecom-duty（wecom）：ok" in out and "ding-duty（dingtalk）：ok" in out
    assert "feishu-duty（feishu）：failed 失败：缺少机密 feishu_duty_webhook" in out
    assert "YUQING_SECRET_FEISHU_DUTY_WEBHOOK" in out  # says where to put it
    assert wecom.token not in out and ding.secret not in out and ding.token not in out
    assert "通道测试" in wecom.received[0]["markdown"]["content"]
    assert "通道测试" in ding.received[0]["text"]["content"]

    settings = load_settings(path)
    records = Records(settings.store.resolved_records_url())
    try:
        with records.session() as s:
            tests = last_channel_tests(s)
    finally:
        records.dispose()
    assert {name: ok for name, (_, ok) in tests.items()} == {
        "wecom-duty": True,
        "ding-duty": True,
        "feishu-duty": False,
    }


def test_notify_test_one_channel_and_an_unknown_one(configured, capsys):
    _, wecom, ding = configured
    assert main(["notify", "test", "--channel", "ding-duty"]) == 0
    assert len(ding.received) == 1 and wecom.received == []
    assert main(["notify", "test", "--channel", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_notify_send_delivers_the_outbox_once(configured, capsys):
    path, wecom, _ = configured
    settings = load_settings(path)
    records = Records(settings.store.resolved_records_url())
    with records.session() as s:
        enqueue(
            s,
            recipients=[Recipient("wecom", "wecom-duty")],
            kind="breach",
            subject="Ⅰ级舆情确认时限已过",
            body="值班员未在 15 分钟内确认",
            link="http://127.0.0.1:8501/item?alert=1",
            level="I",
            dedupe_key="breach:1",
        )
    records.dispose()
    assert main(["notify", "send"]) == 0
    assert "已发送 1 条" in capsys.readouterr().out
    assert "Ⅰ级" in wecom.received[0]["markdown"]["content"]
    assert main(["notify", "send"]) == 0  # nothing left: nothing sent twice
    assert len(wecom.received) == 1


def test_secret_values_never_live_in_the_config(config_file):
    config_file.write_text(
        config_file.read_text(encoding="utf-8")
        + '\n[notify]\n[[notify.channels]]\nname = "x"\nkind = "wecom"\nwebhook = "https://qyapi.weixin.qq.com/…"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="webhook"):
        load_settings(config_file)


def test_a_channel_name_with_an_at_sign_is_refused(config_file):
    # outbox targets are "name@mention": a name holding "@" could not be told apart
    config_file.write_text(
        config_file.read_text(encoding="utf-8")
        + '\n[notify]\n[[notify.channels]]\nname = "duty@x"\nkind = "wecom"\nwebhook_secret = "w"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="name"):
        load_settings(config_file)


def test_email_channel_settings_resolve_the_smtp_password_by_name(config_file, monkeypatch):
    config_file.write_text(
        config_file.read_text(encoding="utf-8")
        + '\n[notify.smtp]\nhost = "smtp.example.cn"\nusername = "desk"\npassword_secret = "smtp_pw"\n'
        + 'from_addr = "desk@example.cn"\n[[notify.channels]]\nname = "mgr"\nkind = "email"\nto = ["m@example.cn"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("YUQING_SECRET_SMTP_PW", "s3cret-pw")
    config = notify_config(load_settings(config_file))
    (ch,) = config.channels
    assert ch.problem == "" and ch.smtp.password == "s3cret-pw" and ch.to == ("m@example.cn",)
    assert "s3cret-pw" not in repr(config)
    monkeypatch.delenv("YUQING_SECRET_SMTP_PW")
    assert notify_config(load_settings(config_file)).channels[0].problem.startswith("缺少机密 smtp_pw")


def test_the_documented_examples_in_the_init_template_are_valid(tmp_path, monkeypatch):
    import re
    from importlib import resources

    template = resources.files("yuqing").joinpath("init_template.toml").read_text(encoding="utf-8")
    head, notify = template.split("\n[notify]\n", 1)
    uncommented = "\n".join(
        line[2:] if re.match(r"# (\[|[a-z_]+ = )", line) else line for line in notify.splitlines()
    )
    path = tmp_path / "yuqing.toml"
    path.write_text(head + "\n[notify]\n" + uncommented, encoding="utf-8")
    for key in (
        "WECOM_DUTY",
        "DINGTALK_DUTY",
        "DINGTALK_DUTY_SIGN",
        "FEISHU_DUTY",
        "FEISHU_DUTY_SIGN",
        "SMTP_PASSWORD",
    ):
        monkeypatch.setenv(f"YUQING_SECRET_{key}", f"https://example.cn/{key.lower()}")
    settings = load_settings(path)
    assert [c.kind for c in settings.notify.channels] == ["wecom", "dingtalk", "feishu", "email"]
    config = notify_config(settings)
    assert [c.problem for c in config.channels] == ["", "", "", ""]
    assert config.channels[1].secret == "https://example.cn/dingtalk_duty_sign"


def test_the_outbox_pump_beside_the_schedule_delivers_within_seconds(configured):
    import time

    from playbooks.notify.pump import OutboxPump

    path, wecom, _ = configured
    settings = load_settings(path)
    records = Records(settings.store.resolved_records_url())
    pump = OutboxPump(records, notify_config(settings), every=0.05).start()
    try:
        with records.session() as s:
            enqueue(
                s,
                recipients=[Recipient("wecom", "default", mention="zhangsan")],
                kind="breach",
                subject="Ⅱ级舆情确认时限已过",
                body="值班员未确认",
                link="http://127.0.0.1:8501/item?post=abc",
                level="II",
                dedupe_key="breach:2",
            )
        deadline = time.monotonic() + 10
        while not wecom.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pump.stop()
        records.dispose()
    content = wecom.received[0]["markdown"]["content"]
    assert "Ⅱ级" in content and content.endswith("<@zhangsan>")
    assert not pump._thread.is_alive()
