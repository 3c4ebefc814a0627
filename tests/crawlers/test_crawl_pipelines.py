"""Pipelines as units: normalise, validate (drop + count), dedup, batch to ingest."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.settings import Settings

from crawlers.items import new_rawpost
from crawlers.pipelines import (
    DedupPipeline,
    IngestPipeline,
    NormalizePipeline,
    SeenSet,
    ValidatePipeline,
    canonical_url,
    normalize_post,
)
from crawlers.validation import validation_error


class FakeStats:
    def __init__(self):
        self.values: dict = {}

    def inc_value(self, key, count=1, start=0):
        self.values[key] = self.values.get(key, start) + count

    def get_value(self, key, default=None):
        return self.values.get(key, default)


class FakeCrawler:
    def __init__(self, **settings):
        self.stats = FakeStats()
        self.settings = Settings(settings)


def _post(**kw):
    base = {
        "url": "https://news.example.com/a/1.html",
        "source": "demo",
        "source_family": "rss",
        "title": "标题",
        "text": "正文第一段。",
    }
    base.update(kw)
    return new_rawpost(**base)


def _run(pipelines, item):
    for p in pipelines:
        item = p.process_item(item)
    return item


def test_canonical_url():
    assert (
        canonical_url("HTTPS://News.Example.com:443/a/1.html?utm_source=x&id=3&spm=a.b#top")
        == "https://news.example.com/a/1.html?id=3"
    )
    assert canonical_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert canonical_url("") == ""


def test_normalize_keeps_chinese_punctuation_and_paragraphs():
    post = normalize_post(
        dict(
            _post(
                text="  第一段，有全角逗号：还有ＡＢＣ１２３。  \n\n\u3000\u3000第二段  有   空格\u200b ",
                title=" 标题\u3000甲 ",
            )
        )
    )
    assert post["text"] == "第一段，有全角逗号：还有ABC123。\n第二段 有 空格"
    assert post["title"] == "标题 甲"
    assert post["canonical_url"] == "https://news.example.com/a/1.html"


def test_empty_body_is_dropped_and_counted():
    crawler = FakeCrawler()
    validate = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match="text"):
        _run([NormalizePipeline(), validate], _post(text=" \n\u3000 "))
    with pytest.raises(DropItem, match="url"):
        _run([NormalizePipeline(), validate], _post(url=""))
    assert crawler.stats.values["yuqing/dropped_invalid"] == 2
    assert _run([NormalizePipeline(), validate], _post())["text"] == "正文第一段。"


@pytest.mark.parametrize(
    "bad",
    [
        {"url": "ftp://x/y"},
        {"source": ""},
        {"reposts": -1},
        {"likes": "many"},
        {"text": "<p>正文</p>"},
        {"user_verified": "yes"},
        {"extra": 1},
    ],
)
def test_validator_rejects(bad):
    post = {**dict(_post()), **bad}
    assert validation_error(post) is not None


def test_validator_accepts_contract_post():
    assert validation_error(dict(_post())) is None


def test_dedup_by_url_then_content():
    crawler = FakeCrawler()
    dedup = DedupPipeline.from_crawler(crawler)
    pipes = [NormalizePipeline(), dedup]
    long_text = "某证券公司发布公告称，公司交易系统运行正常，网传故障信息不实，请投资者以公司公告为准。" * 2
    _run(pipes, _post(text=long_text))
    with pytest.raises(DropItem, match="duplicate URL"):
        _run(pipes, _post(url="https://news.example.com/a/1.html?utm_medium=feed#comments", text="另一段"))
    with pytest.raises(DropItem, match="duplicate content"):
        _run(pipes, _post(url="https://other.example.com/copy.html", text=long_text + "\n"))
    # short social posts may repeat legitimately: no content dedup for them
    _run(pipes, _post(url="https://m.weibo.cn/status/1", text="晚安"))
    _run(pipes, _post(url="https://m.weibo.cn/status/2", text="晚安"))
    assert crawler.stats.values["yuqing/duplicates"] == 2


def test_dedup_shared_across_crawlers_of_a_run():
    seen = SeenSet()
    a = DedupPipeline.from_crawler(FakeCrawler(YUQING_SEEN=seen))
    b = DedupPipeline.from_crawler(FakeCrawler(YUQING_SEEN=seen))
    _run([NormalizePipeline(), a], _post())
    with pytest.raises(DropItem):
        _run([NormalizePipeline(), b], _post())


def test_ingest_batches_and_flushes_on_close():
    batches: list[list[dict]] = []
    crawler = FakeCrawler(YUQING_INGEST=batches.append, YUQING_BATCH_SIZE=2)
    ingest = IngestPipeline.from_crawler(crawler)
    for i in range(5):
        ingest.process_item(_post(url=f"https://x.example/{i}"))
    assert [len(b) for b in batches] == [2, 2]
    ingest.close_spider()
    assert [len(b) for b in batches] == [2, 2, 1]
    assert all(isinstance(p, dict) for b in batches for p in b)
    assert crawler.stats.values["yuqing/ingested"] == 5


def test_ingest_not_configured():
    with pytest.raises(NotConfigured):
        IngestPipeline.from_crawler(FakeCrawler())


def test_ingest_failure_is_retried_then_counted():
    calls = {"n": 0}

    def flaky(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("store down")

    crawler = FakeCrawler(YUQING_INGEST=flaky, YUQING_BATCH_SIZE=1)
    ingest = IngestPipeline.from_crawler(crawler)
    ingest.process_item(_post(url="https://x.example/1"))  # fails, kept
    ingest.process_item(_post(url="https://x.example/2"))  # retried with this one
    ingest.close_spider()
    assert crawler.stats.values["yuqing/ingested"] == 2
    assert crawler.stats.values["yuqing/ingest_errors"] == 1

    def broken(batch):
        raise ConnectionError("store down")

    crawler = FakeCrawler(YUQING_INGEST=broken)
    ingest = IngestPipeline.from_crawler(crawler)
    ingest.process_item(_post())
    ingest.close_spider()
    assert crawler.stats.values["yuqing/ingest_failed"] == 1
    assert "yuqing/ingested" not in crawler.stats.values
