"""`yuqing clocks --once`: a record whose acknowledge clock ran out tells the chain's next tier, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from playbooks.authz import Actor
from playbooks.escalation import open_escalation
from store.models import Notification, PostRecord, User, utcnow
from store.records import upsert_alert
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

CHAIN_TOML = """
[desk]
base_url = "https://desk.huading.example"

[escalation]
chain = ["owner", "role:manager"]
"""


def _record(config: Path, *, minutes_ago: float) -> int:
    ctx = build_context(load_settings(config))
    try:
        post = PostRecord(
            id="p-outage",
            title="华鼎证券APP无法登录",
            text="开盘后华鼎证券APP无法登录，委托失败",
            source="微博",
            topic="交易系统故障",
            level="II",
            flagged=True,
        )
        with ctx.records.session() as s:
            s.add(User(username="zhao", role="manager", email="zhao@huading.example", active=True))
            s.add(User(username="wang", role="officer", active=True))
            alert, _ = upsert_alert(s, post=post, playbook_id="trading-system-outage")
            alert.created_at = utcnow() - timedelta(minutes=minutes_ago)
            esc, _ = open_escalation(s, alert_id=alert.id, actor=Actor("wang", "officer"))
            return esc.id
    finally:
        ctx.close()


def _outbox(config: Path):
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            return [(n.channel, n.target, n.link, n.status) for n in s.scalars(select(Notification))]
    finally:
        ctx.close()


def test_clocks_once_notifies_the_manager_once(config_file: Path, capsys):
    config_file.write_text(config_file.read_text(encoding="utf-8") + CHAIN_TOML, encoding="utf-8")
    esc_id = _record(config_file, minutes_ago=12)  # level II: acknowledge within 10 minutes
    assert main(["--config", str(config_file), "clocks", "--once"]) == 0
    out = capsys.readouterr().out
    assert f"处置记录 #{esc_id} 超时 → 第 1 级（role:manager：zhao）" in out
    assert "1 条处置记录因超时升级" in out
    assert _outbox(config_file) == [
        ("email", "zhao@huading.example", "https://desk.huading.example/item?post=p-outage", "pending")
    ]
    assert main(["--config", str(config_file), "clocks", "--once"]) == 0
    assert "0 条处置记录因超时升级" in capsys.readouterr().out
    assert len(_outbox(config_file)) == 1
