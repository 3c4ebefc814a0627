"""Article extraction on the real saved pages, judged against the hand-written references.

The references (bench/extract_refs/<site>/<page>.json) were written by reading each page's HTML; the
note in each says how its body was decided. Every page is extracted twice: with the site's options from
bench/extract_refs/sites.json and with none (the generic extractor a newly added site gets).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crawl_site import PAGES, REPO, require_pages

from crawlers.extract import decode_html, extract_article

REFS = REPO / "bench" / "extract_refs"
SITES = json.loads((REFS / "sites.json").read_text(encoding="utf-8"))
REF_FILES = sorted(REFS.glob("*/*.json"))

# strings each page really shows outside its article (navigation, captions, credits, footers, lists);
# the test checks they are on the page first, so it cannot pass by looking for something absent
OUTSIDE_ARTICLE = {
    "sina-1": [
        "新闻中心",
        "加拿大大叔Gweilo （视频截图）",
        "责任编辑：张迪",
        "我要反馈",
        "最热评论",
        "SINA_TEXT_PAGE_INFO",
    ],
    "sina-2": ["点击投票", "责任编辑：霍琦", "文章关键词", "我要反馈"],
    "stcn-1": ["您所在的位置", "来源：证券时报网", "为你推荐", "声明：证券时报", "点击排行", "时报观察"],
    "hexun-1": ["责任编辑： HN666", "你可能会喜欢", "写评论", "跟帖用户自律公约"],
    "thepaper-1": ["字号", "共享充电宝。视觉中国 资料", "相关推荐", "责任编辑：张珺", "澎湃新闻报料"],
    "people-1": [
        "点击进入“文艺星青年”",
        "【1】",
        "责编：汤诗瑶",
        "推荐阅读",
        "热点排行",
        "人民日报客户端下载",
    ],
}


def _load(ref_file: Path) -> tuple[dict, str]:
    require_pages()
    ref = json.loads(ref_file.read_text(encoding="utf-8"))
    html, _ = decode_html((PAGES / ref["page"]).read_bytes())
    return ref, html


def _cases():
    for ref_file in REF_FILES:
        for mode in ("site", "generic"):
            yield pytest.param(ref_file, mode, id=f"{ref_file.stem}-{mode}")


def _options(ref_file: Path, mode: str) -> dict:
    return SITES.get(ref_file.parent.name, {}) if mode == "site" else {}


def test_every_saved_article_page_has_a_reference():
    require_pages()
    saved = {p.relative_to(PAGES).as_posix() for p in PAGES.glob("*/*.html") if "list" not in p.parent.name}
    referenced = {json.loads(f.read_text(encoding="utf-8"))["page"] for f in REF_FILES}
    assert saved == referenced


@pytest.mark.parametrize(("ref_file", "mode"), _cases())
def test_body_is_the_articles_paragraphs(ref_file, mode):
    ref, html = _load(ref_file)
    art = extract_article(html, ref["url"], _options(ref_file, mode))
    lines = art["text"].split("\n")
    # the reader sees the article's first paragraph first and its last paragraph last
    assert lines[0] == ref["body"][0]
    assert lines[-1] == ref["body"][-1]
    # paragraphs stay separate lines: each reference paragraph is one whole line, in order
    rest = iter(lines)
    missing = [p for p in ref["body"] if p not in rest]  # consumes: finds each after the previous one
    assert not missing, f"paragraphs not found as whole lines, in order: {missing[:3]}"
    assert all(line.strip() == line and line for line in lines)


@pytest.mark.parametrize(("ref_file", "mode"), _cases())
def test_no_navigation_or_boilerplate_in_the_body(ref_file, mode):
    ref, html = _load(ref_file)
    art = extract_article(html, ref["url"], _options(ref_file, mode))
    for junk in OUTSIDE_ARTICLE[ref_file.stem]:
        assert junk in html, f"test data: {junk!r} is not on {ref['page']}"
        assert junk not in art["text"], f"{junk!r} leaked into the body of {ref['page']} ({mode})"
    assert "<" not in art["text"] or "</" not in art["text"]
    assert "\ufffd" not in art["text"] + art["title"]


@pytest.mark.parametrize(("ref_file", "mode"), _cases())
def test_title_date_and_author_are_right(ref_file, mode):
    ref, html = _load(ref_file)
    art = extract_article(html, ref["url"], _options(ref_file, mode))
    assert art["title"] == ref["title"]
    assert art["published_at"] == ref["published_at"]
    assert art["published_at"].endswith("+08:00")
    assert art["author"] == ref["author"]


def test_people_page_read_by_its_lying_gb2312_header_still_extracts():
    """The page and its server say GB2312; the bytes are UTF-8. What the officer reads must be Chinese."""
    ref, _ = _load(REFS / "people" / "people-1.json")
    body = (PAGES / ref["page"]).read_bytes()
    html, encoding = decode_html(body, "text/html; charset=GB2312")
    assert encoding == "utf-8"
    art = extract_article(html, ref["url"])
    assert art["title"] == ref["title"]
    assert art["text"].split("\n")[0] == ref["body"][0]
    assert "鐖" not in art["text"]  # '父亲' misread as GB2312 starts with this character
