"""The desk's context: rules a duty officer can read in the reasons.

The models say how negative a post is and about whom; these rules say what the words are doing, the
way a duty officer reads them before opening an alert. Each rule is a general linguistic or
structural rule (no firm's names in it) and each leaves a short Chinese reason:

- **Repost chains** (:func:`unwrap_repost`): a Weibo repost whose own words are only 转发微博 (or empty,
  or emoji) says what it carries: the ``//@user:`` chain and the reposted post (stored by the spider as
  ``//转发 @user：…``) are read as its text, and reposting hearsay counts as spreading it (转发扩散).
- **Look-alikes** (:func:`resolve_lookalikes`): a short name of ours followed by another organisation's
  suffix (岚X + 银行 / 科技 / 投资 / 基金 / 集团 / 区 / 市 / 县 …) or by a product-like name (X远航5号,
  X远航系列) that is not one of our own names or products is someone else. ``exclude`` entries match
  every longer name that begins with them (a look-alike's products too: put their common prefix there).
- **About the firm by source or author** (:class:`DeskContext`): every post of a source declared
  ``about_firm`` (the firm's own 股吧 bar, its stock's stream) is the firm's even unnamed, and so is every
  post of the firm's official account (:func:`is_official`: its names, ``official_accounts``, or a
  verified account named after it).
- **Negation and denial** (:func:`mask_keywords`): a topic keyword under a negation (并未被处罚,
  不存在违规担保, 未收到立案通知, 从未泄露), in a membership denial (不在整改名单中), after 否认 / 辟谣,
  or in a neutral frame (投诉渠道, 维权知识, 个人信息保护, 防范…, 不法分子冒用…) is masked: it neither
  sets the topic nor flags, and a negative-target verdict that rests on nothing else is dropped. A
  rhetorical question (这不是乱收费吗？) and a negation of something else (没有回复我的投诉) are no denial.
- **Own announcements and relayed clarifications** (:func:`statement_kind`): the firm's official posts,
  posts that relay its clarification or denial of a claim (澄清, 辟谣, 系谣言, 消息不实, 回应称…未收到),
  warnings against fraud in its name and reports of its own awareness campaigns are not alerts; they
  keep their targets, and ``nlp.events`` links them to the event of the claim they answer
  (:func:`claim_of`). A denial that is asked for (尚未澄清), negated (不是谣言) or doubted (谁信) is none.
- **Lists of many firms** (:func:`firm_count`): in a post about many firms, a firm whose own clause
  reads well (获评A类, 倒是没事) is not negative because the post is.
- **Keywords are not facts about us by themselves** (:meth:`Reading.attributed`, :meth:`Reading.firm_text`):
  a topic keyword counts against the firm only in a sentence that names it or refers back to it (a
  clause of its own, in a post that names or counts other firms or speaks of brokers in general), or
  anywhere in a short post that opens with its name. A hypothesis (如果APP宕机), a rule of what to do
  when it happens (发生系统故障须…报告), a measure getting better (投诉量下降) or a campaign word governing
  its clause (部署打击飞单、误导销售等违规行为) masks a keyword too.
- **Look-alikes beyond the watch list** (:func:`resolve_lookalikes`): the short name and any of a broad list
  of industry, organisation and place words (X重工, X药业, X置业, X湖), or a registered company name
  (X恒达商贸有限公司); a post that names us only by a bare short name and has nothing of finance in it
  (``FINANCE_CONTEXT``) is about a place, a person, a game character of that name.
- **Not about us** (:func:`disowned_spans`, :func:`disowns_for`): a sentence saying the news is someone
  else's (与本公司无关, 跟我们这票没关系, 不是一家, 别搞混了, 罚的是隔壁那家) is no part about us; its speaker
  is cleared, not the one it disowns; staff saying it to a client (客服说跟他们没关系) is buck-passing, a
  complaint. A firm whose own clause is all clear (倒是没事, 没受影响, 挺好用) is not blamed for another firm
  or for the market's gloom (:func:`market_gloom_elsewhere`); a routine share-price move
  (:func:`routine_price_move`) and trading talk in the firm's bar (:func:`trading_talk`) are market data.
- **Complaints and misconduct** (:func:`complaints`): what a client says the firm did to them (乱收费, 被强平,
  拉黑, 冻结, 没人管, 三天了还没到账, 连个电话都没有, 误导销售, 说是保本), what its staff did (抄袭, 骂客户,
  拿客户的钱炒股, 改密码), what the management did (减持, 回购一股没买), a product's hard failure (延期兑付,
  亏了三成), a complaint lodged against it (投诉X, 举报X) and a staff member's remark that belittles
  clients (你们这些韭菜, 亏钱是因为不读书, 不满意可以走人) count against the firm whatever the sentiment
  reads, unless negated (从不乱收费), in a rule (严禁代客理财), a slogan (“拒绝误导销售”), a hypothesis, a
  hearsay question, a teaching post, or done by a third party; each is about the subject of its clause
  (:func:`subject_at`). A short post that opens with our name, names no one else and reads negative is
  about us (:func:`short_post_about_us`).

The analyzer (``nlp.analyzer``) calls these around its models; ``python -m pytest tests/nlp/test_context_rules.py``
shows each rule on fresh examples.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nlp.topics import EXECUTIVE_TITLES, KEYWORDS, REGULATORS
from nlp.watchlist import EXCLUDED, PRODUCT, Entity, Mention, WatchList


def _words(s: str) -> tuple[str, ...]:
    return tuple(s.split())


# ------------------------------------------------------------------------------------------ config

MAX_RULE_CHARS = 20_000  # the rules read this much of a post (the models read less)


@dataclass(frozen=True)
class DeskContext:
    """What the rules need from the configuration (the composition root hands it over).

    ``about_firm_sources``: names of sources whose every post is about the firm (``SourceConfig.about_firm``);
    ``official_accounts``: author names of the firm's own accounts besides its own names
    (``FirmConfig.official_accounts``).
    """

    about_firm_sources: frozenset[str] = frozenset()
    official_accounts: frozenset[str] = frozenset()

    @classmethod
    def coerce(cls, value: DeskContext | Mapping | None) -> DeskContext:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        get = value.get if isinstance(value, Mapping) else (lambda k, d=None: getattr(value, k, d))
        return cls(
            about_firm_sources=frozenset(str(s) for s in get("about_firm_sources", ()) or ()),
            official_accounts=frozenset(str(s) for s in get("official_accounts", ()) or () if s),
        )


# ----------------------------------------------------------------------------------- repost chains

# the weibo spider appends the reposted post as "\n//转发 @user：text" (crawlers/spiders/weibo.py)
_RT_MARK = re.compile(r"\n?//\s*转发\s*(?:@([^：:\n]{1,40}))?\s*[：:]")
# Weibo's own chain of earlier reposters' words: "…//@user:words//@user2:words"
_CHAIN = re.compile(r"//\s*@([^:：/\s]{1,40})\s*[:：]")
# own words that say nothing: the platform default, emoji codes, punctuation
_FILLER = re.compile(r"^(?:转发微博|轉發微博|转发|转|repost|Repost|\[[^\[\]\n]{1,10}\]|[\s\W_])*$")


@dataclass(frozen=True)
class Repost:
    own: str  # the reposter's own words
    carried: tuple[tuple[str, str], ...]  # (user, words): the chain, then the reposted post
    carried_only: bool  # the own words are only 转发微博 / emoji / nothing

    @property
    def carried_from(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(u for u, _ in self.carried if u))

    @property
    def carried_text(self) -> str:
        seen: list[str] = []
        for _, words in self.carried:
            w = words.strip()
            if w and not _FILLER.match(w) and w not in seen:
                seen.append(w)
        return "\n".join(seen)


def unwrap_repost(text: str) -> Repost | None:
    """The parts of a repost, or None when ``text`` carries no repost chain."""
    if not text or "//" not in text:
        return None
    m = _RT_MARK.search(text)
    own_full, original = (text[: m.start()], (m.group(1) or "", text[m.end() :])) if m else (text, None)
    parts = _CHAIN.split(own_full)
    if original is None and len(parts) == 1:
        return None
    own = parts[0]
    carried = [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
    if original is not None:
        carried.append((original[0].strip(), original[1]))
    carried_only = bool(_FILLER.match(own))
    return Repost(own.strip(), tuple(carried), carried_only)


def reading_text(text: str) -> tuple[str, Repost | None]:
    """The text the desk reads: a repost whose own words are only 转发微博 is read as what it carries."""
    rp = unwrap_repost(text)
    if rp is None or not rp.carried_only or not rp.carried_text:
        return text, rp
    return rp.carried_text, rp


# ------------------------------------------------------------------------------------- look-alikes

# what follows a short name when the whole is another organisation or a place: banks and other financial
# firms, the usual industry words of company names (X重工, X药业, X置业 …), schools and hospitals, and
# place words (X县, X山, X湖 …). Words that also name a part of a broker (信息, 数据, 软件, 网络, 咨询,
# 财富, 国际, 资产, 研究所) are left out: 岚X信息泄露 is about the firm.
ORG_SUFFIXES = _words(
    # finance
    "农村商业银行 农商银行 农商行 村镇银行 银行 信用社 信用联社 科技 投资 基金 集团 控股 实业 信托 保险 人寿 "
    "财险 期货 资本 创投 小贷 担保 典当 租赁 保理 消费金融 财富 理财 品牌 牌 "
    # industry and trade
    "重工 轻工 机械 机电 装备 制造 精密 精工 电子 电气 电器 电力 电缆 光电 光伏 新能源 能源 燃气 水务 环保 "
    "环境 化工 化学 石化 石油 材料 新材 钢铁 铝业 铜业 有色 矿业 煤业 煤炭 建材 水泥 玻璃 陶瓷 纺织 服饰 "
    "服装 鞋业 家居 家具 家电 照明 包装 印刷 纸业 橡胶 轮胎 汽车 汽配 船舶 航空 航运 物流 快递 运输 客运 "
    "置业 地产 房产 物业 建设 建工 建筑 装饰 园林 农业 农牧 牧业 渔业 种业 茶业 酒业 乳业 食品 粮油 饮料 "
    "餐饮 超市 百货 商场 商贸 贸易 传媒 文化 影视 娱乐 游戏 动漫 体育 旅游 文旅 酒店 宾馆 药业 医药 制药 "
    "生物 医疗 医院 诊所 养老 教育 股份 "
    # shops and services a town's name is given to
    "茶楼 酒楼 饭店 饭庄 餐厅 菜馆 火锅 面馆 大酒店 酒家 茶馆 茶社 咖啡 奶茶 烘焙 蛋糕 便利店 药房 药店 大药房 "
    "商店 商行 门店 专卖店 车行 驾校 健身 美容 美发 医美 口腔 眼科 月子 家政 中介 公寓 大厦 "
    # schools, associations, firms of other trades
    "大学 学院 学校 中学 小学 幼儿园 研究院 协会 商会 基金会 俱乐部 律师事务所 会计师事务所 律所 事务所 "
    # places
    "公园 景区 古镇 广场 机场 火车站 高铁站 小区 花园 港 区 县 镇 乡 村 街道 大道 路 街 市 山 岭 峰 湖 江 河 "
    "湾 岛 寺"
)
# suffixes that also begin ordinary words: "X投资者", "X市值", "X资本金", "X担保品" are not organisations
# or places
_SUFFIX_NOT_BEFORE = {
    "投资": "者人",
    "财富": "管",  # X财富管理 may be our own wealth business
    "理财": "产经师",  # X理财产品 / 理财经理 may be ours
    "牌": "照价子",  # 牌照, 牌价, 牌子
    "市": "值场盈净销价占",
    "区": "间块域别",
    "路": "演线径演",
    "港": "股元",
    "资本": "金充",
    "担保": "品比物",
    "电子": "合签版",
    "建设": "成",
    "江": "湖",
    "街": "头",
    "山": "寨",
}
ORG_SUFFIXES = tuple(sorted(ORG_SUFFIXES, key=len, reverse=True))
# a product-like name: a short name, up to six characters, then N号 / 系列 / a product word
_PRODUCT_TAIL = re.compile(
    r"([\u4e00-\u9fff]{1,6}?)(?:[0-9０-９]{1,3}号|[一二三四五六七八九十]{1,3}号|系列|私募|基金|信托|理财|资管计划|集合计划)"
)


# what a registered name adds to the name people use (岚X证券 → 岚X证券股份有限公司): not a truncation
_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "公司", "集团股份有限公司")


def _own_names(ent: Entity) -> list[str]:
    return [n for n, _ in ent.names() if n]


@functools.lru_cache(maxsize=256)
def _short_names(ent: Entity) -> frozenset[str]:
    """Names of ``ent`` that are the beginning of a longer name of it (岚山 of 岚山证券): a short name can
    begin someone else's name too."""
    names = [n for n in (ent.name, *ent.aliases) if n and not n.isdigit()]
    return frozenset(
        n
        for n in names
        if any(o != n and o.startswith(n) and not o[len(n) :].startswith(_LEGAL_FORMS) for o in names)
    )


def _is_own(ent: Entity, stem: str) -> bool:
    """``stem`` (what follows a short name: 添利 of 岚X添利系列) begins one of ``ent``'s own names or
    products, with or without the short name in front."""
    shorts = _short_names(ent)
    for own in _own_names(ent):
        bare = [own] + [own[len(s) :] for s in shorts if own.startswith(s)]
        if any(b and b.startswith(stem) for b in bare):
            return True
    return False


# a registered company name: a short name of ours, a word, a legal form (岚X华晟贸易有限公司)
_LEGAL_TAIL = re.compile(r"([\u4e00-\u9fff]{1,8}?)(?:股份有限公司|有限责任公司|有限公司|股份公司|集团)")
# the vocabulary of a post about a broker (with the topic keywords): a bare short name (岚X) without any
# of it is a place, a person, a game character … (碧X航线的岚X), not the firm
FINANCE_CONTEXT = re.compile(
    r"证券|券商|股|基金|理财|资管|开户|开的户|销户|转户|托管|账户|交易|委托|下单|成交|APP|App|app|客户端|软件|登录|登陆|客服|"
    r"营业部|投顾|两融|融资|融券|佣金|手续费|费率|利率|产品|净值|收益|亏损|亏钱|亏了|赚钱|涨停|跌停|上涨|下跌|暴跌|"
    r"暴涨|涨幅|跌幅|持仓|仓位|平仓|建仓|开盘|收盘|大盘|盘中|尾盘|公告|年报|季报|财报|"
    r"业绩|营收|利润|分红|市值|估值|投行|保荐|承销|IPO|自营|经纪|研报|分析师|首席|董事|总裁|总经理|高管|董秘|"
    r"监管|证监|处罚|罚单|立案|调查|谣言|辟谣|澄清|投资|散户|韭菜|期货|期权|债|信托|牌照|员工|裁员|客户|资金|"
    r"[\u4e00-\u9fff]总(?=[说称表讲在的是被，,：:])|券|金融|银行|上市|退市|停牌|复牌|重组|并购|合并|收购|"
    # a stock bar's slang: 这票 (this stock), the price moving, buying and selling a position
    r"这票|个股|[天连][天日]?[涨跌]|[涨跌]了|[涨跌]破|块买|[买卖]入|卖出|抄底|割肉|套牢|被套|补仓|加仓|减仓|清仓|"
    r"追高|接盘|主力|[Kk]线|均线|破位|新低|新高|担保品|维保|强平|风险测评|适当性|打新|中签|配额|我司|总部上班|绩效|"
    # what a firm does to its staff (要裁三成人, 年终奖没了)
    r"裁员|裁[一二三四五六七八九十几半两0-9]+成|降薪|年终奖|工资|考核|末位|"
    # an account and its troubles (在X开了三年户, 系统繁忙请稍后再试, 能赎的先赎)
    r"开了[^，。！？\n]{0,4}户|系统繁忙|稍后再试|赎"
)


def resolve_lookalikes(
    text: str, mentions: Sequence[Mention], watchlist: WatchList, *, about_firm: bool = False
) -> tuple[list[Mention], list[str]]:
    """Mentions with look-alikes made ``excluded``: a short name of ours followed by another
    organisation's suffix, a product-like name or a registered company name that is not ours; an
    excluded name is widened to the longer name it begins. A post that names us only by a bare short
    name and says nothing of finance (``FINANCE_CONTEXT``) is about something else of that name, unless
    its source is declared about the firm (``about_firm``). Returns (mentions, reasons)."""
    out, reasons = _resolve(text, mentions, watchlist)
    ours = [m for m in out if m.role != EXCLUDED]
    if ours and not about_firm:
        shorts = {e.name: _short_names(e) for e in watchlist.entities}
        bare = (
            [m for m in ours if m.role != PRODUCT and m.alias in shorts[m.entity]]
            if all(m.entity in shorts for m in ours)
            else []
        )
        head = text[:MAX_RULE_CHARS]
        if (
            len(bare) == len(ours)
            and not FINANCE_CONTEXT.search(head)
            and not has_keyword(head)
            and not any(p in head for p in _product_stems(watchlist))
        ):
            alias = ours[0].alias
            # a set: ``m in bare`` was quadratic on a post naming us 50,000 times
            bare_ids = {id(m) for m in bare}
            out = [replace(m, entity=m.alias, role=EXCLUDED) if id(m) in bare_ids else m for m in out]
            reasons.append(f"简称“{alias}”无证券/金融语境：非本司（同名地名、人物等）")
    return out, list(dict.fromkeys(reasons))


_SERIES_NUMBER = re.compile(r"[0-9一二三四五六七八九十A-Za-z]+号.*$|集合资产管理计划$|系列$")


def _product_stems(watchlist: WatchList) -> frozenset[str]:
    """The words of our products that are theirs alone (稳盈 of 稳盈1号): a post that names our short name
    and one of them speaks of the firm."""
    out = set()
    for ent in watchlist.entities:
        shorts = _short_names(ent)
        for p in ent.products:
            if any(p.startswith(x) for x in shorts):
                continue
            stem = _SERIES_NUMBER.sub("", p)
            if len(stem) >= 2:
                out.add(stem)
    return frozenset(out)


_OURS_BEFORE = re.compile(r"(?:子公司|旗下|控股的|全资的|下属|孙公司)[：:“「]?$")


def _resolve(text: str, mentions: Sequence[Mention], watchlist: WatchList) -> tuple[list[Mention], list[str]]:
    ents = {e.name: e for e in watchlist.entities}
    out: list[Mention] = []
    reasons: list[str] = []
    starts = {m.start for m in mentions}
    shorts = {name: _short_names(e) for name, e in ents.items()}
    for m in mentions:
        if m.role == EXCLUDED:
            end = _widen(text, m.end)
            out.append(replace(m, end=end) if end > m.end else m)
            continue
        ent = ents.get(m.entity)
        if ent is None or m.alias not in shorts[ent.name] or m.role == PRODUCT:
            out.append(m)
            continue
        after = text[m.end : m.end + 12]
        # a name of ours right after it (岚山 + 添利1号 where 添利1号 is our product) keeps it ours, and so does
        # being called ours (X证券子公司X资本, 旗下X基金)
        if m.end in starts or _OURS_BEFORE.search(text, max(0, m.start - 8), m.start):
            out.append(m)
            continue
        longer = _org_after(after)
        stem, why = longer, "机构或地名"
        if longer is None:
            pm = _PRODUCT_TAIL.match(after)
            if pm and not any(c in _NOT_IN_NAME for c in pm.group(1)):
                longer, stem, why = pm.group(0), pm.group(1), "他方产品"
        if longer is None:
            lm = _LEGAL_TAIL.match(text, m.end, m.end + 16)
            if lm:
                longer, stem, why = lm.group(0), lm.group(1), "他方公司"
        if longer is None:
            # 澄X源投资, 苍X长青投资: a word between the short name and the suffix
            infix = _infix_org(after)
            if infix is not None:
                longer, stem, why = infix[0] + infix[1], infix[0], "机构或地名"
        if longer is None or stem is None or _is_own(ent, stem):
            out.append(m)
            continue
        name = m.alias + longer
        out.append(Mention(name, name, m.start, m.end + len(longer), EXCLUDED))
        reasons.append(f"相似名称（规则）：“{name}”是{why}，非本司")
    return out, reasons


_ORG_SUFFIX_AT = re.compile("|".join(re.escape(x) for x in ORG_SUFFIXES))  # longest first
# characters that make the "word" a sentence instead (华X今天投资了, 华X也投资, 华X的基金): not a name
_NOT_INFIX = frozenset(
    "的和与及等在是被对向给了有从把将于为由以其该本我这那某各今明昨又还都再也去来要会能就才刚已正"
)


def _infix_org(after: str) -> tuple[str, str] | None:
    """(word, suffix): a one- or two-character word, then an organisation suffix of two characters or more
    (源 + 投资, 长青 + 投资) as :func:`_org_after` reads it; None when ``after`` does not begin so."""
    for k in (1, 2):
        word = after[:k]
        if len(word) < k or not all("\u4e00" <= c <= "\u9fff" and c not in _NOT_INFIX for c in word):
            return None
        suffix = _org_after(after[k:])
        if suffix is not None and len(suffix) >= 2:
            return word, suffix
    return None


def _org_after(after: str) -> str | None:
    if after[:2] in ("”牌", "」牌", '"牌'):  # “泰和”牌电饭煲: a brand of that name
        return after[:2]
    m = _ORG_SUFFIX_AT.match(after)
    if m is None:
        return None
    suf = m.group(0)
    nxt = after[len(suf) : len(suf) + 1]
    if nxt and nxt in _SUFFIX_NOT_BEFORE.get(suf, ""):
        return None
    return suf


def _widen(text: str, end: int) -> int:
    """The end of a look-alike's longer name: its product (…5号) or organisation suffix right after it."""
    after = text[end : end + 12]
    pm = _PRODUCT_TAIL.match(after)
    if pm and len(pm.group(1)) <= 4:
        return end + len(pm.group(0))
    m = re.match(r"(?:[0-9０-９]{1,3}号|系列)", after)
    return end + len(m.group(0)) if m else end


# ------------------------------------------------------------------------------ sentences, firms

_SENTENCE = re.compile(r"[^。！？!?；;\n]+")
_CLAUSE = re.compile(r"[^。！？!?；;，,…\n]+")  # an ellipsis ends a clause too (…名单……倒是X一张都没吃)
# other organisations: a name and a financial institution's suffix (东岳证券, 临川银行); the two
# characters before the suffix stand for the name (most short names have two)
_ORG_SUFFIX = re.compile(
    r"(?<=[\u4e00-\u9fff]{2})(证券|银行|基金|期货|信托|保险|资管)(?!交易所|时报|日报|报|业|市场|账户|投资者|从业)"
)
_GENERIC_HEAD = frozenset(
    _words(
        "中国 上海 深圳 北京 商业 中央 人民 国有 城商 农商 地方 外资 中小 头部 各家 多家 这家 那家 其他 部分 一些 "
        "两家 几家 哪家 大型 小型 上市 民营 合资 私募 公募 网络 数字 投资 开发 政策 储蓄 区域 全国 境外 境内 海外 "
        "国内 外国 主要 知名 龙头 这些 那些 同业 融资 理财 自营 券商 买入 卖出 持有 购买 关注 减持 增持 旗下 "
        "子公司 母公司 我们 他们 一家 某家 本家 相关 有关 系统 行业 其它 资产 财富 公司 本司 我司 该司 咱们 "
        "这票 部门"
    )
)
_FUNCTION_CHARS = set("的和与及等在是被对向给了有从把将于为由以其该本我这那某各")
_VERB_BEFORE_OBJECT = set("推买卖荐选换赎购投配炒看")
# characters that end a name rather than stand in one (洛溪基金【又有】基金经理离职: no product 又有基金)
_NOT_IN_NAME = _FUNCTION_CHARS | set("又也还都就再才")
# a count of firms: 五家券商, 二十余家券商, 一共29家
_COUNT = re.compile(
    r"([0-9]{1,3}|[一二三四五六七八九十两百]{1,4})余?家(券商|证券公司|机构|公司|银行|基金公司|上市公司|期货公司)?"
)
_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# an enumeration of short names that says it is a list: 东岳、临川、北辰等 / ……
_ENUM = re.compile(r"(?:[\u4e00-\u9fff]{2,4}、){2,40}[\u4e00-\u9fff]{2,4}(?=等|…|\.\.\.|一共|共计)")


def _cn_number(s: str) -> int:
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    total, cur = 0, 0
    for ch in s:
        if ch in _CN_NUM:
            cur = _CN_NUM[ch]
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        elif ch == "百":
            total += (cur or 1) * 100
            cur = 0
    return total + cur


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def other_orgs(text: str, mentions: Sequence[Mention]) -> list[str]:
    """Names of financial institutions the text names besides ours (look-alikes count as others)."""
    text = text[:MAX_RULE_CHARS]
    covered = bytearray(len(text) + 1)  # characters inside one of our names
    for m in mentions:
        if m.role != EXCLUDED and m.start < len(text):
            covered[m.start : m.end] = b"\x01" * (min(m.end, len(text)) - m.start)
    out: list[str] = []
    for m in _ORG_SUFFIX.finditer(text):
        s, e = m.start() - 2, m.end()
        head = text[s : m.start()]
        if any(covered[s:e]) or head in _GENERIC_HEAD or set(head) & _FUNCTION_CHARS:
            continue
        if head[-1:] in _VERB_BEFORE_OBJECT:  # 推基金, 买信托: the product is an object, not a name
            continue
        out.append(head + m.group(1))
    out.extend(m.entity for m in mentions if m.role == EXCLUDED)
    return list(dict.fromkeys(out))


def firm_count(text: str, mentions: Sequence[Mention], others: Sequence[str] | None = None) -> int:
    """How many firms the post is about at least: named institutions (ours count once), a count
    (五家券商, 29家), an enumeration of names (东岳、临川、北辰). ``others``: ``other_orgs`` when known."""
    others = other_orgs(text, mentions) if others is None else others
    named = len(others) + (1 if any(m.role != EXCLUDED for m in mentions) else 0)
    counted = 0
    for m in _COUNT.finditer(text):
        # 五家券商, 十二家证券公司; a bare count only as a total (一共29家，)
        bare = text[max(0, m.start() - 2) : m.start()].endswith(("共", "总共", "共计", "合计"))
        if m.group(2) or (bare and text[m.end() : m.end() + 1] in "，,。；;、"):
            counted = max(counted, _cn_number(m.group(1)))
    enum = max((m.group(0).count("、") + 1 for m in _ENUM.finditer(text)), default=0)
    return max(named, counted, enum)


# others counted, not named (另有2家, 其余三家, 五家券商)
_OTHERS_COUNTED = re.compile(
    r"(?:另有|其余|其他|另外|其它|还有)(?:[0-9]{1,3}|[一二三四五六七八九十两几]{1,3})家|"
    r"(?:[0-9]{1,3}|[一二三四五六七八九十两几]{1,3})家(?:券商|证券公司|机构|公司|银行|期货公司)"
)
_GENERIC_SUBJECT = re.compile(
    r"(?:^|[：:，,；;。\n])(?:各|部分|多家|一些|有的|个别|中小|头部|全体|所有)?"
    r"(?:券商|证券公司|金融机构|上市公司|期货公司|基金公司)(?:均|都|应|须|需|要|发生|出现|如|若|一旦|不得|普遍)"
)
MANY_FIRMS = 4  # a post about this many firms or more (a list; a complaint comparing two rivals is not): only the firm's own clause counts


# ---------------------------------------------------------------------------- negation & frames

ALL_KEYWORDS: tuple[str, ...] = tuple(
    sorted({k for kws in KEYWORDS.values() for k in kws}, key=len, reverse=True)
)


def _keyword_re(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation, longest first: at each place the longest keyword wins, no overlaps."""
    if not keywords:
        return None
    return re.compile("|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)))


_KEYWORD_RE = _keyword_re(ALL_KEYWORDS)
_FACT_KEYWORD_RE = _keyword_re(tuple(k for k in ALL_KEYWORDS if k not in REGULATORS))
# a negator right before a keyword (light words between them) says the fact did not happen
NEGATORS = _words(
    "并不存在 不存在 并没有 并未 从未 从没 从来没有 从来没 从来不 从不 绝不 决不 没有 未曾 尚未 不涉及 不属于 "
    "并非 并无 不是 不会 未 没 无 零 免于 杜绝"
)
# words a negator may stand apart from its keyword by: 并未【被】处罚, 未收到【任何】立案通知, 未【被采取】监管措施
LIGHT = set(
    "被受到遭收接任何过出现发生涉及存在有在曾都也均再相关重大采取什么啥此类似这种因为的了一次起项其违法该"
    "具给予作开下发令"
    # the authority or kind a negated sanction names (未受到【监管部门行政】处罚, 未被【证监会】立案)
    "行政刑事监管部门机构证会局纪律自交易"
)
MAX_GAP = 6
# scope negators: everything after them in the clause is denied
SCOPE_NEGATORS = ("否认", "辟谣", "驳斥", "澄清")
# a keyword right after these is prevention or education, not a fact
NEUTRAL_BEFORE = (
    "防范",
    "谨防",
    "警惕",
    "防止",
    "预防",
    "打击",
    "识别",
    "远离",
    "严防",
    "如何",
    "怎样",
    "避免",
    "受理",
    "办结",
    "模拟",
    "按期",
    "如期",
    "兑付",
    "偿还",
    "别被",
    "不要被",
    "小心被",
    "按时",
    "足额",
)
NEUTRAL_GAP = 4  # characters a prevention word may stand before the keyword it governs
NEUTRAL_AFTER = _words(
    "知识 渠道 途径 热线 电话 方式 流程 指南 指引 意识 教育 宣传 宣讲 讲座 保护 安全 防护 培训 演练 制度 机制 "
    "办法 规定 规则 条例 管理办法 要求 标准 平台 处理机制 处理流程 处理效率 处理情况 处理工作 办结 一键 直达 通道 入口 功能 中心 "
    "计算 技术 应急 预案 演习 切换演练 应急演练 演练 后仍 后继续 后将继续  处理进度 处理时效 处理时限 处理结果 风险可控 风险总体可控 风险整体可控 风险基本可控 风险不大 风险较低 主要集中 集中在 多集中 "
    "一案予以结案 一案结案 案予以结案 一案终止调查"
)
# a default or a blow-up whose subject is an issuer just before it (恒屿地产债券违约, 城投债爆雷): not the firm's
_ISSUER_BEFORE = re.compile(r"(?:债|债券|地产|房企|城投|信托|集团|控股|平台|票据|商票)(?:的)?(?:相关)?$")
_ISSUER_KEYWORDS = frozenset(("违约", "爆雷", "暴雷", "延期兑付", "逾期", "兑付危机", "违约风险"))
# a post that opens as teaching (科普：…, 投教小课堂｜…): the trouble words it explains are no event
_TEACHING_HEAD = re.compile(
    r"^[^。！？\n]{0,8}(?:科普|投教|投资者教育|小课堂|知识点|划重点|教你|干货|指南|问答|答疑|小技巧|技巧|攻略|教程)[^。！？\n]{0,8}[：:｜|丨]|"
    r"^[^。！？\n]{0,20}(?:以案为鉴|以案说法|以案释法|以案示警|警示教育(?:大会|活动|会)|合规培训)"
)
_ME_VICTIM = re.compile(
    r"被骗了|骗了我|我被骗|我(?:的)?(?:账户|钱|资金|本金)|要求赔偿|我[^，。！？\n]{0,4}损失"
)
# a sentence whose wrongdoer is a third party (不法分子冒用我司名义诱导…): the firm is its victim
THIRD_PARTY = re.compile(
    r"不法分子|诈骗分子|犯罪分子|冒用|冒充|假冒|仿冒|山寨|假借|"
    r"(?:警惕|谨防|远离|当心)[^，。；！？\n]{0,3}非法(?:荐股|配资|证券|集资|期货|金融)|荐股骗局|"
    r"诈骗团伙|黑平台|杀猪盘|凡是[^，。；！？\n]{0,24}(?:诈骗|骗局)|(?:都|均|全)(?:是|为)(?:诈骗|骗局|骗子)"
)
# …unless the post is a victim's complaint
_VICTIM = re.compile(r"被骗了|骗了我|我被骗|损失了|要求赔偿|投诉|维权")
# membership denial: 不在整改名单中, 名单里没有X
NOT_LISTED = re.compile(
    r"(?:不在|没在|未在|并未在|未被列入|未列入|并未列入|未出现在|没有出现在|不包括|不含)[^，,。；;]{0,12}名单|"
    r"(?:不在|没在|并不在|并没在|未在|并未在|不属于)(?:其中|其列|此列|之列|里面|里头|这里面|名单|列(?![入举表出]))|"
    r"名单[里中上内]?[^，,。；;]{0,4}(?:没有|并无|不包括|不含|未见)|(?:本月|本季度|今年|年内)?无新增(?:罚单|处罚|监管措施)|"
    r"干干净净|(?:翻到底|翻遍)?(?:没|没有)看到"
)
# a clause that says nothing is wrong (倒是没事, 一切正常, 未受影响): not negative whatever the model says
ALL_CLEAR = re.compile(
    r"驳回[^，。！？\n]{0,12}(?:诉讼请求|起诉|上诉)|胜诉|予以结案|不予(?:行政)?处罚|终止调查|撤销立案|别慌|不用慌|不要慌|一分不少|分文不少|如期到账|按时到账|正常兑付|松(?:了)?(?:一)?口气|没事|没问题|无事|无碍|一切正常|运行正常|经营正常|正常履职|正常运营|不受影响|未受影响|安然无恙|"
    r"没受(?:到)?(?:任何)?影响|没有受到?(?:任何)?影响|没影响|丝毫未受|一切照常|照常(?:交易|运行|营业)|"
    r"(?:业务|交易|系统|运行|经营|运营|服务)(?:一切)?正常|(?:均|都|并|也)?无问题|未发现(?:任何)?(?:问题|异常)"
)
# a routine move of the share price (股价下跌2%, 收跌1.3%): market data, not news about the firm (a move of
# 5 % or more, 跌停, 闪崩 is news)
_PRICE_MOVE = re.compile(
    r"(?<!净值)(?<!产品)(?<!收益)(?<!本金)(?:下跌|跌|回落|走低|低开|下挫|收跌|上涨|涨|走高|高开|收涨)了?"
    r"([0-9０-９]+(?:\.[0-9]+)?)%"
)
ROUTINE_MOVE = 5.0


def routine_price_move(text: str) -> bool:
    """The text reports a share-price move under ``ROUTINE_MOVE`` % and nothing sharper (跌停, 闪崩, 暴跌)."""
    if re.search(r"跌停|闪崩|暴跌|崩盘|腰斩|跳水", text):
        return False
    if re.search(r"净值|产品|收益率|本金|亏", text):
        return False
    moves = [float(m.group(1)) for m in _PRICE_MOVE.finditer(text) if m.group(1).isascii()]
    return bool(moves) and max(moves) < ROUTINE_MOVE


# a clause that speaks well of its subject (用着还行, 口碑不错)
FINE = re.compile(
    r"还行|还可以|不错|挺好|很好|好用|满意|点赞|靠谱|给力|放心|口碑好|专业|耐心|挺稳|很稳|稳定|流畅|顺畅|没卡|不卡"
)
# the market as the subject of a clause (大盘太惨了, A股真是绞肉机): its mood is not about a firm
MARKET = re.compile(
    r"大盘|行情|A股|股市|板块|指数|美股|港股|沪指|深成指|创业板指|牛市|熊市|宏观经济|大环境|外围|"
    r"市场(?:行情|下跌|大跌|低迷|震荡|情绪|调整|波动|不好|太差|太惨)"
)


def market_gloom_elsewhere(text: str, clauses: Sequence[tuple[int, int]]) -> bool:
    """A clause other than ``clauses`` (ours) has the market as its subject."""
    return any(
        (MARKET.search(text, s, e) is not None or TRADING_TALK.search(text, s, e) is not None)
        and not any(a <= s < b for a, b in clauses)
        for s, e in spans(_CLAUSE, text[:MAX_RULE_CHARS])
    )


_QUESTION_END = re.compile(r"(?:吗|么|嘛|呢|是什么|是啥|不成)?\s*[？?]|(?:吗|么|嘛|是什么|是啥)\s*$")


# a hypothesis (如果APP宕机了, 一旦发生系统故障, 会不会被乱收费): what it supposes has not happened
_HYPOTHETICAL = re.compile(
    r"如果|假如|假设|若是|要是|哪天(?:真)?|倘若|倘使|万一|一旦|如遇|如发生|若发生|若出现|如出现|遇到.{0,4}时|会不会|是否会|会否|"
    r"(?:怎么|如何|怎样)(?:索赔|维权|投诉|识别|防范|应对)"
)
# a clause that uses sanctions as teaching cases (从三起罚单看…, 以…被处罚的典型案例讲解…): no event
_CASE_STUDY = re.compile(
    r"从[^，。；！？\n]{0,10}(?:罚单|案例|处罚|案件)[^，。；！？\n]{0,3}看|典型案例|案例(?:分析|讲解|警示|教学|复盘)|警示教育|"
    r"以案(?:说法|释法|为鉴|示警)|以[^，。；！？\n]{0,24}(?:案例|罚单)[^，。；！？\n]{0,4}(?:为例|讲|看|为警示|为鉴)"
)
# a rule, a campaign or a prevention word anywhere before in the clause governs its keywords (严禁…, 打击…,
# 专项整治…), unless it failed (防范不力)
_GOVERNS_CLAUSE = re.compile(
    r"(?:防范|谨防|警惕|防止|预防|打击|严防|严禁|禁止|不得|杜绝|整治|治理|规范)(?!不力|不到位|不足|失效|缺失|意识薄弱)|"
    # a drill of what it would do (灾备切换演练模拟核心系统宕机)
    r"演练|演习|模拟(?!盘|炒股|交易大赛)|"
    # a routine change of post (因工作调整辞去职务)
    r"工作调整|工作变动|工作需要|到龄|年龄原因|换届|任期届满|正常(?:人事)?调整"
)
# a rule of what to do when it happens (发生系统故障须在30分钟内报告): no fact
_RULE_AFTER = re.compile(
    r"^[^，。；！？\n]{0,6}?(?:须|必须|应当|应|需|需要|要求|不得)[^，。；！？\n]{0,12}"
    r"(?:报告|披露|处置|处理|赔偿|说明|公告|上报|通知|整改|备案)"
)
# a keyword whose measure is getting better (投诉率全辖最低, 投诉量同比下降三成)
_IMPROVING = re.compile(
    r"(?:率|量|数|件数|次数)?[^，。；！？\n]{0,8}?(?:最低|最少|下降|减少|降低|为零|为0|清零|下滑|回落|大降|持续下降|"
    r"较低|偏低|很低|低于|处于低位|出清|通过验收|验收通过|整改完毕|整改到位|满意度|办结率|解决率|化解率)"
)
# none of it at all: 一张罚单都没吃, 一次故障也没出过 (a count of one before the keyword, 都没 after it)
_ONE_BEFORE = re.compile(r"(?:一|任何|半)(?:张|次|起|个|条|笔|份|单|回|例|宗)?$")
_NONE_AFTER = re.compile(r"[^，。！？\n]{0,2}?(?:都|也|均)(?:没|没有|未|无|不)")


@dataclass
class Masked:
    text: str  # the text with masked keyword occurrences replaced by □
    negated: list[str] = field(default_factory=list)  # the phrases that negate (并未被处罚)
    neutral: list[str] = field(default_factory=list)  # keywords in a neutral frame (投诉渠道)
    masked_at: list[tuple[int, int]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # per masked_at: "neg" or "neutral"
    not_listed: list[tuple[int, int]] = field(default_factory=list)  # clauses that deny membership


_CLAUSE_END = re.compile(r"[。！？!?；;，,…\n]")
MAX_CLAUSE = 300  # a longer run without punctuation is cut here


def _clause_of(text: str, i: int) -> tuple[int, int]:
    lo = max(0, i - MAX_CLAUSE)
    s = max(text.rfind(c, lo, i) for c in "。！？!?；;，,…\n") + 1 or lo
    m = _CLAUSE_END.search(text, i, i + MAX_CLAUSE)
    e = m.start() if m else min(len(text), i + MAX_CLAUSE)
    return max(s, lo), e


def _is_question(text: str, clause_end: int) -> bool:
    tail = text[max(0, clause_end - 4) : clause_end + 2]
    return bool(_QUESTION_END.search(tail))


# a negated act with its object between (亦未对X证券采取任何【监管措施】, 没有向客户收取【违规】费用)
_NEGATED_ACT = re.compile(
    r"(?:未|没有|并未|亦未|也未|从未|均未)(?:对|向|给|就)[^，。；！？\n]{1,14}?(?:采取|作出|做出|出具|实施|下发|给予|收取)"
    r"(?:过)?(?:任何)?(?:[\u4e00-\u9fff]{0,4}?)$|"
    # 不予行政处罚, 今日无新增针对X的监管措施
    r"(?:不予|免予|无新增|未新增|没有新增|暂无)[^，。；！？\n]{0,12}?$"
)


def _negator_before(text: str, start: int, clause_start: int, masked: list[tuple[int, int]]) -> int | None:
    """Where the negator governing the keyword at ``start`` begins (light words or masked keywords
    between them), if there is one."""
    act = _NEGATED_ACT.search(text, max(clause_start, start - 30), start)
    if act is not None:
        return act.start()
    i = start
    gap = 0
    while i > clause_start and gap <= MAX_GAP:
        for neg in NEGATORS:
            if text.startswith(neg, i - len(neg)) and i - len(neg) >= clause_start:
                before = text[i - len(neg) - 1 : i - len(neg)]
                if neg in ("不是", "不会", "没有") and before == neg[-1]:  # 是不是, 会不会, 有没有 ask
                    return None
                if neg in ("没", "无") and text[i : i + 1] == "人":  # 没人管, 无人处理: nobody did it
                    return None
                return i - len(neg)
        prev = next(((s, e) for s, e in masked if e == i), None)
        if prev is not None:
            i = prev[0]
            continue
        ch = text[i - 1]
        if ch not in LIGHT:
            return None
        i -= 1
        gap += 1
    return None


def mask_keywords(text: str, keywords: Sequence[str] = ALL_KEYWORDS) -> Masked:
    """Mask the topic keywords that a negation, a denial or a neutral frame governs (in the first
    ``MAX_RULE_CHARS`` characters; the rest is returned as it is)."""
    if len(text) > MAX_RULE_CHARS:
        head = mask_keywords(text[:MAX_RULE_CHARS], keywords)
        head.text += text[MAX_RULE_CHARS:]
        return head
    pattern = _KEYWORD_RE if keywords is ALL_KEYWORDS else _keyword_re(tuple(keywords))
    hits = [(m.start(), m.end(), m.group(0)) for m in pattern.finditer(text)] if pattern else []
    out = Masked(text)
    chars = list(text)
    masked: list[tuple[int, int]] = []
    not_listed = [_clause_of(text, m.start()) for m in NOT_LISTED.finditer(text)]
    out.not_listed = not_listed
    teaching = _TEACHING_HEAD.search(text) is not None and _ME_VICTIM.search(text) is None
    third = [
        (s, e)
        for s, e in spans(_SENTENCE, text)
        if THIRD_PARTY.search(text[s:e])
        and not _VICTIM.search(text[s:e])
        and not _STAFF_IMPERSONATES.search(text[s:e])
    ]
    for s, e, kw in hits:
        cs, ce = _clause_of(text, s)
        why = None
        neg = _negator_before(text, s, cs, masked)
        scope = max((text.rfind(sc, cs, s) for sc in SCOPE_NEGATORS), default=-1)
        lead = s
        while (prev := next(((a, b) for a, b in masked if b == lead), None)) is not None:
            lead = prev[0]  # 谨防【个人信息】泄露: the frame governs a run of keywords
        # 防范【数据】泄露, 谨防【客户信息被】盗: a prevention word a few characters before the run
        window = text[max(cs, lead - NEUTRAL_GAP - 2) : lead]
        before = next((n for n in NEUTRAL_BEFORE if n in window), None)
        if before is not None and "被" in window[window.find(before) + len(before) :]:
            before = None  # 未履行身份识别义务【被】罚款: the sanction is the fact, 识别 its cause
        if before is None and (gov := _GOVERNS_CLAUSE.search(text, cs, lead)) is not None:
            before = gov.group(0)  # 部署打击误导销售、飞单等违规行为: the frame governs the clause
        after = next((n for n in NEUTRAL_AFTER if text.startswith(n, e)), None)
        hypo = _HYPOTHETICAL.search(text, cs, s)
        case = _CASE_STUDY.search(text, cs, ce) if hypo is None else None
        if neg is not None and not _is_question(text, ce):
            why = ("neg", text[neg:e])
        elif hypo is not None:
            why = ("neutral", text[hypo.start() : e][:16])
        elif case is not None:
            why = ("neutral", kw + "（" + case.group(0)[:12] + "）")
        elif _ONE_BEFORE.search(text, max(cs, s - 3), s) and _NONE_AFTER.match(text, e, ce):
            why = ("neg", text[max(cs, s - 3) : min(ce, e + 4)])
        elif (better := _IMPROVING.match(text, e)) is not None:
            why = ("neutral", kw + better.group(0))
        elif (rule := _RULE_AFTER.match(text, e, ce)) is not None:
            why = ("neutral", kw + rule.group(0)[:8])

        elif scope != -1 and not _is_question(text, ce):
            why = ("neg", text[scope:e][-16:])
        elif any(a <= s < b for a, b in not_listed):
            why = ("neg", text[cs:ce][:16])
        elif before or after:
            why = ("neutral", (before or "") + kw + (after or ""))
        elif any(a <= s < b for a, b in third):
            why = ("neutral", kw)
        elif kw in _ISSUER_KEYWORDS and _ISSUER_BEFORE.search(text, max(cs, s - 4), s):
            why = ("neutral", text[max(cs, s - 4) : e])
        elif teaching:
            why = ("neutral", "科普：" + kw)
        if why is None:
            continue
        masked.append((s, e))
        out.kinds.append(why[0])
        for k in range(s, e):
            chars[k] = "□"
        (out.negated if why[0] == "neg" else out.neutral).append(why[1].strip())
    # a claim asked about (有人说X客户数据泄露？) and then denied by the writer (公司没有泄露) is denied too
    denied = {text[a:b] for (a, b), k in zip(masked, out.kinds, strict=True) if k == "neg"}
    for s, e, kw in hits:
        if kw in denied and (s, e) not in masked:
            cs, ce = _clause_of(text, s)
            if _is_question(text, ce) or _HEARSAY_ASKS.search(text, max(0, cs - 12), s):
                masked.append((s, e))
                out.kinds.append("neg")
                for k in range(s, e):
                    chars[k] = "□"
                out.negated.append(text[cs:ce][:16])
    out.text = "".join(chars)
    out.masked_at = masked
    out.negated = list(dict.fromkeys(out.negated))
    out.neutral = list(dict.fromkeys(out.neutral))
    return out


# ---------------------------------------------------------------------- statements and relays

# a denial of a claim: 澄清, 辟谣, 系谣言, 消息不实, 否认 …
_DENIAL = re.compile(
    r"澄清|辟谣|(?:系|是|为|属|纯属|均为|都是|均系)(?:恶意|凭空|无端|蓄意)?(?:谣言|伪造|捏造|编造|谣传|造谣|误传)|"
    r"(?:网传|传闻|传言|谣言|消息|说法|报道|截图|图片|视频|帖子|文章|聊天记录|[”」』]|回应|回复|声明|公告)"
    r"(?:称)?[^，。！？\n]{0,4}?"
    r"(?:系|纯属|均系|均为|都是|是|为|完全是)[\u4e00-\u9fff]{0,6}?(?:伪造|捏造|编造|虚构|杜撰|P图|p图|合成|假的)|"
    r"与(?:本|我)?(?:公司|本司|我司)[^，。！？\n]{0,4}(?:无关|没有关系|无任何关系|没有任何关系)|"
    r"(?:公司|本司|我司)[^，。！？\n]{0,12}不存在任何?(?:业务|股权|关联|投资|合作|资金)?(?:往来|关系|关联)|"
    r"不实|不属实|否认|子虚乌有|无中生有|并无此事|没有此事|假消息|纯属虚构|已被证伪|恶意编造|凭空捏造|恶意造谣|"
    r"^更正[：:]|\n更正[：:]|"
    r"系[Pp]图|(?:是|系)(?:伪造|P|p)的|断章取义|根本不成立|并无此文件|查无此(?:文|件|事|人)|(?:与|和)(?:网传|传言|传闻)?(?:说法|报道|消息)?不符|"
    r"(?:系|是|属)[\u4e00-\u9fff]{0,3}谣言|(?:名字|公司名|名称)写错了|"
    r"没(?:有)?这(?:回)?事|压根没有|纯属瞎说|瞎传|(?:传|说)[^，。！？\n]{0,12}的?是搞(?:混|错)了|别信谣|谣言止于|臆测|别信|不可信|瞎编|胡编|胡说八道|无稽之谈|"
    r"造谣者|追究[^，。]{0,8}造谣|别(?:再)?(?:瞎传|乱传|造谣|传谣|信谣|传)|"
    # a reader's own debunk (所谓“被带走”不攻自破, 明显伪造, 去年的照片被翻出来当新闻, 跟传言无关)
    r"不攻自破|所谓[^，。！？\n]{0,12}(?:是假的|不成立)|(?:明显|显然|一看就是|一眼)(?:是)?(?:伪造|P的|p的|假的|PS的)|"
    r"编造[^。！？\n]{0,20}谣言|(?:被|又被)翻出来|旧闻|(?:跟|与|和)(?:传言|传闻|谣言)(?:无关|没关系)|"
    r"(?:传言|传闻|谣言)我(?:是)?不信|我不信(?:这种|这个|这)?(?:传言|传闻|谣言)|"
    # asked and answered no: 好几个人问我X是不是暴雷了。没有！
    r"(?:是不是|是否|有没有|会不会)[^。！？\n]{0,24}[了吗呢]?[。？?！!…]+\s*(?:没有|不是|当然没有|当然不是|并没有|没)[！!。]"
)
# …unless asked for, refused or itself denied: 尚未澄清, 要求澄清, 不是谣言, 是谣言吗
_NOT_DENIAL_BEFORE = re.compile(
    r"(?:未|没有|没|不|拒绝|尚未|迟迟|要求|请|希望|等待|何时|是否|能否|并非|绝非|不是|别|就算|即使|哪怕|即便|假如|如果|要是)$"
)
# an answer to hearsay: 针对网传……，X回应称 ……
_ANSWER = re.compile(
    r"(?:针对|对于|就|关于)[^。！？\n]{0,60}?(?:网传|传闻|传言|消息|报道|说法|质疑|猜测|有网友称|网友爆料|爆料)"
    r"[^。！？\n]{0,40}?(?:回应|回复|表示|称|公告|声明|说明|排查|核实|核查)"
)
# …that denies it: the answer negates a fact or says all is normal
_ANSWER_DENIES = re.compile(
    r"未收到|不存在|并未|并无|从未|未发生|不涉及|没有收到|没有发生|没有(?:任何|大规模)?[^，。]{0,6}计划|无此事|"
    r"一切正常|正常履职|正常经营|经营正常|运营正常|正常开展|正常运行|运行正常|系统正常|不实|谣言|不属实|依法合规|合规经营|"
    r"(?:系|为|是|属)个别(?:用户|客户|投资者)?(?:的)?(?:网络|设备|手机|操作)?(?:问题|原因)|"
    # the trouble was someone else's doing: 系仿冒APP所致, 公司系统未被攻破
    r"未被(?:攻破|入侵|攻击|盗取|窃取|泄露|篡改)|系(?:仿冒|冒用|假冒|山寨|不法分子|诈骗|钓鱼)|"
    # a routine explanation: 系正常撤并调整, 客户服务不受影响
    r"(?:系|属|为|是)(?:公司)?正常(?:的)?(?:撤并|调整|变动|轮换|换届|经营|业务|人事)|不受影响|未受影响|"
    r"(?:仿冒|假冒|山寨|钓鱼)(?:APP|app|App|网站|软件|链接|网页)所致|(?:因|系|由于)(?:用户)?本地网络|运行平稳"
)
# …unless it admits something: an apology or a sanction is no denial
_ADMITS = re.compile(r"致歉|道歉|歉意|整改|严肃处理|停职|已对.{0,8}处理|处分")
# …the doubt itself, said of the firm's denial (澄清=确认, 澄清了个寂寞, 只说不存在爆仓、没说亏多少, 越读越心虚):
# the post spreads the claim, and is against the firm (nlp.context_rules.complaints)
_DOUBT_WORDS = (
    r"(?:澄清|辟谣|公告|声明|回应)\s*[=＝]|(?:即|就是|等于|约等于)(?:确认|承认|默认)|等于(?:默认|承认)|了个寂寞|"
    r"(?:澄清|辟谣|公告|声明|回应)[^。！？\n]{0,10}(?:也)?(?:不可信|不能信|信不得|不靠谱|没用|太晚|晚了|避重就轻|含糊其辞|心虚|"
    r"更慌|更担心|不放心|一个数|没有数|不给数|没给数|不给个准)|"
    r"只说[^。！？\n]{0,16}(?:没说|不说|却不提|没提)|没说不存在|你(?:品|细品)|懂的都懂|懂得都懂|问就是谣言|"
    r"很难再信|难以信服|不买账|越读越|越看越(?:慌|怕|不对|心虚)|一个字(?:都|也)?(?:没|未|不)(?:回应|提|说)|只字(?:未|不)提|"
    r"(?:没|未)正面回应|(?:措辞|用词|写法)[^。！？\n]{0,8}(?:讲究|微妙|耐人寻味|玩味|琢磨)|没说[“\"「]?(?:没有|不存在)|心里没底|反而更|"
    r"(?:中午|上午|早上|昨天|前脚|刚)(?:还)?(?:说|辟谣|澄清)[^。！？\n]{0,16}(?:晚上|下午|后脚|今天|转头|结果)(?:就)?"
)
# doubt: the post does not simply relay the denial
_DOUBT = re.compile(
    r"不信(?!谣)|谁信|骗鬼|此地无银|欲盖弥彰|越描越黑|嘴硬|打脸|信你个鬼|先辟谣后|辟谣的都是真|"
    r"(?:辟谣|澄清|否认|谣言)[^。！？\n]{0,20}(?:但是|可是|然而|但|不过)|甩锅|推卸|撇清|撇得|" + _DOUBT_WORDS
)
# the firm runs an awareness campaign (开展“防范非法证券活动”宣传, 上线反诈专区): the scams it names are not its own
_ACTIVITY = re.compile(
    r"(?:开展|举办|举行|联合|走进|组织|启动|上线|推出|去听了?|听了|参加了?)[^。！？\n]{0,24}"
    r"(?:宣传|宣讲|讲座|投教|投资者教育|反诈|防骗|防范|风险提示|公益|合规培训|培训会)"
)
# a warning against fraud in the firm's name (in the post's head): a third party is the wrongdoer
_WARNING = re.compile(
    r"提示|提醒|警惕|谨防|防范|反诈|防骗|注意甄别|认准|小心|当心|别上当|不要相信|别信|注意辨别"
)

# the firm's researchers as the speaker, right after its name
_RESEARCH = re.compile(
    r"(?:的)?(?:首席(?:经济学家|分析师|策略师|宏观分析师)?|经济学家|(?:行业|宏观|策略|固收|债券)?分析师|研究员|研究所|"
    r"研报|研究报告|(?:宏观|策略|固收|行业|研究)团队)[\u4e00-\u9fff]{0,4}?(?:[：:]|表示|认为|指出|预计|预测|判断|建议|称)"
)
# …unless what they said is the news (言论引争议, 被罚, 致歉)
_RESEARCH_IS_NEWS = re.compile(
    r"争议|热议|众怒|炮轰|翻车|道歉|致歉|撤回|下架|删除|被查|抄袭|雷同|韭菜|不当言论|"
    # …the researcher's own sanction (分析师被出具警示函), not the sanctions the research discusses
    r"(?:分析师|首席|研究员|研究所|经济学家)[^，。！？\n]{0,10}(?:被罚|受到处罚|处罚|警示函|监管措施)"
)
# hard news a firm announces about itself: still an event to handle
_OWN_BAD_NEWS = re.compile(
    r"留置|立案|被查|接受调查|协助调查|纪律审查|监察调查|失联|行政处罚|监管措施|警示函|罚款|没收|违约|延期兑付|"
    # a measure it was ordered to take (its apology for an outage is not: the outage is reported by others,
    # the apology joins that event)
    r"责令改正|责令整改|暂停(?:新增|公司)|限制业务|"
    r"(?:信息|数据)(?:泄露|外泄)|被采取"
)
# an incident the head reports (a firm answering for a leak warns of scams too): not a mere notice
_INCIDENT = re.compile(r"泄露|外泄|违规|被盗|被攻击|故障|处罚|留置|立案")

# the firm's own notice of risks (风险提示, 反诈提醒) about scams (非法荐股, 诈骗, 骗局)
_WARNING_NOTICE = re.compile(
    r"风险提示|反诈(?:提醒|提示)|防骗(?:提醒|提示)|投资者提示|温馨提示|郑重提醒|特别提醒"
)
_SCAM = re.compile(r"非法(?:荐股|配资|证券|集资|期货|金融)|诈骗|骗局|骗子|虚假(?:APP|网站|平台)")
# impersonation of the firm, and the firm fighting it: reporting it, helping the police catch it
_IMPERSONATION = re.compile(r"冒充|冒用|仿冒|假冒|山寨|假借|冒名|李鬼|高仿")
_FIGHTS = re.compile(
    r"(?:协助|配合|联合|协同)(?:警方|公安|警察|有关部门)|主动报警|(?:已|及时|第一时间)?报警|报案|破获|打掉|捣毁|抓获|"
    r"侦破|摧毁"
)


# …not its own staff impersonating someone (员工冒充客户签字)
_STAFF_IMPERSONATES = re.compile(
    r"(?:员工|经理|营业部|工作人员|投顾|业务员)[^，。；]{0,6}(?:冒充|冒用|假冒|冒名)"
)


def _fights(head: str, names: Sequence[str]) -> re.Match[str] | None:
    """The firm, named before it in its sentence, reports or helps to catch someone (not 被客户报警)."""
    for s, e in spans(_SENTENCE, head):
        for m in _FIGHTS.finditer(head, s, e):
            if head[max(s, m.start() - 4) : m.start()].find("被") != -1:
                continue
            if any(head.find(n, s, m.start()) >= 0 for n in names):
                return m
    return None


def _FIGHT_KEYWORD_FREE(masked: Masked | None, text: str) -> str:
    """The masked text without the words a police story always has (立案侦查 of the suspects)."""
    t = masked.text if masked is not None else text
    return re.sub(
        r"(?:对|将)?(?:嫌疑人|犯罪嫌疑人|诈骗团伙|团伙|诈骗分子)[^，。；]{0,8}(?:立案|刑事拘留|逮捕)|立案侦查",
        "",
        t,
    )


_OFFICIAL_SUFFIX = ("官方微博", "官方账号", "官方", "官微", "客服", "服务号")
HEAD_SENTENCES = 3


# in the reason of every post read as the firm's own statement or a relayed denial: event clustering
# (nlp.events) links such a post to the event of the claim it answers
STATEMENT_MARK = "不另预警"
_QUOTED = re.compile(r"[“「『\"]([^”」』\"\n]{2,40})[”」』\"]")
_REPORTED = re.compile(
    r"(?:网传|传闻|传言|有消息称|有网友称|网络流传的?|网上流传的?|所谓)[的称]?"
    r"([^，,。；;！？!?“”\"【】：:\n]{4,40}?)(?=的(?:消息|传闻|信息|说法)|不实|系|纯属|是谣言|为谣言|[，,。；;！？!?“”\"【】\n]|$)"
    r"|关于([^，,。；;！？!?“”\"【】\n]{4,40}?)的(?:不实|虚假)?(?:信息|消息|传闻|传言|报道|说法)"
)


def claim_of(text: str) -> str:
    """The claim a clarification answers, from its head: the quoted words and what follows 网传 / 传闻."""
    head = _head(text)
    parts = list(_QUOTED.findall(head))
    parts += [m.group(1) or m.group(2) for m in _REPORTED.finditer(head)]
    claims = [p.strip() for p in parts if p.strip() and not _DENIAL.search(p) and "谣" not in p]
    return "，".join(dict.fromkeys(claims))


@dataclass(frozen=True)
class Statement:
    kind: str  # "own": the firm's own words; "relay": a clarification or denial relayed; "own_news": its own bad news
    cue: str
    reason: str


def is_official(
    author: str, names: Iterable[str], official_accounts: Iterable[str] = (), *, verified: bool = False
) -> bool:
    """The author is one of the firm's own accounts: its names (岚X证券, 岚X证券官方微博), a configured
    one, or (``verified``: a platform-verified account) a name that begins with one of the firm's full
    short names (岚X证券财富, 岚X证券研究所)."""
    a = (author or "").strip()
    if not a:
        return False
    if a in set(official_accounts):
        return True
    names = [n for n in names if n and len(n) >= 2 and not n.isdigit()]
    for n in names:
        if a == n or a in {n + s for s in _OFFICIAL_SUFFIX}:
            return True
    longest = max((len(n) for n in names), default=0)
    # a verified account named after the firm is the firm's (a short name alone, 岚X, is too common)
    return verified and any(a.startswith(n) and len(n) >= min(4, longest) for n in names)


def doubts(text: str) -> bool:
    """The post doubts a denial (辟谣了，但…; 谁信): it spreads the claim rather than the denial."""
    return _DOUBT.search(text) is not None


_HASHTAG = re.compile(r"#[^#\n]{1,40}#")


def _head(text: str) -> str:
    """The title and first sentences of a post, hashtags (#微博辟谣#) blanked: where it says what it is."""
    head_spans = spans(_SENTENCE, text)[:HEAD_SENTENCES]
    head = text[: head_spans[-1][1]] if head_spans else ""
    return _HASHTAG.sub(lambda m: "□" * len(m.group(0)), head)


_DENIAL_ANYWHERE = re.compile(_DENIAL.pattern + r"|正常履职|严正声明|郑重声明")


def denies(text: str) -> bool:
    """Somewhere the post denies a claim (not 未澄清, 要求澄清, 不是谣言, 是谣言吗), and does not doubt it:
    the falsity cues' damping of a denial applies only then."""
    text = text[:MAX_RULE_CHARS]
    if doubts(text):
        return False
    for m in _DENIAL_ANYWHERE.finditer(text):
        before = text[max(0, m.start() - 4) : m.start()]
        _, ce = _clause_of(text, m.start())
        if not _NOT_DENIAL_BEFORE.search(before) and not _is_question(text, ce):
            return True
    return False


# the post reports a backlash against what the firm said (引发投资者不满): it is news, not a denial
BACKLASH = re.compile(
    r"引发[^，。！？\n]{0,6}(?:不满|质疑|争议|热议|吐槽|愤怒|批评|围观)|遭(?:到)?[^，。！？\n]{0,4}(?:质疑|吐槽|炮轰|批评|痛批|怒怼)|"
    r"被(?:网友|投资者|股民)?(?:骂|喷|批)|惹怒|激起|众怒|翻车"
)
# a response that answers a claim (网传, 截图, 爆料 …) by negating it: 回应称，公司从未…
_RESPONSE = re.compile(r"回应|回复称|回复[：:]|答复[：:]|声明|公告称|称[，,：:]|经查|经核实|经排查|经核查")
_CLAIM_MARK = re.compile(
    r"回应[“「\"]|(?:那个|那条|那篇)(?:帖子|传言|消息|说法)|之前(?:有人)?说|网传|传闻|传言|截图|爆料|消息称|网友称|流传|带节奏|有人说|有人传|造谣|谣言"
)
# the firm answering investors on the exchange's platform (董秘回复：…): its own word on a question asked
_SECRETARY = re.compile(r"(?:董秘|董事会秘书|证券事务代表)(?:在互动平台上?)?(?:回复|答复|表示|回应)|互动平台")


_ASKS = re.compile(
    r"^(?:请问|求问|求助|咨询一下|想问(?:一下)?|问一下|有没有人|有人知道|有谁知道)|求指路|求解答|求推荐|"
    r"(?:入口|按钮|功能|菜单|页面)?在哪(?:里|儿)?[？?]|怎么(?:开通|办理|操作|设置|找到|弄|查)"
)


def asks(text: str) -> bool:
    """The post asks for information (请问…？, …求指路) and tells nothing: every sentence a question or a plea."""
    head = text[:300].strip()
    return _ASKS.search(head) is not None and ("？" in head or "?" in head)


def teaches(text: str) -> bool:
    """The post opens as teaching (投教｜…, 科普：…) and is no victim's own story (a reader's question in it,
    我账户里的钱安全吗？, is the teaching's)."""
    if _TEACHING_HEAD.search(text) is None:
        return False
    return all(
        _is_question(text, _clause_of(text, v.start())[1]) for v in _ME_VICTIM.finditer(text[:MAX_RULE_CHARS])
    )


def denial_in(text: str) -> str | None:
    """The denial cue of a post that clarifies or denies a claim (in its head), or None."""
    if doubts(text) or BACKLASH.search(text[:MAX_RULE_CHARS]):
        return None
    head = _head(text)
    first = spans(_SENTENCE, head)[:1]

    def title_news() -> bool:
        """A title that tells bad news of its own and no claim (X一度触及跌停 …午间发布澄清公告后跌幅收窄):
        the clarification is part of the story it tells, not what the post relays."""
        return bool(first) and (
            _DENIAL.search(head, *first[0]) is None
            and _CLAIM_MARK.search(head, *first[0]) is None
            and not _is_question(head, first[0][1])
            and any(
                not _PREDICATE_NEGATED.search(head, max(first[0][0], m.start() - 8), m.start())
                for m in _complaint_matches(head, *first[0])
            )
        )

    story: bool | None = None  # title_news(), asked only of a post with a denial word after its title
    for m in _DENIAL.finditer(head):
        if first and m.start() >= first[0][1]:
            if story is None:
                story = title_news()
            if story:
                break
        before = head[max(0, m.start() - 4) : m.start()]
        cs, ce = _clause_of(head, m.start())
        if _NOT_DENIAL_BEFORE.search(before) or _is_question(head, ce):
            continue
        ss = max(head.rfind(c, 0, m.start()) for c in "。！？!?；;\n") + 1
        if _BUCK_PASSING.search(head, ss, m.start()):
            continue  # 客服说没这回事: staff brushing a client off, not a denial of a claim
        return m.group(0)
    a = _ANSWER.search(text)
    if a:
        rest_end = text.find("。", a.end())
        rest = text[a.end() : rest_end if rest_end != -1 else len(text)]
        d = _ANSWER_DENIES.search(rest)
        if d and not _ADMITS.search(rest):
            return d.group(0)
    if _CLAIM_MARK.search(head) or _SECRETARY.search(head):
        for s, e in spans(_SENTENCE, head):
            r = _RESPONSE.search(head, s, e)
            d = _ANSWER_DENIES.search(head, r.end(), e) if r else None
            if d is None and r is not None and _SECRETARY.search(head, s, e):
                d = _ANSWER_DENIES.search(head, s, e)  # 不存在兑付风险——公司在互动平台的回复
            if d and not _ADMITS.search(head, s, e) and not _is_question(head, e):
                return d.group(0)
    return None


# a complaint its author says was resolved, with thanks (问题已解决，感谢营业部; 已核实并退还差额，处理及时)
_RESOLVED = re.compile(
    r"原路(?:退回|返还)|已退款|退(?:款|钱)了|(?:把|将)[^，。！？\n]{0,10}退了|(?:问题|事情)(?:就|都|已|也)?解决|申请结案|"
    r"(?:流畅|顺畅|稳定|正常|好用)(?:多了|了不少|很多)|收回(?:之前|前面|上次|我)的话|(?:之前|上次|原来)是我(?:太)?(?:焦虑|误会|错怪|冤枉|多虑)|错怪|"
    r"已(?:经)?(?:得到)?(?:妥善)?(?:解决|处理好|办好|办完|办结|办理完成|完成了|退还|退回|调回|到账|补发|恢复正常)|"
    r"(?:解决|处理好|办好|办完|退回来|到账|恢复)了|问题已解决|已(?:经)?(?:为您)?(?:调整|核实|说明|回复)并|"
    r"(?:已)?撤销(?:了)?投诉|已撤诉|确认(?:满意|无异议)|评价[“\"]?满意|问题也处理了"
)
_THANKS = re.compile(
    r"好评|(?:挺|很|非常)规范|就算了|"
    r"收回(?:之前|前面|上次|我)的话|道(?:个)?歉|错怪|冤枉|流畅多了|"
    r"感谢|谢谢|多谢|点赞|好评|满意|无异议|撤销投诉|已撤诉|效率可以|给力|辛苦了|处理(?:得)?(?:很|非常|挺|比较|十分)?(?:及时|迅速|快|到位)|很及时|效率(?:很|挺)?高"
)
# …unless something is still wrong after it (已退还一部分，但剩下的还没到)
_STILL_WRONG = re.compile(
    r"(?:但|可是|然而|不过|只是)[^。！？\n]{0,20}(?:还|仍|依然|至今|没|不|未)|仍未|还没|依然没|至今没|至今未"
)


# a court that turned down a claim against the firm (驳回原告全部诉讼请求): the firm won
_COURT_FOR_US = re.compile(
    r"驳回(?:了)?(?:原告|投资者|客户|上诉人|申请人|起诉人)?(?:的)?(?:全部|所有)?(?:诉讼请求|起诉|上诉|仲裁请求)"
)
_COURT_AGAINST_US = re.compile(
    r"(?:部分支持|判令|判决[^，。！？\n]{0,10}(?:赔偿|支付|承担)|改判|撤销原判|发回重审)"
)


def resolved_complaint(text: str) -> str | None:
    """The resolution a post reports with thanks (its author's own complaint closed), or None."""
    r = _RESOLVED.search(text)
    if r is None or _THANKS.search(text) is None or _STILL_WRONG.search(text, r.end()):
        return None
    return r.group(0)


# a 黑猫投诉 post's line naming whom the complaint is against (nlp: crawlers/spiders/heimao.py writes it)
_COMPLAINT_AGAINST = re.compile(r"^投诉对象[：:]\s*(.{1,40}?)\s*$", re.M)


def names_us(name: str, watchlist: WatchList) -> bool:
    """A short name of an organisation (a 黑猫 complaint's 投诉对象) is one of ours: it is our name, or holds a
    name of ours that says what it is (X证券, X期货, a product, an executive), not our bare short name with
    another's word after it (洛溪茶铺)."""
    found, _ = resolve_lookalikes(
        name, watchlist.find(name, include_excluded=True), watchlist, about_firm=True
    )
    for m in found:
        if m.role == EXCLUDED:
            continue
        if name == m.alias or m.role != "alias" and m.role != "name" or m.alias.endswith(_ORG_WORDS):
            return True
    return False


_ORG_WORDS = ("证券", "期货", "基金", "资管", "资本", "国际", "投资", "财富", "证卷")


def complaint_against(text: str) -> str | None:
    """Whom a complaint post says it is against (its 投诉对象 line), or None."""
    m = _COMPLAINT_AGAINST.search(text[:2000])
    return m.group(1) if m else None


_DEFENDS = re.compile(
    r"说句公道话|说句良心话|平心而论|替[^，。！？\n]{0,6}说句(?:公道)?话|别(?:再)?带节奏|别被带节奏|至于吗|别被吓跑|"
    r"哪家(?:券商)?没(?:卡|崩|出过事|出过问题)过|理性(?:看待|讨论|一点)|其实(?:还行|挺好|还可以|不错)|"
    r"(?:也)?(?:别|没)(?:那么|太)夸张|没(?:有)?传的那么|不得不说|值得表扬|点个赞|按约(?:平仓|执行)|别什么都赖|不是[^，。！？\n]{0,8}的错|怪不了"
)
_DEFENCE_GROUNDS = re.compile(
    r"恢复|有担当|还行|不错|正常|合理|理解|常见|放心|分红|A类|靠谱|没问题|强多了|及时|主动|不可能|安全|过度|"
    r"影响有限|影响不大|不到一成|接通|解决|挺快|规矩|补偿|通知了|记录"
)


LONG_DEFENCE_CHARS = 300


def defends(text: str) -> str | None:
    """The defence a post makes of the firm (说句公道话…十点就恢复了), with its grounds and no doubt or scorn in
    it, or None."""
    if len(text) > LONG_DEFENCE_CHARS:
        return None  # an article that quotes a defence somewhere is no defence
    d = _DEFENDS.search(text)
    if d is None or _DEFENCE_GROUNDS.search(text) is None or doubts(text):
        return None
    return d.group(0)


def statement_kind(
    post: Mapping[str, Any],
    text: str,
    *,
    names: Sequence[str],
    official_accounts: Iterable[str] = (),
    carried_from: Sequence[str] = (),
    carried_only: bool = False,
    masked: Masked | None = None,
) -> Statement | None:
    """Whether the post is the firm's own statement or relays a clarification of a claim about it, a
    warning against fraud in its name, or its own awareness campaign (``masked``: the post's masked
    keywords; a campaign report with a topic keyword still standing is read as it is)."""
    author = str(post.get("author") or "")
    verified = post.get("user_verified") in (True, 1, "1", "true", "True")
    if is_official(author, names, official_accounts, verified=verified):
        if denial_in(text) is None and (
            bad := _OWN_BAD_NEWS.search(masked.text if masked is not None else text)
        ):
            # its own bad news (董事长被留置, 收到警示函): the desk handles it as it would any report of it
            return Statement("own_news", bad.group(0), f"本司官方发布的坏消息（“{bad.group(0)}”）：照常研判")
        return Statement("own", author, f"本司官方账号发布（{author}）：不另预警，归入相关事件")
    if carried_only and any(is_official(u, names, official_accounts) for u in carried_from):
        who = next(u for u in carried_from if is_official(u, names, official_accounts))
        return Statement("relay", who, f"转发本司官方发布（@{who}）：不另预警，归入相关事件")
    cue = denial_in(text)
    if cue is not None:
        return Statement("relay", cue, f"澄清/否认转述（“{cue}”）：不另预警，归入传言事件")
    defence = defends(text)
    if defence is not None:
        return Statement("relay", defence, f"为本司说话/劝理性（“{defence}”）：不另预警")
    won = _COURT_FOR_US.search(text)
    if won is not None and not _COURT_AGAINST_US.search(text):
        return Statement("relay", won.group(0), f"法院驳回对本司的诉讼请求（“{won.group(0)}”）：不另预警")
    done = resolved_complaint(text)
    if done is not None:
        return Statement("relay", done, f"投诉已解决且投诉人致谢（“{done}”）：不另预警")
    head = _head(text)
    third = THIRD_PARTY.search(text)
    warn = _WARNING.search(head)
    if (
        third
        and warn
        and not _VICTIM.search(text)
        and not _INCIDENT.search(head, 0, min(warn.start(), third.start()))
    ):
        return Statement(
            "relay", third.group(0), f"防骗/风险提示（他人“{third.group(0)}”本司名义）：不另预警"
        )
    # the firm's own notice warning of scams (X证券发布投资者风险提示：警惕…非法荐股)
    notice = _WARNING_NOTICE.search(head)
    if (
        notice
        and _SCAM.search(text)
        and not _VICTIM.search(text)
        and not _INCIDENT.search(head, 0, notice.start())
        and any(head.find(n, 0, notice.start()) >= 0 for n in names)
    ):
        return Statement("relay", notice.group(0), f"本司防骗/风险提示（“{notice.group(0)}”）：不另预警")
    # the firm as the one who reports or helps to catch those who impersonate it (协助警方破获冒充X诈骗案)
    fights = _fights(head, names)
    imper = _IMPERSONATION.search(head) or _IMPERSONATION.search(text)
    if (
        fights
        and imper
        and not _VICTIM.search(text)
        and not _STAFF_IMPERSONATES.search(text)
        and not _KEYWORD_RE.search(_FIGHT_KEYWORD_FREE(masked, text))
    ):
        return Statement(
            "relay", imper.group(0), f"本司协助打击冒用本司名义者（“{fights.group(0)}”）：不另预警"
        )
    first = spans(_SENTENCE, head)[:1]
    # the firm's researchers speaking (X证券首席经济学家：违约潮不会重演): their view of the market or of
    # another company, not news about the firm (unless the remark itself is the news)
    if first and not _RESEARCH_IS_NEWS.search(text):
        for n in names:
            i = head.find(n, first[0][0], first[0][1])
            r = _RESEARCH.match(head, i + len(n)) if i >= 0 else None
            if r is not None:
                return Statement(
                    "relay", r.group(0), f"本司研究观点（“{n}{r.group(0)[:12]}”）：谈的是市场或他人，不另预警"
                )
    act = _ACTIVITY.search(head, 0, first[0][1]) if first else None
    standing = _KEYWORD_RE.search(masked.text if masked is not None else text)
    victim = _VICTIM.search(masked.text if masked is not None else text)  # 投诉处理流程 is masked: no victim
    if act and not standing and not victim and any(n in head for n in names):
        return Statement("relay", act.group(0), f"本司投教/反诈宣传（“{act.group(0)[-8:]}”）：不另预警")
    return None


# ------------------------------------------------------------------------------------- reading


ANAPHORA = re.compile(r"该公司|该司|该券商|该行|本公司|我司|我公司|这家券商|这家公司|这票|自家|公司")

# the post says we have nothing to do with what it tells: 与本公司无关, 跟我们这票没关系, A和我们不是一家,
# 别搞混了, 不存在任何业务往来 (in a clause that names us or refers to us) …
_DISOWN = re.compile(
    r"无关|没关系|没有关系|没有任何关系|没有半毛钱关系|没半毛钱关系|毫无关系|毫无关联|没有关联|并无关联|没(?:有)?一毛钱关系|(?:半|一)毛钱关系(?:都)?没有|不怪券商|怪我(?:自己)?手贱|搞混了|弄混了|张冠李戴|无任何关联|"
    r"不相干|不是一家|不是同一家|并非同一家|不是一回事|两码事|非同一家|关系都没有|关系也没有|半点关系|"
    r"毫不相干|毫无瓜葛|没有瓜葛|没瓜葛|蹭(?:名字|名气|热度|名头)|"
    r"(?:别|不要|勿|切勿|请勿)[^，。！？\n]{0,16}?(?:搞混|混淆|弄混|搞错|认错|对号入座|混为一谈)|撞名|重名|同名不同|"
    r"不搭边|八竿子打不着|"
    r"不存在任何?(?:业务|股权|关联|投资|合作|资金)?(?:往来|关系|关联)"
)
# … or that its news is someone else's: 罚的不是我们, 罚的是隔壁那家
_NOT_US = re.compile(
    r"的(?:不是|并非|并不是)(?:我们|咱们|我司|本司|本公司|这家|这票|我家|咱家)|"
    r"(?:不是|并非|而非|并不是)(?:公司|券商|我们|本司|本公司|这家)本身|"
    r"(?:不是|并非|并不是)(?:公司|我们|咱们|本司|我司|这家)的(?:人|员工)?(?=[，,。！？!?；;\n]|$)|"
    r"(?:罚|查|说|指|讲|骂|出事|暴雷|爆雷|处罚|亏|崩)的是(?:隔壁|别家|另一家|另外一家|其他|其它|同行|人家|那家|他们|后者|前者)|"
    r"(?:被罚|被查|被处罚|出事|暴雷|爆雷|违规)的是[\u4e00-\u9fff]{2,8}(?:证券|银行|基金|期货|券商|公司)"
)
_US_REF = re.compile(r"我们|咱们|本公司|本司|我司|我公司|公司|券商|这票|这家|自家|我家|咱家")
# … unless staff say it to a client who complains: 客服说跟他们没关系 is buck-passing, a complaint
_BUCK_PASSING = re.compile(
    r"(?:客服|营业部|工作人员|客户经理|理财经理|经理|总部|对方|他们|那边|业务员|居间人)[^，。！？\n]{0,8}"
    r"(?:说|称|回复|答复|推说|告诉我|让我|表示|一句)"
)


def disowned_spans(text: str, mentions: Sequence[Mention]) -> list[tuple[int, int, str]]:
    """Sentences that say the post's news is not about us (与本公司无关, 罚的是隔壁那家): (start, end, phrase)."""
    ours = [m.start for m in mentions if m.role != EXCLUDED]
    out: list[tuple[int, int, str]] = []
    if BACKLASH.search(text):
        return out
    for s, e in spans(_SENTENCE, text):
        sent = text[s:e]
        if _DISOWN.search(sent) is None and _NOT_US.search(sent) is None:
            continue
        if _BUCK_PASSING.search(sent) or _BELITTLE.search(sent):
            continue  # staff brushing a client off, an executive dismissing shareholders: no disowning
        hit = _NOT_US.search(sent)
        if hit is None:
            for m in _DISOWN.finditer(sent):
                cs, ce = _clause_of(text, s + m.start())
                if any(cs <= p < ce for p in ours) or _US_REF.search(text, cs, ce):
                    hit = m
                    break
        if hit is not None and not _is_question(text, _clause_of(text, s + hit.start())[1]):
            out.append((s, e, hit.group(0)))
    return out


@dataclass
class Reading:
    """What the rules make of one post, for the analyzer (see the module docstring)."""

    text: str
    masked: Masked
    firm_spans: list[tuple[int, int]]  # the sentences (clauses, in a many-firm post) about our firm
    many_firms: int  # how many firms the post is about, when at least MANY_FIRMS; else 0
    statement: Statement | None
    whole: bool  # the whole post is about the firm (declared, or it names no one else and is short)
    others: int = 0  # other institutions it names (look-alikes included)
    disowned: list[str] = field(default_factory=list)  # phrases saying its news is not about us
    disowned_at: list[tuple[int, int]] = field(default_factory=list)  # the sentences that say so

    def attributed(self, keywords: Iterable[str]) -> list[str]:
        """The keywords that still stand (not masked) inside the parts of the post about our firm."""
        out = []
        for kw in keywords:
            i = self.masked.text.find(kw)
            while i != -1:
                if self.whole or any(a <= i < b for a, b in self.firm_spans):
                    out.append(kw)
                    break
                i = self.masked.text.find(kw, i + 1)
        return out

    def firm_text(self) -> str:
        """The masked text with everything outside the parts about our firm blanked."""
        if self.whole:
            return self.masked.text
        chars = ["□"] * len(self.masked.text)
        for a, b in self.firm_spans:
            chars[a:b] = self.masked.text[a:b]
        return "".join(chars)

    def negation_in_firm_part(self) -> bool:
        """A keyword about our firm is negated, or a clause about it denies it is on a list."""
        negated = [
            s for (s, _), k in zip(self.masked.masked_at, self.masked.kinds, strict=True) if k == "neg"
        ]
        return any(self.whole or any(a <= s < b for a, b in self.firm_spans) for s in negated) or any(
            self.whole or any(a < e and s < b for a, b in self.firm_spans) for s, e in self.masked.not_listed
        )


def _our_shorts(name: str, ours: Sequence[Mention]) -> list[str]:
    """What ``name`` shares at its start with our names as the post writes them (赤城 for 赤城重工 beside
    赤城证券), two characters or more."""
    out = []
    for a in {m.alias for m in ours}:
        k = 0
        while k < min(len(a), len(name)) and a[k] == name[k]:
            k += 1
        if k >= 2 and k < len(name):
            out.append(name[:k])
    return out


TITLE_BODY_CHARS = (
    200  # a short body under a title that names us is about us (a long article names its subjects)
)


def _paragraph_goes_on(
    text: str,
    units: Sequence[tuple[int, int]],
    chosen_spans: Sequence[tuple[int, int]],
    mentions: Sequence[Mention],
    stops: Callable[[int, int], bool],
    names_another: Callable[[int, int], bool],
) -> list[tuple[int, int]]:
    """The units after each chosen one, in its paragraph, up to one that is chosen, names another
    organisation or a look-alike, or ``stops`` (a group of others, a generic subject)."""
    chosen = set(chosen_spans)
    alike = [m.start for m in mentions if m.role == EXCLUDED]
    more: list[tuple[int, int]] = []
    for i, (_s, e) in enumerate(units):
        if (_s, e) not in chosen:
            continue
        for ns, ne in units[i + 1 :]:
            if (
                (ns, ne) in chosen
                or "\n" in text[e:ns]
                or names_another(ns, ne)
                or stops(ns, ne)
                or any(ns <= a < ne for a in alike)
            ):
                break
            more.append((ns, ne))
            e = ne
    return more


def read(
    text: str,
    mentions: Sequence[Mention],
    *,
    declared: bool = False,
    statement: Statement | None = None,
    masked: Masked | None = None,
    title_len: int = 0,
) -> Reading:
    """The rules' reading of a post that names (or is declared about) our firm (its first
    ``MAX_RULE_CHARS`` characters decide which parts are about the firm). ``title_len``: the post's first
    line is its title, that long (a title that names us alone makes its body ours)."""
    masked = masked if masked is not None else mask_keywords(text)
    text = text[:MAX_RULE_CHARS]
    mentions = [m for m in mentions if m.end <= len(text)]
    ours = [m for m in mentions if m.role != EXCLUDED]
    our_starts = sorted(m.start for m in ours)
    others = other_orgs(text, mentions)
    n_firms = firm_count(text, mentions, others)
    many = n_firms >= MANY_FIRMS
    # others named or counted (另有2家): a sentence may tell of several, each clause is its own
    # (X又崩了，还好我在Y开的户; 我们等8家无问题，另有2家被责令整改)
    # …or brokers in general (券商发生系统故障须…): a clause of its own, not ours
    counted = _OTHERS_COUNTED.search(text) is not None or _GENERIC_SUBJECT.search(text) is not None
    unit = _CLAUSE if many or others or counted else _SENTENCE
    units = spans(unit, text)
    alone = not others and not counted
    firm_spans = []
    for s, e in units:
        k = bisect.bisect_left(our_starts, s)
        names_us = k < len(our_starts) and our_starts[k] < e
        refers = alone and not many and ANAPHORA.search(text[s:e]) is not None
        if names_us or refers:
            firm_spans.append((s, e))
    # another organisation by its short form (从临港证券转到X了，临港的APP一卡就…): not us
    other_stems = [st for o in others if len(st := _ORG_SUFFIX.sub("", o)) >= 2 and st != o]
    # …or a look-alike by what it adds to our name (赤城重工 → 重工这边要裁员)
    other_stems += [
        tail
        for m in mentions
        if m.role == EXCLUDED
        for n in _our_shorts(m.entity, ours)
        if len(tail := m.entity[len(n) :]) >= 2
    ]

    def names_another(ns: int, ne: int) -> bool:
        return _ORG_SUFFIX.search(text, ns, ne) is not None or any(
            text.find(st, ns, ne) >= 0 for st in other_stems
        )

    # a clause naming a counted group of others (另有2家…) does not continue ours
    if (many or others or counted) and ours:  # a clause right after ours, with no other subject, continues it
        extra = []
        chosen = set(firm_spans)
        for i, (s, e) in enumerate(units[:-1]):
            if (s, e) in chosen:
                ns, ne = units[i + 1]
                if (
                    not names_another(ns, ne)
                    and not _OTHERS_COUNTED.search(text, ns, ne)
                    and text[e : e + 1] in "，,"
                ):
                    extra.append((ns, ne))
        firm_spans.extend(extra)
        # …and in an article about several, a paragraph that turns to us goes on about us (在记者梳理的案例中，X的
        # APP今年已发生四次故障。有投资者表示，…至今未获处理。) until it names another or a group, or the line ends
        if not many:
            firm_spans.extend(
                _paragraph_goes_on(
                    text,
                    units,
                    firm_spans,
                    mentions,
                    lambda ns, ne: (
                        _OTHERS_COUNTED.search(text, ns, ne) is not None
                        or _GENERIC_SUBJECT.search(text, max(0, ns - 1), ne) is not None
                    ),
                    names_another,
                )
            )
    if unit is _SENTENCE and ours:
        # a paragraph that brings us in goes on about us (…陈先生是X证券的两融客户。他说，营业部在十几分钟内
        # 就将他的持仓全部卖出…) until it names another organisation or the line ends
        firm_spans.extend(
            _paragraph_goes_on(text, units, firm_spans, mentions, lambda ns, ne: False, names_another)
        )
    if (
        title_len
        and alone
        and not many
        and len(text) - title_len <= TITLE_BODY_CHARS
        and any(m.start < title_len for m in ours)
        and not any(
            m.start > title_len for m in ours
        )  # a body that names us says itself which parts are ours
    ):
        # a title that names us, and no one else anywhere: its body is about us (如何评价X证券的年报？\n净利润下滑四成)
        firm_spans.extend(u for u in units if u[0] > title_len)
    sentences = spans(_SENTENCE, text)
    short = len(sentences) <= 2 and len(text) <= 140
    first = sentences[0] if sentences else (0, 0)
    opens = any(first[0] <= m.start < first[1] for m in ours)  # it opens with our name: its subject
    whole = declared or (alone and not many and short and opens)
    # a sentence saying the news is not about us (与本公司无关, 罚的是隔壁那家) is no part about us
    disowned = disowned_spans(text, mentions)
    if disowned:
        whole = False
        firm_spans = [(s, e) for s, e in firm_spans if not any(a <= s < b for a, b, _ in disowned)]
    return Reading(
        text=text,
        masked=masked,
        firm_spans=sorted(set(firm_spans)),
        many_firms=n_firms if many else 0,
        statement=statement,
        whole=whole,
        others=len(others) + (1 if counted and not others else 0),
        disowned=list(dict.fromkeys(p for _, _, p in disowned)),
        disowned_at=[(a, b) for a, b, _ in disowned],
    )


def has_keyword(text: str, start: int = 0, end: int | None = None, *, facts_only: bool = False) -> bool:
    """A topic keyword in ``text[start:end]`` (of a masked text: one still standing); ``facts_only``: not
    a regulator's name alone (证监局通报…: the regulator is no fact against anyone)."""
    pattern = _FACT_KEYWORD_RE if facts_only else _KEYWORD_RE
    return pattern is not None and pattern.search(text, start, len(text) if end is None else end) is not None


def live_keyword_in_sentence(reading: Reading, span: tuple[int, int]) -> bool:
    """A topic keyword not masked in the sentence that holds ``span``."""
    text = reading.masked.text
    s = max(text.rfind(c, 0, span[0]) for c in "。！？!?；;\n") + 1
    ends = [i for i in (text.find(c, span[1]) for c in "。！？!?；;\n") if i != -1]
    e = min(ends, default=len(text))
    return _KEYWORD_RE is not None and _KEYWORD_RE.search(text, s, e) is not None


def executive_title_in(reading: Reading) -> bool:
    """An executive title (董事长, 总经理 …) in the part of the post about our firm: our executive."""
    for t in EXECUTIVE_TITLES:
        i = reading.text.find(t)
        while i != -1:
            if reading.whole or any(a <= i < b for a, b in reading.firm_spans):
                return True
            i = reading.text.find(t, i + 1)
    return False


# ---------------------------------------------------------------- complaints and misconduct

# What a client says the firm did to them, or what its staff did or said: a fact against the firm whatever
# the post's sentiment reads (被推荐“保本理财” 实为高风险私募 reads upbeat; 老客户就是拿来宰的呗 reads calm).
# Kinds of predicate, each with the topic an officer files it under when no topic word decides.
_P_FEES = (
    r"(?:就是|拿来|用来|专门)(?:被)?(?:用来)?割的|股东就是用来|"
    r"强制(?:我|客户)?(?:开通|购买|办理|签)|每个?月(?:都)?扣[0-9一二三四五六七八九十几]+|承诺[^，。！？\n]{0,10}[，,]?(?:实际|结果|却|但)(?:上)?[^，。！？\n]{0,4}(?:按|收)(?!的也是|费一致)|"
    r"被扣(?:了|的|掉)?[0-9一二三四五六七八九十百几两]+|(?:不问|不提|不说)就(?:一直)?(?:按|收)|"
    r"(?:管理费|手续费|佣金|费用|服务费)[^，。！？\n]{0,6}照收|"
    r"乱收费|乱扣费|乱扣|多收|多扣|偷偷扣|私自扣|擅自扣|强制收取|强行收取|捆绑销售|搭售|霸王条款|"
    r"(?:被|挨|拿来|就是|专门|任人|等着被)宰|宰(?:客|人|我|老客户|新客户|散户|韭菜|我们)|"
    r"坑(?:人|钱|客户|我|散户|老客户|老人|惨|爹)|被坑|太坑|真坑|好坑|巨坑|坑[。！!？?]|坑$|骗子|骗人|被骗|欺骗|忽悠|"
    r"套路(?:客户|我|老人|人)|"
    r"(?:割|收割)(?:韭菜|我们|散户|客户)|"
    r"收费[^，。！？\n]{0,6}(?:离谱|太高|过高|不合理|不透明)|收(?:得|费)[^，。！？\n]{0,6}(?:太黑|黑心|太狠|太贵)|"
    r"不退(?:钱|费|款)|退不了|明抢|抢钱|吸血|黑心|太黑了|还我|血汗钱|"
    r"文字游戏|玩套路|偷换概念|出尔反尔|言而无信|说话不算数?|不认账|赖账|耍赖"
)
_P_ACCOUNT = (
    r"就被平了|被强制平了|给平了|"
    r"拉黑|被平仓|强平|强制平仓|强行平仓|被冻结|冻结了|无故冻结|擅自冻结|莫名冻结|资金冻结|账户冻结|"
    r"限制(?:交易|出金|转出|登录)|被限制|冻住|冻上了|锁住|被锁|(?:给我|把我|帮我)[^，。！？\n]{0,4}平(?:了|仓)|"
    r"(?:把我|将我)[^，。！？\n]{0,3}(?:删|拉黑|踢|屏蔽)|删了我|被踢出|踢出群|擅自(?:开通|办理|扣|操作|交易|修改)|"
    r"说([\u4e00-\u9fff])就\1|不让(?:我|客户|人|用户)?[^，。！？\n]{0,2}(?:转|取|出金|销|卖|提|退|撤)"
)
_P_SERVICE = (
    r"第[0-9一二三四五六七八九十百]+天(?:了)?[^，。！？\n]{0,4}(?:还|仍|依然|都)|(?:还|仍|一直|依然)(?:显示|是|在)[“\"「]?(?:处理中|审核中|受理中|办理中)|拒绝提供|没(?:有)?人(?:通知|告知|提醒|核实|说一声)|暂停办理(?:业务)?[^。！？\n]{0,12}(?:[一二三四五六七八九十两几0-9]+(?:周|个月|天))|非(?:要|得)(?:我|客户|本人)|排到(?:了)?(?:下个?月|下周|明年)|答非所问|转人工[^，。！？\n]{0,4}(?:要|得)?等|晚了(?:整整)?[一二三四五六七八九十几半两0-9]+(?:个)?(?:小时|天|分钟)|(?:都)?(?:没|没有|未|不)(?:通知|告知)(?:客户|我们|我|一声)|扑了个?空|(?:委托|条件单|止损单|止盈单|预埋单)(?:没|未|没有)(?:触发|执行)(?!时|的话|怎么办|的情况)|"
    r"比(?:别家|别的券商|其他券商|同行|隔壁)[^，。！？\n]{0,6}(?:高|贵|慢|差|低|少)|(?:降|调|改|办)不了|(?:永远|总是|老是)(?:排不上|抢不到|买不到|慢)|"
    r"(?:说|称|声称|号称)(?:不存在|没有|不会|没)[^，。！？\n]{0,10}[，,](?:那|可|但|可是|但是)[^。！？\n]{0,24}(?:是什么|是啥|算什么|怎么回事|怎么解释)|(?:我|我们)?明明[^，。！？\n]{0,10}(?:交了|提交了|申请了|打了|说了|有钱|付了|填了|签了)|(?:从来)?不(?:主动)?(?:告诉|告知|提醒)(?:你|客户|我们|我)|"
    r"连[^，。！？\n]{0,8}都(?:找不到|没有了|没了|做不好|搞不定|不会|打不开|登不上)|(?:难道|是)不(?:用|看|管|懂|试)[^，。！？\n]{0,10}吗[？?]|这(?:也|都)(?:能|配)(?:叫|称)|"
    r"(?:至今|一直|始终|迟迟|仍然|也)(?:未|没|没有|不肯?)(?:给出?|作出?|做出?)?(?:任何|一个)?(?:解释|说法|交代|回应)|"
    r"(?:也|还是|就是|都|死活)不认(?:账)?|说好的[^。！？\n]{0,12}[，,](?:现在|结果|却|可是|但是)|"
    r"排队[^，。！？\n]{0,3}[0-9一二三四五六七八九十百几]+(?:位|人|个)|转人工[^，。！？\n]{0,8}(?:排队|等到|转不|打不通|没人)|(?:比|难于|难过)[^，。！？\n]{0,8}还难|难如登天|难于上青天|(?:客服|营业部|经理|公司|总部|券商)[^，。！？\n]{0,3}(?:不认|不承认|死不认)|(?:不给|不予|不肯)(?:调|降|改|开通|下调)|[一二三四五六七八九十两几0-9]+个(?:多)?月[^，。！？\n]{0,4}(?:还|一直|仍|都)?(?:在)?审核中|"
    r"(?:卖|抛|出)不出去|买不进(?:去)?|(?:卖|撤)不掉|撤不了单|坐席(?:全)?忙|(?:一直|全是|都是)占线|(?:转|转到|转给|只有)(?:了)?(?:一个)?(?:智能)?机器人|"
    r"(?:委托|条件单|止损单|止盈单|预埋单|止损)[^，。！？\n]{0,6}(?:没|未|没有)(?:触发|执行|成交)(?!时|的话|怎么办|的情况)|(?:一股|一手)(?:都|也)没(?:卖|买)(?:出去|进去|成)?|"
    r"(?:APP|app|App|软件|系统|服务器|网站|行情|交易)[^，。！？\n]{0,8}(?:又|再次|又一次|直接|彻底)?(?:挂了|挂掉|瘫痪|瘫了|趴窝|罢工|抽风|卡死|宕了)|"
    r"(?:基本|根本|完全)没法用|爱(?:来|买|用|办)不(?:来|买|用|办)|客服[^，。！？\n]{0,4}(?:全是|都是|就是|只有)机器人|"
    r"刁难|为难人|推诿|踢皮球|扯皮|互相推|甩锅|推卸|敷衍|搪塞|拖延|一拖再拖|一直拖|拖着不|"
    r"(?:没人|无人|没有人)(?:管|理|接|回|处理|回复|负责|解决|受理|问)|不理人|不搭理|爱答不理|"
    r"(?:至今|一直|迟迟|始终|还是|仍然|仍)(?:未|没|没有|不)(?:获|得到|收到|给|予)?"
    r"(?:答复|回复|处理|解决|退|赔|通知|到账|办理|受理|兑付|回应|联系)|"
    r"(?:未|没|没有)(?:收到|接到)(?:任何)?(?:通知|电话|短信|提醒)|"
    r"(?:不给|不予|拒绝|拒不|不肯)(?:办理|退|赔|处理|受理|销户|解冻|转出|出金)|"
    r"(?:销|退|转|取|提|出|买|卖|撤|用)不(?:了|出来|掉)|联系不上|打不通|找不到人|投诉无门|维权无门|求助无门|"
    r"连(?:个|一个|一条)?(?:电话|通知|短信|招呼|提醒|说法)都没|不给(?:个)?说法|"
    r"毫无音讯|杳无音信|石沉大海|没有下文|没下文|不了了之|没有回音|没回音|没人回|"
    r"[一二三四五六七八九十两几0-9]+(?:个)?(?:天|周|星期|月|小时)(?:后)?才(?:回|回复|处理|到账|办好|答复|接通)|"
    r"(?:推荐|推|荐)的(?:票|股票|股|基金|产品)[^，。！？\n]{0,6}(?:没一个涨|全跌|全亏|全是跌|都亏|都跌|全套|全绿|站岗|被套|套牢|腰斩|跌停)|智商税|"
    r"阴阳怪气|态度(?:差|恶劣|很差|极差|傲慢|蛮横)|爱搭不理|甩脸色|冷嘲热讽|不耐烦|冲我吼|骂人|一问三不知|"
    r"(?:等了|排了|排队|拖了|耗了)(?!才|只|仅|不到|没几)[^，。！？\n]{0,8}(?:分钟|小时|天|周|星期|个月)(?![^，。！？\n]{0,2}就(?:接通|通了|到账|办好|解决|处理))|排队排到|接通就挂|直接挂断?|"
    r"(?:[一二三四五六七八九十两几0-9]+|半)(?:个)?(?:天|周|星期|月|小时)了?[，,]?(?:还|都|也|仍|依然|仍然)"
    r"(?:没|未|不|没有)|"
    r"拉横幅|拉条幅|堵门|上门讨|讨说法|聚集维权|集体维权|不还钱|不给钱|拿不回|要不回|"
    r"说是我(?:的|自己的)?(?:问题|原因|责任|操作问题)|怪我|(?:让|叫)(?:我|客户)自己(?:负责|承担|看着办)|自己负责|"
    r"(?:让|叫)(?:我|客户)(?:自己)?(?:去)?找(?:销售|营业部|总部|客服|投顾|经理|居间人|第三方)|"
    r"(?:不|没|没有|未|也不)(?:提前|事先|及时)(?:通知|告知|提醒|说明)|"
    r"不想让(?:人|我|客户)走|设(?:置)?(?:障碍|门槛|关卡)|百般阻挠|阻挠|故意拖"
)
_P_SELLING = (
    r"连[^，。！？\n]{0,8}是(?:什么|啥)都不(?:知道|懂|清楚|明白)|(?:没|没有)(?:人)?(?:核实|评估|审核|问过)[^，。！？\n]{0,6}(?:风险|承受能力|身份|资产)|(?:R[45]|高风险)[^，。！？\n]{0,8}(?:卖给|推给|推销给|卖|推)[^，。！？\n]{0,10}(?:老人|老太太|老太|老大爷|大爷|大妈|七十|八十|七旬|八旬|退休)|(?:一句)?风险(?:一句)?都没(?:提|说|讲)|没(?:有)?(?:提示|揭示|告知)(?:任何)?风险|"
    r"(?:跟|和|同|比)(?:银行)?(?:定期)?存款(?:差不多|一样|还稳|还安全|没区别)|当(?:成)?存款(?:卖|推)|"
    r"误导(?:销售|客户|投资者|老人|我|消费者|购买)|被误导|诱导(?:客户|投资者|老人|我|购买|开户|交易|入金|转账|加杠杆|签)|"
    r"代答|代签|代客(?:理财|操作|交易)|飞单|私售|兜售|推销[^，。！？\n]{0,6}(?:私募|股权|原始股)|虚假宣传|虚假承诺|夸大收益|承诺(?:收益|保本|稳赚)|说好的保本|"
    r"(?:说|称|承诺|保证|忽悠)[^，。！？\n]{0,8}(?:保本|稳赚|不会亏|零风险|没风险|没有风险)|"
    r"(?:被告知|告诉我|跟我说|说是|称其为|宣传为|介绍为|推荐时称)[^，。！？\n]{0,6}(?:稳健|低风险|固收|保本|稳赚)|"
    r"不买不给|不买就不(?:给|让|能)|(?:开通|办理|开户|开)[^，。！？\n]{0,6}(?:要|必须|得)先(?:买|购买|认购)|"
    r"实为(?:高风险|私募|R[45])|风险(?:等级)?不匹配|适当性(?:管理)?(?:缺失|不到位|问题)|"
    r"(?:骚扰|推销|营销)电话|电话轰炸|短信轰炸|(?:天天|频繁|反复)(?:打电话|来电)|换(?:个)?号(?:码)?(?:再|继续)打|"
    r"打了[一二三四五六七八九十几0-9]+个电话|喊单|"
    r"(?:帮|替|给)(?:我|客户|你)?[^，。！？\n]{0,4}改[^，。！？\n]{0,4}(?:测评|风险等级|评级)|"
    r"(?:风险)?测评[^。！？\n]{0,14}(?:改一下|帮我改|代做|代填)"
)
_P_STAFF = (
    r"散户[^，。！？\n]{0,6}(?:就是|都是|只配)[^，。！？\n]{0,8}(?:送钱|韭菜|接盘|炮灰|提款机)|(?:让|要|叫)(?:我|客户)[^，。！？\n]{0,4}(?:把)?(?:资金|钱)转(?:到|入)[^，。！？\n]{0,8}(?:指定|个人|私人|他的)|"
    r"(?:被)?刑拘|刑事拘留|被逮捕|被判(?:刑|处)|获刑|被公诉|被提起公诉|"
    r"抄袭|剽窃|照搬|雷同|照抄|原样抄|抄过去|抄了?(?:我们|别人|别家|同行|他人|人家)|"
    r"(?:喊|推|荐)[^，。！？\n]{0,6}(?:票|股)[^，。！？\n]{0,12}(?:出货|割|接盘)|(?:他们|自己|庄家)在出货|辱骂|骂客户|出言不逊|傻[Xx×逼]|挪用|卷款|私吞|造假|弄虚作假|"
    r"怼(?:小股东|股东|客户|投资者|股民|散户)|拿客户(?:的)?(?:钱|资金)|冒充客户|冒签|代客户签|伪造(?:客户)?签名|"
    r"骂(?:投资者|客户|股民|散户|小股东|人)|卷走|卷钱|携款|侵占客户|挪用客户|"
    r"(?:让|要|逼|要求|强制)(?:我|客户|老人)?[^，。！？\n]{0,8}签(?:署|订)?[^，。！？\n]{0,14}(?:放弃|自愿|免责|承诺书|确认书)|"
    r"(?:改|换)了?(?:我的)?(?:账户)?密码|"
    r"质疑[^，。！？\n]{0,8}(?:勾结|操纵|违规|内幕|造假)|勾结|合谋|操纵股价|坐庄|老鼠仓|"
    r"(?:让|要|叫)我把[^，。！？\n]{0,6}密码|索要[^，。！？\n]{0,4}密码|(?:帮|替)(?:我|客户)(?:操作|炒股|买卖|交易)|"
    r"私自用[^，。！？\n]{0,6}账户|(?:擅自|私自|偷偷)(?:操作|交易|买卖|下单)"
)
# how the firm treats its own staff (要求员工自购产品, 扣绩效, 拖欠工资): news against it all the same
_P_LABOUR = (
    r"(?:到手|工资|收入|薪水|奖金|绩效|年终奖|薪酬)[^，。！？\n]{0,10}(?:少了|降了|砍了|缩水|打了?)(?:近|超过?|约)?[一二三四五六七八九]成|只发(?:了)?(?:基本工资|底薪)|绩效[^，。！？\n]{0,4}打[一二三四五六七八九]折|(?:工资|薪水|奖金|年终奖)[^，。！？\n]{0,6}(?:晚发|迟发|晚了|拖了)|被[“\"「]?末位|(?<!、)(?:降薪|减薪)(?!、)|叫去[^，。！？\n]{0,6}(?:谈话|问话|配合|签字)|配合(?:有关部门)?调查|(?:总监|总裁|董事长|总经理|负责人|高管|老总|(?<=[\u4e00-\u9fff])总)[^，。！？\n]{0,10}(?:没来上班|没露面|联系不上|失联|不见人)|没(?:有)?休(?:过|息过)?(?:一个)?(?:周末|假|一天)|加班费[？?！!]?\s*不存在|(?:奖金|工资|年终奖|绩效)说好的|"
    r"[一二三四五六七八九十两几0-9]+个(?:多)?月(?:都)?无休|(?:没有|没|无|不给)加班费|(?:奖金|工资|年终奖|绩效|薪水|提成)[^，。！？\n]{0,4}(?:拖延|拖欠|延迟发放|迟迟不发|不发了|打折|腰斩|砍半|缓发|停发)|逼签|只发底薪|"
    r"(?:要求|强制|逼|摊派)(?:员工)?[^，。！？\n]{0,4}(?:自购|自掏腰包|购买|认购)|扣绩效|扣工资|欠薪|拖欠(?:员工)?工资|"
    r"强制(?:加班|降薪)|变相裁员|暴力裁员|逼(?:着)?(?:员工|我们|大家)?(?:买|认购|购买)|摊派"
)
_P_DATA = (
    r"(?:信息|资料|号码|电话|隐私)(?:是|都|肯定|应该|怕是|估计)?被(?:卖|泄露|倒卖|贩卖|出卖)|精准(?:骚扰|诈骗)|"
    r"(?:导出|拷贝|窃取|盗取|非法获取|倒卖|卖了)[^，。！？\n]{0,8}(?:客户|用户|投资者)(?:的)?(?:信息|资料|数据|名单)|"
    r"晒客户|泄露客户|客户(?:的)?(?:持仓|信息|资料|身份证|照片|隐私|数据)(?:截图)?[^，。！？\n]{0,4}"
    r"(?:被晒|外泄|公开|流出|被卖|泄露|被泄露)|信息被卖|资料被卖|"
    r"(?:把|将)(?:我|客户)(?:的)?(?:联系方式|电话|手机号|信息|资料|身份信息)[^，。！？\n]{0,4}(?:给|卖|透露|泄露)|"
    r"天天有人(?:加我|打电话|给我打)|"
    r"(?:客户|开户|用户|个人|身份)(?:的)?(?:资料|信息|数据|名单)[^，。！？\n]{0,10}"
    r"(?:明码标价|出售|售卖|兜售|叫卖|被卖|倒卖|打包卖|在卖)"
)
# the management sells or breaks its word (董事长又减持了, 回购承诺了一年一股没买)
_P_MANAGEMENT = (
    r"分红[^，。！？\n]{0,6}(?:少了|少一半|缩水|腰斩)|"
    r"(?<=[\u4e00-\u9fff])总[^，。！？\n]{0,6}减持|(?:董事长|总裁|总经理|高管|大股东|实控人|董监高|管理层)[^，。！？\n]{0,6}减持|"
    r"回购[^，。！？\n]{0,10}(?:没买|一股没|一股都没|未实施|没实施|落空|食言|没动静)|"
    r"承诺[^，。！？\n]{0,10}(?:一股没|没兑现|未兑现|不兑现|落空|食言)|"
    r"分红(?:比例)?[^，。！？\n]{0,4}(?:年年降|下降|减少|取消|缩水|砍)|不分红|取消分红|"
    r"(?:说|承诺|表示|保证)[^。！？\n]{0,14}[，,](?:可是|但是|但|结果|然而)[^。！？\n]{0,10}(?:降|减|没|跌|少|砍|亏)"
)
# a hard failure of a product (延期兑付, 违约, 爆雷, 净值腰斩): a fact whatever the tone
_P_PRODUCT = (
    r"还(?:未|没|没有)(?:兑付|回款|到账|赎回成功|拿回)|延期(?:了)?(?:快|近|整整)?[0-9一二三四五六七八九十两几半]+(?:个)?(?:月|年|周|星期)|已经?延期|能赎(?:的)?(?:就|先|赶紧|尽快)赎|能跑(?:的)?(?:就|先|赶紧)跑|赶紧(?:赎回|跑路|撤资)|(?:兑付|本金|本息|钱)[^，。！？\n]{0,6}(?:悬了|要黄|没戏|够呛|打水漂)|还钱(?=[！!。\s]*$)|还我(?:本金|钱)|(?:号|产品|计划|理财|净值)(?:今年|单季|季度|一年|成立以来)?(?:已经|就)?亏(?:了|损|掉)?(?:超过|超|近)?[1-9][0-9](?:\.[0-9]+)?%|"
    r"(?:本金|净值|钱|资产|养老钱)[^，。！？\n]{0,8}(?:少了|缩水|没了|蒸发|亏掉)(?:了)?[一二三四五六七八九十几半两]成|净值(?:只有|才|仅|剩|跌到|跌至)?0\.[0-8]|"
    r"延期(?:兑付|清算|支付|偿付|兑付)|(?:未能|无法|不能)(?:按期|如期|按时)?兑付|暂停兑付|兑付困难|违约|爆雷|暴雷|"
    r"踩雷|血本无归|打水漂|坏账|穿仓|爆仓|(?:仅|只)?(?:兑付|偿付|分配)(?:约|了)?[一二三四五六七八九]成|"
    r"(?:暂停|停止|限制)(?:赎回|申购|新发|发行|兑付|认购)|大额赎回|"
    r"(?:浮亏|亏损|亏了|窟窿|缺口)(?:约|近|超过?|逾|达|了)?[0-9一二三四五六七八九十百千两.]+(?:个)?亿|"
    r"跌(?:到|至|破)(?:了)?0\.[0-8][0-9]?(?![0-9]|倍)|(?:一天|单日|当日|今天|一日)[^，。！？\n]{0,6}(?:回撤|下跌|跌)(?:了)?(?:超|逾)?[2-9](?:\.[0-9]+)?%|"
    r"净值(?:大跌|腰斩|跌去|跌破|下跌超|暴跌)|(?:浮)?亏(?:损|了)?(?:超过|超|逾|近)?[一二三四五六七八九十几半两]成|"
    r"(?:净值|产品)[^，。！？\n]{0,4}(?:回撤|下跌|跌幅|亏损)(?:超过|超|逾|近|达)?[1-9][0-9](?:\.[0-9]+)?%"
)
_P_ACCUSED = (
    r"有(?:猫腻|黑幕)|暗箱操作|"
    r"[0-9一二三四五六七八九十百千几]+(?:件|次|起|宗|张)(?:投诉|故障|罚单)?[^，。！？\n]{0,2}(?:居首|位居榜首|高居榜首|排名第一|排第一|位列第一|最多)|"
    r"惹[^，。！？\n]{0,8}(?:不满|众怒|吐槽|非议)|引发[^，。！？\n]{0,6}不满|遭(?:到)?[^，。！？\n]{0,4}吐槽|被[^，。！？\n]{0,4}吐槽|怨声载道|骂声一片|"
    r"截至发稿(?:时)?(?:仍|尚|均)?未(?:获|收到|得到)?(?:任何)?(?:回应|回复|答复)|"
    r"被指|被曝|遭曝|被爆料|被曝光|遭曝光|被举报|遭举报|被质疑|遭质疑|被投诉|遭投诉|屡遭投诉|频遭投诉|被告上法庭|成被告|"
    r"被(?:同行|网友|媒体|投资者|客户|业内)?(?:指出|扒出|揭发|点名|爆出|揭露)|"
    r"投诉(?:榜|排行|量|数|件数)[^，。！？\n]{0,10}(?:第一|居首|之首|最多|翻倍|激增|暴增|倍|上升|增长|增加|飙升)"
)
# the firm's business going wrong, told as plain facts (保荐项目上会被否, 收到问询函, 越权漏洞致客户信息可被查看,
# 首席称…引争议, 佣金双标, 利率悄悄从5.5调到7.2): news against it with no sentiment word in it
_P_BANKING = (
    r"保留意见|无法表示意见|否定意见|(?:触及|一度|直线|封死|盘中)跌停|跌停板|闪崩|"
    r"(?:跌超|跌逾|大跌|暴跌|重挫|收跌|下挫)(?:[6-9]|[1-9][0-9])(?:\.[0-9]+)?%|"
    r"(?:营业部|分支机构|网点|员工|人数|员工人数)[^，。！？\n]{0,10}(?:减少|下降|缩减|锐减|少了)[^，。！？\n]{0,4}"
    r"[0-9一二三四五六七八九十百千几近]+|撤(?:销|并|掉)了?[0-9一二三四五六七八九十几]+家|"
    r"(?:撤销|撤并|关闭|裁撤)[^，。！？\n]{0,14}(?:[1-9][0-9]+|[3-9]|[三四五六七八九十几][十]?[一二三四五六七八九]?)家(?:营业部|分支机构|网点|分公司)|"
    r"(?:排队|排到|排了|挤满|人山人海|大排长龙)[^。！？\n]{0,30}(?:销户|转托管|转户|赎回|取钱)|扎堆(?:销户|转户)|销户潮|挤兑|"
    r"(?:被|遭)?(?:监管|证监会|证监局|交易所|上交所|深交所|北交所|协会|中证协)(?:再次|又|连续)?点名|第[二三四五六七八九十0-9]+次被|"
    r"(?:又|再次|再度|屡次|多次|频频|屡屡|接连)(?:被|遭)(?:罚|处罚|点名|通报|约谈|警示|处分|问询|立案)|通报批评|被约谈|被判(?:有期徒刑|无期|缓刑)|"
    r"(?<![零无不未])破发(?!率)|(?:被)?暂停[^，。！？\n]{0,4}(?:执业|从业|保荐)(?:资格)?|吊销|撤销[^，。！？\n]{0,6}资格|"
    r"集体(?:跳槽|离职|出走|辞职)|(?:出走|离职|辞职)潮|项目全停|"
    r"(?:减值损失|信用减值|资产减值|亏损|损失)[^，。！？\n]{0,8}(?:同比)?(?:增长|增加|上升|扩大)(?:了)?(?:逾|超|近|约)?(?:[一二三四五六七八九十两]|[0-9]+(?:\.[0-9]+)?)倍|"
    r"(?:净利润|营收|营业收入|净收入|收入|利润|业绩)[^，。！？\n]{0,6}(?:同比)?(?:下降|下滑|减少|大跌|暴跌|腰斩|骤降)[^，。！？\n]{0,4}(?:[3-9][0-9]|[1-9][0-9]{2})(?:\.[0-9]+)?%|(?:分类)?评级[^，。！？\n]{0,6}(?:下调|被降|降至|降为|调降)|"
    r"被否(?![认定])|遭否决|被否决|(?:上会|审核|上市申请|首发申请)[^，。！？\n]{0,8}未获通过|撤否|业绩变脸|"
    r"(?:收到|收|被发|被出具|领到?)[^，。！？\n]{0,6}(?:问询函|关注函|监管函|警示函|工作函|决定书)|"
    r"(?:净利润|营收|营业收入|净收入|收入|利润|业绩)[^，。！？\n]{0,4}(?:同比)?(?:下降|下滑|减少|大跌|暴跌|骤降)(?:了)?(?:近|超|逾)?[三四五六七八九]成|监管问询|被问询|"
    r"持续督导[^，。！？\n]{0,6}(?:不力|失职|缺位)|未(?:能)?勤勉尽责|执业质量[^，。！？\n]{0,4}(?:差|堪忧|问题|不高)"
)
_P_SECURITY = r"(?:越权|安全|系统)漏洞|越权(?:访问|查询)|(?:被|遭)(?:黑客)?(?:攻击|入侵)|被黑了"
_P_UPROAR = (
    r"(?:言论|发言|称|说|表示|喊话)[^。！？\n]{0,30}(?:引争议|引发争议|惹争议|引热议|引发热议|惹众怒|引众怒|"
    r"遭炮轰|被骂上热搜|被网友炮轰|翻车)"
)
_P_PRICING = (
    r"双标|(?:悄悄|偷偷|擅自|单方面|突然|私自|暗中|暗地里|背着(?:客户|我们|投资者|我))(?:地)?(?:调|涨|上调|提高|改|加)|"
    r"(?:利率|费率|佣金|管理费|手续费)[^，。！？\n]{0,10}[0-9.]+[^，。！？\n]{0,6}(?:调到|涨到|提到|上调至|提高到|改成)"
)
# sarcasm (阴阳怪气): praise or thanks that the rest of the post takes back (感谢X让我学会了什么叫价值毁灭,
# 真是良心券商，APP开盘就转圈🙂, …才怪, 给我上了一课)
_BAD_THING = (
    r"(?:站岗|被套|套牢|崩了|又崩|转圈|闪退|登不上|进不去|打不开|毁灭|割韭菜|割我|坑人|坑我|宰客|宰人|理直气壮|"
    r"又双叒叕|[一二三四五六七八九十两几]个月了|半年了|跌了(?:一半|[一二三四五六七八九]成)|腰斩|跌停|撤了|没赚过|一分没赚|"
    r"亏麻|亏惨|血亏|巨亏|被割|监管函|警示函|罚单|立案)"
)
_P_SARCASM = (
    r"感谢[^。！？\n]{0,12}(?:让我|教会我|给我上了)|给我上了(?:一|宝贵的一|生动的一)课|"
    r"(?:学会|明白|懂得|知道|体会到|见识到|领教)了?(?:什么叫|啥叫|何为|什么是)|(?:最|真)?(?:正确|明智|英明)的(?:决定|选择)[^。！？\n]{0,3}才怪|"
    r"(?:永远|千万)?(?:不要|别|千万别)(?:再)?(?:相信|信)[^，。！？\n]{0,10}(?:客户经理|经理|投顾|客服|营业部|券商|他们)|"
    r"我的钱呢|钱(?:都)?去哪(?:了|儿了)|"
    r"(?:喜提|荣获|斩获|再添|又添|集齐)[^，。！？\n]{0,8}(?:罚单|监管函|警示函|问询函|关注函|工作函|立案|处罚|通报|点名|热搜|跌停|腰斩|差评|投诉|"
    r"第[一二三四五六七八九十0-9]+张)|"
    r"[“「\"](?:良心|专业|靠谱|贴心|优质|王牌|金牌|业界标杆|业界良心|稳健|安全)[”」\"](?:券商|公司|服务|产品|理财|投顾)|"
    r"(?:真是|真|可真|太|不愧是|果然是|好一个|业界)(?:良心|厉害|专业|贴心|靠谱|行|牛|棒|标杆|优秀)(?:券商|啊|呀|了)?"
    rf"[^。！？\n]{{0,24}}{_BAD_THING}|"
    rf"{_BAD_THING}[^。！？\n]{{0,24}}(?:🙂|🙃|\[微笑\]|\[doge\]|\[允悲\]|呵呵|厉害了|佩服佩服|真行|服了)|"
    r"(?:🙂|🙃|\[微笑\]|\[允悲\])\s*$"
)
# scorn and warnings off: what a client says of the firm as a whole (吃相难看, 劝退, 想销户, 这水平也敢出报告,
# 隔壁都万一免五了)
_P_SCORN = (
    r"改名(?:叫|为)?[^，。！？\n]{0,6}(?:赌场|骗|坑|割|收割|韭菜)|吃相(?:太|很|真|极其|实在|也太)?难看|翻车|丢人|丢脸|无良|黑心券商|垃圾(?:券商|公司|服务|软件|APP|app)|最烂|烂透|"
    r"(?:不解释一下|啥意思|什么意思|怎么信|让人怎么信|还好意思|好意思说|我签过(?:啥|什么))[？?]?|"
    r"(?:太|真|真是|好|得真)[“\"「](?:专业|良心|贴心|靠谱|适当|稳健|高效|负责)[”\"」]|"
    r"(?:问题|投诉|罚单|违规)最多|(?:市场份额|份额|持股比例|客户资金(?:余额)?|托管规模|资产规模)[^，。！？\n]{0,10}(?:降至|降到|减少)|"
    r"问询函[：:]|要求公司(?:说明|解释|补充披露)|"
    r"破(?:软件|APP|app|App|系统|公司|券商|服务)|谁设计的|劝退|避雷|得罪(?:了)?(?:个)?遍|干什么吃的|"
    r"(?:管理层|领导|高管|董事长|总裁|董事会)(?:都|到底|究竟)?在干(?:嘛|什么|啥)|"
    r"(?:困局|困境|之困|乱象|隐忧|之殇|危局|迷局|暗伤|后遗症|变脸|失速)|千万别(?:在|买|信|去|开|用)|别在[^，。！？\n]{0,8}开户|(?:想|要|准备|打算|已经|果断|赶紧|马上)(?:去)?销户|销户了|"
    r"(?:这|那)(?:水平|能力|服务|态度|质量)(?:也|还)(?:敢|好意思|配)|也(?:敢|好意思)(?:出|发|收|叫|说)|"
    r"(?:隔壁|别家|其他券商|别的券商|同行)(?:都|早就|早都|已经)[^，。！？\n]{0,4}(?:万[一二0-9.]|免五|免5|降|不收|便宜|开通了|可以|能)|(?:新客户|新户|新人)[^。！？\n]{0,10}(?:老客户|老户|老人)"
    r"[^。！？\n]{0,6}(?:一分不让|不让|没有|不给|高|贵)"
)
# an outage told in plain words (登录异常已恢复, 报单延迟, 部分客户无法平仓)
_P_OUTAGE = (
    r"(?:又|一直|开盘就?|老是|总是)(?:在)?转圈|转圈圈|系统繁忙|请稍后(?:再|重)试|crash|闪退|白屏|黑屏|(?:挂的|挂着的|委托的)单[^，。！？\n]{0,4}(?:全没了|没了|不见了|丢了)|(?:登录|交易|报单|委托|行情|下单|撤单|系统|APP|app|App)(?:出现|发生)?(?:短暂|大面积|部分)?(?:异常|延迟|失败|缓慢|中断|卡顿)"
    r"(?!波动|应急|演练|预案|处置|监控|交易行为|情况的?(?:处理|报告))|"
    r"无法(?:及时|正常)?(?:平仓|登录|交易|下单|撤单|委托|报单|卖出|买入)"
)
# an advert that uses the firm's name for a stock-tip group (X证券VIP内参群免费进, 加V)
_P_TOUT = (
    r"(?:内参|VIP|vip|牛股)群|加(?:V|v|微|微信|薇|vx|VX|扣)[：:]?\s*[A-Za-z0-9_]{4,}|带你(?:赚|翻倍|抓涨停)|"
    r"胜率[0-9]{2}%|每天[一二三两0-9]只涨停"
)
# hard news of a listed broker told as facts (media, filings, telegraphs): the courts, the regulator's
# lesser measures, results, its shares and shareholders, its people leaving, clients at its door
_P_LEGAL = (
    r"冻结被执行人|被执行人[^，。！？\n]{0,2}(?=[\u4e00-\u9fff])|执行裁定|查封[^，。！？\n]{0,10}(?:财产|资产|存款)|追究[^，。！？\n]{0,10}责任|提前清偿|加速到期|涉案(?:总)?金额|(?:诉讼|仲裁)[^，。！？\n]{0,8}(?:合计|累计|共计|新增)[0-9一二三四五六七八九十百]+起|成(?:为)?被告|被(?:投资者|客户|股民)?(?:集体)?起诉|遭(?:集体)?起诉|集体起诉|新增原告|虚假陈述|非法吸收公众存款|非法集资|"
    r"诈骗案|受贿|行贿|贿赂|职务侵占|挪用资金|刑事强制措施|立案侦查|被捕|落马|被双开|司法冻结|被(?:法院)?(?:轮候)?冻结|"
    r"失信被执行|(?:列为|成为)被执行人|限制高消费|操纵(?:证券)?市场|内幕交易|利益输送"
)
_P_MEASURES = (
    r"(?:被|遭)暂停(?:了)?[^，。！？\n]{0,8}(?:业务|资格|[0-9一二三四五六七八九十两]+个月)|业务被暂停|被罚了|又[^，。！？\n]{0,4}被罚|吃(?:了)?[^，。！？\n]{0,4}罚单|(?:展望|评级)[^，。！？\n]{0,4}负面|负面观察|列入[^，。！？\n]{0,6}观察名单|监管警示|书面警示|出具(?:了)?警示|暂停[^，。！？\n]{0,8}(?:资格|新开|新增|业务)|取消[^，。！？\n]{0,6}资格|"
    r"调出[^，。！？\n]{0,8}(?:成分股|指数|名单)|纪律处分|自律监管措施|公开谴责|被(?:交易所|协会|监管)?问询|"
    r"评级[^，。！？\n]{0,8}(?:下调|调降|降至|降为|连降)|连降[两二三]档|下调(?:至|为)?[“「]?(?:中性|减持|卖出|回避|谨慎)"
)
_P_RESULTS = (
    r"(?:连续|接连)[一二三四五六七八九十两0-9]+(?:个)?(?:季度|月|年)(?:下降|下滑|减少|亏损|下跌|缩水|上升)|跌幅偏离值|(?:市值|股价|规模|利润|资产)[^，。！？\n]{0,4}蒸发(?:了)?(?:近|超过?)?(?:[一二三四五六七八九]成|[0-9.]+(?:亿|%))|跌出(?:行业)?前[一二三四五六七八九十0-9]+|强调事项段|保留意见|其他应收款[^，。！？\n]{0,10}(?:多了|增加|激增)|fell [0-9]|plunged|slumped|tumbled|investigation|fined |penalty|lawsuit|downgraded|无法(?:对|就)?[^，。！？\n]{0,16}发表意见|由盈转亏|首次(?:年度|出现)?亏损|(?:预亏|预计亏损|亏损额)|(?:归母)?净利润(?:为|预计为)?-|"
    r"(?:份额|比例|覆盖率|净资本|资本|净利润|营收|收入|规模|市值|评分|客户数|户数|资金|持股|余额|排名)[^，。！？\n]{0,6}"
    r"(?:由|从)[^，。！？\n]{0,8}?[0-9.]+%?(?:降至|降到|跌至|下降至)[0-9.]+%?|(?:shares|stock) (?:fell|dropped|plunged|slumped)|probe|"
    r"(?:净利润|利润|营收|收入|业绩|资产|规模|客户|份额|市值|资金|余额|资本|股价)[^。！？\n]{0,14}?"
    r"(?:同比|较年初|环比|较上年|较去年)[^，。！？\n]{0,3}(?:减少|下降|下滑|缩水|锐减|下跌)(?:了)?(?:[2-9][0-9])(?:\.[0-9]+)?%|"
    r"同比-[2-9][0-9]|(?:降幅|跌幅|亏损)(?:最大|居前|居首|第一)|(?:累计|年内|今年以来)(?:下跌|跌幅|跌了)(?:达|超过?)?[2-9][0-9]%|"
    r"(?:逼近|跌破|低于|接近)[^，。！？\n]{0,8}(?:预警线|警戒线|平仓线|监管标准)|收益率[^，。！？\n]{0,8}上行|用脚投票|避而不谈|"
    r"缩水(?:了)?(?:[2-9][0-9])%|规模[^，。！？\n]{0,8}(?:缩到|缩至|腰斩)|回撤(?:了)?(?:超|逾)?[1-9][0-9](?:\.[0-9]+)?%"
)
_P_PEOPLE = (
    r"辞职[^。！？\n]{0,12}(?:个人原因|上任仅|仅[0-9一二三四五六七八九十]+个?月)|上任(?:仅|才|不到)[0-9一二三四五六七八九十]+|"
    r"[0-9一二三四五六七八九十两]+(?:位|名)高管(?:相继)?(?:离任|离职|辞职)|(?:大股东|控股股东|第[一二三]大股东|实控人)[^，。！？\n]{0,10}(?:减持|质押|冻结)|"
    r"(?:紧急|突然|临时|短暂)停牌|停牌(?:核查|自查)|暂停上市|未能(?:在规定期限内|按时|如期|按期)[^，。！？\n]{0,6}(?:刊发|披露|发布|提交)|人去楼空|主动辞任|讨要说法|(?:门口|楼下|大厅)[^，。！？\n]{0,6}聚集|找上(?:了)?门|"
    r"(?:绩效|奖金|年终奖|工资|薪水)[^，。！？\n]{0,4}(?:砍了?一半|砍半|没了|取消)|降薪(?:[0-9一二三四五六七八九十]+[成%])|"
    r"(?:诉讼|仲裁)(?:、|和|及)?(?:仲裁)?金额|涉诉金额|(?:投资|本息|借款|款项|债券)[^，。！？\n]{0,4}(?:已)?逾期|"
    r"(?:算不算|是不是|这不是|这不就是|不就是)(?:误导|欺诈|虚假宣传|捆绑销售|违规|诈骗)|私下(?:卖|售|收|操作|交易)|钱(?:都|就)?没了|"
    r"比[^，。！？\n]{0,12}还慢|离谱(?:的)?(?:价位|价格)|价格对不上|(?:到|去)柜台办理|让我飞过去|少了[0-9一二三四五六七八九十两]+(?:千|万|百)|"
    r"资料不全|拒不(?:提供|退还|赔偿|处理|配合)|(?:年终奖|奖金|工资)[^，。！？\n]{0,8}(?:暂缓|延迟|缓发|推迟)|(?:延迟|推迟)[^，。！？\n]{0,4}发放|补录|"
    r"审计组(?:已经?)?进驻|(?:评级|建议)[^，。！？\n]{0,10}改成[“\"「]?买入|这行真脏|诉讼标的|收到法院传票|起诉(?:了)?公司|"
    r"计提[^，。！？\n]{0,10}减值(?:准备|损失)|减少[^，。！？\n]{0,8}利润总额|吃掉[^，。！？\n]{0,6}利润|末位淘汰|自营在拉|智障|"
    r"被冻(?:结)?(?:了)?[一二三四五六七八九十两几0-9]+天|异常在哪|(?:打过去|电话)是空号|找不到(?:对账单|人|记录)|(?:单日|一天)?跌去[一二三四五六七八九]成|"
    r"不要报道|没做过的(?:转出|交易)|还没(?:开放)?赎回|(?:员工|经理|客户经理)?代答|代(?:行|为履行)职责|未说明原因|一星评价|"
    r"(?:写信|举报|反映|投诉)(?:给|到|至)(?:证监局|证监会|监管)|发错给|录音流出|卖就完了|(?:明天|明日)必涨|必涨停|"
    r"(?:未经|没有?)(?:我的?)?授权|不是我签的|私自开通|代签|表外|拳头产品|(?:每条|一条)[0-9.]+元|"
    r"无法(?:对|就)?[^，。！？\n]{0,10}发表意见|穿制服的人|没牌照的车|(?:亏|赔)了[0-9一二三四五六七八九十两]+(?:多)?万|"
    r"统一口径|(?:数据|业绩|开户数)[^，。！？\n]{0,6}(?:凑的|刷的|造假|注水)"
)
_P_CLIENTS = (
    r"(?:APP|app|App|软件|系统)?(?:也|都|又)能崩|(?:也|又)挂了|[Bb][Uu][Gg]|停在一个价|网络异常|(?:钱|资金|款)[^，。！？\n]{0,6}(?:还)?(?:没|未)(?:到账|退回)|"
    r"少了一截|(?:当|成)?提款机|真敢收|给(?:个|一个)?说法|已经[一二三四五六七八九十两几0-9]+(?:周|个月|天)|(?:管不管|有人管吗)|"
    r"赎回不了|取不出(?:来)?|(?:踩|暴|爆)了[^，。！？\n]{0,8}(?:债|雷)|虚假宣传|走过场|底稿缺失|联系不上|失联|"
    r"偷偷(?:给我)?(?:开|开通|办|改|扣)|骂了我|拍胸脯|稳赚不赔|保本保息|兜底|收益承诺|承诺函|转(?:钱|账|资金)?到(?:他的|个人)账户|"
    r"人工智障|复读机|这就是你们的(?:诚信|服务|专业)|评分[^，。！？\n]{0,8}(?:降到|跌到|跌至)|一星(?:差评|评论)|"
    r"(?:暂停|停止)[^，。！？\n]{0,8}(?:开户|宣传|销售)"
)
COMPLAINT_KINDS: tuple[tuple[str, str], ...] = (
    ("其他", _P_LEGAL),
    ("监管处罚", _P_MEASURES),
    ("其他", _P_RESULTS),
    ("其他", _P_PEOPLE),
    ("客户投诉", _P_CLIENTS),
    ("交易系统故障", _P_OUTAGE),
    ("其他", _P_TOUT),
    ("客户投诉", _P_SCORN),
    ("不实信息", _DOUBT_WORDS[:-1] if _DOUBT_WORDS.endswith("|") else _DOUBT_WORDS),
    ("其他", _P_BANKING),
    ("数据泄露", _P_SECURITY),
    ("员工不当言论", _P_UPROAR),
    ("客户投诉", _P_PRICING),
    ("客户投诉", _P_FEES),
    ("客户投诉", _P_ACCOUNT),
    ("客户投诉", _P_SERVICE),
    ("客户投诉", _P_SELLING),
    ("员工不当言论", _P_STAFF),
    ("数据泄露", _P_DATA),
    ("高管负面", _P_MANAGEMENT),
    ("其他", _P_LABOUR),
    ("产品亏损/兑付", _P_PRODUCT),
    ("客户投诉", _P_ACCUSED),
    ("客户投诉", _P_SARCASM),
)
_COMPLAINT = re.compile("|".join(f"(?P<k{i}>{p})" for i, (_, p) in enumerate(COMPLAINT_KINDS)))


def _first_chars(pattern: str) -> str | None:
    """The characters a match of ``pattern`` can begin with, or None when any can (or the standard
    library's parser is not there to tell): a one-class scan finds the places worth trying the long
    alternation at, which is many times faster than trying it everywhere."""
    try:
        import re._constants as sc  # noqa: PLC0415 (3.11+)
        import re._parser as sp  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return None

    def first(items: list) -> set[str] | None:
        out: set[str] = set()
        for op, av in items:
            if op is sc.LITERAL:
                return out | {chr(av)}
            if op is sc.IN:
                for o, a in av:
                    if o is sc.LITERAL:
                        out.add(chr(a))
                    elif o is sc.RANGE and a[1] - a[0] <= 64:
                        out.update(chr(c) for c in range(a[0], a[1] + 1))
                    else:
                        return None
                return out
            if op is sc.SUBPATTERN or op is sc.BRANCH:
                alts = [list(av[-1])] if op is sc.SUBPATTERN else [list(a) for a in av[1]]
                for alt in alts:
                    f = first(alt)
                    if f is None:
                        return None
                    out |= f
                return out
            if op in (sc.MAX_REPEAT, sc.MIN_REPEAT):
                f = first(list(av[2]))
                if f is None:
                    return None
                out |= f
                if av[0] >= 1:
                    return out
                continue
            if op in (sc.ASSERT, sc.ASSERT_NOT, sc.AT):
                continue
            return None
        return None

    try:
        chars = first(list(sp.parse(pattern)))
    except Exception:  # pragma: no cover - an unknown opcode: go without the shortcut
        return None
    return "".join(sorted(chars)) if chars else None


_COMPLAINT_FIRST = _first_chars(_COMPLAINT.pattern)
_COMPLAINT_AT = re.compile("[" + re.escape(_COMPLAINT_FIRST) + "]") if _COMPLAINT_FIRST else None


def _complaint_matches(text: str, start: int, end: int) -> Iterable[re.Match[str]]:
    """``_COMPLAINT.finditer(text, start, end)``, trying the alternation only where a match can begin."""
    if _COMPLAINT_AT is None:
        yield from _COMPLAINT.finditer(text, start, end)
        return
    pos = start
    for c in _COMPLAINT_AT.finditer(text, start, end):
        if c.start() < pos:
            continue
        m = _COMPLAINT.match(text, c.start(), end)
        if m is not None and m.end() > m.start():
            yield m
            pos = m.end()


# a predicate in a rule (不得诱导), a warning (谨防被骗), a hypothesis or a question of how things work
# (如果被强平, 什么时候会被强平, 券商有权强制平仓) states no fact
_NOT_A_FACT_BEFORE = re.compile(
    r"不得|禁止|严禁|不准|不允许|不能|不应|杜绝|防止|防范|谨防|警惕|打击|严防|避免|远离|识别|如何|怎样|怎么防|"
    r"如果|若是|假如|万一|一旦|如遇|遇到|何时|什么时候|哪些情况|会不会|是否|有权|可以|才(?:可以|能|会)|会被|将被|可能|演练|演习|模拟|"
    r"以免|以防|小心|当心|别被|不要被|不会被|辨别|提防|甄别|揭秘|盘点|防|别踩|避免踩|小心踩"
)
# a predicate in a slogan or a campaign's name (开展“拒绝误导销售”培训)
_SLOGAN_BEFORE = re.compile(r"(?:拒绝|杜绝|严禁|禁止|反对|抵制|远离)[“「\"]?$|[“「]$")
_QUOTE_ONLY = re.compile(r"[“「]$")
# …a quoted word as the name of a kind of problem (“乱收费”问题, “飞单”现象)
_FRAME_AFTER_QUOTE = re.compile(
    r"[^”」\n]{0,8}[”」](?:等)?(?:问题|现象|行为|乱象|专项|整治|治理|风险|陷阱|套路|骗局)"
)
# …but a quote after a verb of saying is what was said (说“跟存款差不多”): the pitch itself
_SAID_BEFORE = re.compile(r"(?:说|称|讲|道|告诉我|保证|承诺|表示|忽悠)[：:]?[“「\"]$")
_HEARSAY_ASKS = re.compile(r"有人说|听说|网传|据说|传言|传闻|是不是|是否")
# a predicate negated (从不乱收费, 并没有被强平, 不存在误导销售)
_PREDICATE_NEGATED = re.compile(
    r"(?:从不|绝不|决不|从来不|从来没有?|从没|从未|并未|未曾|并没有|没有|不存在|不会|不曾|并非|不是|无|未|没)"
    r"[被受到遭过出现发生存在任何有]{0,3}$|"
    # a negated happening governs a few words more (并不存在股票质押爆仓的情况, 未发生客户信息泄露)
    r"(?:不存在|并不存在|并无|未发生|没有发生|并未发生|未出现|没有出现|并未出现|(?:未|没有|并未|从未|不)(?:参与|涉及|持有|承销|销售|代销))"
    r"[^，。！？\n]{0,6}$"
)
# a post that teaches (科普, 投教, 一文读懂): its predicates describe, they do not tell what happened
_TEACHING = re.compile(
    r"科普|投教|小课堂|知识|指南|须知|问答|解读|一文读懂|攻略|干货|答疑|课堂|案例分析|风险揭示|传授|教你|方法|技巧|"
    r"警示教育|以案(?:为鉴|说法|释法|示警|促改)|典型案例"
)
# the complaint is lodged against the firm: 投诉X, 向X投诉, 举报X, 起诉X (X one of our names)
_AGAINST_BEFORE = re.compile(
    r"(?:投诉|举报|起诉|状告|控告|曝光|曝|爆料|起底)(?:了|过)?(?:对象)?[：:]?\s*$|"
    r"(?:投诉|问题|纠纷)[^，。！？\n]{0,6}(?:集中|最多)(?:的)?(?:是|为|在)\s*$"
)
_AGAINST_AFTER = re.compile(
    r"^[^，。！？\n]{0,6}(?:投诉|举报|索赔|维权)(?!渠道|热线|电话|处理|量|率|方式|途径|平台|受理|管理|一键|入口|通道|功能)"
)

# a staff member's or executive's remark that belittles or blames the clients (亏钱怪自己不学习, 你们这些
# 韭菜, 股价不是我们要关心的事)
_SPEAKER = re.compile(
    r"员工|客户经理|理财经理|分析师|研究员|投顾|经纪人|营业部|工作人员|首席|经济学家|董事长|总经理|总裁|副总|"
    r"高管|董秘|客服|经理|老板|负责人|[\u4e00-\u9fff]总(?=[说称表讲在的是：:，,“「])"
)
_SPEECH = re.compile(
    r"说|称|表示|讲|直言|放话|原话|回怼|怼|骂|嘲讽|直播|朋友圈|发文|留言|喊话|回复|答复|坦言|声称|[：:][“「\"]|[“「]"
)
_BELITTLE = re.compile(
    r"(?:散户|客户|投资者|股民|小股东|中小股东|你们|这些人|老百姓|股东|亏钱的|亏了的|赔钱的|被套的)[^，。！？\n]{0,12}"
    r"(?:活该|反思|怪自己|怪不得|怨不得|别怪|自己的问题|不学习|没文化|没脑子|太蠢|蠢|傻|不配|自找|赌徒|接盘|韭菜|"
    r"不值得|送钱|交学费|不听话|是猪|是狗|蠢货|傻子|白痴|废物|脑残)|"
    r"(?:亏钱|赔钱|赚不到钱|亏损|被套|赔了|亏了)[^。！？\n]{0,12}(?:是因为|因为|怪|在于|都是|多半是|主要是|还是)"
    r"[^。！？\n]{0,10}(?:自己|不读书|不学习|不懂|太贪|贪心|追涨杀跌|不听|活该|水平|心态)|"
    r"(?:不是|并非|不归)[^，。！？\n]{0,10}(?:目标客户|需要关心|要关心|关心的|考虑的|该管的|操心的)|"
    r"(?:不需要|没必要|不用|无需)[^，。！？\n]{0,6}(?:关心|在乎|操心)(?:股价|散户|小股东|客户)?|"
    r"(?:不满意|不喜欢|嫌贵|嫌高|受不了|有意见)[^，。！？\n]{0,8}(?:走人|卖掉|卖股票|别买|销户|滚|用脚投票)|"
    r"股价[^，。！？\n]{0,12}(?:与|跟|和)(?:公司|我们)[^，。！？\n]{0,4}(?:无关|没关系|没有关系)|"
    r"(?:分红|股价|回报|小股东|中小股东|股东回报|市值)[^，。！？\n]{0,6}(?:不是重点|不重要|不是我们考虑|不在考虑|不关心|无所谓)|"
    r"爱买不买|爱来不来|不差你|韭菜|割不完"
)


def short_post_about_us(reading: Reading) -> bool:
    """A short post that opens with our name and names no one else, reads as neither a teaching post nor a
    market comment nor a question asking for information, negates nothing about us and says nothing reads
    well: its mood is about us."""
    if not reading.whole or reading.others or reading.many_firms or reading.disowned:
        return False
    if asks(reading.text) or _HYPOTHETICAL.search(reading.text, 0, 40):
        return False
    text = reading.masked.text
    sentences = spans(_SENTENCE, text)
    if sentences and _TEACHING.search(text, sentences[0][0], sentences[0][1]):
        return False
    if (
        reading.negation_in_firm_part()
        or reading.masked.neutral
        or ALL_CLEAR.search(text)
        or FINE.search(text)
    ):
        return False
    return MARKET.search(text) is None and _MARKET_VIEW.search(text) is None and not trading_talk(text)


# talk of trading and price action (主力流出, 放量, 割肉, 上车): its mood is the trader's, not news of the firm
TRADING_TALK = re.compile(
    r"主力|资金(?:流出|流入|净流)|北向|放量|缩量|K线|均线|支撑位|压力位|筹码|洗盘|出货|吸筹|止损|割肉|加仓|减仓|"
    r"补仓|套牢|被套|上车|踏空|抄底|后市|走势|技术面|MACD|成交量|换手|高开|低开|拉升|跳水|反弹|回调|"
    r"涨了|跌了|还要跌|还要涨|大涨|大跌|飘红|拿不动|不看盘|看盘|接(?:个)?盘|做T|利空出尽|利好出尽|"
    r"[0-9]+块[0-9]?(?:的时候|买|卖|进|出)?|[0-9]+(?:\.[0-9]+)?(?:元|块)(?:进|买|接|出)"
)


def trading_talk(text: str) -> bool:
    return TRADING_TALK.search(text[:MAX_RULE_CHARS]) is not None


# what a research note or an outlook says (研报, 预计, 看淡, 目标价): its gloom is about the market
_MARKET_VIEW = re.compile(
    r"研报|报告|预计|预测|展望|或将|看淡|看空|低配|超配|评级|目标价|行业|板块|经济|降息|加息|通胀|通缩"
)


_SPEECH_VERB = re.compile(r"称|表示|回应|声明|公告|强调|指出")
_WITH = re.compile(r"[与和跟同]")


def disowns_for(reading: Reading, mentions: Sequence[Mention], target: str) -> bool:
    """Whether the post's disowning speaks for ``target``: it says so itself (X称与Y无关: X), or, with no
    speaker, it is named in a sentence that disowns (X和Y没有关系); not the one disowned (Y)."""
    for a, b in reading.disowned_at:
        ms = [m for m in mentions if a <= m.start < b and m.role != EXCLUDED and m.entity == target]
        for m in ms:
            speech = _SPEECH_VERB.search(reading.text, a, b)
            if speech is None:
                return True
            if m.start < speech.start():
                return True  # the speaker
            # named after the speech verb, after 与/和: the one disowned
    return not any(a <= m.start < b for a, b in reading.disowned_at for m in mentions if m.entity == target)


def subject_at(
    text: str,
    mentions: Sequence[Mention],
    at: int,
    *,
    default: str | None = None,
    clause_only: bool = False,
) -> str | None:
    """The watched entity a predicate at ``at`` is about: the last one named before it in its clause, else the
    first one named in its sentence (its subject); None when that is another organisation (兰州银行…被指违规)
    or when the sentence names no one and there is no ``default`` (the post's one target). ``clause_only``
    (a post naming several of ours): only one named in its clause."""
    text = text[:MAX_RULE_CHARS]
    ss = max(text.rfind(c, 0, at) for c in "。！？!?；;\n") + 1
    ends = [j for j in (text.find(c, at) for c in "。！？!?；;\n") if j != -1]
    se = min(ends, default=len(text))
    cs, _ = _clause_of(text, at)
    named = [(m.start, m.entity if m.role != EXCLUDED else None) for m in mentions if ss <= m.start < se]
    named += [
        (m.start() - 2, None)
        for m in _ORG_SUFFIX.finditer(text, ss, se)
        if not _covered(m.start() - 2, mentions)
        and text[m.start() - 1 : m.start()] not in _VERB_BEFORE_OBJECT
    ]
    named.sort()
    in_clause = [e for p, e in named if cs <= p < at]
    if in_clause and in_clause[0] is None and text.startswith(("被", "遭"), at):
        return None  # 兰州银行推微信、支付宝扫码取款被指违规: the clause's subject is accused
    if in_clause:
        return in_clause[-1]
    if clause_only:
        return None
    if named:
        return named[0][1]
    return default


def _covered(i: int, mentions: Sequence[Mention]) -> bool:
    return any(m.start <= i < m.end or m.start <= i + 2 < m.end for m in mentions)


@dataclass(frozen=True)
class Complaint:
    phrase: str
    topic: str
    at: int  # where it stands in the text
    entity: str | None = None  # whom it is lodged against, when the text says so (投诉X)


MAX_COMPLAINTS = 8  # a post's first complaints say enough (and a huge post costs no more)


# a negation within a predicate's own words (控股股东所持股份【不存在】被冻结情形)
_NEGATED_INSIDE = re.compile(r"不存在|并未|没有被|未被|不涉及|并无")
_SPEECH_OPENERS = ("说", "称", "声称", "号称")  # …unless it quotes the firm's denial to rebut it


# ---------------------------------------------------------------- figures that got worse

# A figure of the firm told twice, then and now, the later worse (客户数：98.2万户，10月为112.6万户; 营业部数量：年初126家，
# 年末89家; 宣传6%，实际-11%; 上月还是5.8，这个月变6.5 for a rate): a fact against it in numbers alone.
_FIGURE = re.compile(
    r"(?<![0-9.A-Za-z])(-?[0-9]+(?:\.[0-9]+)?)\s*(万亿|亿|万|千)?\s*(%|户|家|元|块|人|个|只|倍)?"
)
_THEN = re.compile(
    r"(?:上期|上月|上周|上季度?|去年|上年|年初|此前|之前|以前|原来|原先|原本|曾经?|宣传(?:的)?|承诺(?:的)?|说好(?:的)?|"
    r"预期|定增(?:价格?|价)|发行价|买入价|高点|巅峰|最高|鼎盛(?:时)?|(?:从|由))[^，。；！？\n0-9]{0,6}$"
)
_NOW = re.compile(
    r"(?:现在|最新|目前|年末|年底|实际(?:上)?|这个月|本月|本期|今年|现|当前|如今|变成?了?|只剩|仅剩|降至|降到|跌至|跌到|"
    r"缩水至|缩至|剩下|只有|仅有|就剩|(?:调|涨|升|提)(?:到|至))[^，。；！？\n0-9]{0,6}$"
)
_CHANGE_BEFORE = re.compile(
    r"(?:下降|增长|上升|减少|增加|下滑|提升|降低|回落|上涨|下跌|增幅|降幅|跌幅|涨幅|同比|环比|多了|少了)(?:了|约|近|超过?|逾|达)?$"
)
_MONTH = re.compile(r"(1[0-2]|[1-9])月(?:份)?[^，。；！？\n0-9]{0,10}$")
# what the figure measures: more is better (客户数, 净值, 收益) or worse (利率, 佣金, 投诉)
_MORE_IS_BETTER = re.compile(
    r"ROE|roe|客户数|客户|户数|净值|营业部|网点|分支机构|利润|净利|收入|营收|股价|市值|规模|收益|资产|份额|评分|覆盖率|净资本|员工|人数"
)
_MORE_IS_WORSE = re.compile(r"利率|费率|佣金|手续费|服务费|管理费|费用|投诉|罚款|亏损|回撤")
_FIGURE_TOPIC = (
    ("净值", "产品亏损/兑付"),
    ("收益", "产品亏损/兑付"),
    ("利率", "客户投诉"),
    ("费", "客户投诉"),
    ("佣金", "客户投诉"),
)
_SCALE = {"万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3}


def _same_unit(a: str, b: str) -> bool:
    return a == b or {a, b} == {"", "元"}


def worse_figures(text: str, s: int, e: int) -> tuple[str, str, int] | None:
    """(what, topic, where) when the sentence text[s:e] gives one figure of the firm then and now and the
    later is worse by a tenth or more (or turns from gain to loss); None otherwise."""
    seen: list[tuple[str, float, str, int, str]] = []  # (then/now/month/"", value, unit, at, as written)
    for m in _FIGURE.finditer(text, s, e):
        lead = text[max(s, m.start() - 12) : m.start()]
        if _CHANGE_BEFORE.search(lead):
            continue  # a rate of change (同比下降30%), not the figure itself
        if _THEN.search(lead):
            when = "then"
        elif _NOW.search(lead):
            when = "now"
        elif mo := _MONTH.search(lead):
            when = "m" + mo.group(1)
        else:
            when = ""
        try:
            v = float(m.group(1)) * _SCALE.get(m.group(2) or "", 1.0)
        except ValueError:
            continue
        if _MONTH.match(text, m.start()) or text.startswith(("年", "日", "号", "季", "个月"), m.end()):
            continue  # a date, not a figure
        unit = {"块": "元"}.get(m.group(3) or "", m.group(3) or "")
        seen.append((when, v, unit, m.start(), m.group(0).strip()))
    if len(seen) < 2:
        return None
    then = now = None
    marked = [x for x in seen if x[0] in ("then", "now")]
    months = [x for x in seen if x[0].startswith("m")]
    if any(x[0] == "then" for x in marked):
        then = next(x for x in seen if x[0] == "then")
        now = next((x for x in seen if x[0] == "now"), None) or next(
            (x for x in seen if x is not then and x[0] == "" and _same_unit(x[2], then[2])), None
        )
    elif len(months) >= 2 and months[0][0] != months[1][0]:
        a, b = months[0], months[1]
        then, now = (a, b) if int(a[0][1:]) < int(b[0][1:]) else (b, a)
    elif months and (x := next((y for y in seen if y[0] == "now"), None)):
        then, now = months[0], x
    if then is None or now is None or not _same_unit(then[2], now[2]) or then[1] == now[1]:
        return None
    head = text[max(0, s - 40) : max(then[3], now[3])]
    better = _MORE_IS_BETTER.search(head)
    worse = _MORE_IS_WORSE.search(head)
    if worse and (not better or worse.end() > better.end()):
        bad = now[1] > then[1] * 1.1 if then[1] > 0 else now[1] > then[1]
        what = worse.group(0)
    elif better:
        bad = (now[1] < then[1] * 0.9) if then[1] > 0 else False
        bad = bad or (then[1] > 0 > now[1])
        what = better.group(0)
    else:
        return None
    if not bad:
        return None
    topic = next((t for w, t in _FIGURE_TOPIC if w in what), "其他")
    return f"数字变差：{what}由{then[4]}变为{now[4]}", topic, min(then[3], now[3])


def complaints(reading: Reading, mentions: Sequence[Mention]) -> list[Complaint]:
    """What the post says the firm (its staff, its service) did to clients, in the parts about the firm:
    complaint and misconduct predicates not negated (从未乱收费), not in a rule, a warning, a hypothesis
    or a teaching post, not done by a third party (不法分子冒用…诱导); a complaint lodged against the firm
    (投诉X, 举报X); a staff member's remark that belittles clients (the first ``MAX_COMPLAINTS`` of each)."""
    text = reading.text
    masked = reading.masked.text
    out: list[Complaint] = []
    sentences = spans(_SENTENCE, text)
    sent_starts = [s for s, _ in sentences]
    teaching = bool(sentences) and _TEACHING.search(text, sentences[0][0], sentences[0][1]) is not None
    firm_starts = [a for a, _ in reading.firm_spans]

    def about_us(i: int) -> bool:
        if reading.whole:
            return True
        k = bisect.bisect_right(firm_starts, i) - 1
        return k >= 0 and reading.firm_spans[k][0] <= i < reading.firm_spans[k][1]

    def third_party(i: int) -> bool:
        k = bisect.bisect_right(sent_starts, i) - 1
        s, e = sentences[k] if k >= 0 and sentences[k][0] <= i < sentences[k][1] else (i, i)
        return (
            THIRD_PARTY.search(text, s, e) is not None
            and _VICTIM.search(text, s, e) is None
            and _STAFF_IMPERSONATES.search(text, s, e) is None
        )

    regions = [(0, len(text))] if reading.whole else reading.firm_spans
    hits = (m for a, b in regions for m in _complaint_matches(masked, a, b)) if not teaching else iter(())
    if not teaching:
        for m in hits:
            i = m.start()
            if not about_us(i) or third_party(i):
                continue
            cs, ce = _clause_of(text, i)
            if _NOT_A_FACT_BEFORE.search(text, cs, i) or (
                (slogan := _SLOGAN_BEFORE.search(text, max(cs, i - 4), i))
                and not _SAID_BEFORE.search(text, max(0, i - 6), i)
                # a bare quote is a scare quote on the accusation (佣金“双标”惹不满), unless it names a kind
                and not (_QUOTE_ONLY.fullmatch(slogan.group(0)) and not _FRAME_AFTER_QUOTE.match(text, i))
            ):
                continue
            if (
                _PREDICATE_NEGATED.search(text, max(cs, i - 8), i)
                or (_NEGATED_INSIDE.search(m.group(0)) and not m.group(0).startswith(_SPEECH_OPENERS))
            ) and not _is_question(text, ce):
                continue
            if _is_question(text, ce) and _HEARSAY_ASKS.search(text, max(0, cs - 12), i):
                continue  # 有人说X客户数据泄露？: hearsay asked about, the rumor rules read it
            k = int(next(g for g, v in m.groupdict().items() if v is not None)[1:])
            out.append(Complaint(m.group(0), COMPLAINT_KINDS[k][0], i))
            if len(out) >= MAX_COMPLAINTS:
                break
    ours = [m for m in mentions if m.role != EXCLUDED]
    for m in ours:
        before = text[max(0, m.start - 8) : m.start]
        if _AGAINST_BEFORE.search(before) or (
            before.endswith(("向", "找")) and _AGAINST_AFTER.search(text[m.end : m.end + 12])
        ):
            cs, _ = _clause_of(text, m.start)
            if not _NOT_A_FACT_BEFORE.search(text, cs, m.start) and not teaching:
                out.append(Complaint("投诉/举报" + m.alias, "客户投诉", m.start, m.entity))
                break
    # a figure of ours then and now, the later worse (年初126家，年末89家)
    if not teaching:
        for s, e in sentences:
            if (reading.whole or about_us(s) or about_us(e - 1)) and (fig := worse_figures(text, s, e)):
                what, topic, at = fig
                out.append(Complaint(what, topic, at))
                break
    # staff saying it is none of theirs (客服说跟他们没关系): buck-passing
    for s, e in sentences:
        bp = _BUCK_PASSING.search(text, s, e)
        d = _DISOWN.search(text, bp.end(), e) if bp else None
        if d is not None and (reading.whole or about_us(s) or about_us(bp.start())):
            out.append(Complaint(text[bp.start() : d.end()][-16:], "客户投诉", bp.start()))
            break
    remarks = 0
    for s, e in sentences:
        sp = _SPEAKER.search(text, s, e)
        if sp is None or _SPEECH.search(text, sp.end(), e) is None:
            continue
        b = _BELITTLE.search(text, sp.end(), e)
        if b is None or third_party(b.start()):
            continue
        k = bisect.bisect_right(firm_starts, e - 1)
        if not (reading.whole or any(a < e and s < bb for a, bb in reading.firm_spans[max(0, k - 8) : k])):
            continue
        exec_ = any(t in text[s:e] for t in EXECUTIVE_TITLES) or re.match(r"[\u4e00-\u9fff]总", sp.group(0))
        out.append(Complaint(b.group(0), "高管负面" if exec_ else "员工不当言论", b.start()))
        remarks += 1
        if remarks >= MAX_COMPLAINTS:
            break
    out.sort(key=lambda c: c.at)
    return out


__all__ = [
    "DeskContext",
    "Masked",
    "Reading",
    "Repost",
    "STATEMENT_MARK",
    "Statement",
    "Complaint",
    "claim_of",
    "complaints",
    "denial_in",
    "denies",
    "doubts",
    "executive_title_in",
    "firm_count",
    "has_keyword",
    "is_official",
    "live_keyword_in_sentence",
    "mask_keywords",
    "other_orgs",
    "read",
    "reading_text",
    "residual_text",
    "resolve_lookalikes",
    "routine_price_move",
    "short_post_about_us",
    "market_gloom_elsewhere",
    "subject_at",
    "disowns_for",
    "trading_talk",
    "FINE",
    "MARKET",
    "statement_kind",
    "unwrap_repost",
]


def residual_text(text: str, masked: Masked) -> str | None:
    """The post without the clauses that hold a negated keyword or deny membership, when it has any
    (the models then read what is left: does the post say anything negative besides what it denies?)."""
    if not masked.negated and not masked.not_listed:
        return None
    negated_at = [s for (s, _), kind in zip(masked.masked_at, masked.kinds, strict=True) if kind == "neg"]
    keep = []
    for s, e in spans(_CLAUSE, text):
        if any(s <= p < e for p in negated_at) or any(a < e and s < b for a, b in masked.not_listed):
            continue
        keep.append(text[s:e])
    return "，".join(keep)
