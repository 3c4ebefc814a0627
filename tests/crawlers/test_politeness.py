"""Politeness against a local site that counts: robots.txt, the User-Agent with our contact, per-source
concurrency, waiting before retrying 429/503 (Retry-After or exponential backoff), timeouts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from counting_site import CountingSite

from crawlers.politeness import politeness_overrides, retry_after_seconds, source_slots, user_agent
from crawlers.runner import build_settings, run_crawl_subprocess

CONTACT = "https://huading.example.com/yuqing-crawler"
QUICK = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "DOWNLOAD_TIMEOUT": 10, "LOG_LEVEL": "INFO"}


def crawl(tmp_path, sources, **settings):
    out = tmp_path / "posts.jsonl"
    merged = {**QUICK, **politeness_overrides(sources, contact_url=CONTACT), **settings}
    stats = run_crawl_subprocess(sources, out, settings=merged, timeout=120)
    posts = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]
    return stats, posts


def test_robots_txt_obeyed_and_every_request_names_us(tmp_path):
    with CountingSite(articles=2, article_delay=0) as site:
        stats, posts = crawl(tmp_path, [{"name": "s", "family": "rss", "url": f"{site.base_url}/feed.xml"}])
    assert len(posts) == 2
    assert site.paths("/private/") == []  # Disallow: /private/
    assert stats["s"]["robots_forbidden"] == 1
    assert site.paths()[0] == "/robots.txt"  # asked before anything else
    agents = {h.user_agent for h in site.hits}
    assert agents == {user_agent(CONTACT)}
    assert "YuqingDesk" in user_agent(CONTACT) and CONTACT in user_agent(CONTACT)


@pytest.mark.parametrize(("concurrency", "at_most", "at_least"), [(1, 1, 1), (3, 3, 2)])
def test_per_source_concurrency(tmp_path, concurrency, at_most, at_least):
    with CountingSite(articles=6, article_delay=0.6) as site:
        sources = [
            {
                "name": "s",
                "family": "rss",
                "url": f"{site.base_url}/feed.xml",
                "options": {"concurrency": concurrency},
            }
        ]
        # a small delay as in production (≥ 1 s there): with none, Scrapy 2.19 sends a slot's whole queue
        # at once before it counts the first transfer, whatever the slot's concurrency
        _, posts = crawl(tmp_path, sources, CONCURRENT_REQUESTS_PER_DOMAIN=8, DOWNLOAD_DELAY=0.05)
    assert len(posts) == 6
    assert at_least <= site.max_in_flight <= at_most


def test_429_waits_for_retry_after_then_gets_the_page(tmp_path):
    failures = {"/limited.html": (429, 2, {"Retry-After": "1"})}
    with CountingSite(failures=failures) as site:
        sources = [{"name": "s", "family": "rss", "url": f"{site.base_url}/feed-only/limited.html"}]
        stats, posts = crawl(tmp_path, sources, RETRY_TIMES=3, RETRY_BACKOFF_BASE=0.1)
    times = site.times("/limited.html")
    assert len(times) == 3  # two 429s, then the page
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(g >= 0.95 for g in gaps), gaps  # the server asked for a second; we gave it
    assert len(posts) == 1 and stats["s"]["errors"] == 0
    assert stats["s"]["stats"]["yuqing/backoff_waits"] == 2


def test_503_backs_off_exponentially(tmp_path):
    failures = {"/busy.html": (503, 3, {})}
    with CountingSite(failures=failures) as site:
        sources = [{"name": "s", "family": "rss", "url": f"{site.base_url}/feed-only/busy.html"}]
        _, posts = crawl(tmp_path, sources, RETRY_TIMES=3, RETRY_BACKOFF_BASE=0.3)
    times = site.times("/busy.html")
    assert len(times) == 4 and len(posts) == 1
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6 and gaps[2] >= 1.2, gaps  # 0.3, 0.6, 1.2 s


def test_rate_limited_to_the_end_is_a_source_error_not_a_post(tmp_path):
    failures = {"/limited.html": (429, 10, {"Retry-After": "0"})}
    with CountingSite(failures=failures) as site:
        sources = [{"name": "s", "family": "rss", "url": f"{site.base_url}/feed-only/limited.html"}]
        stats, posts = crawl(tmp_path, sources, RETRY_TIMES=1, RETRY_BACKOFF_BASE=0.1)
    assert len(site.times("/limited.html")) == 2  # one try, one retry, then we stop asking
    assert stats["s"]["errors"] >= 1
    assert any("429" in r for r in stats["s"]["error_reasons"])
    assert all("slow down" not in p["text"] for p in posts)  # the 429 body never becomes a post


def test_a_page_that_never_answers_times_out(tmp_path):
    with CountingSite(slow={"/stuck.html": 30}) as site:
        sources = [
            {
                "name": "s",
                "family": "rss",
                "url": f"{site.base_url}/feed-only/stuck.html",
                "options": {"follow_links": True},
            }
        ]
        stats, _ = crawl(tmp_path, sources, DOWNLOAD_TIMEOUT=1, RETRY_TIMES=0)
    assert stats["s"]["errors"] == 1
    assert any("timeout" in r.lower() or "超时" in r for r in stats["s"]["error_reasons"])
    assert stats["s"]["finish_reason"] == "finished"


def test_retry_after_header_forms():
    now = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_source_slots_take_the_stricter_limit_per_host():
    slots = source_slots(
        [
            {
                "name": "a",
                "url": "https://guba.eastmoney.com/list,600000.html",
                "options": {"concurrency": 2},
            },
            {
                "name": "b",
                "url": "https://guba.eastmoney.com/search",
                "options": {"concurrency": 1, "download_delay": 3},
            },
            {"name": "c", "url": "https://xueqiu.com/", "options": {}},
            {"name": "d", "url": "https://off.example.com/", "enabled": False, "options": {"concurrency": 9}},
        ]
    )
    assert slots == {"guba.eastmoney.com": {"concurrency": 1, "delay": 3.0}}


def test_polite_defaults_are_on():
    s = build_settings()
    assert s.getbool("ROBOTSTXT_OBEY") and s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2 and s.getfloat("DOWNLOAD_DELAY") >= 1
    assert 0 < s.getint("DOWNLOAD_TIMEOUT") <= 60
    assert s.getdict("DOWNLOADER_MIDDLEWARES")["crawlers.politeness.BackoffRetryMiddleware"] == 550
