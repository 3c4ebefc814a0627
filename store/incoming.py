"""What comes in from outside: one typed schema for an incoming post, with limits.

Every post that enters the desk passes here first: a line of a vendor feed or an export (`yuqing ingest`,
`yuqing analyze`), a batch from the crawlers, a drill's post. :func:`decode_line` reads one JSON line
within limits (size, nesting depth, numbers), and :func:`check_post` holds the object to
:class:`IncomingPost`: the RawPost fields of docs/contracts.md, each of its type. A line that cannot be
read, or a value of the wrong type (``"author": {"name": "x"}``), rejects that line with a reason in
Chinese; a value of the right type but out of range is brought into range and the line is kept, with a
note that says what was changed:

- counts (``reposts``, ``comments``, ``likes``, ``user_followers``): whole numbers; a negative count is 0,
  one above :data:`MAX_COUNT` (``1e308``, a 400-digit integer) is :data:`MAX_COUNT`; ``NaN`` and
  ``Infinity`` are not JSON and reject the line;
- times (``published_at``, ``fetched_at``): ISO 8601 text, or a Unix time in seconds or milliseconds; a
  time that cannot be read, before :data:`EARLIEST` or more than a day ahead (``12345``) is taken as
  unknown (``""``), which the desk shows as the time it first saw the post;
- text: a lone UTF-16 surrogate (``\\ud800``) becomes U+FFFD and a NUL character is dropped (neither can be
  stored or encoded); ``text`` beyond :data:`MAX_TEXT_CHARS` is cut when stored (analysis reads all of it);
  other strings are cut at :data:`MAX_FIELD_CHARS` (``source`` at 200, the records' column).

Fields the desk derives itself are never taken from a feed: ``drill`` (drills enter only through
``yuqing drill``), ``first_seen_at``, ``updated_at``, the id and hashes, the event and near-duplicate
fields and every analysis field. They are dropped and listed in :attr:`Checked.ignored`. ``watch`` (a
per-line watch list) is read by `yuqing analyze` only; ingest ignores it, so a feed cannot switch its own
flagging off.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from store.times import parse_instant

MAX_LINE_BYTES = 8 * 1024 * 1024  # one post per line: 1M Chinese characters, \u-escaped, fit
MAX_DEPTH = 20  # nesting of objects and arrays in one line (a post is 1, its analysis 2–3)
MAX_COUNT = 10**12  # reach counts above this are taken as this
MAX_TEXT_CHARS = 1_000_000  # stored text; longer text is cut (analysis reads all of it)
MAX_FIELD_CHARS = 10_000  # every other string field
MAX_URL_CHARS = 8_192  # a longer url rejects the line: cutting it would change the post's identity
MAX_WATCH = 200  # names in one line's `watch` list (analyze)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

STR_FIELDS = ("url", "canonical_url", "source", "source_family", "title", "text", "author", "site_id")
COUNT_FIELDS = ("reposts", "comments", "likes", "user_followers")
TIME_FIELDS = ("published_at", "fetched_at")
RAW_FIELDS = (*STR_FIELDS, *TIME_FIELDS, *COUNT_FIELDS, "user_verified")
#: what the desk works out itself; a feed's values for these are dropped
DERIVED_FIELDS = frozenset(
    {
        "id",
        "drill",
        "first_seen_at",
        "updated_at",
        "content_hash",
        "simhash",
        "dup_of",
        "event_id",
        "sentiment",
        "targets",
        "negative_targets",
        "falsity",
        "topic",
        "level",
        "flagged",
        "reasons",
        "authority",
    }
)
_FIELD_LIMITS = {"source": 200, "source_family": 40, "url": MAX_URL_CHARS, "canonical_url": MAX_URL_CHARS}
_KIND = {dict: "对象", list: "数组", bool: "布尔值", float: "小数", int: "整数", str: "字符串"}


def _kind(v: Any) -> str:
    return "null" if v is None else _KIND.get(type(v), type(v).__name__)


# --------------------------------------------------------------------------- reading a line


class LineError(ValueError):
    """A line that is not one readable JSON value within the limits; the message says why (Chinese)."""


_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def nesting_depth(line: str, limit: int = MAX_DEPTH) -> int:
    """How deep objects and arrays nest in a JSON text (brackets inside strings do not count), exactly up
    to ``limit``: above it, some number above ``limit``. Linear, no recursion: a line of 100,000 ``[``
    costs one regex scan; a line with few brackets costs two ``count`` calls."""
    opening = line.count("[") + line.count("{")
    if opening <= limit:
        return opening  # an upper bound, enough to say "within the limit"
    depth = deepest = 0
    for m in _BRACKETS.finditer(line):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif c in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise LineError(f"{name} 不是 JSON 数值（只允许有限的数字）")


def decode_line(raw: bytes | str) -> Any:
    """One JSON value from one line, within the limits; raises :class:`LineError` with the reason.

    Bytes are read as UTF-8 (a BOM allowed) or, failing that, GB18030. Never raises anything else:
    not RecursionError on deep nesting, not ValueError on a 5,000-digit number.
    """
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_LINE_BYTES:
        raise LineError(f"行过长（{size} 字节，上限 {MAX_LINE_BYTES}）")
    if isinstance(raw, bytes):
        try:
            line = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                line = raw.decode("gb18030")
            except UnicodeDecodeError:
                raise LineError("不是 UTF-8 或 GBK 编码") from None
    else:
        line = raw
    depth = nesting_depth(line)
    if depth > MAX_DEPTH:
        raise LineError(f"嵌套过深（超过 {MAX_DEPTH} 层）")
    try:
        return json.loads(line, parse_constant=_no_constant)
    except LineError:
        raise
    except json.JSONDecodeError as exc:
        raise LineError(f"JSON 格式错误：{exc.msg}（第 {exc.colno} 列）") from None
    except RecursionError:  # not reached after the depth check; kept so no line can ever raise it
        raise LineError(f"嵌套过深（超过 {MAX_DEPTH} 层）") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise LineError(f"数值无法读取：{str(exc)[:120]}") from None


# --------------------------------------------------------------------------- cleaning strings


def clean_text(s: str) -> tuple[str, str]:
    """(text that can be stored and encoded, what was changed or ""): lone surrogates → U+FFFD, NUL dropped."""
    note = []
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        note.append("无效的 Unicode 代理字符已替换为 �")
    if "\x00" in s:
        s = s.replace("\x00", "")
        note.append("NUL 字符已删除")
    return s, "，".join(note)


def clean_json(value: Any, depth: int = 0) -> Any:
    """The same JSON value with every string (keys too) cleaned as :func:`clean_text` does."""
    if isinstance(value, str):
        return clean_text(value)[0]
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {clean_text(str(k))[0]: clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, depth + 1) for v in value]
    return value


# --------------------------------------------------------------------------- the schema


def _note(info: ValidationInfo, message: str) -> None:
    if isinstance(info.context, dict):
        info.context.setdefault("notes", []).append(f"{info.field_name}：{message}")


def _wrong_type(expected: str, v: Any) -> PydanticCustomError:
    return PydanticCustomError(
        "yuqing_type", "应为{expected}，收到{got}", {"expected": expected, "got": _kind(v)}
    )


class IncomingPost(BaseModel):
    """One post as it comes in: the RawPost fields (docs/contracts.md), typed and within limits."""

    model_config = ConfigDict(extra="ignore", validate_default=False)

    url: str = ""
    canonical_url: str = ""
    source: str = ""
    source_family: str = ""
    title: str = ""
    text: str = ""
    author: str = ""
    site_id: str = ""
    published_at: str = ""
    fetched_at: str = ""
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    user_followers: int = 0
    user_verified: bool = False

    @field_validator(*STR_FIELDS, mode="before")
    @classmethod
    def _string(cls, v: Any, info: ValidationInfo) -> str:
        if v is None:
            return ""
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) < 10**30:
            v = str(v)  # a numeric id (Weibo mid, a user id) is text here
        if not isinstance(v, str):
            raise _wrong_type("字符串", v)
        v, changed = clean_text(v)
        if changed:
            _note(info, changed)
        name = info.field_name or ""
        limit = _FIELD_LIMITS.get(name, MAX_FIELD_CHARS if name != "text" else None)
        if limit is not None and len(v) > limit:
            if name in ("url", "canonical_url"):
                raise PydanticCustomError(
                    "yuqing_long", "过长（{n} 字符，上限 {limit}）", {"n": len(v), "limit": limit}
                )
            _note(info, f"过长（{len(v)} 字符），已截取前 {limit} 个")
            v = v[:limit]
        return v

    @field_validator(*COUNT_FIELDS, mode="before")
    @classmethod
    def _count(cls, v: Any, info: ValidationInfo) -> int:
        if v is None or v == "":
            return 0
        if isinstance(v, str) and re.fullmatch(r"\s*-?\d{1,30}\s*", v):
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _wrong_type("非负整数", v)
        if isinstance(v, float):
            if not math.isfinite(v):
                raise PydanticCustomError("yuqing_range", "不是有限的数字")
            if v >= MAX_COUNT:
                _note(info, f"数值 {v:g} 超出范围，按 {MAX_COUNT} 计")
                return MAX_COUNT
            v = int(v)
        if v < 0:
            _note(info, f"负数 {v} 按 0 计")
            return 0
        if v > MAX_COUNT:
            shown = f"数值 {v}" if v < 10**20 else f"{len(str(v))} 位的数值"
            _note(info, f"{shown}超出范围，按 {MAX_COUNT} 计")
            return MAX_COUNT
        return v

    @field_validator(*TIME_FIELDS, mode="before")
    @classmethod
    def _instant(cls, v: Any, info: ValidationInfo) -> str:
        if v is None or v == "":
            return ""
        now = datetime.now(UTC)
        if isinstance(v, int | float) and not isinstance(v, bool):
            if not math.isfinite(v):
                raise PydanticCustomError("yuqing_range", "不是有限的数字")
            seconds = v / 1000 if abs(v) >= 1e11 else v  # milliseconds are common in feeds
            if EARLIEST.timestamp() <= seconds <= (now + FUTURE_SLACK).timestamp():
                return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
            _note(info, f"数值 {v:g} 不是合理的 Unix 时间（秒或毫秒），按未知时间处理")
            return ""
        if not isinstance(v, str):
            raise _wrong_type("时间（ISO 8601 文本或 Unix 时间）", v)
        v, changed = clean_text(v.strip())
        if changed:
            _note(info, changed)
        dt = parse_instant(v[:64])
        if dt is None:
            _note(info, f"“{v[:40]}”不是 ISO 8601 时间，按未知时间处理")
            return ""
        if not EARLIEST <= dt <= now + FUTURE_SLACK:
            _note(info, f"时间 {v[:40]} 不在合理范围（{EARLIEST.year} 年至明天），按未知时间处理")
            return ""
        return v

    @field_validator("user_verified", mode="before")
    @classmethod
    def _flag(cls, v: Any, info: ValidationInfo) -> bool:
        if v is None or v == "":
            return False
        if isinstance(v, bool):
            return v
        if isinstance(v, int) and v in (0, 1):
            return bool(v)
        if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
            return v.strip().lower() in ("true", "1")
        raise _wrong_type("布尔值（true / false）", v)


@dataclass
class Checked:
    """The outcome of :func:`check_post`: the clean post, or the reason it was rejected."""

    post: dict[str, Any] | None
    reason: str = ""
    notes: list[str] = field(default_factory=list)  # values brought into range, text cleaned
    ignored: list[str] = field(default_factory=list)  # fields the desk derives itself, dropped

    @property
    def ok(self) -> bool:
        return self.post is not None


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err.get("loc", ())) or "帖子"
        parts.append(f"{where} {err['msg']}")
    return "；".join(parts)


def check_post(obj: Any, *, analysis: bool = False) -> Checked:
    """Hold one incoming object to :class:`IncomingPost`.

    For ingest (``analysis=False``) the clean post holds the RawPost fields only, ``text`` cut at
    :data:`MAX_TEXT_CHARS`, and a post needs ``text`` or ``title``. For `yuqing analyze` (``analysis=True``)
    it is the whole object, cleaned, with ``watch`` checked and the typed fields in their clean form;
    ``text`` must be a string (it may be empty).
    """
    if not isinstance(obj, Mapping):
        return Checked(None, f"不是 JSON 对象（收到{_kind(obj)}）")
    context: dict[str, Any] = {"notes": []}
    present = {k: obj[k] for k in RAW_FIELDS if k in obj}
    try:
        model = IncomingPost.model_validate(present, context=context)
    except ValidationError as exc:
        return Checked(None, _reason(exc))
    notes: list[str] = context["notes"]
    if analysis:
        if not isinstance(obj.get("text"), str):
            return Checked(None, "缺少正文 text（字符串）")
        clean: dict[str, Any] = clean_json(dict(obj))
        clean.update({k: getattr(model, k) for k in present})
        if "watch" in obj and obj["watch"] is not None:
            watch = obj["watch"]
            if not isinstance(watch, list) or not all(isinstance(w, str) for w in watch):
                return Checked(None, "watch 应为字符串数组")
            if len(watch) > MAX_WATCH:
                return Checked(None, f"watch 过长（{len(watch)} 个，上限 {MAX_WATCH}）")
            clean["watch"] = [clean_text(w)[0][:200] for w in watch]
        return Checked(clean, notes=notes)
    if not model.text.strip() and not model.title.strip():
        return Checked(None, "没有正文（text）")
    post = model.model_dump()
    if len(post["text"]) > MAX_TEXT_CHARS:
        notes.append(f"text：过长（{len(post['text'])} 字），入库时截取前 {MAX_TEXT_CHARS} 字")
        post["text"] = post["text"][:MAX_TEXT_CHARS]
    ignored = sorted(k for k in obj if (k in DERIVED_FIELDS and k != "id") or k == "watch")
    return Checked(post, notes=notes, ignored=ignored)


__all__ = [
    "DERIVED_FIELDS",
    "MAX_COUNT",
    "MAX_DEPTH",
    "MAX_LINE_BYTES",
    "MAX_TEXT_CHARS",
    "RAW_FIELDS",
    "Checked",
    "IncomingPost",
    "LineError",
    "check_post",
    "clean_json",
    "clean_text",
    "decode_line",
    "nesting_depth",
]
