"""False items (不实): the rumor model, the rumor register, and how falsity combines them with cues."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from nlp.falsity import FalsityDetector
from nlp.rumor import RUMOR_DIR, RegisterEntry, RumorRegister, load_default, split_keywords
from nlp.training.data import rumor_rows
from nlp.training.rumor import evaluate

SHARED_DATA = Path(
    os.environ.get("YUQING_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
# a little under what `python -m nlp.training rumor train` printed on the held-out rows (all 0.935,
# ced 0.882, jin2017 0.965, checked 0.929)
FLOORS = {"all": 0.92, "ced": 0.85, "jin2017": 0.94, "checked": 0.88}

CLAIM = "华鼎证券总经理李静被带走调查"
URL = "https://www.huading.example/notice/1"


@pytest.fixture
def register() -> RumorRegister:
    return RumorRegister(
        [
            {"id": 1, "claim": CLAIM, "keywords": "李静，带走", "url": URL, "date": "2026-03-01"},
            {"id": 2, "claim": "华鼎证券资金链断裂即将暂停兑付", "keywords": []},
        ]
    )


def test_shipped_model_is_plain_files_and_loaded_once():
    meta = json.loads((RUMOR_DIR / "vocab.json").read_text(encoding="utf-8"))
    assert meta["labels"] == ["non-rumor", "rumor"]
    with np.load(RUMOR_DIR / "weights.npz", allow_pickle=False) as w:
        assert set(w.files) == {"coef", "idf", "intercept"}
    assert sum(p.stat().st_size for p in RUMOR_DIR.iterdir()) < 5_000_000
    assert load_default() is load_default()


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_rumor_f1_on_held_out_rows(name):
    if not (SHARED_DATA / "rumor").exists():
        pytest.skip(f"no rumor data under {SHARED_DATA}")
    m = evaluate(load_default(), rumor_rows(SHARED_DATA, "heldout"))
    assert m[name]["rumor_f1"] >= FLOORS[name], m[name]


def test_register_matches_by_all_keywords(register):
    m = register.match("听说李静昨天被带走了？")
    assert m is not None and m.entry.id == 1 and m.keywords == ("李静", "带走")
    reason = m.reason()
    assert CLAIM in reason and URL in reason and "2026-03-01" in reason
    assert register.match("李静今天出席了论坛") is None  # one keyword of two is not a repeat


def test_register_matches_reworded_claims_by_shingles(register):
    m = register.match("【扩散】华鼎证券 资金链断裂，即将暂停兑付！！")
    assert m is not None and m.entry.id == 2 and m.similarity >= 0.5
    assert register.match("ＨＵＡＤＩＮＧ华鼎证券资金链断裂即将暂停兑付") is not None  # full-width, case
    assert register.match("华鼎证券发布年报，营收增长") is None


def test_register_survives_hostile_empty_and_enormous_text(register):
    assert register.match("") is None and register.match("。！？……") is None
    assert register.match("(*+?[^$\\") is None
    big = "无关内容" * 250_000 + CLAIM
    t = time.perf_counter()
    register.match(big)
    assert time.perf_counter() - t < 2
    assert RumorRegister([]).match(CLAIM) is None
    assert len(RumorRegister([{"claim": "", "keywords": []}])) == 0  # an empty entry never matches


def test_entries_from_rows_and_keywords_as_typed():
    class Row:
        id, claim, clarification, url, date, keywords = 7, " 传言 ", "", "", "2026-03-01T00:00", ["a"]

    e = RegisterEntry.coerce(Row())
    assert (e.id, e.claim, e.date, e.keywords) == (7, "传言", "2026-03-01", ("a",))
    assert split_keywords("李静，被带走、调查;  停牌") == ["李静", "被带走", "调查", "停牌"]


def test_a_repeat_is_a_rumor_and_a_denial_is_not(register):
    det = FalsityDetector()
    repeat = det.check("李静被带走了，华鼎证券要完", register=register)
    assert repeat.label == "rumor" and repeat.score >= 0.9
    assert repeat.reasons()[0].startswith("与已辟谣传言相符：“华鼎证券总经理李静被带走调查”")
    denial = det.check("华鼎证券澄清：李静正常履职，网传被带走调查纯属谣言", register=register)
    assert denial.label == "none" and denial.score < 0.5
    assert any("对应已登记传言" in r for r in denial.reasons())


def test_the_model_alone_needs_to_be_very_sure():
    det = FalsityDetector(model_threshold=0.9)
    assert det.check("华鼎证券今天发布公告", model_score=0.6).label == "none"
    sure = det.check("华鼎证券今天发布公告", model_score=0.95)
    assert sure.label == "rumor" and "谣言模型 0.95（单独即可判定）" in sure.reasons()
    # with a weak cue, a middling model score tips it (a neutral claim: hearsay of trouble such as 裁员
    # is a rumor by the cues alone, test_hearsay_of_corporate_trouble_is_a_rumor)
    assert det.check("听说华鼎证券要换办公楼", model_score=0.0).label == "none"
    # a score under 0.5 is the model saying "not a rumor": it adds nothing to a weak cue
    assert (
        det.check("警方发现一条疑似诈骗线索", model_score=0.39).score
        == det.check("警方发现一条疑似诈骗线索").score
    )
    tipped = det.check("听说华鼎证券要换办公楼", model_score=0.7)
    assert tipped.label == "rumor" and "不实线索：“听说”" in tipped.reasons()


def test_analyzer_reads_the_register(builtin_model):
    from nlp.analyzer import Analyzer
    from tests.nlp.conftest import FIRM

    a = Analyzer.from_config(
        firm=FIRM,
        sentiment_model=builtin_model,
        rumor_register=[{"claim": CLAIM, "keywords": ["李静", "带走"], "url": URL}],
    )
    out = a.analyze([{"text": "李静被带走了"}, {"text": "隔壁公司高管被带走了"}])
    assert out[0]["falsity"]["label"] == "rumor" and out[0]["topic"] == "不实信息" and out[0]["flagged"]
    assert any(URL in r for r in out[0]["reasons"])
    assert out[1]["targets"] == [] and not out[1]["flagged"]
