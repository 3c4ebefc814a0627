"""Generic article extraction for Chinese news pages: encoding, title, body, author, time, canonical URL.

Pure functions (no Scrapy), so they are tested on saved pages directly and reused by any spider.
``yuqing bench extract`` measures them against hand-written references of the real pages in
../shared/pages (bench/extract_refs/).

Body: a readability-style text-density pass. Every block element's own text (its text plus inline
children, not its block children) is a candidate paragraph; paragraphs with little non-link text, and
site footers (Copyright, 版权所有, 举报电话…), are ignored; the rest add their score to their container
(and half to the container's parent). The best container, penalised for link density and for
boilerplate-looking class/id names, is the article; below a minimum score there is no article (a list
page has no body). Its lines with mostly link text, editor credits, datelines, share/QR prompts,
copyright and tip-off lines, sidebar teasers and photo captions (figcaption, caption classes, an image's
alt text repeated, a credit such as 视觉中国 under a photo) are dropped; the rest are the paragraphs,
one per line.

Title: a heading that the <title>, og:title or JSON-LD headline contains. Time: per-site selector, then
meta tags, JSON-LD datePublished, <time datetime>, then the date line under the title (发布时间：…,
2024年01月05日 10:20, 2024-01-05 10:20:00), taken as Beijing time when no offset is given. Author: per-site
selector, then a 作者/记者 label, meta/JSON-LD author, a 来源 label, then an unlabelled credit beside the
date or a short byline right above it.

Per-site CSS/XPath overrides (``title_css``, ``body_css``, ``time_css``, ``author_css``, and the same
with ``_xpath``) come from ``SourceConfig.options`` and win over the generic rules; one that matches
nothing (a redesigned site) falls back to them, and a malformed one raises ValueError.

Walks over the tree are iterative and the parser runs with ``huge_tree``, so truncated, empty,
enormous or absurdly nested pages give what they hold instead of an exception.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

__all__ = [
    "CHINA_TZ",
    "decode_html",
    "extract_article",
    "html_fragment_to_text",
    "parse_datetime",
    "parse_datetime_obj",
]

CHINA_TZ = timezone(timedelta(hours=8))

# ------------------------------------------------------------------------------------------------
# encoding


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML page; return ``(text, encoding)``.

    Order: a BOM; bytes that are valid UTF-8 (and not plain ASCII) are UTF-8 whatever the page
    declares (Chinese sites often declare GB2312 over UTF-8 bytes, and GBK text is practically never
    valid UTF-8); otherwise the HTTP header's charset, then the page's ``<meta>`` charset (GB2312 and
    GBK read as GB18030, their superset); otherwise a statistical guess (charset-normalizer) or GB18030.
    """
    bom_enc, bom = read_bom(body)
    if bom_enc:
        return body[len(bom) :].decode(bom_enc, errors="replace"), bom_enc
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8"
    declared = []
    if content_type:
        declared.append(http_content_type_encoding(content_type))
    declared.append(html_body_declared_encoding(body))
    for name in declared:
        enc = _python_encoding(name)
        if enc and enc != "utf-8":
            text = body.decode(enc, errors="replace")
            # a wrong declaration shows up as many replacement characters
            if text.count("\ufffd") <= max(3, len(text) // 1000):
                return text, enc
    guess = _guess_encoding(body)
    if guess:
        return body.decode(guess, errors="replace"), guess
    return body.decode("gb18030", errors="replace"), "gb18030"


def _python_encoding(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name) or name
    try:
        enc = codecs.lookup(resolved).name
    except LookupError:
        return None
    # GB2312 and GBK pages are read as GB18030, their superset (a page that says GB2312 often holds GBK
    # characters); w3lib mapped them so before 2.6, and maps them to gbk since
    return "gb18030" if enc in _GB_SUBSETS else enc


_GB_SUBSETS = frozenset(codecs.lookup(n).name for n in ("gb2312", "gbk"))


def _guess_encoding(body: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: scrapy does not require it
        return None
    best = from_bytes(body[:200_000]).best()
    if best is None:
        return None
    enc = _python_encoding(best.encoding)
    # GB2312/GBK guesses: GB18030 decodes all of them
    if enc in ("gb2312", "gbk", "hz"):
        return "gb18030"
    return enc


# ------------------------------------------------------------------------------------------------
# dates


_CN_DT = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*(?:[-/.月])\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*T?\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2})秒?)?)?"
    r"(?:\s*(?P<tz>Z|[+-]\d{2}:?\d{2}))?"
)
_WEIBO_FMT = "%a %b %d %H:%M:%S %z %Y"


def parse_datetime(value: str | None, *, default_tz: timezone = CHINA_TZ) -> str:
    """Parse the date formats Chinese sites and feeds use; return ISO 8601 with offset, or ``""``.

    Handles ISO 8601, RFC 822 (RSS ``pubDate``), Weibo's ``Tue Jun 08 09:35:04 +0800 2021`` and
    ``2021年06月08日 09:35`` / ``2019-09-26 12:11`` / ``2019/06/15`` style local times, which are
    taken as Beijing time (+08:00).
    """
    dt = parse_datetime_obj(value, default_tz=default_tz)
    return dt.isoformat() if dt else ""


def parse_datetime_obj(value: str | None, *, default_tz: timezone = CHINA_TZ) -> datetime | None:
    if not value:
        return None
    s = " ".join(str(value).split())
    if not s:
        return None
    try:
        return datetime.strptime(s, _WEIBO_FMT)
    except ValueError:
        pass
    if re.match(r"^[A-Za-z]{3},?\s+\d", s) or re.search(r"\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", s):
        try:
            dt = parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            dt = None
        if dt is not None:
            return dt if dt.tzinfo else dt.replace(tzinfo=default_tz)
    m = _CN_DT.search(s)
    if not m:
        return None
    try:
        dt = datetime(
            int(m["y"]),
            int(m["m"]),
            int(m["d"]),
            int(m["H"] or 0),
            int(m["M"] or 0),
            int(m["S"] or 0),
        )
    except ValueError:
        return None
    tz = m["tz"]
    if tz:
        if tz == "Z":
            return dt.replace(tzinfo=UTC)
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        return dt.replace(tzinfo=timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))
    return dt.replace(tzinfo=default_tz)


def _has_time(value: str) -> bool:
    m = _CN_DT.search(value or "")
    return bool(m and m["H"]) or bool(re.search(r"\d{1,2}:\d{2}", value or ""))


# ------------------------------------------------------------------------------------------------
# HTML → text

BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "iframe",
    "form",
    "nav",
    "footer",
    "aside",
    "select",
    "button",
    "input",
    "textarea",
    "svg",
    "canvas",
    "object",
    "embed",
    "template",
    "head",
)
_NEG_TOKENS = frozenset(
    [
        "comment",
        "comments",
        "footer",
        "foot",
        "nav",
        "navbar",
        "menu",
        "breadcrumb",
        "crumbs",
        "share",
        "sharing",
        "sidebar",
        "side",
        "recommend",
        "related",
        "tuijian",
        "advert",
        "ads",
        "ad",
        "banner",
        "copyright",
        "login",
        "topbar",
        "toolbar",
        "rank",
        "ranking",
        "paihang",
        "pinglun",
        "guanggao",
        "qrcode",
        "erweima",
        "shenming",
        "statement",
        "popup",
        "social",
        "tags",
        "keywords",
        "pager",
        "pagination",
    ]
)
_POS_TOKENS = frozenset(
    ["article", "artibody", "content", "contents", "text", "txt", "body", "main", "post", "news", "zw", "con"]
)
_PUNCT = re.compile(r"[，。！？；：、“”《》,.!?;:]")
_EDITOR_LINE = re.compile(r"^[（(\[【]?\s*(?:责任编辑|责编|编辑|校对|审核|监制)\s*[：:]")
_BOILER_LINE = re.compile(
    r"^(?:分享到|扫描|扫一扫|关注我们|点击进入|点击查看|打开.{0,6}APP|下载.{0,6}客户端|返回顶部|"
    r"上一篇|下一篇|相关阅读|相关新闻|推荐阅读|更多猛料|版权所有|Copyright|All Rights Reserved|"
    r"声明[：:]|免责声明|来源[：:].{0,20}$)",
    re.I,
)
# short lines that are boilerplate wherever the phrase sits: copyright notices, tip-off lines, click prompts
_BOILER_ANYWHERE = re.compile(
    r"未经授权不得转载|未经许可不得转载|转载请注明|版权所有|版权归.{0,12}所有|报料(?:热线|邮箱|电话)?[：:]|"
    r"【[^】]{0,10}点击[^】]{0,10}】|点击(?:投票|下载|关注|订阅)|举报电话|举报邮箱|举报专区",
    re.I,
)
_BOILER_ANYWHERE_MAX = 80
# site footers: such a block never counts towards the article, whatever its class names say
_FOOTER_MARKERS = re.compile(
    r"Copyright|All Rights Reserved|版权所有|举报电话|举报邮箱|ICP备|ICP证|郑重声明", re.I
)
_FOOTER_LINE_MAX = 200
# a teaser from a list elsewhere on the page: "…… 【详细】" / "[更多]"
_TEASER_END = re.compile(r"[【\[](?:详细|更多|全文|详情)[】\]]\s*$")
# labels a dateline carries besides the date itself
_DATELINE_LABELS = re.compile(r"来源|作者|记者|编辑|发布时间|发布|时间|日期|[：:|｜]")


_CAPTION_TOKENS = frozenset(["caption", "descr", "figcaption", "imgtxt", "pictxt", "picdesc", "imgdesc"])
# credits that mark a short line under a photo as its caption, not a paragraph
_PHOTO_CREDIT = re.compile(
    r"视觉中国|新华社发|中新社发|东方IC|IC\s?photo|Getty|图虫|资料图|资料照片|供图|截图|图源|图片来源|"
    r"图片由|^图\s*[:：/|]|[（(]\s*图|摄\s*[)）]?$|资料$",
    re.I,
)
# below this the best container is not an article (a list page's "no more items" line, a footer blurb)
_MIN_BODY_SCORE = 25.0
# nor is a generic pick whose surviving text is shorter than this (a QR-code label, a lone caption)
_MIN_BODY_CHARS = 12


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\xa0", " ").replace("\u3000", " ")).strip()


def _tag(el: Any) -> str | None:
    return el.tag.lower() if isinstance(el.tag, str) else None


def _tokens(el: lxml.html.HtmlElement) -> list[str]:
    raw = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return [t for t in re.split(r"[^a-z0-9]+", raw) if t]


def _is_negative(el: lxml.html.HtmlElement) -> bool:
    return any(t in _NEG_TOKENS for t in _tokens(el))


def _is_caption(el: lxml.html.HtmlElement) -> bool:
    return _tag(el) == "figcaption" or any(t in _CAPTION_TOKENS for t in _tokens(el))


class _Line(NamedTuple):
    """One text line, with what the body filter needs to know about it."""

    text: str
    link_chars: int
    after_image: bool  # an image came right before it, no text in between
    in_caption: bool  # inside <figcaption> or a caption-classed element


def _walk_lines(root: lxml.html.HtmlElement, *, skip_negative: bool = True) -> list[_Line]:
    """Text lines of ``root``; block elements and ``<br>`` break lines.

    Iterative (an explicit stack), so a pathologically deep page cannot exhaust Python's recursion
    limit. Each line records how much of it is link text, whether an image came right before it (no
    text in between) and whether it sits in a caption element; the body filter uses all three.
    """
    out: list[_Line] = []
    cur: list[str] = []
    state = {"link": 0, "img": False, "cap": False}

    def flush() -> None:
        text = _clean("".join(cur))
        if text:
            out.append(_Line(text, min(state["link"], len(text)), state["img"], state["cap"]))
            state["img"] = False
        cur.clear()
        state["link"] = 0
        state["cap"] = False

    def add(s: str | None, in_link: bool, in_cap: bool) -> None:
        if s:
            cur.append(s)
            if in_link:
                state["link"] += len(_clean(s))
            if in_cap and s.strip():
                state["cap"] = True

    start_link = any(_tag(a) == "a" for a in root.iterancestors())
    # stack items: ("enter", el, in_link, in_cap) | ("text", str, in_link, in_cap) | ("exit", block)
    stack: list[tuple[Any, ...]] = [("enter", root, start_link, False)]
    while stack:
        item = stack.pop()
        op = item[0]
        if op == "text":
            add(item[1], item[2], item[3])
            continue
        if op == "exit":
            if item[1]:
                flush()
            continue
        _, el, in_link, in_cap = item
        tag = _tag(el)
        if tag is None or tag in DROP_TAGS:  # comments and processing instructions have no tag
            continue
        if skip_negative and el is not root and _is_negative(el):
            continue
        if tag == "img":
            if not "".join(cur).strip():
                state["img"] = True
            continue
        block = tag in BLOCK_TAGS or tag == "br"
        if block:
            flush()
        here_link = in_link or tag == "a"
        here_cap = in_cap or _is_caption(el)
        stack.append(("exit", block))
        for child in reversed(el):
            stack.append(("text", child.tail, in_link, in_cap))
            stack.append(("enter", child, here_link, here_cap))
        stack.append(("text", el.text, here_link, here_cap))
    flush()
    return out


def _lines(root: lxml.html.HtmlElement, *, skip_negative: bool = True) -> list[tuple[str, int]]:
    """Text lines of ``root`` as ``(text, link_chars)``."""
    return [(line.text, line.link_chars) for line in _walk_lines(root, skip_negative=skip_negative)]


def _own_text(el: lxml.html.HtmlElement, in_link: bool) -> tuple[str, int]:
    """Text directly in ``el`` (text, inline children, tails), not inside its block children."""
    parts: list[str] = []
    link = 0
    in_link = in_link or _tag(el) == "a"
    # stack items: ("text", str, in_link) | ("node", element, in_link); iterative like _walk_lines
    stack: list[tuple[str, Any, bool]] = []
    for child in reversed(el):
        stack.append(("text", child.tail, in_link))
        stack.append(("node", child, in_link))
    stack.append(("text", el.text, in_link))
    while stack:
        op, value, linked = stack.pop()
        if op == "text":
            if value:
                parts.append(value)
                if linked:
                    link += len(_clean(value))
            continue
        tag = _tag(value)
        if tag is None or tag in BLOCK_TAGS or tag in DROP_TAGS:
            continue
        child_link = linked or tag == "a"
        for grand in reversed(value):
            stack.append(("text", grand.tail, child_link))
            stack.append(("node", grand, child_link))
        stack.append(("text", value.text, child_link))
    text = _clean("".join(parts))
    return text, min(link, len(text))


def _paragraph_score(text: str, link_chars: int) -> float:
    plain = len(text) - link_chars
    if plain < 10 or link_chars > 0.5 * len(text):
        return 0.0
    return plain + 8.0 * len(_PUNCT.findall(text))


_PARAGRAPH_TAGS = frozenset(["p", "li", "dd", "td", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"])


def _nonspace_len(s: str | None) -> int:
    return len("".join(s.split())) if s else 0


def _pick_container(body: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element that holds the article: text-density scores summed per container.

    Two linear passes: top-down for the scores (and for which elements sit inside a dropped,
    negative or link element), bottom-up for each element's text and link-text length, so a large
    page costs a constant number of walks however deeply its containers nest.
    """
    scores: dict[Any, float] = {}
    excluded: dict[Any, bool] = {}  # element → inside a dropped or negative element
    linked: dict[Any, bool] = {}  # element → inside a link
    elements: list[Any] = []
    for el in body.iter():
        tag = _tag(el)
        if tag is None:
            continue
        parent = el.getparent()
        parent_excluded = excluded.get(parent, False)
        parent_linked = linked.get(parent, False)
        excluded[el] = parent_excluded or tag in DROP_TAGS or (el is not body and _is_negative(el))
        linked[el] = parent_linked or tag == "a"
        elements.append(el)
        if excluded[el] or tag not in BLOCK_TAGS or tag in ("html", "body"):
            continue
        text, link_chars = _own_text(el, parent_linked)
        score = 0.0 if _FOOTER_MARKERS.search(text) else _paragraph_score(text, link_chars)
        if not score:
            continue
        container = parent if tag in _PARAGRAPH_TAGS else el
        if container is None:
            continue
        scores[container] = scores.get(container, 0.0) + score
        grand = container.getparent()
        if grand is not None and grand.tag not in ("html",):
            scores[grand] = scores.get(grand, 0.0) + score / 2
    if not scores:
        return None
    total: dict[Any, int] = {}
    link_total: dict[Any, int] = {}
    for el in reversed(elements):  # descendants before their ancestors
        if excluded[el] and el is not body:
            continue
        own = _nonspace_len(el.text)
        chars, links = 0, 0
        for child in el:
            tail = _nonspace_len(child.tail)
            own += tail
            if linked[el]:
                links += tail
            chars += total.get(child, 0)
            links += link_total.get(child, 0)
        if linked[el]:
            links += _nonspace_len(el.text)
        total[el] = own + chars
        link_total[el] = links
    best, best_score = None, -math.inf
    for el, score in scores.items():
        link_density = link_total.get(el, 0) / (total.get(el, 0) or 1)
        adjusted = score * (1 - min(link_density, 1.0))
        if any(t in _POS_TOKENS for t in _tokens(el)):
            adjusted *= 1.15
        if adjusted > best_score:
            best, best_score = el, adjusted
    if best_score < _MIN_BODY_SCORE:
        return None
    return best


def _image_alts(container: lxml.html.HtmlElement) -> set[str]:
    return {_squeeze(img.get("alt") or "") for img in container.iter("img")} - {""}


def _squeeze(s: str) -> str:
    return re.sub(r"\s+", "", s.replace("\xa0", "").replace("\u3000", ""))


def _is_caption_line(line: _Line, alts: set[str]) -> bool:
    """A photo caption: in a caption element, or the image's alt text again, or a credit under a photo."""
    if len(line.text) > 80:
        return False
    if line.in_caption:
        return True
    if _squeeze(line.text) in alts:
        return True
    return line.after_image and bool(_PHOTO_CREDIT.search(line.text))


def _is_dateline(text: str) -> bool:
    """The article's own date/source line (``2019-09-26 12:11 来源：证券时报网 作者：李在山``), not prose."""
    if len(text) > 60:
        return False
    m = _CN_DT.search(text)
    if not m or not m["H"]:
        return False
    rest = _DATELINE_LABELS.sub("", text[: m.start()] + text[m.end() :])
    return len(rest.strip()) <= 30 and not re.search(r"[，。！？；,;]", rest)


def _body_lines(container: lxml.html.HtmlElement) -> list[str]:
    keep: list[str] = []
    alts = _image_alts(container)
    for line in _walk_lines(container):
        text = line.text
        if line.link_chars > 0.5 * len(text):
            continue
        if _EDITOR_LINE.match(text) or _BOILER_LINE.match(text):
            continue
        if _TEASER_END.search(text) or _is_dateline(text):
            continue
        if len(text) <= _FOOTER_LINE_MAX and _FOOTER_MARKERS.search(text):
            continue
        if len(text) <= _BOILER_ANYWHERE_MAX and _BOILER_ANYWHERE.search(text):
            continue
        if _is_caption_line(line, alts):
            continue
        keep.append(text)
    return keep


def html_fragment_to_text(fragment: str) -> str:
    """Turn an HTML fragment (a Weibo post, an RSS description) into plain text.

    ``<br>`` and blocks become newlines; links keep their text and lose their markup; images become
    their ``alt`` text (so Weibo emoji come out as ``[哈哈]``).
    """
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment and "&" not in fragment:
        return "\n".join(_clean(line) for line in fragment.splitlines() if _clean(line))
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for img in root.iter("img"):
        alt = (img.get("alt") or "").strip()
        if alt:
            img.tail = alt + (img.tail or "")
    return "\n".join(t for t, _ in _lines(root, skip_negative=False))


# ------------------------------------------------------------------------------------------------
# fields

_SEPARATORS = re.compile(r"\s*(?:_|\||｜|--|—|-|–)\s*")
_STOP = r"(?=\s|来源|编辑|责任编辑|字号|分享|时间|发布|$|[|｜,，。;；()（）])"
_AUTHOR_RE = re.compile(r"(?:作者|记者|撰文|文)\s*[：:／/]\s*([^\s|｜,，。;；:：()（）]{2,30}?)" + _STOP)
_SOURCE_RE = re.compile(r"来源\s*[：:]\s*([^\s|｜,，。;；:：()（）]{2,30}?)" + _STOP)
_LABEL_PREFIX = re.compile(r"^\s*(?:作者|记者|撰文|文|来源|稿源|出处|本文来源|消息来源)\s*[：:／/]\s*")
_PUBLISHED_LABEL = re.compile(r"(?:发布时间|发表时间|发布日期|发表于|时间|日期)\s*[：:]?\s*")
_META_TIME = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "og:release_date",
    "publishdate",
    "pubdate",
    "publish_time",
    "publishtime",
    "publish-date",
    "sailthru.date",
    "datepublished",
    "weibo: article:create_at",
    "dc.date",
    "dc.date.issued",
    "date",
)
_META_AUTHOR = ("author", "article:author", "og:article:author", "dc.creator", "byl")
_META_TITLE = ("og:title", "twitter:title", "title")
# short header lines that are page furniture, not a byline
_NOT_A_BYLINE = re.compile(
    r"^(?:收藏|打印|评论|举报|纠错|关注|订阅|登录|注册|大|中|小|超大|标准|A\+|A-)$"
    r"|^(?:首页|字号|分享|返回|当前位置|您的位置|您所在的位置)|[。！？!?]$|https?://|[>›»]"
)


def _meta(doc: lxml.html.HtmlElement, names: tuple[str, ...]) -> list[str]:
    found: dict[str, list[str]] = {}
    for m in doc.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        content = (m.get("content") or "").strip()
        if key and content:
            found.setdefault(key, []).append(content)
    return [v for n in names for v in found.get(n, [])]


_LD_ARTICLE_TYPES = frozenset(
    [
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "blogposting",
        "report",
        "webpage",
    ]
)


def _json_ld(doc: lxml.html.HtmlElement) -> dict[str, str]:
    """``headline``, ``datePublished`` and ``author`` from the page's JSON-LD, article types first."""
    found: dict[str, str] = {}
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):  # broken JSON-LD is common; it is only a hint
            continue
        nodes: list[Any] = [data]
        seen = 0
        while nodes and seen < 500:
            node = nodes.pop(0)
            seen += 1
            if isinstance(node, list):
                nodes.extend(node)
                continue
            if not isinstance(node, dict):
                continue
            kind = node.get("@type")
            kinds = {str(k).lower() for k in (kind if isinstance(kind, list) else [kind])}
            if kinds & _LD_ARTICLE_TYPES or "headline" in node or "datePublished" in node:
                if isinstance(node.get("headline"), str):
                    found.setdefault("headline", _clean(node["headline"]))
                if isinstance(node.get("datePublished"), str):
                    found.setdefault("datePublished", node["datePublished"].strip())
                name = _ld_name(node.get("author"))
                if name:
                    found.setdefault("author", name)
            nodes.extend(v for k, v in node.items() if k in ("@graph", "mainEntity", "mainEntityOfPage"))
    return found


def _ld_name(value: Any) -> str:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return _clean(str(value.get("name") or ""))
    if isinstance(value, list):
        names = [_ld_name(v) for v in value]
        return "、".join(n for n in names if n)
    return ""


def _select(
    doc: lxml.html.HtmlElement, options: Mapping[str, Any], field: str
) -> list[lxml.html.HtmlElement]:
    css = options.get(f"{field}_css")
    xpath = options.get(f"{field}_xpath")
    try:
        if css:
            return list(doc.cssselect(css))
        if xpath:
            return [n for n in doc.xpath(xpath) if isinstance(n, lxml.html.HtmlElement)]
    except (lxml.etree.XPathError, ValueError, SyntaxError) as exc:
        raise ValueError(f"bad {field} selector in source options: {exc}") from exc
    return []


def _element_text(el: lxml.html.HtmlElement) -> str:
    return "\n".join(t for t, _ in _lines(el, skip_negative=False))


def _find_title(
    doc: lxml.html.HtmlElement, options: Mapping[str, Any], ld: Mapping[str, str]
) -> tuple[str, lxml.html.HtmlElement | None]:
    override = _select(doc, options, "title")
    if override:
        return _clean(override[0].get("content") or override[0].text_content()), override[0]
    page_title = _clean(doc.findtext(".//title") or "")
    metas = [_clean(t) for t in _meta(doc, _META_TITLE)] + ([ld["headline"]] if ld.get("headline") else [])
    known = [t for t in [page_title, *metas] if t]
    best: tuple[str, Any] = ("", None)
    for tag in ("h1", "h2", "h3"):
        for h in doc.iter(tag):
            text = _clean(h.text_content())
            if len(text) >= 4 and any(text in k for k in known) and len(text) > len(best[0]):
                best = (text, h)
        if best[0]:
            return best
    if metas:
        return metas[0], None
    if page_title:
        pieces = [p for p in _SEPARATORS.split(page_title) if p]
        return (max(pieces[:2], key=len) if pieces else page_title), None
    for h in doc.iter("h1"):
        text = _clean(h.text_content())
        if text:
            return text, h
    return "", None


def _header_lines(doc_lines: list[str], title: str, limit: int = 12) -> list[str]:
    """The lines right after the title (where dates, sources and bylines live)."""
    if title:
        for i, line in enumerate(doc_lines):
            if title in line and len(line) <= len(title) + 40:
                return doc_lines[i + 1 : i + 1 + limit]
    return []


# libxml2 keeps at most this many nested elements (huge_tree) and silently drops anything deeper
_LIBXML_MAX_DEPTH = 2048
# wrappers removed from a page nested past that limit, so its text can be parsed at all
_WRAPPER_TAG = re.compile(
    r"</?(?:div|span|section|article|main|header|font|center|b|i|u|em|strong|small|big|label|a|"
    r"table|tbody|thead|tfoot|tr|td|th|ul|ol|li|dl|dt|dd|blockquote)\b[^>]*>",
    re.I,
)


def _parse_document(html: str) -> lxml.html.HtmlElement:
    """Parse anything into a document: empty, truncated or absurdly deep input included."""
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html or "")
    if not html.strip():
        html = "<html></html>"
    doc = _parse_html(html)
    if _depth(doc) >= _LIBXML_MAX_DEPTH - 8:
        # nested past libxml2's limit: the deep text is gone from this tree; drop the wrappers and
        # parse again so the words survive (layout is lost, but a page this broken has none to keep)
        doc = _parse_html(_WRAPPER_TAG.sub(" ", html))
    return doc


def _parse_html(html: str) -> lxml.html.HtmlElement:
    # huge_tree: without it libxml2 drops everything nested deeper than 255 elements
    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        return lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):  # e.g. only a comment: "Document is empty"
        return lxml.html.document_fromstring("<html></html>")


def _depth(doc: lxml.html.HtmlElement) -> int:
    depth: dict[Any, int] = {doc: 0}
    deepest = 0
    for el in doc.iterdescendants():
        d = depth[el.getparent()] + 1
        depth[el] = d
        deepest = max(deepest, d)
    return deepest


def _strip_label(value: str) -> str:
    return _clean(_LABEL_PREFIX.sub("", _clean(value)))


def _find_time(
    doc: lxml.html.HtmlElement,
    options: Mapping[str, Any],
    ld: Mapping[str, str],
    header: list[str],
    doc_lines: list[str],
) -> str:
    override = _select(doc, options, "time")
    candidates: list[str] = []
    if override:
        candidates.extend(
            _clean(el.get("datetime") or el.get("content") or el.text_content()) for el in override
        )
    candidates.extend(_meta(doc, _META_TIME))
    if ld.get("datePublished"):
        candidates.append(ld["datePublished"])
    for t in doc.iter("time"):
        if t.get("datetime"):
            candidates.append(t.get("datetime"))
    header_text = "\n".join(header)
    labelled = _PUBLISHED_LABEL.pattern
    m = re.search(labelled + _CN_DT.pattern, header_text) or _CN_DT.search(header_text)
    if m:
        candidates.append(m.group(0))
    with_time = [c for c in candidates if _has_time(c) and parse_datetime(c)]
    date_only = [c for c in candidates if parse_datetime(c)]
    if override and date_only:
        return parse_datetime(date_only[0])
    if with_time:
        return parse_datetime(with_time[0])
    if date_only:
        return parse_datetime(date_only[0])
    # no header and no metadata: a labelled 发布时间 anywhere, else the first full date-time on the page
    whole = "\n".join(doc_lines)
    m = re.search(labelled + _CN_DT.pattern, whole)
    if m:
        return parse_datetime(m.group(0))
    m = _CN_DT.search(whole)
    if m and m["H"]:
        return parse_datetime(m.group(0))
    return ""


def _find_author(
    doc: lxml.html.HtmlElement,
    options: Mapping[str, Any],
    ld: Mapping[str, str],
    header: list[str],
    title: str,
) -> str:
    """Who wrote it: a per-site selector, a 作者/记者 label, metadata, a 来源 label, then an unlabelled credit.

    The unlabelled credit is what many pages print next to the date: ``2019-09-26 10:56:28 证券时报网``
    (the rest of the date line) or a short byline right above it (``石佳/中国青年报``).
    """
    override = _select(doc, options, "author")
    if override:
        value = _strip_label(override[0].get("content") or override[0].text_content())
        if value:
            return value
    header_text = "\n".join(header)
    m = _AUTHOR_RE.search(header_text)
    if m:
        return m.group(1)
    for value in [*_meta(doc, _META_AUTHOR), ld.get("author", "")]:
        value = _clean(value)
        if value and not value.isdigit() and not value.startswith("http"):
            return value
    m = _SOURCE_RE.search(header_text)
    if m:
        return m.group(1)
    for i, line in enumerate(header[:6]):
        m = _CN_DT.search(line)
        if not m:
            continue
        rest = _clean(line[: m.start()] + " " + line[m.end() :])
        if _plausible_byline(rest, title):
            return rest
        if i > 0 and _plausible_byline(header[i - 1], title):
            return header[i - 1]
        break
    return ""


def _plausible_byline(value: str, title: str) -> bool:
    return (
        2 <= len(value) <= 24
        and value != title
        and not re.search(r"\d", value)
        and not _NOT_A_BYLINE.search(value)
        and len(_PUNCT.findall(value)) <= 1
    )


def _find_canonical(doc: lxml.html.HtmlElement, url: str) -> str:
    for link in doc.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            return urljoin(url, link.get("href").strip())
    og_url = _meta(doc, ("og:url",))
    if og_url and og_url[0].startswith(("http://", "https://", "/")):
        return urljoin(url, og_url[0])
    return ""


def extract_article(html: str, url: str = "", options: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Extract ``title``, ``text``, ``author``, ``published_at`` (ISO) and ``canonical_url`` from a page.

    ``text`` is the article's paragraphs joined by ``"\\n"``; every field is ``""`` when the page does
    not have it (a list page has no body). Raises ValueError only for a bad per-site selector.
    """
    options = options or {}
    doc = _parse_document(html)
    body_el = doc.find("body")
    if body_el is None:
        body_el = doc
    ld = _json_ld(doc)

    title, _ = _find_title(doc, options, ld)
    doc_lines = [t for t, _ in _lines(body_el, skip_negative=False)]
    header = _header_lines(doc_lines, title)

    override = _select(doc, options, "body")
    if override:
        lines: list[str] = []
        for el in override:
            lines.extend(_body_lines(el))
    else:
        container = _pick_container(body_el)
        lines = _body_lines(container) if container is not None else []
        if sum(len(line) for line in lines) < _MIN_BODY_CHARS:
            lines = []  # what is left of a non-article block once its boilerplate is gone
    if title and lines and _clean(lines[0]) == title:
        lines = lines[1:]

    return {
        "title": title,
        "text": "\n".join(lines),
        "author": _find_author(doc, options, ld, header, title),
        "published_at": _find_time(doc, options, ld, header, doc_lines),
        "canonical_url": _find_canonical(doc, url),
    }
