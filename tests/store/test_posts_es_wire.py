"""What the Elasticsearch posts index puts on the wire: mapping, alias, bulk and query bodies, pinned.

The real client with its real HTTP transport talks to ``es_wire`` (a local server that answers like
Elasticsearch and records requests). Search *behaviour* is checked by the contract suite against a
real cluster when YUQING_TEST_ES_URL is set.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from store.models import PostRecord
from store.posts_es import EsPostIndex, build_mapping, make_client
from store.posts_sqlite import StoreUnavailable
from tests.store import es_wire


@pytest.fixture
def wire():
    w, server = es_wire.start()
    yield w
    server.shutdown()
    server.server_close()


@pytest.fixture
def index(wire, segmenter):
    idx = EsPostIndex(make_client(wire.url, max_retries=0), segmenter)
    yield idx
    idx.close()


def post(text: str, url: str, **kw) -> PostRecord:
    return PostRecord.from_post({"text": text, "url": url, **kw})


def test_every_post_field_is_mapped_and_unknown_fields_are_refused():
    mapping = build_mapping()
    assert mapping["dynamic"] == "strict"
    missing = set(PostRecord.field_names()) - set(mapping["properties"])
    assert not missing, f"PostRecord fields without an Elasticsearch mapping: {missing}"


def test_mapping_types_follow_the_field_types():
    props = build_mapping()["properties"]
    hints = typing.get_type_hints(PostRecord)
    for f in dataclasses.fields(PostRecord):
        tp = hints[f.name]
        if tp is bool:
            assert props[f.name] == {"type": "boolean"}, f.name
        elif tp is int:
            assert props[f.name] == {"type": "long"}, f.name
        elif f.name.endswith("_at"):
            assert props[f.name] == {"type": "date", "ignore_malformed": True}, f.name


def test_index_created_behind_an_alias_with_the_pinned_analysis_and_mapping(index, wire):
    index.upsert_many([post("华鼎证券APP无法登录", "u1")])
    head, put = wire.requests[0], wire.requests[1]
    assert (head.method, head.path) == ("HEAD", "/_alias/yuqing-posts")
    assert (put.method, put.path) == ("PUT", "/yuqing-posts-v1")
    assert put.body["aliases"] == {"yuqing-posts": {}}
    assert put.body["settings"] == {
        "analysis": {
            "analyzer": {
                "jieba_whitespace": {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]},
                "cjk_bigrams": {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["cjk_width", "lowercase", "cjk_bigram"],
                },
            }
        }
    }
    props = put.body["mappings"]["properties"]
    assert props["tokens"] == {
        "type": "text",
        "analyzer": "jieba_whitespace",
        "fields": {"cjk": {"type": "text", "analyzer": "cjk_bigrams"}},
    }
    expected = {
        "id": {"type": "keyword", "ignore_above": 1024},
        "text": {"type": "text", "index": False},
        "title": {"type": "text", "index": False},
        "url": {"type": "keyword", "ignore_above": 2048},
        "source": {"type": "keyword", "ignore_above": 1024},
        "published_at": {"type": "date", "ignore_malformed": True},
        "first_seen_at": {"type": "date", "ignore_malformed": True},
        "sentiment": {"type": "object", "enabled": False},
        "falsity": {"type": "object", "enabled": False},
        "targets": {"type": "keyword", "ignore_above": 1024},
        "level": {"type": "keyword", "ignore_above": 1024},
        "flagged": {"type": "boolean"},
        "drill": {"type": "boolean"},
        "reposts": {"type": "long"},
        "reasons": {"type": "keyword", "index": False, "doc_values": False},
        "sentiment_label": {"type": "keyword"},
        "falsity_label": {"type": "keyword"},
        "level_rank": {"type": "integer"},
        "sort_time": {"type": "date", "ignore_malformed": True},
    }
    assert {k: props[k] for k in expected} == expected
    assert put.body["mappings"]["_meta"] == {"mapping_version": 1}


def test_bulk_document_carries_jieba_tokens_and_derived_fields(index, wire):
    index.upsert_many(
        [
            post(
                "中信证券发布业绩",
                "u1",
                title="快讯",
                level="II",
                flagged=True,
                sentiment={"label": "negative", "scores": {}},
                published_at="2026-11-20T10:00:00+08:00",
            )
        ]
    )
    (bulk,) = wire.bodies("PUT", "/_bulk") or wire.bodies("POST", "/_bulk")
    meta, doc = bulk
    assert meta == {"index": {"_id": doc["id"], "_index": "yuqing-posts"}}
    assert set(doc["tokens"].split()) >= {"快讯", "中信证券", "中信", "证券", "发布", "业绩"}
    assert (doc["sentiment_label"], doc["level_rank"], doc["falsity_label"]) == ("negative", 2, "none")
    assert doc["sort_time"] == "2026-11-20T02:00:00"  # UTC, like the embedded index
    assert doc["fetched_at"] is None  # unknown dates are null, not "", which a date field refuses
    bulk_req = next(r for r in wire.requests if r.path.endswith("/_bulk"))
    assert bulk_req.params["refresh"] == ["wait_for"]


def test_same_post_again_is_not_rewritten_and_round_trips(index, wire):
    p = post("华鼎证券APP无法登录", "u1", reasons=["提及：华鼎证券"])
    index.upsert_many([p])
    again = index.upsert_many([post("华鼎证券APP无法登录", "u1", reasons=["提及：华鼎证券"])])
    assert (again[0].created, again[0].changed) == (False, False)
    assert len([r for r in wire.requests if r.path.endswith("/_bulk")]) == 1
    got = index.get(p.id)
    assert got is not None
    assert (got.text, got.fetched_at, got.reasons, got.level) == (
        "华鼎证券APP无法登录",
        "",
        ["提及：华鼎证券"],
        None,
    )


def test_search_body_pinned(index, wire):
    index.search(
        "华鼎证券 无法登录",
        levels=["I", "II"],
        sources=["微博"],
        sentiments=["negative"],
        flagged=True,
        since="2026-11-20T00:00:00",
        until="2026-11-21T00:00:00",
        limit=20,
        offset=40,
    )
    (body,) = wire.bodies("POST", "/yuqing-posts/_search")
    assert body == {
        "query": {
            "bool": {
                "must": [
                    {
                        "bool": {
                            "should": [
                                {"match": {"tokens": {"query": "华鼎证券 无法 登录", "operator": "and"}}},
                                {"match_phrase": {"tokens.cjk": {"query": "华鼎证券 无法 登录"}}},
                            ],
                            "minimum_should_match": 1,
                        }
                    }
                ],
                "filter": [
                    {"terms": {"level": ["I", "II"]}},
                    {"terms": {"source": ["微博"]}},
                    {"terms": {"sentiment_label": ["negative"]}},
                    {"term": {"flagged": True}},
                    {"term": {"drill": False}},
                    {"range": {"sort_time": {"gte": "2026-11-20T00:00:00", "lt": "2026-11-21T00:00:00"}}},
                ],
            }
        },
        "sort": [
            {"level_rank": "asc"},
            {"sort_time": {"order": "desc", "missing": "_last"}},
            {"id": "asc"},
        ],
        "from": 40,
        "size": 20,
        "track_total_hits": True,
    }


def test_facets_body_pinned_and_empty_values_shown_as_dash(index, wire):
    wire.search_response = {
        "hits": {"total": {"value": 3, "relation": "eq"}, "hits": []},
        "aggregations": {
            "source": {"buckets": [{"key": "微博", "doc_count": 2}, {"key": "", "doc_count": 1}]},
            "sentiment": {"buckets": [{"key": "negative", "doc_count": 3}]},
            "level": {"buckets": [{"key": "II", "doc_count": 1}, {"key": "", "doc_count": 2}]},
            "day": {"buckets": [{"key_as_string": "2026-11-20", "key": 0, "doc_count": 3}]},
        },
    }
    facets = index.facets(flagged=True)
    assert facets == {
        "source": {"微博": 2, "—": 1},
        "sentiment": {"negative": 3},
        "level": {"II": 1, "—": 2},
        "day": {"2026-11-20": 3},
    }
    (body,) = wire.bodies("POST", "/yuqing-posts/_search")
    assert body == {
        "query": {"bool": {"must": [], "filter": [{"term": {"flagged": True}}, {"term": {"drill": False}}]}},
        "size": 0,
        "aggs": {
            "source": {"terms": {"field": "source", "size": 500, "missing": ""}},
            "sentiment": {"terms": {"field": "sentiment_label", "size": 10, "missing": ""}},
            "level": {"terms": {"field": "level", "size": 10, "missing": ""}},
            "day": {
                "date_histogram": {
                    "field": "sort_time",
                    "calendar_interval": "day",
                    "time_zone": "+08:00",
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 1,
                }
            },
        },
    }


@pytest.mark.parametrize(
    "query",
    [
        'a" OR "b',
        "title:证券 AND (华鼎 OR",
        "证券*",
        "华鼎~2 ^3 \\ / [1 TO 5] {x}",
        "<script>alert(1)</script>",
        "'; DROP TABLE posts; --",
    ],
)
def test_hostile_queries_are_sent_as_text_never_as_query_syntax(index, wire, query):
    page = index.search(query)
    assert page.total == 0
    (body,) = wire.bodies("POST", "/yuqing-posts/_search")
    sent = str(body)
    assert "query_string" not in sent and "simple_query_string" not in sent
    words = body["query"]["bool"]["must"][0]["bool"]["should"][0]["match"]["tokens"]["query"]
    assert all(ch not in words for ch in '"()[]{}*~^:\\'), words


@pytest.mark.parametrize("query", ["*", "???", '"" ()', "\x00\x01", "：；！"])
def test_punctuation_only_query_answers_with_a_note_and_sends_nothing(index, wire, query):
    page = index.search(query)
    assert (page.total, page.items) == (0, [])
    assert page.note == "搜索词中没有可检索的文字"
    assert not wire.bodies("POST", "/yuqing-posts/_search")


def test_very_long_query_is_shortened_with_a_note(index, wire):
    page = index.search("证券" * 5000)
    assert "过长" in page.note
    (body,) = wire.bodies("POST", "/yuqing-posts/_search")
    assert (
        len(body["query"]["bool"]["must"][0]["bool"]["should"][1]["match_phrase"]["tokens.cjk"]["query"])
        < 400
    )


def test_paging_past_the_result_window_is_capped_with_a_note(index, wire):
    page = index.search("华鼎证券", offset=9990, limit=50)
    assert "10000" in page.note
    (body,) = wire.bodies("POST", "/yuqing-posts/_search")
    assert (body["from"], body["size"]) == (9990, 10)


def test_bulk_refused_with_429_is_retried(index, wire):
    wire.status_override["/_bulk"] = 429
    res = index.upsert_many([post("华鼎证券客服电话打不通", "u9")])
    assert res[0].created
    assert len([r for r in wire.requests if r.path.endswith("/_bulk")]) == 2
    assert res[0].id in wire.docs


def test_reindex_switches_the_alias_in_one_call(index, wire):
    index.upsert_many([post("华鼎证券", "u1")])
    new = index.reindex(2)
    assert new == "yuqing-posts-v2"
    put = next(r for r in wire.requests if r.method == "PUT" and r.path == "/yuqing-posts-v2")
    assert "aliases" not in put.body and put.body["mappings"] == build_mapping()
    (reindex,) = wire.bodies("POST", "/_reindex")
    assert reindex == {"source": {"index": "yuqing-posts-v1"}, "dest": {"index": "yuqing-posts-v2"}}
    (aliases,) = wire.bodies("POST", "/_aliases")
    assert aliases == {
        "actions": [
            {"remove": {"index": "yuqing-posts-v1", "alias": "yuqing-posts"}},
            {"add": {"index": "yuqing-posts-v2", "alias": "yuqing-posts"}},
        ]
    }


def test_export_pages_with_search_after(index, wire):
    wire.search_response = {
        "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
    }
    assert list(index.iter_all(batch=2)) == []
    (body,) = wire.bodies("POST", "/yuqing-posts/_search")
    assert body == {"query": {"match_all": {}}, "size": 2, "sort": [{"id": "asc"}]}


def test_dead_port_is_store_unavailable(segmenter):
    idx = EsPostIndex(make_client("http://127.0.0.1:1", max_retries=0, request_timeout=2), segmenter)
    with pytest.raises(StoreUnavailable, match="Elasticsearch"):
        idx.upsert_many([post("华鼎证券", "u1")])
    with pytest.raises(StoreUnavailable):
        idx.search("华鼎证券")


def test_engine_is_chosen_by_configuration_with_credentials_from_the_secrets_file(wire, tmp_path):
    import base64

    from yuqing.config import ConfigError, settings_from_dict
    from yuqing.context import build_context

    secrets = tmp_path / "secrets.toml"
    secrets.write_text('elasticsearch_password = "s3cret"\n', encoding="utf-8")
    store = {"path": str(tmp_path / "y.db"), "posts_engine": "elasticsearch", "elasticsearch_url": wire.url}
    settings = settings_from_dict(
        {
            "firm": {"name": "华鼎证券股份有限公司"},
            "store": {**store, "elasticsearch_username": "desk", "elasticsearch_index": "desk-posts"},
            "secrets_file": str(secrets),
        }
    )
    ctx = build_context(settings)
    try:
        assert ctx.index.count() == 0
        head = wire.requests[0]
        assert head.path == "/_alias/desk-posts"
        assert head.headers["authorization"] == "Basic " + base64.b64encode(b"desk:s3cret").decode()
    finally:
        ctx.close()
    no_url = build_context(
        settings_from_dict({"firm": {"name": "x"}, "store": {"posts_engine": "elasticsearch"}})
    )
    with pytest.raises(ConfigError, match="elasticsearch_url"):
        no_url.index  # noqa: B018
