"""`yuqing report daily` and `yuqing report holiday`: a manager writes the .docx or the Markdown, the
report is kept and can be signed; an officer is refused; the holiday comes from the calendar or dates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from playbooks.reports import docx_text
from playbooks.users import create_user
from store.models import PostRecord, Report
from store.records import upsert_alert
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

PASSWORD = "Zq7#long-enough-pass"


def _post(key: str, published: str, level: str | None, title: str) -> PostRecord:
    return PostRecord(
        id=f"p-{key}",
        title=title,
        text=f"华鼎证券 {key}",
        source="微博",
        published_at=published,
        sentiment={"label": "negative"},
        topic="交易系统故障",
        level=level,
        flagged=level is not None,
        reasons=["涉及交易系统故障"] if level else [],
        event_id=f"ev-{key}" if level else "",
    )


@pytest.fixture
def store(config_file: Path) -> Path:
    """Two posts on 2 October 2026 (Beijing), one flagged; a manager and an officer."""
    ctx = build_context(load_settings(config_file))
    try:
        posts = [
            _post("a", "2026-10-02T01:25:00+00:00", "II", "华鼎证券APP无法登录 <b>急</b>"),
            _post("b", "2026-10-02T03:00:00+00:00", None, "华鼎证券服务不错"),
        ]
        ctx.index.upsert_many(posts)
        with ctx.records.session() as s:
            create_user(
                s, username="zhao", role="manager", password=PASSWORD, by="test", display_name="赵经理"
            )
            create_user(s, username="wang", role="officer", password=PASSWORD, by="test")
            alert, _ = upsert_alert(s, post=posts[0], playbook_id="trading-system-outage")
    finally:
        ctx.close()
    return config_file


def _reports(config: Path) -> list[tuple[int, str, str, str]]:
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            return [(r.id, r.kind, r.ref, r.signed_by) for r in s.scalars(select(Report).order_by(Report.id))]
    finally:
        ctx.close()


def test_daily_brief_as_docx_and_markdown_then_signed(store, tmp_path, capsys, password_on_stdin):
    pw = password_on_stdin(PASSWORD)
    base = ["--config", str(store), "report", "daily", "--date", "2026-10-02", "--as", "zhao", *pw]
    out = tmp_path / "日报.docx"
    assert main([*base, "--output", str(out)]) == 0, capsys.readouterr().err
    assert "报告 #1" in capsys.readouterr().out
    text = docx_text(out.read_bytes())
    assert "舆情日报（2026年10月02日）" in text and "华鼎证券股份有限公司" in text
    assert "监测帖文 | 2 | 0 | +2" in text  # a table row: the day against the day before
    md = tmp_path / "日报.md"
    assert main([*base, "--output", str(md)]) == 0
    body = md.read_text(encoding="utf-8")
    assert body.startswith("# 舆情日报（2026年10月02日）")
    assert "| 预警帖文 | 1 | 0 | +1 |" in body and "\\<b\\>急\\<\\/b\\>" in body and "<b>" not in body
    assert _reports(store) == [(1, "daily", "2026-10-02", ""), (2, "daily", "2026-10-02", "")]
    assert main(["--config", str(store), "report", "sign", "--report", "1", "--as", "zhao", *pw]) == 0
    assert _reports(store)[0] == (1, "daily", "2026-10-02", "zhao")


def test_holiday_summary_from_the_calendar_or_dates(store, tmp_path, capsys, password_on_stdin):
    out = tmp_path / "总结.md"
    pw = password_on_stdin(PASSWORD)
    base = ["--config", str(store), "report", "holiday", "--output", str(out), "--as", "zhao", *pw]
    assert main([*base, "--holiday", "国庆", "--year", "2026"]) == 0, capsys.readouterr().err
    body = out.read_text(encoding="utf-8")
    assert body.startswith("# 2026年国庆节假期舆情工作总结")
    assert "2026年09月30日至2026年10月08日（共 9 天）" in body
    assert "| 10-02（五） | 2 | 2 | 1 | 0 | 1 | 0 | 0 |" in body
    assert main([*base, "--from", "2026-10-01", "--to", "2026-10-03"]) == 0
    assert _reports(store)[-1][1:3] == ("holiday", "2026-10-01~2026-10-03")


def test_refusals(store, tmp_path, capsys, password_on_stdin):
    out = tmp_path / "r.docx"
    pw = password_on_stdin(PASSWORD)
    daily = ["--config", str(store), "report", "daily", "--date", "2026-10-02", "--output", str(out)]
    assert main([*daily, "--as", "wang", *pw]) == 2
    assert "无权" in capsys.readouterr().err
    holiday = ["--config", str(store), "report", "holiday", "--output", str(out), "--as", "zhao", *pw]
    assert main([*holiday, "--holiday", "国庆"]) == 2
    assert "同时给出" in capsys.readouterr().err
    assert (
        main([*holiday, "--holiday", "国庆", "--year", "2026", "--from", "2026-10-01", "--to", "2026-10-02"])
        == 2
    )
    assert "二选一" in capsys.readouterr().err
    assert main([*holiday, "--holiday", "圣诞", "--year", "2026"]) == 2
    assert "没有名为“圣诞”" in capsys.readouterr().err
    assert main([*daily[:-1], str(tmp_path / "r.pdf"), "--as", "zhao", *pw]) == 2
    assert ".docx 或 .md" in capsys.readouterr().err
    assert not out.exists() and _reports(store) == []
