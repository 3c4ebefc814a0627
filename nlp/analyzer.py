"""One batch call from posts to the Analysis contract (docs/contracts.md).

    analyzer = Analyzer.from_config(firm={"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券"]})
    analyzer.analyze([{"title": "", "text": "华鼎证券APP又登不上了，投诉无门"}])

Per post: who it names (watch list, longest match, look-alikes excluded) → sentiment (one batched
model call for the whole batch, plus the clauses that name someone) → whom it is negative about (the
entity-level model of ``nlp.targets``, trained on finnsp) → falsity (cue rules, the rumor model of
``nlp.rumor``, the firm's rumor register) → topic → risk level, with short Chinese reasons a duty
officer can read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nlp import context_rules as rules
from nlp import rescue as rescue_mod
from nlp import rumor as rumor_mod
from nlp import targets as targets_mod
from nlp.falsity import DEBUNK_FACTOR, FalsityDetector
from nlp.feedback import FeedbackHook, FeedbackInput, p_negative
from nlp.normalize import simplified
from nlp.rescue import RescueModel
from nlp.risk import RiskResult, RiskThresholds, assess
from nlp.rumor import RumorModel, RumorRegister
from nlp.segment import Segmenter
from nlp.sentiment import DEFAULT_MAX_CHARS, LABELS, SentimentModel, create_sentiment_model, to_result
from nlp.targets import TargetModel, group_candidates, linear_scores, mention_clauses
from nlp.topics import OTHER, PRIORITY, REGULATORS, classify
from nlp.watchlist import EXCLUDED, EXECUTIVE, PRODUCT, Entity, Mention, WatchList, as_entity

if TYPE_CHECKING:
    from nlp.encoder import DeskEncoder, EncoderReading

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

MAX_CLAUSE_CHARS = targets_mod.MAX_CLAUSE_CHARS
DEFAULT_AUTHORITY = 0.5
DOC_CLAUSE_NEGATIVE = 0.8  # the news-negativity model on one clause: short texts lean negative, so high
OWN_CLAUSE_STRONG = 0.8  # a clause naming the target this negative makes it a negative target
OWN_CLAUSE_SUPPORT = 0.25  # a negative clause naming the target adds it when the entity model half-agrees
UPBEAT = 0.9  # a post this surely positive needs a negative clause of its own to be negative about anyone
OWN_CLAUSE_UPBEAT = 0.6  # in a list of many firms, a clause of its own this positive clears a firm
LONG_POST_CHARS = 300  # a post this long is an article: its hearsay must stand where it speaks of us
SHORT_POST_HEAD_NEGATIVE = 0.2  # a short post about us only is negative about us if its head is this negative
SHIPPED = "shipped"  # load the shipped model files (None: go without that model)


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
    doc_scores: list[float] | None = None  # news-domain negativity: post head, then each clause
    rumor_score: float | None = None
    repost: rules.Repost | None = None  # the repost chain it carries (nlp.context_rules)
    declared: str | None = None  # our firm, when the post's source is declared about it and it names no one
    notes: list[str] | None = None  # the context rules' reasons found while reading
    masked: rules.Masked | None = None  # topic keywords under a negation or in a neutral frame, masked
    residual_neg: float | None = None  # P(negative) of the post without its negated clauses
    encoded: EncoderReading | None = None  # the fine-tuned encoder's reading (nlp.encoder), when it reads it
    rescue_text: str = ""  # what the rescue model reads of it (nlp.rescue.normalize of its head)
    rescue_p: float | None = None  # the rescue model's probability of it, read for the batch at once


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
        feedback: FeedbackHook | None = None,
        target_model: TargetModel | str | None = SHIPPED,
        rumor_model: RumorModel | str | None = SHIPPED,
        rumor_register: RumorRegister | Iterable[Any] | None = None,
        context: rules.DeskContext | Mapping | None = None,
        encoder: DeskEncoder | None = None,
        rescue: RescueModel | str | None = SHIPPED,
    ) -> None:
        self.watchlist = watchlist
        # the desk's context (sources declared about the firm, its official accounts): nlp.context_rules
        self.context = rules.DeskContext.coerce(context)
        self.model = sentiment_model
        self.thresholds = RiskThresholds.coerce(risk_thresholds)
        self._segmenter = segmenter
        self.source_authority = dict(source_authority or {})
        self.falsity = falsity or FalsityDetector(
            threshold=self.thresholds.rumor_threshold, model_threshold=self.thresholds.rumor_model_threshold
        )
        self.register = RumorRegister.of(rumor_register)
        self.target_model = targets_mod.load_default() if target_model == SHIPPED else target_model
        self.rumor_model = rumor_mod.load_default() if rumor_model == SHIPPED else rumor_model
        # the learned second look at posts that name us and that nothing flagged (nlp.rescue); None: off
        self.rescue = rescue_mod.load_default() if rescue == SHIPPED else rescue
        self.max_chars = max_chars
        self._neg = list(sentiment_model.labels).index("negative")
        self._pos = list(sentiment_model.labels).index("positive")
        self._restricted: dict[tuple[str, ...], WatchList] = {}
        # the firm's own layer, fit on its officers' verdicts (nlp.feedback; yuqing learn); None: none
        self.feedback = feedback
        # the fine-tuned encoder (nlp.encoder) and how its readings blend with the linear models' (chosen
        # on the validation slices: nlp/models/README.md); None: the linear models alone
        self.encoder = encoder
        self.blend: dict = encoder.blend if encoder is not None else {}

    @classmethod
    def from_config(
        cls,
        *,
        firm: Mapping | object,
        watch: Iterable[Mapping | object | Entity] = (),
        sentiment_model: str | SentimentModel = "builtin",
        risk: Mapping | object | None = None,
        source_authority: Mapping[str, float] | None = None,
        rumor_register: Iterable[Any] | None = None,
        context: rules.DeskContext | Mapping | None = None,
        encoder: str | DeskEncoder | None = None,
        rescue: RescueModel | str | None = SHIPPED,
    ) -> Analyzer:
        """From plain values or settings-shaped objects (duck-typed; this room imports nothing of ours).

        ``firm``: fields of ``FirmConfig`` (name, short_names, stock_codes, executives, products,
        exclude); ``watch``: ``WatchEntity``-like items; ``sentiment_model``: a registry name
        (``ModelConfig.sentiment_model``) or a model; ``risk``: ``RiskConfig``-like;
        ``source_authority``: ``{SourceConfig.name: SourceConfig.authority}``; ``rumor_register``: the
        firm's known rumors (``RumorEntry`` rows or mappings with claim, clarification, url, date, keywords);
        ``context``: ``nlp.context_rules.DeskContext`` or a mapping with ``about_firm_sources`` (names of
        sources declared about the firm) and ``official_accounts`` (default: ``firm.official_accounts``).
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
        ctx = rules.DeskContext.coerce(context)
        if not ctx.official_accounts and _get(firm, "official_accounts", None):
            ctx = replace(ctx, official_accounts=frozenset(_get(firm, "official_accounts")))
        return cls(
            wl,
            model,
            risk_thresholds=risk,
            source_authority=source_authority,
            rumor_register=rumor_register,
            context=ctx,
            encoder=_encoder(encoder),
            # a name as `[model] rescue` takes it ('builtin', 'none', a directory), or a model
            rescue=rescue_mod.load_rescue(rescue)
            if isinstance(rescue, str) and rescue != SHIPPED
            else rescue,
        )

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
            # a repost that only says 转发微博 is read as the text it carries (nlp.context_rules)
            # read in simplified characters (雲夢證券 is 云梦证券; nlp.normalize keeps every span in place)
            raw = simplified(str(post.get("text") or ""))
            title = simplified(str(post.get("title") or ""))
            body, repost = rules.reading_text(raw)
            text = post_text(
                {"title": title, "text": raw if repost is None or not repost.carried_only else body}
            )
            wl = self._watchlist_for(post)
            mentions = wl.find(text, include_excluded=True)
            about_firm = str(post.get("source") or "") in self.context.about_firm_sources
            # 岚X科技, 岚X远航5号 are others; a bare 岚X with nothing of finance around is not us
            mentions, notes = rules.resolve_lookalikes(text, mentions, wl, about_firm=about_firm)
            if any(m.role != EXCLUDED for m in mentions):
                clauses, of_mention = mention_clauses(text, mentions)
            else:
                clauses, of_mention = [], [None] * len(mentions)
            w = _Work(post, text, wl, mentions, clauses, of_mention, repost=repost, notes=notes)
            w.declared = self._declared(w)
            w.masked = rules.mask_keywords(text)
            work.append(w)

        # one model call: every post's head, then every clause that names someone, then what is left of
        # a post about us once its negated clauses are taken out (并未被处罚 is not the fact it negates)
        inputs = [w.text[: self.max_chars] for w in work]
        for w in work:
            inputs.extend(w.text[s:e][:MAX_CLAUSE_CHARS] for s, e in w.clauses)
        residual = {
            i: r
            for i, w in enumerate(work)
            if (w.clauses or w.declared) and (r := rules.residual_text(w.text, w.masked)) is not None
        }
        inputs.extend(r[: self.max_chars] for r in residual.values())
        probs = self.model.predict_proba(inputs)
        k = len(work)
        for w in work:
            w.clause_probs = list(probs[k : k + len(w.clauses)])
            k += len(w.clauses)
        for i, r in residual.items():
            work[i].residual_neg = float(probs[k][self._neg]) if r.strip() else 0.0
            k += 1
        # only posts that name one of ours can be flagged: the entity model reads only those; the rumor
        # model reads every post (its judgement is on every line of `yuqing analyze`)
        named = [w for w in work if w.clauses or any(m.role != EXCLUDED for m in w.mentions)]
        self._score_named(named, work)
        # the posts about a watched entity (they have targets): the encoder and the rescue read only these
        about = [w for w in work if w.declared or any(m.role != EXCLUDED for m in w.mentions)]
        if self.encoder is not None:
            self._encode(about)
        if self.rescue is not None:  # read together
            for w in about:
                w.rescue_text = _rescue_input(w)
            for w, p in zip(about, self.rescue.probabilities([w.rescue_text for w in about]), strict=True):
                w.rescue_p = p
        return self._with_feedback(work, [self._one(w, probs[i]) for i, w in enumerate(work)])

    def _declared(self, w: _Work) -> str | None:
        """Our firm, for a post that names neither us nor anyone else (a look-alike, another institution)
        but comes from a source declared about the firm (its own bar), or from (or only reposts) the
        firm's official account: such a post is about the firm."""
        firm = self._firm_of(w.watchlist)
        if firm is None or any(m.role != EXCLUDED for m in w.mentions):
            return None
        if not (
            str(w.post.get("source") or "") in self.context.about_firm_sources
            or self._official(w) is not None
        ):
            return None
        if any(m.role == EXCLUDED for m in w.mentions) or rules.other_orgs(w.text, w.mentions):
            return None
        return firm.name

    def _official(self, w: _Work) -> str | None:
        """The firm's official account that wrote the post (or whose post it only reposts), if any."""
        names = [n for e in w.watchlist.entities for n in (e.name, *e.aliases) if n and not n.isdigit()]
        verified = w.post.get("user_verified") in (True, 1, "1", "true", "True")
        author = str(w.post.get("author") or "")
        if rules.is_official(author, names, self.context.official_accounts, verified=verified):
            return author
        if w.repost is not None and w.repost.carried_only:
            return next(
                (
                    a
                    for a in w.repost.carried_from
                    if rules.is_official(a, names, self.context.official_accounts)
                ),
                None,
            )
        return None

    def _firm_of(self, wl: WatchList) -> Entity | None:
        return next((e for e in wl.entities if e.kind == "firm"), None)

    def _score_named(self, named: list[_Work], every: Sequence[_Work] = ()) -> None:
        """News negativity of each named post's head and clauses, and P(rumor) of every post's head: both
        linear models in one pass over each distinct text's n-grams (a one-clause post is its own clause)."""
        jobs: list[tuple[Any, list[str]]] = []
        heads = [w.text[: self.max_chars] for w in named]
        rumor_work = list(every) or named
        doc_in: list[str] = []
        if self.target_model is not None:
            for w, head in zip(named, heads, strict=True):
                doc_in.append(head)
                doc_in.extend(w.text[s:e][:MAX_CLAUSE_CHARS] for s, e in w.clauses)
            uniq = list(dict.fromkeys(doc_in))
            jobs.append((self.target_model.doc_model, uniq))
        if self.rumor_model is not None and rumor_work:
            jobs.append((self.rumor_model.clf, [w.text[: self.max_chars] for w in rumor_work]))
        if not jobs or not any(texts for _, texts in jobs):
            return
        scores = linear_scores(jobs)
        if self.target_model is not None:
            by_text = dict(zip(jobs[0][1], scores[0].tolist(), strict=True))
            k = 0
            for w in named:
                w.doc_scores = [by_text[t] for t in doc_in[k : k + 1 + len(w.clauses)]]
                k += 1 + len(w.clauses)
        if self.rumor_model is not None and rumor_work:
            for w, r in zip(rumor_work, scores[-1].tolist(), strict=True):
                w.rumor_score = float(r)

    def _encode(self, ws: list[_Work]) -> None:
        """The encoder reads each post about a watched entity once: sentiment, rumor, and negativity toward
        each target it names; its rumor reading joins the linear model's score here."""
        if not ws:
            return
        items = []
        for w in ws:
            spans: dict[str, list[tuple[int, int]]] = {}
            for m in w.mentions:
                if m.role != EXCLUDED:
                    spans.setdefault(m.entity, []).append((m.start, m.end))
            items.append((w.text, spans))
        a, cut = self.blend.get("rumor_linear_weight"), self.blend.get("rumor_threshold")
        for w, reading in zip(ws, self.encoder.read(items), strict=True):  # type: ignore[union-attr]
            w.encoded = reading
            if a is not None and cut is not None and w.rumor_score is not None:
                mixed = a * w.rumor_score + (1 - a) * reading.rumor
                w.rumor_score = _rescale(mixed, cut, self.falsity.model_threshold)

    def _sentiment(self, w: _Work, prob: Any) -> Any:
        """The post's sentiment: the linear model's, blended with the encoder's where it read the post, and
        the neutral class calibrated to occur as often as it does (the blend's biases)."""
        if not self.blend:
            return prob
        p = np.asarray(prob, dtype=np.float64)
        bias = self.blend.get("linear_neutral_bias", 0.0)
        if w.encoded is not None and "sentiment_linear_weight" in self.blend:
            a = self.blend["sentiment_linear_weight"]
            p = a * p + (1 - a) * np.asarray(w.encoded.sentiment, dtype=np.float64)
            bias = self.blend.get("sentiment_neutral_bias", bias)
        if bias:
            p = p * np.exp(bias * (np.arange(len(p)) == list(self.model.labels).index("neutral")))
            p = p / p.sum()
        return p

    def _one(self, w: _Work, prob: Any) -> dict:
        th = self.thresholds
        prob = self._sentiment(w, prob)
        if not w.text.strip():  # nothing to read: neutral, not whatever the model's bias says
            prob = [1.0 if lab == "neutral" else 0.0 for lab in self.model.labels]
        sentiment = to_result(prob, self.model.labels)
        p_neg = float(prob[self._neg])
        negative = p_neg >= th.negative_threshold

        ours = [m for m in w.mentions if m.role != EXCLUDED]
        lookalikes = [m for m in w.mentions if m.role == EXCLUDED]
        targets = list(dict.fromkeys(m.entity for m in ours))
        if w.declared and w.declared not in targets:  # a source declared about the firm (its own bar)
            targets.append(w.declared)
        negative_targets, elsewhere = self._rule_negative_targets(w, negative)
        target_probs = self._model_target_probs(w, p_neg)
        if target_probs is not None:
            cut = self.blend.get("entity_threshold", self.target_model.threshold)  # type: ignore[union-attr]
            if w.encoded is None or "entity_model_weight" not in self.blend:
                cut = self.target_model.threshold  # type: ignore[union-attr]
            own_neg, calm = self._clause_evidence(w)
            # a negative post that names one entity and nothing like it is negative about that entity
            alone = p_neg >= OWN_CLAUSE_STRONG and len(targets) == 1 and not lookalikes
            # a post that reads positive (反诈宣传, 澄清后点赞) needs a negative clause of its own
            upbeat = sentiment["scores"].get("positive", 0.0) >= UPBEAT
            # a calm question asking for information (请问…门槛是多少？求指路) is no one's bad news
            asking = not negative and rules.asks(w.text)
            negative_targets = [
                t
                for t in targets
                if (target_probs.get(t, 0.0) >= cut and t not in calm and not upbeat and not asking)
                or alone
                or own_neg.get(t, 0.0) >= OWN_CLAUSE_STRONG
                or (
                    own_neg.get(t, 0.0) >= th.negative_threshold
                    and target_probs.get(t, 0.0) >= OWN_CLAUSE_SUPPORT
                )
            ]
            elsewhere = elsewhere and not negative_targets
        if w.declared and negative and not elsewhere and w.declared not in negative_targets:
            negative_targets.append(w.declared)  # the whole post is about the firm: its negativity is too

        # the desk's context (nlp.context_rules): denials, the firm's own words, lists of many firms
        reading = self._read(w) if targets else None
        context_reasons: list[str] = []
        if reading is not None:
            negative_targets, context_reasons = self._context_negative_targets(w, reading, negative_targets)
        statement = reading.statement if reading is not None else None
        complaint_topic = None  # what a complaint or misconduct about us is filed under (nlp.context_rules)
        if reading is not None and statement is None:
            negative_targets, more, complaint_topic = self._context_complaints(
                w, reading, targets, negative_targets, negative
            )
            context_reasons.extend(more)

        fals = self.falsity.check(
            w.text,
            model_score=w.rumor_score,
            register=self.register if targets else None,
            # 辟谣了，但… / 至今未澄清: no denial, the claim is what it spreads
            denial=None if rules.denies(w.text) else False,
            spread="转发扩散" if w.repost is not None and w.repost.carried_only else "",
        )
        if statement is not None and fals.label == "rumor":  # it relays a denial: not the rumor itself
            fals = replace(fals, label="none", score=round(fals.score * DEBUNK_FACTOR, 4))
        if fals.label == "rumor" and reading is not None and self._rumor_elsewhere(w, reading, fals):
            # a long piece (or one about several firms) whose hearsay is in the parts about others
            fals = replace(fals, label="none")
            context_reasons.append("传言线索不在写本司的部分：不作本司传言")
        if fals.label == "rumor" and rules.teaches(w.text):
            # 投教｜听到“券商爆雷”的传言…: the hearsay it explains is not spread
            fals = replace(fals, label="none")
            context_reasons.append("投教/科普帖：所讲传言不作本司传言")
        rumor = fals.label == "rumor"
        masked = w.masked or rules.mask_keywords(w.text)
        exec_named = any(m.role == EXECUTIVE for m in ours) or (
            reading is not None and rules.executive_title_in(reading)
        )
        topic = classify(masked.text, rumor=rumor, executive_mentioned=exec_named, negative=negative)
        # a clarification repeats the rumor's claim (被带走调查) without making it: the claim's topic
        # does not count against us; only negativity about us can still flag it
        risk_topic = OTHER if fals.debunk else topic.topic
        if reading is not None and not rumor:
            # only topic words in what the post says about us count against us
            ours_topic = (
                classify(reading.firm_text(), executive_mentioned=exec_named, negative=bool(negative_targets))
                if topic.topic != OTHER or (exec_named and negative_targets)
                else topic
            )
            if ours_topic.topic != OTHER:
                topic = ours_topic
            elif topic.topic != OTHER and statement is None:
                words = "、".join(k for k in topic.keywords[:3])
                context_reasons.append(f"话题词未指向本司：{words}（不据此预警）")
            risk_topic = OTHER if statement is not None or fals.debunk else ours_topic.topic
        against = rules.complaint_against(w.text) if targets else None
        against_other = against is not None and not rules.names_us(against, w.watchlist)
        if against_other:
            # a complaint lodged against another (投诉对象：东岚证券): we are named in passing, not accused
            if negative_targets or risk_topic != OTHER:
                context_reasons.append(f"投诉对象为他方（{against}）：本司非被投诉方")
            negative_targets, complaint_topic, risk_topic = [], None, OTHER
        if complaint_topic is not None and topic.topic == OTHER:
            topic = replace(topic, topic=complaint_topic)
            risk_topic = complaint_topic
        authority = self._authority(w.post)

        def _assess() -> Any:
            return assess(
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

        risk = _assess()
        look = self._second_look(w, risk, targets, against_other, statement) if targets else None
        if look is not None:
            verdict, who, p_bad = look
            if verdict == "flag":
                negative_targets = [*negative_targets, who]
                context_reasons.append(f"语境模型：对{who}不利（{p_bad:.2f}）")
                risk = _assess()
            else:
                context_reasons.append(f"语境模型：对{who}不利可能性低（{p_bad:.2f}），不预警")
                risk = RiskResult(None, 0)

        reasons: list[str] = []
        if not targets:
            reasons.append("未提及关注对象")
        for t in targets:
            via = next((m for m in ours if m.entity == t), None)
            if via is not None and via.role in (EXECUTIVE, PRODUCT):
                word = "高管" if via.role == EXECUTIVE else "产品"
                reasons.append(f"提及：{t}（{word} {via.alias}）")
            elif (
                via is not None
                and (ent := w.watchlist.entity(t))
                and via.alias not in (ent.name, *ent.aliases)
            ):
                how = "谐音写法" if all("\u4e00" <= c <= "\u9fff" for c in via.alias) else "变体写法"
                reasons.append(f"提及：{t}（{how} {via.alias}）")
            else:
                reasons.append(f"提及：{t}")
        if lookalikes:
            names = "、".join(dict.fromkeys(w.text[m.start : m.end] for m in lookalikes))
            reasons.append(f"相似名称已排除：{names}")
        reasons.extend(w.notes or ())
        if w.repost is not None and w.repost.carried_only:
            who = "、".join(f"@{u}" for u in w.repost.carried_from[:3])
            reasons.append(f"转发链：本人仅转发，按所转内容判断（{who or '原文'}）")
        if w.declared and str(w.post.get("source") or "") in self.context.about_firm_sources:
            reasons.append(f"来源声明与本司相关：{w.post.get('source')}（未写名称，按本司判断）")
        elif w.declared:
            reasons.append(f"本司官方账号：{self._official(w)}（未写名称，按本司判断）")
        if statement is not None:
            reasons.append(statement.reason)
        if masked.negated and targets:
            reasons.append("否定/否认，不作为事实：" + "、".join(f"“{p}”" for p in masked.negated[:3]))
        if masked.neutral and targets:
            reasons.append("话题词属中性用法：" + "、".join(f"“{p}”" for p in masked.neutral[:3]))
        reasons.extend(context_reasons)
        if negative:
            reasons.append(f"负面情绪 {p_neg:.2f}")
        if negative_targets and target_probs is not None:
            reasons.append(
                "负面指向："
                + "、".join(
                    f"{t}（{target_probs[t]:.2f}）" if t in target_probs else t for t in negative_targets
                )
            )
        elif negative_targets and not negative:
            reasons.append(f"负面情绪（分句）：{'、'.join(negative_targets)}")
        spared = [t for t in targets if t not in negative_targets]
        if negative and spared:
            reasons.append("负面未指向：" + "、".join(spared))
        if rumor or fals.debunk or fals.register_match:
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

    def _second_look(
        self, w: _Work, risk: Any, targets: list[str], against_other: bool, statement: Any
    ) -> tuple[str, str, float] | None:
        """The learned second look (nlp.rescue) at a post about us: ("flag", who, p) for bad news for us in
        words no rule holds; ("lower", who, p) for a low-level flag (III, IV) of the rules on a post it finds
        very unlikely to be bad news for us (a keyword in a defence, a look-alike's trouble, a warning
        against fraud in our name: nlp.rescue.lowers); None: it leaves the post as it is (or is off)."""
        model = self.rescue
        if model is None or w.rescue_p is None:
            return None
        if not risk.flagged and (statement is not None or against_other):
            # the firm's own word, a relayed denial, a complaint against another: never an alert
            return None
        p_bad = w.rescue_p
        who = next((t for t in targets if (e := w.watchlist.entity(t)) and e.kind == "firm"), targets[0])
        if not risk.flagged:
            return ("flag", who, p_bad) if p_bad >= model.threshold else None
        # the sentences that name us, read alone, must find it harmless too (a complaint lost in a long
        # post's head): read only when the head already does
        worth = p_bad < model.demote and risk.level in rescue_mod.DEMOTABLE_LEVELS
        about = rescue_mod.about_us(w.rescue_text) if worth else ""
        p_about = model.probability(about) if about else None
        if not rescue_mod.lowers(risk.level, w.rescue_text, p_bad, p_about, model.demote):
            return None
        return ("lower", who, p_bad if p_about is None else max(p_bad, p_about))

    @staticmethod
    def _rumor_elsewhere(w: _Work, reading: rules.Reading, fals: Any) -> bool:
        """The rumor cues of a long post, or of one about several firms, all stand outside its title and
        the parts about us (the register and a sure rumor model are evidence of their own)."""
        if reading.whole or not (reading.others or reading.many_firms or len(w.text) > LONG_POST_CHARS):
            return False
        if fals.register_match is not None or (fals.model_score or 0.0) >= fals.model_threshold:
            return False
        cued = [c for c in fals.cues if c != "转发扩散"]
        title = simplified(str(w.post.get("title") or ""))  # the cues are found in simplified text
        ours = reading.firm_text() + "\n" + title
        return bool(cued) and not any(c in ours for c in cued)

    def _read(self, w: _Work) -> rules.Reading:
        """The context rules' reading of a post about us: is it our own word or a relayed denial, which
        parts of it are about us, how many firms it is about."""
        names = [n for e in w.watchlist.entities for n in (e.name, *e.aliases) if n and not n.isdigit()]
        rp = w.repost
        statement = rules.statement_kind(
            w.post,
            w.text,
            names=names,
            official_accounts=self.context.official_accounts,
            carried_from=rp.carried_from if rp is not None else (),
            carried_only=rp is not None and rp.carried_only,
            masked=w.masked,
        )
        if statement is not None and statement.kind == "own_news":  # its own bad news: read as any report
            w.notes = [*(w.notes or ()), statement.reason]
            statement = None
        title = str(w.post.get("title") or "").strip()
        return rules.read(
            w.text,
            w.mentions,
            declared=bool(w.declared),
            statement=statement,
            masked=w.masked,
            title_len=len(title) if title and w.text.startswith(title + "\n") else 0,
        )

    def _context_negative_targets(
        self, w: _Work, reading: rules.Reading, negative_targets: list[str]
    ) -> tuple[list[str], list[str]]:
        """Negative targets the context rules let stand, and why the others were dropped.

        The firm's own statement or a relayed denial is about no one negatively. In a post about many
        firms, a target is negative only where its own clause is. A post whose words against us are all
        negated (并未被处罚) is negative about us only if what is left says so too.
        """
        if not negative_targets:
            return [], []
        if reading.statement is not None:
            return [], []
        th = self.thresholds.negative_threshold
        sent = {c: float(p[self._neg]) for c, p in zip(w.clauses, w.clause_probs or (), strict=False)}
        pos = {c: float(p[self._pos]) for c, p in zip(w.clauses, w.clause_probs or (), strict=False)}
        doc = dict(zip(w.clauses, (w.doc_scores or [0.0])[1:], strict=False))
        masked_text = reading.masked.text

        def own_clause_negative(c: tuple[int, int]) -> bool:
            s, e = c
            if any(s <= a < e for a, _ in reading.masked.masked_at) or any(
                a < e and s < b for a, b in reading.masked.not_listed
            ):
                return False  # it denies (or only names a keyword in a neutral frame)
            if rules.has_keyword(masked_text, s, e, facts_only=True):
                return True
            if rules.ALL_CLEAR.search(masked_text[s:e]):
                return False
            return sent.get(c, 0.0) >= th or doc.get(c, 0.0) >= DOC_CLAUSE_NEGATIVE

        kept: list[str] = []
        why: list[str] = []
        negated = reading.negation_in_firm_part()
        for t in negative_targets:
            clauses = [c for m, c in zip(w.mentions, w.of_mention, strict=True) if m.entity == t and c]
            own = any(own_clause_negative(c) for c in clauses)
            # in a list of many firms, a clause of its own that reads well (获评A类, 倒是没事) says the
            # post's negativity is about the others
            upbeat = [
                c
                for c in clauses
                if rules.ALL_CLEAR.search(masked_text[c[0] : c[1]])
                or (pos.get(c, 0.0) >= OWN_CLAUSE_UPBEAT and pos.get(c, 0.0) > sent.get(c, 0.0))
            ]
            # …unless a topic word stands in its sentence (兑付危机，X卡壳，…)
            in_sentence = any(rules.live_keyword_in_sentence(reading, c) for c in clauses)
            # a clause of ours that says we are not on the list (泰和证券不在其列, 名单里没有X): not against us
            if (
                clauses
                and not own
                and all(any(a < c[1] and c[0] < b for a, b in reading.masked.not_listed) for c in clauses)
            ):
                why.append(f"不在名单之列：{t}")
                continue
            if reading.many_firms and not own and upbeat and not in_sentence:
                why.append(f"多家机构并列（{reading.many_firms} 家）：{t} 所在分句无负面")
                continue
            # the same when it is compared with one other (X又被罚了，人家Y就没事)
            clear = [
                c
                for c in clauses
                if rules.ALL_CLEAR.search(masked_text[c[0] : c[1]])
                or rules.FINE.search(masked_text[c[0] : c[1]])
            ]
            ours_facts = [k for k in reading.attributed(rules.ALL_KEYWORDS) if k not in REGULATORS]
            if reading.others and not own and clear and not ours_facts:
                why.append(f"与他方对比：{t} 所在分句无负面")
                continue
            # …or the news is another's (X证券收罚单, 涉事投顾曾任职于我们): its topic words stand in their
            # part only, and nothing in ours reads negative
            if (
                reading.others
                and not own
                and not ours_facts
                and rules.has_keyword(masked_text)
                and not reading.whole
            ):
                why.append(f"负面指向他方：{t} 所在部分无负面、无话题词")
                continue
            # …or when the gloom is the market's (APP用着还行，就是今天大盘太惨了)
            market = rules.market_gloom_elsewhere(masked_text, clauses)
            if market and not own and clear and not in_sentence:
                why.append(f"负面指向大盘/行情：{t} 所在分句无负面")
                continue
            # a clause of ours that only reports a routine share-price move (股价下跌2%) is market data
            neg_clauses = [
                c for c in clauses if sent.get(c, 0.0) >= th or doc.get(c, 0.0) >= DOC_CLAUSE_NEGATIVE
            ]
            if (
                neg_clauses
                and all(rules.routine_price_move(masked_text[c[0] : c[1]]) for c in neg_clauses)
                and not reading.attributed(rules.ALL_KEYWORDS)
                and (w.residual_neg is None or w.residual_neg < th)
                and float(w.doc_scores[0] if w.doc_scores else 0.0) < DOC_CLAUSE_NEGATIVE
            ):
                why.append(f"股价涨跌属行情信息：{t} 不作负面")
                continue
            # a post in the firm's own bar that talks of trading (主力流出，明天还要跌): the trader's mood
            if (
                t == w.declared
                and rules.trading_talk(masked_text)
                and not reading.attributed(rules.ALL_KEYWORDS)
            ):
                why.append(f"行情/交易讨论：{t} 不作负面")
                continue
            # a post saying its news is not about us (与本公司无关, 罚的是隔壁那家): only a negative clause
            # of ours outside those sentences, or a topic word about us, keeps us negative
            if reading.disowned and rules.disowns_for(reading, w.mentions, t):
                outside = [c for c in clauses if not any(a <= c[0] < b for a, b in reading.disowned_at)]
                if not any(own_clause_negative(c) for c in outside) and not reading.attributed(
                    rules.ALL_KEYWORDS
                ):
                    why.append(f"说明与本司无关（“{reading.disowned[0]}”）：{t} 不作负面")
                    continue
            rest_negative = w.residual_neg is not None and w.residual_neg >= th
            if negated and not own and not rest_negative and not reading.attributed(rules.ALL_KEYWORDS):
                why.append(f"负面说法被否定：{t}（余下内容无负面）")
                continue
            kept.append(t)
        return kept, why

    def _context_complaints(
        self,
        w: _Work,
        reading: rules.Reading,
        targets: list[str],
        negative_targets: list[str],
        negative: bool = False,
    ) -> tuple[list[str], list[str], str | None]:
        """Negative targets with those a complaint or misconduct predicate about them adds, why, and the
        topic it is filed under when no topic word decides.

        What a client says the firm did to them (乱收费, 被强平, 没人管, 拉黑, 误导销售), what its staff did or
        said (抄袭, 你们这些韭菜) and a complaint lodged against it (投诉X) count against it whatever the
        post's sentiment reads: the sentiment model weighs words, many of these read calm or upbeat. A
        short post that opens with our name, names no one else and reads negative is negative about us
        (the entity model, trained on news, often misses who a two-line complaint is about).
        """
        found = [
            c
            for c in rules.complaints(reading, w.mentions)
            if (c.entity or self._target_at(w, targets, c.at)) is not None
        ]
        if not found:
            lone = [t for t in targets if t not in negative_targets]
            # …and the news-negativity model finds its head negative at all (spam with a name in it is not)
            head_neg = float(w.doc_scores[0]) if w.doc_scores else None
            if (
                negative
                and len(targets) == 1
                and lone
                and not w.declared
                and not any(m.role == EXCLUDED for m in w.mentions)
                and (head_neg is None or head_neg >= SHORT_POST_HEAD_NEGATIVE)
                and rules.short_post_about_us(reading)
            ):
                return [*negative_targets, lone[0]], [f"短帖只提及本司且负面：负面指向{lone[0]}"], None
            return negative_targets, [], None
        kept = list(negative_targets)
        who = found[0].entity or self._target_at(w, targets, found[0].at)
        why = []
        if who is not None and who not in kept:
            kept.append(who)
            why.append("投诉/不当行为指向本司：" + "、".join(f"“{c.phrase}”" for c in found[:3]))
        order = {t: i for i, t in enumerate(PRIORITY)}
        topic = min((c.topic for c in found), key=lambda t: order.get(t, len(order)))
        return kept, why, topic

    def _target_at(self, w: _Work, targets: list[str], at: int) -> str | None:
        """The target a predicate at ``at`` is about (``nlp.context_rules.subject_at``)."""
        if not targets:
            return None
        one = len(targets) == 1
        return rules.subject_at(
            w.text, w.mentions, at, default=targets[0] if one else None, clause_only=not one
        )

    def _model_target_probs(self, w: _Work, p_neg: float) -> dict[str, float] | None:
        """P(negative about it) per target from the entity model; None without the model."""
        if self.target_model is None or not w.doc_scores:
            return None
        cands = group_candidates(w.mentions, w.of_mention)
        title = str(w.post.get("title") or "").strip()
        clause_neg = {
            span: float(p[self._neg]) for span, p in zip(w.clauses, w.clause_probs or (), strict=False)
        }
        clause_doc = dict(zip(w.clauses, w.doc_scores[1:], strict=False))
        # a post's own candidate list (``watch``): the names it does not mention are candidates too,
        # as in training (they count for is_sub/has_sub and the number of candidates)
        found = {c.name for c in cands}
        unseen = [n for n in w.watchlist.names if n not in found] if w.post.get("watch") is not None else []
        rows = targets_mod.features(
            w.text, len(title), cands, clause_neg, clause_doc, p_neg, w.doc_scores[0], extra_names=unseen
        )
        scores = self.target_model.score(rows)
        out = {c.name: float(v) for c, v in zip(cands, scores, strict=True) if not c.lookalike}
        a = self.blend.get("entity_model_weight")
        if w.encoded is not None and a is not None:  # the encoder's reading of each target it saw
            out = {n: a * v + (1 - a) * w.encoded.negative_about.get(n, v) for n, v in out.items()}
        return out

    def _clause_evidence(self, w: _Work) -> tuple[dict[str, float], set[str]]:
        """The most negative sentiment of each target's own clauses, and targets whose clauses are calm while a clause
        naming only a look-alike reads negative (华鼎证券一切正常，华鼎银行太差了): the entity model
        weighs the whole post, these clause facts overrule it in both directions."""
        th = self.thresholds.negative_threshold
        sent = {span: float(p[self._neg]) for span, p in zip(w.clauses, w.clause_probs or (), strict=False)}
        doc = dict(zip(w.clauses, (w.doc_scores or [0.0])[1:], strict=False))

        def neg(c: tuple[int, int] | None) -> bool:
            return c is not None and (sent.get(c, 0.0) >= th or doc.get(c, 0.0) >= DOC_CLAUSE_NEGATIVE)

        own: dict[str, set[tuple[int, int]]] = {}
        alike: set[tuple[int, int]] = set()
        named: dict[tuple[int, int], set[str]] = {}  # who each clause names
        for m, c in zip(w.mentions, w.of_mention, strict=True):
            if c is not None:
                named.setdefault(c, set()).add(m.entity)
            if m.role == EXCLUDED:
                if c is not None:
                    alike.add(c)
            else:
                own.setdefault(m.entity, set())
                if c is not None:
                    own[m.entity].add(c)
        ours = set().union(*own.values()) if own else set()
        elsewhere = any(neg(c) for c in alike - ours)
        # a negative clause speaks against the target only where it names no one else (新闻里「A与B合作的
        # 平台逾期」 names both; which one it is about is the entity model's call)
        own_neg = {
            t: max((sent.get(c, 0.0) for c in cs if named.get(c) == {t}), default=0.0)
            for t, cs in own.items()
        }
        calm = {t for t, cs in own.items() if elsewhere and cs and not any(neg(c) for c in cs)}
        return own_neg, calm

    def _rule_negative_targets(self, w: _Work, negative: bool) -> tuple[list[str], bool]:
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

    # -- the firm's own layer ---------------------------------------------------------------------

    def _with_feedback(self, work: list[_Work], out: list[dict]) -> list[dict]:
        """The firm's layer (``nlp.feedback``, fit on its officers' verdicts by ``yuqing learn``) looks at
        the posts it wants (the flagged ones) with the scores the analysis computed, and may lower a flag;
        the reasons then say so. The one place where it acts; without a layer the analysis is as it is."""
        hook = self.feedback
        if hook is None:
            return out
        items = [
            FeedbackInput(
                post=w.post,
                text=w.text,
                analysis=res,
                rumor_score=w.rumor_score,
                head_negativity=w.doc_scores[0] if w.doc_scores else None,
                target_probs=self._model_target_probs(w, p_negative(res)) or {},
                authority=self._authority(w.post),
            )
            for w, res in zip(work, out, strict=True)
            if hook.wants(res)
        ]
        if items:
            hook.apply(items)
        return out


def _rescue_input(w: _Work) -> str:
    """What the rescue model reads of a post: its head, every watched name put as its placeholder."""
    head = 2 * rescue_mod.MAX_CHARS  # the model reads the head only (names put as placeholders)
    near = [m for m in w.mentions if m.end <= head]
    return rescue_mod.normalize(w.text[:head], near, w.watchlist)


def _encoder(encoder: str | DeskEncoder | None) -> DeskEncoder | None:
    if encoder is None or not isinstance(encoder, str):
        return encoder
    from nlp.encoder import load_encoder

    return load_encoder(encoder)


def _rescale(score: float, cut: float, threshold: float) -> float:
    """Map a blended score so that its own decision threshold ``cut`` lands on ``threshold`` (the one the
    falsity detector applies), monotonically: the same decisions, one knob in [risk]."""
    if cut <= 0.0 or cut >= 1.0:
        return score
    if score < cut:
        return score / cut * threshold
    return threshold + (score - cut) / (1.0 - cut) * (1.0 - threshold)


__all__ = ["ANALYSIS_FIELDS", "LABELS", "Analyzer", "post_text"]
