"""Render an e2e world (worlds/NAME/world/*.yaml) into the files the sites would serve, a LocalSite
manifest, and the [[sources]] of a yuqing.toml that point at them.

A world is a folder under worlds/ (bench/e2e/README.md): world/*.yaml (firm.yaml, news.yaml,
weibo.yaml, guba.yaml, xueqiu.yaml, feeds.yaml) and labels.yaml. The news sites' names, menus and page
layouts are the world's own (``sites:`` in news.yaml); this module only knows the layouts.

Every family is written in the format its spider reads (crawlers/spiders/*.py; the formats are those of
tests/fixtures/crawl/families): RSS 2.0 / Atom feeds and article pages, news list pages, Baidu News
result pages, the m.weibo.cn API (search, timelines, statuses/extend), 股吧 list / post pages and the
search JSONP, the 雪球 JSON API, the 黑猫投诉 search API and the 财联社 telegraph roll.

Times are rendered against ``now`` (the moment the bench starts), each as its site prints it: "5分钟前",
"今天 08:30", "昨天 21:05", "11-18", epoch seconds or milliseconds, RFC 822, ISO 8601. So every item is
recent whatever day the bench runs, and the crawl resolves relative times against its real clock.

Nothing here knows the labels (labels.yaml): the served files carry only what a site would show.
load_labels reads them for the bench, which keeps them apart from what it serves.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

HERE = Path(__file__).resolve().parent
WORLDS_DIR = HERE / "worlds"
DEFAULT_WORLD = "lanshan"  # 岚山证券, the first world (bench/e2e/worlds/lanshan/README.md)
WORLD_DIR = WORLDS_DIR / DEFAULT_WORLD / "world"
LABELS_FILE = WORLDS_DIR / DEFAULT_WORLD / "labels.yaml"
CHINA_TZ = timezone(timedelta(hours=8))
BASE = "{base_url}"  # LocalSite replaces it in served text files
XQ_TOKEN = "bench-e2e-xq-token"  # fictional; only ever in the bench's own secrets file

JSON_CT = "application/json; charset=utf-8"
HTML_UTF8 = "text/html; charset=utf-8"


# ------------------------------------------------------------------------------------------------ world


ARTICLE_LAYOUTS = ("meta", "info", "cms")  # see article_page
LIST_LAYOUTS = ("paged", "simple")  # see paged_list / simple_list


@dataclass
class World:
    firm: dict[str, Any]
    watch: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    users: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # family → key → user
    # news site key (the first part of its URL paths, the sources' `template`) → {name, nav, layout}
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)


def world_names() -> list[str]:
    """The worlds under worlds/ (a folder with world/firm.yaml and labels.yaml)."""
    return sorted(
        p.name
        for p in WORLDS_DIR.iterdir()
        if (p / "world" / "firm.yaml").is_file() and (p / "labels.yaml").is_file()
    )


def world_paths(name: str = DEFAULT_WORLD) -> tuple[Path, Path]:
    """(world folder, labels file) of the world called ``name``; a clear error for an unknown name."""
    if name not in world_names():
        raise ValueError(f"no e2e world {name!r}; known: {', '.join(world_names())} (bench/e2e/worlds/)")
    return WORLDS_DIR / name / "world", WORLDS_DIR / name / "labels.yaml"


def load_world(world_dir: Path = WORLD_DIR) -> World:
    firm_doc = yaml.safe_load((world_dir / "firm.yaml").read_text(encoding="utf-8"))
    sources: list[dict[str, Any]] = []
    users: dict[str, dict[str, dict[str, Any]]] = {}
    sites: dict[str, dict[str, Any]] = {}
    for name in ("news.yaml", "weibo.yaml", "guba.yaml", "xueqiu.yaml", "feeds.yaml"):
        doc = yaml.safe_load((world_dir / name).read_text(encoding="utf-8"))
        if doc.get("users"):
            users[name.removesuffix(".yaml")] = doc["users"]
        sites.update(doc.get("sites") or {})
        sources.extend(doc["sources"])
    for key, site in sites.items():
        if site.get("layout") not in ARTICLE_LAYOUTS:
            raise ValueError(
                f"site {key!r}: layout must be one of {ARTICLE_LAYOUTS}, not {site.get('layout')!r}"
            )
    for src in sources:
        site = src.get("template")
        if site and site not in sites:
            raise ValueError(f"source {src['name']!r}: template {site!r} is not in any sites: block")
    return World(
        firm=firm_doc["firm"], watch=firm_doc.get("watch") or [], sources=sources, users=users, sites=sites
    )


def load_labels(path: Path = LABELS_FILE) -> dict[str, dict[str, Any]]:
    return {str(k): v for k, v in yaml.safe_load(path.read_text(encoding="utf-8"))["items"].items()}


def source_items(src: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item a source serves (the posts a crawl should store), in order."""
    if src["family"] == "weibo" and "pages" in src:
        return [it for page in src["pages"] for it in page]
    if src["family"] == "weibo" and "timelines" in src:
        return [it for uid in src["timelines"] for it in src["timelines"][uid]]
    return list(src.get("items") or [])


# ------------------------------------------------------------------------------------------------ times

_AGE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_age(age: str) -> timedelta:
    m = _AGE.match(str(age).strip())
    if not m or not any(m.groups()):
        raise ValueError(f"bad age {age!r} (e.g. 1d3h, 45m)")
    d, h, mi = (int(x or 0) for x in m.groups())
    return timedelta(days=d, hours=h, minutes=mi)


def when(now: datetime, age: str) -> datetime:
    return (now - parse_age(age)).astimezone(CHINA_TZ).replace(microsecond=0)


def weibo_relative(t: datetime, now: datetime) -> str:
    """How m.weibo.cn search prints a time: 刚刚 / N分钟前 / 今天 HH:MM / 昨天 HH:MM / MM-DD."""
    now = now.astimezone(CHINA_TZ)
    delta = now - t
    if delta < timedelta(minutes=1):
        return "刚刚"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)}分钟前"
    if t.date() == now.date():
        return f"今天 {t:%H:%M}"
    if t.date() == (now - timedelta(days=1)).date():
        return f"昨天 {t:%H:%M}"
    return f"{t:%m-%d}"


def weibo_full(t: datetime) -> str:
    """How timelines and retweeted statuses print a time: "Tue Jun 08 09:35:04 +0800 2021"."""
    return t.strftime("%a %b %d %H:%M:%S +0800 %Y")


def baidu_relative(t: datetime, now: datetime) -> str:
    now = now.astimezone(CHINA_TZ)
    delta = now - t
    if delta < timedelta(hours=1):
        return f"{max(1, int(delta.total_seconds() // 60))}分钟前"
    if delta < timedelta(hours=24):
        return f"{int(delta.total_seconds() // 3600)}小时前"
    if t.date() == (now - timedelta(days=1)).date():
        return f"昨天 {t:%H:%M}"
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def md(t: datetime) -> str:
    return f"{t.month}月{t.day}日"


def fill(text: str, t: datetime) -> str:
    return (text or "").replace("{md}", md(t))


# ------------------------------------------------------------------------------------------------ output


@dataclass
class Rendered:
    routes: list[dict[str, Any]]
    sources: list[dict[str, Any]]  # [[sources]] tables; url/options contain "{base_url}"
    about_firm: set[str]  # names of sources whose every post is about the firm (intended option)
    items: dict[str, dict[str, Any]]  # id → {family, source, age, published}
    secrets_file: Path


class _Out:
    def __init__(self, root: Path):
        self.root = root
        self.routes: list[dict[str, Any]] = []
        self._seen: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()
        self._files: set[Path] = set()

    def file(
        self, rel: str, data: str | dict | list, route: str, content_type: str, **route_extra: Any
    ) -> None:
        path = self.root / "site" / rel
        key = (route, tuple(sorted((route_extra.get("query") or {}).items())))
        if key in self._seen or path in self._files:  # two sources of one world must not share a URL
            raise ValueError(f"route {route} {dict(key[1])} or file {rel} is served twice")
        self._seen.add(key)
        self._files.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, indent=1)
        path.write_text(text, encoding="utf-8")
        self.routes.append({"path": route, "file": str(path), "content_type": content_type, **route_extra})


def esc(s: str) -> str:
    return html.escape(s or "", quote=True)


def paragraphs(body: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", (body or "").strip()) if p.strip()]


# ------------------------------------------------------------------------------------------------ news

_SITES: dict[str, dict[str, Any]] = {}  # the world being rendered: site key → {name, nav, layout}


def _nav_html(site: str) -> str:
    name, items = _SITES[site]["name"], _SITES[site]["nav"]
    links = "".join(f'<li><a href="{BASE}/{site}/{i}/">{n}</a></li>' for i, n in enumerate(items))
    return f'<div class="top-nav"><a class="logo" href="{BASE}/{site}/">{name}</a><ul>{links}</ul></div>'


def _side_html(site: str, others: list[dict[str, Any]]) -> str:
    links = "".join(f'<li><a href="{BASE}{o["id"]}">{esc(o["title"])}</a></li>' for o in others[:5])
    return (
        f'<div class="side"><div class="box"><h3>相关阅读</h3><ul>{links}</ul></div>'
        f'<div class="box"><h3>热门排行</h3><ol><li><a href="{BASE}/{site}/hot/1.html">今日收评：三大指数震荡</a></li>'
        f'<li><a href="{BASE}/{site}/hot/2.html">北向资金连续三日净流入</a></li>'
        f'<li><a href="{BASE}/{site}/hot/3.html">十二月新股申购日历</a></li></ol></div></div>'
    )


def _footer_html(site: str) -> str:
    name = _SITES[site]["name"]
    return (
        f'<div class="footer"><p><a href="{BASE}/{site}/about/">关于我们</a> | <a href="{BASE}/{site}/contact/">联系我们</a>'
        f' | <a href="{BASE}/{site}/ad/">广告服务</a> | <a href="{BASE}/{site}/report/">违法和不良信息举报</a></p>'
        f"<p>Copyright © 2010-{datetime.now().year} {name} 版权所有 未经授权禁止转载</p>"
        "<p>本站为虚构站点（舆情值守台 e2e 基准数据）</p></div>"
    )


def article_page(site: str, item: dict[str, Any], t: datetime, others: list[dict[str, Any]]) -> str:
    """An article page in one of three layouts, as Chinese news sites write them: ``meta`` (metadata in
    <head>, a date line under the title), ``info`` (no metadata: date and author only in the info line),
    ``cms`` (an older CMS page, the text in a TRS editor block, a 发布时间： label)."""
    title = fill(item["title"], t)
    paras = [fill(p, t) for p in paragraphs(item["body"])]
    url = f"{BASE}{item['id']}"
    author = item.get("author") or ""
    site_name = _SITES[site]["name"]
    layout = _SITES[site]["layout"]
    body_ps = "\n".join(f"<p>　　{esc(p)}</p>" for p in paras)
    if layout == "meta":  # metadata in <head>, a date line under the title
        return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{esc(title)}_{site_name}</title>
<meta name="keywords" content="券商,{esc(title[:8])}">
<meta name="description" content="{esc(item.get("summary") or paras[0][:80])}">
<meta property="og:type" content="article"><meta property="og:title" content="{esc(title)}">
<meta property="og:url" content="{url}">
<meta property="article:published_time" content="{t.isoformat()}">
<meta name="author" content="{esc(author)}">
<link rel="canonical" href="{url}">
<script>var PAGE_CONFIG = {{channel: "securities", docid: "{item["id"].rsplit("/", 1)[-1]}"}};</script>
</head><body>
{_nav_html(site)}
<div class="crumb"><a href="{BASE}/{site}/">{site_name}</a> &gt; <a href="{BASE}/{site}/2/">证券</a> &gt; 正文</div>
<div class="wrap"><div class="main">
<h1 class="article-title">{esc(title)}</h1>
<div class="article-info"><span class="time">{t:%Y年%m月%d日 %H:%M}</span> <span class="source">来源：{site_name}</span> <span class="author">{esc(author)}</span></div>
<div class="article-body" id="artibody">
{body_ps}
<p class="editor">责任编辑：陈晨</p>
</div>
<div class="share"><a href="javascript:;">分享到微信</a> <a href="javascript:;">分享到微博</a></div>
<div class="statement">声明：本文仅代表作者观点，不构成投资建议。</div>
</div>{_side_html(site, others)}</div>
{_footer_html(site)}
</body></html>
"""
    if layout == "info":  # no metadata: the date and author only in the info line
        return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{esc(title)} - {site_name}</title>
<meta name="keywords" content="{site_name},券商">
</head><body>
{_nav_html(site)}
<div class="container"><div class="left">
<div class="detail-title"><h1>{esc(title)}</h1></div>
<div class="detail-info">{t:%Y-%m-%d %H:%M:%S}　来源：{site_name}　作者：{esc(author)}</div>
<div class="detail-content" id="content">
{body_ps}
</div>
<div class="detail-editor">（编辑 吴桐）</div>
<div class="comment"><h3>网友评论</h3><p>登录后参与评论</p></div>
</div>{_side_html(site, others)}</div>
{_footer_html(site)}
</body></html>
"""
    # cms: an older CMS page, the text in a TRS editor block, "发布时间：" label
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>{esc(title)}--{site_name}</title>
</head><body>
{_nav_html(site)}
<table width="1000" align="center"><tr><td class="position">当前位置：<a href="{BASE}/{site}/">首页</a> &gt; <a href="{BASE}/{site}/list/quanshang.html">券商</a></td></tr></table>
<div class="content_area">
<h2 class="titl">{esc(title)}</h2>
<div class="fbsj">发布时间：{t:%Y年%m月%d日 %H:%M}　　来源：{site_name}　　{esc(author)}</div>
<div class="TRS_Editor">
{body_ps}
</div>
<div class="zrbj">【责任编辑：郑楠】</div>
</div>
{_side_html(site, others)}
{_footer_html(site)}
</body></html>
"""


def rss2(src: dict[str, Any], now: datetime) -> str:
    entries = []
    for it in src["items"]:
        t = when(now, it["age"])
        entries.append(
            f"""<item>
<title>{esc(fill(it["title"], t))}</title>
<link>{BASE}{it["id"]}</link>
<description><![CDATA[{fill(it.get("summary", ""), t)}]]></description>
<author>{esc(it.get("author", ""))}</author>
<category>证券</category>
<pubDate>{format_datetime(t)}</pubDate>
<guid isPermaLink="false">{src["name"]}-{it["id"].rsplit("/", 1)[-1].split(".")[0]}</guid>
</item>"""
        )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>{esc(src["display_name"])}</title>
<link>{BASE}/{src["template"]}/</link>
<description>{esc(src["display_name"])} 最新资讯</description>
<language>zh-cn</language>
<lastBuildDate>{format_datetime(now.astimezone(CHINA_TZ))}</lastBuildDate>
<ttl>10</ttl>
{chr(10).join(entries)}
</channel></rss>
"""


def atom(src: dict[str, Any], now: datetime) -> str:
    entries = []
    for it in src["items"]:
        t = when(now, it["age"])
        entries.append(
            f"""<entry>
<title>{esc(fill(it["title"], t))}</title>
<link rel="alternate" type="text/html" href="{BASE}{it["id"]}"/>
<id>tag:{src["template"]}.example,2026:{it["id"].rsplit("/", 1)[-1].split(".")[0]}</id>
<published>{t.isoformat()}</published>
<updated>{t.isoformat()}</updated>
<author><name>{esc(it.get("author", ""))}</name></author>
<summary type="html">{esc(fill(it.get("summary", ""), t))}</summary>
</entry>"""
        )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">
<title>{esc(src["display_name"])}</title>
<link rel="self" href="{BASE}{src["feed"]}"/>
<link rel="alternate" href="{BASE}/{src["template"]}/"/>
<id>tag:{src["template"]}.example,2026:feed</id>
<updated>{now.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()}</updated>
{chr(10).join(entries)}
</feed>
"""


def paged_list(
    src: dict[str, Any], page_items: list[dict[str, Any]], now: datetime, page: int, pages: list[str]
) -> str:
    """A list page of several (``list_layout: paged``): h3 links with a summary, 上一页 / 下一页."""
    site = src["template"]
    lis = []
    for it in page_items:
        t = when(now, it["age"])
        lis.append(
            f'<li><h3><a href="{BASE}{it["id"]}" target="_blank">{esc(fill(it["title"], t))}</a></h3>'
            f'<p class="summary">{esc(paragraphs(fill(it["body"], t))[0][:60])}…</p>'
            f'<span class="date">{t:%Y-%m-%d %H:%M}</span></li>'
        )
    nxt = (
        f'<a class="next" href="{BASE}{pages[page]}">下一页</a>'
        if page < len(pages)
        else '<span class="next disabled">下一页</span>'
    )
    prev = f'<a class="prev" href="{BASE}{pages[page - 2]}">上一页</a>' if page > 1 else ""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>券商_{_SITES[site]["name"]}</title></head><body>
{_nav_html(site)}
<div class="list-wrap"><h2 class="col-title">券商</h2>
<ul class="news-list">
{chr(10).join(lis)}
</ul>
<div class="pager">{prev} <span class="cur">{page}</span> {nxt}</div>
</div>
<div class="side"><h3>专题</h3><ul><li><a href="{BASE}/{site}/special/ipo.html">全面注册制一周年</a></li><li><a href="{BASE}/{site}/special/fintech.html">金融科技周</a></li></ul></div>
{_footer_html(site)}
</body></html>
"""


def simple_list(src: dict[str, Any], now: datetime) -> str:
    """One list page (``list_layout: simple``): time and link per line, read by a link pattern."""
    site = src["template"]
    lis = []
    for it in src["items"]:
        t = when(now, it["age"])
        lis.append(
            f'<li><span class="time">{t:%m-%d %H:%M}</span><a href="{BASE}{it["id"]}" title="{esc(fill(it["title"], t))}">{esc(fill(it["title"], t))}</a></li>'
        )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>券商频道_{_SITES[site]["name"]}</title></head><body>
{_nav_html(site)}
<div class="mainFrame"><div class="listBox"><div class="title">券商要闻</div>
<ul>
{chr(10).join(lis)}
</ul>
<div class="pagerbox"><a href="{BASE}/{site}/quanshang/index_2.html">下一页</a></div></div>
<div class="rightBox"><div class="title">数据中心</div><ul><li><a href="{BASE}/{site}/data/rzrq.html">融资融券</a></li><li><a href="{BASE}/{site}/data/lhb.html">龙虎榜</a></li><li><a href="{BASE}/{site}/special/2026.html">年度专题</a></li></ul></div></div>
{_footer_html(site)}
</body></html>
"""


def baidu_results(src: dict[str, Any], now: datetime) -> str:
    blocks = []
    for it in src["items"]:
        t = when(now, it["age"])
        title, summary = fill(it["title"], t), fill(it["summary"], t)
        hl_title = esc(title).replace(esc(src["keyword"]), f"<em>{esc(src['keyword'])}</em>")
        href = f"{BASE}{it['id']}"
        stamp = baidu_relative(t, now)
        blocks.append(
            f"""<div class="result-op c-container xpath-log new-pmd" srcid="200" tpl="news-normal" mu="{href}">
 <div class="c-row">
  <h3 class="news-title_1YtI1 "><a href="{href}" target="_blank" class="news-title-font_1xS-F" aria-label="标题：{esc(title)}">{hl_title}</a></h3>
  <div class="c-span-last c-span12">
   <span class="c-font-normal c-color-text" aria-label="摘要：{esc(summary)}">{esc(summary)}</span>
   <div class="news-source_Xj4Dv"><span class="c-color-gray c-font-normal c-gap-right" aria-label="新闻来源：{esc(it["media"])}">{esc(it["media"])}</span><span class="c-color-gray2 c-font-normal c-gap-right-xsmall" aria-label="发布于：{stamp}">{stamp}</span></div>
  </div>
 </div>
</div>"""
        )
    kw = esc(src["keyword"])
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="content-type" content="text/html;charset=utf-8"><title>百度资讯搜索_{kw}</title></head>
<body><div id="wrapper"><div id="head"><a href="/">百度首页</a> 资讯</div>
<div id="container"><div id="content_left">
{chr(10).join(blocks)}
</div><div id="page"><a class="n" href="/s?tn=news&amp;wd={quote(src["keyword"])}&amp;pn=10">下一页 &gt;</a></div></div>
</div></body></html>
"""


# ------------------------------------------------------------------------------------------------ weibo

_TOPIC = re.compile(r"#([^#\s]{1,40})#")
_MENTION = re.compile(r"@([\w\-]{1,30})")
_EMOJI = re.compile(r"\[([\u4e00-\u9fffA-Za-z]{1,6})\]")


def weibo_html(text: str) -> str:
    """Plain text as the API's HTML: #话题# links, @mention links, [表情] images, <br /> for newlines."""
    if "<br />" in text or "<a " in text:
        return text
    out = esc(text)
    out = _TOPIC.sub(
        lambda m: (
            f'<a href="/search?containerid=231522type%3D1%26q%3D%23{quote(m[1])}%23&isnewpage=1">'
            f'<span class="surl-text">#{m[1]}#</span></a>'
        ),
        out,
    )
    out = _MENTION.sub(lambda m: f"<a href='/n/{m[1]}'>@{m[1]}</a>", out)
    out = _EMOJI.sub(
        lambda m: (
            f'<span class="url-icon"><img alt="[{m[1]}]" src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_{quote(m[1])}-6a.png" style="width:1em; height:1em;" /></span>'
        ),
        out,
    )
    return out.replace("\n", "<br />")


def weibo_user(u: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(u["uid"]),
        "screen_name": u["name"],
        "profile_url": f"https://m.weibo.cn/u/{u['uid']}?uid={u['uid']}",
        "verified": bool(u["verified"]),
        "verified_type": 0 if u["verified"] else -1,
        "followers_count": u["followers"],
        "follow_count": 180,
        "description": "",
        "gender": "m",
    }


def _bid(mid: str) -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n, s = int(mid), ""
    while n:
        n, r = divmod(n, 62)
        s = alphabet[r] + s
    return s[-9:]


def mblog(it: dict[str, Any], users: dict[str, Any], now: datetime, *, relative: bool) -> dict[str, Any]:
    t = when(now, it["age"])
    r, c, a = it.get("counts") or [0, 0, 0]
    text = weibo_html(it["text"])
    if it.get("long_text"):
        text += f'<a href="/status/{it["id"]}">全文</a>'
    out = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": weibo_relative(t, now) if relative else weibo_full(t),
        "id": it["id"],
        "mid": it["id"],
        "bid": _bid(it["id"]),
        "can_edit": False,
        "text": text,
        "textLength": len(it.get("long_text") or it["text"]) * 2,
        "source": "iPhone客户端",
        "favorited": False,
        "pic_ids": [],
        "is_paid": False,
        "user": weibo_user(users[it["user"]]),
        "reposts_count": r,
        "comments_count": c,
        "attitudes_count": a,
        "pending_approval_count": 0,
        "isLongText": bool(it.get("long_text")),
        "pic_num": 0,
    }
    if it.get("retweet"):
        out["retweeted_status"] = mblog(it["retweet"], users, now, relative=False)
    return out


def weibo_answer(cards: list[dict[str, Any]], containerid: str, page: int) -> dict[str, Any]:
    return {
        "ok": 1,
        "data": {
            "cardlistInfo": {
                "containerid": containerid,
                "v_p": 42,
                "show_style": 1,
                "total": len(cards),
                "page": page + 1,
            },
            "cards": cards,
            "scheme": f"sinaweibo://cardlist?containerid={quote(containerid)}",
        },
    }


WEIBO_END = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}


# ------------------------------------------------------------------------------------------------ guba


def guba_row(it: dict[str, Any], bar: dict[str, str], now: datetime) -> dict[str, Any]:
    t = when(now, it["age"])
    stamp = f"{t:%Y-%m-%d %H:%M:%S}"
    return {
        "post_id": int(it["id"]),
        "post_title": it["title"],
        "post_content": it.get("content") or "",
        "post_abstract": "",
        "post_publish_time": stamp,
        "post_last_time": stamp,
        "post_display_time": stamp,
        "post_ip": "",
        "post_state": 0,
        "post_click_count": it.get("clicks", 0),
        "post_forward_count": it.get("forwards", 0),
        "post_comment_count": it.get("comments", 0),
        "post_comment_authority": 0,
        "post_like_count": it.get("likes", 0),
        "post_is_like": False,
        "post_is_collected": False,
        "post_type": 0,
        "post_source_id": "",
        "post_top_status": 0,
        "post_status": 0,
        "post_from": "",
        "post_has_pic": False,
        "post_pic_url": [],
        "source_post_id": 0,
        "source_post_title": "",
        "source_post_content": "",
        "code_name": bar["code"],
        "product_type": "1",
        "user_id": str(3100000000 + int(it["id"]) % 1000000),
        "user_nickname": it["nick"],
        "user_extendinfos": {"user_accreditinfos": None, "deactive": "0"},
        "stockbar_code": bar["code"],
        "stockbar_name": bar["name"],
        "stockbar_type": 100,
        "stockbar_exchange": 1,
        "stockbar_market": f"{bar['code']}.sh",
        "post_ip_address": "",
    }


def guba_list_page(src: dict[str, Any], now: datetime) -> str:
    bar = src["bar"]
    rows = [guba_row(it, bar, now) for it in src["items"]]
    article_list = {
        "re": rows,
        "count": len(rows),
        "bar_rank": 512,
        "bar_name": bar["name"],
        "bar_code": bar["code"],
    }
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{bar["name"].removesuffix("吧")}({bar["code"]})股吧_{bar["name"].removesuffix("吧")}怎么样_东方财富网股吧</title></head>
<body>
<div id="header">东方财富网 股吧 首页</div>
<div class="listbody"><table class="default_list"><tbody class="listbody" id="articlelistnew"></tbody></table></div>
<script>var article_list={json.dumps(article_list, ensure_ascii=False, separators=(",", ":"))};var other_list=[];</script>
<div id="footer">东方财富网版权所有</div>
</body></html>
"""


def guba_post_page(it: dict[str, Any], bar: dict[str, str], now: datetime) -> str:
    t = when(now, it["age"])
    name = bar["name"].removesuffix("吧")
    text = it["detail"]
    if it.get("layout") == "html":  # an older page: no post_article script, the text in the HTML only
        return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{esc(it["title"])}_{name}({bar["code"]})股吧_东方财富网股吧</title></head>
<body>
<div id="header"><a href="/">股吧首页</a> <a href="/list,{bar["code"]}.html">{bar["name"]}</a></div>
<div id="zwcontent">
<div id="zwconttb"><div id="zwconttbn"><strong><a href="#">{esc(it["nick"])}</a></strong></div>
<div class="zwfbtime">发表于 {t:%Y-%m-%d %H:%M:%S} 东方财富Android版</div></div>
<div id="zwconbody"><div class="stockcodec">
<p>{esc(text)}</p>
</div></div></div>
<div id="footer">东方财富网版权所有 郑重声明</div>
</body></html>
"""
    article = {
        "post_id": int(it["id"]),
        "post_title": it["title"],
        "post_content": f"<p>{esc(text)}</p>",
        "post_publish_time": f"{t:%Y-%m-%d %H:%M:%S}",
        "post_user": {"user_id": str(3100000000 + int(it["id"]) % 1000000), "user_nickname": it["nick"]},
        "post_guba": {"stockbar_code": bar["code"], "stockbar_name": bar["name"]},
        "post_click_count": it.get("clicks", 0),
        "post_comment_count": it.get("comments", 0),
    }
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{esc(it["title"])}_{name}({bar["code"]})股吧_东方财富网股吧</title></head>
<body><div class="newstext"><p>{esc(text[:30])}</p></div>
<script>var post_article={json.dumps(article, ensure_ascii=False)};</script>
</body></html>
"""


def guba_search(src: dict[str, Any], now: datetime) -> str:
    rows = []
    for it in src["items"]:
        t = when(now, it["age"])
        bar = it["bar"]
        rows.append(
            {
                "postId": it["id"],
                "title": it["title"].replace(src["keyword"], f"<em>{src['keyword']}</em>"),
                "content": it["content"],
                "url": f"http://guba.eastmoney.com/news,{bar['code']},{it['id']}.html",
                "createTime": f"{t:%Y-%m-%d %H:%M:%S}",
                "nickname": it["nick"],
                "code": bar["code"],
                "shortName": bar["name"].removesuffix("吧"),
                "postType": 0,
            }
        )
    data = {"code": 0, "msg": "", "hitsTotal": len(rows), "result": {"gubaArticleWeb": rows}}
    return "jQuery_yuqing(" + json.dumps(data, ensure_ascii=False) + ")"


# ------------------------------------------------------------------------------------------------ xueqiu

_CASHTAG = re.compile(r"\$([^$()]{1,20})\((S[HZ]\d{6})\)\$")


def xueqiu_html(text: str) -> str:
    out = text if text.lstrip().startswith("<p>") else f"<p>{esc(text)}</p>"
    return _CASHTAG.sub(
        lambda m: f'<a href="https://xueqiu.com/S/{m[2]}" target="_blank">${m[1]}({m[2]})$</a>', out
    )


def xueqiu_status(
    it: dict[str, Any], users: dict[str, Any], now: datetime, *, full: bool = False
) -> dict[str, Any]:
    u = users[it["user"]]
    t = when(now, it["age"])
    r, c, lk = it.get("counts") or [0, 0, 0]
    truncated = bool(it.get("full_text")) and not full
    text = xueqiu_html(it["full_text"] if full and it.get("full_text") else it["text"])
    return {
        "id": int(it["id"]),
        "user_id": int(u["id"]),
        "title": it.get("title", ""),
        "created_at": int(t.timestamp() * 1000),
        "retweet_count": r,
        "reply_count": c,
        "fav_count": 0,
        "truncated": truncated,
        "commentId": 0,
        "retweet_status_id": 0,
        "symbol_id": None,
        "description": re.sub(r"<[^>]+>", "", text)[:140],
        "type": "0",
        "source_link": None,
        "edited_at": None,
        "pic": "",
        "user": {
            "id": int(u["id"]),
            "screen_name": u["name"],
            "followers_count": u["followers"],
            "friends_count": 120,
            "verified": bool(u["verified"]),
            "verified_type": 0,
            "profile_image_url": "",
        },
        "retweeted_status": None,
        "target": f"/{u['id']}/{it['id']}",
        "like_count": lk,
        "text": text,
        "source": "雪球",
    }


# ------------------------------------------------------------------------------------------------ render


def render(world: World, out_dir: Path, now: datetime) -> Rendered:
    """Write the served files under ``out_dir/site`` and return the routes and the sources."""
    out = _Out(out_dir)
    now = now.astimezone(CHINA_TZ)
    _SITES.clear()  # the page templates read the world's site names, menus and layouts from here
    _SITES.update(world.sites)
    sources: list[dict[str, Any]] = []
    about: set[str] = set()
    items: dict[str, dict[str, Any]] = {}
    out.file("robots.txt", "User-agent: *\nAllow: /\n", "/robots.txt", "text/plain; charset=utf-8")

    def src_cfg(src: dict[str, Any], url: str, options: dict[str, Any]) -> None:
        cfg = {
            "name": src["name"],
            "family": src["family"],
            "url": url,
            "interval_minutes": 10,
            "authority": src.get("authority", 0.5),
            "options": {"display_name": src.get("display_name", src["name"]), **options},
        }
        sources.append(cfg)
        if src.get("about_firm"):
            about.add(src["name"])
        for it in source_items(src):
            if it["id"] in items:
                raise ValueError(f"item id {it['id']!r} is served twice")
            items[it["id"]] = {
                "family": src["family"],
                "source": src["name"],
                "age": it["age"],
                "published": when(now, it["age"]).isoformat(),
            }

    for src in world.sources:
        fam = src["family"]
        if fam in ("rss", "news_list"):
            site = src["template"]
            for i, it in enumerate(src["items"]):
                t = when(now, it["age"])
                others = [o for o in src["items"] if o is not it]
                out.file(
                    f"{site}/{it['id'].strip('/').replace('/', '_')}",
                    article_page(site, it, t, others[i % len(others) :] + others[: i % len(others)]),
                    it["id"],
                    HTML_UTF8 if _SITES[site]["layout"] != "cms" else "text/html",  # old CMS: no charset
                )
            if fam == "rss":
                feed = rss2(src, now) if src["feed_format"] == "rss2" else atom(src, now)
                ct = (
                    "application/rss+xml; charset=utf-8"
                    if src["feed_format"] == "rss2"
                    else "application/atom+xml"
                )
                out.file(f"{site}/feed.xml", feed, src["feed"], ct)
                src_cfg(src, f"{BASE}{src['feed']}", {"follow_links": True})
            else:
                pages = src["list_pages"]
                if src.get("list_layout") not in LIST_LAYOUTS:
                    raise ValueError(f"source {src['name']!r}: list_layout must be one of {LIST_LAYOUTS}")
                if src["list_layout"] == "paged":
                    per = math.ceil(len(src["items"]) / len(pages))
                    for n, path in enumerate(pages, start=1):
                        chunk = src["items"][(n - 1) * per : n * per]
                        out.file(
                            f"{site}/list_{n}.html", paged_list(src, chunk, now, n, pages), path, HTML_UTF8
                        )
                else:
                    out.file(f"{site}/list.html", simple_list(src, now), pages[0], HTML_UTF8)
                src_cfg(src, f"{BASE}{pages[0]}", dict(src.get("options") or {}))
        elif fam == "baidu_news":
            tag = src["name"]
            out.file(
                f"baidu/{tag}.html",
                baidu_results(src, now),
                "/baidu/s",
                HTML_UTF8,
                query={"wd": src["keyword"], "tn": "news"},
            )
            if src.get("follow_links"):
                for it in src["items"]:
                    t = when(now, it["age"])
                    others = [o for o in src["items"] if o is not it]
                    out.file(
                        f"{src['template']}/{it['id'].strip('/').replace('/', '_')}",
                        article_page(src["template"], it, t, others),
                        it["id"],
                        HTML_UTF8,
                    )
            src_cfg(
                src,
                f"{BASE}/baidu",
                {"keywords": [src["keyword"]], "follow_links": bool(src.get("follow_links"))},
            )
        elif fam == "weibo":
            users = world.users["weibo"]
            if "pages" in src:
                cid = f"100103type=1&q={src['keyword']}"
                for n, page in enumerate(src["pages"], start=1):
                    cards = [{"card_type": 9, "mblog": mblog(it, users, now, relative=True)} for it in page]
                    if n == 1 and len(cards) > 2:  # the first results come as a card group, as the site sends
                        cards = [{"card_type": 11, "show_type": 1, "card_group": cards[:2]}, *cards[2:]]
                        cards.append(
                            {
                                "card_type": 11,
                                "card_group": [
                                    {
                                        "card_type": 17,
                                        "group": [{"title_sub": f"{src['keyword']}回应", "scheme": "x"}],
                                    }
                                ],
                            }
                        )
                    out.file(
                        f"weibo/{src['name']}_p{n}.json",
                        weibo_answer(cards, cid, n),
                        "/api/container/getIndex",
                        JSON_CT,
                        query={"containerid": cid, "page": str(n)},
                    )
                out.file(
                    f"weibo/{src['name']}_end.json",
                    WEIBO_END,
                    "/api/container/getIndex",
                    JSON_CT,
                    query={"containerid": cid, "page": str(len(src["pages"]) + 1)},
                )
                src_cfg(src, BASE, {"keywords": [src["keyword"]], "pages": len(src["pages"])})
            else:
                timelines = src.get("timelines") or {src["uids"][0]: src["items"]}
                for uid, posts in timelines.items():
                    cid = f"107603{uid}"
                    cards = [{"card_type": 9, "mblog": mblog(it, users, now, relative=False)} for it in posts]
                    out.file(
                        f"weibo/timeline_{uid}.json",
                        weibo_answer(cards, cid, 1),
                        "/api/container/getIndex",
                        JSON_CT,
                        query={"containerid": cid, "page": "1"},
                    )
                src_cfg(src, BASE, {"uids": [str(u) for u in src["uids"]], "pages": 1, "long_text": True})
            for it in source_items(src):
                if it.get("long_text"):
                    r, c, a = it.get("counts") or [0, 0, 0]
                    out.file(
                        f"weibo/extend_{it['id']}.json",
                        {
                            "ok": 1,
                            "data": {
                                "ok": 1,
                                "longTextContent": it["long_text"],
                                "reposts_count": r,
                                "comments_count": c,
                                "attitudes_count": a,
                            },
                        },
                        "/statuses/extend",
                        JSON_CT,
                        query={"id": it["id"]},
                    )
        elif fam == "guba":
            if "bar" in src:
                bar = src["bar"]
                out.file(
                    f"guba/list_{bar['code']}.html",
                    guba_list_page(src, now),
                    f"/guba/list,{bar['code']}.html",
                    HTML_UTF8,
                )
                for it in src["items"]:
                    if not it.get("content"):
                        out.file(
                            f"guba/news_{bar['code']}_{it['id']}.html",
                            guba_post_page(it, bar, now),
                            f"/guba/news,{bar['code']},{it['id']}.html",
                            HTML_UTF8,
                        )
                src_cfg(src, f"{BASE}/guba", {"stock_codes": [bar["code"]]})
            else:
                out.file(
                    f"guba/{src['name']}.jsonp",
                    guba_search(src, now),
                    "/guba-search/search/jsonp",
                    "application/javascript; charset=utf-8",
                )
                src_cfg(
                    src,
                    f"{BASE}/guba",
                    {"keywords": [src["keyword"]], "search_url": f"{BASE}/guba-search/search/jsonp"},
                )
        elif fam == "xueqiu":
            users = world.users["xueqiu"]
            statuses = [xueqiu_status(it, users, now) for it in src["items"]]
            if "keyword" in src:
                out.file(
                    f"xueqiu/{src['name']}.json",
                    {"count": len(statuses), "maxPage": 1, "page": 1, "q": src["keyword"], "list": statuses},
                    "/xueqiu/query/v1/search/status.json",
                    JSON_CT,
                    query={"q": src["keyword"]},
                )
                opts = {"keywords": [src["keyword"]]}
            elif "symbol" in src:
                out.file(
                    f"xueqiu/symbol_{src['symbol']}.json",
                    {
                        "about": "symbol",
                        "count": len(statuses),
                        "key": src["symbol"],
                        "maxPage": 1,
                        "page": 1,
                        "list": statuses,
                    },
                    "/xueqiu/query/v1/symbol/search/status.json",
                    JSON_CT,
                    query={"symbol": src["symbol"]},
                )
                opts = {"symbols": [src["symbol"]]}
            else:
                out.file(
                    f"xueqiu/user_{src['user_id']}.json",
                    {"count": len(statuses), "page": 1, "maxPage": 1, "statuses": statuses},
                    "/xueqiu/v4/statuses/user_timeline.json",
                    JSON_CT,
                    query={"user_id": src["user_id"]},
                )
                opts = {"user_ids": [src["user_id"]]}
            for it in src["items"]:
                if it.get("full_text"):
                    out.file(
                        f"xueqiu/show_{it['id']}.json",
                        xueqiu_status(it, users, now, full=True),
                        "/xueqiu/statuses/show.json",
                        JSON_CT,
                        query={"id": it["id"]},
                    )
            src_cfg(src, f"{BASE}/xueqiu", opts)
        elif fam == "heimao":
            lists = []
            for it in src["items"]:
                t = when(now, it["age"])
                am = it.get("amounts") or {}
                lists.append(
                    {
                        "main": {
                            "sn": it["id"],
                            "title": it["title"],
                            "summary": it["summary"],
                            "appeal": it["appeal"],
                            "issue": it["issue"],
                            "cotitle": it["cotitle"],
                            "couid": str(7100000000 + sum(map(ord, it["cotitle"]))),
                            "status": it["status"],
                            "timestamp": str(int(t.timestamp())),
                            "url": f"//tousu.sina.com.cn/complaint/view/{it['id']}/",
                            "upvote_amount": am.get("upvote", 0),
                            "comment_amount": am.get("comment", 0),
                            "share_amount": am.get("share", 0),
                            "evaluate_u": None,
                        },
                        "author": {"title": "黑猫用户" + it["id"][-5:], "avatar": "", "wb_uid": ""},
                    }
                )
            data = {
                "result": {
                    "status": {"code": 0, "msg": "ok"},
                    "timestamp": weibo_full(now),
                    "data": {
                        "lists": lists,
                        "pager": {"current": 1, "page_amount": 1, "item_count": len(lists)},
                    },
                }
            }
            out.file(
                f"heimao/{src['name']}.json",
                data,
                "/heimao/api/index/s",
                JSON_CT,
                query={"keywords": src["keyword"]},
            )
            src_cfg(src, f"{BASE}/heimao", {"keywords": [src["keyword"]], "page_size": 20})
        elif fam == "cls":
            roll = []
            for it in sorted(src["items"], key=lambda i: parse_age(i["age"])):
                t = when(now, it["age"])
                content = fill(it["content"], t)
                n = it.get("counts") or {}
                roll.append(
                    {
                        "id": int(it["id"]),
                        "title": fill(it.get("title") or "", t),
                        "brief": content[:60],
                        "content": content,
                        "level": it.get("level", "C"),
                        "reading_num": n.get("read", 0),
                        "ctime": int(t.timestamp()),
                        "modified_time": int(t.timestamp()),
                        "type": -1,
                        "jpush": 0,
                        "assocFastFact": {},
                        "author": "财联社",
                        "share_num": n.get("share", 0),
                        "comment_num": n.get("comment", 0),
                        "recommend": 0,
                        "confirmed": 0,
                        "shareurl": f"https://api3.cls.cn/share/article/{it['id']}?os=web&sv=7.7.5&app=CailianpressWeb",
                        "subjects": [],
                        "stock_list": [],
                        "is_top": 0,
                    }
                )
            out.file(
                f"cls/{src['name']}.json",
                {"error": 0, "data": {"roll_data": roll, "update_num": 0}},
                "/cls/nodeapi/telegraphList",
                JSON_CT,
            )
            src_cfg(src, f"{BASE}/cls", {"rn": 50})
        else:
            raise ValueError(f"unknown family {fam!r} in source {src['name']!r}")

    secrets = out_dir / "secrets.toml"
    secrets.write_text(f'xq_a_token = "{XQ_TOKEN}"\n', encoding="utf-8")
    return Rendered(routes=out.routes, sources=sources, about_firm=about, items=items, secrets_file=secrets)


# ------------------------------------------------------------------------------------------------ config


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Path):
        return json.dumps(str(v), ensure_ascii=False)
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


def _table(lines: list[str], header: str, data: dict[str, Any]) -> None:
    scalars = {
        k: v
        for k, v in data.items()
        if not isinstance(v, dict) and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))
    }
    lines.append(f"[{header}]" if not header.startswith("[") else header)
    for k, v in scalars.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append("")
            _table(lines, f"{header.strip('[]')}.{_toml_key(k)}", v)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``: tables merge key by key; [[sources]] entries merge by name (new names are
    added); any other value of ``extra`` replaces the base's."""
    out = dict(base)
    for k, v in extra.items():
        if k == "sources" and isinstance(v, list):
            by_name = {s["name"]: i for i, s in enumerate(out.get("sources", []))}
            merged = list(out.get("sources", []))
            for s in v:
                if s.get("name") in by_name:
                    merged[by_name[s["name"]]] = deep_merge(merged[by_name[s["name"]]], s)
                else:
                    merged.append(s)
            out[k] = merged
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def config_dict(world: World, rendered: Rendered, base_url: str, store_path: Path) -> dict[str, Any]:
    sources = json.loads(json.dumps(rendered.sources, ensure_ascii=False).replace(BASE, base_url))
    return {
        "secrets_file": str(rendered.secrets_file),
        "firm": dict(world.firm),
        "watch": [dict(w) for w in world.watch],
        "sources": sources,
        "store": {"path": str(store_path), "posts_engine": "sqlite"},
        "model": {"sentiment_model": "builtin"},
        "crawl": {"contact_url": "https://bench.invalid/yuqing-e2e"},
    }


def write_config(data: dict[str, Any], path: Path, about_firm: set[str]) -> Path:
    """The config as TOML. A source in ``about_firm`` is declared so (``about_firm = true``)."""
    lines = [
        "# yuqing bench e2e: generated; the world's sites are served on 127.0.0.1 (bench/e2e/README.md).",
        "# Sources marked ABOUT-FIRM are ones where every post is about the firm (its own 股吧 bar, its",
        "# official Weibo account, its stock's 雪球 stream): declared with about_firm = true.",
        "",
    ]
    top = {
        k: v
        for k, v in data.items()
        if not isinstance(v, dict | list) or (isinstance(v, list) and not all(isinstance(x, dict) for x in v))
    }
    for k, v in top.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append("")
            _table(lines, k, v)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for entry in v:
                lines.append("")
                lines.append(f"[[{_toml_key(k)}]]")
                if k == "sources" and entry.get("name") in about_firm:
                    lines.append("# ABOUT-FIRM: every post here is about the firm, named or not")
                    if "about_firm" not in entry:
                        lines.append("about_firm = true")
                for ek, ev in entry.items():
                    if not isinstance(ev, dict):
                        lines.append(f"{_toml_key(ek)} = {_toml_value(ev)}")
                for ek, ev in entry.items():
                    if isinstance(ev, dict):
                        lines.append(f"[{_toml_key(k)}.{_toml_key(ek)}]")
                        for sk, sv in ev.items():
                            lines.append(f"{_toml_key(sk)} = {_toml_value(sv)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
