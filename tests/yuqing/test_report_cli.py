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


def _with_password(monkeypatch, password: str = PASSWORD) -> list[str]:
    """The CLI's real credential path: the person's password as one line on stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return ["--password-stdin"]


def test_manager_writes_the_docx_then_signs_it(store, tmp_path, capsys, monkeypatch):
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
            *_with_password(monkeypatch),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    text = "\n".join(p.text for p in Document(io.BytesIO(out.read_bytes())).paragraphs)
    assert "华鼎证券股份有限公司" in text and "II 级（重大）" in text and "联系人：赵经理" in text
    (report,) = _reports(config)
    assert report.created_by == "zhao" and report.ref == str(ids["real"])
    assert report.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()

    # signing with a token an admin issued (yuqing user token zhao), kept in a file only zhao reads
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    capsys.readouterr()
    assert main(["--config", str(config), "user", "token", "zhao", "--days", "1"]) == 0
    token_file = tmp_path / "zhao.token"
    token_file.write_text(capsys.readouterr().out.splitlines()[0])
    sign = ["--config", str(config), "report", "sign", "--report", str(report.id)]
    assert main([*sign, "--token-file", str(token_file)]) == 0
    (report,) = _reports(config)
    assert report.signed_by == "zhao" and report.signed_at is not None
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.actor == "zhao"))]
    finally:
        ctx.close()
    assert actions == ["report.generated", "report.signed"]
    # signed once: a second signature (another way, the same person) is refused and changes nothing
    assert main([*sign, "--as", "zhao", *_with_password(monkeypatch)]) == 2
    assert "已由 zhao" in capsys.readouterr().err


def test_refused_for_an_officer_an_unknown_user_and_a_drill(store, tmp_path, capsys, monkeypatch):
    config, ids = store
    out = tmp_path / "r.docx"
    base = ["--config", str(config), "report", "regulator", "--output", str(out)]
    assert main([*base, "--escalation", str(ids["real"]), "--as", "wang", *_with_password(monkeypatch)]) == 2
    assert "无权" in capsys.readouterr().err
    assert (
        main([*base, "--escalation", str(ids["real"]), "--as", "nobody", *_with_password(monkeypatch)]) == 2
    )
    assert "用户名或密码错误" in capsys.readouterr().err
    assert main([*base, "--escalation", str(ids["drill"]), "--as", "zhao", *_with_password(monkeypatch)]) == 2
    assert "演练" in capsys.readouterr().err
    assert not out.exists()
    assert _reports(config) == []


def test_a_name_without_its_credential_acts_as_nobody(store, tmp_path, capsys, monkeypatch):
    """Probe 8: --as MANAGER with no credential (or a wrong one, or a revoked token) signs nothing."""
    config, ids = store
    out = tmp_path / "r.docx"
    gen = [
        "--config",
        str(config),
        "report",
        "regulator",
        "--output",
        str(out),
        "--escalation",
        str(ids["real"]),
    ]
    assert main([*gen, "--as", "zhao", *_with_password(monkeypatch)]) == 0
    (report,) = _reports(config)
    sign = ["--config", str(config), "report", "sign", "--report", str(report.id)]

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, nothing given
    assert main([*sign, "--as", "zhao"]) == 2
    assert "需要其凭据" in capsys.readouterr().err
    assert main([*sign, "--as", "zhao", *_with_password(monkeypatch, "not-his-password-1")]) == 2
    assert "用户名或密码错误" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["--config", str(config), "user", "token", "wang"]) == 0  # an officer's token
    wang_token = capsys.readouterr().out.splitlines()[0]
    monkeypatch.setenv("YUQING_TOKEN", wang_token)
    assert main([*sign, "--as", "zhao"]) == 2  # a token names its own person, never another
    assert "令牌属于 wang" in capsys.readouterr().err
    assert main([*sign]) == 2
    assert "无权" in capsys.readouterr().err
    assert main(["--config", str(config), "user", "token", "wang", "--revoke"]) == 0
    assert main([*sign]) == 2
    assert "已被吊销" in capsys.readouterr().err
    monkeypatch.setenv("YUQING_TOKEN", "yqt_made-up")
    assert main([*sign]) == 2
    assert "令牌无效" in capsys.readouterr().err
    monkeypatch.delenv("YUQING_TOKEN")

    (report,) = _reports(config)
    assert report.signed_by == "" and report.signed_at is None
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            trail = [(e.actor, e.action) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    finally:
        ctx.close()
    assert not [a for a in trail if a[1] == "report.signed"]
    assert ("cli:" + __import__("getpass").getuser(), "user.token_issued") in trail
