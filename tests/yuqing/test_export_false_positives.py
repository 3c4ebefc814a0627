"""`yuqing export --false-positives`: the alerts officers dismissed, as training data for the models."""

from __future__ import annotations

import getpass
import json

from playbooks.authz import Actor
from playbooks.triage import mark_false_positive
from store.models import PostRecord
from store.records import audit_trail, upsert_alert
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

OFFICER = Actor("wang", "officer", "王晓明")
LONG = "网传华鼎证券自营部门全员被带走调查，公司即将停业整顿，请大家尽快转户。" * 12


def _post(key: str, *, drill: bool = False) -> PostRecord:
    return PostRecord(
        id=f"post-{key}",
        title=f"传华鼎证券{key}",
        text=LONG if key == "rumor" else f"华鼎证券{key}帖子",
        source="股吧",
        url=f"https://example.com/{key}",
        sentiment={"label": "negative", "scores": {"negative": 0.92, "neutral": 0.05, "positive": 0.03}},
        targets=["华鼎证券"],
        negative_targets=["华鼎证券"],
        falsity={"label": "rumor", "score": 0.77},
        topic="不实信息",
        level="II",
        flagged=True,
        reasons=["疑似不实信息"],
        drill=drill,
    )


def _store(config_file) -> None:
    ctx = build_context(load_settings(config_file))
    try:
        posts = [_post("rumor"), _post("drill", drill=True), _post("open")]
        ctx.index.upsert_many(posts)
        with ctx.records.session() as s:
            ids = {p.id: upsert_alert(s, post=p)[0].id for p in posts}
        with ctx.records.session() as s:
            mark_false_positive(s, ids["post-rumor"], OFFICER, "旧谣言，公司已于 9 月辟谣")
            mark_false_positive(s, ids["post-drill"], OFFICER, "演练")
    finally:
        ctx.close()


def test_export_false_positives_writes_training_rows(config_file, tmp_path, capsys):
    _store(config_file)
    out = tmp_path / "fp.jsonl"
    assert main(["export", "--false-positives", "--output", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1  # the drill and the alert still open are not in it
    row = json.loads(lines[0])
    assert row["id"] == "post-rumor"
    assert row["text"] == LONG and row["title"] == "传华鼎证券rumor" and row["source"] == "股吧"
    assert row["sentiment"]["label"] == "negative" and row["falsity"]["label"] == "rumor"
    assert row["level"] == "II" and row["reasons"] == ["疑似不实信息"]
    assert row["verdict"] == "false_positive"
    assert row["verdict_reason"] == "旧谣言，公司已于 9 月辟谣"
    assert "已导出误报 1 条" in capsys.readouterr().out
    ctx = build_context(load_settings(config_file))
    try:
        with ctx.records.session() as s:
            (entry,) = audit_trail(s, entity="export")
    finally:
        ctx.close()
    assert entry.actor == f"cli:{getpass.getuser()}" and entry.detail["rows"] == 1


def test_false_positives_are_never_exported_with_drills(config_file, tmp_path, capsys):
    out = tmp_path / "fp.jsonl"
    assert main(["export", "--false-positives", "--include-drills", "--output", str(out)]) == 2
    assert "演练" in capsys.readouterr().err
    assert not out.exists()
