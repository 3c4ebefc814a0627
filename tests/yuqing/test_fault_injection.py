"""Fault injection for issue 15, probes 1–4: each probe reproduced, and what a person sees now.

1. ``yuqing ingest`` killed (a real child process, SIGKILL) between the posts' commit and the alerts'; an
   Elasticsearch bulk answer with 503 and 400 items (tests/store/es_wire.py answers like Elasticsearch);
2. hostile lines (100,000 ``[``, a lone surrogate, ``Infinity``, ``1e308``, 400 digits, ``12345`` as a
   date, an object for the author, a line past the size limit) in ``ingest`` and ``analyze``;
3. a value the store cannot bind, a poisoned and a corrupt spool batch: never an outage, never blocking;
4. ``drill`` and ``first_seen_at`` from a feed, ``ingest --drill``.

Records on SQLite (the one embedded file: posts and alerts in one transaction; and a second file: two
commits) and on the local PostgreSQL when YUQING_TEST_PG_URL is set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.models import Alert, AuditEntry, PostRecord
from tests.migrated import pg_schema
from tests.store import es_wire
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context
from yuqing.ingest import ingest, one_transaction, sweep_alerts
from yuqing.schedule import Scheduler

REPO = Path(__file__).resolve().parents[2]
PG = os.environ.get("YUQING_TEST_PG_URL")
LAYOUTS = ["one-file", "two-files"] + (["postgresql"] if PG else [])
FLAGGED_TEXT = "华鼎证券APP又无法登录了，交易系统崩溃，客户投诉无门"
SERIOUS = {
    "title": "华鼎证券APP全面瘫痪 客户无法交易",
    "text": "今天开盘后华鼎证券APP无法登录，委托全部失败，大量客户投诉，损失惨重，华鼎证券至今没有任何回应！",
    "source": "微博",
    "reposts": 30000,
    "comments": 8000,
    "user_followers": 2000000,
    "user_verified": True,
}


def feed(tag: str, n: int = 30, every: int = 3) -> list[dict]:
    """n posts, one in ``every`` an outage complaint (flagged), the rest neutral news."""
    return [
        {"url": f"https://weibo.example/{tag}/{i}", "source": "微博", "text": f"{FLAGGED_TEXT} {tag} {i}"}
        if i % every == 0
        else {
            "url": f"https://news.example/{tag}/{i}",
            "source": "新闻",
            "text": f"华鼎证券发布公告 第{i}号 {tag}",
        }
        for i in range(n)
    ]


def write_lines(path: Path, rows: list[dict | str | bytes]) -> Path:
    with path.open("wb") as fh:
        for row in rows:
            if isinstance(row, dict):
                row = json.dumps(row, ensure_ascii=False)
            fh.write((row if isinstance(row, bytes) else row.encode("utf-8")) + b"\n")
    return path


def _set_store(config: Path, **values: str) -> None:
    body = config.read_text(encoding="utf-8")
    lines = "".join(f'{k} = "{v}"\n' for k, v in values.items())
    config.write_text(body.replace("[store]\n", f"[store]\n{lines}"), encoding="utf-8")


@contextmanager
def records_in(kind: str, config: Path, tmp_path: Path) -> Iterator[str]:
    """Put the records in the posts' own SQLite file ("one-file"), a second SQLite file ("two-files") or a
    PostgreSQL schema of their own ("postgresql", dropped afterwards)."""
    if kind == "two-files":
        _set_store(config, records_url=f"sqlite:///{tmp_path / 'records.db'}")
    if kind != "postgresql":
        yield kind
        return
    with pg_schema(PG) as schema:  # a schema of its own (tests/migrated.py: new, or an emptied one)
        _set_store(config, records_url=f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{schema}")
        yield kind


@pytest.fixture(params=LAYOUTS)
def layout(request, config_file: Path, tmp_path: Path) -> Iterator[str]:
    """Where the records live: the posts' own SQLite file, a second SQLite file, or PostgreSQL."""
    with records_in(request.param, config_file, tmp_path) as kind:
        yield kind


def state(config: Path) -> dict:
    """What a person would see: posts, flagged posts, alerts, flagged posts without an alert, audit rows."""
    ctx = build_context(load_settings(config))
    try:
        flagged = {p.id for p in ctx.index.iter_all() if p.flagged}
        with ctx.records.session() as s:
            alerts = set(s.scalars(select(Alert.post_id)))
            opened = s.scalar(select(func.count()).where(AuditEntry.action == "alert.opened"))
        return {
            "posts": ctx.index.count(),
            "flagged": len(flagged),
            "alerts": len(alerts),
            "missing": len(flagged - alerts),
            "opened_audited": opened,
        }
    finally:
        ctx.close()


# --------------------------------------------------------------------------- probe 1: killed mid-ingest

KILL_AFTER_POSTS = """
import os, signal, sys
from {module} import {cls} as Index

_write = Index.write_many

def write_then_die(self, *args, **kwargs):  # the posts are written; die before anything else happens
    out = _write(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return out

Index.write_many = write_then_die
from yuqing.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_killed(config: Path, *args: str, engine: str = "sqlite") -> subprocess.CompletedProcess:
    """`yuqing …` in a child process that SIGKILLs itself once the posts index has written a batch (in the
    one-file layout: inside the transaction, before the alerts and the commit). Test code only: the
    child patches the index class; production code has no failure point."""
    module, cls = (
        ("store.posts_es", "EsPostIndex") if engine == "es" else ("store.posts_sqlite", "SqlitePostIndex")
    )
    script = KILL_AFTER_POSTS.format(module=module, cls=cls)
    env = {**os.environ, "YUQING_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_killed_between_posts_and_alerts_every_flagged_post_gets_its_alert(
    layout, config_file, tmp_path, capsys
):
    src = write_lines(tmp_path / "feed.jsonl", feed("k", 30))
    died = run_killed(config_file, "ingest", "--input", str(src))
    assert died.returncode == -signal.SIGKILL, died.stderr

    after = state(config_file)
    if layout == "one-file":  # posts and alerts are one transaction: nothing half-done
        assert after["posts"] == 0 and after["alerts"] == 0
    else:  # two commits: the posts are stored, their alerts are not (the probe as reported)
        assert after["posts"] == 30 and after["flagged"] == 10 and after["alerts"] == 0

    assert main(["ingest", "--input", str(src)]) == 0  # the same file again
    out = capsys.readouterr().out
    fixed = state(config_file)
    assert fixed["flagged"] == 10 and fixed["alerts"] == 10 and fixed["missing"] == 0
    assert fixed["opened_audited"] == 10
    if layout != "one-file":
        assert "未变 30" in out and "补开此前缺失的预警 10 条" in out

    assert main(["ingest", "--input", str(src)]) == 0  # and again: nothing new, nothing twice
    assert "新开 0" in capsys.readouterr().out
    assert state(config_file)["alerts"] == 10


def test_the_sweep_opens_what_a_killed_ingest_left_without_its_alert(layout, config_file, tmp_path, capsys):
    src = write_lines(tmp_path / "feed.jsonl", feed("s", 30))
    assert run_killed(config_file, "ingest", "--input", str(src)).returncode == -signal.SIGKILL
    missing = state(config_file)["missing"]
    assert missing == (0 if layout == "one-file" else 10)

    assert main(["sweep"]) == 0
    assert f"缺少预警 {missing} 条，已补开 {missing} 条" in capsys.readouterr().out
    assert state(config_file)["missing"] == 0
    assert main(["sweep"]) == 0  # idempotent
    assert "已补开 0 条" in capsys.readouterr().out
    assert state(config_file)["opened_audited"] == state(config_file)["alerts"]


def test_yuqing_schedule_sweeps_periodically(config_file, tmp_path):
    _set_store(config_file, records_url=f"sqlite:///{tmp_path / 'records.db'}")  # two commits
    src = write_lines(tmp_path / "feed.jsonl", feed("p", 12))
    assert run_killed(config_file, "ingest", "--input", str(src)).returncode == -signal.SIGKILL
    assert state(config_file)["missing"] == 4

    class Clock:
        t = 0.0

        def __call__(self) -> float:
            return self.t

    clock = Clock()
    ctx = build_context(load_settings(config_file))
    try:
        scheduler = Scheduler(ctx, clock=clock, sleep=lambda s: None)
        scheduler.run(once=True)  # no sources: still sweeps once, at the start
        assert [r.opened for r in scheduler.sweeps] == [4]
        assert scheduler.maybe_sweep() is None  # not due yet
        clock.t = ctx.settings.schedule.sweep_minutes * 60
        again = scheduler.maybe_sweep()
        assert again is not None and again.opened == 0
    finally:
        ctx.close()
    assert state(config_file)["missing"] == 0


def test_one_transaction_only_where_posts_and_records_are_one_file(layout, config_file):
    ctx = build_context(load_settings(config_file))
    try:
        assert one_transaction(ctx) is (layout == "one-file")
    finally:
        ctx.close()


# --------------------------------------------------------------------------- probe 1: Elasticsearch bulk

UNAVAILABLE = {
    "type": "unavailable_shards_exception",
    "reason": "[yuqing-posts-v1][0] primary shard is not active Timeout: [1m]",
}
MAPPING = {"type": "document_parsing_exception", "reason": "[1:15] failed to parse field [likes]"}


@pytest.fixture(params=[k for k in LAYOUTS if k != "one-file"])
def elastic(request, config_file, tmp_path) -> Iterator[es_wire.EsWire]:
    """Posts in a local server that answers like Elasticsearch; records in SQLite or PostgreSQL."""
    wire, server = es_wire.start()
    wire.answer_searches = True
    _set_store(config_file, posts_engine="elasticsearch", elasticsearch_url=wire.url)
    try:
        with records_in(request.param, config_file, tmp_path):
            yield wire
    finally:
        server.shutdown()
        server.server_close()


def test_elasticsearch_503_items_are_spooled_400_items_set_aside_the_rest_get_their_alerts(
    elastic, config_file, tmp_path, capsys
):
    posts = feed("es", 50, every=2)  # 25 flagged
    down = {posts[i]["url"] for i in (0, 1)}  # 2 of 50 on a shard that is not active (4 %)
    refused = posts[4]["url"]  # one the mapping refuses
    elastic.fail_item = lambda doc: (
        (503, UNAVAILABLE) if doc["url"] in down else (400, MAPPING) if doc["url"] == refused else None
    )
    src = write_lines(tmp_path / "feed.jsonl", posts)
    assert main(["ingest", "--input", str(src)]) == 1  # one post rejected, reported with its reason
    captured = capsys.readouterr()
    assert "已暂存 2 条" in captured.out and "document_parsing_exception" in captured.err
    assert len(elastic.docs) == 47
    ctx = build_context(load_settings(config_file))
    try:
        with ctx.records.session() as s:  # the 47 accepted posts' 23 flagged ones have their alerts
            assert s.scalar(select(func.count()).select_from(Alert)) == 23
        assert len(ctx.spool) == 1 and len(ctx.spool.rejected()) == 1
    finally:
        ctx.close()

    # seen and explained
    assert main(["spool", "status"]) == 1
    status = capsys.readouterr().out
    assert "unavailable_shards_exception" in status and "document_parsing_exception" in status
    assert "yuqing spool replay --rejected" in status

    still = posts[1]["url"]  # one of the two is on a shard that is still down: that one stays in line
    elastic.fail_item = lambda doc: (503, UNAVAILABLE) if doc["url"] == still else None
    assert main(["spool", "replay"]) == 1
    assert "已补写 1 条" in capsys.readouterr().out
    ctx = build_context(load_settings(config_file))
    try:
        (left,) = ctx.spool.batches()
        assert [p.url for p in left.posts] == [still] and "unavailable_shards_exception" in left.reason
    finally:
        ctx.close()

    elastic.fail_item = None  # the shard is back and the mapping fixed
    assert main(["spool", "replay"]) == 0
    assert "已补写 1 条" in capsys.readouterr().out
    assert main(["spool", "replay", "--rejected"]) == 0
    assert len(elastic.docs) == 50
    after = state(config_file)
    assert after["alerts"] == 25 and after["missing"] == 0
    assert main(["spool", "status"]) == 0


def test_elasticsearch_sweep_finds_flagged_posts_without_alerts(elastic, config_file, tmp_path, capsys):
    src = write_lines(tmp_path / "feed.jsonl", feed("esk", 12))
    died = run_killed(config_file, "ingest", "--input", str(src), engine="es")
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert state(config_file)["missing"] == 4
    assert main(["sweep"]) == 0
    assert "已补开 4 条" in capsys.readouterr().out
    assert state(config_file)["missing"] == 0


# --------------------------------------------------------------------------- probes 2–4: hostile lines

DEEP = "[" * 100_000


def hostile_lines() -> list[tuple[str, dict | str | bytes, str | None]]:
    """(name, line, expected reason fragment or None when the line is kept)."""
    t = "华鼎证券APP无法登录，交易系统崩溃，投诉无门"
    return [
        ("deep", DEEP, "嵌套过深"),
        ("surrogate", '{"url": "https://x.example/sur", "text": "' + t + '\\ud800"}', None),
        ("infinity", '{"url": "https://x.example/inf", "text": "' + t + '", "likes": Infinity}', "Infinity"),
        ("date-number", {"url": "https://x.example/date", "text": t, "published_at": 12345}, None),
        ("huge-float", '{"url": "https://x.example/f", "text": "' + t + '", "reposts": 1e308}', None),
        (
            "400-digits",
            '{"url": "https://x.example/d", "text": "' + t + '", "reposts": ' + "9" * 400 + "}",
            None,
        ),
        (
            "5000-digits",
            '{"url": "https://x.example/e", "text": "x", "reposts": ' + "9" * 5000 + "}",
            "数值无法读取",
        ),
        (
            "author-object",
            {"url": "https://x.example/a", "text": t, "author": {"name": "x"}},
            "author 应为字符串",
        ),
        ("too-long", '{"text": "' + "长" * (3 * 1024 * 1024) + '"}', "行过长"),
        ("gbk", '{"url": "https://x.example/gbk", "text": "华鼎证券 GBK 编码的一行"}'.encode("gbk"), None),
        ("array", "[1, 2]", "不是 JSON 对象"),
    ]


def test_hostile_lines_are_rejected_with_their_line_number_and_never_stop_the_others(
    layout, config_file, tmp_path, capsys
):
    good = feed("good", 6)
    rows: list = [good[0]]
    expected_bad = {}
    for _name, line, reason in hostile_lines():
        rows.append(line)
        if reason:
            expected_bad[len(rows)] = reason
    rows += good[1:]
    src = write_lines(tmp_path / "hostile.jsonl", rows)

    assert main(["ingest", "--input", str(src)]) == 1  # some lines rejected; not a crash (2)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    for n, reason in expected_bad.items():
        assert f"第 {n} 行：" in captured.err and reason in captured.err
    assert f"拒收 {len(expected_bad)} 条" in captured.out
    assert "修正 第 3 行：text：无效的 Unicode 代理字符已替换为 �" in captured.err
    assert "published_at：数值 12345 不是合理的 Unix 时间" in captured.err
    assert "reposts：数值 1e+308 超出范围，按 1000000000000 计" in captured.err
    assert "reposts：400 位的数值超出范围" in captured.err

    kept = 6 + sum(1 for *_, reason in hostile_lines() if reason is None)
    ctx = build_context(load_settings(config_file))
    try:
        assert ctx.index.count() == kept
        by_url = {p.url: p for p in ctx.index.iter_all()}
        assert by_url["https://x.example/sur"].text.endswith("�")
        assert by_url["https://x.example/date"].published_at == ""
        assert by_url["https://x.example/f"].reposts == 10**12
        assert len(ctx.spool) == 0  # nothing taken for an outage
    finally:
        ctx.close()
    assert state(config_file)["missing"] == 0

    out = tmp_path / "out.jsonl"  # analyze reads the same file, the same way
    assert main(["analyze", "--input", str(src), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for n in expected_bad:
        assert f"第 {n} 行跳过" in err
    rows_out = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows_out) == kept
    assert any(r["text"].endswith("�") for r in rows_out)


def test_a_value_the_store_cannot_bind_is_set_aside_never_taken_for_an_outage(layout, config_file, capsys):
    """Probe 3 under the schema: a post that reaches the store with an object for a string (as a caller
    that skips the check could hand in) is refused with its reason; the rest and later ingests go on."""
    ctx = build_context(load_settings(config_file))
    try:
        posts = [{**p, "author": "x"} for p in feed("bind", 6)]
        posts[1]["author"] = {"name": "x"}
        report = ingest(posts, ctx=ctx, checked=True)
        assert report.spooled == 0 and report.set_aside == 1 and report.stored_new == 5
        assert any("author 类型错误" in r for r in report.rejected)
        assert len(ctx.spool) == 0 and len(ctx.spool.rejected()) == 1
        clean = ingest(feed("after", 200, every=50), ctx=ctx)  # a clean file afterwards: all stored
        assert (clean.stored_new, clean.spooled) == (200, 0)
    finally:
        ctx.close()
    assert state(config_file)["missing"] == 0


def test_a_poisoned_or_corrupt_spool_batch_is_set_aside_and_blocks_nothing(
    layout, config_file, tmp_path, capsys
):
    ctx = build_context(load_settings(config_file))
    try:
        poisoned = [
            PostRecord.from_post({**p, **{"flagged": True, "level": "III"}}) for p in feed("poison", 4)
        ]
        poisoned[2].reposts = 10**30  # beyond SQLite's 64-bit integers
        ctx.spool.put(poisoned, stage="posts", drill=False, reason="test: store was down")
        corrupt = ctx.spool.put(poisoned[:1], stage="posts", drill=False, reason="test")
        corrupt.write_text(corrupt.read_text(encoding="utf-8")[:-40], encoding="utf-8")  # cut short
        assert len(ctx.spool) == 2
    finally:
        ctx.close()

    src = write_lines(tmp_path / "clean.jsonl", feed("clean", 200, every=40))
    assert main(["ingest", "--input", str(src)]) == 1  # the poisoned post is reported
    captured = capsys.readouterr()
    assert "新增 203" in captured.out and "补写此前暂存 3 条" in captured.out
    assert "超出 64 位整数范围" in captured.err and "无法读取" in captured.err

    assert main(["spool", "status"]) == 1
    status = capsys.readouterr().out
    assert "0 批" in status and "超出 64 位整数范围" in status and "无法读取" in status
    after = state(config_file)
    assert after["posts"] == 203 and after["missing"] == 0


# --------------------------------------------------------------------------- probe 4: input decides safety


def test_a_feed_cannot_mark_drills_or_set_first_seen_at(layout, config_file, tmp_path, capsys):
    rows = [
        {**SERIOUS, "url": "https://weibo.example/drill-string", "drill": "false"},
        {
            **SERIOUS,
            "url": "https://weibo.example/drill-true",
            "drill": True,
            "first_seen_at": "2001-01-01T00:00:00+00:00",
        },
    ]
    src = write_lines(tmp_path / "feed.jsonl", rows)
    assert main(["ingest", "--input", str(src)]) == 0
    err = capsys.readouterr().err
    assert "忽略 由值守台自己生成的字段" in err and "drill（2 行）" in err and "first_seen_at（1 行）" in err

    ctx = build_context(load_settings(config_file))
    try:
        stored = list(ctx.index.iter_all())
        assert [p.drill for p in stored] == [False, False]
        assert all(p.first_seen_at > "2020" for p in stored)
        assert ctx.index.search(flagged=True).total == 2  # in the real queue
        with ctx.records.session() as s:
            alerts = s.scalars(select(Alert)).all()
        assert [a.drill for a in alerts] == [False, False]
    finally:
        ctx.close()

    assert main(["ingest", "--drill", "--input", str(src)]) == 2
    assert "yuqing drill run" in capsys.readouterr().err


# --------------------------------------------------------------------------- exit codes


def test_exit_codes_tell_success_rejected_failure_and_kept(config_file, tmp_path, capsys, monkeypatch):
    good = write_lines(tmp_path / "good.jsonl", feed("ok", 3))
    assert main(["ingest", "--input", str(good)]) == 0
    assert main(["ingest", "--input", str(tmp_path / "absent.jsonl")]) == 2
    bad = write_lines(tmp_path / "bad.jsonl", [*feed("ok2", 2), "{oops"])
    assert main(["ingest", "--input", str(bad)]) == 1

    import yuqing.ingest

    def crash(*args, **kwargs):
        raise RuntimeError("simulated bug")

    with monkeypatch.context() as m:
        m.setattr(yuqing.ingest, "ingest_in_batches", crash)
        assert main(["ingest", "--input", str(good)]) == 2
    assert "simulated bug" in capsys.readouterr().err

    _set_store(config_file, records_url=f"sqlite:///{tmp_path / 'not-yet' / 'records.db'}")
    assert main(["ingest", "--input", str(write_lines(tmp_path / "later.jsonl", feed("later", 3)))]) == 75
    assert "已暂存 3 条" in capsys.readouterr().out
    (tmp_path / "not-yet").mkdir()
    assert main(["spool", "replay"]) == 0


def test_sweep_reports_a_store_it_cannot_reach(config_file, tmp_path, capsys):
    _set_store(config_file, records_url=f"sqlite:///{tmp_path / 'absent' / 'records.db'}")
    ctx = build_context(load_settings(config_file))
    try:
        ingest(feed("x", 3), ctx=ctx)  # spooled: the records cannot be reached
        result = sweep_alerts(ctx)
        assert result.error
    finally:
        ctx.close()
    assert main(["sweep"]) == 1
