"""The firm's feedback layer (nlp/feedback.py, nlp/feedback_fit.py): fit on verdicts, measured, applied."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from nlp.feedback import (
    FeatureRecorder,
    FeedbackInput,
    FeedbackLayer,
    Memory,
    Remembered,
    reason_tokens,
    remembered,
    similarity_features,
)
from nlp.feedback_fit import LearnOptions, Sparse, choose_threshold, fit_logistic, learn_layer, predict

# what officers of 华鼎证券 call noise: grumbles about the share price; what they act on: complaints
GRUMBLES = [
    "华鼎证券今天又跌了{n}个点，垃圾股，套牢了",
    "华鼎这票天天跌，{n}块买的现在亏惨了",
    "华鼎证券股价又创新低，{n}天连跌，谁还敢拿",
    "华鼎证券跌停了，{n}手全被套，后悔死了",
    "华鼎证券这走势太恶心了，{n}日线破位，割肉了",
]
COMPLAINTS = [
    "华鼎证券乱收费，佣金说好万一实际收了万{n}，投诉无门",
    "华鼎金管家又崩了，开盘{n}分钟登录不上无法交易",
    "华鼎证券客户经理在群里骂客户是韭菜，第{n}次了",
    "华鼎证券销户难，跑了{n}趟营业部还不给办",
    "华鼎证券理财经理诱导我买高风险产品，亏了{n}万",
]
REASON = "股价涨跌的抱怨，不是本司舆情事件"


def _item(text: str, *, level: str = "IV", topic: str = "其他", flagged: bool = True) -> FeedbackInput:
    analysis = {
        "sentiment": {"label": "negative", "scores": {"negative": 0.9, "neutral": 0.07, "positive": 0.03}},
        "targets": ["华鼎证券"],
        "negative_targets": ["华鼎证券"],
        "falsity": {"label": "none", "score": 0.1},
        "topic": topic,
        "level": level if flagged else None,
        "flagged": flagged,
        "reasons": ["提及：华鼎证券", "负面情绪 0.90"],
    }
    return FeedbackInput(post={"text": text, "source": "股吧"}, text=text, analysis=analysis)


def _verdicts(numbers=range(2, 8)):
    items, confirmed, reasons = [], [], []
    for n in numbers:
        for t in GRUMBLES:
            items.append(_item(t.format(n=n)))
            confirmed.append(0)
            reasons.append(REASON)
        for t in COMPLAINTS:
            items.append(_item(t.format(n=n), topic="客户投诉"))
            confirmed.append(1)
            reasons.append("")
    return items, confirmed, reasons


def _learn(items, confirmed, reasons, **kw):
    return learn_layer(
        items,
        confirmed,
        flagged=[True] * len(items),
        protected=[False] * len(items),
        reasons=reasons,
        signature="sig",
        options=LearnOptions(**kw),
    )


@pytest.fixture(scope="module")
def fitted():
    items, confirmed, reasons = _verdicts()
    return _learn(items, confirmed, reasons)


def test_the_layer_fits_and_lowers_a_fresh_post_like_past_false_positives(fitted):
    assert fitted.accepted, fitted.refusal
    assert fitted.before.recall == 1.0 and fitted.before.false_positive_rate == 1.0
    assert fitted.after.recall >= 0.95 and fitted.after.false_positive_rate < 0.5
    assert fitted.after.f > fitted.before.f
    fresh_noise = _item("华鼎证券今天又跌了9个点，垃圾股，割肉走人")
    fresh_complaint = _item("华鼎证券乱收费，开户时说好万一，结果收了万五，投诉也没人理", topic="客户投诉")
    fitted.layer.apply([fresh_noise, fresh_complaint])
    assert fresh_noise.analysis["flagged"] is False and fresh_noise.analysis["level"] is None
    why = fresh_noise.analysis["reasons"][-1]
    assert why.startswith("本司反馈模型：降为不预警（历史误报相似") and REASON in why
    assert fresh_complaint.analysis["flagged"] is True and fresh_complaint.analysis["level"] == "IV"
    assert not any(r.startswith("本司反馈模型") for r in fresh_complaint.analysis["reasons"])


def test_a_protected_level_is_never_lowered(fitted):
    severe = _item("华鼎证券今天又跌了9个点，垃圾股，割肉走人", level="I")
    fitted.layer.apply([severe])
    assert severe.analysis["flagged"] is True and severe.analysis["level"] == "I"


def test_an_unflagged_post_is_never_raised(fitted):
    quiet = _item("华鼎证券乱收费，佣金说好万一实际收了万3，投诉无门", flagged=False)
    assert not fitted.layer.wants(quiet.analysis)
    fitted.layer.apply([quiet])
    assert quiet.analysis["flagged"] is False


def test_too_few_verdicts_are_refused_saying_how_many_are_needed():
    items, confirmed, reasons = _verdicts(numbers=range(2, 4))  # 10 误报, 10 confirmed
    result = _learn(items, confirmed, reasons)
    assert result.layer is None and not result.accepted
    assert "至少需要 30 条" in result.refusal and "各至少 8 条" in result.refusal
    assert "现有 20 条（误报 10，确认/升级 10）" in result.refusal
    one_kind = _learn(items * 4, [1] * 80, [""] * 80)
    assert "误报 0" in one_kind.refusal


def test_a_layer_that_would_lose_confirmed_alerts_is_refused():
    # officers disagree with themselves: the same kinds of text are now 误报, now confirmed
    items, confirmed, reasons = _verdicts()
    rng = np.random.default_rng(3)
    noisy = [int(c) if rng.random() < 0.5 else 1 - int(c) for c in confirmed]
    result = _learn(items, noisy, [REASON if c == 0 else "" for c in noisy], min_kept=0.99)
    assert not result.accepted
    assert "不启用" in result.refusal


def test_verdicts_the_analysis_no_longer_flags_count_before_and_after_but_do_not_train():
    items, confirmed, reasons = _verdicts()
    flagged = [True] * len(items)
    flagged[5] = False  # a confirmed alert the analysis misses now: a miss, whatever the layer does
    result = learn_layer(
        items,
        confirmed,
        flagged=flagged,
        protected=[False] * len(items),
        reasons=reasons,
        options=LearnOptions(),
    )
    assert result.before.confirmed_flagged == result.before.confirmed - 1
    assert result.after.confirmed_flagged <= result.before.confirmed_flagged
    assert len(result.layer.memory) == len(items) - 1


def test_a_layer_survives_json_and_refuses_another_format(fitted):
    data = json.loads(json.dumps(fitted.layer.to_dict(), ensure_ascii=False))
    again = FeedbackLayer.from_dict(data, version=7)
    assert again.version == 7 and again.feature_set == fitted.layer.feature_set
    assert again.threshold == pytest.approx(fitted.layer.threshold, abs=1e-6)
    a, b = _item("华鼎这票天天跌，9块买的现在亏惨了"), _item("华鼎这票天天跌，9块买的现在亏惨了")
    fitted.layer.apply([a])
    again.apply([b])
    assert a.analysis == b.analysis
    with pytest.raises(ValueError, match="yuqing learn"):
        FeedbackLayer.from_dict({**data, "format": 0})
    with pytest.raises(ValueError, match="yuqing learn"):
        FeedbackLayer.from_dict({**data, "weights": data["weights"][:-1]})


def test_memory_similarity_and_features():
    mem = Memory([Remembered("华鼎证券今天又跌了", False, "噪音"), Remembered("华鼎金管家登录不上", True)])
    same = mem.similarities("华鼎证券今天又跌了")
    assert same[0] == pytest.approx(1.0) and same[1] < 0.3
    assert mem.similarities("完全无关的一句话").max() == pytest.approx(0.0)
    sims = np.array([0.9, 0.2, 0.5])
    feats = similarity_features(sims, np.array([False, True, True]), exclude=None)
    assert feats[:3].tolist() == pytest.approx([0.5, 0.9, -0.4])
    left_out = similarity_features(sims, np.array([False, True, True]), exclude=0)
    assert left_out[1] == 0.0  # no 误报 left to be alike to
    kept = remembered("  很长的  文本 " * 100, False, " 原因\n两行 ")
    assert len(kept.text) <= 200 and kept.reason == "原因 两行"


def test_reason_tokens_drop_numbers_and_names():
    toks = reason_tokens(
        ["负面情绪 0.65", "提及：华鼎证券", "关键词：处罚、证监会", "负面指向：华鼎证券（0.83）"]
    )
    assert toks == ["r:负面情绪", "r:提及", "r:关键词", "kw:处罚", "kw:证监会", "r:负面指向"]


def test_logistic_fit_separates_and_thresholds_keep_the_confirmed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] - x[:, 1] > 0).astype(int)
    rows = [(np.arange(3), r) for r in x]
    X = Sparse.from_rows(rows, 3)
    w, b = fit_logistic(X, y, c=10.0)
    assert ((predict(X, w, b) >= 0.5) == y).mean() > 0.95
    p = np.array([0.1, 0.2, 0.8, 0.9, 0.3])
    yy = np.array([0, 0, 1, 1, 1])
    t, _ = choose_threshold(p, yy, np.zeros(5, dtype=bool), min_kept=1.0, beta=2.0)
    assert 0.2 < t <= 0.3  # drops both 误报, keeps every confirmed one
    t_forced, _ = choose_threshold(
        p, yy, np.array([False, False, False, False, True]), min_kept=1.0, beta=2.0
    )
    assert 0.2 < t_forced <= 0.8


def test_the_analyzer_applies_a_layer_in_one_place_and_says_so(analyzer):
    text = "华鼎证券今天又跌了5个点，垃圾股，套牢了"
    (plain,) = analyzer.analyze([{"text": text}])
    assert plain["flagged"], plain["reasons"]
    layer = FeedbackLayer(
        feature_set="similarity",
        weights=np.array([0.0, -20.0, 0.0, 0.0, 0.0]),
        bias=5.0,
        threshold=0.5,
        min_similarity=0.3,
        memory=Memory([Remembered("华鼎证券今天又跌了3个点，垃圾股，套牢了", False, REASON)]),
        protect_levels=(),
    )
    with_layer = copy.copy(analyzer)
    with_layer.feedback = layer
    (lowered, other) = with_layer.analyze(
        [{"text": text}, {"text": "华鼎金管家又崩了，开盘5分钟登录不上无法交易"}]
    )
    assert lowered["flagged"] is False and lowered["level"] is None
    assert lowered["reasons"][-1].startswith("本司反馈模型：降为不预警") and REASON in lowered["reasons"][-1]
    assert lowered["reasons"][:-1] == plain["reasons"]
    assert other["flagged"] is True
    assert not any(r.startswith("本司反馈模型") for r in other["reasons"])

    recorder = FeatureRecorder()
    with_layer.feedback = recorder
    with_layer.analyze([{"text": text, "id": "p1"}, {"text": "今天天气不错"}])
    assert [it.post["id"] for it in recorder.items] == ["p1"]  # only posts about a watched entity
    assert recorder.items[0].analysis["flagged"] is True and recorder.items[0].rumor_score is not None
