"""Context rules written from the worlds of December (yuping, jinsha, luoxi and qingluo's dev parts): a
crisis day's voices, complaints and their resolution, outages told plainly, long articles about several
firms. On the fictional 霁川证券 with wordings of its own; the tiny injected sentiment model (差 → negative,
好 → positive) and no entity or rumor model, so each outcome is the rule's."""

from __future__ import annotations

import pytest

from nlp import context_rules as rules
from nlp.analyzer import Analyzer
from nlp.watchlist import WatchList, sounds_like
from tests.nlp.test_context_generalise import firm_watchlist, one, rules_only, said


@pytest.fixture(scope="module")
def wl() -> WatchList:
    return firm_watchlist([{"name": "霁川期货", "aliases": ["霁川期货有限公司"], "kind": "subsidiary"}])


@pytest.fixture
def desk(wl, tiny_model) -> Analyzer:
    return rules_only(wl, tiny_model)


# ------------------------------------------------------------------------------------- names


def test_a_homophone_of_the_name_before_securities_is_the_firm(wl, desk):
    assert sounds_like("季穿", "霁川") and not sounds_like("霁川", "霁川") and not sounds_like("东岚", "霁川")
    a = one(desk, "季穿证券的客服一整天打不通，转人工排队排到下午")
    assert a["targets"] == ["霁川证券"] and a["flagged"] and said(a, "谐音写法 季穿证券")
    # a name that only shares a sound somewhere else is no one
    assert one(desk, "今天去季节性市场转了转")["targets"] == []


def test_pinyin_initials_with_zq_name_the_firm(desk):
    assert one(desk, "#jczq# 开盘又卡了，卖不出去")["targets"] == ["霁川证券"]


# ------------------------------------------------------------------------------------- a crisis day


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券澄清了，说没爆仓。澄清=确认，老股民都懂",
        "霁川证券的澄清公告只说不存在违约，没说亏了多少，越读越心虚",
        "霁川证券中午还说高管被带走是谣言，晚上就辞职了，你们自己品",
    ],
)
def test_doubting_the_firms_clarification_is_against_it(desk, text):
    a = one(desk, text)
    assert a["flagged"], a["reasons"]
    assert not said(a, "澄清/否认转述")


def test_a_plain_relay_of_the_clarification_stays_no_alert(desk):
    a = one(desk, "霁川证券发布澄清公告：网传“自营爆仓”不实，公司经营正常")
    assert not a["flagged"] and said(a, "澄清/否认转述")


def test_a_title_with_bad_news_makes_a_later_clarification_part_of_the_story(desk):
    a = one(desk, "霁川证券早盘一度触及跌停，成交额创年内新高。午间公司发布澄清公告后跌幅有所收窄。")
    assert a["flagged"] and not said(a, "澄清/否认转述")


def test_a_tip_passed_on_as_sure_is_a_rumor(desk):
    a = one(desk, "刚收到的消息，霁川证券要被接管了，工作组昨晚已经进场。消息保真，信不信由你")
    assert a["flagged"] and a["falsity"]["label"] == "rumor"


def test_an_official_measure_on_the_firms_own_account_is_news(wl, tiny_model):
    desk = Analyzer(wl, tiny_model, target_model=None, rumor_model=None, rescue=None)
    post = {"author": "霁川证券", "user_verified": True}
    a = one(desk, "【公告】公司收到证监局责令改正措施的决定，暂停新增场外衍生品业务六个月。", **post)
    assert a["flagged"] and said(a, "本司官方发布的坏消息")
    routine = one(desk, "【公告】公司将于周六进行系统升级，期间暂停服务，敬请谅解。", **post)
    assert not routine["flagged"]


# ------------------------------------------------------------------------------------- complaints


def test_a_complaint_resolved_with_thanks_is_no_alert(desk):
    done = "霁川证券多收佣金（已解决）\n投诉对象：霁川证券\n状态：已完成\n营业部已核实并退还差额，处理很及时，谢谢"
    a = one(desk, done)
    assert not a["flagged"] and said(a, "投诉已解决")
    half = "霁川证券多收佣金\n投诉对象：霁川证券\n已退还一部分，谢谢，但剩下的至今没到账，太差了"
    assert one(desk, half)["flagged"]


def test_a_complaint_against_another_names_us_in_passing(wl, desk):
    other = "东岚证券转户办不下来\n投诉对象：东岚证券\n状态：处理中\n我从霁川证券转到东岚证券，霁川当天就办完了，东岚拖了两周，太差了"
    assert rules.complaint_against(other) == "东岚证券"
    assert not one(desk, other)["flagged"]
    assert not rules.names_us("霁川茶铺", wl) and rules.names_us("霁川证券某营业部", wl)
    tea = "奶茶喝出异物\n投诉对象：霁川茶铺\n在霁川茶铺买的奶茶有塑料片，太差了，要求退款"
    assert not one(desk, tea)["flagged"]
    ours = "强平未通知\n投诉对象：霁川期货\n保证金不足没收到任何通知就被强平，太差了"
    assert one(desk, ours)["flagged"]


@pytest.mark.parametrize(
    "text",
    [
        "霁川证券的客服，打了一上午都是坐席忙请稍后，最后转到一个机器人",
        "霁川易达的条件单今天压根没触发，设好的止损价早到了，一股都没卖出去",
        "霁川证券这家券商吃相太难看了，新客户给优惠，老客户一分不让",
        "在霁川开户五年，佣金万三还收最低五块，隔壁都万一免五了",
        "恭喜霁川证券今年喜提第三张警示函",
        "霁川证券真是“良心”券商，收了我三年投顾费",
        "霁川稳盈3号兑付方案出炉：首期仅兑付三成，剩余部分视追偿进展",
        "霁川证券今天路过营业部，排队办销户和转托管的人排到了门外",
        "[B] 霁川证券：霁川易达早盘登录异常已恢复。今日9:30至10:05部分用户出现登录缓慢、委托失败",
        "🔥霁川证券VIP内参群免费进🔥 每天三只涨停，上月胜率92%，加V：jc888zq",
    ],
)
def test_complaints_and_bad_facts_in_their_many_wordings(desk, text):
    a = one(desk, text)
    assert a["flagged"], a["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "说句公道话，券商出故障挺常见的，霁川这次半小时就恢复了，还主动发了说明",
        "模拟核心交易系统“宕机” 霁川证券开展年度灾备切换演练，演练模拟了主数据中心故障、行情中断",
        "霁川证券：关于公司股票交易异常波动的公告，经自查不存在应披露而未披露的重大信息",
        "以案为鉴 霁川证券召开年度合规警示教育大会，首席风险官结合行业飞单、代客理财、泄露客户信息的处罚案例讲解",
        "霁川证券回应“系统故障”：经排查系个别用户网络问题，公司系统运行正常",
        "霁川证券公告，副总裁因工作调整辞去职务，辞职后仍在公司担任其他职务",
        "霁川证券：23霁川C1次级债本息已按期足额兑付",
    ],
)
def test_defences_drills_and_routine_notices_are_no_alerts(desk, text):
    a = one(desk, text)
    assert not a["flagged"], a["reasons"]


# ------------------------------------------------------------------------------------- several firms


def test_a_paragraph_that_turns_to_us_in_an_article_about_several_goes_on_about_us(desk):
    article = (
        "券商APP故障调查：东岚证券、嘉陵证券今年都出过问题，多数券商的处理方式是协商。\n"
        "在记者梳理的案例中，霁川证券的霁川易达今年已发生四次交易时段故障。有投资者表示，其申请赔偿至今未获处理。\n"
        "一位业内人士说，技术故障在所难免。"
    )
    a = one(desk, article)
    assert a["flagged"], a["reasons"]


def test_another_firms_short_form_is_not_us(desk):
    a = one(desk, "从临港证券转到霁川证券了，临港的APP一到行情好就卡，太差了。霁川这边用着还行")
    assert not a["flagged"], a["reasons"]


def test_a_negated_act_with_its_object_between_is_no_fact(wl):
    masked = rules.mask_keywords("记者比对通报名单发现，交易所此次亦未对霁川证券采取任何自律监管措施")
    assert masked.negated, masked


def test_every_complaint_kind_keeps_the_first_character_shortcut():
    """The complaint alternation is tried only where one of its first characters stands
    (``_complaint_matches``); one kind that could begin with any character turns the shortcut off for all
    and the screening path loses about a third of its speed (``yuqing bench nlp``)."""
    assert rules._COMPLAINT_AT is not None
    for _topic, pattern in rules.COMPLAINT_KINDS:
        assert rules._first_chars(pattern) is not None, pattern[:60]


@pytest.mark.parametrize(
    ("text", "alert"),
    [
        ("霁川证券前三季度归母净利润8.62亿元，同比减少41.2%", True),
        ("霁川证券风险覆盖率由215%降至118%，监管预警线为120%", True),
        ("霁川证券保荐的项目上市首日就破发，三年内第五单", True),
        ("霁川证券保荐项目今年零破发，首日平均涨幅居前", False),
        ("霁川证券两融利率由8.35%降至6.5%，老客户也能享受", False),
        ("霁川证券营业成本较上年下降30%，净利润同比增长20%", False),
    ],
)
def test_numbers_fall_against_us_only_where_a_fall_is_bad(desk, text, alert):
    """A fall is bad news for profit, capital, clients and share; a fall of a cost, a rate or IPO
    failures is good news."""
    assert one(desk, text)["flagged"] is alert


# ------------------------------------------------------------------------------------- names past a filter


def test_the_name_written_with_letters_or_masked_is_the_firm():
    wl = WatchList.from_firm(
        "泰和证券股份有限公司",
        short_names=["泰和证券", "泰和"],
        stock_codes=["601990"],
        executives=["高志远", "林晓"],
        products=["泰和智投", "泰和稳盈1号"],
    )

    def named(text: str) -> list[str]:
        return [m.entity for m in wl.find(text)]

    for text in (
        "T和的理财经理是真能说",
        "泰hé家的客户经理离职了也不说",
        "tai he智投闪退三次了",
        "TH智投 登录一直提示网络异常",
        "泰某证券的APP又崩了",
        "6O199O今天开盘就核按钮",
        "董事长姓高、总裁姓林、代码601开头的那家券商，还用猜吗",
        "一家代码以990结尾的上市券商被暂停了保荐业务资格",
    ):
        assert named(text) == ["泰和证券"], text
    # letters alone are anyone's, a surname alone is anyone's, and other words keep their own
    for text in ("taihe今天开会", "TH你们好", "董事长姓高的那家公司", "一个t和h", "他和我", "601开头的股票"):
        assert named(text) == [], text


# ------------------------------------------------------------------------------------- figures


@pytest.mark.parametrize(
    ("text", "alert"),
    [
        ("霁川证券营业部数量：年初126家，年末89家", True),
        ("霁川证券11月经纪业务客户数：98.2万户，10月为112.6万户", True),
        ("霁川稳盈3号的收益跟宣传有点出入：宣传6%，实际-11%", True),
        ("霁川的融资利率我上月还是5.8，这个月账单变6.5", True),
        ("霁川证券营业部数量：年初89家，年末126家", False),
        ("霁川证券两融利率从8.35%下调至5.6%", False),
        ("霁川证券营业成本较上年下降30%，净利润同比增长20%", False),
    ],
)
def test_a_figure_of_ours_then_and_now_is_bad_news_when_the_later_is_worse(desk, text, alert):
    a = one(desk, text)
    assert a["flagged"] is alert, a["reasons"]
    if alert:
        assert said(a, "数字变差")


def test_a_short_body_under_a_title_that_names_us_is_about_us(desk):
    body = "净利润下滑四成多，自营亏损，经纪收入也降。"
    titled = desk.analyze([{"title": "如何评价霁川证券今年的年报？", "text": body}])[0]
    assert titled["flagged"] and said(titled, "净利润下滑四成")
    # the same body under a title about another firm is not ours
    other = desk.analyze([{"title": "如何评价东岚证券今年的年报？", "text": body}])[0]
    assert not other["flagged"]


@pytest.mark.parametrize(
    "text",
    [
        "今日无新增针对霁川证券的监管措施信息。",
        "证监会决定对霁川证券此前涉嫌保荐业务违规一案予以结案，不予行政处罚。",
        "之前吐槽过霁川易达卡顿，更新到新版本后流畅多了，收回之前的话",
        "霁川证券：拟吸收合并东岚证券，公司股票自明日起停牌，预计停牌时间不超过10个交易日。",
    ],
)
def test_an_ended_case_no_new_measure_a_fixed_app_and_a_mergers_halt_are_no_alerts(desk, text):
    assert not one(desk, text)["flagged"]
