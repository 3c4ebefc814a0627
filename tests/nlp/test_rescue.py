"""The learned second look (nlp.rescue): names become placeholders, the shipped model reads only posts that
name us and that nothing flagged, and its flag says so in Chinese."""

from __future__ import annotations

import pytest

from nlp import rescue
from nlp.analyzer import Analyzer
from nlp.rescue import RescueModel, normalize
from nlp.training import rescue as training
from nlp.watchlist import WatchList

FIRM = dict(
    name="霁川证券股份有限公司",
    short_names=["霁川证券", "霁川"],
    stock_codes=["688777"],
    executives=["温景行"],
    products=["霁川易达", "霁川稳盈3号"],
    exclude=["霁川银行"],
)


@pytest.fixture(scope="module")
def wl() -> WatchList:
    return WatchList.from_firm(**FIRM, extra=[{"name": "霁川期货", "kind": "subsidiary"}])


def test_every_watched_name_becomes_its_placeholder(wl):
    text = "霁川证券(688777)的温景行说霁川易达没问题，霁川期货也没事，霁川银行另说；J川的客服呢"
    got = normalize(text, wl.find(text, include_excluded=True), wl)
    assert got == "本司(本司代码)的本司高管说本司产品没问题，本司子公司也没事，他司另说；本司的客服呢"


def test_a_model_round_trips_through_its_file(tmp_path):
    m = RescueModel(
        weights={"本司": (1.0, 0.5), "差": (2.0, 3.0)}, intercept=-1.0, threshold=0.7, meta={"x": 1}
    )
    m.save(tmp_path)
    back = RescueModel.load(tmp_path)
    assert back.threshold == 0.7 and back.meta == {"x": 1}
    assert back.probability("本司太差") == pytest.approx(m.probability("本司太差"), abs=1e-4)
    assert back.probability("本司太差") > back.probability("本司很好")


@pytest.fixture(scope="module")
def shipped() -> RescueModel:
    model = rescue.load_default()
    assert model is not None, "nlp/models/rescue-linear/model.json.gz is part of the package"
    return model


CALM = "霁川证券的两融业务据说要收缩，好几个大客户已经把钱转走了"


def test_the_shipped_model_reads_calm_bad_news_as_bad_and_routine_news_as_not(shipped):
    bad = shipped.probability("本司今年到手的工资比去年少了三成，领导说是结构性调整，部门里走了一半人")
    fine = shipped.probability("本司本周六进行系统升级，期间暂停登录，敬请留意")
    assert bad >= shipped.threshold > fine


def test_the_desk_flags_what_the_rules_missed_and_says_why(wl, shipped):
    without = Analyzer.from_config(firm=FIRM, rescue=None).analyze([{"text": CALM}])[0]
    with_it = Analyzer.from_config(firm=FIRM, rescue=shipped).analyze([{"text": CALM}])[0]
    assert not without["flagged"]  # no rule holds this wording (if one comes to, pick another)
    assert with_it["flagged"]
    assert any(r.startswith("语境模型：对霁川证券不利") for r in with_it["reasons"])


def test_the_firms_own_word_and_posts_not_naming_us_are_never_rescued(shipped):
    always = RescueModel(weights={}, intercept=50.0, threshold=0.5, meta={})  # says "bad" to everything
    desk = Analyzer.from_config(firm={**FIRM, "official_accounts": ["霁川证券"]}, rescue=always)
    own, nobody, named = desk.analyze(
        [
            {
                "text": "【公告】本公司将于周六进行系统升级，敬请谅解。",
                "author": "霁川证券",
                "user_verified": True,
            },
            {"text": "今天天气不错，去公园走了走"},
            {"text": "霁川证券的营业部今天人不多"},
        ]
    )
    assert not own["flagged"] and not nobody["flagged"]
    assert named["flagged"] and any("语境模型" in r for r in named["reasons"])


def test_training_never_opens_a_blind_world():
    for world in training.BLIND:
        with pytest.raises(ValueError, match="blind"):
            training._world(world, ("dev", "holdout"))


LONG = "本司" + "的事情" * 12  # long enough for the model to lower a flag


def test_the_thresholds_are_the_pair_with_the_best_discovery_minus_false_alarms():
    rows = [
        # the rules found one must-see post at level III that the model doubts (0.12), and raised one false
        # alarm at level IV that the model is sure of (0.04); a level-II false alarm it never lowers
        training.Row("a", True, {}, norm=LONG, flagged=True, named=True, prob=0.12, level="III"),
        training.Row("a", False, {}, norm=LONG, flagged=True, named=True, prob=0.04, level="IV"),
        training.Row("a", False, {}, norm=LONG, flagged=True, named=True, prob=0.01, level="II"),
        # a few words the model is sure of: never lowered
        training.Row("a", True, {}, norm="本司太差了", flagged=True, named=True, prob=0.01, level="IV"),
        # two must-see posts nothing flagged, one harmless post the model half-likes
        training.Row("a", True, {}, named=True, prob=0.77),
        training.Row("a", True, {}, named=True, prob=0.62),
        training.Row("a", False, {}, named=True, prob=0.55),
        *[training.Row("b", False, {}, named=True, prob=0.0) for _ in range(4)],
    ]
    # threshold 0.6 finds both must-see posts (0.5 would add the harmless 0.55); demote 0.05 lowers the
    # sure false alarm, 0.15 would also lower the must-see post at 0.12
    assert training.choose(rows) == (0.6, 0.05)
    assert training.figures(rows, 0.6, 0.05) == (1.0, 1 / 7)
    assert training.figures(rows, None) == (2 / 4, 2 / 7)


def test_a_low_level_flag_the_model_finds_harmless_is_lowered_and_says_why():
    # a model that finds everything harmless (p ≈ 0), demoting below 0.2
    never = RescueModel(weights={}, intercept=-50.0, threshold=0.9, meta={}, demote=0.2)
    keep = RescueModel(weights={}, intercept=-50.0, threshold=0.9, meta={}, demote=0.0)
    post = {
        "text": "霁川证券的客服电话打了一下午都打不通，投诉也没人理，转人工排队排到第九十位，最后直接挂断了"
    }
    short = {"text": "霁川证券太差了，客服电话打不通"}  # a few words: the model never overrules the rules
    kept, kept_short = Analyzer.from_config(firm=FIRM, rescue=keep).analyze([post, short])
    lowered, short_got = Analyzer.from_config(firm=FIRM, rescue=never).analyze([post, short])
    assert kept["flagged"] and kept["level"] in ("III", "IV")  # the rules flag it
    assert not lowered["flagged"] and lowered["level"] is None
    assert any(r.startswith("语境模型：对霁川证券不利可能性低（0.00），不预警") for r in lowered["reasons"])
    assert kept_short["flagged"] and short_got["flagged"] and short_got["level"] == kept_short["level"]


def test_a_severe_flag_is_never_lowered():
    never = RescueModel(weights={}, intercept=-50.0, threshold=0.9, meta={}, demote=0.2)
    post = {
        "text": "网传霁川证券董事长温景行被带走调查，公司资金链断裂，客户资金无法出金",
        "reposts": 50_000,
        "comments": 20_000,
        "user_followers": 3_000_000,
    }
    got = Analyzer.from_config(firm=FIRM, rescue=never).analyze([post])[0]
    assert got["flagged"] and got["level"] in ("I", "II")
    assert not any("可能性低" in r for r in got["reasons"])


def test_a_model_file_without_demote_never_lowers(tmp_path):
    m = RescueModel(weights={"差": (1.0, 1.0)}, intercept=0.0, threshold=0.7, meta={})
    m.save(tmp_path)
    assert RescueModel.load(tmp_path).demote == 0.0
    m.demote = 0.15
    m.save(tmp_path)
    assert RescueModel.load(tmp_path).demote == 0.15
