"""A user's own model: any transformers sequence classifier in a local directory (the ``hf`` extra).

The model is a tiny randomly initialised BERT built here from the bert-base-chinese vocabulary: its
answers are meaningless, but everything a user would notice is checked: it loads from the setting,
every post gets a valid label and probabilities that sum to 1, its labels (English, Chinese,
``LABEL_n``, two classes) land on negative / neutral / positive, and a bad directory is refused with
a clear Chinese message.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nlp.analyzer import Analyzer
from nlp.sentiment import LABELS, HFSentimentClassifier, ModelLoadError, create_sentiment_model, label_mapping

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

VOCAB = Path(__file__).resolve().parents[3] / "shared" / "models" / "bert-base-chinese-vocab" / "vocab.txt"

FIRM = {"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券", "华鼎"], "exclude": ["华鼎银行"]}
POSTS = [
    {"text": "华鼎证券的APP又登不上了，投诉无门！"},
    {"text": ""},
    {"text": "今天天气不错"},
    {"text": "华鼎" * 50_000},  # enormous: truncated, not a crash
]


def tiny_bert(directory: Path, id2label: dict[int, str]) -> Path:
    if not VOCAB.exists():
        pytest.skip(f"no vocabulary at {VOCAB}")
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    torch.manual_seed(0)
    tok = BertTokenizerFast(vocab_file=str(VOCAB), do_lower_case=True)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    BertForSequenceClassification(cfg).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def three_class(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("hf3"), {0: "负面", 1: "中性", 2: "正面"})


def test_analyzer_runs_through_a_users_directory(three_class):
    model = create_sentiment_model(str(three_class))
    assert isinstance(model, HFSentimentClassifier) and model.labels == LABELS
    out = Analyzer.from_config(firm=FIRM, sentiment_model=str(three_class)).analyze(POSTS)
    assert len(out) == len(POSTS)
    for a in out:
        s = a["sentiment"]
        assert s["label"] in LABELS and set(s["scores"]) == set(LABELS)
        assert abs(sum(s["scores"].values()) - 1) < 1e-3
    assert out[0]["targets"]  # the rest of the analysis still happens


def use_model(config_file: Path, model: str) -> None:
    """The configuration file's [model] section names the model, as a user would write it."""
    text = config_file.read_text(encoding="utf-8")
    assert "[model]" not in text
    config_file.write_text(f"{text}\n[model]\nsentiment_model = {json.dumps(model)}\n", encoding="utf-8")


def test_yuqing_analyze_uses_the_configured_directory(three_class, config_file, tmp_path):
    from yuqing.cli import main

    use_model(config_file, str(three_class))
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in POSTS[:3]), encoding="utf-8")
    assert main(["analyze", "--input", str(src), "--output", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3
    # the directory's model was used, not the shipped one: same scores as calling it directly
    direct = create_sentiment_model(str(three_class)).predict([POSTS[0]["text"]])[0]
    assert rows[0]["sentiment"]["scores"] == pytest.approx(direct["scores"], abs=1e-3)


def test_a_bad_directory_gets_a_clear_chinese_error(tmp_path, config_file, capsys):
    from yuqing.cli import main

    with pytest.raises(ModelLoadError, match="缺少 config.json"):
        create_sentiment_model(str(tmp_path))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"', encoding="utf-8")
    with pytest.raises(ModelLoadError, match="无法读取"):
        create_sentiment_model(str(broken))
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="无法加载情感模型"):
        create_sentiment_model(str(no_weights))

    use_model(config_file, str(tmp_path))
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "华鼎证券"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["analyze", "--input", str(src), "--output", str(tmp_path / "out.jsonl")]) == 2
    assert "缺少 config.json" in capsys.readouterr().err


def test_hub_name_without_internet_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub read the variable when it was imported: also tell it now, or it waits for a timeout
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError, match="不能联网"):
        create_sentiment_model("someone/no-such-chinese-sentiment-model")


def test_two_class_and_generic_labels(tmp_path):
    two = create_sentiment_model(str(tiny_bert(tmp_path / "two", {0: "LABEL_0", 1: "LABEL_1"})))
    p = two.predict_proba(["服务太差", "很好"])
    assert p.shape == (2, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-4)
    assert np.all(p[:, LABELS.index("neutral")] == 0)  # a two-class model never says neutral

    assert label_mapping({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}) == [0, 1, 2]
    assert label_mapping({"0": "Positive", "1": "Negative"}) == [2, 0]
    assert label_mapping({0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}) == [
        0,
        0,
        1,
        2,
        2,
    ]
    with pytest.raises(ModelLoadError, match="不认识"):
        label_mapping({0: "joy", 1: "anger"})
    with pytest.raises(ModelLoadError, match="没有“负面”"):
        label_mapping({0: "neutral", 1: "positive"})
