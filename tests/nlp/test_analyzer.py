import re
import time

import pytest

from nlp.analyzer import ANALYSIS_FIELDS, Analyzer
from nlp.topics import TOPICS

LEVELS = {"I", "II", "III", "IV", None}


def one(analyzer, **post):
    return analyzer.analyze([post])[0]


def test_returns_exactly_the_contract_fields(analyzer):
    out = analyzer.analyze([{"text": "华鼎证券今天发布公告"}, {"title": "标题", "text": "正文"}])
    assert len(out) == 2
    for a in out:
        assert tuple(a) == ANALYSIS_FIELDS
        assert a["sentiment"]["label"] in a["sentiment"]["scores"]
        assert set(a["sentiment"]["scores"]) == {"negative", "neutral", "positive"}
        assert a["falsity"]["label"] in {"rumor", "none"} and 0 <= a["falsity"]["score"] <= 1
        assert a["topic"] in TOPICS and a["level"] in LEVELS
        assert a["flagged"] == (a["level"] is not None)
        assert all(isinstance(r, str) for r in a["reasons"])
    assert analyzer.analyze([]) == []


def test_negative_complaint_about_us_is_flagged_with_chinese_reasons(analyzer):
    a = one(
        analyzer, text="华鼎证券的APP又登不上了，交易失败好几次，打客服没人管，我要投诉！太垃圾了", reposts=3
    )
    assert a["sentiment"]["label"] == "negative"
    assert a["targets"] == ["华鼎证券"] and a["negative_targets"] == ["华鼎证券"]
    assert a["flagged"] and a["level"] in {"III", "IV"}
    assert a["topic"] == "交易系统故障"
    assert "提及：华鼎证券" in a["reasons"]
    assert any(re.fullmatch(r"负面情绪 [01]\.\d\d", r) for r in a["reasons"])
    assert any(r.startswith("关键词：") and "登不上" in r for r in a["reasons"])
    assert "话题：交易系统故障" in a["reasons"]


def test_positive_post_about_us_is_not_flagged(analyzer):
    a = one(analyzer, text="华鼎证券的客户经理服务很专业，开户很顺利，点赞！")
    assert a["sentiment"]["label"] == "positive"
    assert a["targets"] == ["华鼎证券"] and a["negative_targets"] == []
    assert not a["flagged"] and a["level"] is None


def test_post_not_about_us_is_not_flagged(analyzer):
    a = one(analyzer, text="某某银行APP崩溃了，无法登录，太垃圾了，投诉！", reposts=50_000)
    assert a["targets"] == [] and not a["flagged"] and a["level"] is None
    assert "未提及关注对象" in a["reasons"]


def test_negativity_about_a_lookalike_is_not_about_us(analyzer):
    a = one(analyzer, text="华鼎证券今天一切正常，华鼎银行的服务太差了，恶心，投诉无门")
    assert a["targets"] == ["华鼎证券"]
    assert a["negative_targets"] == []
    assert not a["flagged"]
    assert any("华鼎银行" in r for r in a["reasons"])
    # and the look-alike alone is nobody we watch
    assert one(analyzer, text="华鼎银行太坑了，骗子")["targets"] == []


def test_rumor_cue_is_rumor_and_topic_unreliable(analyzer):
    a = one(analyzer, text="网传华鼎证券资金链断裂，内部消息，大家赶紧转！")
    assert a["falsity"]["label"] == "rumor" and a["falsity"]["score"] >= 0.5
    assert a["topic"] == "不实信息"
    assert "不实线索：“网传”" in a["reasons"]
    assert a["flagged"] and a["level"] in {"III", "II", "I"}


def test_a_clarification_repeating_the_rumor_is_not_a_rumor(analyzer):
    a = one(
        analyzer, text="【华鼎证券澄清：总经理李静正常履职 网传“被带走调查”不实】公司将追究造谣者法律责任"
    )
    assert a["falsity"]["label"] == "none"
    assert a["topic"] != "不实信息" or not a["flagged"]
    assert any("辟谣/澄清" in r for r in a["reasons"])


def test_reach_raises_the_level(analyzer):
    text = "网传华鼎证券要倒闭了，速转！"
    low = one(analyzer, text=text)
    high = one(analyzer, text=text, reposts=12_000, comments=800, user_verified=True)
    very = one(analyzer, text=text, reposts=150_000)
    order = ["IV", "III", "II", "I"]
    assert order.index(low["level"]) < order.index(high["level"]) < order.index(very["level"])
    assert high["level"] in {"II", "I"} and very["level"] == "I"
    assert any(r.startswith("传播量：转发 1.2万") for r in high["reasons"])
    assert "认证账号" in high["reasons"]


def test_outage_with_high_reach_is_severe(analyzer):
    a = one(analyzer, text="华鼎证券交易系统宕机，无法下单，大家都登不上", reposts=20_000)
    assert a["topic"] == "交易系统故障" and a["level"] in {"I", "II"}


def test_regulator_penalty_from_an_authoritative_source(analyzer):
    a = one(analyzer, title="华鼎证券收警示函", text="证监局对华鼎证券出具警示函。", source="人民网")
    assert a["topic"] == "监管处罚" and a["flagged"]
    assert "权威来源：人民网" in a["reasons"]


def test_executive_negative(analyzer):
    a = one(analyzer, text="张明远被留置，接受纪律审查")
    assert a["targets"] == ["华鼎证券"] and a["topic"] == "高管负面" and a["flagged"]
    assert any("高管 张明远" in r for r in a["reasons"])


def test_per_post_watch_replaces_the_watch_list(analyzer):
    text = "中信证券的APP闪退了，气死，华鼎证券倒还好"
    default = one(analyzer, text=text)
    assert default["targets"] == ["中信证券", "华鼎证券"]  # in order of first mention
    only = one(analyzer, text=text, watch=["中信证券"])
    assert only["targets"] == ["中信证券"] and only["negative_targets"] == ["中信证券"]
    stranger = one(analyzer, text="国泰君安APP闪退，垃圾", watch=["国泰君安"])
    assert stranger["targets"] == ["国泰君安"] and stranger["flagged"]
    assert one(analyzer, text=text, watch=[])["targets"] == []


def test_empty_and_enormous_texts_do_not_crash(analyzer):
    empty, blank, none = analyzer.analyze([{"text": ""}, {"title": "", "text": "   \n"}, {"text": None}])
    for a in (empty, blank, none):
        assert a["sentiment"]["label"] == "neutral" and not a["flagged"] and a["topic"] == "其他"
    big_text = ("华鼎证券的服务太差了，投诉！" + "正常的一天。" * 10) * 12_000
    assert len(big_text.encode()) > 1_000_000
    t = time.perf_counter()
    big = one(analyzer, text=big_text)
    assert time.perf_counter() - t < 10
    assert big["targets"] == ["华鼎证券"] and big["flagged"]
    assert any(r.startswith("文本过长") for r in big["reasons"])


def test_bad_reach_fields_are_zero(analyzer):
    a = one(analyzer, text="华鼎证券太差了", reposts="n/a", comments=None, likes=-5)
    assert a["flagged"] and a["level"] == "IV"


def test_injected_model_drives_the_analysis(watchlist, tiny_model):
    a = Analyzer(watchlist, tiny_model)
    neg, pos = a.analyze([{"text": "华鼎证券差差差"}, {"text": "华鼎证券好好好"}])
    assert neg["negative_targets"] == ["华鼎证券"] and neg["level"] == "IV"
    assert pos["negative_targets"] == [] and not pos["flagged"]


@pytest.mark.parametrize("bad", [{"text": 123}, {"text": "华鼎证券", "watch": "华鼎证券"}])
def test_odd_inputs(analyzer, bad):
    assert tuple(analyzer.analyze([bad])[0]) == ANALYSIS_FIELDS


def test_praise_that_names_a_risky_word_is_not_an_alert(analyzer):
    a = one(analyzer, text="华鼎证券的客服很耐心，帮我处理了退款，非常满意，点赞！")
    assert a["sentiment"]["label"] == "positive" and not a["flagged"]
