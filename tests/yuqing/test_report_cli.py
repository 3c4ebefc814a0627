"""`yuqing report regulator` and `yuqing report sign`: as a desk manager only, never for a drill."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import select

from playbooks.users import create_user
from store.models import AuditEntry, Escalation, PostRecord, Report
from store.records import upsert_alert
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

PASSWORD = "Zq7#long-enough-pass"


def _post(key: str, *, drill: bool = False) -> PostRecord:
    return PostRecord(
        id=f"p-{key}",
        title=f"华鼎证券APP无法登录{key}",
        text="开盘后华鼎证券APP无法登录，委托失败",
        source="微博",
        published_at="2026-10-02T01:25:00+00:00",
        sentiment={"label": "negative"},
        topic="交易系统故障",
        level="II",
        flagged=True,
        reasons=["涉及交易系统故障"],
        drill=drill,
        reposts=12,
    )


@pytest.fixture
def store(config_file: Path):
    """Two escalation records (one a drill) and a manager and an officer on the desk."""
    ctx = build_context(load_settings(config_file))
    ids = {}
    try:
        posts = [_post("real"), _post("drill", drill=True)]
        ctx.index.upsert_many(posts)
        with ctx.records.session() as s:
            create_user(
                s, username="zhao", role="manager", password=PASSWORD, by="test", display_name="赵经理"
            )
            create_user(s, username="wang", role="officer", password=PASSWORD, by="test")
            for p in posts:
                alert, _ = upsert_alert(s, post=p, playbook_id="trading-system-outage")
                esc = Escalation(
                    alert_id=alert.id,
                    level="II",
                    playbook_id="trading-system-outage",
                    owner="wang",
                    opened_by="wang",
                    drill=p.drill,
                )
                s.add(esc)
                s.flush()
                ids["drill" if p.drill else "real"] = esc.id
    finally:
        ctx.close()
    return config_file, ids


def _reports(config_file: Path) -> list[Report]:
    ctx = build_context(load_settings(config_file))
    try:
        with ctx.records.session() as s:
            return list(s.scalars(select(Report)))
    finally:
        ctx.close()


def test_manager_writes_the_docx_then_signs_it(store, tmp_path, capsys):
    config, ids = store
    out = tmp_path / "报告.docx"
    rc = main(
        [
            "--config",
            str(config),
            "report",
            "regulator",
            "--escalation",
            str(ids["real"]),
            "--output",
            str(out),
            "--as",
            "zhao",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    text = "\n".join(p.text for p in Document(io.BytesIO(out.read_bytes())).paragraphs)
    assert "华鼎证券股份有限公司" in text and "II 级（重大）" in text and "联系人：赵经理" in text
    (report,) = _reports(config)
    assert report.created_by == "zhao" and report.ref == str(ids["real"])
    assert report.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()

    assert main(["--config", str(config), "report", "sign", "--report", str(report.id), "--as", "zhao"]) == 0
    (report,) = _reports(config)
    assert report.signed_by == "zhao" and report.signed_at is not None
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.actor == "zhao"))]
    finally:
        ctx.close()
    assert actions == ["report.generated", "report.signed"]


def test_refused_for_an_officer_an_unknown_user_and_a_drill(store, tmp_path, capsys):
    config, ids = store
    out = tmp_path / "r.docx"
    base = ["--config", str(config), "report", "regulator", "--output", str(out)]
    assert main([*base, "--escalation", str(ids["real"]), "--as", "wang"]) == 2
    assert "无权" in capsys.readouterr().err
    assert main([*base, "--escalation", str(ids["real"]), "--as", "nobody"]) == 2
    assert "不存在" in capsys.readouterr().err
    assert main([*base, "--escalation", str(ids["drill"]), "--as", "zhao"]) == 2
    assert "演练" in capsys.readouterr().err
    assert not out.exists()
    assert _reports(config) == []
