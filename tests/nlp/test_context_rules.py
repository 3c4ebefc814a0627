"""The desk's context rules (nlp/context_rules.py), on a fictional firm of their own: 枫桥证券.

The functions are tested on their own, and the analyzer with the tiny injected sentiment model and no
entity or rumor model, so that each outcome here is the rule's, not a trained model's."""

from __future__ import annotations

import numpy as np
import pytest

from nlp import context_rules as rules
from nlp.analyzer import Analyzer
from nlp.rumor import RumorModel
from nlp.sentiment import LinearSentimentClassifier
from nlp.watchlist import EXCLUDED, WatchList

FIRM = {
    "name": "枫桥证券股份有限公司",
    "short_names": ["枫桥证券", "枫桥"],
    "stock_codes": ["688999"],
    "executives": ["沈立言"],
    "products": ["枫桥e通", "枫桥稳盈2号", "稳盈2号"],
    "exclude": ["枫桥银行", "枫桥远帆"],
}
BAR = "fq-guba"


@pytest.fixture(scope="module")
def wl() -> WatchList:
    return WatchList.from_firm(
        FIRM["name"],
        short_names=FIRM["short_names"],
        stock_codes=FIRM["stock_codes"],
        executives=FIRM["executives"],
        products=FIRM["products"],
        exclude=FIRM["exclude"],
        extra=[{"name": "枫桥资管", "aliases": ["枫桥证券资管"], "kind": "subsidiary"}],
    )


@pytest.fixture
def desk(wl, tiny_model) -> Analyzer:
    """Rules only: the tiny sentiment model (差 → negative, 好 → positive), no entity or rumor model."""
    return Analyzer(
        wl,
        tiny_model,
        target_model=None,
        rumor_model=None,
        rescue=None,
        context={"about_firm_sources": [BAR], "official_accounts": ["枫桥证券财富"]},
    )


def one(analyzer: Analyzer, text: str, **post) -> dict:
    return analyzer.analyze([{"text": text, **post}])[0]


def said(a: dict, word: str) -> bool:
    return any(word in r for r in a["reasons"])


# ------------------------------------------------------------------------------------ repost chains


def test_a_repost_that_only_says_repost_is_read_as_what_it_carries():
    rp = rules.unwrap_repost("转发微博\n//转发 @股市老刘：听说枫桥证券要被立案了")
    assert rp is not None and rp.carried_only
    assert rp.carried_from == ("股市老刘",) and rp.carried_text == "听说枫桥证券要被立案了"
    text, _ = rules.reading_text("[怒][怒]//@小周:真的假的//@老刘:枫桥证券客户资料被打包卖了")
    assert text == "真的假的\n枫桥证券客户资料被打包卖了"
    # own words of substance: the repost is read as it is
    own = "早说了这家不行//@老刘:枫桥证券客户资料被打包卖了"
    assert rules.reading_text(own)[0] == own
    assert rules.unwrap_repost("枫桥证券今天开门红") is None


def test_a_bare_repost_of_a_rumor_is_the_rumor(desk):
    a = one(desk, "转发微博\n//转发 @股市老刘：听说枫桥证券董事长被带走调查了，据说是内部消息")
    assert a["targets"] == ["枫桥证券"] and a["falsity"]["label"] == "rumor" and a["flagged"]
    assert said(a, "转发链") and said(a, "转发扩散")


def test_a_bare_repost_of_the_firms_own_post_is_its_announcement(desk):
    a = one(desk, "转发微博\n//转发 @枫桥证券：【澄清公告】网传我司董事长被带走调查系不实信息，差评谣言")
    assert a["targets"] == ["枫桥证券"] and not a["flagged"]  # kept as ours: it joins the rumor's event
    assert said(a, "转发本司官方发布")


# ---------------------------------------------------------------------------------------- look-alikes


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("枫桥科技董事长辞职", "枫桥科技"),
        ("枫桥区一小区停电", "枫桥区"),
        ("枫桥农商银行信用卡乱收费", "枫桥农商银行"),
        ("枫桥星辰3号私募净值腰斩", "枫桥星辰3号"),
        ("踩雷枫桥星辰系列的举手", "枫桥星辰系列"),
    ],
)
def test_a_short_name_followed_by_another_organisation_or_product_is_someone_else(wl, text, other):
    mentions, reasons = rules.resolve_lookalikes(text, wl.find(text, include_excluded=True), wl)
    assert [(m.entity, m.role) for m in mentions] == [(other, EXCLUDED)]
    assert reasons and other in reasons[0]


@pytest.mark.parametrize(
    "text",
    [
        "枫桥稳盈系列今年亏了",
        "枫桥这家券商又崩了",
        "枫桥投资者见面会",
        "枫桥市值跌破百亿",
        "枫桥证券基金投顾",
    ],
)
def test_our_own_products_and_ordinary_words_after_the_short_name_stay_ours(wl, text):
    mentions, _ = rules.resolve_lookalikes(text, wl.find(text, include_excluded=True), wl)
    assert mentions and all(m.role != EXCLUDED for m in mentions)


def test_an_excluded_name_covers_longer_names_and_products_that_begin_with_it(desk):
    a = one(desk, "枫桥远帆7号又跌了，差，管理人枫桥银行理财子公司也不回应")
    assert a["targets"] == [] and not a["flagged"]
    assert said(a, "枫桥远帆7号") and said(a, "枫桥银行")


# --------------------------------------------------------------------------------- about the firm


def test_a_source_declared_about_the_firm_makes_unnamed_posts_the_firms(desk):
    a = one(desk, "这票的APP又闪退了，开盘半小时进不去", source=BAR)
    assert a["targets"] == ["枫桥证券"] and a["flagged"] and a["topic"] == "交易系统故障"
    assert said(a, "来源声明")
    assert not one(desk, "这票的APP又闪退了，开盘半小时进不去", source="别的论坛")["flagged"]
    # a post there about another institution is not ours
    assert one(desk, "松岩证券今天也宕机了", source=BAR)["targets"] == []
    assert not one(desk, "今天大盘放量，继续持有", source=BAR)["flagged"]


def test_an_executive_title_in_a_post_about_the_firm_is_its_executive(desk):
    a = one(desk, "董事长在股东大会上说散户亏钱怪自己，差劲", source=BAR)
    assert a["topic"] == "高管负面" and a["flagged"]


def test_the_official_accounts_posts_are_its_announcements(desk):
    for author in ("枫桥证券", "枫桥证券官方微博", "枫桥证券财富"):
        a = one(
            desk, "【服务说明】今日开盘后部分用户登录延迟、委托失败，目前已恢复，差评我们认", author=author
        )
        assert a["targets"] == ["枫桥证券"] and not a["flagged"] and said(a, "本司官方"), author


# ------------------------------------------------------------------------------ negation and denial


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("枫桥证券并未被处罚", "处罚"),
        ("此次检查中枫桥证券未被采取任何监管措施", "监管措施"),
        ("公司不存在违规担保", "违规"),
        ("枫桥证券从未泄露客户个人信息", "泄露"),
        ("公告称公司未收到任何立案调查通知书", "立案"),
        ("枫桥证券不在此次被责令改正的名单中", "责令改正"),
        ("枫桥证券否认了自营巨额亏损的说法", "亏损"),
    ],
)
def test_a_negated_keyword_is_masked(text, negated):
    m = rules.mask_keywords(text)
    assert negated not in m.text and m.negated


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("客服没有回复我的投诉", "投诉"),  # the negation is of 回复, not of the complaint
        ("营业部无人处理投诉", "投诉"),
        ("这不是乱收费吗？", "乱收费"),  # a rhetorical question affirms
        ("这不是乱收费是什么？？", "乱收费"),
        ("是不是被处罚了", "处罚"),
        ("产品到期未兑付", "未兑付"),  # a failure, not a denial
    ],
)
def test_a_negation_of_something_else_or_a_question_keeps_the_keyword(text, kept):
    assert kept in rules.mask_keywords(text).text


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("开展投资者维权知识宣讲，讲解投诉渠道", "投诉"),
        ("共建个人信息保护联合实验室", "个人信息"),
        ("提醒投资者谨防个人信息泄露", "泄露"),
        ("签约共同防范数据泄露风险", "泄露"),
        ("近期有不法分子冒用公司名义，诱导投资者转账", "诱导"),
    ],
)
def test_a_keyword_in_a_neutral_frame_is_masked(text, word):
    m = rules.mask_keywords(text)
    assert word not in m.text and m.neutral


def test_a_negated_penalty_neither_sets_the_topic_nor_flags(desk):
    a = one(desk, "枫桥证券并未被处罚，也未被采取任何监管措施")
    assert a["targets"] == ["枫桥证券"] and a["topic"] == "其他" and not a["flagged"]
    assert said(a, "否定/否认")
    control = one(desk, "枫桥证券被处罚，被采取监管措施")
    assert control["topic"] == "监管处罚" and control["flagged"]


def test_negativity_resting_only_on_a_denied_fact_is_dropped(desk):
    a = one(desk, "枫桥证券并未被处罚差")  # the one clause read negative holds only the denial
    assert a["negative_targets"] == [] and not a["flagged"] and said(a, "负面说法被否定")
    b = one(desk, "枫桥证券并未被处罚，但是服务差")  # what is left still says something negative
    assert b["negative_targets"] == ["枫桥证券"] and b["flagged"]


# ------------------------------------------------------------- own statements, relayed clarifications


@pytest.mark.parametrize(
    "text",
    [
        "枫桥证券辟谣：“暂停融资融券业务”消息不实",
        "枫桥证券回应董事长被带走传闻：纯属谣言",
        "针对网传“公司被立案调查”的消息，枫桥证券回应称，公司未收到任何立案调查通知，经营一切正常。",
        "枫桥证券提醒投资者：谨防不法分子冒用公司名义开展荐股，诱导转账的都是骗局。",
    ],
)
def test_relayed_denials_and_warnings_are_not_alerts_but_stay_ours(desk, text):
    a = one(desk, text + "差")
    assert a["targets"] == ["枫桥证券"] and not a["flagged"] and a["falsity"]["label"] == "none"
    assert said(a, "不另预警")


def test_a_clarification_asking_readers_not_to_believe_rumors_is_still_one(desk):
    a = one(desk, "枫桥证券发布澄清公告：网传“总经理失联”不实。公司提醒投资者不信谣、不传谣。差")
    assert not a["flagged"] and said(a, "不另预警")


def test_the_firms_awareness_campaign_is_not_an_alert(desk):
    a = one(desk, "枫桥证券走进校园开展“识破荐股骗局”投资者教育活动\n讲解了杀猪盘、假冒APP等骗局的套路，差")
    assert a["targets"] == ["枫桥证券"] and not a["flagged"] and said(a, "投教/反诈宣传")
    # a campaign report that also tells of a penalty is read as it is
    assert one(desk, "枫桥证券开展反诈宣传活动。此前枫桥证券因员工违规被出具警示函")["flagged"]


@pytest.mark.parametrize(
    "text",
    [
        "网传枫桥证券董事长被带走，公司至今未澄清",  # asked for, not given
        "这次不是谣言了，枫桥证券真的被立案了",
        "枫桥证券辟谣了，但群里都在说下周就要爆雷，谁信",  # doubted
        "针对网友质疑，枫桥证券回应称，客服没有及时处理客户诉求，深表歉意，服务差",  # an admission
        "骗子冒充枫桥证券客服骗了我十万，客服说提醒过了不负责，投诉无门",  # a victim's complaint
    ],
)
def test_what_is_no_denial_is_read_as_it_is(desk, text):
    assert rules.statement_kind({}, text, names=["枫桥证券", "枫桥"]) is None
    assert one(desk, text)["flagged"]


def test_official_account_names(wl):
    names = ["枫桥证券", "枫桥"]
    assert rules.is_official("枫桥证券", names) and rules.is_official("枫桥证券官微", names)
    assert rules.is_official("枫桥财富号", names, ["枫桥财富号"])
    assert not rules.is_official("枫桥证券吧友", names) and not rules.is_official("", names)
    # a platform-verified account named after the firm is the firm's; a short name alone is too common
    assert rules.is_official("枫桥证券研究所", names, verified=True)
    assert not rules.is_official("枫桥证券研究所", names) and not rules.is_official(
        "枫桥老王", names, verified=True
    )


# ----------------------------------------------------------------------------- lists of many firms


def test_how_many_firms_a_post_is_about(wl):
    def count(text: str) -> int:
        return rules.firm_count(text, wl.find(text, include_excluded=True))

    assert count("松岩证券、汀州证券、澄江证券、枫桥证券获评AA") == 4
    assert count("辖区十二家证券公司接受检查") == 12
    assert count("盘点一下：松岩、汀州、澄江、白沙……一共29家，") == 29
    assert count("枫桥证券融资利率7.8%，松岩证券都降到5%了") == 2  # a comparison is not a list


def test_a_firm_named_in_a_list_is_negative_only_in_its_own_clause(desk):
    a = one(desk, "松岩证券、汀州证券、澄江证券被处罚，服务差差。枫桥证券表现好获评AA级")
    assert a["targets"] == ["枫桥证券"] and a["sentiment"]["label"] == "negative"
    assert a["negative_targets"] == [] and not a["flagged"]
    assert said(a, "多家机构并列") and said(a, "话题词未指向本司")
    b = one(desk, "十二家券商中，松岩证券、汀州证券各有一张罚单，枫桥证券收到五张罚单")
    assert b["flagged"] and b["topic"] == "监管处罚"


# ------------------------------------------------------------ keywords are not facts about us alone


@pytest.mark.parametrize(
    "text",
    [
        "证监系统前三季度作出行政处罚决定四百余件。枫桥证券合规投入增长两成。",
        "新规要求券商发生系统故障时30分钟内报告。枫桥证券表示将严格落实。",
        "枫桥证券2025年第一期短期融资券将于下周按期兑付本息。",
        "枫桥证券与财经大学共建个人信息保护联合实验室。",
        "枫桥证券走进社区开展投资者维权知识宣讲，讲解投诉渠道。",
    ],
)
def test_a_topic_keyword_that_says_nothing_negative_about_us_does_not_flag(desk, text):
    assert not one(desk, text)["flagged"]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("枫桥证券APP今天上午系统故障，两个小时无法交易", "交易系统故障"),
        ("枫桥证券发布公告。公告显示，公司收到证监局警示函。", "监管处罚"),  # 公司 refers back to us
        ("枫桥证券回应“客户信息在暗网出售”：已报警并启动排查", "数据泄露"),  # answered, not denied
        ("枫桥证券营业部办个销户要收200块，这跟宰客有啥区别", "客户投诉"),
    ],
)
def test_a_topic_keyword_about_us_flags(desk, text, topic):
    a = one(desk, text)
    assert a["flagged"] and a["topic"] == topic


def test_a_regulators_name_alone_is_no_penalty(desk):
    a = one(desk, "枫桥证券的客户可以向证监局反映")
    assert a["topic"] != "监管处罚" and not a["flagged"]


# ------------------------------------------------------------------------------ falsity on every post


def test_the_rumor_model_judges_every_post_not_only_those_naming_us(wl, tiny_model):
    clf = LinearSentimentClassifier(
        ["囧"], idf=np.ones(1), coef=[[-6.0, 6.0]], intercept=[0.0, 0.0], labels=["non-rumor", "rumor"]
    )
    analyzer = Analyzer(wl, tiny_model, target_model=None, rumor_model=RumorModel(clf))
    stranger, ours = analyzer.analyze([{"text": "某券商要暴雷了囧"}, {"text": "枫桥证券要暴雷了囧"}])
    assert stranger["targets"] == [] and stranger["falsity"]["label"] == "rumor"
    assert stranger["falsity"]["score"] == ours["falsity"]["score"]
    assert not stranger["flagged"] and ours["flagged"]  # flagging still needs us
