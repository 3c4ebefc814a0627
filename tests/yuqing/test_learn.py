"""`yuqing learn`: officers' verdicts refit the firm's layer, which ingest and analyze then use; rollback,
refusals, drills and the audit trail. SQLite always, PostgreSQL records when YUQING_TEST_PG_URL is set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playbooks import triage
from playbooks.authz import Actor
from store import feedback_layers
from store.models import User
from store.records import audit_trail, list_alerts
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context
from yuqing.ingest import ingest

OFFICER = Actor("wang", "officer", "王晓明")
# this firm's officers dismiss grumbles about the share price and act on complaints
GRUMBLES = [
    "华鼎证券今天又跌了{n}个点，垃圾股，套牢了",
    "华鼎这票天天跌，{n}块买的现在亏惨了",
    "华鼎证券股价又创新低，{n}天连跌，谁还敢拿",
    "华鼎证券跌停了，{n}手全被套，后悔死了",
    "华鼎证券这走势太恶心了，{n}日线破位，割肉了",
]
COMPLAINTS = [
    "华鼎证券乱收费，佣金说好万一实际收了万{n}，投诉无门",
    "华鼎金管家又崩了，开盘{n}分钟登录不上无法交易",
    "华鼎证券客户经理在群里骂客户是韭菜，第{n}次了",
    "华鼎证券销户难，跑了{n}趟营业部还不给办",
    "华鼎证券理财经理诱导我买高风险产品，亏了{n}万",
]
REASON = "股价涨跌的抱怨，不是本司舆情事件"
FRESH_GRUMBLE = "华鼎证券今天又跌了9个点，垃圾股，割肉走人"
FRESH_COMPLAINT = "华鼎证券乱收费，开户时说好万一，结果收了万五，投诉也没人理"


def _jsonl(path: Path, texts: list[str], prefix: str) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(
                json.dumps({"text": t, "source": "股吧", "url": f"https://guba.example/{prefix}/{i}"}) + "\n"
            )
    return path


def _ctx(config_file: Path):
    return build_context(load_settings(config_file))


def _desk(config_file: Path, tmp_path: Path, numbers=range(2, 7), *, drills: bool = True) -> None:
    """Posts ingested (and flagged by the analysis), desk users, and the officers' verdicts."""
    grumbles = [t.format(n=n) for n in numbers for t in GRUMBLES]
    complaints = [t.format(n=n) for n in numbers for t in COMPLAINTS]
    assert main(["ingest", "--input", str(_jsonl(tmp_path / "posts.jsonl", grumbles + complaints, "p"))]) == 0
    ctx = _ctx(config_file)
    if drills:  # a drill's alerts, handled as if real: they must never train the layer
        drill = [f"华鼎证券APP又崩了，今天第{n}次登录不上" for n in range(8)]
        posts = [
            {"text": t, "source": "股吧", "url": f"https://guba.example/d/{i}"} for i, t in enumerate(drill)
        ]
        # the drill runner's door (yuqing drill): a feed cannot mark its posts as a drill
        assert ingest(posts, ctx=ctx, drill=True).flagged == len(drill)
    try:
        with ctx.records.session() as s:
            s.add_all([User(username="wang", role="officer"), User(username="li", role="manager")])
        with ctx.records.session() as s:
            alerts = {a.snippet: a for a in list_alerts(s, drill=None, limit=1000)}
            assert all(t in alerts for t in grumbles + complaints)  # the analysis flags them all
            for t in grumbles:
                triage.mark_false_positive(s, alerts[t].id, OFFICER, REASON)
            for i, t in enumerate(complaints):
                if i % 3 == 0:
                    triage.escalate(s, alerts[t].id, OFFICER)
                elif i % 3 == 1:
                    triage.acknowledge(s, alerts[t].id, OFFICER)
                else:
                    triage.assign(s, alerts[t].id, "wang", OFFICER)
            for a in alerts.values():
                if a.drill:
                    triage.mark_false_positive(s, a.id, OFFICER, "演练")
    finally:
        ctx.close()


def _analyze(tmp_path: Path, name: str) -> dict[str, dict]:
    src = _jsonl(tmp_path / f"{name}-in.jsonl", [FRESH_GRUMBLE, FRESH_COMPLAINT], name)
    out = tmp_path / f"{name}-out.jsonl"
    assert main(["analyze", "--input", str(src), "--output", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return {r["text"]: r for r in rows}


def _trail(config_file: Path):
    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            return [(e.action, e.actor, e.detail) for e in audit_trail(s, entity="feedback_layer")]
    finally:
        ctx.close()


def test_learn_switches_on_a_layer_that_ingest_and_analyze_use_and_rollback_restores(
    config_file, records_url, tmp_path, capsys
):
    _desk(config_file, tmp_path)
    before = _analyze(tmp_path, "before")
    assert before[FRESH_GRUMBLE]["flagged"] and before[FRESH_COMPLAINT]["flagged"]
    capsys.readouterr()

    assert main(["learn", "--as", "li"]) == 0
    out = capsys.readouterr().out
    assert "裁定 / verdicts: 50（误报 25" in out  # the eight drill verdicts are not among them
    assert "现状 before" in out and "启用后 after (CV)" in out and "已启用第 1 版" in out
    ((action, actor, detail),) = _trail(config_file)
    assert (action, actor) == ("feedback.switched_on", "li")
    assert detail["verdicts"] == 50 and detail["figures"]["before"]["false_positive_rate"] == 1.0
    assert detail["figures"]["after_cv"]["recall"] >= 0.95

    after = _analyze(tmp_path, "after")
    grumble = after[FRESH_GRUMBLE]
    assert grumble["flagged"] is False and grumble["level"] is None
    assert grumble["reasons"][-1].startswith("本司反馈模型：降为不预警") and REASON in grumble["reasons"][-1]
    assert after[FRESH_COMPLAINT]["flagged"] is True

    # ingest (the path crawls take) reads the same layer: no alert for the grumble
    fresh = _jsonl(tmp_path / "fresh.jsonl", [FRESH_GRUMBLE, FRESH_COMPLAINT], "fresh")
    assert main(["ingest", "--input", str(fresh)]) == 0
    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            snippets = {a.snippet for a in list_alerts(s, limit=1000)}
    finally:
        ctx.close()
    assert FRESH_COMPLAINT in snippets and FRESH_GRUMBLE not in snippets

    capsys.readouterr()
    assert main(["learn", "--status"]) == 0
    status = capsys.readouterr().out
    assert "当前启用 / active: 第 1 版，li" in status and "未生效" not in status

    assert main(["learn", "--rollback", "--as", "li"]) == 0
    assert "第 1 版停用" in capsys.readouterr().out
    assert _trail(config_file)[-1][:2] == ("feedback.rolled_back", "li")
    again = _analyze(tmp_path, "again")
    assert again[FRESH_GRUMBLE]["flagged"] is True
    assert not any(r.startswith("本司反馈模型") for r in again[FRESH_GRUMBLE]["reasons"])
    capsys.readouterr()
    assert main(["learn", "--rollback", "--as", "li"]) == 2
    assert "无需回滚" in capsys.readouterr().err


def test_too_few_verdicts_are_refused_and_the_refusal_audited(config_file, records_url, tmp_path, capsys):
    _desk(config_file, tmp_path, numbers=range(2, 4), drills=False)  # 10 误报, 10 confirmed
    capsys.readouterr()
    assert main(["learn", "--as", "li"]) == 1
    out = capsys.readouterr().out
    assert (
        "未启用 / not switched on: 裁定不足：至少需要 30 条" in out
        and "现有 20 条（误报 10，确认/升级 10）" in out
    )
    ((action, actor, detail),) = _trail(config_file)
    assert (action, actor) == ("feedback.refused", "li") and "裁定不足" in detail["reason"]
    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            assert feedback_layers.versions(s) == []
    finally:
        ctx.close()


def test_a_dry_run_writes_nothing_and_an_officer_may_not_learn(config_file, tmp_path, capsys):
    _desk(config_file, tmp_path, drills=False)
    capsys.readouterr()
    assert main(["learn", "--dry-run", "--as", "li"]) == 0
    assert "试运行" in capsys.readouterr().out
    assert _trail(config_file) == []
    assert main(["learn", "--as", "wang"]) == 2
    assert "无权" in capsys.readouterr().err
    assert main(["learn", "--as", "nobody"]) == 2
    assert "不存在" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--protect-levels", "V"], ["--min-kept", "1.5"], ["--min-each", "1"]])
def test_bad_options_are_refused(config_file, tmp_path, capsys, args):
    _desk(config_file, tmp_path, numbers=range(2, 3), drills=False)
    capsys.readouterr()
    assert main(["learn", "--as", "li", *args]) == 2
    assert capsys.readouterr().err
