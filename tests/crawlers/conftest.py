"""Fixtures for the crawler tests: the saved real pages served by LocalSite, one real crawl per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crawl_site import FAST_SETTINGS, require_pages, site_manifest, sources_for

from yuqing.localsite import LocalSite


@pytest.fixture(scope="session")
def pages_dir() -> Path:
    return require_pages()


@pytest.fixture(scope="session")
def local_site(pages_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("site")
    (root / "manifest.json").write_text(json.dumps(site_manifest(), ensure_ascii=False), encoding="utf-8")
    with LocalSite.from_manifest_file(root / "manifest.json") as site:
        yield site


@pytest.fixture(scope="session")
def crawl_run(local_site: LocalSite, tmp_path_factory: pytest.TempPathFactory):
    """One real crawl of every test source, in a subprocess; ``(stats, posts, site)``."""
    from crawlers.runner import run_crawl_subprocess

    out = tmp_path_factory.mktemp("crawl") / "posts.jsonl"
    log = out.with_suffix(".log")
    stats = run_crawl_subprocess(
        sources_for(local_site.base_url), out, settings=FAST_SETTINGS, timeout=120, log_path=log
    )
    posts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    return stats, posts, local_site
