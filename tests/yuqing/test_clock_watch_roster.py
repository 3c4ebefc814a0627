"""`yuqing clocks --once` follows the duty roster: the manager on duty now is told, not every manager."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from playbooks.authz import Actor
from playbooks.escalation import open_escalation
from playbooks.roster import BEIJING, add_entry
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


def _record(config: Path, *, on_duty: str | None) -> None:
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
            s.add(User(username="qian", role="manager", email="qian@huading.example", active=True))
            s.add(User(username="wang", role="officer", active=True))
            s.flush()
            alert, _ = upsert_alert(s, post=post, playbook_id="trading-system-outage")
            alert.created_at = utcnow() - timedelta(minutes=12)  # level II: acknowledge within 10 minutes
            open_escalation(s, alert_id=alert.id, actor=Actor("wang", "officer"))
            if on_duty:
                today = utcnow().astimezone(BEIJING).date()
                for day in (today - timedelta(days=1), today):  # the check may straddle midnight
                    add_entry(s, Actor("root", "admin"), day=day, duty="manager", username=on_duty)
    finally:
        ctx.close()


def _emails(config: Path) -> list[str]:
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            return sorted(n.target for n in s.scalars(select(Notification)) if n.channel == "email")
    finally:
        ctx.close()


def test_clocks_tell_the_manager_on_duty(config_file: Path, capsys):
    config_file.write_text(config_file.read_text(encoding="utf-8") + CHAIN_TOML, encoding="utf-8")
    _record(config_file, on_duty="qian")
    assert main(["--config", str(config_file), "clocks", "--once"]) == 0
    assert "第 1 级（role:manager：qian）" in capsys.readouterr().out
    assert _emails(config_file) == ["qian@huading.example"]


def test_with_nobody_on_the_roster_every_manager_is_told(config_file: Path, capsys):
    config_file.write_text(config_file.read_text(encoding="utf-8") + CHAIN_TOML, encoding="utf-8")
    _record(config_file, on_duty=None)
    assert main(["--config", str(config_file), "clocks", "--once"]) == 0
    assert "第 1 级（role:manager：qian, zhao）" in capsys.readouterr().out
    assert _emails(config_file) == ["qian@huading.example", "zhao@huading.example"]
