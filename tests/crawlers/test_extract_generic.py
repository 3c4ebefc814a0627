"""The generic rules, each on a small page built the way Chinese news sites mark their articles up.

These cover what the six saved pages do not: JSON-LD, <time>, publishdate metas, 发布时间 labels,
作者/来源/责任编辑 lines, figure captions. The real pages are in test_extract_real_pages.py.
"""

from __future__ import annotations

import pytest

from crawlers.extract import extract_article

P1 = "某证券公司今日发布公告称，公司各项业务经营正常，网传消息不实，公司已向公安机关报案。"
P2 = "公司相关负责人表示，将依法维护公司及广大投资者的合法权益，并提醒投资者不信谣、不传谣。"
P3 = "记者注意到，该公司股价当日下跌2.3%，成交量较前一交易日明显放大，市场关注度较高。"


def page(head: str = "", header: str = "", body: str = "", title: str = "某券商回应网传消息") -> str:
    return (
        f"<html><head><title>{title}_证券频道_某财经网</title>{head}</head><body>"
        '<div class="top-nav"><a href="/">首页</a> | <a href="/stock">股票</a> | <a href="/fund">基金</a></div>'
        f"<div class='main'><h1>{title}</h1>{header}<div class='article-body'>"
        f"{body or ''.join(f'<p>{p}</p>' for p in (P1, P2, P3))}</div></div>"
        '<div class="related"><h3>相关新闻</h3><ul>'
        + "".join(f'<li><a href="/n/{i}">2023年12月{i + 1}日 其他新闻标题第{i}条</a></li>' for i in range(8))
        + "</ul></div></body></html>"
    )


@pytest.mark.parametrize(
    ("header", "iso"),
    [
        ("<div class='info'>2024年01月05日 10:20 来源：证券时报</div>", "2024-01-05T10:20:00+08:00"),
        ("<div class='info'>2024-01-05 10:20:00 来源：证券时报</div>", "2024-01-05T10:20:00+08:00"),
        ("<div class='info'>发布时间：2024-01-05 10:20　来源：证券时报</div>", "2024-01-05T10:20:00+08:00"),
        ("<div class='info'>2024/01/05 10:20 来源：证券时报</div>", "2024-01-05T10:20:00+08:00"),
        ("<div class='info'>来源：证券时报 | 2024年1月5日10时20分</div>", "2024-01-05T10:20:00+08:00"),
    ],
)
def test_chinese_dates_under_the_title(header, iso):
    art = extract_article(page(header=header))
    assert art["published_at"] == iso
    assert art["text"].split("\n") == [P1, P2, P3]  # the dateline is not a paragraph


def test_meta_publishdate_wins_over_a_date_in_related_links():
    head = '<meta name="publishdate" content="2024-01-05 10:20:00">'
    assert extract_article(page(head=head))["published_at"] == "2024-01-05T10:20:00+08:00"


def test_html5_time_element():
    header = '<p class="byline"><time datetime="2024-01-05T02:20:00Z">1月5日</time></p>'
    assert extract_article(page(header=header))["published_at"] == "2024-01-05T02:20:00+00:00"


def test_json_ld_news_article():
    head = """<script type="application/ld+json">
    {"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "name": "某财经网"},
      {"@type": "NewsArticle", "headline": "某券商回应网传消息",
       "datePublished": "2024-01-05T10:20:00+08:00",
       "author": [{"@type": "Person", "name": "张三"}, {"@type": "Person", "name": "李四"}]}
    ]}</script>"""
    art = extract_article(page(head=head, title="某券商回应网传消息"))
    assert art["published_at"] == "2024-01-05T10:20:00+08:00"
    assert art["author"] == "张三、李四"
    assert art["title"] == "某券商回应网传消息"


def test_broken_json_ld_is_ignored():
    head = '<script type="application/ld+json">{"headline": "坏的, "datePublished": </script>'
    header = "<div class='info'>2024-01-05 10:20 来源：证券时报</div>"
    art = extract_article(page(head=head, header=header))
    assert art["published_at"] == "2024-01-05T10:20:00+08:00"
    assert art["text"].split("\n") == [P1, P2, P3]


def test_og_title_when_the_page_title_is_the_site_name():
    head = '<meta property="og:title" content="某券商回应网传消息">'
    html = page(head=head).replace(
        "<title>某券商回应网传消息_证券频道_某财经网</title>", "<title>某财经网</title>"
    )
    assert extract_article(html)["title"] == "某券商回应网传消息"


@pytest.mark.parametrize(
    ("header", "author"),
    [
        ("<div class='info'>2024-01-05 10:20 来源：证券时报 作者：张三</div>", "张三"),
        (
            "<div class='info'>2024-01-05 10:20 <span>记者：王五</span> <span>来源：新京报</span></div>",
            "王五",
        ),
        ("<div class='info'>2024-01-05 10:20 来源：证券时报</div>", "证券时报"),
        ("<div class='info'>2024-01-05 10:20 中国证券报</div>", "中国证券报"),  # unlabelled credit
        ("<div class='info'><p>赵六/经济观察报</p><p>2024-01-05 10:20</p></div>", "赵六/经济观察报"),
        ("<div class='info'>2024-01-05 10:20</div>", ""),
    ],
)
def test_author_and_source_lines(header, author):
    assert extract_article(page(header=header))["author"] == author


def test_editor_lines_are_not_body():
    body = (
        f"<p>{P1}</p><p>{P2}</p>"
        "<p>（责任编辑：王小二）</p><p>编辑：张三 校对：李四</p><p>本文来源：证券时报，版权所有，未经授权不得转载。</p>"
    )
    art = extract_article(page(body=body))
    assert art["text"].split("\n") == [P1, P2]


def test_figure_captions_and_photo_credits_are_not_body():
    body = (
        f"<p>{P1}</p>"
        '<figure><img src="a.jpg" alt="公司总部大楼"><figcaption>公司总部大楼（资料图）</figcaption></figure>'
        f"<p>{P2}</p>"
        '<div class="img_wrapper"><img src="b.jpg" alt="交易大厅一角"><span>交易大厅一角</span></div>'
        '<p><img src="c.jpg"></p><p>交易大厅。视觉中国 资料</p>'
        f"<p>{P3}</p>"
    )
    assert extract_article(page(body=body))["text"].split("\n") == [P1, P2, P3]


def test_short_line_after_an_image_without_a_credit_is_kept():
    """A subheading that happens to follow a photo is article text."""
    body = f'<p>{P1}</p><p><img src="a.jpg"></p><p><strong>公司回应</strong></p><p>{P2}</p>'
    assert extract_article(page(body=body))["text"].split("\n") == [P1, "公司回应", P2]


def test_br_separated_paragraphs_stay_separate():
    body = f"{P1}<br><br>{P2}<br/>{P3}"
    assert extract_article(page(body=body))["text"].split("\n") == [P1, P2, P3]


def test_share_buttons_and_comment_box_in_the_article_container_are_dropped():
    body = (
        f"<p>{P1}</p><p>{P2}</p><p>{P3}</p>"
        '<div class="share-bar">分享到：<a href="#">微博</a><a href="#">微信</a><a href="#">QQ空间</a></div>'
        '<div class="comment-box"><textarea>我有话要说</textarea><p>网友评论：这家公司我早就说过有问题，大家小心！</p></div>'
        "<p>扫一扫，关注某财经网官方微信公众号</p>"
    )
    assert extract_article(page(body=body))["text"].split("\n") == [P1, P2, P3]


def test_a_one_sentence_flash_is_still_a_body():
    """The no-article thresholds must not swallow a short 快讯."""
    html = (
        "<html><head><title>快讯</title></head><body><div class='nav'><a href='/'>首页</a></div>"
        "<div class='article'><p>某券商宣布暂停部分业务，详情待公告。</p></div></body></html>"
    )
    assert extract_article(html)["text"] == "某券商宣布暂停部分业务，详情待公告。"
