import datetime as dt
import hashlib
import html
import json
import re
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from articles import ARTICLES  # noqa: E402
from weibo import ARTICLE_EXPECT, EXPECT, POSTS, USERS  # noqa: E402

# the generated files live in the package; this generator stays outside it (tools/demo_world/)
OUT = Path(__file__).resolve().parents[2] / "yuqing" / "demo_sources"
B = "{base_url}"
TZ = dt.timezone(dt.timedelta(hours=8))

ALT_TOPICS = {
    "W105": ["高管负面"],
    "W203": ["高管负面"],
    "W202": ["客户投诉"],
    "W205": ["客户投诉"],
    "W102": ["客户投诉"],
    "F5": ["客户投诉"],
    "W301": ["客户投诉"],
    "F7": ["交易系统故障", "产品亏损/兑付"],
    "W206": [],
    "F4": ["高管负面", "其他"],
    "W104": ["其他", "高管负面"],
    "W303": ["其他", "高管负面"],
}


def w(path, data, enc="utf-8"):
    p = OUT / path
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(enc)  # strict: fails loudly on an unencodable char
    p.write_bytes(data)


def parse_date(s):
    s = s.replace("年", "-").replace("月", "-").replace("日", " ")
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})\s*(\d{2}):(\d{2})", s)
    y, mo, d, h, mi = map(int, m.groups())
    return dt.datetime(y, mo, d, h, mi, tzinfo=TZ)


def rfc822(d):
    return d.strftime("%a, %d %b %Y %H:%M:%S +0800")


# ---------------------------------------------------------------- article templates
def related_links(a, site_prefix):
    items = []
    for t in a["related"]:
        h = int(hashlib.md5(t.encode()).hexdigest()[:6], 16) % 90000 + 10000
        items.append((t, f"{B}/news/{site_prefix}/archive/{h}.html"))
    return items


def tpl_huicai(a):
    d = parse_date(a["date"])
    url = f"{B}/{a['path']}"
    head = [
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-type" content="text/html; charset=utf-8">',
        f"<title>{a['title']}|{a['channel']}_汇财新闻网</title>",
        f'<meta name="keywords" content="华鼎,{a["channel"]},{a["title"][:8]}">'
        if "华鼎" in a["title"]
        else f'<meta name="keywords" content="{a["channel"]},A股">',
        f'<meta name="description" content="{html.escape(a["summary"])}">',
    ]
    if a["og"]:
        head += [
            '<meta property="og:type" content="news">',
            f'<meta property="og:title" content="{a["title"]}">',
            f'<meta property="og:description" content="{html.escape(a["summary"])}">',
            f'<meta property="og:url" content="{url}">',
        ]
    if a["pubmeta"]:
        head.append(f'<meta property="article:published_time" content="{d.isoformat()}">')
    if a["authormeta"]:
        head.append(f'<meta property="article:author" content="{a["author"]}">')
        head.append(f'<meta name="author" content="{a["author"]}">')
    if a["canonical"]:
        head.append(f'<link rel="canonical" href="{url}">')
    head += [
        '<meta name="applicable-device" content="pc,mobile">',
        '<link rel="stylesheet" href="//static.huicai.example/finance/page2026/css/style.css?v=20261101">',
        '<script>var ARTICLE_CONFIG = {channel: "finance", docid: "'
        + a["path"].rsplit("/", 1)[1][:-5]
        + '", comment: true};</script>',
        '<script src="//static.huicai.example/js/sudaclick.min.js" charset="utf-8"></script>',
    ]
    body_ps = "\n".join(f"<p>　　{p}</p>" for p in a["paras"])
    byline = "汇财新闻网综合报道" if a["author"].endswith("综合") else f"汇财新闻网讯（记者 {a['author']}）"
    rel = "\n".join(f'<li><a href="{u}" target="_blank">{t}</a></li>' for t, u in related_links(a, "huicai"))
    date_s = d.strftime("%Y年%m月%d日 %H:%M")
    return f"""<!DOCTYPE html>
<!-- {url} -->
<html><head>
{chr(10).join(head)}
<style>.hc-header{{height:40px}}.article p{{line-height:2}}</style>
</head>
<body>
<!-- SUDA_CODE_START --><noscript><div style="position:absolute;top:0;left:0;width:0;height:0;visibility:hidden"><img width="0" height="0" src="//beacon.huicai.example/a.gif?noScript" alt=""></div></noscript><!-- SUDA_CODE_END -->
<div class="hc-header" id="hc-header">
  <ul class="nav-list">
    <li class="first"><a href="{B}/">汇财首页</a></li><li><a href="{B}/news/huicai/">新闻</a></li><li><a href="{B}/news/huicai/stock/">股票</a></li>
    <li><a href="{B}/news/huicai/fund/">基金</a></li><li><a href="{B}/news/huicai/bank/">银行</a></li><li><a href="{B}/news/huicai/money/">理财</a></li>
    <li><a href="{B}/news/huicai/weiquan/">消费维权</a></li><li class="last"><a href="javascript:;">更多</a></li>
  </ul>
  <div class="hc-login"><a href="javascript:;">登录</a> | <a href="javascript:;">注册</a></div>
</div>
<div class="path-search"><div class="channel-path"><a href="{B}/">汇财新闻网</a> &gt; <a href="{B}/news/huicai/">财经</a> &gt; <span>{a["channel"]}</span></div>
<form class="search-form"><input type="text" name="q" value="代码/名称/拼音"><input type="submit" value="搜索"></form></div>
<h1 class="main-title">{a["title"]}</h1>
<div class="top-bar-wrap"><div class="date-source"><span class="date">{date_s}</span> <a href="{B}/" class="source">{a["src"]}</a></div>
<div class="page-tools"><span class="tool-icon"><a href="javascript:;">汇财新闻APP</a></span><span class="tool-icon"><a href="javascript:;">缩小字体</a></span><span class="tool-icon"><a href="javascript:;">放大字体</a></span><span class="tool-icon"><a href="javascript:;">收藏</a></span><span class="tool-icon"><a href="javascript:;">微博</a></span><span class="tool-icon"><a href="javascript:;">微信</a></span><span class="tool-icon"><a href="javascript:;">分享</a></span></div></div>
<div class="article-content clearfix">
<div class="article-content-left">
<div class="ad-top"><a href="javascript:;">汇财新闻APP：7×24小时行情资讯 点击下载</a></div>
<div class="article" id="artibody">
<p>　　{byline}</p>
{body_ps}
<p class="article-editor">责任编辑：{a["editor"]}</p>
</div>
<div class="article-statement">郑重声明：汇财新闻网发布此信息的目的在于传播更多信息，与本站立场无关。文章内容仅供参考，不构成投资建议。投资者据此操作，风险自担。</div>
<div class="comment-box"><h3>我要评论</h3><textarea placeholder="文明上网，理性发言"></textarea><a href="javascript:;" class="btn">发布</a> <span>已有 <em>0</em> 人参与</span></div>
</div>
<div class="article-content-right">
<div class="side-box"><h3>相关阅读</h3><ul>
{rel}
</ul></div>
<div class="side-box"><h3>7×24小时</h3><ul><li><a href="{B}/news/huicai/live/">沪指收涨0.3% 两市成交额超1.2万亿元</a></li><li><a href="{B}/news/huicai/live/">人民币兑美元中间价调升32个基点</a></li></ul></div>
<div class="side-box"><h3>热门排行</h3><ol><li><a href="{B}/news/huicai/hot/1.html">今日股市收评</a></li><li><a href="{B}/news/huicai/hot/2.html">基金定投怎么选</a></li><li><a href="{B}/news/huicai/hot/3.html">11月新股申购日历</a></li></ol></div>
</div>
</div>
<div class="hc-footer">
<p><a href="{B}/about/">汇财简介</a> | <a href="{B}/about/contact.html">联系我们</a> | <a href="{B}/about/ad.html">广告服务</a> | <a href="{B}/about/jobs.html">招聘信息</a> | <a href="{B}/about/law.html">网站律师</a> | <a href="{B}/about/report.html">违法和不良信息举报</a></p>
<p>Copyright © 2008-2026 汇财新闻网 All Rights Reserved 版权所有 未经授权不得转载</p>
<p>本站为虚构演示站点（舆情值守台演示数据）</p>
</div>
<script>window.__DOC_READY__ = true;</script>
</body></html>
"""


def tpl_zqgc(a, charset):
    d = parse_date(a["date"])
    url = f"{B}/{a['path']}"
    head = [
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        if charset != "gbk"
        else '<meta charset="gbk">',
        f'<meta name="keywords" content="证券观察报 {a["channel"]} {a["title"][:6]}">',
        '<meta name="description" content="">',
    ]
    if a["authormeta"]:
        head.append('<meta name="author" content="证券观察报">')
    head.append('<meta name="Copyright" content="证券观察报版权所有">')
    if a["og"]:
        head.append(f'<meta property="og:title" content="{a["title"]}">')
    if a["pubmeta"]:
        head.append(f'<meta property="article:published_time" content="{d.isoformat()}">')
    if a["canonical"]:
        head.append(f'<link rel="canonical" href="{url}">')
    head.append(f"<title>{a['title']}_证券观察报 </title>")
    head.append('<link rel="stylesheet" href="http://img.zqgcb.example/templates/2026/news/style.css">')
    head.append(
        f'<script type="text/javascript">\nvar contentid = {a["path"].rsplit("/", 1)[1][:-5]};\nvar publishdate = \'{d.strftime("%Y-%m-%d %H:%M:%S")}\';\nvar linkUrl = "{url}";\n</script>'
    )
    body_ps = "\n".join(f"<p>{p}</p>" for p in a["paras"])
    rel = "\n".join(
        f'<dl><dd class="tit"><a href="{u}" target="_blank" title="{t}">{t}</a></dd><dd class="sj">{(d - dt.timedelta(days=i + 1)).strftime("%Y-%m-%d")}<span>0{7 + i}:{15 + i * 7}</span></dd></dl>'
        for i, (t, u) in enumerate(related_links(a, "zqgcb"))
    )
    return f"""<html xmlns="http://www.w3.org/1999/xhtml"><head>
{chr(10).join(head)}
</head>
<body>
<div class="top">
  <div class="v1"><a href="{B}/" target="_blank"><img src="http://img.zqgcb.example/templates/2026/news/logo.png" alt="证券观察报"></a></div>
  <div class="select"><input type="text" value="输入关键字" class="select_ipt"><input type="button" class="select_btn"></div>
  <div class="top_r"><div class="gzh"><p class="t1">证券观察报官方微信公众号</p><p class="t2">扫描上方二维码关注微信公众号</p></div>
  <div class="khd"><p class="t1">证券观察报官方新闻客户端</p><p class="t2">扫描上方二维码下载客户端</p></div>
  <div class="dzb"><a href="{B}/epaper/" target="_blank">电子报</a></div></div>
  <div class="tonglan"><ul>
    <li><a href="{B}/" target="_blank">首页</a></li><li><a href="{B}/news/zqgcb/" target="_blank">要闻</a></li><li><a href="{B}/news/zqgcb/kuaixun/" target="_blank">快讯</a></li>
    <li><a href="{B}/news/zqgcb/gongsi/" target="_blank">公司</a></li><li><a href="{B}/news/zqgcb/jigou/" target="_blank">机构</a></li><li><a href="{B}/news/zqgcb/jijin/" target="_blank">基金</a></li>
    <li><a href="{B}/news/zqgcb/jianguan/" target="_blank">监管</a></li><li><a href="{B}/news/zqgcb/shuju/" target="_blank">数据</a></li><li><a href="{B}/news/zqgcb/gonggao/" target="_blank">公告</a></li>
  </ul></div>
</div>
<div class="content clearfix">
  <div class="box_left">
    <div class="website">您所在的位置：<a href="{B}/">首页</a> &gt; <a href="{B}/news/zqgcb/" target="_blank">要闻</a> &gt; <a href="{B}/news/zqgcb/" target="_blank">{a["channel"]}</a></div>
    <div class="intal_tit">
      <h2>{a["title"]}</h2>
      <div class="info">{d.strftime("%Y-%m-%d %H:%M")}<span>来源：{a["src"]}</span><span>作者：{a["author"]}</span></div>
    </div>
    <div class="txt_con" id="ctrlfscont">
{body_ps}
      <p class="zrbj">（责任编辑：{a["editor"]}）</p>
    </div>
    <div class="fenxiang"><a title="分享到新浪微博" href="javascript:void(0);">微博</a> <a title="分享到微信" href="#">微信</a> <a class="fx" href="#">分享：</a></div>
    <div class="shenming"><p>声明：证券观察报力求信息真实、准确，文章提及内容仅供参考，不构成实质性投资建议，据此操作风险自担。</p></div>
    <div class="tuijian"><h2>为你推荐</h2><div class="tuijian_con">
{rel}
    </div></div>
  </div>
  <div class="box_maj">
    <div class="guancha"><div class="title">时报观察</div><ul class="list">
      <li>1、<a href="{B}/news/zqgcb/pinglun/1.html" target="_blank">中长期资金入市的堵点在哪里</a></li>
      <li>2、<a href="{B}/news/zqgcb/pinglun/2.html" target="_blank">上市公司分红常态化需要制度护航</a></li>
      <li>3、<a href="{B}/news/zqgcb/pinglun/3.html" target="_blank">券商合规文化建设不能只停留在口号</a></li>
    </ul></div>
    <div class="hot"><div class="title">热点排行</div><ul class="list">
      <li><a href="{B}/news/zqgcb/hot/1.html" target="_blank">11月新发基金一览</a></li>
      <li><a href="{B}/news/zqgcb/hot/2.html" target="_blank">本周限售股解禁规模超600亿元</a></li>
    </ul></div>
  </div>
</div>
<div class="footer">
  <p><a href="{B}/about/">关于我们</a> | <a href="{B}/about/contact.html">联系方式</a> | <a href="{B}/about/copyright.html">版权声明</a> | <a href="{B}/about/ad.html">广告服务</a></p>
  <p>证券观察报社版权所有，未经书面授权禁止使用 Copyright &copy; 2026 All Rights Reserved</p>
  <p>本站为虚构演示站点（舆情值守台演示数据）</p>
</div>
</body></html>
"""


def tpl_legacy(a):
    d = parse_date(a["date"])
    body_ps = "\n".join(f'<p style="text-indent: 2em;">\n\t{p}</p>' for p in a["paras"])
    rel = "\n".join(
        f'<li><a href="{u}" target="_blank">{t}</a></li>' for t, u in related_links(a, "huicai/weiquan")
    )
    cid = a["path"].rsplit("-", 1)[1][:-5]
    return f"""<html xmlns="http://www.w3.org/1999/xhtml"><head>
<meta http-equiv="content-type" content="text/html;charset={a["declared"]}">
<meta http-equiv="Content-Language" content="utf-8">
<meta content="all" name="robots">
<title>{a["title"]}--{a["channel"]}--汇财新闻网 </title>
<meta name="keywords" content="证券投诉 券商 维权">
<meta name="description" content="{html.escape(a["summary"])}">
<meta name="copyright" content="汇财新闻网版权所有">
<meta name="contentid" content="{cid}">
<meta name="publishdate" content="{d.strftime("%Y-%m-%d")}">
<meta name="author" content="104521">
<meta name="source" content="来源：{a["src"]} 原创稿">
<link rel="stylesheet" href="http://www.huicai.example/img/2016wb/page2018.css" type="text/css" media="all" charset="utf-8">
<script type="text/javascript" src="http://www.huicai.example/img/2016wb/main.js" charset="utf-8"></script>
</head>
<body>
<!--top-->
<div class="top_nav clearfix"><div class="w1000_320 white">
<div class="fl" id="rwb_nav"><a href="{B}/" target="_blank">网站首页</a><a href="{B}/news/huicai/" target="_blank">财经</a><a href="{B}/news/huicai/stock/" target="_blank">股票</a><a href="{B}/news/huicai/bank/" target="_blank">银行</a><a href="{B}/news/huicai/weiquan/" target="_blank">消费维权</a><a href="{B}/news/huicai/house/" target="_blank">房产</a><a href="{B}/news/huicai/auto/" target="_blank">汽车</a></div>
<div class="fr"><div id="txz_dlq"><a id="login_button">登录</a><a href="javascript:;" target="_blank">注册</a></div></div>
</div></div>
<!--top end-->
<!--path-->
<div class="clearfix w1000_320 path path2"><div class="fl"><span id="rwb_navpath"><a href="{B}/" class="clink">汇财新闻网</a>&gt;&gt;<a href="{B}/news/huicai/weiquan/" class="clink">{a["channel"]}</a></span></div></div>
<!--path end-->
<!--text_title-->
<div class="clearfix w1000_320 text_title">
	<h3 class="pre"></h3>
	<h1>{a["title"]}</h1>
	<h4 class="sub"></h4>
	<p class="author">{a["author"]}</p>
	<div class="box01"><div class="fl">{a["date"]}&nbsp;&nbsp;来源：<a href="{B}/news/huicai/weiquan/" target="_blank">{a["src"]}</a></div>
	<div class="fr"><div class="fx"><span class="ops_tit">分享到：</span><a href="javascript:void(0)" title="微博">微博</a><a href="javascript:void(0)" title="微信">微信</a><a href="javascript:void(0)" title="复制地址">复制地址</a></div></div></div>
</div>
<!--text_title end-->
<!--text_con-->
<div class="clearfix w1000_320 text_con">
   <div class="fl text_con_left">
      <div class="box_con" id="rwb_zw">
{body_ps}
        <div class="edit clearfix">(责编：{a["editor"]})</div>
      </div>
      <div class="box_down clearfix"><div class="fl"><span><a href="{B}/app/" target="_blank">汇财新闻客户端下载</a></span></div></div>
      <div id="rwb_tjyd"><div class="clearfix box_read"><h2>相关新闻</h2><ul>
{rel}
      </ul></div></div>
   </div>
   <div class="fr text_con_right"><div class="title">消费维权热线</div><p>投诉请拨打本网维权热线或登录维权平台提交材料。</p></div>
</div>
<!--text_con end-->
<!--copyright-->
<div class="w1000 copyright clearfix"><p>汇财新闻网版权所有，未经书面授权禁止使用</p><p>Copyright &copy; 2008-2026 by www.huicai.example. all rights reserved</p><p>本站为虚构演示站点（舆情值守台演示数据）</p></div>
</body></html>
"""


def build_articles():
    routes, feeds = [], {"finance": [], "securities": []}
    expected = []
    for a in ARTICLES:
        if a["tpl"] == "huicai":
            page = tpl_huicai(a)
        elif a["tpl"] == "zqgc":
            page = tpl_zqgc(a, "gbk" if a["enc"] == "gbk" else "utf-8")
        else:
            page = tpl_legacy(a)
        w(a["path"], page, a["enc"])
        ct = "text/html; charset=utf-8" if a["enc"] == "utf-8" and a["tpl"] != "legacy" else "text/html"
        routes.append(
            {"path": "/" + a["path"], "query": {}, "file": a["path"], "content_type": ct, "status": 200}
        )
        feeds[a["feed"]].append(a)
        about, flagged, topic, rumor, senti, note = ARTICLE_EXPECT[a["key"]]
        expected.append(
            {
                "kind": "article",
                "key": a["key"],
                "id": "/" + a["path"],
                "url": "{base_url}/" + a["path"],
                "feed": f"feeds/{a['feed']}.xml",
                "title": a["title"],
                "published_at": parse_date(a["date"]).isoformat(),
                "about_firm": about,
                "flagged": flagged,
                "topic": topic,
                "topic_alternatives": ALT_TOPICS.get(a["key"], []),
                "rumor": rumor,
                "sentiment": senti,
                "encoding": {"utf-8": "utf-8", "gbk": "gbk"}[a["enc"]]
                + (" (declares " + a["declared"] + ")" if a.get("declared") else ""),
                "note": note,
            }
        )
    return routes, feeds, expected


def build_feed(name, items):
    meta = {
        "finance": (
            "汇财新闻网-财经频道",
            f"{B}/news/huicai/",
            "汇财新闻网财经频道：公司、证券、银行、理财、消费维权资讯",
        ),
        "securities": (
            "证券观察报-要闻",
            f"{B}/news/zqgcb/",
            "证券观察报：证券市场、上市公司、机构与监管动态",
        ),
    }[name]
    items = sorted(items, key=lambda a: parse_date(a["date"]), reverse=True)
    last = parse_date(items[0]["date"]) + dt.timedelta(minutes=5)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{meta[0]}</title>",
        f"<link>{meta[1]}</link>",
        f"<description>{meta[2]}</description>",
        f'<atom:link href="{B}/feeds/{name}.xml" rel="self" type="application/rss+xml" />',
        "<language>zh-cn</language>",
        f"<copyright>Copyright 2026 {meta[0].split('-')[0]}</copyright>",
        f"<lastBuildDate>{rfc822(last)}</lastBuildDate>",
        "<ttl>15</ttl>",
        "<generator>CMS RSS Generator 3.2</generator>",
    ]
    for a in items:
        link = f"{B}/{a['path']}{a.get('link_query', '')}"
        author_tag = f"<dc:creator>{a['author']}</dc:creator>" if a["author"] else ""
        out += [
            "<item>",
            f"<title><![CDATA[{a['title']}]]></title>",
            f"<link>{html.escape(link, quote=False)}</link>",
            f"<description><![CDATA[<p>{a['summary']}</p>]]></description>",
            f"<category>{a['channel']}</category>",
            author_tag,
            f"<pubDate>{rfc822(parse_date(a['date']))}</pubDate>",
            f'<guid isPermaLink="true">{B}/{a["path"]}</guid>',
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    w(f"feeds/{name}.xml", "\n".join(line for line in out if line))


# ---------------------------------------------------------------- weibo
ALPH = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def b62(n):
    s = ""
    while n:
        n, r = divmod(n, 62)
        s = ALPH[r] + s
    return s or "0"


def mid_to_bid(mid):
    mid = str(mid)
    parts = []
    while mid:
        parts.insert(0, mid[-7:])
        mid = mid[:-7]
    out = ""
    for i, p in enumerate(parts):
        s = b62(int(p))
        if i > 0:
            s = s.rjust(4, "0")
        out += s
    return out


EMO = {
    "怒": "default/d_nu-0be7f5d5f4.png",
    "哈哈": "default/d_haha-0ba1ad4f2a.png",
    "泪": "default/d_lei-46ac580b8d.png",
    "吃惊": "default/d_chijing-59b444adb6.png",
    "doge": "default/d_doge-be7f768d78.png",
    "微笑": "default/d_hehe-0be7e984b0.png",
    "允悲": "default/d_yunbei-a14a649db8.png",
    "摊手": "default/d_tanshou-1b1fc4d07e.png",
    "心": "others/l_xin-43af9086c0.png",
    "good": "others/h_good-0c51afc69c.png",
}


def search_link(tag, uid):
    q = urllib.parse.quote(tag)
    return (
        f'<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D{q}&extparam={q}'
        f'&luicode=10000011&lfid=107603{uid}" data-hide=""><span class="surl-text">{tag}</span></a>'
    )


def render(text, uid):
    def rep(m):
        tok = m.group(1)
        if tok.startswith("#"):
            return search_link(tok, uid)
        if tok.startswith("@"):
            return f"<a href='/n/{tok[1:]}'>{tok}</a>"
        if tok.startswith("["):
            name = tok[1:-1]
            return (
                f'<span class="url-icon"><img alt={tok} src="https://h5.sinaimg.cn/m/emoticon/icon/{EMO[name]}" '
                f'style="width:1em; height:1em;" /></span>'
            )
        if tok.startswith("$"):
            code = re.search(r"\((\w+)\)", tok).group(1)
            return (
                f'<a  href="https://m.weibo.cn/p/index?containerid=230677{code}&luicode=10000011&lfid=107603{uid}" '
                f'data-hide=""><span class="surl-text">{tok}</span></a>'
            )
        raise ValueError(tok)

    t = re.sub(r"\{([#@\[$][^}]*)\}", rep, text)
    return t.replace("\n", "<br />")


def plain(text):
    return re.sub(r"\{([#@\[$][^}]*)\}", r"\1", text)


def weibo_time(s):
    d = dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ)
    return d, d.strftime("%a %b %d %H:%M:%S +0800 %Y")


def user_obj(uid):
    u = USERS[uid]
    o = {
        "id": int(uid),
        "screen_name": u["screen_name"],
        "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.512.512.180/demo{uid[-4:]}ly8h0avatar.jpg?KID=imgbed,tva",
        "profile_url": f"https://m.weibo.cn/u/{uid}?uid={uid}&luicode=10000011&lfid=107603{uid}",
        "statuses_count": u["statuses_count"],
        "verified": u["verified"],
        "verified_type": u["verified_type"],
    }
    if u["verified_type_ext"] is not None:
        o["verified_type_ext"] = u["verified_type_ext"]
    if u["verified"]:
        o["verified_reason"] = u["verified_reason"]
    o.update(
        {
            "close_blue_v": False,
            "description": u["description"],
            "gender": u["gender"],
            "mbtype": u["mbtype"],
            "urank": u["urank"],
            "mbrank": u["mbrank"],
            "follow_me": False,
            "following": False,
            "followers_count": u["followers_count"],
            "follow_count": u["follow_count"],
            "cover_image_phone": "https://tva1.sinaimg.cn/crop.0.0.640.640.640/549d0121tw1egm1kjly3jj20hs0hsq4f.jpg",
            "avatar_hd": f"https://wx1.sinaimg.cn/orj480/demo{uid[-4:]}ly8h0avatar.jpg",
            "like": False,
            "like_me": False,
            "badge": {"user_name_certificate": 1} if u["verified"] else {},
        }
    )
    if isinstance(u["followers_count"], str):
        o["followers_count_str"] = u["followers_count"]
    return o


MID_BASE = 5231408817600000
MIDS = {}


def mid_of(p):
    if p["key"] not in MIDS:
        d, _ = weibo_time(p["created"])
        # time-ordered, unique, weibo-like magnitude
        MIDS[p["key"]] = str(
            MID_BASE
            + int((d - dt.datetime(2026, 1, 1, tzinfo=TZ)).total_seconds()) * 1000
            + int(p["key"][1:])
        )
    return MIDS[p["key"]]


def mblog(p, as_retweet=False):
    mid = mid_of(p)
    uid = p["uid"]
    d, created = weibo_time(p["created"])
    full_html = render(p["text"], uid)
    full_plain = plain(p["text"])
    is_long = bool(p.get("long"))
    text = full_html
    if is_long:
        # truncated the way m.weibo.cn does: ~140 chars of markup-stripped text then " ...全文"
        cut = full_plain[:118].replace("\n", "<br />")
        cut = cut.replace("#鼎盈1号#", search_link("#鼎盈1号#", uid))
        text = f'{cut} ...<a href="/status/{mid}">全文</a>'
    m = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": created,
        "id": mid,
        "mid": mid,
        "can_edit": False,
        "show_additional_indication": 0,
        "text": text,
    }
    if is_long:
        m["textLength"] = len(full_plain.encode("gbk"))
    m.update(
        {
            "source": p["source"],
            "favorited": False,
            "pic_ids": [],
            "pic_types": "",
            "is_paid": False,
            "mblog_vip_type": 0,
            "user": user_obj(uid),
            "reposts_count": p["reposts"],
            "comments_count": p["comments"],
            "attitudes_count": p["likes"],
            "pending_approval_count": 0,
            "isLongText": is_long,
            "reward_exhibition_type": 0,
            "hide_flag": 0,
            "mlevel": 0,
            "mblogtype": 2 if p.get("pinned") else 0,
            "rid": f"{POSTS.index(p)}_0_50_4807156903569941242_0_0_0",
            "more_info_type": 0,
            "extern_safe": 0,
            "content_auth": 0,
            "safe_tags": 0,
            "pic_num": 0,
            "mblog_menu_new_style": 0,
            "edit_config": {"edited": False},
            "bid": mid_to_bid(mid),
        }
    )
    if p.get("pinned"):
        m["isTop"] = 1
        m["title"] = {"text": "置顶", "base_color": 1}
    if p.get("retweet"):
        rt = next(x for x in POSTS if x["key"] == p["retweet"])
        m["retweeted_status"] = mblog(rt, as_retweet=True)
        m["repost_type"] = 1
        m["raw_text"] = full_plain
    return m


def card(p):
    mid = mid_of(p)
    bid = mid_to_bid(mid)
    return {
        "card_type": 9,
        "itemid": f"107603{p['uid']}_-_{mid}",
        "scheme": f"https://m.weibo.cn/status/{bid}?mblogid={bid}&luicode=10000011&lfid=107603{p['uid']}",
        "mblog": mblog(p),
    }


def extra_cards(uid, page):
    """Non-9 cards that real timelines carry and a spider must skip."""
    if uid == "1000000002" and page == 1:
        return [
            (
                3,
                {
                    "card_type": 11,
                    "itemid": "",
                    "card_group": [
                        {
                            "card_type": 10,
                            "user": {
                                "id": 1000000099,
                                "screen_name": "理财小白日记",
                                "verified": False,
                                "followers_count": 1203,
                            },
                            "desc1": "可能感兴趣的人",
                            "scheme": "https://m.weibo.cn/u/1000000099",
                        },
                        {
                            "card_type": 10,
                            "user": {
                                "id": 1000000098,
                                "screen_name": "基金定投那些事",
                                "verified": False,
                                "followers_count": 5321,
                            },
                            "desc1": "可能感兴趣的人",
                            "scheme": "https://m.weibo.cn/u/1000000098",
                        },
                    ],
                    "show_type": 0,
                    "title": "可能感兴趣的人",
                },
            )
        ]
    if uid == "1000000001" and page == 2:
        return [
            (
                0,
                {
                    "card_type": 58,
                    "itemid": "",
                    "name": "以下为2026年11月6日之前的微博",
                    "show_type": 0,
                    "desc": "以下为2026年11月6日之前的微博",
                },
            )
        ]
    if uid == "1000000003" and page == 1:
        return [
            (
                4,
                {
                    "card_type": 31,
                    "itemid": "",
                    "scheme": "",
                    "hot_request_text": "搜索财经快线的微博",
                    "desc": "搜索",
                    "show_type": 0,
                },
            )
        ]
    return []


def build_weibo():
    routes, expected = [], []
    for uid in USERS:
        pages = sorted({p["page"] for p in POSTS if p["uid"] == uid})
        for page in pages:
            ps = [p for p in POSTS if p["uid"] == uid and p["page"] == page]
            pinned = [p for p in ps if p.get("pinned")]
            rest = sorted([p for p in ps if not p.get("pinned")], key=lambda p: p["created"], reverse=True)
            cards = [card(p) for p in pinned + rest]
            for pos, c in extra_cards(uid, page):
                cards.insert(pos, c)
            total = sum(1 for p in POSTS if p["uid"] == uid)
            info = {"containerid": f"107603{uid}", "v_p": 42, "show_style": 1, "total": total}
            if page < max(pages):
                nxt = [p for p in POSTS if p["uid"] == uid and p["page"] == page + 1]
                info["since_id"] = int(max(mid_of(p) for p in nxt))
            else:
                info["page"] = page + 1
            doc = {"ok": 1, "data": {"cardlistInfo": info, "cards": cards, "scheme": ""}}
            fname = f"weibo/u{uid}_p{page}.json"
            w(fname, json.dumps(doc, ensure_ascii=False, indent=1))
            routes.append(
                {
                    "path": "/api/container/getIndex",
                    "query": {"containerid": f"107603{uid}", "page": str(page)},
                    "file": fname,
                    "content_type": "application/json; charset=utf-8",
                    "status": 200,
                }
            )
            if "since_id" in info:
                routes.append(
                    {
                        "path": "/api/container/getIndex",
                        "query": {"containerid": f"107603{uid}", "since_id": str(info["since_id"])},
                        "file": f"weibo/u{uid}_p{page + 1}.json",
                        "content_type": "application/json; charset=utf-8",
                        "status": 200,
                    }
                )
        # past the last page: the real "no content" answer
        for extra in range(max(pages) + 1, 11):
            routes.append(
                {
                    "path": "/api/container/getIndex",
                    "query": {"containerid": f"107603{uid}", "page": str(extra)},
                    "file": "weibo/empty.json",
                    "content_type": "application/json; charset=utf-8",
                    "status": 200,
                }
            )
        # profile (type=uid&value=<uid>)
        u = user_obj(uid)
        u["toolbar_menus"] = []
        prof = {
            "ok": 1,
            "data": {
                "isVideoCoverStyle": 0,
                "isStarStyle": 0,
                "userInfo": u,
                "tabsInfo": {
                    "selectedTab": 1,
                    "tabs": [
                        {
                            "id": 1,
                            "tabKey": "weibo",
                            "must_show": 1,
                            "hidden": 0,
                            "title": "微博",
                            "tab_type": "weibo",
                            "containerid": f"107603{uid}",
                            "apipath": "/profile/statuses",
                        }
                    ],
                },
            },
        }
        w(f"weibo/profile_u{uid}.json", json.dumps(prof, ensure_ascii=False, indent=1))
        routes.append(
            {
                "path": "/api/container/getIndex",
                "query": {"type": "uid", "value": uid},
                "file": f"weibo/profile_u{uid}.json",
                "content_type": "application/json; charset=utf-8",
                "status": 200,
            }
        )
    # fallbacks (no page param = first page); listed after the specific routes
    for uid in USERS:
        routes.append(
            {
                "path": "/api/container/getIndex",
                "query": {"containerid": f"107603{uid}"},
                "file": f"weibo/u{uid}_p1.json",
                "content_type": "application/json; charset=utf-8",
                "status": 200,
            }
        )
    w(
        "weibo/empty.json",
        json.dumps({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, ensure_ascii=False, indent=1),
    )
    # long text
    for p in POSTS:
        if p.get("long"):
            mid = mid_of(p)
            doc = {
                "ok": 1,
                "data": {
                    "ok": 1,
                    "longTextContent": render(p["text"], p["uid"]),
                    "reposts_count": p["reposts"] + 37,
                    "comments_count": p["comments"] + 12,
                    "attitudes_count": p["likes"] + 150,
                },
            }
            w(f"weibo/extend_{mid}.json", json.dumps(doc, ensure_ascii=False, indent=4))
            routes.append(
                {
                    "path": "/statuses/extend",
                    "query": {"id": mid},
                    "file": f"weibo/extend_{mid}.json",
                    "content_type": "application/json; charset=utf-8",
                    "status": 200,
                }
            )
    for p in POSTS:
        about, flagged, topic, rumor, senti, note = EXPECT[p["key"]]
        d, _ = weibo_time(p["created"])
        mid = mid_of(p)
        u = USERS[p["uid"]]
        expected.append(
            {
                "kind": "weibo",
                "key": p["key"],
                "id": mid,
                "mid": mid,
                "bid": mid_to_bid(mid),
                "uid": p["uid"],
                "screen_name": u["screen_name"],
                "file": f"weibo/u{p['uid']}_p{p['page']}.json",
                "published_at": d.isoformat(),
                "text_excerpt": plain(p["text"])[:60].replace("\n", " "),
                "is_long_text": bool(p.get("long")),
                "is_repost": bool(p.get("retweet")),
                "pinned": bool(p.get("pinned")),
                "reposts": p["reposts"],
                "comments": p["comments"],
                "likes": p["likes"],
                "user_followers": u["followers_num"],
                "user_verified": u["verified"],
                "about_firm": about,
                "flagged": flagged,
                "topic": topic,
                "topic_alternatives": ALT_TOPICS.get(p["key"], []),
                "rumor": rumor,
                "sentiment": senti,
                "note": note,
            }
        )
    return routes, expected


def main():
    import shutil

    for sub in ("news", "feeds", "weibo"):
        shutil.rmtree(OUT / sub, ignore_errors=True)
    routes = [
        {
            "path": "/robots.txt",
            "query": {},
            "file": "robots.txt",
            "content_type": "text/plain; charset=utf-8",
            "status": 200,
        }
    ]
    w("robots.txt", "User-agent: *\nAllow: /\n")
    a_routes, feeds, a_exp = build_articles()
    for name, items in feeds.items():
        build_feed(name, items)
        routes.append(
            {
                "path": f"/feeds/{name}.xml",
                "query": {},
                "file": f"feeds/{name}.xml",
                "content_type": "application/rss+xml; charset=utf-8",
                "status": 200,
            }
        )
    routes += a_routes
    w_routes, w_exp = build_weibo()
    routes += w_routes
    w("manifest.json", json.dumps({"routes": routes}, ensure_ascii=False, indent=1) + "\n")
    exp = {
        "firm": "华鼎证券",
        "about": "Ground truth for the bundled demo (all fictional). One entry per post: articles keyed by path (id = URL path), "
        "Weibo posts by mid. flagged = a duty officer should see it flagged; topic is one of the contract TOPICS; "
        "topic_alternatives lists other topics a reasonable analyst could pick; rumor = the post spreads the false claim.",
        "topics": [
            "交易系统故障",
            "客户投诉",
            "监管处罚",
            "高管负面",
            "员工不当言论",
            "不实信息",
            "数据泄露",
            "产品亏损/兑付",
            "其他",
        ],
        "posts": a_exp + w_exp,
    }
    exp["summary"] = {
        "articles": len(a_exp),
        "weibo_posts": len(w_exp),
        "about_firm": sum(e["about_firm"] for e in exp["posts"]),
        "flagged": sum(e["flagged"] for e in exp["posts"]),
        "rumor": sum(e["rumor"] for e in exp["posts"]),
        "lookalike_not_firm": sum(
            1
            for e in exp["posts"]
            if not e["about_firm"] and ("华鼎银行" in e["note"] or "华鼎科技" in e["note"])
        ),
    }
    w("expected.json", json.dumps(exp, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
