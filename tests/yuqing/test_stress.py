"""`yuqing stress`: the busiest hour is found, replayed faster into a scratch store, and production is untouched.

Timings are printed by the command, never asserted as a speed: only that the run finishes, what it
counted, and the verdict for a generous bound (and a bound no pipeline can meet).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from sqlalchemy import func, select

from store.arrivals import arrival_hours
from store.models import Alert, Notification, PostRecord
from store.posts_sqlite import SqlitePostIndex
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context
from yuqing.ingest import IngestReport, store_batch
from yuqing.stress import parse_hour, peak_from_store

NOTIFY_TOML = """
[notify]
announce_levels = ["I", "II"]

[[notify.channels]]
name = "值班群"
kind = "wecom"
webhook_secret = "wecom_duty"
"""

NEUTRAL = "华鼎证券今日发布公告，第三季度经营情况平稳，营业部正常营业。"
NEGATIVE = "华鼎证券APP全面瘫痪，客户无法登录无法交易，投诉无门，损失惨重，华鼎证券至今没有任何回应！"


def _post(n: int, seen: str, *, text: str = NEUTRAL, **extra) -> dict:
    post = {
        "title": f"华鼎证券动态 {n}",
        "text": f"{text}（编号 {n}）",
        "source": "微博",
        "url": f"https://weibo.example/status/{n}",
        "first_seen_at": seen,
        "published_at": seen,
    }
    return {**post, **extra}


# hour 01 UTC (09 Beijing): 2 posts; hour 02 UTC: 5 posts + 1 written in Beijing time; hour 03 UTC: 3;
# hour 05 UTC: 8 drill posts (more than any other hour, but drills never count)
HOUR_01 = [_post(i, f"2026-10-01T01:{10 + i:02d}:00+00:00") for i in range(2)]
HOUR_02 = [
    _post(10, "2026-10-01T02:00:05+00:00"),
    _post(
        11, "2026-10-01T02:00:05+00:00", text=NEGATIVE, reposts=30000, comments=8000, user_followers=2_000_000
    ),
    _post(12, "2026-10-01T02:00:06+00:00"),
    _post(13, "2026-10-01T02:00:07+00:00"),
    _post(14, "2026-10-01T02:00:08+00:00", text=NEGATIVE),
    _post(15, "2026-10-01T10:00:08+08:00"),  # Beijing time: 02:00:08 UTC, the same hour
]
HOUR_03 = [_post(20 + i, f"2026-10-01T03:{i:02d}:30") for i in range(3)]  # naive: UTC
DRILLS = [_post(40 + i, "2026-10-01T05:30:00+00:00") for i in range(8)]


def _write(path: Path, posts: list[dict]) -> Path:
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    return path


def _history(config: Path, posts: list[dict], *, drill: bool = False) -> None:
    """Posts stored as if they had arrived at their ``first_seen_at`` (a feed cannot set it: ingest stamps
    it), through ingest's storing step with their analysis; drills as the drill runner marks them."""
    ctx = build_context(load_settings(config))
    try:
        analyses = ctx.analyzer.analyze(posts)
        records = [
            PostRecord.from_post({**p, **a}, drill=drill) for p, a in zip(posts, analyses, strict=True)
        ]
        outcome = store_batch(records, ctx=ctx, report=IngestReport())
        assert not (outcome.waiting or outcome.refused)
    finally:
        ctx.close()


def _fill(config: Path, tmp_path: Path) -> None:
    _history(config, HOUR_01 + HOUR_02 + HOUR_03)
    _history(config, DRILLS, drill=True)


def _production(config: Path) -> dict:
    """What a person would see of production: posts, alerts, outbox rows, and any replayed post."""
    ctx = build_context(load_settings(config))
    try:
        urls = [p.url for p in ctx.index.iter_all()]
        with ctx.records.session() as s:
            return {
                "posts": ctx.index.count(),
                "alerts": s.scalar(select(func.count()).select_from(Alert)),
                "outbox": s.scalars(select(Notification.status).order_by(Notification.id)).all(),
                "replayed": [u for u in urls if "stress.invalid" in u],
            }
    finally:
        ctx.close()


def test_the_busiest_hour_is_the_one_with_most_arrivals_in_utc_drills_left_out(config_file, tmp_path):
    _fill(config_file, tmp_path)
    settings = load_settings(config_file)
    index = SqlitePostIndex(settings.store.path, None, columnar=False)
    try:
        assert arrival_hours(index) == {"2026-10-01T01": 2, "2026-10-01T02": 6, "2026-10-01T03": 3}
        assert arrival_hours(index, drill=True) == {"2026-10-01T05": 8}
        peak = peak_from_store(index)
        assert (peak.hour, peak.count) == ("2026-10-01T02", 6)
        assert [dt.isoformat() for dt, _ in peak.arrivals][:3] == [
            "2026-10-01T02:00:05+00:00",
            "2026-10-01T02:00:05+00:00",
            "2026-10-01T02:00:06+00:00",
        ]
        # --hour is Beijing time, as the desk shows it: 09:00 Beijing is 01:00 UTC
        assert peak_from_store(index, parse_hour("2026-10-01T09")).count == 2
    finally:
        index.close()


def test_replay_at_three_times_keeps_up_and_production_is_untouched(
    config_file, tmp_path, capsys, monkeypatch
):
    config_file.write_text(config_file.read_text(encoding="utf-8") + NOTIFY_TOML, encoding="utf-8")
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_parent))  # where the scratch store is made
    _fill(config_file, tmp_path)
    before = _production(config_file)
    assert before["outbox"] == ["pending"]  # the serious post was announced when it came in for real
    capsys.readouterr()

    code = main(["stress", "--factor", "3", "--duration-limit", "30", "--latency-bound", "120", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["kept_up"] is True
    assert out["hour"] == "2026-10-01T02" and out["hour_posts"] == 6
    assert out["offered"] == 6 and out["ingested"] == 6
    assert out["backlog_end"] == 0
    assert out["throughput"] > 0 and out["capacity"] > 0
    assert out["schedule_s"] == 1.0  # 02:00:05 … 02:00:08 is three seconds; at 3× it takes one
    assert out["flagged"] >= 1 and out["announced"] >= 1  # the serious post went through announcing again
    assert 0 < out["latency_p50_s"] <= out["latency_p95_s"] <= out["latency_max_s"]
    assert out["peak_rss_mib"] > 0

    assert [p for p in scratch_parent.iterdir() if p.name.startswith("yuqing-stress-")] == []  # scratch gone
    after = _production(config_file)
    assert after == before  # same posts, same alerts, no new outbox rows, no replayed post in production
    assert after["replayed"] == []


def test_the_human_readout_gives_the_figures_and_the_verdict_in_chinese(config_file, tmp_path, capsys):
    _fill(config_file, tmp_path)
    capsys.readouterr()
    assert main(["stress", "--duration-limit", "30"]) == 0
    text = capsys.readouterr().out
    assert "2026-10-01 10:00–11:00 北京时间" in text
    assert "条/秒" in text and "p95" in text and "峰值内存" in text
    assert "结论 / verdict：跟上了 KEPT UP" in text


def test_a_bound_no_pipeline_can_meet_is_reported_as_not_kept_up(config_file, tmp_path, capsys):
    _fill(config_file, tmp_path)
    capsys.readouterr()
    assert main(["stress", "--duration-limit", "30", "--latency-bound", "0.000001"]) == 1
    text = capsys.readouterr().out
    assert "没跟上 DID NOT KEEP UP" in text and "p95 延迟" in text


def test_a_file_is_replayed_without_a_store(config_file, tmp_path, capsys):
    posts = [{k: v for k, v in p.items() if k != "first_seen_at"} for p in HOUR_01 + HOUR_02]
    src = _write(tmp_path / "peak.jsonl", [*posts, {"text": "没有时间的帖子"}, "not an object"])
    settings = load_settings(config_file)
    assert main(["stress", "--input", str(src), "--duration-limit", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["origin"] == str(src) and out["by"] == "published_at"
    assert (out["hour"], out["offered"], out["ingested"], out["backlog_end"]) == ("2026-10-01T02", 6, 6, 0)
    assert any("2 行" in n for n in out["notes"])  # the two lines without an arrival time are named
    assert not Path(settings.store.path).exists()  # no production store was made


def test_an_empty_store_says_so_in_chinese_and_exits_2(config_file, tmp_path, capsys):
    settings = load_settings(config_file)
    assert main(["stress"]) == 2
    err = capsys.readouterr().err
    assert "没有可重放的帖子" in err
    assert not Path(settings.store.path).exists()  # nothing made

    # a store that holds only drill posts is empty for this purpose
    _history(config_file, DRILLS, drill=True)
    capsys.readouterr()
    assert main(["stress"]) == 2
    captured = capsys.readouterr()
    assert "存储中没有可重放的帖子" in captured.err and captured.out == ""


def test_the_benchmark_prints_the_figures_of_a_small_synthetic_peak(tmp_path, capsys):
    code = main(
        ["bench", "stress", "--posts", "40", "--minutes", "0.1", "--duration-limit", "10",
         "--workdir", str(tmp_path / "bench")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "busy hour 2026-10-01T01 UTC with 40 posts" in out
    assert "40 条" in out and "结论 / verdict" in out
    assert (tmp_path / "bench" / "yuqing.db").exists()  # --workdir keeps the store for another run


def test_copy_store_replays_into_a_copy_of_production_and_leaves_production_alone(
    config_file, tmp_path, capsys
):
    config_file.write_text(config_file.read_text(encoding="utf-8") + NOTIFY_TOML, encoding="utf-8")
    _fill(config_file, tmp_path)
    before = _production(config_file)
    capsys.readouterr()
    assert main(["stress", "--copy-store", "--duration-limit", "30", "--latency-bound", "120", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["offered"], out["ingested"], out["backlog_end"]) == (6, 6, 0)
    assert any("副本" in n for n in out["notes"])
    assert _production(config_file) == before  # the pending announcement in production is still pending


def test_copy_store_needs_an_embedded_store(config_file, tmp_path, capsys):
    src = _write(tmp_path / "peak.jsonl", HOUR_02)
    assert main(["stress", "--copy-store", "--input", str(src)]) == 2
    assert "不存在" in capsys.readouterr().err
