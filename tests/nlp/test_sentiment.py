import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.sentiment import (
    BERT_DIR,
    ENSEMBLE_FILE,
    FIT_DIR,
    LABELS,
    LINEAR_DIR,
    MODELS_DIR,
    DomainLinearSentimentClassifier,
    EnsembleSentimentClassifier,
    LinearSentimentClassifier,
    ModelLoadError,
    OnnxSentimentClassifier,
    UnknownModelError,
    create_sentiment_model,
    load_linear_model,
)
from nlp.training.data import NEWS_SET, SENTIMENT_SETS, sentiment_rows
from nlp.training.sentiment import news_negativity

SHARED_DATA = Path(
    os.environ.get("YUQING_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)

# accuracy floors on the held-out slices, a little under what `python -m nlp.training sentiment-ensemble`
# measured for both shipped models (nlp/models/ensemble-metrics.json)
FLOORS = {"finfe": 0.68, "stock_comments": 0.89, "chnsenticorp": 0.90, "weibo_emotion": 0.77}


def heldout(name: str) -> list[tuple[str, str]]:
    if not SHARED_DATA.exists():
        pytest.skip(f"no shared data at {SHARED_DATA}")
    return sentiment_rows(SHARED_DATA, next(d for d in SENTIMENT_SETS if d.name == name), "heldout")


def accuracy(model, rows: list[tuple[str, str]]) -> float:
    pred = model.predict_proba([t for t, _ in rows]).argmax(axis=1)
    return float(np.mean([LABELS[p] == g for p, (_, g) in zip(pred, rows, strict=True)]))


def test_factory_fails_fast_on_a_bad_name(tmp_path):
    with pytest.raises(UnknownModelError, match="unknown sentiment model"):
        create_sentiment_model("bert-nonexistent")
    with pytest.raises(UnknownModelError, match="未指定"):
        create_sentiment_model("  ")
    with pytest.raises(ModelLoadError, match="缺少 config.json"):
        create_sentiment_model(str(tmp_path))  # a directory, but not a model
    with pytest.raises(UnknownModelError, match="不是内置模型名"):
        create_sentiment_model(str(tmp_path / "nowhere"))


def test_builtin_is_small_and_shared(builtin_model):
    assert create_sentiment_model("builtin") is builtin_model
    assert builtin_model.labels == LABELS
    assert isinstance(create_sentiment_model("ensemble"), EnsembleSentimentClassifier)
    size = sum(p.stat().st_size for p in MODELS_DIR.rglob("*") if p.is_file())
    assert size < 60_000_000  # every shipped model together (the opt-in encoder-e5 is 24 MB of it)


def test_shipped_transformer_is_a_transformers_directory():
    cfg = json.loads((BERT_DIR / "config.json").read_text(encoding="utf-8"))
    assert [cfg["id2label"][str(i)] for i in range(3)] == list(LABELS)
    assert cfg["model_type"] == "bert"
    for f in ("model.onnx", "tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        assert (BERT_DIR / f).is_file(), f
    vocab = (BERT_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and "涨" in vocab
    # the same directory, named as a user would name their own model, loads the same way
    assert isinstance(create_sentiment_model(str(BERT_DIR)), OnnxSentimentClassifier)


def test_the_desk_runs_the_shipped_model_without_torch():
    code = (
        "import sys; from nlp.sentiment import create_sentiment_model as c; "
        "p = c('builtin').predict_proba(['华鼎证券又暴雷了，亏惨了', '嗯']); "
        "assert p.shape == (2, 3); print(sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_injected_tiny_model(tiny_model):
    out = tiny_model.predict(["服务差", "服务好", "", "的的的"])
    assert [o["label"] for o in out] == ["negative", "positive", "negative", "neutral"]
    assert abs(sum(out[0]["scores"].values()) - 1) < 1e-3
    assert tiny_model.predict_proba([]).shape == (0, 3)


@pytest.mark.parametrize("name", ["builtin", "domain", "linear", "linear-fit", "bert-small"])
def test_one_row_per_text_whatever_the_batch(name):
    model = create_sentiment_model(name)
    texts = ["太差了，亏惨了，垃圾公司", "", "涨停了，开心，赚翻了", "x" * 1_000_000, "\x00\ufffd<script>"]
    p = model.predict_proba(texts)
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-4)
    assert LABELS[p[0].argmax()] == "negative" and LABELS[p[2].argmax()] == "positive"
    assert model.predict_proba([]).shape == (0, 3)
    single = np.vstack([model.predict_proba([t]) for t in texts])
    # batching (length sorting, padding) changes nothing beyond int8 dynamic quantisation, whose
    # activation scales are per batch
    assert np.allclose(single, p, atol=2e-2)


def test_first_linear_model_files_are_plain():
    model = create_sentiment_model("linear")
    meta = json.loads((LINEAR_DIR / "vocab.json").read_text(encoding="utf-8"))
    assert meta["labels"] == list(LABELS) and len(meta["features"]) == len(model.vocabulary)
    for d in (LINEAR_DIR, FIT_DIR):
        with np.load(d / "weights.npz", allow_pickle=False) as w:
            assert set(w.files) == {"coef", "idf", "intercept"}


def test_ensemble_settings_come_from_the_validation_slice():
    cfg = json.loads(ENSEMBLE_FILE.read_text(encoding="utf-8"))
    assert 0 <= cfg["weight"] <= 1 and cfg["validation"]["rows"] > 1000
    assert cfg["validation"]["mean_per_set_accuracy"] >= cfg["validation"]["linear_alone"]
    report = json.loads((MODELS_DIR / "ensemble-metrics.json").read_text(encoding="utf-8"))
    assert set(report["heldout"]) >= set(FLOORS)  # the card's figures cover every slice


@pytest.mark.parametrize("name", sorted(FLOORS))
@pytest.mark.parametrize("model_name", ["builtin", "ensemble"])
def test_shipped_models_on_held_out_rows(model_name, name):
    rows = heldout(name)  # the slice no model trained or was calibrated on
    acc = accuracy(create_sentiment_model(model_name), rows)
    gold = [lab for _, lab in rows]
    majority = max(gold.count(lab) for lab in LABELS) / len(gold)
    assert acc >= FLOORS[name], f"{model_name} on {name}: accuracy {acc:.3f} < floor {FLOORS[name]}"
    assert acc > majority + 0.1


def test_the_small_bert_alone_learnt_something():
    rows = heldout("chnsenticorp")
    assert accuracy(create_sentiment_model("bert-small"), rows) >= 0.8  # majority class: 0.50


def tiny_domain_model() -> DomainLinearSentimentClassifier:
    """Shared: 差 negative, 好 positive. The router sends texts with 股 to "forum", the rest to
    "reviews"; in the forum corpus 跌 is negative, in reviews it means nothing."""
    vocab = ["差", "好", "股", "跌"]
    zero = [0.0, 0.0, 0.0]
    return DomainLinearSentimentClassifier(
        vocab,
        idf=np.ones(4),
        coef=[[4.0, 0.0, -4.0], [-4.0, 0.0, 4.0], zero, zero],
        intercept=[0.0, 1.0, 0.0],
        domains=["reviews", "forum"],
        # per feature: reviews' 3 columns then forum's 3 columns
        domain_coef=[zero + zero, zero + zero, zero + zero, zero + [6.0, 0.0, -6.0]],
        domain_bias=[zero, zero],
        router_coef=[[0.0, 0.0], [0.0, 0.0], [-8.0, 8.0], [0.0, 0.0]],
        router_intercept=[3.0, 0.0],  # a text with no forum word reads like a review
    )


def test_domain_model_reads_a_word_by_the_corpus_the_text_resembles(tmp_path):
    model = tiny_domain_model()
    forum, review = model.predict(["股跌"]), model.predict(["跌"])
    assert forum[0]["label"] == "negative"  # 跌 in a stock forum: the forum block says negative
    assert review[0]["label"] == "neutral"  # 跌 in a review: the forum block barely counts
    routes = model.domain_proba(["股跌", "跌"])
    assert routes[0].argmax() == 1 and routes[1].argmax() == 0 and routes[1, 1] < 0.1
    # shared words work whatever the corpus
    assert [o["label"] for o in model.predict(["股差", "好"])] == ["negative", "positive"]
    assert model.predict_proba([]).shape == (0, 3)

    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as w:
        assert {"coef", "domain_coef_int8", "router_coef"} <= set(w.files)
    again = load_linear_model(tmp_path / "m")
    assert isinstance(again, DomainLinearSentimentClassifier) and again.domains == ("reviews", "forum")
    texts = ["股跌", "跌", "好", "", "股股股差"]
    assert np.allclose(again.predict_proba(texts), model.predict_proba(texts), atol=1e-3)
    # a plain linear directory still loads as the plain class
    assert type(load_linear_model(LINEAR_DIR)) is LinearSentimentClassifier
    # and one's own trained directory is a valid `sentiment_model` setting
    assert isinstance(create_sentiment_model(str(tmp_path / "m")), DomainLinearSentimentClassifier)


def test_domain_model_is_no_worse_than_the_floor_on_any_slice_and_reads_negative_news():
    """The opt-in ``domain`` model against the first linear model (TF-IDF + LR, the floor of issue 4)
    on the held-out slices: no worse on any of the four sets the card reports, better on average, and
    far better at telling negative financial news (finnsp) from the rest, which the floor never saw."""
    domain, floor = create_sentiment_model("domain"), create_sentiment_model("linear")
    gains = {}
    for name in sorted(FLOORS):
        rows = heldout(name)
        gains[name] = accuracy(domain, rows) - accuracy(floor, rows)
    assert min(gains.values()) > -0.005, gains
    assert sum(gains.values()) / len(gains) > 0.004, gains
    news = sentiment_rows(SHARED_DATA, NEWS_SET, "heldout")
    ours, theirs = news_negativity(domain, news), news_negativity(floor, news)
    assert ours["negative_auc"] > theirs["negative_auc"] + 0.1, (ours, theirs)
    assert ours["negative_f1"] > 0.8 and ours["negative_read_as_surely_positive"] < 0.01, ours


def test_the_builtin_still_reads_short_complaints_about_a_firm_as_negative():
    """Why ``domain`` is not the builtin: the desk's everyday complaints must lean negative."""
    complaints = ["华鼎证券客服态度太差，垃圾", "华鼎证券高管被带走调查", "中信银行信用卡乱收费"]
    p = create_sentiment_model("builtin").predict_proba(complaints)
    assert (p.argmax(axis=1) == LABELS.index("negative")).all(), p.round(2)


def test_news_negativity_counts_ties_as_half():
    class Fixed:
        def predict_proba(self, texts):
            neg = np.array([0.9, 0.4, 0.4, 0.1])
            return np.stack([neg, 1 - neg, np.zeros(4)], axis=1)

    rows = [("a", "negative"), ("b", "negative"), ("c", "neutral"), ("d", "neutral")]
    out = news_negativity(Fixed(), rows)
    # pairs (negative item, other): 0.9>0.4, 0.9>0.1, 0.4=0.4 (half), 0.4>0.1 → 3.5 / 4
    assert out["negative_auc"] == 0.875
    assert out["negative_f1"] == round(2 / 3, 4)  # argmax says negative for 0.9 only: 1 hit, 1 miss
