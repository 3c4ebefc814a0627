"""A small news site on disk for the incremental-crawl tests: an RSS feed and article pages we can edit
between crawls (LocalSite reads files at request time)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from yuqing.localsite import LocalSite

ARTICLES = {
    "a1": (
        "华鼎证券回应交易系统故障：已全面恢复",
        "Mon, 03 Mar 2025 09:40:00 +0800",
        [
            "3月3日早盘，华鼎证券部分客户反映手机APP无法登录、委托下单失败。",
            "华鼎证券当日上午发布公告称，故障系机房网络设备异常所致，技术团队已于10时20分完成切换，交易系统全面恢复。",
            "公司表示，将对受影响客户的合理诉求逐一核实处理，并对系统进行全面排查。",
        ],
    ),
    "a2": (
        "券商佣金价格战再起，多家券商下调费率",
        "Mon, 03 Mar 2025 11:05:00 +0800",
        [
            "近期多家券商下调股票交易佣金费率，部分券商线上开户佣金已低至万分之一。",
            "业内人士指出，佣金价格战压缩了经纪业务利润，券商正加快向财富管理转型。",
            "华鼎证券相关负责人表示，公司将坚持差异化服务，不参与恶性价格竞争。",
        ],
    ),
    "a3": (
        "证监会：强化券商舆情应对与信息披露",
        "Mon, 03 Mar 2025 15:30:00 +0800",
        [
            "证监会有关部门负责人表示，证券公司应建立健全舆情监测和应对机制。",
            "对于不实信息，证券公司应第一时间澄清，防止发酵扩散；重大舆情应及时向属地证监局报告。",
            "节假日期间，各公司须安排专人值守，做好应急预案的演练。",
        ],
    ),
}

PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_财经频道</title>
<meta name="author" content="本报记者"></head>
<body>
<div class="nav"><a href="/">首页</a> | <a href="/finance">财经</a> | <a href="/stock">股票</a></div>
<div class="article">
<h1>{title}</h1>
<div class="info"><span class="date">{date}</span> <span class="source">来源：财经日报</span></div>
<div class="content">
{paragraphs}
</div>
</div>
<div class="footer">版权所有 © 财经日报 京ICP备00000000号</div>
</body></html>
"""

FEED_ITEM = """  <item>
    <title>{title}</title>
    <link>{{base_url}}/article/{key}.html</link>
    <guid isPermaLink="true">{{base_url}}/article/{key}.html</guid>
    <pubDate>{date}</pubDate>
  </item>
"""


@dataclass
class Newsroom:
    root: Path
    site: LocalSite
    articles: dict[str, tuple[str, str, list[str]]]

    @property
    def feed_url(self) -> str:
        return self.site.url("/feed.xml")

    def source(self, name: str = "newsroom", **options) -> dict:
        return {
            "name": name,
            "family": "rss",
            "url": self.feed_url,
            "interval_minutes": 1,
            "options": options,
        }

    def write(self, key: str, title: str, date: str, paragraphs: list[str]) -> None:
        self.articles[key] = (title, date, paragraphs)
        self._render()

    def _render(self) -> None:
        articles = self.articles
        items = "".join(FEED_ITEM.format(key=k, title=t, date=d) for k, (t, d, _) in articles.items())
        feed = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
            "<title>财经日报</title><link>{base_url}/</link>\n" + items + "</channel></rss>\n"
        )
        (self.root / "feed.xml").write_text(feed, encoding="utf-8")
        for key, (title, date, paras) in articles.items():
            body = "\n".join(f"<p>{p}</p>" for p in paras)
            (self.root / "article" / f"{key}.html").write_text(
                PAGE.format(title=title, date=date, paragraphs=body), encoding="utf-8"
            )

    def article_requests(self) -> list[str]:
        return [p for p in self.site.requests if p.startswith("/article/")]


def open_newsroom(root: Path, extra_routes: list[dict] | None = None) -> Newsroom:
    """Write the site under ``root`` and start serving it (call ``.site.stop()`` when done)."""
    (root / "article").mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")
    routes = [
        {"path": "/robots.txt", "file": "robots.txt", "content_type": "text/plain"},
        {"path": "/feed.xml", "file": "feed.xml", "content_type": "application/rss+xml; charset=utf-8"},
    ] + [
        {
            "path": f"/article/{k}.html",
            "file": f"article/{k}.html",
            "content_type": "text/html; charset=utf-8",
        }
        for k in ARTICLES
    ]
    routes += extra_routes or []
    (root / "manifest.json").write_text(json.dumps({"routes": routes}, ensure_ascii=False), encoding="utf-8")
    room = Newsroom(
        root=root,
        site=LocalSite.from_manifest_file(root / "manifest.json"),
        articles={k: (t, d, list(p)) for k, (t, d, p) in ARTICLES.items()},
    )
    room._render()
    room.site.start()
    return room
