import json
import os
from pathlib import Path

import numpy as np
import pytest

from nlp.sentiment import BUILTIN_DIR, LABELS, ModelLoadError, UnknownModelError, create_sentiment_model
from nlp.train import SENTIMENT_SETS, sentiment_rows

SHARED_DATA = Path(
    os.environ.get("YUQING_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)

# floors a little under what `python -m nlp.train sentiment` measured on the full held-out slices
FLOORS = {"finfe": 0.65, "stock_comments": 0.85, "chnsenticorp": 0.85, "weibo_emotion": 0.72}


def test_factory_fails_fast_on_a_bad_name(tmp_path):
    with pytest.raises(UnknownModelError, match="unknown sentiment model"):
        create_sentiment_model("bert-nonexistent")
    with pytest.raises(ModelLoadError, match="缺少 config.json"):
        create_sentiment_model(str(tmp_path))  # a directory, but not a model
    with pytest.raises(UnknownModelError, match="不是内置模型名"):
        create_sentiment_model(str(tmp_path / "nowhere"))


def test_builtin_is_small_and_shared(builtin_model):
    size = sum(p.stat().st_size for p in BUILTIN_DIR.iterdir())
    assert size < 15_000_000
    assert create_sentiment_model("builtin") is builtin_model
    assert builtin_model.labels == LABELS


def test_injected_tiny_model(tiny_model):
    out = tiny_model.predict(["服务差", "服务好", "", "的的的"])
    assert [o["label"] for o in out] == ["negative", "positive", "negative", "neutral"]
    assert abs(sum(out[0]["scores"].values()) - 1) < 1e-3
    assert tiny_model.predict_proba([]).shape == (0, 3)


def test_one_row_per_text_whatever_the_batch(builtin_model):
    texts = ["太差了，亏惨了", "", "涨停了，开心", "x" * 1_000_000]
    p = builtin_model.predict_proba(texts)
    assert p.shape == (4, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-4)
    assert LABELS[p[0].argmax()] == "negative" and LABELS[p[2].argmax()] == "positive"


def test_shipped_files_are_plain(builtin_model):
    meta = json.loads((BUILTIN_DIR / "vocab.json").read_text(encoding="utf-8"))
    assert meta["labels"] == list(LABELS) and len(meta["features"]) == len(builtin_model.vocabulary)
    with np.load(BUILTIN_DIR / "weights.npz", allow_pickle=False) as w:
        assert set(w.files) == {"coef", "idf", "intercept"}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_beats_majority_baseline_on_held_out_rows(builtin_model, name):
    if not SHARED_DATA.exists():
        pytest.skip(f"no shared data at {SHARED_DATA}")
    ds = next(d for d in SENTIMENT_SETS if d.name == name)
    rows = sentiment_rows(SHARED_DATA, ds, "heldout")  # the slice training never saw
    gold = [lab for _, lab in rows]
    pred = [LABELS[i] for i in builtin_model.predict_proba([t for t, _ in rows]).argmax(axis=1)]
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(rows)
    majority = max(gold.count(lab) for lab in LABELS) / len(gold)
    assert acc >= FLOORS[name], f"{name}: accuracy {acc:.3f} < floor {FLOORS[name]}"
    assert acc > majority + 0.1
