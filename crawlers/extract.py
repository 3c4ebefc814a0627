"""Generic article extraction for Chinese news pages: encoding, title, body, author, time, canonical URL.

Pure functions (no Scrapy), so they are tested on saved pages directly and reused by any spider.

Body: a readability-style text-density pass. Every block element's own text (its text plus inline
children, not its block children) is a candidate paragraph; paragraphs with little non-link text are
ignored; the rest add their score to their container (and half to the container's parent). The best
container, penalised for link density and for boilerplate-looking class/id names, is the article; its
lines with mostly link text, editor credits and share/QR prompts are dropped.

Per-site CSS/XPath overrides (``title_css``, ``body_css``, ``time_css``, ``author_css``, and the same
with ``_xpath``) come from ``SourceConfig.options`` and win over the generic rules.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
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
        return codecs.lookup(resolved).name
    except LookupError:
        return None


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


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\xa0", " ").replace("\u3000", " ")).strip()


def _tokens(el: lxml.html.HtmlElement) -> list[str]:
    raw = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return [t for t in re.split(r"[^a-z0-9]+", raw) if t]


def _is_negative(el: lxml.html.HtmlElement) -> bool:
    return any(t in _NEG_TOKENS for t in _tokens(el))


def _lines(root: lxml.html.HtmlElement, *, skip_negative: bool = True) -> list[tuple[str, int]]:
    """Text lines of ``root``: ``(text, link_chars)``; block elements and ``<br>`` break lines."""
    out: list[tuple[str, int]] = []
    cur: list[str] = []
    link = [0]

    def flush() -> None:
        text = _clean("".join(cur))
        if text:
            out.append((text, min(link[0], len(text))))
        cur.clear()
        link[0] = 0

    def add(s: str | None, in_link: bool) -> None:
        if s:
            cur.append(s)
            if in_link:
                link[0] += len(_clean(s))

    def walk(el: Any, in_link: bool) -> None:
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None:  # comment / processing instruction
            return
        tag = tag.lower()
        if tag in DROP_TAGS or (skip_negative and el is not root and _is_negative(el)):
            return
        block = tag in BLOCK_TAGS or tag == "br"
        if block:
            flush()
        here_link = in_link or tag == "a"
        add(el.text, here_link)
        for child in el:
            walk(child, here_link)
            add(child.tail, here_link)
        if block:
            flush()

    walk(root, any(a.tag == "a" for a in root.iterancestors()))
    flush()
    return out


def _own_text(el: lxml.html.HtmlElement) -> tuple[str, int]:
    """Text directly in ``el`` (text, inline children, tails), not inside its block children."""
    parts: list[str] = []
    link = 0

    def walk(node: Any, in_link: bool) -> None:
        nonlocal link
        for child in node:
            tag = child.tag.lower() if isinstance(child.tag, str) else None
            if tag is not None and tag not in BLOCK_TAGS and tag not in DROP_TAGS:
                child_link = in_link or tag == "a"
                if child.text:
                    parts.append(child.text)
                    if child_link:
                        link += len(_clean(child.text))
                walk(child, child_link)
            if child.tail:
                parts.append(child.tail)
                if in_link:
                    link += len(_clean(child.tail))

    in_link = el.tag == "a" or any(a.tag == "a" for a in el.iterancestors())
    if el.text:
        parts.append(el.text)
        if in_link:
            link += len(_clean(el.text))
    walk(el, in_link)
    text = _clean("".join(parts))
    return text, min(link, len(text))


def _paragraph_score(text: str, link_chars: int) -> float:
    plain = len(text) - link_chars
    if plain < 10 or link_chars > 0.5 * len(text):
        return 0.0
    return plain + 8.0 * len(_PUNCT.findall(text))


def _pick_container(body: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    scores: dict[Any, float] = {}
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in DROP_TAGS or tag not in BLOCK_TAGS or tag in ("html", "body"):
            continue
        if any(
            _is_negative(a) or (isinstance(a.tag, str) and a.tag.lower() in DROP_TAGS)
            for a in _ancestors_and_self(el)
        ):
            continue
        text, link_chars = _own_text(el)
        score = _paragraph_score(text, link_chars)
        if not score:
            continue
        container = (
            el.getparent()
            if tag in ("p", "li", "dd", "td", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6")
            else el
        )
        if container is None:
            continue
        scores[container] = scores.get(container, 0.0) + score
        grand = container.getparent()
        if grand is not None and grand.tag not in ("html",):
            scores[grand] = scores.get(grand, 0.0) + score / 2
    if not scores:
        return None
    best, best_score = None, -math.inf
    for el, score in scores.items():
        lines = _lines(el)
        total = sum(len(t) for t, _ in lines) or 1
        link_density = sum(lc for _, lc in lines) / total
        adjusted = score * (1 - link_density)
        if any(t in _POS_TOKENS for t in _tokens(el)):
            adjusted *= 1.15
        if adjusted > best_score:
            best, best_score = el, adjusted
    return best


def _ancestors_and_self(el: lxml.html.HtmlElement):
    node = el
    while node is not None:
        yield node
        node = node.getparent()


def _body_lines(container: lxml.html.HtmlElement) -> list[str]:
    keep: list[str] = []
    for text, link_chars in _lines(container):
        if link_chars > 0.5 * len(text):
            continue
        if _EDITOR_LINE.match(text) or _BOILER_LINE.match(text):
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
_AUTHOR_RE = re.compile(
    r"(?:作者|记者|文)\s*[：:／/]\s*([^\s|｜,，。;；:：()（）]{2,30}?)(?=\s|来源|编辑|责任编辑|字号|分享|时间|发布|$|[|｜,，。;；()（）])"
)
_SOURCE_RE = re.compile(
    r"来源\s*[：:]\s*([^\s|｜,，。;；:：()（）]{2,30}?)(?=\s|作者|编辑|责任编辑|字号|分享|时间|发布|$|[|｜,，。;；()（）])"
)
_META_TIME = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "og:release_date",
    "publishdate",
    "pubdate",
    "publish_time",
    "publishtime",
    "weibo: article:create_at",
    "dc.date",
    "dc.date.issued",
    "date",
)
_META_AUTHOR = ("author", "article:author", "og:article:author", "dc.creator")


def _meta(doc: lxml.html.HtmlElement, names: tuple[str, ...]) -> list[str]:
    found: dict[str, list[str]] = {}
    for m in doc.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        content = (m.get("content") or "").strip()
        if key and content:
            found.setdefault(key, []).append(content)
    return [v for n in names for v in found.get(n, [])]


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
    doc: lxml.html.HtmlElement, options: Mapping[str, Any]
) -> tuple[str, lxml.html.HtmlElement | None]:
    override = _select(doc, options, "title")
    if override:
        return _clean(override[0].text_content()), override[0]
    page_title = _clean(doc.findtext(".//title") or "")
    best: tuple[str, Any] = ("", None)
    for tag in ("h1", "h2", "h3"):
        for h in doc.iter(tag):
            text = _clean(h.text_content())
            if len(text) >= 4 and page_title and text in page_title and len(text) > len(best[0]):
                best = (text, h)
        if best[0]:
            return best
    og = _meta(doc, ("og:title",))
    if og:
        return _clean(og[0]), None
    if page_title:
        pieces = [p for p in _SEPARATORS.split(page_title) if p]
        return (max(pieces[:2], key=len) if pieces else page_title), None
    for h in doc.iter("h1"):
        text = _clean(h.text_content())
        if text:
            return text, h
    return "", None


def _header_text(doc_lines: list[str], title: str, limit: int = 12) -> str:
    """The lines right after the title (where dates, sources and bylines live)."""
    if title:
        for i, line in enumerate(doc_lines):
            if title in line and len(line) <= len(title) + 40:
                return "\n".join(doc_lines[i + 1 : i + 1 + limit])
    return ""


def extract_article(html: str, url: str = "", options: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Extract ``title``, ``text``, ``author``, ``published_at`` (ISO) and ``canonical_url`` from a page."""
    options = options or {}
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    doc = lxml.html.document_fromstring(html or "<html></html>")
    body_el = doc.find("body")
    if body_el is None:
        body_el = doc

    title, title_el = _find_title(doc, options)
    doc_lines = [t for t, _ in _lines(body_el, skip_negative=False)]
    header = _header_text(doc_lines, title)

    # body
    override = _select(doc, options, "body")
    if override:
        lines: list[str] = []
        for el in override:
            lines.extend(_body_lines(el))
    else:
        container = _pick_container(body_el)
        lines = _body_lines(container) if container is not None else []
    if title and lines and _clean(lines[0]) == title:
        lines = lines[1:]
    text = "\n".join(lines)

    # time
    published = ""
    override = _select(doc, options, "time")
    candidates: list[str] = []
    if override:
        candidates.extend(
            _clean(el.get("datetime") or el.get("content") or el.text_content()) for el in override
        )
    candidates.extend(_meta(doc, _META_TIME))
    for t in doc.iter("time"):
        if t.get("datetime"):
            candidates.append(t.get("datetime"))
    if header:
        m = _CN_DT.search(header)
        if m:
            candidates.append(m.group(0))
    with_time = [c for c in candidates if _has_time(c) and parse_datetime(c)]
    date_only = [c for c in candidates if parse_datetime(c)]
    if override and date_only:
        published = parse_datetime(date_only[0])
    elif with_time:
        published = parse_datetime(with_time[0])
    elif date_only:
        published = parse_datetime(date_only[0])
    else:
        m = _CN_DT.search("\n".join(doc_lines))
        if m and m["H"]:
            published = parse_datetime(m.group(0))

    # author
    author = ""
    override = _select(doc, options, "author")
    if override:
        author = _clean(override[0].text_content())
    if not author and header:
        m = _AUTHOR_RE.search(header)
        if m:
            author = m.group(1)
    if not author:
        for value in _meta(doc, _META_AUTHOR):
            value = _clean(value)
            if value and not value.isdigit() and not value.startswith("http"):
                author = value
                break
    if not author and header:
        m = _SOURCE_RE.search(header)
        if m:
            author = m.group(1)

    # canonical
    canonical = ""
    for link in doc.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            canonical = urljoin(url, link.get("href").strip())
            break
    if not canonical:
        og_url = _meta(doc, ("og:url",))
        if og_url and og_url[0].startswith(("http://", "https://", "/")):
            canonical = urljoin(url, og_url[0])

    return {
        "title": title,
        "text": text,
        "author": author,
        "published_at": published,
        "canonical_url": canonical,
    }
