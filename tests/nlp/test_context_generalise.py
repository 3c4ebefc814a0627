"""The context rules that make detection generalise beyond the worlds they were tuned on
(nlp/context_rules.py), on a fictional firm of their own with wordings of their own: 霁川证券.

Each rule is a general linguistic or structural rule; the examples are written for this firm only. The
analyzer runs with the tiny injected sentiment model (差 → negative, 好 → positive) and no entity or rumor
model unless a test says otherwise, so that each outcome is the rule's, not a trained model's."""

from __future__ import annotations

import pytest

from nlp import context_rules as rules
from nlp.analyzer import Analyzer
from nlp.falsity import FalsityDetector
from nlp.watchlist import EXCLUDED, WatchList

FIRM = {
    "name": "霁川证券股份有限公司",
    "short_names": ["霁川证券", "霁川"],
    "stock_codes": ["688777"],
    "executives": ["温景行"],
    "products": ["霁川易达", "霁川稳盈3号", "稳盈3号"],
    "exclude": ["霁川银行"],
}
BAR = "jc-guba"


def firm_watchlist(extra=()) -> WatchList:
    """The watch list of 霁川证券 (FIRM), with ``extra`` watched entities."""
    return WatchList.from_firm(
        FIRM["name"],
        short_names=FIRM["short_names"],
        stock_codes=FIRM["stock_codes"],
        executives=FIRM["executives"],
        products=FIRM["products"],
        exclude=FIRM["exclude"],
        extra=extra,
    )


@pytest.fixture(scope="module")
def wl() -> WatchList:
    return firm_watchlist()


def rules_only(wl: WatchList, tiny_model) -> Analyzer:
    """An analyzer of the rules alone: the tiny sentiment model, no entity or rumor model, BAR declared."""
    return Analyzer(
        wl,
        tiny_model,
        target_model=None,
        rumor_model=None,
        rescue=None,
        context={"about_firm_sources": [BAR]},
    )


@pytest.fixture
def desk(wl, tiny_model) -> Analyzer:
    return rules_only(wl, tiny_model)


def one(analyzer: Analyzer, text: str, **post) -> dict:
    return analyzer.analyze([{"text": text, **post}])[0]


def said(a: dict, word: str) -> bool:
    return any(word in r for r in a["reasons"])


# ------------------------------------------------------------------------------------- look-alikes


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("霁川重工宣布裁员八百人", "霁川重工"),
        ("霁川药业的仿制药被药监局处罚", "霁川药业"),
        ("霁川湖景区周末人山人海", "霁川湖"),
        ("霁川恒达商贸有限公司拖欠货款被起诉", "霁川恒达商贸有限公司"),
    ],
)
def test_a_short_name_and_an_industry_place_or_company_word_is_someone_else(wl, text, other):
    mentions, reasons = rules.resolve_lookalikes(text, wl.find(text, include_excluded=True), wl)
    assert [(m.entity, m.role) for m in mentions] == [(other, EXCLUDED)] and reasons


def test_a_bare_short_name_needs_something_of_finance_around_it(wl, desk):
    poem = "读到一句“霁川烟雨”，差点哭出来，太差了这天气"
    mentions, reasons = rules.resolve_lookalikes(poem, wl.find(poem, include_excluded=True), wl)
    assert all(m.role == EXCLUDED for m in mentions) and "无证券/金融语境" in reasons[-1]
    assert one(desk, poem)["targets"] == []
    # a stock bar's slang is finance too: 这票 (this stock), the price, a position bought and sold
    for text in (
        "霁川又闪退了，差",
        "霁川的佣金太差了",
        "霁川山寨APP骗钱，差",
        "霁川这票天天跌，8块买的亏惨了",
    ):
        assert one(desk, text)["targets"] == ["霁川证券"], text
    # in the firm's own bar a bare short name is the firm's anyway
    assert one(desk, "霁川加油", source=BAR)["targets"] == ["霁川证券"]


# ------------------------------------------------------------------------------ disowning, comparing


@pytest.mark.parametrize(
    "text",
    [
        "霁川化工和霁川证券不是一回事，前者爆雷了，差",
        "别把霁川证券跟霁川资本混为一谈，出事的是后者",
        "霁川证券声明：网传跑路的P2P平台与本公司无关",
    ],
)
def test_a_post_that_says_its_news_is_not_about_us_is_no_alert(desk, text):
    a = one(desk, text)
    assert a["targets"] == ["霁川证券"] and not a["flagged"], a["reasons"]


def test_a_bar_post_that_says_the_penalty_was_someone_elses_is_no_alert(desk):
    a = one(desk, "罚单上写的是隔壁那家券商的名字，跟咱们这票没关系，差点吓死", source=BAR)
    assert not a["flagged"] and said(a, "与本司无关")


def test_staff_passing_the_buck_is_a_complaint_not_a_disowning(desk):
    a = one(desk, "在霁川证券买的产品亏了，客服说跟他们没关系，让我自己找销售")
    assert a["flagged"] and a["negative_targets"] == ["霁川证券"]


@pytest.mark.parametrize(
    "text",
    [
        "松岩证券又被罚了，警示函一张接一张，差。霁川证券这回倒是没事",
        "松岩证券APP崩了一上午，差评，霁川证券的用户没受影响",
        "证监局通报检查结果：霁川证券等6家无问题，另有3家被责令整改",
    ],
)
def test_a_firm_whose_own_clause_is_all_clear_is_not_blamed_for_the_others(desk, text):
    a = one(desk, text)
    assert a["targets"] == ["霁川证券"] and not a["flagged"], a["reasons"]


# ---------------------------------------------------------------------- complaints and misconduct


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("霁川证券的客户经理拿客户的钱去炒股", "员工不当言论"),
        ("在霁川证券办销户，拖了三个星期还没办好", "客户投诉"),
        ("霁川证券的投顾把我拉黑了", "客户投诉"),
        ("霁川证券没到平仓线就把我平了", "客户投诉"),
        ("霁川证券营业部门口一早就有人拉横幅", "客户投诉"),
        ("举报霁川证券某营业部代客理财", "客户投诉"),
        ("霁川证券理财经理推荐时称产品很稳健，现在净值下跌超过25%", "产品亏损/兑付"),
        ("霁川稳盈3号延期兑付，管理人称产品运作良好", "产品亏损/兑付"),
        ("霁川证券强制员工自购公司理财产品，完不成扣绩效", "其他"),
        ("霁川证券客户的身份资料在聊天群里明码标价", "数据泄露"),
        ("中签缴款以后，霁川证券把我账户的钱全冻住了", "客户投诉"),
        ("曝：霁川证券某营业部向客户兜售未上市公司股权", "客户投诉"),
    ],
)
def test_a_complaint_or_misconduct_about_us_flags_whatever_the_sentiment(desk, text, topic):
    a = one(desk, text)
    assert a["flagged"] and a["negative_targets"] == ["霁川证券"], a["reasons"]
    assert a["topic"] == topic or said(a, "话题："), a["reasons"]
    assert said(a, "投诉/不当行为指向本司")


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券从不乱收费，佣金都写在合同里",
        "霁川证券出台规定：严禁员工代客理财、私下收受客户资金",
        "霁川证券科普：什么情况下两融账户会被强制平仓？",
        "如果霁川证券的APP宕机，投资者可以电话委托",
        "网友问在霁川证券开户会不会被乱收费？答：不会",
        "霁川证券提醒：谨防不法分子冒充员工诱导转账",
        "霁川证券召开合规会议，部署打击飞单、误导销售等违规行为",
        "霁川证券2025年客户投诉量同比下降三成",
        "霁川证券这次专项检查并未被处罚，也未被出具警示函",
        "券商罚单盘点：松岩证券、汀州证券、澄江证券罚单最多，霁川证券、白沙证券全年零罚单",
        "新规要求：券商发生系统故障须在30分钟内报告，霁川证券称已修订应急预案",
        "霁川证券反诈提示：凡是让您转账到个人账户的，都是诈骗，请勿诱导家人操作",
    ],
)
def test_a_predicate_in_a_denial_a_rule_a_hypothesis_or_a_lesson_states_no_fact(desk, text):
    a = one(desk, text)
    assert a["targets"] == ["霁川证券"] and not a["flagged"], a["reasons"]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("霁川证券的投顾在群里说亏钱的散户活该", "员工不当言论"),
        ("霁川证券首席在论坛上说，股民赔钱都是因为自己太贪", "员工不当言论"),
        ("霁川证券的营业部经理在沙龙上说：“炒股亏了的，多半是心态不行”", "员工不当言论"),
        ("霁川证券董事长称股价涨跌跟公司没有关系，不满意可以卖股票走人", "高管负面"),
    ],
)
def test_a_staff_remark_that_belittles_clients_is_misconduct(desk, text, topic):
    a = one(desk, text)
    assert a["flagged"] and a["topic"] == topic, a["reasons"]


def test_a_complaint_in_a_post_naming_several_of_ours_needs_its_own_clause(wl, tiny_model):
    both = Analyzer(
        wl.restrict(["霁川证券"]), tiny_model, target_model=None, rumor_model=None, rescue=None
    )  # one target: a complaint in the post is about it
    assert one(both, "霁川证券开户送的体验金，到期说不给，玩文字游戏")["flagged"]
    assert rules.subject_at("松岩银行推霁川证券的扫码开户被指违规", [], 12) is None


# ----------------------------------------------------------------------------- statements, denials


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券回应“高管被带走”：系恶意编造，已报警",
        "霁川证券回应称，公司从未向任何机构出售客户信息，网传截图系伪造",
        "股吧有人说霁川证券被罚了，我查了一下，根本没这回事",
        "更正：昨天我转的“霁川证券暂停两融”是假的，两融业务正常，差点误导大家",
        "霁川证券配合警方打掉一个仿冒其APP的诈骗团伙，公安机关已对嫌疑人立案侦查",
        "有人说霁川证券信息泄露？我问了客户经理，公司没有泄露",
        "有大V说霁川证券要暴雷，通篇臆测，连个出处都没有，别信",
    ],
)
def test_denials_corrections_and_the_firm_fighting_impersonators_are_not_alerts(desk, text):
    a = one(desk, text)
    assert a["targets"] == ["霁川证券"] and not a["flagged"], a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券多扣了我两百块，客服说没这回事，可交割单上写得清清楚楚",
        "霁川证券高管称“股价下跌与公司无关”，引发投资者不满",
        "霁川证券员工冒充客户签字开通了创业板",
    ],
)
def test_what_only_looks_like_a_denial_is_read_as_it_is(desk, text):
    a = one(desk, text)
    assert a["flagged"], a["reasons"]


# ------------------------------------------------------------------------ whose mood, which market


def test_trading_talk_in_the_firms_bar_is_the_traders_mood(desk):
    assert not one(desk, "主力又在出货，明天还要跌，差", source=BAR)["flagged"]
    assert one(desk, "这家的客服电话永远占线，差", source=BAR)["flagged"]


def test_the_markets_gloom_is_not_the_firms(desk):
    a = one(desk, "霁川证券的APP挺好用，就是今天大盘太差了，差差差")
    assert not a["flagged"] and said(a, "大盘")


def test_a_routine_share_price_move_is_market_data():
    assert rules.routine_price_move("霁川证券今天跌了1.5%")
    assert not rules.routine_price_move("霁川证券今天跌停")
    assert not rules.routine_price_move("霁川稳盈3号净值下跌12%")


def test_a_short_post_that_opens_with_us_and_reads_negative_is_about_us(wl, tiny_model):
    text = "霁川证券的服务真差"
    r = rules.read(text, wl.find(text))
    assert rules.short_post_about_us(r)
    for other in ("霁川证券研报：地产行业差", "霁川证券这两天跌了，没上车，心情差", "霁川证券挺好，大盘差"):
        assert not rules.short_post_about_us(rules.read(other, wl.find(other))), other


# ------------------------------------------------------------------------------------ keywords, cues


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("如果APP宕机了，投资者可以电话委托", "宕机"),
        ("全年投诉量同比下降三成", "投诉"),
        ("部署打击飞单、误导销售等违规行为", "违规"),
    ],
)
def test_hypotheses_improving_measures_and_governing_frames_mask_keywords(text, word):
    m = rules.mask_keywords(text)
    assert word not in m.text and m.neutral


def test_hearsay_of_corporate_trouble_is_a_rumor():
    det = FalsityDetector()
    assert det.check("听说霁川证券要裁员了").label == "rumor"
    assert det.check("群里都在传霁川证券要被合并").label == "rumor"
    assert det.check("霁川证券今日公告拟收购一家期货公司").label == "none"  # a claim alone is news


def test_the_firms_own_department_is_not_another_organisation(desk):
    a = one(desk, "听说公司资管部门有人被带走了，有知道的吗", source=BAR)
    assert a["targets"] == ["霁川证券"] and a["flagged"] and a["falsity"]["label"] == "rumor"


def test_management_cutting_dividends_after_saying_otherwise_is_against_it(desk):
    a = one(desk, "温总说公司资金充裕，可是分红比例年年降", source=BAR)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司")


def test_a_bare_repost_of_an_internal_notice_is_a_rumor(desk):
    a = one(desk, "转发微博//@老股民:霁川证券真的要暂停两融？//@消息灵通:内部通知，霁川证券下周暂停两融")
    assert a["flagged"] and a["falsity"]["label"] == "rumor" and said(a, "转发链")


# ------------------------------------------------------- facts that are bad news without a bad word


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("霁川证券保荐项目上会被否，年内已是第三单", "其他"),
        ("上市七个月业绩变脸，保荐机构霁川证券收到交易所问询函", "其他"),
        ("霁川证券APP存在越权漏洞，部分客户的持仓可被他人查看", "数据泄露"),
        ("霁川证券首席分析师称“年轻人不买房就是不孝”，引发热议", "员工不当言论"),
        ("霁川证券佣金双标，老客户万2.5新客户万0.85", "客户投诉"),
        ("开户时霁川证券的融资利率说好5.5，第二个月悄悄调到7.2", "客户投诉"),
    ],
)
def test_bad_news_told_as_plain_fact_is_flagged(desk, text, topic):
    a = one(desk, text)
    assert a["targets"] == ["霁川证券"] and a["flagged"], a["reasons"]
    assert said(a, "投诉/不当行为指向本司") and (a["topic"] == topic or topic == "其他"), a


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券保荐的项目从未被否，执业质量一直不错",
        "澄清一下：被否的那个项目签字保代是联合保荐方的人，不是霁川证券的，别再带节奏了",
        "霁川源投资的产品千万别买，跟霁川证券一点关系都没有，就是蹭名字的私募，老板已经失联，差",
    ],
)
def test_the_same_words_negated_or_disowned_are_no_alert(desk, text):
    a = one(desk, text)
    assert not a["flagged"], a["reasons"]


def test_cue_words_are_words_not_substrings():
    det = FalsityDetector()
    guideline = "证监会要求证券公司在传统业务和新业务中均建立应急机制，根据说明书执行"
    assert det.check(guideline).cues == () and det.check(guideline).label == "none"
    assert "据说" in det.check("据说明年还要关四十家营业部").cues
    assert "求证" in det.check("记者就此向霁川证券求证，截至发稿未获回复").cues


def test_a_bare_short_name_with_layoffs_is_the_firm(desk):
    assert one(desk, "听说霁川那边年底要裁三成人，研究所先开刀")["targets"] == ["霁川证券"]


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("投诉对象：霁川源投资 投诉问题：无法赎回、失联，差", "霁川源投资"),
        ("霁川长青投资的私募爆雷了，老板跑路，差", "霁川长青投资"),
    ],
)
def test_a_short_name_a_word_and_an_organisation_suffix_is_someone_else(wl, desk, text, other):
    mentions, reasons = rules.resolve_lookalikes(text, wl.find(text, include_excluded=True), wl)
    assert [m.role for m in mentions] == [EXCLUDED] and mentions[0].entity.startswith(other) and reasons
    assert not one(desk, text)["flagged"]


def test_a_sentence_after_a_short_name_is_not_taken_for_a_name(wl):
    text = "霁川今天投资了一家科技公司，差"
    mentions, _ = rules.resolve_lookalikes(text, wl.find(text, include_excluded=True), wl)
    assert [(m.entity, m.role != EXCLUDED) for m in mentions] == [("霁川证券", True)]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("倒是霁川证券今年一张罚单都没吃，合规这块做得可以", "一张罚单都没吃"),
        ("霁川证券投行处罚风险基本出清，估值修复可期", "处罚风险基本出清"),
        ("双方将围绕隐私计算开展联合研究", "隐私计算"),
    ],
)
def test_none_at_all_and_a_risk_cleared_state_no_trouble(text, kept):
    m = rules.mask_keywords(text)
    assert any(kept in p for p in m.negated + m.neutral), (m.negated, m.neutral)
    assert "罚单" not in m.text and "处罚" not in m.text and "隐私" not in m.text


def test_an_ellipsis_ends_the_list_before_the_firms_own_clause(desk):
    text = "盘点今年吃罚单的券商：东沅证券、嘉陵证券、长汀证券、丰谷证券……倒是霁川证券今年一张罚单都没吃，合规做得可以"
    a = one(desk, text)
    assert a["targets"] == ["霁川证券"] and not a["flagged"], a["reasons"]
    fined = "盘点今年吃罚单的券商：东沅证券、嘉陵证券、长汀证券、丰谷证券……霁川证券也吃了一张罚单"
    assert one(desk, fined)["flagged"]


def test_a_reply_that_puts_the_trouble_on_impersonators_relays_a_denial(desk):
    relay = "霁川证券回应“客户资金被盗”：系仿冒APP所致 公司系统未被攻破。近日，社交平台流传多张截图，称有投资者资金被盗。"
    assert rules.denial_in(relay) in ("系仿冒", "未被攻破")
    assert not one(desk, relay)["flagged"]
    admitted = "霁川证券回应“客户资金被盗”：APP存在越权漏洞，已向客户致歉。近日，社交平台流传多张截图。"
    assert rules.denial_in(admitted) is None and one(desk, admitted)["flagged"]


# ------------------------------------------------------------------- how the firm is written


def test_a_traditional_script_report_is_read_as_the_firm_and_its_facts(desk):
    a = one(desk, "霁川證券董事長遭留置 內地券商反腐風暴再起")
    assert a["targets"] == ["霁川证券"] and a["flagged"] and said(a, "留置")


def test_the_firms_pinyin_initials_and_zq_name_it(wl):
    # 霁川 → JC; written to get past a filter, in any case
    for text in ("JC证券的客服又不接电话", "jc证券又崩了", "霁川zq的APP打不开", "霁川证劵的经理"):
        assert [m.entity for m in wl.find(text)] == ["霁川证券"], text


def test_a_name_variant_is_only_made_for_a_chinese_stem_before_securities():
    from nlp.watchlist import name_variants

    assert name_variants(["霁川证券", "霁川", "ABC证券"]) == ["霁川zq", "JC证券", "jczq", "霁证"]
    # X证 that is a word or another's (中证指数) is never made; 证 beginning a word is not the name
    assert name_variants(["中泰证券"]) == ["中泰zq", "ZT证券", "ztzq"]
    wl = WatchList.from_firm("霁川证券股份有限公司", short_names=["霁川证券", "霁川"])
    assert [m.alias for m in wl.find("听说霁证要裁员")] == ["霁证"]
    assert wl.find("霁证书") == [] and wl.find("霁证券") == []


# ------------------------------------------------------------------------------ hearsay


@pytest.mark.parametrize(
    "text",
    [
        "听业内朋友说，霁川证券自营盘这次亏了几十亿，有点紧张",
        "有消息说年底前要换总裁，霁川证券那边已经在交接了",
        "坊间盛传霁川证券投行部整个团队被查，不知真假",
        "听说霁川证券年底要裁三成人，研究所先开刀",
    ],
)
def test_hearsay_of_trouble_at_the_firm_is_a_rumor(desk, text):
    a = one(desk, text)
    assert a["falsity"]["label"] == "rumor" and a["flagged"] and said(a, "不实线索")


def test_claims_of_trouble_without_hearsay_are_a_report_not_a_rumor():
    # 暴雷 and a loss in billions, told as facts (a company's results): no one says they heard it
    r = FalsityDetector().check("霁川重工暴雷了，三季度直接亏了十几亿")
    assert r.label == "none"
    assert FalsityDetector().check("听说霁川重工亏了十几亿").label == "rumor"


# ------------------------------------------------------------ complaints in their own words


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("霁川证券的客服转人工排队87位，等到收盘也没接通", "客户投诉"),
        ("感谢霁川证券让我体会到销户比离婚还难，三个月了还在审核中", "客户投诉"),
        ("霁川证券营业部天天跟老人说稳盈3号跟银行存款一样", "客户投诉"),
        ("霁川证券投行三个月无休，没有加班费，项目奖金也缓发", "其他"),
        ("霁川证券外包离职员工导出了三千多条客户信息", "数据泄露"),
    ],
)
def test_a_calm_or_sarcastic_complaint_is_still_against_the_firm(desk, text, topic):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]
    assert a["topic"] == topic


# ------------------------------------------------------------- the firm's own word, and answers


def test_the_firms_own_account_announcing_its_own_bad_news_is_still_an_alert(desk):
    bad = one(desk, "【公告】公司董事长温景行先生被实施留置，由总裁代为履行董事长职责。", author="霁川证券")
    assert bad["flagged"] and said(bad, "本司官方发布的坏消息")
    # …its clarification of a rumor is not
    calm = one(desk, "【澄清公告】网传董事长被留置系谣言，董事长正常履职。", author="霁川证券")
    assert not calm["flagged"] and said(calm, "本司官方账号发布")


def test_a_firm_answering_for_a_leak_is_not_a_fraud_notice(desk):
    a = one(
        desk,
        "霁川证券回应客户信息泄露：系外包公司离职员工违规导出，涉及三千名客户。公司发布风险提示：谨防冒充客服的诈骗电话。",
    )
    assert a["flagged"] and not said(a, "本司防骗/风险提示")


def test_a_question_about_the_firm_answered_no_is_a_denial(desk):
    a = one(desk, "好几个人私信问我霁川证券是不是暴雷了。没有！三季度净利润还增长了12%，别被标题党带节奏。")
    assert not a["flagged"] and said(a, "澄清/否认转述")


def test_even_if_it_is_a_rumor_is_not_a_denial(desk):
    a = one(desk, "霁川证券董事长留置，网上还在传总裁也出事了。就算是谣言，这种管理层状态还能信吗？太差了")
    assert a["flagged"] and not said(a, "澄清/否认转述")


@pytest.mark.parametrize(
    "text",
    [
        "科普：券商系统故障造成损失怎么索赔？以霁川证券的客户协议为例，先截图、再投诉、最后才是诉讼。",
        "城投债会不会大面积爆雷 霁川证券固收首席今天路演说，城投债违约风险总体可控，爆雷主要集中在弱资质区县平台",
        "霁川证券：未持有恒屿地产相关债券。针对市场关注的恒屿地产债券违约事项，霁川证券表示，公司均未持有。",
        "中证协：三季度证券业投诉处理满意度提升，霁川证券等12家券商投诉处理满意度超过95%",
    ],
)
def test_trouble_words_in_teaching_analysis_or_anothers_default_are_no_alert(desk, text):
    a = one(desk, text)
    assert not a["flagged"], a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券营业部的小哥天天给我妈打电话推稳盈3号，说“跟存款一样，稳的”，净值0.7几",
        "在霁川证券开的户，新股中签了，账户里明明有钱却算我弃购！截图给客服看余额也不认",
        "在霁川证券投行干了三年，这个季度没休过一个周末，加班费？不存在的。",
    ],
)
def test_what_staff_said_and_what_the_firm_would_not_own_are_complaints(desk, text):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "券商APP年内故障次数统计：霁川证券五次居首，大多数券商全年故障不超过一次",
        "新客万0.85老客万2.5 霁川证券佣金“双标”惹老股民不满",
    ],
)
def test_singled_out_in_a_tally_or_a_scare_quoted_accusation_is_against_the_firm(desk, text):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]


def test_a_quoted_word_naming_a_kind_of_problem_is_not_an_accusation(desk):
    a = one(desk, "霁川证券开展“乱收费”问题自查，欢迎客户监督")
    assert not said(a, "投诉/不当行为指向本司"), a["reasons"]


def test_hearsay_that_the_firm_stepped_on_a_mine_is_a_rumor():
    assert (
        FalsityDetector().check("听说霁川证券的资管有二十来亿踩了别家地产的雷，年底前要爆出来").label
        == "rumor"
    )


@pytest.mark.parametrize(
    "text",
    [
        "霁川茶楼被曝使用过期食材，市场监管局已立案调查",
        "霁川股份：收到行政处罚决定书",
    ],
)
def test_a_shop_or_another_listed_company_with_the_short_name_is_someone_else(desk, text):
    a = one(desk, text)
    assert a["targets"] == [] and not a["flagged"], a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券首席经济学家：房地产风险正在出清，违约潮不会重演",
        "霁川证券研报：下调某医药公司评级，警示其商誉减值和财务造假风险",
        "霁川证券2025年度合规报告：全年未发生重大合规风险事件，未受到行政处罚",
        "霁川证券回应：网传“营业部关闭”系正常撤并调整，客户服务不受影响",
    ],
)
def test_research_views_a_sanction_not_received_and_a_routine_explanation_are_no_alert(desk, text):
    a = one(desk, text)
    assert not a["flagged"], a["reasons"]


def test_a_researchers_remark_that_is_itself_the_news_is_still_read(desk):
    a = one(desk, "霁川证券首席经济学家称散户就是韭菜，言论引发争议")
    assert a["flagged"] and not said(a, "本司研究观点")


def test_a_paragraph_that_brings_the_firm_in_goes_on_about_it(desk):
    text = (
        "两融投资者遭遇强平潮\n本周以来，小盘股连续急跌，不少融资融券账户维持担保比例快速下降。\n"
        "投资者陈先生是霁川证券的两融客户。他说，账户仍高于平仓线，营业部却在十几分钟内将持仓全部卖出，"
        "至今没有给出解释。\n另有两位在其他券商开户的投资者表示，平仓前收到过短信提醒。"
    )
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]
    # …the paragraph stops at another organisation: its trouble is not ours
    other = one(
        desk, "投资者陈先生是霁川证券的老客户。他另在丰谷证券开了户，丰谷证券营业部至今没有给出解释。"
    )
    assert not other["flagged"], other["reasons"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("查了证监局官网，这次两融检查的整改名单里没有霁川证券，别瞎传了，传谣的人太差了", "澄清/否认转述"),
        (
            "互动平台上董秘回复：霁川证券目前生产经营正常，不存在应披露而未披露的重大事项，请以公告为准。",
            "澄清/否认转述",
        ),
        (
            "霁川证券合规总监：从三起罚单看营业部员工的执业红线，以行业内被处罚的典型案例讲解执业规范",
            "话题词属中性用法",
        ),
    ],
)
def test_a_denial_the_secretarys_answer_and_teaching_cases_are_no_alert(desk, text, why):
    a = one(desk, text)
    assert not a["flagged"] and said(a, why), a["reasons"]


def test_another_firms_fine_naming_us_as_a_former_employer_is_not_ours(desk):
    text = (
        "投顾违规荐股被罚没三百余万元 丰谷证券及两名员工收罚单\n"
        "证监局公布的行政处罚决定书显示，丰谷证券投资顾问刘某通过私人账号收费荐股，证监局对丰谷证券出具警示函。\n"
        "决定书显示，刘某此前曾在霁川证券任职，于今年初入职丰谷证券，上述违规行为均发生在其入职丰谷证券之后。"
    )
    a = one(desk, text)
    assert not a["flagged"], a["reasons"]


def test_hearsay_in_the_part_of_a_long_article_about_others_is_not_our_rumor(desk):
    text = (
        "券商瘦身进行时：年内撤并营业部逾三百家\n"
        + "在佣金费率持续下行的背景下，证券营业部正在经历一轮密集的瘦身，多家券商调整了网点布局。" * 4
        + "\n业内传闻，丰谷证券将对部分岗位降薪，丰谷证券未予回应。\n"
        "霁川证券相关负责人表示，公司今年网点布局保持稳定，校园招聘规模与去年持平。"
    )
    a = one(desk, text)
    assert a["falsity"]["label"] == "none" and said(a, "传言线索不在写本司的部分") and not a["flagged"]


@pytest.mark.parametrize(
    "text",
    [
        "感谢霁川证券，让我三年学会了什么叫价值毁灭🙂",
        "霁川证券真是良心券商，开盘五分钟APP就转圈，收盘了还在转🙂",
        "霁川证券的投顾真厉害，推的票全部精准站岗，佩服佩服[微笑]",
        "霁川证券今年给我上了一课：永远不要相信客户经理说的稳健",
        "在霁川证券开户是我今年做过最正确的决定，才怪",
        "霁川证券客户经理：您的账户很安全。我：那我的钱呢？",
    ],
)
def test_sarcasm_is_a_complaint(desk, text):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券的投顾真专业，大跌前提醒我减仓，少亏了不少",
        "感谢霁川证券的客户经理，帮我把佣金降到了万一",
        "霁川证券真是良心券商，两融利率降到了4.5",
        "霁川证券客服太贴心了，排队才一分钟就接通了",
        "今天大盘又跌了，呵呵，霁川证券倒是逆势涨了3%",
        "霁川证券研究所真厉害，去年喊的几只票都翻倍了",
    ],
)
def test_sincere_praise_is_not_sarcasm(desk, text):
    a = one(desk, text)
    assert not said(a, "投诉/不当行为指向本司"), a["reasons"]


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("霁川证券的APP改版以后连条件单入口都找不到了，产品经理是不用自己家APP的吗？", True),
        ("霁川证券这也能叫券商？开个户折腾一星期", True),
        ("霁川证券上周那篇深度报告，连我们写错的数字都原样抄过去了", True),
        ("霁川证券的APP连我这种老年人都会用，点赞", False),
        ("霁川证券的研报难道不值得一看吗？", False),
    ],
)
def test_rhetorical_questions_and_copying_are_complaints_but_praise_is_not(desk, text, flagged):
    assert said(one(desk, text), "投诉/不当行为指向本司") is flagged


@pytest.mark.parametrize(
    "text",
    [
        "刚在霁川证券开完户，第二天就有人打电话拉我进荐股群，连我名字都知道，信息是被卖了吧",
        "转发//@韭菜自救指南:霁川证券的理财经理把R4产品卖给七十岁老太太，录音里一句风险都没提",
        "$霁川证券(SH688777)$ 稳盈3号今年亏了32%，管理费1.5%照收不误",
        "记者在调查中发现，一些投资者被承诺的佣金与实际执行的不一致。其中，投诉较为集中的是霁川证券。",
    ],
)
def test_leaks_mis_selling_fees_kept_and_being_the_most_complained_of_are_against_the_firm(desk, text):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]


def test_claims_of_trouble_alone_are_no_rumor_but_others_saying_so_or_asking_are():
    f = FalsityDetector()
    assert f.check("霁川财富的理财经理卷款跑路").label == "none"  # told as a fact: a report
    assert f.check("霁川证券城西营业部经理卷款跑路？好几个客户说账户里的钱不见了").label == "rumor"


@pytest.mark.parametrize(
    "text",
    [
        "霁川财富的理财经理卷款跑路，投资者报警",
        "网友称霁川理财APP无法提现，疑似跑路",
        "霁川品牌电饭煲质量问题，消费者投诉",
    ],
)
def test_a_wealth_shop_an_app_or_a_brand_with_the_short_name_is_someone_else(desk, text):
    a = one(desk, text)
    assert a["targets"] == [] and not a["flagged"], a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券举办投资者保护宣传周活动，现场解答投诉处理流程",
        "霁川证券信息技术部：系统故障应急演练圆满完成",
        "霁川证券APP新增一键投诉入口，投诉处理进度可随时查询",
        "霁川证券参加辖区处罚案例警示教育大会",
    ],
)
def test_the_firms_own_drills_campaigns_and_complaint_channels_are_no_alert(desk, text):
    a = one(desk, text)
    assert not a["flagged"], a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券保荐代表人被采取监管谈话措施",
        "霁川证券营业部负责人被刑拘",
        "霁川证券三季度净利润同比下降62%",
        "霁川证券两融业务被暂停新增",
        "霁川证券分类评级从A下调至BBB",
        "霁川证券一名员工因内幕交易被判刑",
        "霁川证券客户账户被盗，资金被转走20万",
    ],
)
def test_plain_facts_of_sanctions_crimes_results_and_theft_are_flagged(desk, text):
    assert one(desk, text)["flagged"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券三季度净利润同比下降5%",
        "霁川证券分类评级连续三年保持A类",
        "霁川证券营业部员工成功拦截一起电信诈骗",
    ],
)
def test_small_moves_steady_ratings_and_good_deeds_are_not(desk, text):
    assert not one(desk, text)["flagged"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券说不存在乱收费，那我每个月被扣的38块是什么？",
        "霁川证券从来不主动告诉你还有更低的佣金，不问就一直按万三收",
        "霁川证券营业部说没有接到我的销户申请，我明明交了三次",
    ],
)
def test_a_client_rebutting_the_firms_denial_is_a_complaint(desk, text):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券的融资利率8.35%，比别家高一大截，问了客户经理说降不了",
        "霁川证券APP的行情比别家慢三秒，打板永远排不上",
        "霁川证券研究所的所长在直播里说散户炒股就是给机构送钱",
        "霁川证券营业部经理让我把资金转到他指定的账户，说有内部渠道",
        "霁川证券的新股中签率明显比别家低，是不是有猫腻？",
        "霁川证券的年报审计机构出具了保留意见",
    ],
)
def test_comparisons_remarks_private_accounts_suspicion_and_audit_opinions_are_flagged(desk, text):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "想从霁川证券转户到别家，营业部非要我本人去现场，预约排到下个月",
        "霁川证券两融维持担保比例到了135%就被平了，合同写的是130%",
        "霁川证券的客服机器人答非所问，转人工要等半小时",
        "霁川证券的条件单没触发，少赚了两万，客服说系统正常",
        "霁川证券的短信通知比成交晚了一个小时",
        "霁川证券营业部关门了都没通知客户，我去办业务扑了个空",
        "霁川证券强制我开通了一个收费的Level2行情，每个月扣30",
        "霁川证券的开户经理承诺佣金万一，实际按万二点五收",
    ],
)
def test_everyday_service_failures_are_complaints(desk, text):
    a = one(desk, text)
    assert a["flagged"] and said(a, "投诉/不当行为指向本司"), a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券承诺佣金万一，实际执行也是万一，良心",
        "霁川证券提醒：条件单未触发时，请检查触发条件设置",
        "霁川证券营业部搬迁，已提前一个月通知客户",
    ],
)
def test_the_same_words_when_nothing_went_wrong_are_not(desk, text):
    assert not said(one(desk, text), "投诉/不当行为指向本司")


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("营业部那个经理天天打电话推基金，烦死了", True),  # 推基金 is a product pushed, not a fund company
        ("年报出来了，分红比去年少了一半，股东就是用来割的", True),
        ("主力在出货，明天还要跌，大家小心", False),
        ("这个价位可以加仓了吗", False),
    ],
)
def test_the_firms_own_bar_unnamed(desk, text, flagged):
    assert one(desk, text, source=BAR)["flagged"] is flagged


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券总裁已经三天没来上班了，是不是出事了",
        "网上流传一张霁川证券内部通知的截图，说要关闭二十家营业部",
        "霁川证券要被国资收购了？今天涨停是不是有人提前知道",
    ],
)
def test_speculation_and_what_circulates_online_are_rumors(text):
    assert FalsityDetector().check(text).label == "rumor"


@pytest.mark.parametrize(
    "text",
    ["霁川证券今年以来未发生一起交易系统故障", "霁川证券没有被罚，被罚的是丰谷证券，别搞错了，差评那家去"],
)
def test_none_happened_and_it_was_another_firm_are_no_alert(desk, text):
    assert not one(desk, text)["flagged"]
