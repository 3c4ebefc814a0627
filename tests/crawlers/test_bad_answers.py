"""Bad answers: each is a source error with its kind and a Chinese + English reason, never a post, never a
crash — and a charset declaration that lies is read right, not lost.

One local site serves every bad answer (real saved pages cut or mislabelled, the real Weibo error
answer, and the error formats the sites send as public clients know them: xueqiu's 400016, a
redirect to passport.weibo.cn, Baidu's captcha redirect); one crawl in a child process covers them all.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from crawl_site import FAST_SETTINGS, FIXTURES, PAGES, require_pages
from family_site import KEYWORD, NOW

from yuqing.localsite import LocalSite

HTML = "text/html; charset=utf-8"
JSON_CT = "application/json; charset=utf-8"
SEARCH = f"100103type=1&q={KEYWORD}"

ARTICLE_GBK = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>华鼎证券回应客户投诉</title></head>
<body><div class="nav">首页 财经</div>
<div class="article"><h1>华鼎证券回应客户投诉</h1><div class="info">2026-11-19 16:20 来源：证券观察报</div>
<p>华鼎证券今日就鼎盈1号产品的客户投诉作出回应，称将逐一核查销售过程中的适当性管理记录。</p>
<p>公司表示，如发现客户经理存在误导销售行为，将依法依规处理，并妥善解决客户诉求。</p>
<p>截至发稿，已有十余名投资者通过黑猫投诉等平台反映相关问题，涉及金额合计约三百万元。</p>
</div><div class="footer">版权所有</div></body></html>
"""
LOGIN_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>登录 - 雪球</title></head>
<body><form action="/snb/provider/login" method="post">
<input type="text" name="username" placeholder="手机号/邮箱"><input type="password" name="password">
<button type="submit">登录</button></form></body></html>
"""


OUTAGE_ARTICLE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>华鼎金管家APP登录故障 客户一早无法登录</title></head>
<body><div class="top"><form class="login-box"><input name="u"><input type="password" name="p">
<button>登录</button></form></div>
<div class="article"><h1>华鼎金管家APP登录故障 客户一早无法登录</h1><div class="info">2026-11-09 10:05 来源：汇财新闻网</div>
<p>11月9日上午开盘前后，多名投资者反映华鼎证券旗下华鼎金管家APP无法登录，页面长时间显示加载中。</p>
<p>记者联系华鼎证券客服，对方表示技术部门正在排查，故障期间客户可通过电话委托下单。</p>
<p>截至10时左右，部分用户反映已可正常登录，但行情刷新仍有延迟，公司尚未发布正式说明。</p>
</div></body></html>
"""


def _list_page(*paths: str) -> str:
    links = "".join(f'<li><a href="{{base_url}}{p}">文章{i}</a></li>' for i, p in enumerate(paths))
    return f'<html><head><meta charset="utf-8"><title>列表</title></head><body><ul class="l">{links}</ul></body></html>'


def _routes(root: Path) -> list[dict]:
    stcn = (PAGES / "stcn/stcn-1.html").read_bytes()
    (root / "truncated.html").write_bytes(stcn[: len(stcn) * 45 // 100])
    (root / "gbk_lying.html").write_bytes(ARTICLE_GBK.encode("gbk"))
    files = {
        "list_truncated.html": _list_page("/a/truncated.html"),
        "list_empty.html": _list_page("/a/empty.html"),
        "list_login.html": _list_page("/a/login.html"),
        "list_outage.html": _list_page("/a/outage.html"),
        "outage.html": OUTAGE_ARTICLE,
        "list_lying.html": _list_page("/a/gbk-lying.html", "/a/people.html"),
        "login.html": LOGIN_PAGE,
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")

    def r(path, query=None, **kw):
        return {"path": path, "query": query or {}, **kw}

    w = PAGES / "weibo-mobile-api/weibo_err_profile.json"
    return [
        r("/robots.txt", file=str(FIXTURES / "robots.txt"), content_type="text/plain"),
        # article pages behind list pages
        r("/lists/truncated.html", file=str(root / "list_truncated.html"), content_type=HTML),
        r("/a/truncated.html", file=str(root / "truncated.html"), content_type="text/html"),
        r("/lists/empty.html", file=str(root / "list_empty.html"), content_type=HTML),
        r("/a/empty.html", body="", content_type=HTML),
        r("/lists/login.html", file=str(root / "list_login.html"), content_type=HTML),
        r("/a/login.html", file=str(root / "login.html"), content_type=HTML),
        r("/lists/outage.html", file=str(root / "list_outage.html"), content_type=HTML),
        r("/a/outage.html", file=str(root / "outage.html"), content_type=HTML),
        r("/lists/lying.html", file=str(root / "list_lying.html"), content_type=HTML),
        # GBK bytes that say UTF-8 (header and meta); UTF-8 bytes that say GB2312 (the real 人民网 page)
        r("/a/gbk-lying.html", file=str(root / "gbk_lying.html"), content_type="text/html; charset=utf-8"),
        r(
            "/a/people.html",
            file=str(PAGES / "people/people-1.html"),
            content_type="text/html; charset=GB2312",
        ),
        # weibo: the real error answer; a redirect to the login page; JSON cut short
        r("/w1/api/container/getIndex", {"containerid": SEARCH}, file=str(w), content_type=JSON_CT),
        r(
            "/w2/api/container/getIndex",
            status=302,
            body="",
            headers={
                "Location": "https://passport.weibo.cn/signin/login?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn"
            },
        ),
        r(
            "/w3/api/container/getIndex",
            body='{"ok":1,"data":{"cards":[{"card_type":9,"mblog":{"id":"1',
            content_type=JSON_CT,
        ),
        # xueqiu: the expired-token answer; a login page where JSON was expected
        r(
            "/x1/query/v1/search/status.json",
            file=str(FIXTURES / "families/xueqiu/error_400016.json"),
            content_type=JSON_CT,
            status=400,
        ),
        r("/x2/query/v1/search/status.json", file=str(root / "login.html"), content_type=HTML),
        # HTTP refusals
        r("/g403/list,609999.html", status=403, body="Forbidden", content_type="text/plain"),
        r("/b418/s", status=418, body="I'm a teapot", content_type="text/plain"),
        r("/h429/api/index/s", status=429, body="Too Many Requests", content_type="text/plain"),
        # baidu's human check
        r(
            "/bcap/s",
            status=302,
            body="",
            headers={"Location": "https://wappass.baidu.com/static/captcha/tuxing.html?ak=x"},
        ),
        # non-JSON where JSON was expected; an empty API answer; API errors
        r(
            "/hhtml/api/index/s",
            body="<html><body><h1>502 Bad Gateway</h1></body></html>",
            content_type="text/html",
        ),
        r("/cempty/nodeapi/telegraphList", body="", content_type=JSON_CT),
        r("/cerr/nodeapi/telegraphList", body='{"error":50001,"msg":"签名错误"}', content_type=JSON_CT),
        r(
            "/herr/api/index/s",
            body='{"result":{"status":{"code":10003,"msg":"参数错误"},"data":{}}}',
            content_type=JSON_CT,
        ),
        r("/gsearch/jsonp", body="Service Unavailable", content_type="text/plain"),
    ]


def _sources(base: str) -> list[dict]:
    kw = {"keywords": [KEYWORD]}
    lst = {"link_css": "ul.l a"}
    return [
        {
            "name": "truncated-html",
            "family": "news_list",
            "url": f"{base}/lists/truncated.html",
            "options": lst,
        },
        {"name": "empty-article", "family": "news_list", "url": f"{base}/lists/empty.html", "options": lst},
        {
            "name": "login-page-article",
            "family": "news_list",
            "url": f"{base}/lists/login.html",
            "options": lst,
        },
        {
            "name": "login-word-article",
            "family": "news_list",
            "url": f"{base}/lists/outage.html",
            "options": lst,
        },
        {"name": "lying-charsets", "family": "news_list", "url": f"{base}/lists/lying.html", "options": lst},
        {"name": "weibo-api-error", "family": "weibo", "url": f"{base}/w1", "options": kw},
        {"name": "weibo-login-redirect", "family": "weibo", "url": f"{base}/w2", "options": kw},
        {"name": "weibo-cut-json", "family": "weibo", "url": f"{base}/w3", "options": kw},
        {"name": "xueqiu-expired-token", "family": "xueqiu", "url": f"{base}/x1", "options": kw},
        {"name": "xueqiu-login-page", "family": "xueqiu", "url": f"{base}/x2", "options": kw},
        {
            "name": "xueqiu-no-token",
            "family": "xueqiu",
            "url": f"{base}/x1",
            "options": {**kw, "token_secret": "xq_token_not_configured"},
        },
        {"name": "guba-403", "family": "guba", "url": f"{base}/g403", "options": {"stock_codes": ["609999"]}},
        {"name": "baidu-418", "family": "baidu_news", "url": f"{base}/b418", "options": kw},
        {"name": "heimao-429", "family": "heimao", "url": f"{base}/h429", "options": kw},
        {"name": "baidu-captcha", "family": "baidu_news", "url": f"{base}/bcap", "options": kw},
        {"name": "heimao-html", "family": "heimao", "url": f"{base}/hhtml", "options": kw},
        {"name": "cls-empty", "family": "cls", "url": f"{base}/cempty"},
        {"name": "cls-error", "family": "cls", "url": f"{base}/cerr"},
        {"name": "heimao-error", "family": "heimao", "url": f"{base}/herr", "options": kw},
        {
            "name": "guba-search-text",
            "family": "guba",
            "url": f"{base}/g",
            "options": {**kw, "search_url": f"{base}/gsearch/jsonp"},
        },
    ]


@pytest.fixture(scope="module")
def bad_run():
    from crawlers.runner import run_crawl_subprocess

    require_pages()
    root = Path(tempfile.mkdtemp(prefix="yuqing-bad-"))
    secrets = root / "secrets.toml"
    secrets.write_text('xq_a_token = "bad-answers-token"\n', encoding="utf-8")
    with LocalSite(root, {"routes": _routes(root)}) as site:
        out = root / "posts.jsonl"
        stats = run_crawl_subprocess(
            _sources(site.base_url),
            out,
            settings={**FAST_SETTINGS, "YUQING_NOW": NOW, "RETRY_TIMES": 1, "RETRY_BACKOFF_BASE": 0.05},
            timeout=180,
            log_path=root / "crawl.log",
            secrets_file=secrets,
        )
        posts = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]
        yield stats, posts, list(site.requests)


CASES = [
    # source, kind, words the reason must contain (Chinese and English)
    ("truncated-html", "truncated", ("页面不完整", "truncated HTML")),
    ("empty-article", "empty", ("响应内容为空", "empty response body")),
    ("login-page-article", "login_wall", ("需要登录", "login wall")),
    ("weibo-api-error", "api_error", ("接口返回错误", "ok=0", "这里还没有内容")),
    ("weibo-login-redirect", "login_wall", ("需要登录", "passport.weibo.cn")),
    ("weibo-cut-json", "bad_json", ("应返回 JSON", "not JSON")),
    ("xueqiu-expired-token", "login_wall", ("需要登录", "400016", "重新登录")),
    ("xueqiu-login-page", "login_wall", ("需要登录", "login wall")),
    ("xueqiu-no-token", "secret_missing", ("缺少登录凭据", "YUQING_SECRET_XQ_TOKEN_NOT_CONFIGURED")),
    ("guba-403", "http_403", ("禁止访问", "HTTP 403")),
    ("baidu-418", "http_418", ("被识别为爬虫", "HTTP 418")),
    ("heimao-429", "rate_limited", ("请求过于频繁", "HTTP 429", "after retries")),
    ("baidu-captcha", "captcha", ("人机验证", "captcha")),
    ("heimao-html", "bad_json", ("应返回 JSON", "got HTML")),
    ("cls-empty", "empty", ("响应内容为空", "empty")),
    ("cls-error", "api_error", ("接口返回错误", "签名错误")),
    ("heimao-error", "api_error", ("接口返回错误", "参数错误")),
    ("guba-search-text", "bad_json", ("应返回 JSON", "Service Unavailable")),
]


@pytest.mark.parametrize(("source", "kind", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_answer_is_a_source_error_not_a_post(bad_run, source, kind, words):
    stats, posts, _ = bad_run
    s = stats[source]
    assert s["finish_reason"] == "finished"  # no crash
    assert s["items"] == 0 and not [p for p in posts if p["source"] == source]
    assert s["stats"].get(f"yuqing/source_error/{kind}", 0) >= 1, s["error_reasons"]
    assert s["errors"] >= 1
    reason = " ".join(s["error_reasons"])
    for word in words:
        assert word in reason, (word, s["error_reasons"])


def test_429_was_retried_before_giving_up(bad_run):
    _, _, requests = bad_run
    assert sum(r.startswith("/h429/") for r in requests) == 2  # the first try and one retry


def test_login_redirect_is_not_followed(bad_run):
    stats, _, requests = bad_run
    assert not any("signin" in r or "captcha" in r for r in requests)
    for source in ("weibo-login-redirect", "baidu-captcha"):
        assert not stats[source]["stats"].get("yuqing/source_error/network")  # no DNS try for the login host


def test_missing_token_sends_no_request(bad_run):
    stats, _, _ = bad_run
    assert stats["xueqiu-no-token"]["stats"].get("downloader/request_count", 0) == 0


def test_lying_charsets_are_read_right_and_stored(bad_run):
    stats, posts, _ = bad_run
    s = stats["lying-charsets"]
    assert s["errors"] == 0 and s["items"] == 2
    assert s["stats"]["yuqing/charset_mismatch"] == 2  # counted for the health page, not an error
    by_url = {p["url"].rsplit("/", 1)[-1]: p for p in posts if p["source"] == "lying-charsets"}
    gbk = by_url["gbk-lying.html"]  # GBK bytes declared UTF-8
    assert gbk["title"] == "华鼎证券回应客户投诉"
    assert "逐一核查销售过程中的适当性管理记录" in gbk["text"] and "\ufffd" not in gbk["text"]
    people = by_url["people.html"]  # UTF-8 bytes declared GB2312
    assert "父爱如山" in people["text"] and "鐖" not in people["text"]


def test_an_article_about_a_login_outage_is_not_a_login_wall(bad_run):
    stats, posts, _ = bad_run
    s = stats["login-word-article"]
    assert s["errors"] == 0 and s["items"] == 1
    (post,) = [p for p in posts if p["source"] == "login-word-article"]
    assert "无法登录" in post["title"] and "电话委托下单" in post["text"]
