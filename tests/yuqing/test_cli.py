"""The command line as people use it: init, analyze, ingest, export."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from yuqing.cli import main
from yuqing.config import ConfigError, load_settings

ANALYSIS_FIELDS = {
    "sentiment",
    "targets",
    "negative_targets",
    "falsity",
    "topic",
    "level",
    "flagged",
    "reasons",
}

POSTS = [
    {
        "id": "a",
        "text": "华鼎证券的APP又无法登录了，交易日早上根本登不上，投诉无门！",
        "reposts": 3000,
        "source": "微博",
    },
    {"id": "b", "text": "网传华鼎证券总经理李静被带走调查，速转！", "source": "微博"},
    {"id": "c", "text": "今天天气不错，出去走走"},
    {"id": "d", "text": "华鼎银行信用卡乱收费，太坑了", "source": "微博"},
]


def write_jsonl(path, rows, extra_lines=()):
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        for line in extra_lines:
            fh.write(line + "\n")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_init_writes_a_commented_config_and_creates_the_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    assert main(["init"]) == 0
    text = (tmp_path / "yuqing.toml").read_text(encoding="utf-8")
    assert "被监测的公司" in text and "the watched firm" in text
    settings = load_settings(tmp_path / "yuqing.toml")
    assert settings.firm.short_names[0] == "华鼎证券"
    assert (tmp_path / "yuqing.db").exists()
    assert main(["init"]) == 2  # refuses to overwrite


def test_init_writes_a_configuration_for_ones_own_firm(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    args = ["init", "--firm", "东方明珠证券股份有限公司", "--short", "东方明珠证券", "--short", "明珠证券",
            "--code", "601888", "--exclude", "明珠银行"]  # fmt: skip
    assert main(args) == 0
    firm = load_settings(tmp_path / "yuqing.toml").firm
    assert firm.name == "东方明珠证券股份有限公司" and firm.short_names == ["东方明珠证券", "明珠证券"]
    assert firm.stock_codes == ["601888"] and firm.exclude == ["明珠银行"]
    assert firm.executives == [] and firm.products == []  # nothing of the example firm is left behind
    text = (tmp_path / "yuqing.toml").read_text(encoding="utf-8")
    assert "609999" not in text and '"华鼎证券"' not in text  # the commented source examples follow too
    # a bad code or a missing short name: refused, nothing written
    (tmp_path / "yuqing.toml").unlink()
    assert main(["init", "--firm", "某证券", "--short", "某证券", "--code", "60188"]) == 2
    assert main(["init", "--firm", "某证券"]) == 2
    assert not (tmp_path / "yuqing.toml").exists()


def test_init_splits_names_typed_in_one_flag(tmp_path, monkeypatch):
    # "--short 泰和证券,泰和" is two short names, as a person typing it means, not one name with a comma
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    assert (
        main(
            [
                "init",
                "--firm",
                "泰和证券股份有限公司",
                "--short",
                "泰和证券,泰和",
                "--exclude",
                "泰和银行、泰和集团",
            ]
        )
        == 0
    )
    firm = load_settings(tmp_path / "yuqing.toml").firm
    assert firm.short_names == ["泰和证券", "泰和"] and firm.exclude == ["泰和银行", "泰和集团"]


def test_environment_overrides_the_file(config_file, monkeypatch, tmp_path):
    monkeypatch.setenv("YUQING_STORE__PATH", str(tmp_path / "elsewhere.db"))
    monkeypatch.setenv("YUQING_RISK__REACH_HIGH", "123")
    s = load_settings()
    assert s.store.path == tmp_path / "elsewhere.db"
    assert s.risk.reach_high == 123


def test_a_broken_config_names_the_file(tmp_path):
    bad = tmp_path / "yuqing.toml"
    bad.write_text("[firm]\nnmae = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="yuqing.toml"):
        load_settings(bad)


def test_analyze_adds_exactly_the_analysis_fields(config_file, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", POSTS)
    out = tmp_path / "out.jsonl"
    assert main(["analyze", "--input", str(src), "--output", str(out)]) == 0
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]
    for src_row, row in zip(POSTS, rows, strict=True):
        assert set(row) == set(src_row) | ANALYSIS_FIELDS
        assert row["sentiment"]["label"] in ("negative", "neutral", "positive")
        assert set(row["sentiment"]["scores"]) == {"negative", "neutral", "positive"}
        assert row["falsity"]["label"] in ("rumor", "none")
        assert row["level"] in ("I", "II", "III", "IV", None)
        assert all(isinstance(r, str) and r for r in row["reasons"])
    outage, rumor, weather, bank = rows
    assert (
        outage["flagged"] and outage["negative_targets"] == ["华鼎证券"] and outage["topic"] == "交易系统故障"
    )
    assert rumor["flagged"] and rumor["falsity"]["label"] == "rumor" and rumor["topic"] == "不实信息"
    assert any("网传" in r for r in rumor["reasons"])
    assert not weather["flagged"] and weather["level"] is None
    assert bank["targets"] == [] and not bank["flagged"]  # the look-alike bank is not us


def test_analyze_per_line_watch_list_replaces_the_configured_one(config_file, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "中信证券APP无法登录，投诉！", "watch": ["中信证券"]}])
    out = tmp_path / "out.jsonl"
    main(["analyze", "--input", str(src), "--output", str(out)])
    (row,) = read_jsonl(out)
    assert row["targets"] == ["中信证券"] and row["flagged"]


def test_analyze_runs_without_a_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [{"text": "中信证券被证监局出具警示函", "watch": ["中信证券"]}, {"text": "中信证券被罚"}],
    )
    out = tmp_path / "out.jsonl"
    assert main(["analyze", "--input", str(src), "--output", str(out)]) == 0
    first, second = read_jsonl(out)
    assert first["targets"] == ["中信证券"] and first["flagged"]
    assert second["targets"] == [] and not second["flagged"]


def test_analyze_reports_bad_lines_and_keeps_the_good_ones(config_file, tmp_path, capsys):
    src = write_jsonl(
        tmp_path / "in.jsonl", POSTS[:1], extra_lines=["{not json", '{"id": "no-text"}', "[1, 2]"]
    )
    (tmp_path / "in.jsonl").open("ab").write('{"text": "华鼎证券 GBK 编码的一行"}\n'.encode("gbk"))
    out = tmp_path / "out.jsonl"
    assert main(["analyze", "--input", str(src), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "第 2 行" in err and "第 3 行" in err and "第 4 行" in err
    rows = read_jsonl(out)
    assert [r.get("id") for r in rows] == ["a", None]
    assert rows[1]["text"] == "华鼎证券 GBK 编码的一行"


def test_analyze_handles_empty_and_enormous_posts(config_file, tmp_path):
    huge = "华鼎证券无法登录，" * 120_000  # ~1 MB
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [{"text": ""}, {"text": huge}, {"text": "<script>alert(1)</script> **华鼎证券** 跑路"}],
    )
    out = tmp_path / "out.jsonl"
    assert main(["analyze", "--input", str(src), "--output", str(out)]) == 0
    empty, big, hostile = read_jsonl(out)
    assert not empty["flagged"]
    assert big["flagged"] and len(big["text"]) == len(huge)
    assert hostile["targets"] == ["华鼎证券"]


def test_ingest_stores_flags_and_is_idempotent(config_file, tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", POSTS, extra_lines=["oops"])
    assert main(["ingest", "--input", str(src)]) == 1  # one bad line, reported
    first = capsys.readouterr()
    assert "新增 4" in first.out and "第 5 行" in first.err
    assert main(["ingest", "--input", str(src)]) == 1
    assert "未变 4" in capsys.readouterr().out

    from store.records import list_alerts
    from yuqing.context import build_context

    ctx = build_context(load_settings())
    try:
        assert ctx.index.count() == 4
        queue = ctx.index.search(flagged=True).items
        assert {p.text[:4] for p in queue} == {"华鼎证券", "网传华鼎"}
        with ctx.records.session() as s:
            alerts = list_alerts(s)
        assert len(alerts) == 2
        by_topic = {a.topic: a for a in alerts}
        assert by_topic["交易系统故障"].playbook_id == "trading-system-outage"
        assert by_topic["不实信息"].playbook_id == "false-information"
        assert ctx.index.search("登录").total == 1
    finally:
        ctx.close()


def test_ingest_freezes_start_up_while_it_ingests_and_hands_it_back(config_file, tmp_path, monkeypatch):
    """`yuqing ingest` moves start-up's objects (the model, the dictionaries) out of the garbage
    collector's way for its batches (yuqing.ingest.settled_start_up), and hands them back afterwards."""
    import gc

    import yuqing.ingest

    frozen = []
    real = yuqing.ingest.ingest_in_batches

    def counting(*args, **kwargs):
        frozen.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(yuqing.ingest, "ingest_in_batches", counting)
    assert main(["ingest", "--input", str(write_jsonl(tmp_path / "in.jsonl", POSTS))]) == 0
    assert frozen and frozen[0] > 10_000  # the analyzer's model and jieba's dictionary among them
    assert gc.get_freeze_count() == 0


def test_export_dumps_what_was_stored(config_file, tmp_path):
    main(["ingest", "--input", str(write_jsonl(tmp_path / "in.jsonl", POSTS))])
    out = tmp_path / "export.jsonl"
    assert main(["export", "--output", str(out)]) == 0
    rows = read_jsonl(out)
    assert len(rows) == 4 and all(set(r) >= ANALYSIS_FIELDS for r in rows)


def test_console_script_is_installed():
    res = subprocess.run(
        [sys.executable, "-m", "yuqing.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("init", "demo", "crawl", "ingest", "analyze", "desk", "export"):
        assert command in res.stdout


def test_sources_show_their_display_names():
    from yuqing.config import settings_from_dict

    s = settings_from_dict(
        {
            "firm": {"name": "华鼎证券股份有限公司"},
            "sources": [
                {
                    "name": "zqgcb",
                    "family": "rss",
                    "url": "http://x/f.xml",
                    "options": {"display_name": "证券观察报"},
                },
                {"name": "weibo-a", "family": "weibo", "url": "http://x"},
            ],
        }
    )
    assert [s.source_label(n) for n in ("zqgcb", "weibo-a", "vendor-feed")] == [
        "证券观察报",
        "weibo-a",
        "vendor-feed",
    ]
