"""Bad pages: truncated, empty, navigation only, enormous, absurdly deep, script-laden, garbage.

Extraction must never raise on them (only a bad per-site selector raises, and says so); what the page
does hold comes out, and nothing that is not article text is passed off as a body.
"""

from __future__ import annotations

import json

import pytest
from crawl_site import FIXTURES, PAGES, REPO, require_pages

from crawlers.extract import decode_html, extract_article

REFS = REPO / "bench" / "extract_refs"
FIELDS = {"title", "text", "author", "published_at", "canonical_url"}


def _page(site: str, name: str) -> tuple[dict, str]:
    require_pages()
    ref = json.loads((REFS / site / f"{name}.json").read_text(encoding="utf-8"))
    html, _ = decode_html((PAGES / ref["page"]).read_bytes())
    return ref, html


def _article(paragraphs: list[str], extra: str = "") -> str:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<html><head><title>某券商回应传闻_财经频道</title></head><body>"
        '<div class="nav"><a href="/">首页</a><a href="/f">财经</a><a href="/s">股票</a></div>'
        f"<h1>某券商回应传闻</h1><div class='article'>{ps}{extra}</div></body></html>"
    )


PARAS = [
    "网传某证券公司交易系统出现故障，部分投资者反映无法登录，引发市场关注。",
    "公司当日发布公告称，系统运行正常，客户资产安全，相关传闻不实。",
    "公司提醒投资者通过官方渠道获取信息，不信谣、不传谣。",
]


@pytest.mark.parametrize("cut_in_tag", [False, True], ids=["after-paragraph", "inside-a-tag"])
def test_truncated_real_page_keeps_what_arrived(cut_in_tag):
    ref, html = _page("sina-finance", "sina-1")
    last_arrived = "为什么中国的公园如此有人气？"
    end = html.index(last_arrived + "</p>") + len(last_arrived) + 4
    # inside-a-tag: the transfer stops after "<p" of the next paragraph, in the middle of its markup
    truncated = html[: html.index("<p", end) + 2] if cut_in_tag else html[:end]
    art = extract_article(truncated, ref["url"])
    lines = art["text"].split("\n")
    assert art["title"] == ref["title"]
    assert art["published_at"] == ref["published_at"]
    assert lines[0] == ref["body"][0]
    assert lines[-1] == last_arrived
    assert ref["body"][-1] not in art["text"]


def test_truncated_gbk_bytes_decode_and_extract():
    body = (FIXTURES / "gbk_article.html").read_bytes()
    cut = body[: len(body) * 2 // 3]
    if len(cut) % 2 == 0:  # make sure a two-byte GBK character is split
        cut = cut[:-1]
    html, encoding = decode_html(cut, "text/html")
    assert encoding == "gb18030"
    art = extract_article(html)
    assert art["title"] == "某券商回应“交易系统故障”传闻"
    assert art["text"].startswith("6月8日上午，有投资者在社交媒体上反映")


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n\t ",
        "<!-- nothing but a comment -->",
        "<html>",
        "<html><body></body></html>",
        "\x00\x01<<<>>>",
    ],
    ids=["empty", "whitespace", "comment", "open-tag", "empty-body", "garbage"],
)
def test_empty_input_gives_empty_fields(html):
    art = extract_article(html)
    assert set(art) == FIELDS
    assert art["text"] == ""
    assert art["published_at"] == ""


@pytest.mark.parametrize(
    ("site", "name", "start", "end"),
    [
        ("sina-finance", "sina-1", '<div class="article" id="article">', '<p class="show_author">'),
        ("sina-finance", "sina-2", '<div class="article" id="artibody">', '<p class="article-editor">'),
        ("stcn", "stcn-1", '<div class="txt_con" id="ctrlfscont">', '<div class="fenxiang">'),
        ("hexun", "hexun-1", '<div class="art_contextBox"', '<div class="comments">'),
        ("thepaper", "thepaper-1", '<div class="news_txt"', '<div class="go_to_topic">'),
        ("people", "people-1", '<div class="box_con" id="rwb_zw">', '<div class="edit clearfix">'),
    ],
)
def test_real_page_with_its_article_removed_has_an_empty_body(site, name, start, end):
    """An empty article must read as empty (the spider then falls back to the feed summary), not as
    the page's dateline, vote advert, copyright footer or a sidebar teaser."""
    ref, html = _page(site, name)
    i, j = html.index(start), html.index(end)
    art = extract_article(html[:i] + "<div>" + html[j:], ref["url"])
    assert art["text"] == ""
    assert art["title"] == ref["title"]
    assert art["published_at"] == ref["published_at"]


def test_list_page_of_links_has_no_body():
    require_pages()
    html, _ = decode_html((PAGES / "163-list" / "163-list-1.html").read_bytes())
    assert html.count("<a ") > 300  # it really is a page of links
    art = extract_article(html, "https://news.163.com/")
    assert art["text"] == ""


def test_synthetic_navigation_only_page_has_no_body():
    items = "".join(
        f'<li><a href="/news/{i}.html">某证券公司第{i}条新闻标题，关于市场的最新动态与分析</a><span>2024-01-0{i % 9 + 1}</span></li>'
        for i in range(60)
    )
    html = f"<html><head><title>财经新闻列表</title></head><body><ul class='list'>{items}</ul></body></html>"
    assert extract_article(html)["text"] == ""


def test_enormous_page_is_extracted_whole():
    """A 3 MB page: a huge link sidebar and script blob around a 400-paragraph article."""
    paragraphs = [
        f"第{i}段：某证券公司就相关传闻作出说明，表示经营正常，投资者权益不受影响。" for i in range(400)
    ]
    sidebar = "<div class='sidebar'><ul>" + "".join(
        f'<li><a href="/x/{i}">热门文章标题第{i}篇，点击查看详情</a></li>' for i in range(20000)
    )
    sidebar += "</ul></div>"
    blob = "<script>var data = '" + "脚本数据" * 200_000 + "';</script>"
    html = _article(paragraphs).replace("</body>", sidebar + blob + "</body>")
    assert len(html.encode("utf-8")) > 3_000_000
    art = extract_article(html)
    assert art["text"].split("\n") == paragraphs
    assert art["title"] == "某券商回应传闻"


@pytest.mark.parametrize("depth", [300, 2100, 20000])
def test_absurdly_deep_nesting_loses_no_text(depth):
    """libxml2 drops elements nested deeper than its limit; the text must still come out."""
    html = (
        "<html><head><title>深层嵌套页面</title></head><body>"
        + "<div>" * depth
        + "".join(f"<p>{p}</p>" for p in PARAS)
        + "</div>" * depth
        + "</body></html>"
    )
    assert extract_article(html)["text"].split("\n") == PARAS


SCRIPTY = (
    "<script>var secret = '脚本里的中文不应进入正文，即使它很长很长，像一段真正的文章那样。';</script>"
    "<style>.a:after { content: '样式里的中文不应进入正文，即使它很长很长很长很长。' }</style>"
    "<noscript>请启用浏览器脚本以获得更好的阅读体验，这段提示很长很长很长很长。</noscript>"
    '<script type="application/ld+json">{"description": "结构化数据里的中文不应进入正文，很长很长很长。"}</script>'
    "<template><p>模板里的中文不应进入正文，即使它看起来像一段很长很长的正文。</p></template>"
)


@pytest.mark.parametrize("options", [{}, {"body_css": "div.article"}], ids=["generic", "site"])
def test_script_and_style_text_never_reaches_the_body(options):
    html = _article(
        PARAS[:2], extra=SCRIPTY + f"<p>{PARAS[2]}<script>document.write('内联脚本输出')</script></p>"
    )
    art = extract_article(html, "", options)
    assert art["text"].split("\n") == PARAS
    for marker in ("脚本", "样式", "启用浏览器", "结构化数据", "模板", "document.write", "secret"):
        assert marker not in art["text"]


def test_real_page_inline_player_script_stays_out():
    ref, html = _page("sina-finance", "sina-1")
    # the article div itself holds a <script> configuring the video player
    article = html[html.index('<div class="article" id="article">') :]
    assert "SINA_TEXT_PAGE_INFO" in article[: article.index('<p class="show_author">')]
    for options in ({}, {"body_css": "#article"}):
        text = extract_article(html, ref["url"], options)["text"]
        assert "SINA_TEXT_PAGE_INFO" not in text and "videoList0" not in text


def test_bad_selector_is_a_clear_error_not_an_empty_article():
    with pytest.raises(ValueError, match="bad body selector"):
        extract_article(_article(PARAS), "", {"body_xpath": "//div[@"})
    with pytest.raises(ValueError, match="bad title selector"):
        extract_article(_article(PARAS), "", {"title_css": "h1[["})


def test_selector_matching_nothing_falls_back_to_generic_rules():
    """A site redesign breaks the configured selector: the article must still come out."""
    art = extract_article(_article(PARAS), "", {"body_css": "div.gone", "title_css": "h1.gone"})
    assert art["text"].split("\n") == PARAS
    assert art["title"] == "某券商回应传闻"
