"""信息源健康: silent and failing sources are shown on their page and flagged above the triage queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.health import record_failed_run, record_runs, source_health
from tests.desk.conftest import frame
from yuqing.config import load_settings
from yuqing.context import build_context

SOURCES_TOML = """
[[sources]]
name = "stcn"
family = "rss"
url = "https://www.stcn.com/rss.xml"
interval_minutes = 30
options = { display_name = "证券时报" }

[[sources]]
name = "weibo-firm"
family = "weibo"
url = "https://m.weibo.cn"
interval_minutes = 15
options = { display_name = "华鼎证券官微", uids = ["1"] }

[[sources]]
name = "hexun"
family = "rss"
url = "https://news.hexun.com/rss.xml"
interval_minutes = 60
options = { display_name = "和讯网" }

[[sources]]
name = "old-forum"
family = "rss"
url = "https://forum.example.com/rss.xml"
enabled = false
options = { display_name = "旧论坛" }
"""

NOW = datetime.now(UTC)


def ok_stats(found: int = 5) -> dict:
    return {"family": "rss", "scraped": found, "items": found, "errors": 0, "finish_reason": "finished"}


def failed_stats(reason: str = "订阅源 feed: HTTP 503") -> dict:
    return {
        "family": "rss",
        "scraped": 0,
        "items": 0,
        "errors": 1,
        "error_reasons": [reason],
        "finish_reason": "finished",
        "stats": {"yuqing/source_error/http": 1},
    }


@pytest.fixture
def health_config(desk_config):
    desk_config.write_text(desk_config.read_text(encoding="utf-8") + SOURCES_TOML, encoding="utf-8")
    return desk_config


@pytest.fixture
def hctx(health_config):
    ctx = build_context(load_settings(health_config))
    yield ctx
    ctx.close()


def run(ctx, minutes_ago: float, **per_source) -> None:
    started = NOW - timedelta(minutes=minutes_ago)
    with ctx.records.session() as session:
        record_runs(
            session,
            run_id=f"run-{minutes_ago}",
            started_at=started,
            finished_at=started + timedelta(seconds=20),
            stats=per_source,
            new_by_source={name: s.get("items", 0) for name, s in per_source.items()},
        )


def healthy_history(ctx, until: dict[str, int] | None = None) -> None:
    """stcn, hexun and weibo-firm crawled every half hour for five hours, all fine (``until``: a source's
    history ends that many minutes ago)."""
    until = until or {}
    for m in range(300, 0, -30):
        stats = {"stcn": ok_stats(), "hexun": ok_stats(2), "weibo-firm": ok_stats(3)}
        run(ctx, m, **{k: v for k, v in stats.items() if m > until.get(k, 0)})


def health_now(ctx):
    with ctx.records.session() as s:
        return source_health(s, sources=ctx.settings.sources, rules=ctx.settings.health, now=NOW)


def by_name(ctx):
    return {h.source: h for h in health_now(ctx)}


def test_all_sources_healthy_no_flags(hctx):
    healthy_history(hctx)
    health = by_name(hctx)
    assert not any(h.flagged for h in health.values())
    stcn = health["stcn"]
    assert stcn.status == "正常"
    assert stcn.items_new_24h == 50 and stcn.runs_24h == 10
    assert stcn.last_success_at is not None and NOW - stcn.last_success_at < timedelta(minutes=31)
    assert health["old-forum"].status == "已停用" and not health["old-forum"].flagged


def test_a_source_that_stopped_producing_is_silent(hctx):
    healthy_history(hctx, until={"weibo-firm": 60})
    # weibo-firm (every 15 min, silent after 45) has found nothing for the last hour and a half
    for m in range(60, 0, -10):
        run(hctx, m - 5, **{"weibo-firm": {**ok_stats(0), "family": "weibo"}})
    h = by_name(hctx)["weibo-firm"]
    assert h.silent and not h.failing
    assert h.status == "沉默"
    assert any("未抓到任何内容" in r and "每 15 分钟" in r for r in h.reasons)
    # the runs themselves succeeded: the last successful crawl is recent, the last content is not
    assert NOW - h.last_success_at < timedelta(minutes=10)
    assert NOW - h.last_found_at > timedelta(minutes=45)


def test_items_skipped_as_unchanged_keep_a_source_alive(hctx):
    healthy_history(hctx)
    for m in (100, 70, 40, 10):  # nothing new, but the feed still lists its (unchanged) items
        run(hctx, m - 5, stcn={**ok_stats(0), "stats": {"yuqing/seen_skipped": 12}})
    assert not by_name(hctx)["stcn"].silent


def test_error_rate_jump_flags_a_failing_source(hctx):
    healthy_history(hctx)
    for m in (25, 15, 5):
        run(hctx, m, hexun=failed_stats())
    h = by_name(hctx)["hexun"]
    assert h.failing
    assert h.error_rate == 1.0 and h.baseline_error_rate == 0.0
    assert any("错误率突增" in r for r in h.reasons)
    assert any("HTTP 503" in r for r in h.reasons)


def test_a_source_that_always_had_some_errors_is_not_failing(hctx):
    for m in range(300, 0, -30):  # one dead link among nine articles, every time: its usual state
        run(hctx, m, stcn={**ok_stats(9), "errors": 1, "error_reasons": ["文章 article: HTTP 404"]})
    h = by_name(hctx)["stcn"]
    assert not h.failing and not h.silent
    assert 0.05 < h.error_rate < 0.15


def test_a_crashed_crawl_flags_its_sources(hctx):
    healthy_history(hctx)
    with hctx.records.session() as s:
        record_failed_run(
            s,
            run_id="crash-1",
            sources=[{"name": "stcn", "family": "rss"}],
            started_at=NOW - timedelta(minutes=2),
            reason="抓取进程异常退出：MemoryError",
        )
    h = by_name(hctx)["stcn"]
    assert h.failing
    assert any("崩溃" in r for r in h.reasons)
    assert any("MemoryError" in r for r in h.reasons)


def test_never_crawled_source_is_silent(hctx):
    health = by_name(hctx)
    assert health["stcn"].silent
    assert any("尚无抓取记录" in r for r in health["stcn"].reasons)
    assert not health["old-forum"].flagged


# ----------------------------------------------------------------------------- on the desk


def test_health_page_shows_each_source_and_the_flagged_ones(hctx, desk_store, app):
    healthy_history(hctx)
    for m in (25, 15, 5):
        run(hctx, m, hexun=failed_stats("订阅源 feed: HTTP 503 服务不可用"))
    at = app()
    at.switch_page("views/health.py").run()
    assert not at.exception
    assert at.title[0].value == "信息源健康"
    errors = " ".join(e.value for e in at.error)
    assert "和讯网" in errors and "错误率突增" in errors and "HTTP 503" in errors
    assert "证券时报" not in errors  # the healthy ones are not alarmed about
    table = frame(at, "信息源")
    status = dict(zip(table["信息源"], table["状态"], strict=True))
    assert status == {"和讯网": "错误率突增", "证券时报": "正常", "华鼎证券官微": "正常", "旧论坛": "已停用"}
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["异常信息源"] == "1"
    runs = frame(at, "错误原因")
    assert len(runs) == 33 and "HTTP 503 服务不可用" in " ".join(runs["错误原因"])
    assert "http×1" in set(runs["错误类型"])  # the kind of each error, as the spiders name it


def test_triage_queue_warns_when_a_source_is_silent(hctx, desk_store, app):
    healthy_history(hctx, until={"weibo-firm": 60})
    for m in range(60, 0, -10):
        run(hctx, m - 5, **{"weibo-firm": {**ok_stats(0), "family": "weibo"}})
    at = app()
    assert not at.exception
    banner = " ".join(e.value for e in at.error)
    assert "信息源告警" in banner and "华鼎证券官微" in banner and "沉默" in banner
    assert at.title[0].value == "预警队列"  # the queue still shows below the banner


def test_triage_queue_has_no_banner_when_every_source_is_fine(hctx, desk_store, app):
    healthy_history(hctx)
    at = app()
    assert not at.exception
    assert not any("信息源告警" in e.value for e in at.error)


def test_health_page_with_hostile_error_text(hctx, desk_store, app):
    run(hctx, 5, stcn=failed_stats("**粗体** <script>alert(1)</script> [x](javascript:alert(1))"))
    at = app()
    at.switch_page("views/health.py").run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "\\*\\*粗体\\*\\*" in shown  # markdown escaped: shown literally, not as bold


def test_health_records_on_postgresql(tmp_path):
    """The same health rows and assessment on PostgreSQL (CI sets YUQING_TEST_PG_URL)."""
    import os
    import uuid

    from sqlalchemy import delete

    from store.models import SourceRun
    from yuqing.config import settings_from_dict

    url = os.environ.get("YUQING_TEST_PG_URL")
    if not url:
        pytest.skip("YUQING_TEST_PG_URL not set: health on PostgreSQL not tested")
    name = f"pg-health-{uuid.uuid4().hex[:8]}"
    ctx = build_context(
        settings_from_dict(
            {
                "firm": {"name": "华鼎证券股份有限公司"},
                "sources": [
                    {
                        "name": name,
                        "family": "rss",
                        "url": "https://x.example.com/rss",
                        "interval_minutes": 10,
                    }
                ],
                "store": {"path": str(tmp_path / "y.db"), "records_url": url},
            }
        )
    )
    try:
        for m in range(200, 0, -10):
            run(ctx, m, **{name: ok_stats(3 if m > 60 else 0)})
        h = next(h for h in health_now(ctx) if h.source == name)
        assert h.silent and h.runs_24h == 20 and h.items_found_24h == 42
    finally:
        with ctx.records.session() as session:
            session.execute(delete(SourceRun).where(SourceRun.source == name))
        ctx.close()


def test_health_page_when_the_records_database_is_down(hctx, desk_store, app, monkeypatch):
    at = app()
    import desk.health_ui
    import store.health

    def down(*args, **kwargs):
        raise RuntimeError("connection refused")

    monkeypatch.setattr(store.health, "source_health", down)
    monkeypatch.setattr(desk.health_ui, "health_flags", down)  # bound when desk.health_ui was imported
    at.switch_page("views/triage.py").run()
    assert not at.exception and at.title[0].value == "预警队列"  # the queue still shows …
    assert any("无法读取信息源健康状态" in w.value for w in at.warning)  # … with a word about health
    at.switch_page("views/health.py").run()
    assert not at.exception
    assert any("无法读取信息源健康记录" in e.value for e in at.error)


def test_sidebar_keeps_a_failing_source_in_sight(hctx, desk_store):
    from streamlit.testing.v1 import AppTest

    from tests.desk.conftest import APP, sign_in

    healthy_history(hctx)
    for m in (25, 15, 5):
        run(hctx, m, hexun=failed_stats())
    # the entry file draws the sidebar; AppTest shows it on the first run (see test_app.py)
    at = AppTest.from_file(str(APP), default_timeout=30)
    sign_in(at, desk_store, "officer")
    at.run()
    assert not at.exception
    assert any("信息源告警 1 个" in e.value and "和讯网" in e.value for e in at.sidebar.error)
