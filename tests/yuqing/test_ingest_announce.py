"""`yuqing ingest` of a serious post puts an announcement for the duty channels in the outbox, at once."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from store.models import Notification
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

NOTIFY_TOML = """
[desk]
base_url = "https://desk.huading.example"

[notify]
announce_levels = ["I", "II"]

[[notify.channels]]
name = "值班群"
kind = "wecom"
webhook_secret = "wecom_duty"
"""

OUTAGE = {
    "id": "a1",
    "title": "华鼎证券APP全面瘫痪 客户无法交易",
    "text": "今天开盘后华鼎证券APP无法登录，委托全部失败，大量客户投诉，损失惨重，华鼎证券至今没有任何回应！",
    "source": "微博",
    "url": "https://weibo.example/status/1",
    "reposts": 30000,
    "comments": 8000,
    "user_followers": 2000000,
    "user_verified": True,
}
MILD = {
    "id": "a2",
    "title": "华鼎证券发布三季报",
    "text": "华鼎证券今日发布三季度报告，营收同比持平。",
    "source": "新闻",
}


def _ingest(config: Path, tmp_path: Path, posts: list[dict], *extra: str) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    assert main(["ingest", "--input", str(src), *extra]) == 0


def _outbox(config: Path) -> list[Notification]:
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            return s.scalars(select(Notification).order_by(Notification.id)).all()
    finally:
        ctx.close()


def test_a_serious_post_is_announced_once_with_its_level_and_desk_link(
    config_file: Path, tmp_path: Path, capsys
):
    config_file.write_text(config_file.read_text(encoding="utf-8") + NOTIFY_TOML, encoding="utf-8")
    _ingest(config_file, tmp_path, [OUTAGE, MILD])
    assert "严重预警已通知值班群" in capsys.readouterr().out
    rows = _outbox(config_file)
    assert [(r.kind, r.channel, r.target, r.status) for r in rows] == [
        ("alert", "wecom", "值班群", "pending")
    ]
    assert rows[0].level in ("I", "II")
    assert rows[0].link.startswith("https://desk.huading.example/item?post=")
    assert "无法交易" in rows[0].subject
    _ingest(config_file, tmp_path, [OUTAGE])  # the same post again: nobody is told twice
    assert len(_outbox(config_file)) == 1


def test_no_channels_configured_means_no_outbox_rows(config_file: Path, tmp_path: Path):
    _ingest(config_file, tmp_path, [OUTAGE])
    assert _outbox(config_file) == []
