"""What a notification says, rendered for each channel: Chinese, what happened, the level, the desk link.

Text from posts is hostile. URLs quoted in it are defanged (``http://`` → ``http：//``) so no client makes
them clickable; the only link in a message is the desk's. In markdown channels (企业微信, 钉钉, 飞书 lark_md) every character that means
markup is replaced by its full-width twin (``*`` → ``＊``, ``<`` → ``＜``, ``[`` → ``［`` …), which reads the
same in Chinese text and which none of the three renderers treats as markup — their markdown dialects
differ and none honours backslash escapes reliably. Long text is cut so the level and the link always
survive: each service caps a message's size (企业微信 markdown 4096 bytes, text 2048 bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

LEVEL_LABELS = {"I": "Ⅰ级（特别重大）", "II": "Ⅱ级（重大）", "III": "Ⅲ级（较大）", "IV": "Ⅳ级（一般）"}
KIND_LABELS = {
    "test": "通道测试",
    "breach": "处置时限已过",
    "escalation": "升级通知",
    "alert": "舆情预警",
}

_MD_TWINS = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "#": "＃",
        "<": "＜",
        ">": "＞",
        "|": "｜",
        "~": "～",
        "!": "！",
        "&": "＆",
        "@": "＠",
    }
)
_LIST_MARK = re.compile(r"^(\s*)([-+]|\d+\.)(\s)", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,15})://")
ELLIPSIS = "…（内容过长，已截断，请在值守台查看全文）"


def level_label(level: str | None) -> str:
    """``"I"`` → ``Ⅰ级（特别重大）``; no level → ``未定级``."""
    return LEVEL_LABELS.get(level or "", "未定级")


def level_short(level: str | None) -> str:
    """``"I"`` → ``Ⅰ级`` (titles, subjects)."""
    return level_label(level).split("（")[0]


def defang(text: str) -> str:
    """``http://x`` → ``http：//x``: a URL quoted from a post is shown, never made clickable by a client."""
    return _SCHEME.sub(lambda m: f"{m.group(1)}：//", text)


def escape_markdown(text: str) -> str:
    """Hostile text made inert in any of the three bots' markdown: markup characters become full-width."""
    text = defang(_CONTROL.sub("", text or "")).translate(_MD_TWINS)
    return _LIST_MARK.sub(
        lambda m: (
            f"{m.group(1)}{m.group(2).replace('-', '－').replace('+', '＋').replace('.', '．')}{m.group(3)}"
        ),
        text,
    )


def plain(text: str) -> str:
    """Control characters removed and URLs defanged; otherwise the text as it is (text messages, email)."""
    return defang(_CONTROL.sub("", text or ""))


def inert_tags(text: str) -> str:
    """``<`` and ``>`` made full-width: bots read ``<@all>`` / ``<at user_id="all">`` even in text messages."""
    return text.replace("<", "＜").replace(">", "＞")


def safe_link(link: str) -> str:
    """An http(s) link with the characters that could end a markdown link percent-encoded; else ''."""
    link = (link or "").strip()
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return quote(link, safe=":/?#=&%+,;@!$'*~.-_")


def cut_bytes(text: str, budget: int, tail: str = ELLIPSIS) -> str:
    """``text`` within ``budget`` UTF-8 bytes; when cut, ends with ``tail`` (never splits a character)."""
    data = text.encode("utf-8")
    if len(data) <= budget:
        return text
    room = max(0, budget - len(tail.encode("utf-8")))
    return data[:room].decode("utf-8", errors="ignore").rstrip() + tail


@dataclass(frozen=True)
class Message:
    """One notification's content, as the outbox row holds it."""

    subject: str  # what happened, one line (e.g. "Ⅰ级舆情：「华鼎证券交易系统无法登录」确认时限已过")
    body: str = ""  # details (may quote posts: hostile)
    level: str | None = None  # I | II | III | IV
    link: str = ""  # the item on the desk
    kind: str = ""
    mention: str = ""  # a user id / mobile to @ in a group bot

    @property
    def title(self) -> str:
        """The headline: ``【Ⅰ级·处置时限已过】`` + the subject (a test says so instead of a level)."""
        if self.kind == "test":
            return f"【通道测试】{self.subject}"
        what = KIND_LABELS.get(self.kind, "舆情通知")
        return f"【{level_short(self.level)}·{what}】{self.subject}"

    def level_line(self) -> str:
        if self.kind == "test":
            return "级别：测试消息，无需处置"
        return f"级别：{level_label(self.level)}"

    def link_line(self) -> str:
        link = safe_link(self.link)
        return f"值守台链接：{link}" if link else "值守台链接：（未提供）"

    # ------------------------------------------------------------------ renderings

    def text(self, budget: int = 2000) -> str:
        """Plain text (企业微信/钉钉/飞书 text messages, email): headline, level, what happened, link."""
        head = f"{plain(self.title)}\n{self.level_line()}\n"
        tail = f"\n{self.link_line()}"
        room = budget - len(head.encode()) - len(tail.encode()) - len("情况：".encode())
        body = cut_bytes(plain(self.body or self.subject), max(room, 60))
        return f"{head}情况：{body}{tail}"

    def markdown(self, budget: int = 4000, *, link_label: str = "在值守台打开") -> str:
        """Markdown with every piece of caller text escaped; the link is a markdown link we build."""
        link = safe_link(self.link)
        head = f"### {escape_markdown(self.title)}\n**{self.level_line()}**\n\n"
        tail = f"\n\n[{link_label}]({link})" if link else "\n\n值守台链接：（未提供）"
        room = budget - len(head.encode()) - len(tail.encode()) - len("情况：".encode())
        body = cut_bytes(escape_markdown(self.body or self.subject), max(room, 60))
        return f"{head}情况：{body}{tail}"
