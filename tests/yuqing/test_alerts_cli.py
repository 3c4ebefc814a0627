"""`yuqing alerts`: the alerts from a shell, most urgent first with their acknowledge clocks, and
acknowledged as a person who proves who they are (token or password), audited like the desk's 确认."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from playbooks import users
from store.models import Alert, AuditEntry
from tests.yuqing.test_ingest_announce import MILD, OUTAGE
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

PASSWORD = "alerts-cli-pass-42"


@pytest.fixture
def flagged(config_file: Path, tmp_path: Path) -> Path:
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in (OUTAGE, MILD)), encoding="utf-8"
    )
    assert main(["ingest", "--input", str(src)]) == 0
    ctx = build_context(load_settings(config_file))
    try:
        with ctx.records.session() as s:
            users.create_user(
                s, username="wang", role="officer", password=PASSWORD, by="test", display_name="王晓明"
            )
    finally:
        ctx.close()
    return config_file


def _alert(config: Path) -> Alert:
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            return s.scalar(select(Alert).order_by(Alert.id))
    finally:
        ctx.close()


def test_list_shows_level_status_and_time_left(flagged, capsys):
    assert main(["alerts"]) == 0
    out = capsys.readouterr().out
    alert = _alert(flagged)
    assert f"#{alert.id} [{alert.level}] 待处理 确认剩余" in out and "华鼎证券APP全面瘫痪" in out
    assert main(["alerts", "--json", "--level", "IV"]) == 0
    assert capsys.readouterr().out.strip() == "" or alert.level == "IV"
    assert main(["alerts", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["id"] == alert.id and rows[0]["clock"].startswith("确认剩余")
    assert rows[0]["link"].endswith(f"/item?post={alert.post_id}")


def test_ack_needs_the_persons_credential_and_is_audited(flagged, capsys, password_on_stdin):
    alert = _alert(flagged)
    assert (
        main(["alerts", "--ack", str(alert.id), "--as", "wang", *password_on_stdin("wrong-password-1")]) == 2
    )
    assert _alert(flagged).acknowledged_at is None
    assert main(["alerts", "--ack", str(alert.id), "--as", "wang", *password_on_stdin(PASSWORD)]) == 0
    assert "已由 wang 确认" in capsys.readouterr().out
    assert _alert(flagged).acknowledged_by == "wang"
    assert (
        main(["alerts", "--ack", str(alert.id), "99999", "--as", "wang", *password_on_stdin(PASSWORD)]) == 1
    )
    captured = capsys.readouterr()
    assert "此前已确认" in captured.out and "预警 #99999 未确认" in captured.err
    ctx = build_context(load_settings(flagged))
    try:
        with ctx.records.session() as s:
            acts = [
                (e.actor, e.action) for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "alert"))
            ]
    finally:
        ctx.close()
    assert acts.count(("wang", "alert.acknowledged")) == 1
