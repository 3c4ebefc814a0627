"""Scale-out with scrapy-redis: two crawl processes on one Redis queue fetch every page exactly once
between them. Needs a Redis server (REDIS_URL or redis://127.0.0.1:6379); skipped with a message without."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter

import pytest
from counting_site import CountingSite

from crawlers.runner import run_crawl_subprocess

redis = pytest.importorskip("redis", reason="redis client not installed (pip install 'yuqing-desk[scale]')")
pytest.importorskip("scrapy_redis", reason="scrapy-redis not installed (pip install 'yuqing-desk[scale]')")

from crawlers.distributed import key_part, redis_settings  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="module")
def redis_url():
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no Redis to test against
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}): scale-out test skipped")
    return REDIS_URL


QUICK = {  # a worker takes at most two pages from the shared queue at a time, so neither hoards the work
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0.1,
    "CONCURRENT_REQUESTS": 2,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "DOWNLOAD_TIMEOUT": 10,
    "LOG_LEVEL": "INFO",
}


def test_two_processes_share_one_queue_and_fetch_each_page_once(tmp_path, redis_url):
    round_id = f"test-{uuid.uuid4().hex[:8]}"
    with CountingSite(articles=16, article_delay=1.0) as site:
        sources = [{"name": "财经日报", "family": "rss", "url": f"{site.base_url}/feed.xml"}]
        settings = {**QUICK, **redis_settings(redis_url, round_id=round_id, idle_close=6)}
        results: dict[int, tuple[dict, list[dict]]] = {}

        def worker(n: int) -> None:
            out = tmp_path / f"worker-{n}.jsonl"
            stats = run_crawl_subprocess(sources, out, settings=settings, timeout=180)
            posts = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]
            results[n] = (stats["财经日报"], posts)

        threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
        assert sorted(results) == [1, 2], "a crawl process did not finish"

    fetched = Counter(p for p in site.paths() if p != "/robots.txt")  # each process reads robots.txt itself
    assert fetched["/feed.xml"] == 1  # the feed once, by whichever worker was first
    articles = {p: n for p, n in fetched.items() if p.startswith("/a/")}
    assert sorted(articles) == sorted(site.article_paths())  # every page fetched …
    assert set(articles.values()) == {1}  # … exactly once between the two
    assert site.paths("/private/") == []

    (stats1, posts1), (stats2, posts2) = results[1], results[2]
    assert len(posts1) >= 1 and len(posts2) >= 1  # both did some of the work
    urls = [p["url"] for p in posts1 + posts2]
    assert len(urls) == len(set(urls)) == 16
    assert stats1["errors"] == stats2["errors"] == 0

    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.keys(f"yuqing:{key_part('财经日报')}:{round_id}:*")]
    assert keys and all(client.ttl(k) > 0 for k in keys)  # kept for peers, but they expire
    client.delete(*keys)


def test_key_parts_are_ascii_and_distinct():
    assert key_part("stcn") == "stcn"
    a, b = key_part("证券时报"), key_part("证券日报")
    assert a != b and a.isascii() and b.isascii()


def test_yuqing_crawl_joins_the_shared_queue_when_configured(tmp_path, redis_url):
    from newsroom import open_newsroom

    from yuqing.config import settings_from_dict
    from yuqing.context import build_context
    from yuqing.crawl import crawl_sources

    room = open_newsroom(tmp_path / "site")
    name = f"newsroom-{uuid.uuid4().hex[:8]}"  # its own keys: other test runs may share this Redis
    ctx = build_context(
        settings_from_dict(
            {
                "firm": {"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券"]},
                "sources": [room.source(name)],
                "store": {"path": str(tmp_path / "yuqing.db")},
                "crawl": {"redis_url": redis_url, "seen_store": False},
            }
        )
    )
    client = redis.Redis.from_url(redis_url)
    try:
        result = crawl_sources(ctx, settings={**QUICK, "YUQING_REDIS_IDLE_CLOSE": 1})
        assert result.report.stored_new == 3
        assert result.stats[name]["stats"].get("scheduler/enqueued/redis") == 4  # feed + 3 articles
        assert client.keys(f"yuqing:{name}:*")
    finally:
        ctx.close()
        room.site.stop()
        for k in client.keys(f"yuqing:{name}:*"):
            client.delete(k)
