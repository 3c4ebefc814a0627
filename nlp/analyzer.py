"""One batch call from posts to the Analysis contract (docs/contracts.md).

    analyzer = Analyzer.from_config(firm={"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券"]})
    analyzer.analyze([{"title": "", "text": "华鼎证券APP又登不上了，投诉无门"}])

Per post: who it names (watch list, longest match, look-alikes excluded) → sentiment (one batched
model call for the whole batch, plus the clauses that name someone) → whom it is negative about →
falsity cues → topic → risk level, with short Chinese reasons a duty officer can read.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nlp.falsity import FalsityDetector
from nlp.risk import RiskThresholds, assess
from nlp.segment import Segmenter
from nlp.sentiment import DEFAULT_MAX_CHARS, LABELS, SentimentModel, create_sentiment_model, to_result
from nlp.topics import classify
from nlp.watchlist import EXCLUDED, EXECUTIVE, PRODUCT, Entity, Mention, WatchList, as_entity

ANALYSIS_FIELDS = (
    "sentiment",
    "targets",
    "negative_targets",
    "falsity",
    "topic",
    "level",
    "flagged",
    "reasons",
)

_CLAUSE = re.compile(r"[^。！？!?；;，,\n]+")
MAX_CLAUSES_PER_POST = 24  # clauses naming someone that are scored separately
MAX_CLAUSE_CHARS = 300
DEFAULT_AUTHORITY = 0.5


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def post_text(post: Mapping) -> str:
    """Title and text, as the analyzer reads them."""
    title = str(post.get("title") or "").strip()
    text = str(post.get("text") or "")
    return f"{title}\n{text}" if title else text


@dataclass
class _Work:
    post: Mapping
    text: str
    watchlist: WatchList
    mentions: list[Mention]
    clauses: list[tuple[int, int]]  # spans of the clauses that name a target or a look-alike
    of_mention: list[tuple[int, int] | None]  # the clause of each mention (None: not scored)
    clause_probs: list[Any] | None = None


class Analyzer:
    """Pure analysis: no storage, no I/O besides loading the model once."""

    def __init__(
        self,
        watchlist: WatchList,
        sentiment_model: SentimentModel,
        *,
        risk_thresholds: RiskThresholds | Mapping | object | None = None,
        segmenter: Segmenter | None = None,
        source_authority: Mapping[str, float] | None = None,
        falsity: FalsityDetector | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self.watchlist = watchlist
        self.model = sentiment_model
        self.thresholds = RiskThresholds.coerce(risk_thresholds)
        self._segmenter = segmenter
        self.source_authority = dict(source_authority or {})
        self.falsity = falsity or FalsityDetector(threshold=self.thresholds.rumor_threshold)
        self.max_chars = max_chars
        self._neg = list(sentiment_model.labels).index("negative")
        self._restricted: dict[tuple[str, ...], WatchList] = {}

    @classmethod
    def from_config(
        cls,
        *,
        firm: Mapping | object,
        watch: Iterable[Mapping | object | Entity] = (),
        sentiment_model: str | SentimentModel = "builtin",
        risk: Mapping | object | None = None,
        source_authority: Mapping[str, float] | None = None,
    ) -> Analyzer:
        """From plain values or settings-shaped objects (duck-typed; this room imports nothing of ours).

        ``firm``: fields of ``FirmConfig`` (name, short_names, stock_codes, executives, products,
        exclude); ``watch``: ``WatchEntity``-like items; ``sentiment_model``: a registry name
        (``ModelConfig.sentiment_model``) or a model; ``risk``: ``RiskConfig``-like;
        ``source_authority``: ``{SourceConfig.name: SourceConfig.authority}``.
        """
        wl = WatchList.from_firm(
            _get(firm, "name"),
            short_names=_get(firm, "short_names", ()) or (),
            stock_codes=_get(firm, "stock_codes", ()) or (),
            executives=_get(firm, "executives", ()) or (),
            products=_get(firm, "products", ()) or (),
            exclude=_get(firm, "exclude", ()) or (),
            extra=[as_entity(w) for w in watch],
        )
        model = (
            create_sentiment_model(sentiment_model) if isinstance(sentiment_model, str) else sentiment_model
        )
        return cls(wl, model, risk_thresholds=risk, source_authority=source_authority)

    @property
    def segmenter(self) -> Segmenter:
        """A segmenter that knows every watched name (share it with the store's index)."""
        if self._segmenter is None:
            self._segmenter = Segmenter(self.watchlist.all_words())
        return self._segmenter

    # -- the batch call ---------------------------------------------------------------------------

    def _watchlist_for(self, post: Mapping) -> WatchList:
        watch = post.get("watch")
        if watch is None:
            return self.watchlist
        if isinstance(watch, str):
            watch = [watch]
        key = tuple(str(w) for w in watch)
        wl = self._restricted.get(key)
        if wl is None:
            wl = self.watchlist.restrict(key)
            if len(self._restricted) < 256:
                self._restricted[key] = wl
        return wl

    def analyze(self, posts: Sequence[Mapping]) -> list[dict]:
        """The Analysis fields for each post, in input order (one dict per post, whatever the batch size)."""
        work: list[_Work] = []
        for post in posts:
            text = post_text(post)
            wl = self._watchlist_for(post)
            mentions = wl.find(text, include_excluded=True)
            clauses: list[tuple[int, int]] = []
            of_mention: list[tuple[int, int] | None] = [None] * len(mentions)
            if any(m.role != EXCLUDED for m in mentions):
                spans = [(c.start(), c.end()) for c in _CLAUSE.finditer(text)]
                starts = [s for s, _ in spans]
                for j, m in enumerate(mentions):
                    i = bisect.bisect_right(starts, m.start) - 1
                    if i < 0 or not spans[i][0] <= m.start < spans[i][1]:
                        continue
                    if spans[i] in clauses:
                        of_mention[j] = spans[i]
                    elif len(clauses) < MAX_CLAUSES_PER_POST:
                        clauses.append(spans[i])
                        of_mention[j] = spans[i]
            work.append(_Work(post, text, wl, mentions, clauses, of_mention))

        # one model call: every post's head, then every clause that names someone
        inputs = [w.text[: self.max_chars] for w in work]
        for w in work:
            inputs.extend(w.text[s:e][:MAX_CLAUSE_CHARS] for s, e in w.clauses)
        probs = self.model.predict_proba(inputs)
        k = len(work)
        for w in work:
            w.clause_probs = list(probs[k : k + len(w.clauses)])
            k += len(w.clauses)
        return [self._one(w, probs[i]) for i, w in enumerate(work)]

    def _one(self, w: _Work, prob: Any) -> dict:
        th = self.thresholds
        if not w.text.strip():  # nothing to read: neutral, not whatever the model's bias says
            prob = [1.0 if lab == "neutral" else 0.0 for lab in self.model.labels]
        sentiment = to_result(prob, self.model.labels)
        p_neg = float(prob[self._neg])
        negative = p_neg >= th.negative_threshold

        ours = [m for m in w.mentions if m.role != EXCLUDED]
        lookalikes = [m for m in w.mentions if m.role == EXCLUDED]
        targets = list(dict.fromkeys(m.entity for m in ours))
        negative_targets, elsewhere = self._negative_targets(w, negative)

        fals = self.falsity.check(w.text)
        rumor = fals.label == "rumor"
        topic = classify(
            w.text,
            rumor=rumor,
            executive_mentioned=any(m.role == EXECUTIVE for m in ours),
            negative=negative,
        )
        authority = self._authority(w.post)
        # a clarification repeats the rumor's claim (被带走调查) without making it: the claim's topic
        # does not count against us; only negativity about us can still flag it
        risk_topic = "其他" if fals.debunk else topic.topic
        risk = assess(
            targets=targets,
            negative_targets=negative_targets,
            rumor=rumor,
            topic=risk_topic,
            post=w.post,
            authority=authority,
            thresholds=th,
            negativity_elsewhere=elsewhere,
            positive=sentiment["label"] == "positive",
        )

        reasons: list[str] = []
        if not targets:
            reasons.append("未提及关注对象")
        for t in targets:
            via = next((m for m in ours if m.entity == t), None)
            if via is not None and via.role in (EXECUTIVE, PRODUCT):
                word = "高管" if via.role == EXECUTIVE else "产品"
                reasons.append(f"提及：{t}（{word} {via.alias}）")
            else:
                reasons.append(f"提及：{t}")
        if lookalikes:
            names = "、".join(dict.fromkeys(m.alias for m in lookalikes))
            reasons.append(f"相似名称已排除：{names}")
        if negative:
            reasons.append(f"负面情绪 {p_neg:.2f}")
        elif negative_targets:
            reasons.append(f"负面情绪（分句）：{'、'.join(negative_targets)}")
        spared = [t for t in targets if t not in negative_targets]
        if negative and spared:
            reasons.append("负面未指向：" + "、".join(spared))
        if rumor or fals.debunk:
            reasons.extend(fals.reasons())
        if topic.keywords:
            reasons.append("关键词：" + "、".join(topic.keywords[:6]))
        if topic.topic != "其他":
            reasons.append(f"话题：{topic.topic}")
        if targets:
            reasons.extend(risk.reasons)
            if w.post.get("user_verified"):
                reasons.append("认证账号")
        if len(w.text) > self.max_chars and targets:
            reasons.append(f"文本过长：情绪仅按前 {self.max_chars} 字判断")

        return {
            "sentiment": sentiment,
            "targets": targets,
            "negative_targets": negative_targets,
            "falsity": fals.as_dict(),
            "topic": topic.topic,
            "level": risk.level,
            "flagged": risk.flagged,
            "reasons": reasons,
        }

    def _negative_targets(self, w: _Work, negative: bool) -> tuple[list[str], bool]:
        """Targets the post is negative about, and whether its negativity points at a look-alike instead.

        A target is negative when a clause naming it is negative, or when the post is negative and no
        negative clause names a look-alike (and not the target). Simple on purpose: the skeleton's rule.
        """
        th = self.thresholds.negative_threshold
        clause_neg = {
            span: float(p[self._neg]) >= th for span, p in zip(w.clauses, w.clause_probs or (), strict=False)
        }
        target_clauses: dict[str, set[tuple[int, int]]] = {}
        lookalike_clauses: set[tuple[int, int]] = set()
        for m, c in zip(w.mentions, w.of_mention, strict=True):
            if m.role == EXCLUDED:
                if c is not None:
                    lookalike_clauses.add(c)
            else:
                target_clauses.setdefault(m.entity, set())
                if c is not None:
                    target_clauses[m.entity].add(c)
        ours = set().union(*target_clauses.values()) if target_clauses else set()
        elsewhere = any(clause_neg.get(c, False) for c in lookalike_clauses - ours)
        out = [
            t
            for t, own in target_clauses.items()
            if any(clause_neg.get(c, False) for c in own) or (negative and not elsewhere)
        ]
        return out, elsewhere and not out

    def _authority(self, post: Mapping) -> float:
        a = post.get("authority")
        if a is None:
            a = self.source_authority.get(str(post.get("source") or ""), DEFAULT_AUTHORITY)
        try:
            return float(a)
        except (TypeError, ValueError):
            return DEFAULT_AUTHORITY


__all__ = ["ANALYSIS_FIELDS", "LABELS", "Analyzer", "post_text"]
