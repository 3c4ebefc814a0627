"""`yuqing schedule`: each source at its interval (shorter on holidays), one crawl process per run, and a
crashing or hanging source costs its own run only."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from crawl_site import FAST_SETTINGS
from newsroom import open_newsroom

import yuqing.crawl
from store.health import recent_runs, source_health
from yuqing.cli import main
from yuqing.config import load_settings, settings_from_dict
from yuqing.context import build_context
from yuqing.schedule import Scheduler

HERE = Path(__file__).resolve().parent
FIRM = {"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券", "华鼎"], "stock_codes": ["609999"]}


@pytest.fixture
def room(tmp_path: Path):
    r = open_newsroom(tmp_path / "site")
    yield r
    r.site.stop()


@pytest.fixture
def silent_server():
    """A port that accepts connections and never answers: a hanging source."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def make_ctx(tmp_path: Path, sources: list[dict], **extra):
    settings = settings_from_dict(
        {"firm": FIRM, "sources": sources, "store": {"path": str(tmp_path / "store" / "yuqing.db")}, **extra}
    )
    return build_context(settings)


def test_schedule_survives_a_crashing_and_a_hanging_source(tmp_path, room, silent_server, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(HERE))  # the crawl child loads the crashing extension from here
    sources = [
        {**room.source("newsroom"), "interval_minutes": 1},
        {"name": "crasher", "family": "rss", "url": room.feed_url, "interval_minutes": 1},
        {"name": "hanger", "family": "rss", "url": f"{silent_server}/feed.xml", "interval_minutes": 1},
    ]
    ctx = make_ctx(tmp_path, sources)
    lines: list[str] = []
    try:
        scheduler = Scheduler(
            ctx,
            minute=0.5,  # a configured minute lasts half a second here
            timeout_s=15,  # a normal run takes 1-3 s (7x margin on a loaded machine); the hanging one is stopped
            crawl_settings={**FAST_SETTINGS, "DOWNLOAD_TIMEOUT": 60},
            settings_for=lambda name: (
                {"EXTENSIONS": {"crashing.CrashOnOpen": 0}} if name == "crasher" else {}
            ),
            on_run=lambda r: lines.append(r.line()),
        )
        history = scheduler.run(max_runs=5)
        outcomes = [(r.source, r.outcome) for r in history]
        assert outcomes[:3] == [("newsroom", "ok"), ("crasher", "crashed"), ("hanger", "timeout")]
        newsroom = [r for r in history if r.source == "newsroom"]
        assert len(newsroom) >= 2  # the schedule went on after the crash and the hang
        assert newsroom[0].new == 3 and all(r.new == 0 for r in newsroom[1:])  # nothing new the second time
        assert len(lines) == 5 and "抓取进程崩溃" in lines[1] and "exit 70" in lines[1] and "超时" in lines[2]

        with ctx.records.session() as s:
            runs = {r.source: r for r in recent_runs(s)}  # newest first, so the first run of each source wins
            health = {
                h.source: h for h in source_health(s, sources=ctx.settings.sources, rules=ctx.settings.health)
            }
        assert runs["crasher"].finish_reason == "crashed" and runs["crasher"].errors == 1
        assert runs["hanger"].finish_reason == "timeout"
        assert runs["newsroom"].items_new == 3
        assert health["crasher"].failing and health["hanger"].failing
        assert not health["newsroom"].flagged
    finally:
        ctx.close()


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.mark.parametrize(("holiday", "expected_gap"), [(False, 20 * 60), (True, 20 * 60 * 0.25)])
def test_sources_run_at_their_interval_shorter_on_holidays(tmp_path, room, holiday, expected_gap):
    ctx = make_ctx(
        tmp_path,
        [{**room.source("newsroom"), "interval_minutes": 20}],
        schedule={"holiday_factor": 0.25},
    )
    clock = FakeClock()
    try:
        scheduler = Scheduler(
            ctx, holiday=holiday, crawl_settings=FAST_SETTINGS, clock=clock, sleep=clock.sleep
        )
        history = scheduler.run(max_runs=2)
    finally:
        ctx.close()
    assert [r.outcome for r in history] == ["ok", "ok"]
    assert history[1].at - history[0].at == pytest.approx(expected_gap)
    assert clock.slept > 0  # it waited for the interval instead of crawling again at once


def test_cli_schedule_once(tmp_path, room, capsys):
    config = tmp_path / "yuqing.toml"
    config.write_text(
        f"""
[firm]
name = "华鼎证券股份有限公司"
short_names = ["华鼎证券"]

[store]
path = "{(tmp_path / "yuqing.db").as_posix()}"

[[sources]]
name = "newsroom"
family = "rss"
url = "{room.feed_url}"
interval_minutes = 5
options = {{ display_name = "财经日报" }}
""",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "schedule", "--once", "--holiday"]) == 0
    out = capsys.readouterr().out
    assert "节假日模式" in out
    assert "newsroom：新增 3 条" in out
    assert "共运行 1 次，其中失败 0 次" in out


def test_cli_schedule_unknown_source(tmp_path, capsys):
    config = tmp_path / "yuqing.toml"
    config.write_text('[firm]\nname = "华鼎证券"\n', encoding="utf-8")
    assert main(["--config", str(config), "schedule", "--source", "nope", "--once"]) == 2
    assert "nope" in capsys.readouterr().err


def test_schedule_goes_on_when_the_records_database_is_down(tmp_path, room, caplog):
    ctx = make_ctx(
        tmp_path,
        [room.source("newsroom")],
        store={
            "path": str(tmp_path / "store" / "yuqing.db"),
            "records_url": "postgresql+psycopg://yuqing@127.0.0.1:9/none?connect_timeout=2",
        },
    )
    try:
        history = Scheduler(ctx, crawl_settings=FAST_SETTINGS).run(once=True)
        assert [r.outcome for r in history] == ["ok"]  # the run itself is not lost …
        assert ctx.spool.pending()  # … its posts wait on disk for the store to come back
        assert "source runs not recorded" in caplog.text  # and the missing health record is said out loud
    finally:
        ctx.close()


def test_cli_crawl_unknown_source_and_crashed_crawl(tmp_path, room, capsys, monkeypatch):
    config = tmp_path / "yuqing.toml"
    config.write_text(
        f'[firm]\nname = "华鼎证券"\n[store]\npath = "{(tmp_path / "y.db").as_posix()}"\n'
        f'[[sources]]\nname = "newsroom"\nfamily = "rss"\nurl = "{room.feed_url}"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "crawl", "--source", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    # a crawl process that dies is an error message and exit 1, and it is on the health page
    monkeypatch.setenv("PYTHONPATH", str(HERE))  # the crawl child loads the crashing extension from here
    real = yuqing.crawl.crawl_sources

    def crashing(ctx, **kwargs):
        return real(ctx, **kwargs, settings={"EXTENSIONS": {"crashing.CrashOnOpen": 0}})

    monkeypatch.setattr(yuqing.crawl, "crawl_sources", crashing)
    assert main(["--config", str(config), "crawl"]) == 1
    assert "抓取失败" in capsys.readouterr().err
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as s:
            assert recent_runs(s)[0].finish_reason == "crashed"
    finally:
        ctx.close()
