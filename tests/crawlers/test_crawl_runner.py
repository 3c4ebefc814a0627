"""The runner: one bad source never takes the run down; a crashed crawl process is an exception."""

from __future__ import annotations

import json

import pytest
from crawl_site import FAST_SETTINGS

from crawlers.runner import JsonlWriter, run_crawl_subprocess


def test_bad_sources_are_reported_and_isolated(tmp_path, local_site):
    sources = [
        {
            "name": "bad-option",
            "family": "weibo",
            "url": local_site.base_url,
            "options": {"uids": ["1"], "pages": "x"},
        },
        {"name": "unknown-family", "family": "tieba", "url": "http://127.0.0.1:9"},
        {"name": "disabled", "family": "rss", "url": "http://127.0.0.1:9", "enabled": False},
        {"name": "refused", "family": "rss", "url": "http://127.0.0.1:9/feed.xml"},
        {"name": "thepaper", "family": "rss", "url": f"{local_site.base_url}/feeds/thepaper.atom"},
    ]
    out = tmp_path / "posts.jsonl"
    stats = run_crawl_subprocess(sources, out, settings={**FAST_SETTINGS, "RETRY_TIMES": 0}, timeout=60)
    assert "disabled" not in stats
    assert stats["bad-option"]["finish_reason"] == "not_started"
    assert stats["bad-option"]["errors"] == 1
    assert "unknown source family" in stats["unknown-family"]["error_reasons"][0]
    assert stats["refused"]["errors"] >= 1 and stats["refused"]["finish_reason"] == "finished"
    assert stats["thepaper"]["items"] == 1
    posts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [p["source"] for p in posts] == ["thepaper"]


def test_crashed_crawl_process_raises(tmp_path):
    with pytest.raises(RuntimeError, match="crawl process failed"):
        run_crawl_subprocess([], tmp_path / "out.jsonl", settings={"LOG_LEVEL": "NOT_A_LEVEL"}, timeout=60)


def test_jsonl_writer_appends_batches(tmp_path):
    path = tmp_path / "sub" / "posts.jsonl"
    path.parent.mkdir()
    path.write_text("stale\n", encoding="utf-8")
    writer = JsonlWriter(path)  # a new run starts a new file
    writer([{"text": "甲"}, {"text": "乙"}])
    writer([{"text": "丙"}])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["text"] for x in lines] == ["甲", "乙", "丙"]
    assert writer.count == 3
