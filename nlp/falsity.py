"""Falsity (不实) cues: the obvious words rumors travel with.

A duty officer sees exactly which cue fired (``不实线索：“网传”``). Each cue has a weight; several cues
combine as independent evidence (``1 - Π(1 - w)``). Two more kinds of evidence join them when the
analyzer has them (``nlp.rumor``):

- the rumor model's score above 0.5 counts as one more cue (weight 0 at 0.5, ``MODEL_CUE_WEIGHT`` at 1),
  and alone calls a post a
  rumor only at ``model_threshold`` or above (it was trained on general Weibo rumors: a topic's
  vocabulary moves it, so by itself it must be very sure);
- a match in the firm's rumor register (a repeat of a claim the firm has already refuted) is a rumor
  whatever the cues, and the reason names the claim and links the clarification.

A post that denies (辟谣, 澄清 …) repeats the rumor's words but is not a rumor: its score is damped by
``DEBUNK_FACTOR`` whatever the evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# cue -> weight (how strongly it alone suggests an unverified claim)
RUMOR_CUES: dict[str, float] = {
    # hearsay
    "网传": 0.6,
    "据传": 0.6,
    "传言": 0.6,
    "传闻": 0.55,
    "谣传": 0.6,
    "听说": 0.45,
    "据说": 0.45,
    "有消息称": 0.45,
    "有网友称": 0.45,
    "网友爆料": 0.6,
    "爆料": 0.5,
    "内部消息": 0.6,
    "内部人士透露": 0.55,
    "小道消息": 0.65,
    "知情人士": 0.35,
    "疑似": 0.4,
    "求证": 0.55,
    "是真的吗": 0.5,
    "真的假的": 0.5,
    "未经证实": 0.55,
    # hearsay of the chat-group kind (群里都在传, 圈内消息, 有朋友在那上班说)
    "都在传": 0.55,
    "群里传": 0.5,
    "在传": 0.45,
    "圈内消息": 0.6,
    "内部人士": 0.5,
    "内部的人说": 0.5,
    "听朋友说": 0.5,
    "朋友说": 0.4,
    "有朋友在": 0.4,
    "有人说": 0.35,
    "小道": 0.5,
    "内部通知": 0.45,
    "真的要": 0.3,
    # spreading calls and sensational hooks
    "震惊": 0.45,
    "紧急扩散": 0.7,
    "扩散": 0.4,
    "速转": 0.65,
    "转疯了": 0.55,
    "紧急通知": 0.4,
    "赶紧转": 0.6,
    "不转不是": 0.7,
    "转发求证": 0.7,
}
# the claims a rumor about a firm makes: alone they are a report of trouble (news makes them too), beside
# hearsay a rumor
CLAIM_CUE_WEIGHTS: dict[str, float] = {
    # the usual claims about a firm
    "被带走": 0.4,
    "跑路": 0.45,
    "暴雷": 0.4,
    "爆雷": 0.4,
    "倒闭": 0.4,
    "破产": 0.3,
    "要黄了": 0.5,
    "资金链断裂": 0.4,
    "挤兑": 0.4,
    # corporate trouble a rumor usually claims: weak alone (news reports it too), hearsay makes it one
    "出事": 0.4,
    "没露面": 0.35,
    "裁员": 0.25,
    "降薪": 0.25,
    "收购": 0.25,
    "合并": 0.25,
    "撤并": 0.25,
    "被接管": 0.35,
    "卷款": 0.4,
    "停业": 0.25,
    "暂停两融": 0.3,
    "暂停融资融券": 0.3,
    "暂停新开户": 0.3,
}
RUMOR_CUES.update(CLAIM_CUE_WEIGHTS)
CLAIM_CUES = frozenset(CLAIM_CUE_WEIGHTS)  # the cue words that are claims, not hearsay

# hearsay and the claims it carries, as phrases rather than fixed words (听业内朋友说, 有消息说, 坊间盛传,
# 裁三成人, 亏了几十亿, 流动性紧张): (pattern, weight). The reason names the words that matched.
_CL = r"[^，。！？!?；;\n]"  # within one clause
RUMOR_PATTERNS: tuple[tuple[str, float], ...] = (
    # someone heard it from someone: 听(业内/一个在那上班的)朋友说, 据(内部)人士透露, 有(个)同事说
    (
        rf"听{_CL}{{0,8}}?(?:朋友|同事|同行|人士|的人|员工|老乡|亲戚|领导|哥们|消息)(?:们)?{_CL}{{0,2}}?(?:说|讲|讲的|透露|爆料)",
        0.5,
    ),
    (
        rf"(?:有|据)(?:个|位|一个|一位)?{_CL}{{0,4}}?(?:消息|人士|朋友|同事|知情人|员工|内部人|业内人)(?:们)?(?:说|称|讲|透露|爆料|传)",
        0.45,
    ),
    (
        r"听群里(?:的人)?说|群里有人说|听闻|风传|盛传|疯传|哄传|坊间(?:传|流传|消息|都在)|江湖传(?:言|闻)|圈(?:里|内)(?:都在)?传|业内(?:都在)?传|(?:群里|圈里|朋友圈)(?:都|有人)?在(?:说|传)|传得(?:沸沸扬扬|很凶|满天飞)",
        0.55,
    ),
    (
        r"不知(?:道)?(?:真假|是真是假|是否属实|真的假的|是不是真的)|是真是假|有没有(?:懂|知道)的(?:朋友|人|兄弟)?|有知道(?:内情|的)",
        0.45,
    ),
    (
        r"(?:业内|圈内|内部|小道|可靠|独家|坊间)消息|(?:有待|尚待|待|尚未|未获|没有)(?:证实|核实|确认|官方证实)",
        0.5,
    ),
    (r"仅供参考|信不信由你|懂的都懂|你懂的|据说是", 0.2),
    # a tip passed on as sure (刚收到的消息, 消息保真)
    (r"(?:刚|刚刚)?收到(?:的)?(?:内部|可靠)?消息|消息(?:保真|可靠|绝对可靠)|保真|千真万确", 0.45),
    # others say so (好几个客户说…), or the claim is asked (卷款跑路？)
    (
        r"(?:好几个|几个|很多|不少|有些|有的|有)(?:客户|网友|股民|投资者|人|同事|朋友)(?:都)?(?:说|称|反映|在说|在传)",
        0.35,
    ),
    (r"(?:跑路|暴雷|爆雷|倒闭|被查|被带走|卷款|出事|被抓|失联)(?:了)?[？?]", 0.4),
    (
        r"是不是(?:出事|被查|被抓|被带走|跑路|暴雷|爆雷|要倒闭|出问题|有问题)了?|(?:要|将)被[^，。！？\n]{0,6}(?:收购|合并|接管|重组)了?[？?]",
        0.45,
    ),
    (r"(?:网上|网络|群里|朋友圈|圈里)(?:上)?(?:流传|疯传|传出|曝出|在传)", 0.55),
)
# the claims a rumor about a firm usually makes: they count only beside hearsay (news reports them too,
# and two of them together are a report of trouble, not a rumor)
CLAIM_PATTERNS: tuple[tuple[str, float], ...] = (
    (
        r"裁(?:员|掉|人)|裁[一二三四五六七八九十几半两][成半]|(?:降|砍|减)薪|(?:工资|奖金|年终奖)(?:发不出|停发|缓发|腰斩)|欠薪",
        0.25,
    ),
    (
        r"亏(?:了|损|掉)?(?:超过|超|逾|近|了)?[0-9一二三四五六七八九十百千几数两]+[多余]?亿|流动性(?:紧张|危机|枯竭|告急|出(?:了)?问题)|资金(?:链)?(?:紧张|断裂|告急)|(?:紧急|被迫)?(?:发债)?补血|爆仓|穿仓",
        0.3,
    ),
    (
        r"(?:换|撤)(?:掉)?(?:总裁|董事长|帅|总经理|一把手)|(?:总裁|董事长|总经理|一把手)[^，。！？\n]{0,6}(?:交接|换人|下课|走人)|被(?:约谈|立案|调查|查|留置|双开|控制)",
        0.3,
    ),
    (r"(?:要|将|会)(?:被)?(?:合并|吸收|收购|重组|接管|托管|停业|撤销|摘牌|退市)", 0.3),
    (
        r"(?:关闭|撤销|撤并|裁撤)[^，。！？\n]{0,6}营业部|[一二三四五六七八九十几两0-9]+天没(?:来上班|露面|出现)",
        0.3,
    ),
    (r"踩(?:了)?[^，。！？\n]{0,10}雷|(?:要|会|快|就要)(?:爆出来|爆雷|暴雷|出事)", 0.3),
)
_RUMOR_PATTERNS = tuple((re.compile(p), w) for p, w in RUMOR_PATTERNS)
_CLAIM_PATTERNS = tuple((re.compile(p), w) for p, w in CLAIM_PATTERNS)

# a cue's characters that belong to other words: (characters before it, characters after it) that make it
# so (要求证券公司 is 要求 + 证券, not 求证; 在传统业务 is not 在传; 根据说明 is not 据说, 据说明年 is)
NOT_A_CUE: dict[str, tuple[str, str]] = {
    "求证": ("", "券监件书照明"),
    "在传": ("", "统达输递承媒真导染授"),
    "据说": ("根依数证", ""),
}


def cue_in(cue: str, text: str) -> bool:
    """``cue`` occurs in ``text`` as itself, not inside another word (``NOT_A_CUE``)."""
    before, after = NOT_A_CUE.get(cue, ("", ""))
    if not before and not after:
        return cue in text
    i = text.find(cue)
    while i >= 0:
        j = i + len(cue)
        if not (i > 0 and text[i - 1] in before) and not (j < len(text) and text[j] in after):
            return True
        i = text.find(cue, i + 1)
    return False


# words of a denial: a post that clarifies or debunks repeats the rumor's words but is not a rumor
DEBUNK_CUES: tuple[str, ...] = (
    "澄清",
    "辟谣",
    "纯属谣言",
    "系谣言",
    "均为谣言",
    "不实信息",
    "消息不实",
    "传闻不实",
    "并不属实",
    "严正声明",
    "郑重声明",
    "正常履职",
)
# 已报警 / 追究法律责任 are not denials by themselves: a firm reports a real data leak to the police too
# (nlp.context_rules.denial_in reads a clarification from its denial)
DEBUNK_FACTOR = 0.25
SPREAD_CUE_WEIGHT = 0.3  # reposting hearsay is spreading it (转发扩散)
MODEL_CUE_WEIGHT = 0.5  # weight of the rumor model as one more independent cue, when it is sure (score 1)
REGISTER_SCORE = 0.95
DEFAULT_MODEL_THRESHOLD = 0.5  # the rumor model's classifier threshold (nlp/models/README.md)


@dataclass(frozen=True)
class FalsityResult:
    label: str  # rumor | none
    score: float
    cues: tuple[str, ...]
    debunk: tuple[str, ...] = ()
    model_score: float | None = None
    register_match: Any = None  # nlp.rumor.RegisterMatch when the post repeats a registered claim
    model_threshold: float = DEFAULT_MODEL_THRESHOLD

    def as_dict(self) -> dict:
        return {"label": self.label, "score": self.score}

    def reasons(self) -> list[str]:
        if self.debunk:
            out = [f"辟谣/澄清：“{'、'.join(self.debunk)}”（复述传言，本身不是谣言）"]
            if self.register_match is not None:
                out.append(f"对应已登记传言：“{self.register_match.entry.claim[:40]}”")
            return out
        out = []
        if self.register_match is not None:
            out.append(self.register_match.reason())
        out.extend(f"不实线索：“{c}”" for c in self.cues)
        if self.model_score is not None and self.model_score >= 0.5:
            sure = "（单独即可判定）" if self.model_score >= self.model_threshold else ""
            out.append(f"谣言模型 {self.model_score:.2f}{sure}")
        return out


class FalsityDetector:
    """Cue-word falsity detector. ``threshold`` mirrors ``RiskConfig.rumor_threshold``."""

    def __init__(
        self,
        cues: dict[str, float] | None = None,
        *,
        threshold: float = 0.5,
        model_threshold: float = DEFAULT_MODEL_THRESHOLD,
    ) -> None:
        self.cues = dict(RUMOR_CUES if cues is None else cues)
        self.patterns = _RUMOR_PATTERNS if cues is None else ()
        self.claims = _CLAIM_PATTERNS if cues is None else ()
        # longer cues first, so 转发求证 is reported instead of 求证 (the shorter one is then skipped)
        self._ordered = sorted(self.cues, key=len, reverse=True)
        self.threshold = threshold
        self.model_threshold = model_threshold

    def check(
        self,
        text: str,
        *,
        model_score: float | None = None,
        register: Any = None,
        denial: bool | None = None,
        spread: str = "",
    ) -> FalsityResult:
        """``model_score``: the rumor model's P(rumor) for this text; ``register``: a RumorRegister;
        ``denial``: whether the post denies the claim (None: by the denial cue words; False: it does not,
        e.g. it doubts the denial); ``spread``: a cue of spreading the analyzer saw outside the words
        (a repost of hearsay), weighed as ``SPREAD_CUE_WEIGHT`` once there is other evidence."""
        if not text:
            return FalsityResult("none", 0.0, ())
        hits: list[str] = []
        for cue in self._ordered:
            if cue_in(cue, text) and not any(cue in h for h in hits):
                hits.append(cue)
        p_none = 1.0
        for cue in hits:
            p_none *= 1.0 - self.cues[cue]
        for pattern, weight in self.patterns:  # a phrase counts once, and not again inside a cue word
            phrase = pattern.search(text)
            if phrase is not None and not any(
                phrase.group(0) in h for h in hits
            ):  # 是不是出事了 adds to 出事
                hits.append(phrase.group(0))
                p_none *= 1.0 - weight
        hearsay = [h for h in hits if h not in CLAIM_CUES]
        if hearsay:  # what the hearsay claims (裁三成, 亏了几十亿, 换总裁) makes it a rumor
            for pattern, weight in self.claims:
                phrase = pattern.search(text)
                if phrase is not None and not any(phrase.group(0) in h or h in phrase.group(0) for h in hits):
                    hits.append(phrase.group(0))
                    p_none *= 1.0 - weight
        if spread and hits:
            p_none *= 1.0 - SPREAD_CUE_WEIGHT
            hits.append(spread)
        m = None if model_score is None else min(1.0, max(0.0, float(model_score)))
        if m is not None and m > 0.5:  # below 0.5 the model says "not a rumor": no evidence either way
            p_none *= 1.0 - MODEL_CUE_WEIGHT * (m - 0.5) * 2
        score = 1.0 - p_none
        sure_model = m is not None and m >= self.model_threshold
        if sure_model:
            score = max(score, m)  # type: ignore[type-var]
        found = register.match(text) if register is not None and len(register) else None
        if found is not None:
            score = max(score, REGISTER_SCORE)
        # claims alone (卷款, 跑路) are what a report of trouble says too: a rumor needs someone to have
        # heard it, the model or the register
        evidence = bool([h for h in hits if h not in CLAIM_CUES]) or sure_model or found is not None
        if not evidence and hits and m is not None and m > 0.5:
            evidence = True  # the model leans rumor and the claims agree
        debunk = tuple(c for c in DEBUNK_CUES if c in text) if evidence and denial is not False else ()
        if debunk:
            score *= DEBUNK_FACTOR
        score = round(score, 4)
        label = "rumor" if evidence and score >= self.threshold else "none"
        hits.sort(key=lambda c: text.find(c) if c in text else len(text))
        return FalsityResult(
            label,
            score,
            tuple(hits),
            debunk,
            model_score=None if m is None else round(m, 4),
            register_match=found,
            model_threshold=self.model_threshold,
        )


_default = FalsityDetector()


def detect(text: str) -> dict:
    """``{"label": "rumor"|"none", "score": f, "reasons": [...]}`` with the default cues and threshold."""
    r = _default.check(text)
    return {**r.as_dict(), "reasons": r.reasons()}
