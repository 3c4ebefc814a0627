"""Events and bursts: posts about one event share an ``event_id``; a sudden jump in volume is a burst.

An event is coarser than a near-duplicate group (``simhash``/``dup_of``: the same text reposted): a
complaint wave about one outage is many different posts. Clustering is incremental and cheap: each
post that names a watched entity becomes a keyword set (jieba words of two or more characters, watched
names and common words removed); it joins the most similar live event of the same target (overlap of
its keywords with the event's most frequent keywords ≥ ``similarity``), within ``window_hours`` of the
event's last post; otherwise it opens a new event whose id comes from its first post.

A burst is volume against its own baseline: an event's posts in the last ``burst_window_minutes``
against its rate in the ``burst_baseline_hours`` before; the firm's volume the same way, from counts
the store gives (``volume(since, until)``). A burst raises a flagged post's level by one step and says
so in its reasons (突发). Only counts at least ``burst_min_posts`` can be a burst, so one post is never
a burst however quiet the baseline.

A post that the analyzer read as the firm's own statement or a relayed clarification (its reasons carry
``nlp.context_rules.STATEMENT_MARK``) is matched by the claim it answers (its quoted words, what follows
网传 / 传闻) first, so 「岚X证券：网传总经理被带走系谣言」 joins the event of 「听说岚X孟总被带走了」 even though
most of its words are the denial's; and a post making a claim that an event has already answered joins
that event.

The tracker keeps the live events in memory; the composition root seeds it from recent stored posts
(:meth:`EventTracker.seed`), so a restart does not split events.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from nlp.context_rules import STATEMENT_MARK, claim_of

LEVEL_UP = {"IV": "III", "III": "II", "II": "I", "I": "I"}
TOP_KEYWORDS = 30
MAX_POST_KEYWORDS = 40
MAX_EVENTS = 5_000
KEPT_WORDS = 100_000  # words whose keyword test is kept (keywords()); cleared when full
MAX_TEXT_CHARS = 5_000

# words that say nothing about which event a post is about
_STOP = (
    "我们 你们 他们 大家 今天 昨天 现在 已经 还是 就是 没有 不是 什么 这个 那个 一个 自己 可以 因为 所以 "
    "但是 而且 如果 然后 公司 客户 网友 记者 表示 进行 相关 问题 情况 目前 通过 其中 以及 对于 关于 "
    "真的 怎么 这样 那么 一下 知道 时候 还有 这些 那些 微博 转发 评论 全文 链接 视频 图片"
)
STOPWORDS = frozenset(_STOP.split())
_CJK_OR_WORD = re.compile(r"[\u4e00-\u9fff]{2,}|[A-Za-z][A-Za-z0-9]{2,}")


def _parse_time(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value or "").strip()
    if not text:
        return default
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return default
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


def _discard(postings: dict[str, set[str]], word: str, eid: str) -> None:
    ids = postings.get(word)
    if ids is not None:
        ids.discard(eid)
        if not ids:
            del postings[word]


ANSWERED_SHARE = 0.5  # a post making this share of an answered claim's keywords joins the answer's event


def _statement(post: Any, text: str) -> dict[str, Any]:
    """``statement`` and ``claim`` for ``EventTracker.add``: whether the analyzer read the post as the
    firm's statement or a relayed clarification (its reasons say so), and the claim it answers."""
    reasons = _get(post, "reasons", ()) or ()
    if not any(STATEMENT_MARK in str(r) for r in reasons):
        return {}
    return {"statement": True, "claim": claim_of(text)}


def default_words(text: str) -> list[str]:
    """Without jieba: runs of CJK characters cut into overlapping bigrams, latin words whole."""
    out: list[str] = []
    for m in _CJK_OR_WORD.finditer(text):
        w = m.group()
        if w.isascii():
            out.append(w.lower())
        else:
            out.extend(w[i : i + 2] for i in range(len(w) - 1))
    return out


@dataclass
class Event:
    id: str
    target: str
    keywords: Counter = field(default_factory=Counter)
    times: deque = field(default_factory=deque)  # post times, oldest first
    last_at: datetime = datetime.min.replace(tzinfo=UTC)
    size: int = 0
    answered: Counter = field(default_factory=Counter)  # keywords of the claims its clarifications answer
    makers: int = 0  # posts in it that are not the firm's statements or relayed clarifications
    seq: int = 0  # creation order: the earlier of two equally similar events wins
    _top: set[str] = field(default_factory=set, repr=False)  # the TOP_KEYWORDS most frequent keywords
    _first: dict[str, int] = field(default_factory=dict, repr=False)  # keyword → order first seen

    def top(self) -> set[str]:
        """The :data:`TOP_KEYWORDS` most frequent keywords (ties: the one seen first), as
        ``keywords.most_common`` ranks them; kept up to date by :meth:`add_keywords`."""
        return set(self._top)

    def add_keywords(self, kws: Counter) -> tuple[set[str], set[str]]:
        """Count a post's keywords; the words that entered and left the top set.

        Counts only grow, so a word outside the top that this post does not name cannot enter it: the new
        top is the best of the old top and the post's words, not a sort of every keyword."""
        first, top = self._first, self._top
        for w in kws:
            if w not in first:
                first[w] = len(first)
        self.keywords.update(kws)
        outside = [w for w in kws if w not in top]
        if not outside:  # the top words only gained: the same set
            return set(), set()
        counts = self.keywords
        if len(top) + len(outside) <= TOP_KEYWORDS:
            new = top.union(outside)
        else:

            def rank(w: str) -> tuple[int, int]:
                return -counts[w], first[w]

            if len(top) == TOP_KEYWORDS:
                weakest = max(map(rank, top))
                if all(rank(w) > weakest for w in outside):  # none of them outranks a top word
                    return set(), set()
            new = set(sorted(top.union(outside), key=rank)[:TOP_KEYWORDS])
        added, removed = new - top, top - new
        self._top = new
        return added, removed


@dataclass
class _TargetIndex:
    """The live events of one target, by keyword: where a post's candidates come from.

    Each event holds a slot (a small integer, the lowest free one); ``top`` maps a keyword to the bit mask
    of the slots whose event has it among its top keywords, so a post's matches with every event are
    counted with a few integer operations per keyword (:func:`_count_bits`) whatever the events hold."""

    top: dict[str, int] = field(default_factory=dict)  # keyword → slots of the events with it in their top
    answered: dict[str, set[str]] = field(default_factory=dict)  # keyword → events answering claims of it
    slot_of: dict[str, int] = field(default_factory=dict)  # event id → its slot
    events_at: list[str] = field(default_factory=list)  # slot → event id ("" when free)
    free: list[int] = field(default_factory=list)  # free slots below len(events_at), a heap

    def take_slot(self, eid: str) -> int:
        if self.free:
            slot = heapq.heappop(self.free)
            self.events_at[slot] = eid
        else:
            slot = len(self.events_at)
            self.events_at.append(eid)
        self.slot_of[eid] = slot
        return slot

    def free_slot(self, eid: str) -> None:
        slot = self.slot_of.pop(eid, None)
        if slot is not None:
            self.events_at[slot] = ""
            heapq.heappush(self.free, slot)

    def add_top(self, word: str, bit: int) -> None:
        self.top[word] = self.top.get(word, 0) | bit

    def drop_top(self, word: str, bit: int) -> None:
        mask = self.top.get(word, 0) & ~bit
        if mask:
            self.top[word] = mask
        else:
            self.top.pop(word, None)


def _count_bits(masks: Iterable[int]) -> list[int]:
    """Per slot, how many of ``masks`` hold it, as bit slices (least significant first): slot ``s``'s count
    is the sum of ``((levels[j] >> s) & 1) << j``. Each mask is added with a ripple carry."""
    levels: list[int] = []
    for carry in masks:
        j = 0
        while carry:
            if j == len(levels):
                levels.append(carry)
                break
            level = levels[j]
            levels[j] = level ^ carry
            carry &= level
            j += 1
    return levels


def _count_is(levels: list[int], k: int, within: int) -> int:
    """The slots of ``within`` whose count (:func:`_count_bits`) is exactly ``k``."""
    mask = within
    for j, level in enumerate(levels):
        mask = mask & level if (k >> j) & 1 else mask & ~level
        if not mask:
            break
    return mask if k >> len(levels) == 0 else 0


@dataclass(frozen=True)
class Burst:
    what: str  # "event" | "firm"
    count: int
    baseline: float  # expected posts in the same window

    def reason(self, window_minutes: int) -> str:
        span = f"{window_minutes // 60} 小时" if window_minutes % 60 == 0 else f"{window_minutes} 分钟"
        who = "本事件" if self.what == "event" else "全公司相关声量"
        return f"突发：{who} {span}内 {self.count} 条（基线 {self.baseline:.1f}）"


class EventTracker:
    """Incremental event clustering plus burst detection; thresholds mirror ``[risk]`` in the config."""

    def __init__(
        self,
        *,
        words: Callable[[str], Sequence[str]] | None = None,
        ignore: Iterable[str] = (),
        window_hours: float = 72,
        similarity: float = 0.3,
        burst_window_minutes: int = 60,
        burst_baseline_hours: float = 24,
        burst_ratio: float = 3.0,
        burst_min_posts: int = 5,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.words = words or default_words
        self.ignore = {w.lower() for w in ignore if w}
        self.window = timedelta(hours=window_hours)
        self.similarity = similarity
        self.burst_window = timedelta(minutes=burst_window_minutes)
        self.burst_window_minutes = int(burst_window_minutes)
        self.baseline = timedelta(hours=burst_baseline_hours)
        self.ratio = burst_ratio
        self.min_posts = burst_min_posts
        self.max_events = max_events
        self.events: dict[str, Event] = {}
        self._index: dict[str, _TargetIndex] = {}  # target → its events by keyword
        self._ages: list[tuple[datetime, int, str]] = []  # heap of (last_at, seq, id); stale rows skipped
        self._seq = 0
        self._need: dict[int, int | None] = {}  # keywords → matches an event needs (see _best)
        self._kept: dict[str, bool] = {}  # word → is_keyword(word), for the words seen (bounded)

    @classmethod
    def from_config(cls, risk: Any, **kwargs: Any) -> EventTracker:
        """From ``RiskConfig``-like settings (missing names keep their defaults)."""
        names = (
            "window_hours",
            "similarity",
            "burst_window_minutes",
            "burst_baseline_hours",
            "burst_ratio",
            "burst_min_posts",
        )
        conf = {
            n: getattr(risk, f"event_{n}" if n in ("window_hours", "similarity") else n, None) for n in names
        }
        return cls(**{k: v for k, v in conf.items() if v is not None}, **kwargs)

    # -- clustering ----------------------------------------------------------------------------------

    def keywords(self, text: str) -> Counter:
        """The post's keywords (:meth:`is_keyword`) with their counts, at most :data:`MAX_POST_KEYWORDS`, the
        most frequent first (ties: in the order of the text), as ``Counter.most_common`` orders them."""
        ws = self.words((text or "")[:MAX_TEXT_CHARS])
        kept = self._kept
        if len(kept) > KEPT_WORDS:
            kept.clear()
        for w in set(ws).difference(kept):
            kept[w] = self.is_keyword(w)
        counts = Counter([w for w in ws if kept[w]])
        if len(counts) > MAX_POST_KEYWORDS:
            return Counter(dict(counts.most_common(MAX_POST_KEYWORDS)))
        if sum(counts.values()) == len(counts):  # every word once: most_common keeps the text's order
            return counts
        return Counter(dict(sorted(counts.items(), key=itemgetter(1), reverse=True)))  # = most_common()

    def is_keyword(self, w: str) -> bool:
        """Two or more characters, not a watched name, a stop word or a number."""
        return len(w) >= 2 and w.lower() not in self.ignore and w not in STOPWORDS and not w.isdigit()

    def _matches_needed(self, n: int) -> int | None:
        """The fewest top-keyword matches ``m`` (≥ 1) with ``m / n ≥ similarity``; None: none can."""
        if n not in self._need:
            self._need[n] = next((m for m in range(1, n + 1) if m / n >= self.similarity), None)
        return self._need[n]

    def _best(self, target: str, kws: Counter, at: datetime, *, claims_only: bool = False) -> Event | None:
        """The most similar live event of ``target`` (``claims_only``: among those where someone makes a
        claim, not only statements and clarifications); of equally similar ones, the oldest.

        Similarity is the share of the post's keywords (at most :data:`TOP_KEYWORDS` counted) among an
        event's top keywords. Every event's count of the post's keywords among its top keywords comes from
        the keyword index's bit masks (:func:`_count_bits`: a few integer operations per keyword, not a
        step per event), then the events with the highest count are looked at, the next count only when
        none of them is live (or makes a claim), down to the fewest matches that reach the threshold."""
        index = self._index.get(target)
        if not kws or index is None:
            return None
        need = self._matches_needed(min(len(kws), TOP_KEYWORDS))
        if need is None:
            return None
        top = index.top
        levels = _count_bits([top[w] for w in kws if w in top])
        if not levels:
            return None
        held = 0  # slots holding at least one of the words
        for level in levels:
            held |= level
        most = 0  # the highest count: from the top slice down, keep the slots that have each bit
        mask = held
        for j in range(len(levels) - 1, -1, -1):
            if mask & levels[j]:
                mask &= levels[j]
                most |= 1 << j
        earliest, latest = at - self.window, at + self.window  # live: last post within the window of at
        events, events_at = self.events, index.events_at
        for k in range(most, need - 1, -1):
            exact = mask if k == most else _count_is(levels, k, held)
            best = None
            while exact:
                low = exact & -exact
                exact ^= low
                ev = events[events_at[low.bit_length() - 1]]
                if best is not None and ev.seq > best.seq:
                    continue  # the older event wins ties
                if ev.last_at < earliest or ev.last_at > latest:
                    continue
                if claims_only and not ev.makers:
                    continue
                best = ev
            if best is not None:
                return best
        return None

    def _answered(self, target: str, kws: Counter, at: datetime) -> Event | None:
        """The live event whose clarifications answer the claim this post makes (most of the claim's
        keywords are in the post); of equally good ones, the oldest."""
        index = self._index.get(target)
        if index is None or not index.answered:
            return None
        candidates: set[str] = set()
        for w in kws:
            candidates.update(index.answered.get(w, ()))
        best, best_share = None, 0.0
        for eid in candidates:
            ev = self.events[eid]
            if not ev.answered or at - ev.last_at > self.window or ev.last_at - at > self.window:
                continue
            share = sum(1 for w in ev.answered if w in kws) / len(ev.answered)
            if share > best_share or (share == best_share and best is not None and ev.seq < best.seq):
                best, best_share = ev, share
        return best if best is not None and best_share >= ANSWERED_SHARE else None

    def add(
        self,
        post_id: str,
        text: str,
        targets: Sequence[str],
        at: datetime,
        event_id: str = "",
        claim: str = "",
        statement: bool = False,
    ) -> str:
        """Put one post into an event (``event_id``: the one it was stored with, when seeding); its id.

        ``statement``: the post is the firm's own statement or a relayed clarification; ``claim``: the
        claim it answers (``nlp.context_rules.claim_of``), matched against events where someone makes it."""
        if not targets:
            return ""
        target = targets[0]
        kws = self.keywords(text)
        claim_kws = self.keywords(claim) if claim else Counter()
        ev = self.events.get(event_id) if event_id else None
        if ev is None and not event_id:
            ev = self._best(target, claim_kws, at, claims_only=True) if claim_kws else None
            ev = ev or self._best(target, kws, at)
            if ev is None and not statement:
                ev = self._answered(target, kws, at)
        created = ev is None
        if ev is None:
            eid = event_id or "ev-" + hashlib.sha1(f"{target}:{post_id}".encode()).hexdigest()[:12]
            ev = self._open(eid, target)
        index = self._index[ev.target]
        added, removed = ev.add_keywords(kws)
        if added or removed:
            bit = 1 << index.slot_of[ev.id]
            for w in removed:
                index.drop_top(w, bit)
            for w in added:
                index.add_top(w, bit)
        for w in claim_kws:
            if w not in ev.answered:
                index.answered.setdefault(w, set()).add(ev.id)
        ev.answered.update(claim_kws)
        ev.makers += 0 if statement else 1
        ev.times.append(at)
        ev.size += 1
        if at > ev.last_at:
            ev.last_at = at
            heapq.heappush(self._ages, (at, ev.seq, ev.id))
        while ev.times and at - ev.times[0] > self.baseline + self.burst_window:
            ev.times.popleft()
        if created:
            self._forget_old()
        return ev.id

    def _open(self, eid: str, target: str) -> Event:
        """A new event; one with the id of a live event replaces it in its place (the same post again)."""
        old = self.events.get(eid)
        if old is not None:
            self._unindex(old)
            seq = old.seq
        else:
            self._seq += 1
            seq = self._seq
        ev = self.events[eid] = Event(eid, target, seq=seq)
        self._index.setdefault(target, _TargetIndex()).take_slot(eid)
        return ev

    def _unindex(self, ev: Event) -> None:
        index = self._index.get(ev.target)
        if index is None:
            return
        slot = index.slot_of.get(ev.id)
        if slot is not None:
            bit = 1 << slot
            for w in ev._top:
                index.drop_top(w, bit)
            index.free_slot(ev.id)
        for w in ev.answered:
            _discard(index.answered, w, ev.id)

    def _forget_old(self) -> None:
        """Beyond ``max_events``, forget the events whose last post is oldest (of equal ones, the oldest
        event), the new one included only when it is itself the oldest."""
        while len(self.events) > self.max_events and self._ages:
            last_at, seq, eid = heapq.heappop(self._ages)
            ev = self.events.get(eid)
            if ev is None or ev.seq != seq or ev.last_at != last_at:
                continue  # a row from before its event's last post
            del self.events[eid]
            self._unindex(ev)
        if len(self._ages) > 4 * len(self.events) + 1024:  # drop the stale rows
            self._ages = [(ev.last_at, ev.seq, ev.id) for ev in self.events.values() if ev.size]
            heapq.heapify(self._ages)

    def seed(self, posts: Iterable[Any]) -> int:
        """Stored posts (oldest first), with their event ids, so events continue across restarts."""
        n = 0
        for p in posts:
            targets = list(_get(p, "targets", ()) or ())
            if not targets:
                continue
            at = _parse_time(_get(p, "published_at") or _get(p, "first_seen_at"), datetime.now(UTC))
            text = f"{_get(p, 'title', '') or ''}\n{_get(p, 'text', '') or ''}"
            eid = str(_get(p, "event_id", "") or "")
            self.add(str(_get(p, "id", "")), text, targets, at, event_id=eid, **_statement(p, text))
            n += 1
        return n

    # -- bursts --------------------------------------------------------------------------------------

    def _is_burst(self, count: int, before: int) -> Burst | None:
        windows = max(1.0, self.baseline / self.burst_window)
        expected = before / windows
        if count >= self.min_posts and count >= self.ratio * max(expected, 1.0):
            return Burst("event", count, expected)
        return None

    def event_burst(self, event_id: str, now: datetime) -> Burst | None:
        ev = self.events.get(event_id)
        if ev is None:
            return None
        start = now - self.burst_window
        count = sum(1 for t in ev.times if start < t <= now)
        before = sum(1 for t in ev.times if start - self.baseline < t <= start)
        return self._is_burst(count, before)

    def firm_burst(self, volume: Callable[[datetime, datetime], int], now: datetime) -> Burst | None:
        start = now - self.burst_window
        count = int(volume(start, now))
        if count < self.min_posts:
            return None
        b = self._is_burst(count, int(volume(start - self.baseline, start)))
        return Burst("firm", b.count, b.baseline) if b else None

    # -- the ingest step -----------------------------------------------------------------------------

    def apply(
        self,
        records: Sequence[Any],
        *,
        volume: Callable[[datetime, datetime], int] | None = None,
        now: datetime | None = None,
    ) -> dict[str, int]:
        """Set ``event_id`` on each record that names a target; on a burst, raise flagged records' level.

        ``volume(since, until)``: how many stored posts name the firm in that span (the store's count);
        an error there only skips the firm burst. Returns counts for the ingest report.
        """
        now = now or datetime.now(UTC)
        stats = {"events": 0, "bursts": 0}
        touched: dict[str, datetime] = {}
        for rec in records:
            targets = list(_get(rec, "targets", ()) or ())
            at = _parse_time(_get(rec, "published_at"), now)
            text = f"{_get(rec, 'title', '') or ''}\n{_get(rec, 'text', '') or ''}"
            eid = self.add(str(_get(rec, "id", "")), text, targets, at, **_statement(rec, text))
            rec.event_id = eid
            if eid:
                touched[eid] = max(touched.get(eid, at), at)
        stats["events"] = len(touched)
        firm = None
        if volume is not None and any(_get(r, "flagged") for r in records):
            try:
                firm = self.firm_burst(volume, now)
            except Exception:  # the store being down must not stop analysis; the store reports it
                firm = None
        bursts = {eid: self.event_burst(eid, at) for eid, at in touched.items()}
        for rec in records:
            if not _get(rec, "flagged"):
                continue
            burst = bursts.get(rec.event_id) or firm
            if burst is None:
                continue
            rec.level = LEVEL_UP.get(rec.level, rec.level)
            rec.reasons = [*rec.reasons, burst.reason(self.burst_window_minutes)]
            stats["bursts"] += 1
        return stats
