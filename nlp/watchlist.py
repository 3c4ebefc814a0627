"""Who we watch, and where a text names them.

A :class:`WatchList` is a set of :class:`Entity` (canonical name + aliases) plus look-alike names
that are *not* ours (``exclude``). :meth:`WatchList.find` takes every occurrence of every name and
keeps the longest non-overlapping ones, so 中信银行 (excluded) hides the 中信 inside it, and a longer
name that contains ours but belongs to someone else (put it in ``exclude``) does not count as us.
Numeric names (stock codes) match only as whole numbers: 600030 is not found in 1600030.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# roles of a name, as reported on a Mention
NAME, ALIAS, CODE, EXECUTIVE, PRODUCT, EXCLUDED = "name", "alias", "code", "executive", "product", "excluded"


@dataclass(frozen=True)
class Entity:
    """A watched entity. ``executives`` and ``products`` also point at it: a post about our chairman
    or our APP is about us."""

    name: str
    aliases: tuple[str, ...] = ()
    kind: str = "entity"
    executives: tuple[str, ...] = ()
    products: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for attr in ("aliases", "executives", "products"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))

    def names(self) -> Iterable[tuple[str, str]]:
        """(name, role) for every way to name this entity."""
        yield self.name, NAME
        for a in self.aliases:
            yield a, CODE if a.isdigit() else ALIAS
        for e in self.executives:
            yield e, EXECUTIVE
        for p in self.products:
            yield p, PRODUCT


@dataclass(frozen=True)
class Mention:
    entity: str  # canonical name of the watched entity; the look-alike itself when role == "excluded"
    alias: str  # the name as matched (as written in the watch list)
    start: int
    end: int
    role: str = NAME  # name | alias | code | executive | product | excluded


def _is_ascii_word(s: str) -> bool:
    return s.isascii() and s.isalnum()


@dataclass
class _Term:
    text: str  # lower-cased (ASCII only) search string
    alias: str
    entity: str
    role: str


def as_entity(obj: Any) -> Entity:
    """An Entity from an Entity, a mapping, a plain name, or any object with ``name``/``aliases``/``kind``
    (so the composition root can hand over its settings objects without this room importing them)."""
    if isinstance(obj, Entity):
        return obj
    if isinstance(obj, str):
        return Entity(obj)
    if isinstance(obj, Mapping):
        get = obj.get
    else:

        def get(key: str, default: Any = None) -> Any:
            return getattr(obj, key, default)

    return Entity(
        name=get("name"),
        aliases=tuple(get("aliases", ()) or ()),
        kind=get("kind", "entity") or "entity",
        executives=tuple(get("executives", ()) or ()),
        products=tuple(get("products", ()) or ()),
    )


@functools.lru_cache(maxsize=1)
def _letters() -> dict[str, str]:
    """Character → the first letter of its pinyin (nlp/initials.txt, made by tools/make_pinyin.py)."""
    table: dict[str, str] = {}
    for line in Path(__file__).with_name("initials.txt").read_text(encoding="utf-8").splitlines():
        if len(line) > 2 and line[1] == ":" and not line.startswith("#"):
            table.update(dict.fromkeys(line[2:], line[0]))
    return table


@functools.lru_cache(maxsize=1)
def _sounds() -> dict[str, frozenset[str]]:
    """Character → its toneless pinyin readings (nlp/pinyin.txt, made by tools/make_pinyin.py)."""
    table: dict[str, set[str]] = {}
    for line in Path(__file__).with_name("pinyin.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        sound, chars = line.split(":", 1)
        for c in chars:
            table.setdefault(c, set()).add(sound)
    return {c: frozenset(v) for c, v in table.items()}


def sounds_like(written: str, stem: str) -> bool:
    """``written`` reads as ``stem`` character by character (tones aside) without being it: 鱼瓶 for 玉屏,
    七侠 for 栖霞."""
    if len(written) != len(stem) or written == stem:
        return False
    table = _sounds()
    return all(
        a == b or bool(table.get(a, frozenset()) & table.get(b, frozenset()))
        for a, b in zip(written, stem, strict=True)
    )


# what follows a homophone of the firm's name for it to be read as the firm (七侠证券, 鱼瓶证券)
HOMOPHONE_SUFFIXES = ("证券", "证卷")


def _initials(stem: str) -> str:
    letters = [_letters().get(c, "") for c in stem]
    return "".join(letters) if all(letters) else ""


def name_variants(short_names: Iterable[str]) -> list[str]:
    """How people write a broker's name to get past a filter or in a hurry: the initials of its pinyin
    (云梦证券 → YM证券, matched in any case) and 证券 as zq (云梦zq). Only for a short name ending in 证券 with
    a stem of two or more Chinese characters (a bare YM would be anyone's)."""
    out: list[str] = []
    for name in short_names:
        stem = name[:-2] if name.endswith("证券") else ""
        if len(stem) < 2 or not all("\u4e00" <= c <= "\u9fff" for c in stem):
            continue
        out.append(stem + "zq")
        if ini := _initials(stem):
            out.append(ini + "证券")
            out.append(ini.lower() + "zq")  # qlzq (matched in any case, as a word of its own)
        if len(stem) == 2 and (abbr := stem[0] + "证") not in _NOT_AN_ABBREVIATION:
            out.append(abbr)  # 鹤鸣证券 → 鹤证 (read only where no word of 证 follows: nlp.watchlist.find)
    return list(dict.fromkeys(out))


# X证 that is a word, or another's name (上证, 中证指数, 华证指数): never made an abbreviation
_NOT_AN_ABBREVIATION = frozenset(
    [
        "保证",
        "认证",
        "论证",
        "见证",
        "求证",
        "验证",
        "公证",
        "考证",
        "凭证",
        "签证",
        "实证",
        "查证",
        "例证",
        "佐证",
        "印证",
        "明证",
        "引证",
        "对证",
        "铁证",
        "中证",
        "国证",
        "华证",
        "深证",
        "上证",
        "港证",
        "沪证",
        "人证",
        "物证",
        "举证",
        "取证",
        "作证",
        "出证",
        "辩证",
        "确证",
        "反证",
        "旁证",
        "东证",
        "申证",
        "新证",
        "科证",
        "创证",
    ]
)
# …and where 证 begins a word of its own (鹤证券 is a typo of the name; 鹤证书 is not us)
_ABBREVIATION_NOT_BEFORE = frozenset("券劵监件明书据实人言词照物号章指交金")


# accented pinyin vowels → plain (泰hé → 泰he), one character for one, so offsets stay the text's
_TONELESS = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü", "aaaaeeeeiiiioooouuuuvvvvv")
_HAS_DISGUISE = re.compile(
    r"[a-z][\u4e00-\u9fff]|[\u4e00-\u9fff][a-z]|[a-z](?:证券|证卷|zq|券商)|[某*＊x×]{1,2}(?:证券|证卷)|\d[ol]|[ol]\d"
)
_DISGUISED_CODE = re.compile(
    r"(?<![0-9a-z])(?=[0-9ol]*\d[0-9ol]*\d[0-9ol]*\d[0-9ol]*\d)[0-9ol]{6}(?![0-9a-z])"
)
_CODE_DIGITS = str.maketrans("ol", "01")
_CLUE_HINT = re.compile(r"姓|开头|打头|结尾|收尾|尾号|尾数|某")
_BROKER = re.compile(r"券商|证券|证卷")
_SURNAME_CLUE = re.compile(
    r"(?:董事长|总裁|总经理|老板|一把手|老总|掌门人?|董秘|高管|副总)[^，。；！？\n]{0,3}姓([\u4e00-\u9fff])"
)
_CODE_CLUE = re.compile(
    r"(?:(?P<tail>尾号|尾数)\s*(?P<d1>[0-9]{3,6}))|(?:代码|股票代码|代号)?[^，。；！？\n0-9]{0,3}?(?P<d2>[0-9]{3,5})\s*(?P<end>开头|打头|结尾|收尾)"
)
_DISGUISE_TAILS = ("证券", "证卷", "zq", "券商")


def _disguise_pattern(stem: str, ent: Entity) -> re.Pattern[str]:
    """The stem with each character as itself, its toneless pinyin or its initial, an optional space
    between; or its first character and a mask before 证券. Group 1 is the name as written, group 2 a
    tail that makes letters alone the firm's (证券, zq, the rest of a product named after the stem)."""
    parts = []
    for c in stem:
        alts = sorted({*_sounds().get(c, ()), _letters().get(c, "").lower()} - {""}, key=len, reverse=True)
        parts.append("(?:" + "|".join([re.escape(c), *alts]) + ")")
    tails = [*_DISGUISE_TAILS]
    tails += [p[len(stem) :] for p in ent.products if p.startswith(stem) and len(p) > len(stem)]
    tail = "|".join(re.escape(t.translate(_ASCII_LOWER)) for t in sorted(set(tails), key=len, reverse=True))
    name = " ?".join(parts)
    masked = re.escape(stem[0]) + "[某*＊x×]{1," + str(len(stem)) + "}(?=证券|证卷)"
    return re.compile(f"(?<![a-z])({name}|{masked})(?![a-z])({tail})?")


@dataclass
class WatchList:
    entities: Sequence[Entity]
    exclude: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.entities = tuple(as_entity(e) for e in self.entities)
        self.exclude = tuple(x for x in self.exclude if x)
        terms: dict[str, _Term] = {}
        for x in self.exclude:  # a name both watched and excluded: the watch wins (added after)
            terms[x.translate(_ASCII_LOWER)] = _Term(x.translate(_ASCII_LOWER), x, x, EXCLUDED)
        for ent in self.entities:
            for alias, role in ent.names():
                alias = (alias or "").strip()
                if alias:
                    key = alias.translate(_ASCII_LOWER)
                    terms[key] = _Term(key, alias, ent.name, role)
        self._terms = sorted(terms.values(), key=lambda t: -len(t.text))
        self._by_name = {}
        for ent in self.entities:
            for alias, _role in ent.names():
                self._by_name.setdefault(alias, ent)
        # the firm's name as people write it to sound the same (七侠证券 for 栖霞证券): its stems
        self._stems = [
            (ent.name, alias[:-2])
            for ent in self.entities
            if ent.kind == "firm"
            for alias, role in ent.names()
            if role in (NAME, ALIAS)
            and alias.endswith("证券")
            and 2 <= len(alias) - 2 <= 4
            and all("\u4e00" <= c <= "\u9fff" for c in alias[:-2])
        ]

        self._codes = {
            alias: ent.name
            for ent in self.entities
            if ent.kind == "firm"
            for alias, role in ent.names()
            if role == CODE and len(alias) == 6
        }
        self._disguises = [
            (ent.name, stem, _disguise_pattern(stem, ent))
            for ent in self.entities
            if ent.kind == "firm"
            for stem in dict.fromkeys(
                alias[:-2] if alias.endswith("证券") else alias
                for alias, role in ent.names()
                if role in (NAME, ALIAS)
            )
            if 2 <= len(stem) <= 4
            and not stem.endswith("证")  # 泰证, the abbreviation: its stem is the name's
            and all("\u4e00" <= c <= "\u9fff" for c in stem)
            and _initials(stem)
        ]

        firm = next((ent for ent in self.entities if ent.kind == "firm"), None)
        stem = next((st for n, st in self._stems if firm is not None and n == firm.name), "")
        self._clue_firm = (
            (
                firm.name,
                frozenset(x[0] for x in firm.executives if x),
                tuple(a for a, r in firm.names() if r == CODE and len(a) == 6),
                re.compile("[某*＊x×]{1,2}" + re.escape(stem[1:]) + "(?=证券|证卷)")
                if len(stem) >= 2
                else None,
            )
            if firm is not None
            else None
        )

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def from_firm(
        cls,
        name: str,
        short_names: Iterable[str] = (),
        stock_codes: Iterable[str] = (),
        executives: Iterable[str] = (),
        products: Iterable[str] = (),
        exclude: Iterable[str] = (),
        extra: Iterable[Any] = (),
    ) -> WatchList:
        """The firm (mirrors ``FirmConfig``) plus extra watched entities (``WatchEntity``-like objects,
        mappings or Entity). The firm's canonical name is its first short name, else its full name,
        as in ``Settings.watch_entities()``."""
        short = [s for s in short_names if s]
        canonical = short[0] if short else name
        aliases = [a for a in (name, *short[1:]) if a and a != canonical]
        aliases += [v for v in name_variants(short) if v not in aliases and v != canonical]
        firm = Entity(
            canonical,
            aliases=(*aliases, *stock_codes),
            kind="firm",
            executives=tuple(executives),
            products=tuple(products),
        )
        return cls([firm, *(as_entity(e) for e in extra)], exclude=tuple(exclude))

    def restrict(self, names: Iterable[str]) -> WatchList:
        """A watch list of just ``names`` (a post's own ``watch`` list). A name the configured list knows
        (canonical or any alias) brings that entity with all its aliases; an unknown name is watched as
        itself. Look-alike exclusions still apply."""
        ents: dict[str, Entity] = {}
        for n in names:
            n = (n or "").strip()
            if not n:
                continue
            ent = self._by_name.get(n) or Entity(n)
            ents.setdefault(ent.name, ent)
        return WatchList(list(ents.values()), exclude=self.exclude)

    # -- looking ----------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entities]

    def entity(self, name: str) -> Entity | None:
        return self._by_name.get(name)

    def all_words(self) -> list[str]:
        """Every name, alias, code, executive, product and look-alike: the segmenter's user dictionary."""
        words = [alias for ent in self.entities for alias, _ in ent.names()]
        return list(dict.fromkeys([*words, *self.exclude]))

    def find(self, text: str, *, include_excluded: bool = False) -> list[Mention]:
        """Mentions of watched entities in ``text``, in text order (longest match wins).

        With ``include_excluded`` the look-alikes that won a span are returned too (role ``excluded``).
        """
        if not text:
            return []
        hay = text.translate(_ASCII_LOWER)
        found: list[tuple[int, int, _Term]] = []
        for term in self._terms:
            needle = term.text
            n = len(needle)
            numeric = needle.isdigit()
            word = _is_ascii_word(needle)
            i = hay.find(needle)
            while i != -1:
                j = i + n
                before = hay[i - 1] if i > 0 else ""
                after = hay[j] if j < len(hay) else ""
                if numeric:
                    ok = not before.isdigit() and not after.isdigit()
                elif n == 2 and needle.endswith("证") and term.role == ALIAS:
                    ok = after not in _ABBREVIATION_NOT_BEFORE
                elif word:
                    ok = not (before.isascii() and before.isalnum()) and not (
                        after.isascii() and after.isalnum()
                    )
                else:
                    ok = True
                if ok:
                    found.append((i, j, term))
                i = hay.find(needle, i + 1)
        found.extend(self._homophones(hay))
        found.extend(self._disguised(hay, text))
        found.extend(self._clues(text))
        # longest first, then leftmost; keep spans that do not overlap an already kept one
        found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
        occupied = bytearray(len(hay))
        kept: list[tuple[int, int, _Term]] = []
        for s, e, term in found:
            if 1 in occupied[s:e]:
                continue
            occupied[s:e] = b"\x01" * (e - s)
            kept.append((s, e, term))
        kept.sort(key=lambda f: f[0])
        return [
            Mention(term.entity, term.alias, s, e, term.role)
            for s, e, term in kept
            if include_excluded or term.role != EXCLUDED
        ]

    def _homophones(self, hay: str) -> list[tuple[int, int, _Term]]:
        """Homophones of the firm's name before 证券 (鱼瓶证券 for 玉屏证券): spans that compete with the
        configured names (a look-alike listed in ``exclude`` still wins its span)."""
        out: list[tuple[int, int, _Term]] = []
        if not self._stems:
            return out
        for suffix in HOMOPHONE_SUFFIXES:
            k = hay.find(suffix)
            while k != -1:
                for entity, stem in self._stems:
                    s = k - len(stem)
                    written = hay[s:k] if s >= 0 else ""
                    if written and sounds_like(written, stem):
                        alias = written + suffix
                        out.append((s, k + len(suffix), _Term(alias, alias, entity, ALIAS)))
                k = hay.find(suffix, k + 1)
        return out

    def _disguised(self, hay: str, text: str) -> list[tuple[int, int, _Term]]:
        """The firm's name written past a filter: letters for some of its characters (T和, 泰hé, tai he智投),
        a masked second character before 证券 (泰某证券, 泰*证券), a stock code with O for 0 (6O199O).
        Letters for every character (TH, taihe) count only before 证券 / zq / a product's own tail."""
        out: list[tuple[int, int, _Term]] = []
        if not self._disguises:
            return out
        plain = hay.translate(_TONELESS)
        if not _HAS_DISGUISE.search(plain):
            return out
        for entity, stem, pattern in self._disguises:
            for m in pattern.finditer(plain):
                written = m.group(1)
                cjk = sum("\u4e00" <= c <= "\u9fff" for c in written)
                tail = m.group(2) or ""
                if written.replace(" ", "") == stem or (cjk == 0 and not tail):
                    continue
                alias = text[m.start(1) : m.end(2) if tail else m.end(1)]
                out.append((m.start(1), m.start(1) + len(alias), _Term(alias, alias, entity, ALIAS)))
        for m in _DISGUISED_CODE.finditer(plain):
            code = m.group(0).translate(_CODE_DIGITS)
            if code != m.group(0) and code in self._codes:
                written = text[m.start() : m.end()]
                out.append((m.start(), m.end(), _Term(written, written, self._codes[code], CODE)))
        return out

    def _clues(self, text: str) -> list[tuple[int, int, _Term]]:
        """The firm left unnamed but pointed at (那家董事长姓高、代码601开头的券商; 代码以990结尾的上市券商; 某和证券，
        董事长姓高那家): two clues, or a code's last three digits or more, with 券商 or 证券 in the post."""
        if not self._clue_firm or not _CLUE_HINT.search(text) or not _BROKER.search(text):
            return []
        entity, surnames, codes, masked = self._clue_firm
        score, first, said = 0, len(text), []
        for m in _SURNAME_CLUE.finditer(text):
            if m.group(1) in surnames:
                score, first = score + 1, min(first, m.start())
                said.append(m.group(0))
        for m in _CODE_CLUE.finditer(text):
            digits, end = m.group("d1") or m.group("d2"), m.group("end")
            tail = end in ("结尾", "收尾") or m.group("tail") is not None
            if any(c.endswith(digits) if tail else c.startswith(digits) for c in codes):
                score, first = score + (2 if tail else 1), min(first, m.start())
                said.append(m.group(0).lstrip("、，,；; "))
        if masked and (m := masked.search(text)):
            score, first = score + 1, min(first, m.start())
            said.append(m.group(0))
        if score < 2:
            return []
        alias = "线索：" + "、".join(dict.fromkeys(said))
        return [(first, first + 1, _Term(alias, alias, entity, ALIAS))]

    def targets(self, text: str) -> list[str]:
        """Canonical names of the watched entities ``text`` mentions, in order of first mention."""
        return list(dict.fromkeys(m.entity for m in self.find(text)))
