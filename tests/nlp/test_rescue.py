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
    with pytest.raises(ValueError, match="blind"):
        training._world("baisha", ("dev", "holdout"))


def test_the_threshold_is_the_lowest_that_keeps_cv_false_alarms_within_a_point():
    rows = [
        training.Row("a", True, {}, flagged=True, named=True, prob=0.1),
        training.Row("a", True, {}, named=True, prob=0.72),
        training.Row("a", False, {}, named=True, prob=0.65),
        *[training.Row("b", False, {}, named=True, prob=0.0) for _ in range(97)],
    ]
    # at 0.6 the harmless 0.65 is rescued (false alarms 1/98 > 0.01 allowed? 0.0102): 0.7 is the lowest kept
    assert training.choose_threshold(rows) == 0.7
