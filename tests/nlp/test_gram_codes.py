"""The linear models' batch path (nlp.sentiment.gram_counts: n-grams coded as integers, looked up together)
gives what counting each text's n-grams with a dict gave: the same entries in the same order, and
bit-identical scores, for the sentiment model, the news-negativity and rumor models and the rescue model."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from nlp import rescue as rescue_mod
from nlp import targets as targets_mod
from nlp.sentiment import (
    GRAM_CODES_AFTER,
    GramCodes,
    LinearSentimentClassifier,
    char_ngrams,
    create_sentiment_model,
    gram_counts,
    sublinear_tf,
)

ALPHABET = list("华鼎证券今日早盘交易系统出现故障客户无法登录") + list("ABCabc0123456789 ，。！？\n\t:/@")
ODD = [
    "\ud800",
    "\U0001f600",
    "ｆｕｌｌ",
    "①",
    "Ⅻ",
    "\u3000",
    "ﬁ",
    "\x00",
    "e\u0301",
]  # surrogate, emoji, NFKC


def _texts(rng: random.Random, n: int) -> list[str]:
    out = ["", " ", "华", "华鼎", "  华 鼎  "]
    for _ in range(n):
        k = rng.choice([1, 2, 3, 5, 20, 80, 400])
        out.append(
            "".join(rng.choice(ALPHABET) if rng.random() < 0.95 else rng.choice(ODD) for _ in range(k))
        )
    return out


def _dict_counts(texts, vocab, max_chars, ngram_range):
    rows, idx, tf = [], [], []
    for i, t in enumerate(texts):
        counts: dict[int, int] = {}
        for g in char_ngrams((t or "")[:max_chars], ngram_range):
            j = vocab.get(g)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        for j, c in counts.items():
            rows.append(i)
            idx.append(j)
            tf.append(c)
    return rows, idx, tf


@pytest.mark.parametrize("ngram_range", [(1, 3), (1, 1), (2, 3), (2, 2), (3, 3)])
def test_gram_counts_equal_dict_counting(ngram_range):
    rng = random.Random(sum(ngram_range))
    texts = _texts(rng, 300)
    grams = sorted({g for t in texts for g in char_ngrams(t, (1, 3))})
    vocab = {g: i for i, g in enumerate(rng.sample(grams, len(grams) // 2))}
    codes = GramCodes.of(vocab)
    for max_chars in (3000, 7):
        got = gram_counts(texts, codes, max_chars, ngram_range)
        want = _dict_counts(texts, vocab, max_chars, ngram_range)
        assert [a.tolist() for a in got] == [list(w) for w in want]


def test_gram_codes_refuse_longer_features_and_empty_batches_read_nothing():
    assert GramCodes.of({"华鼎证券": 0, "华": 1}) is None
    codes = GramCodes.of({"华": 0})
    assert all(len(a) == 0 for a in gram_counts([], codes, 3000))
    assert all(len(a) == 0 for a in gram_counts(["", "  "], codes, 3000))
    assert [a.tolist() for a in gram_counts(["鼎", "华华"], codes, 3000)] == [[1], [0], [2]]


def test_sublinear_tf_is_math_log():
    counts = np.array([1, 2, 3, 17, 4095, 4096, 9000])
    assert sublinear_tf(counts).tolist() == [1.0 + math.log(c) for c in counts.tolist()]
    assert sublinear_tf(counts[:4]).tolist() == [1.0 + math.log(c) for c in counts[:4].tolist()]


def _same(a, b):
    return all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(a, b, strict=True))


def test_sentiment_rows_and_probabilities_equal_text_by_text():
    model = create_sentiment_model("builtin")
    texts = _texts(random.Random(3), 200) + [
        "华鼎证券APP又登不上了，投诉无门",
        "转发微博//@用户: 华鼎证券暴雷？",
    ]
    assert model.gram_codes() is not None  # built now, whatever the model has read so far
    assert _same(model._rows(texts), model._rows_each(texts))
    fresh = LinearSentimentClassifier(
        model.vocabulary, idf=model.idf, coef=model.coef, intercept=model.intercept, labels=model.labels
    )
    fresh._gram_codes = None  # text by text
    assert np.array_equal(model.predict_proba(texts), fresh.predict_proba(texts))


def test_word_features_are_read_text_by_text():
    tiny = LinearSentimentClassifier(
        ["好", "\x01很好"], idf=np.ones(2), coef=[[-1, 0, 1], [0, 0, 1]], intercept=[0, 0, 0], words=True
    )
    assert tiny.gram_codes() is None
    assert tiny.predict_proba(["很好", "差"]).shape == (2, 3)


def test_linear_scores_equal_dict_counting():
    doc = targets_mod.load_default().doc_model
    assert doc.gram_codes() is not None
    texts = _texts(random.Random(5), 200)
    got = targets_mod.linear_scores([(doc, texts), (doc, texts[::2])])
    plain = LinearSentimentClassifier(
        doc.vocabulary, idf=doc.idf, coef=doc.coef, intercept=doc.intercept, labels=doc.labels
    )
    plain._gram_codes = None
    want = targets_mod.linear_scores([(plain, texts), (plain, texts[::2])])
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_rescue_probability_equals_the_plain_computation():
    model = rescue_mod.load_default()
    if model is None:
        pytest.skip("no shipped rescue model")

    def plain(text: str) -> float:
        feats = []
        for g, k in rescue_mod.ngrams(text).items():
            wi = model.weights.get(g)
            if wi is not None:
                feats.append(((1.0 + math.log(k)) * wi[0], wi[1]))
        if not feats:
            return 1.0 / (1.0 + math.exp(-model.intercept))
        norm = math.sqrt(sum(v * v for v, _ in feats))
        z = model.intercept + sum(v * c for v, c in feats) / norm
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    texts = _texts(random.Random(9), 150) + ["本司APP又崩了，客服电话打不通", "本司本司本司", "", "  \n "]
    for t in texts:
        assert model.probability(t) == plain(t)
    fresh = rescue_mod.RescueModel(model.weights, model.intercept, model.threshold, model.meta)
    assert fresh.probabilities(texts[:10]) == [plain(t) for t in texts[:10]]  # text by text (few asked)
    assert fresh._table(GRAM_CODES_AFTER) is not None  # the batch path from now on
    assert fresh.probabilities(texts) == [plain(t) for t in texts]
    assert fresh.probabilities([]) == []


def test_codes_are_built_once_enough_texts_were_read():
    model = create_sentiment_model("builtin")
    fresh = LinearSentimentClassifier(
        model.vocabulary, idf=model.idf, coef=model.coef, intercept=model.intercept, labels=model.labels
    )
    texts = _texts(random.Random(11), 40)
    first = fresh.predict_proba(texts)  # a few texts: read text by text, no codes yet
    assert "_gram_codes" not in fresh.__dict__
    fresh.predict_proba(texts * (GRAM_CODES_AFTER // len(texts)))
    assert fresh.__dict__.get("_gram_codes") is not None
    assert np.array_equal(fresh.predict_proba(texts), first)
