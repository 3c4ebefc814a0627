"""固定证据 from the crawl: each flagged post keeps the page or API response it was read from (its bytes,
address, HTTP status, type, fetch time, SHA-256), audited; a page too large is recorded by its hash
alone; pages of posts nobody needs are not stored; the record's zip and the regulator report list them."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import select

from crawlers.pages import PageKeeperMiddleware, read_index
from playbooks import evidence
from playbooks.authz import Actor
from store.models import Alert, AuditEntry, Evidence, User
from yuqing.config import settings_from_dict
from yuqing.context import Context
from yuqing.crawl import crawl_sources
from yuqing.localsite import LocalSite

FIRM = {"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券"], "stock_codes": ["609999"]}
QUICK = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}


def _crawl(tmp_path, monkeypatch, names, **settings):
    from family_site import family_routes, family_sources

    monkeypatch.setenv("YUQING_SECRET_XQ_A_TOKEN", "test-token")
    with LocalSite(tmp_path, {"routes": family_routes()}) as site:
        sources = [s for s in family_sources(site.base_url) if s["name"] in names]
        ctx = Context(
            settings_from_dict({"firm": FIRM, "sources": sources, "store": {"path": str(tmp_path / "y.db")}})
        )
        result = crawl_sources(ctx, settings={**QUICK, **settings})
    return ctx, result


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("pages")
    try:
        ctx, result = _crawl(tmp, mp, {"weibo-search", "guba-609999", "xueqiu", "heimao"})
        yield ctx, result
        ctx.close()
    finally:
        mp.undo()


def test_each_flagged_post_keeps_the_page_it_was_read_from(crawled):
    ctx, result = crawled
    with ctx.records.session() as s:
        alerts = list(s.scalars(select(Alert)))
        pages = {e.alert_id: e for e in s.scalars(select(Evidence).where(Evidence.kind == "page"))}
        assert alerts and result.pages_kept == len(alerts) == len(pages)
        for a in alerts:
            page = pages[a.id]
            assert hashlib.sha256(page.content).hexdigest() == page.sha256 and page.size == len(page.content)
            assert page.note == "HTTP 200" and page.source_url.startswith("http://127.0.0.1")
            body = page.content.decode("utf-8")
            if page.mime.startswith("application/json"):  # an API answer: the post is in it, as served
                json.loads(body)
            assert page.post_id == a.post_id and not page.drill
        kinds = {e.name for e in pages.values()}
        assert (
            "原始页面（抓取时）.json" in kinds and "原始页面（抓取时）.html" in kinds
        )  # Weibo API, 股吧 page
        audited = s.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.page")).all()
        assert sorted(r.entity_id for r in audited) == sorted(str(a.id) for a in alerts)


def test_a_record_hands_on_the_page_with_its_snapshot(crawled):
    ctx, _ = crawled
    from playbooks.escalation import open_escalation

    manager = Actor("li", "manager", "李经理")
    with ctx.records.session() as s:
        s.add(User(username="li", role="manager"))
        alert = s.scalars(select(Alert).order_by(Alert.id)).first()
        esc, _ = open_escalation(s, alert_id=alert.id, actor=manager)
        views = evidence.for_record(s, esc.id)
        assert [v.kind for v in views] == ["snapshot", "page"]
        z = zipfile.ZipFile(io.BytesIO(evidence.bundle(s, esc.id, manager)))
        manifest = json.loads(z.read("清单.json"))
        page = next(m for m in manifest if m["kind"] == "page")
        assert hashlib.sha256(z.read(page["file"])).hexdigest() == page["sha256"]


def test_a_page_too_large_is_recorded_by_its_hash_and_nothing_unflagged_is_kept(tmp_path, monkeypatch):
    ctx, result = _crawl(tmp_path, monkeypatch, {"guba-609999"}, YUQING_PAGE_MAX_BYTES=100)
    try:
        with ctx.records.session() as s:
            alerts = list(s.scalars(select(Alert)))
            pages = list(s.scalars(select(Evidence).where(Evidence.kind == "page")))
            assert alerts and len(pages) == len(alerts) == result.pages_kept
            for p in pages:
                assert p.content == b"" and p.size > 100 and len(p.sha256) == 64
                assert evidence.TOO_LARGE in p.note
                with pytest.raises(evidence.EvidenceError, match="超过保存上限"):
                    evidence.content(s, p.id, Actor("li", "manager", "李经理"))
        assert result.stats["guba-609999"]["items"] > len(alerts)  # the other posts' pages were not stored
    finally:
        ctx.close()


def test_the_middleware_indexes_each_item_once_per_response_and_survives_a_cut_line(tmp_path):
    from scrapy.http import HtmlResponse, Request

    keeper = PageKeeperMiddleware(tmp_path)
    resp = HtmlResponse("http://x.test/list", body="<p>华鼎证券</p>".encode(), encoding="utf-8")
    out = list(
        keeper.process_spider_output(
            resp, [{"url": "http://x.test/a"}, {"url": "http://x.test/b"}, Request("http://x.test/c")]
        )
    )
    assert len(out) == 3  # everything passes through unchanged
    (tmp_path / "index.jsonl").open("a", encoding="utf-8").write('{"url": "http://x.test/cut", "sha')
    index = read_index(tmp_path)
    assert set(index) == {"http://x.test/a", "http://x.test/b"}
    assert len([p for p in tmp_path.iterdir() if p.name != "index.jsonl"]) == 1  # one body, stored once
