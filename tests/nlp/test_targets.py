"""Negative about us, not about someone else: the entity-level model and the analyzer's use of it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from nlp.analyzer import Analyzer
from nlp.targets import (
    ABSENT_DENSE,
    DENSE,
    TARGETS_DIR,
    Candidate,
    TargetModel,
    absent_features,
    features,
    load_default,
)
from nlp.training.data import finnsp_rows
from nlp.training.targets import _pick, evaluate, evaluate_analyzer, pair_f1
from nlp.watchlist import Mention

SHARED_DATA = Path(
    os.environ.get("YUQING_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
# floors a little under what `python -m nlp.training targets eval --analyzer` printed (entity model 0.922
# with the absent layer, 0.907 without; through the analyzer 0.898; every candidate of a TF-IDF-flagged
# post: 0.778)
ENTITY_F1_FLOOR = 0.91
ANALYZER_F1_FLOOR = 0.88

CITIC = {
    "name": "中信证券股份有限公司",
    "short_names": ["中信证券"],
    "stock_codes": ["600030"],
    "executives": ["张佑君"],
    "products": ["信e投"],
    "exclude": ["中信银行", "中信建投", "中信建投证券"],
}


@pytest.fixture(scope="module")
def citic(builtin_model) -> Analyzer:
    return Analyzer.from_config(firm=CITIC, sentiment_model=builtin_model)


def one(analyzer, text, **post):
    return analyzer.analyze([{"text": text, **post}])[0]


def test_shipped_model_is_small_plain_files():
    files = [p for p in TARGETS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 3_000_000
    meta = json.loads((TARGETS_DIR / "meta.json").read_text(encoding="utf-8"))
    assert meta["dense"] == list(DENSE)
    assert meta["absent"]["dense"] == list(ABSENT_DENSE)
    with np.load(TARGETS_DIR / "weights.npz", allow_pickle=False) as w:
        assert set(w.files) == {"coef", "mean", "scale", "absent_coef", "absent_mean", "absent_scale"}
    assert load_default() is load_default()  # loaded once, shared
    assert load_default().absent is not None


def test_a_model_without_the_absent_layer_still_loads(tmp_path):
    model = load_default()
    bare = TargetModel(
        model.doc_model,
        model.coef,
        model.intercept,
        threshold=model.threshold,
        mean=model.mean,
        scale=model.scale,
    )
    bare.save(tmp_path / "m")
    loaded = TargetModel.load(tmp_path / "m")
    assert loaded.absent is None
    assert loaded.score_absent([absent_features("x", "y", {}, 0.5, 0.5)]).tolist() == [0.0]


def test_absent_features_see_a_variant_spelling_and_the_named_candidates():
    text = "资易贷(北京）金融信息有限公司旗下小资钱包平台涉嫌非法吸收公众存款"
    near, idx = absent_features(text, "资易贷（北京）金融信息服务有限公司", {"小资钱包": 0.9}, 0.8, 0.9)
    far, _ = absent_features(text, "悟空理财", {"小资钱包": 0.9}, 0.8, 0.9)
    i = ABSENT_DENSE.index("lcs_share")
    assert near.shape == (len(ABSENT_DENSE),) and near[i] > 0.5 and far[i] == 0.0
    assert near[ABSENT_DENSE.index("found_max")] == pytest.approx(0.9)
    assert idx and all(0 <= j < 1 << 16 for j in idx)
    inner, _ = absent_features("小资钱包爆雷", "北京小资钱包", {"小资钱包": 0.7}, 0.8, 0.9)
    assert inner[ABSENT_DENSE.index("has_found_sub")] == 1.0
    assert inner[ABSENT_DENSE.index("found_sub_max")] == pytest.approx(0.7)


def test_threshold_moves_from_half_only_for_a_clear_cross_validated_gain():
    cv = {"0.30": 0.90, "0.35": 0.90, "0.40": 0.901, "0.45": 0.902, "0.50": 0.9, "0.55": 0.89, "0.60": 0.88}
    assert _pick(cv) == 0.5
    cv["0.40"] = 0.91
    assert _pick(cv) == 0.4


def test_a_corrupt_model_directory_fails_with_a_clear_error(tmp_path):
    model = load_default()
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    meta["dense"] = meta["dense"][:-1]
    (tmp_path / "m" / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported format"):
        TargetModel.load(tmp_path / "m")


def test_lookalike_negativity_is_not_about_us(citic):
    a = one(citic, "中信银行信用卡乱收费，投诉无门，垃圾银行；中信证券今天一切正常")
    assert a["targets"] == ["中信证券"] and a["negative_targets"] == [] and not a["flagged"]
    assert "相似名称已排除：中信银行" in a["reasons"] and "负面未指向：中信证券" in a["reasons"]
    b = one(citic, "中信建投被证监会罚款，相关负责人被警示")
    assert b["targets"] == [] and not b["flagged"]
    c = one(citic, "中信建投证券分析师称中信证券业绩稳健")
    assert c["targets"] == ["中信证券"] and c["negative_targets"] == [] and not c["flagged"]


def test_negative_about_us_by_name_code_executive_and_product(citic):
    by_name = one(citic, "中信证券APP又崩了，交易失败，垃圾")
    assert by_name["negative_targets"] == ["中信证券"] and by_name["flagged"]
    assert any(r.startswith("负面指向：中信证券（0.") for r in by_name["reasons"])
    by_code = one(citic, "600030 跌停了，被立案调查")
    assert by_code["negative_targets"] == ["中信证券"]
    by_product = one(citic, "信e投又登不上了，气死我了，什么破软件")
    assert by_product["negative_targets"] == ["中信证券"]
    assert "提及：中信证券（产品 信e投）" in by_product["reasons"]


def test_negative_about_a_peer_not_about_us(analyzer):
    a = one(analyzer, "中信证券的APP闪退了，气死，华鼎证券倒还好")
    assert a["targets"] == ["中信证券", "华鼎证券"]
    assert "华鼎证券" not in a["negative_targets"]


def test_hostile_empty_and_enormous_posts(citic):
    out = citic.analyze(
        [
            {"text": ""},
            {"text": "中信证券" + "\u202e\x00<script>alert(1)</script>" * 100},
            {"text": "，。；" * 10_000 + "中信证券"},
            {"text": "中信证券、" * 200_000},
        ]
    )
    assert [o["targets"] for o in out] == [[], ["中信证券"], ["中信证券"], ["中信证券"]]
    t = time.perf_counter()
    one(citic, ("中信证券太差了，" + "中信银行很好。" * 20) * 5_000)
    assert time.perf_counter() - t < 10


def test_features_of_a_name_inside_a_longer_candidate():
    text = "中信证券资管产品爆雷，中信证券资管被投诉"
    cands = [
        Candidate(
            "中信证券资管",
            [Mention("中信证券资管", "中信证券资管", 0, 6), Mention("中信证券资管", "中信证券资管", 11, 17)],
            [],
        ),
        Candidate("中信", [Mention("中信", "中信", 20, 22)], []),
    ]
    rows = features(text, 0, cands, {}, {}, 0.9, 0.9, extra_names=["中信证券"])
    (long_dense, long_idx), (short_dense, _) = rows
    i_sub, i_has = DENSE.index("is_sub"), DENSE.index("has_sub")
    assert long_dense[i_has] == 1.0 and long_dense[i_sub] == 0.0
    assert short_dense[i_sub] == 1.0
    assert long_idx and all(0 <= i < 1 << 16 for i in long_idx)
    assert features("", 0, [], {}, {}, 0.0, 0.0) == []


def test_pair_f1_counts_pairs():
    assert pair_f1([["a", "b"], []], [["a"], ["c"]]) == {"precision": 0.5, "recall": 0.5, "f1": 0.5}


@pytest.fixture(scope="module")
def heldout():
    if not (SHARED_DATA / "sentiment" / "finnsp_train.jsonl").exists():
        pytest.skip(f"no finnsp data under {SHARED_DATA}")
    return finnsp_rows(SHARED_DATA, "heldout")


def test_entity_f1_on_held_out_finnsp(heldout):
    m = evaluate(load_default(), heldout)
    assert m["n_posts"] > 500
    assert m["entity_f1"] >= ENTITY_F1_FLOOR, m
    named_only = m["entity_f1 without the absent layer (named candidates only, as the analyzer)"]
    assert 0.89 <= named_only < m["entity_f1"], m


def test_entity_f1_through_the_analyzer(heldout, builtin_model):
    analyzer = Analyzer.from_config(firm={"name": "华鼎证券"}, sentiment_model=builtin_model)
    m = evaluate_analyzer(analyzer, heldout)
    assert m["entity_f1"] >= ANALYZER_F1_FLOOR, m


def test_the_analyzer_hands_a_posts_unmentioned_candidates_to_the_features(analyzer, monkeypatch):
    import nlp.analyzer as analyzer_mod

    seen: list[list[str]] = []
    real = analyzer_mod.targets_mod.features

    def spy(*args, **kwargs):
        seen.append(list(kwargs.get("extra_names", ())))
        return real(*args, **kwargs)

    monkeypatch.setattr(analyzer_mod.targets_mod, "features", spy)
    one(analyzer, "中信证券被立案调查", watch=["中信证券", "中信证券资管", "华鼎证券"])
    assert seen[-1] == ["中信证券资管", "华鼎证券"]
    one(analyzer, "华鼎证券被立案调查")  # the configured watch list: no candidate list of its own
    assert seen[-1] == []
