"""Extraction helpers on their own: encodings, dates, HTML fragments, per-site overrides."""

from __future__ import annotations

import pytest
from crawl_site import FIXTURES, PAGES, require_pages

from crawlers.extract import decode_html, extract_article, html_fragment_to_text, parse_datetime


def test_people_page_declares_gb2312_but_is_utf8():
    require_pages()
    body = (PAGES / "people" / "people-1.html").read_bytes()
    text, encoding = decode_html(body, "text/html; charset=GB2312")
    assert encoding == "utf-8"
    assert "女儿出嫁，郑板桥画了几笔兰花当嫁妆" in text


def test_true_gbk_page():
    body = (FIXTURES / "gbk_article.html").read_bytes()
    for content_type in (None, "text/html", "text/html; charset=gb2312"):
        text, encoding = decode_html(body, content_type)
        assert encoding == "gb18030"
        assert "某券商回应“交易系统故障”传闻" in text


def test_gbk_without_any_declaration_is_guessed():
    body = "<html><body><p>网传某证券公司交易系统故障，公司回应称系统运行正常，客户资产安全。</p></body></html>".encode(
        "gbk"
    )
    text, _ = decode_html(body)
    assert "交易系统故障" in text


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Tue Jun 08 09:35:04 +0800 2021", "2021-06-08T09:35:04+08:00"),
        ("2021年06月08日 09:35", "2021-06-08T09:35:00+08:00"),
        ("2019年06月15日08:18", "2019-06-15T08:18:00+08:00"),
        ("2019-09-26 12:11", "2019-09-26T12:11:00+08:00"),
        ("2019-09-26 10:56:28", "2019-09-26T10:56:28+08:00"),
        ("2019/06/15", "2019-06-15T00:00:00+08:00"),
        ("2019-11-25T18:57:38+08:00", "2019-11-25T18:57:38+08:00"),
        ("2019-11-25T10:57:38Z", "2019-11-25T10:57:38+00:00"),
        ("Mon, 25 Nov 2019 18:57:38 +0800", "2019-11-25T18:57:38+08:00"),
        ("Mon, 25 Nov 2019 10:57:38 GMT", "2019-11-25T10:57:38+00:00"),
        ("", ""),
        ("not a date", ""),
        ("2019-13-45", ""),
    ],
)
def test_parse_datetime(raw, iso):
    assert parse_datetime(raw) == iso


def test_html_fragment_to_text():
    html = '<a href="/n/x">@某人</a> 说<br />第二行<img alt="[哈哈]" src="x.png"> <span class="url-icon"><img alt=[心] src="y"></span>'
    assert html_fragment_to_text(html) == "@某人 说\n第二行[哈哈] [心]"
    assert html_fragment_to_text("") == ""
    assert html_fragment_to_text("纯文本 &amp; 没有标签") == "纯文本 & 没有标签"


def test_extract_without_network_and_overrides():
    require_pages()
    html, _ = decode_html((PAGES / "thepaper" / "thepaper-1.html").read_bytes())
    generic = extract_article(html, "https://www.thepaper.cn/newsDetail_forward_4543264")
    assert generic["title"] == "共享充电宝涨价告别1元时代：是“收割韭菜”还是回归理性"
    assert generic["published_at"] == "2019-09-24T09:10:00+08:00"
    # no 作者/来源 label on the page: the generic rule takes the short byline right above the date
    assert generic["author"] == "石佳/中国青年报"
    tuned = extract_article(
        html, "", {"author_css": ".news_path a", "title_xpath": "//h1", "body_css": "div.news_txt"}
    )
    assert tuned["author"] == "首页"  # a per-site selector wins, even a silly one
    assert tuned["text"] == generic["text"]
    with pytest.raises(ValueError):
        extract_article(html, "", {"body_xpath": "//div[@"})


def test_canonical_link_and_meta_fallbacks():
    html = """<html><head><title>标题甲_某网</title><link rel="canonical" href="/a/1.html">
    <meta name="author" content="张三"><meta property="article:published_time" content="2024-10-01T08:00:00+08:00">
    </head><body><div class="nav"><a href="/">首页</a><a href="/b">财经</a></div>
    <div id="content"><p>第一段正文内容，关于某证券公司的报道，说明了事件的经过和各方的回应。</p>
    <p>第二段正文内容，记者进一步采访了相关人士，了解到更多细节和背景情况。</p></div></body></html>"""
    art = extract_article(html, "https://news.example.com/x?utm_source=y")
    assert art["canonical_url"] == "https://news.example.com/a/1.html"
    assert art["title"] == "标题甲"
    assert art["author"] == "张三"
    assert art["published_at"] == "2024-10-01T08:00:00+08:00"
    assert art["text"].split("\n") == [
        "第一段正文内容，关于某证券公司的报道，说明了事件的经过和各方的回应。",
        "第二段正文内容，记者进一步采访了相关人士，了解到更多细节和背景情况。",
    ]
