"""The production posts index: Elasticsearch through the official ``elasticsearch`` client.

Same interface as :class:`store.posts_sqlite.SqlitePostIndex`, so the desk, ingest and export do not
know which engine they talk to. Design choices, and why:

- Chinese needs no server plugin: jieba (search mode) runs here and the tokens go into ``tokens``, a
  ``whitespace``-analysed field; its ``tokens.cjk`` sub-field re-analyses the same text with the
  built-in ``cjk_bigram`` filter, so a word jieba cut differently is still found by its bigrams.
- Every search box input goes through ``match`` / ``match_phrase`` queries, never ``query_string``:
  Lucene syntax (``AND``, ``*``, ``:``, brackets, quotes) is only ever text.
- Documents live in a versioned index (``yuqing-posts-v1``) behind an alias (``yuqing-posts``), so a
  mapping change is a reindex into ``-v2`` and one atomic alias switch (:meth:`EsPostIndex.reindex`).
- The mapping is derived from the ``PostRecord`` field list and is ``dynamic: strict``: a field added
  to the dataclass is mapped by type, and nothing unmapped is silently dropped or guessed.
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import MISSING, fields
from typing import Any

from store.models import PostRecord, level_rank, utcnow_iso
from store.posts_sqlite import (
    MAX_QUERY_CHARS,
    PostsRejected,
    SearchPage,
    StoreUnavailable,
    Tokenizer,
    UpsertResult,
    _clean_token,
    _sort_time,
    raise_for_errors,
)

log = logging.getLogger(__name__)

DEFAULT_ALIAS = "yuqing-posts"
MAPPING_VERSION = 1
MAX_WINDOW = 10_000  # Elasticsearch's default index.max_result_window
FACET_SIZE = 500  # distinct sources shown in the facet list; a desk watches tens, not thousands

# fields that are free text for people (kept in _source, not searched directly: `tokens` is)
_PROSE_FIELDS = {"text", "title"}
# keyword fields that may be long (URLs): longer values are kept but not indexed
_LONG_KEYWORDS = {"url", "canonical_url"}
_DATE_SUFFIX = "_at"
_CHANGE_FIELDS = ("first_seen_at", "content_hash", "level", "reposts", "comments", "likes")

INDEX_SETTINGS: dict[str, Any] = {
    "analysis": {
        "analyzer": {
            # jieba already split the text; whitespace keeps its tokens as they are
            "jieba_whitespace": {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]},
            # built into Elasticsearch: CJK characters paired into overlapping bigrams
            "cjk_bigrams": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "cjk_bigram"],
            },
        }
    }
}


# --------------------------------------------------------------------------- mapping


def _field_mapping(name: str, tp: Any) -> dict[str, Any]:
    """Elasticsearch mapping for one PostRecord field, by its Python type (and a few names)."""
    if name in _PROSE_FIELDS:
        return {"type": "text", "index": False}
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:  # X | None
        tp, origin = args[0], typing.get_origin(args[0])
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "long"}
    if tp is float:
        return {"type": "double"}
    if origin is dict or tp is dict:
        return {"type": "object", "enabled": False}  # analysis detail: kept, not searched
    if name.endswith(_DATE_SUFFIX):
        return {"type": "date", "ignore_malformed": True}
    if name in _LONG_KEYWORDS:
        return {"type": "keyword", "ignore_above": 2048}
    if name == "reasons":
        return {"type": "keyword", "index": False, "doc_values": False}
    return {"type": "keyword", "ignore_above": 1024}  # str, str | None, list[str]


def build_mapping() -> dict[str, Any]:
    """The index mapping: every PostRecord field plus the derived fields the desk queries on."""
    hints = typing.get_type_hints(PostRecord)
    props: dict[str, Any] = {f.name: _field_mapping(f.name, hints[f.name]) for f in fields(PostRecord)}
    props.update(
        {
            "tokens": {
                "type": "text",
                "analyzer": "jieba_whitespace",
                "fields": {"cjk": {"type": "text", "analyzer": "cjk_bigrams"}},
            },
            "sentiment_label": {"type": "keyword"},
            "falsity_label": {"type": "keyword"},
            "level_rank": {"type": "integer"},
            "sort_time": {"type": "date", "ignore_malformed": True},
        }
    )
    return {"dynamic": "strict", "_meta": {"mapping_version": MAPPING_VERSION}, "properties": props}


_DATE_FIELDS = frozenset(n for n, m in build_mapping()["properties"].items() if m.get("type") == "date")


# --------------------------------------------------------------------------- client


def make_client(
    url: str,
    *,
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_certs: str | None = None,
    request_timeout: float = 10.0,
    max_retries: int = 2,
):
    """An ``Elasticsearch`` client; credentials come from the secrets file or environment, never config."""
    try:
        from elasticsearch import Elasticsearch
    except ImportError as exc:  # pragma: no cover - depends on the installed extra
        raise StoreUnavailable(
            "未安装 elasticsearch 客户端：pip install 'yuqing-desk[es9]'（ES 9 集群）或 '[es8]'（ES 8 集群）"
        ) from exc
    kwargs: dict[str, Any] = {
        "request_timeout": request_timeout,
        "max_retries": max_retries,
        "retry_on_timeout": True,
    }
    if api_key:
        kwargs["api_key"] = api_key
    elif username:
        kwargs["basic_auth"] = (username, password or "")
    if ca_certs:
        kwargs["ca_certs"] = ca_certs
    return Elasticsearch(url, **kwargs)


def _unavailable(what: str, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"cannot {what} Elasticsearch posts index: {type(exc).__name__}: {exc}")


def _es_errors() -> tuple[type[Exception], ...]:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    return (TransportError, ApiError)


# --------------------------------------------------------------------------- the index


class EsPostIndex:
    """Posts in Elasticsearch, behind an alias over versioned indices."""

    def __init__(
        self, client, tokenizer: Tokenizer, *, alias: str = DEFAULT_ALIAS, refresh: str = "wait_for"
    ):
        self.client = client
        self.tokenizer = tokenizer
        self.alias = alias
        self.refresh = refresh  # "wait_for": what ingest stored is searchable when ingest returns
        self._ready = False

    # ----------------------------------------------------------------- index lifecycle

    def versioned_name(self, version: int = MAPPING_VERSION) -> str:
        return f"{self.alias}-v{version}"

    def ensure_index(self) -> None:
        """Create ``<alias>-v<MAPPING_VERSION>`` and point the alias at it, unless the alias exists."""
        if self._ready:
            return
        try:
            if not self.client.indices.exists_alias(name=self.alias):
                self.client.indices.create(
                    index=self.versioned_name(),
                    settings=INDEX_SETTINGS,
                    mappings=build_mapping(),
                    aliases={self.alias: {}},
                )
        except _es_errors() as exc:
            if getattr(exc, "message", "") == "resource_already_exists_exception":
                pass  # another process created it first
            else:
                raise _unavailable("create", exc) from exc
        self._ready = True

    def current_index(self) -> str:
        """The concrete index the alias points at now."""
        try:
            resp = self.client.indices.get_alias(name=self.alias)
        except _es_errors() as exc:
            raise _unavailable("read alias of", exc) from exc
        return sorted(resp.body)[-1]

    def reindex(self, new_version: int) -> str:
        """Copy every post into ``<alias>-v<new_version>`` (current mapping), then switch the alias.

        The switch is one ``_aliases`` call, so searches see the old index or the new one, never
        neither. The old index is kept for rollback; delete it when satisfied.
        """
        old = self.current_index()
        new = self.versioned_name(new_version)
        if new == old:
            return new
        try:
            self.client.indices.create(index=new, settings=INDEX_SETTINGS, mappings=build_mapping())
            self.client.reindex(
                source={"index": old}, dest={"index": new}, wait_for_completion=True, refresh=True
            )
            self.client.indices.update_aliases(
                actions=[
                    {"remove": {"index": old, "alias": self.alias}},
                    {"add": {"index": new, "alias": self.alias}},
                ]
            )
        except _es_errors() as exc:
            raise _unavailable("reindex", exc) from exc
        return new

    def drop(self) -> None:
        """Delete the alias and every index behind it (tests, a fresh start)."""
        try:
            resp = self.client.options(ignore_status=404).indices.get_alias(name=self.alias)
            for name in resp.body if resp.meta.status == 200 else {}:
                self.client.indices.delete(index=name)
        except _es_errors() as exc:
            raise _unavailable("drop", exc) from exc
        self._ready = False

    def close(self) -> None:
        self.client.close()

    # ----------------------------------------------------------------- writing

    def upsert_many(self, posts: Iterable[PostRecord]) -> list[UpsertResult]:
        """Insert new posts and update known ones (same id); unchanged posts are not rewritten. Every post
        written, or an exception (:func:`store.posts_sqlite.raise_for_errors`)."""
        return raise_for_errors(self.write_many(posts))

    def write_many(self, posts: Iterable[PostRecord]) -> list[UpsertResult]:
        """Insert new posts and update known ones; one result per post, each item of the bulk on its own.

        An item Elasticsearch refuses for what it holds (4xx: a mapping conflict, a document too large)
        has ``error`` set to the reason and the others are written; an item it cannot take now (5xx:
        ``unavailable_shards_exception``; a 429 still refused after the retries) has ``error`` and
        ``retry`` set: an outage for that post. A request that fails as a whole raises StoreUnavailable.
        """
        from elasticsearch import helpers

        posts = list(posts)
        if not posts:
            return []
        self.ensure_index()
        now = utcnow_iso()
        known = self._known([p.id for p in posts])
        results: list[UpsertResult] = []
        to_write: dict[str, PostRecord] = {}
        for post in posts:
            prev = known.get(post.id)
            post.updated_at = now
            post.first_seen_at = (prev or {}).get("first_seen_at") or post.first_seen_at or now
            if prev is None:
                results.append(UpsertResult(post.id, created=True, changed=True))
            else:
                changed = (
                    prev.get("content_hash") != post.content_hash
                    or prev.get("level") != post.level
                    or (prev.get("reposts"), prev.get("comments"), prev.get("likes"))
                    != (post.reposts, post.comments, post.likes)
                )
                results.append(UpsertResult(post.id, created=False, changed=changed))
                if not changed:
                    continue
            to_write[post.id] = post
            known[post.id] = {k: getattr(post, k) for k in _CHANGE_FIELDS}
        if not to_write:
            return results
        actions = (
            {"_op_type": "index", "_index": self.alias, "_id": p.id, "_source": self.to_document(p)}
            for p in to_write.values()
        )
        failed: dict[str, tuple[str, bool]] = {}
        try:
            for ok, item in helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=500,
                max_retries=5,  # a 429 (queue full) is retried with backoff; other errors are reported
                initial_backoff=1,
                max_backoff=30,
                raise_on_error=False,
                refresh=self.refresh,
            ):
                if not ok:
                    info = next(iter(item.values()), {}) if isinstance(item, dict) else {}
                    status = int(info.get("status") or 0)
                    failed[str(info.get("_id"))] = (
                        _item_reason(status, info.get("error")),
                        status >= 500 or status == 429,
                    )
        except _es_errors() as exc:
            raise _unavailable("write", exc) from exc
        for i, res in enumerate(results):
            if res.id in failed:
                reason, retry = failed[res.id]
                results[i] = UpsertResult(res.id, created=False, changed=False, error=reason, retry=retry)
        return results

    def flagged_ids(self, *, since: str | None = None, batch: int = 1000) -> Iterator[list[str]]:
        """Ids of flagged posts (drills too), a page at a time (``search_after`` on the id), first seen at
        or after ``since`` when given: what the alert sweep checks against the alerts."""
        self.ensure_index()
        filt: list[dict[str, Any]] = [{"term": {"flagged": True}}]
        if since:
            filt.append({"range": {"first_seen_at": {"gte": since}}})
        after: list[Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"search_after": after} if after else {}
            try:
                resp = self.client.search(
                    index=self.alias,
                    query={"bool": {"filter": filt}},
                    sort=[{"id": "asc"}],
                    size=batch,
                    source=False,
                    **kwargs,
                )
            except _es_errors() as exc:
                raise _unavailable("read", exc) from exc
            hits = resp["hits"]["hits"]
            if not hits:
                return
            yield [h["_id"] for h in hits]
            after = hits[-1]["sort"]

    def _known(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        try:
            resp = self.client.mget(
                index=self.alias, ids=list(dict.fromkeys(ids)), source=list(_CHANGE_FIELDS)
            )
        except _es_errors() as exc:
            raise _unavailable("read", exc) from exc
        return {d["_id"]: d.get("_source", {}) for d in resp["docs"] if d.get("found")}

    def to_document(self, post: PostRecord) -> dict[str, Any]:
        """The indexed document: the record (dates as null when unknown) plus derived fields."""
        doc = post.to_dict()
        for name in _DATE_FIELDS & doc.keys():
            doc[name] = doc[name] or None
        tokens = self.tokenizer.search_tokens(f"{post.title}\n{post.text}")
        doc["tokens"] = " ".join(c for c in (_clean_token(t) for t in tokens) if c)
        doc["sentiment_label"] = post.sentiment_label
        doc["falsity_label"] = post.falsity_label
        doc["level_rank"] = level_rank(post.level)
        doc["sort_time"] = _sort_time(post) or None
        return doc

    # ----------------------------------------------------------------- reading

    def get(self, post_id: str) -> PostRecord | None:
        return self.get_many([post_id]).get(post_id)

    def get_many(self, post_ids: Sequence[str]) -> dict[str, PostRecord]:
        ids = list(dict.fromkeys(post_ids))
        out: dict[str, PostRecord] = {}
        if not ids:
            return out
        self.ensure_index()
        for i in range(0, len(ids), 500):
            try:
                resp = self.client.mget(index=self.alias, ids=ids[i : i + 500])
            except _es_errors() as exc:
                raise _unavailable("read", exc) from exc
            for d in resp["docs"]:
                if d.get("found"):
                    out[d["_id"]] = _from_source(d["_source"])
        return out

    def count(self) -> int:
        self.ensure_index()
        try:
            return int(self.client.count(index=self.alias)["count"])
        except _es_errors() as exc:
            raise _unavailable("read", exc) from exc

    def search(
        self,
        query: str = "",
        *,
        levels: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        sentiments: Sequence[str] | None = None,
        flagged: bool | None = None,
        drill: bool | None = False,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        offset: int = 0,
        order: str = "severity",
    ) -> SearchPage:
        """Full-text search plus filters. ``order``: 'severity' (most severe, then newest) or 'newest'."""
        q, note = self.build_query(query, levels, sources, sentiments, flagged, drill, since, until)
        if q is None:
            return SearchPage(total=0, items=[], note=note)
        offset, limit = max(0, int(offset)), max(0, int(limit))
        if offset + limit > MAX_WINDOW:  # Elasticsearch refuses deeper pages (index.max_result_window)
            limit = max(0, MAX_WINDOW - offset)
            offset = min(offset, MAX_WINDOW)
            note = note or f"只能翻看前 {MAX_WINDOW} 条结果，请加筛选条件缩小范围"
        sort: list[Any] = [{"sort_time": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
        if order == "severity":
            sort.insert(0, {"level_rank": "asc"})
        self.ensure_index()
        try:
            resp = self.client.search(
                index=self.alias,
                query=q,
                sort=sort,
                from_=offset,
                size=limit,
                track_total_hits=True,
            )
        except _es_errors() as exc:
            raise _unavailable("search", exc) from exc
        hits = resp["hits"]
        return SearchPage(
            total=int(hits["total"]["value"]),
            items=[_from_source(h["_source"]) for h in hits["hits"]],
            note=note,
        )

    def facets(self, query: str = "", **filters: Any) -> dict[str, dict[str, int]]:
        """Counts by source, sentiment, level and day (Beijing time) for the posts a search would return."""
        q, _ = self.build_query(
            query,
            filters.get("levels"),
            filters.get("sources"),
            filters.get("sentiments"),
            filters.get("flagged"),
            filters.get("drill", False),
            filters.get("since"),
            filters.get("until"),
        )
        out: dict[str, dict[str, int]] = {"source": {}, "sentiment": {}, "level": {}, "day": {}}
        if q is None:
            return out
        self.ensure_index()
        try:
            resp = self.client.search(index=self.alias, query=q, size=0, aggs=FACET_AGGS)
        except _es_errors() as exc:
            raise _unavailable("count", exc) from exc
        aggs = resp["aggregations"]
        for key in ("source", "sentiment", "level"):
            for b in aggs[key]["buckets"]:
                name = b["key"] or "—"
                out[key][name] = out[key].get(name, 0) + int(b["doc_count"])
        out["day"] = {b["key_as_string"]: int(b["doc_count"]) for b in aggs["day"]["buckets"]}
        return out

    def iter_all(self, batch: int = 1000, *, drill: bool | None = None) -> Iterator[PostRecord]:
        """Every post, streamed page by page (``search_after`` on the id), never all in memory."""
        self.ensure_index()
        q: dict[str, Any] = {"match_all": {}} if drill is None else {"term": {"drill": drill}}
        after: list[Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"search_after": after} if after else {}
            try:
                resp = self.client.search(
                    index=self.alias, query=q, sort=[{"id": "asc"}], size=batch, **kwargs
                )
            except _es_errors() as exc:
                raise _unavailable("read", exc) from exc
            hits = resp["hits"]["hits"]
            if not hits:
                return
            for h in hits:
                yield _from_source(h["_source"])
            after = hits[-1]["sort"]

    # ----------------------------------------------------------------- query building

    def build_query(self, query, levels, sources, sentiments, flagged, drill, since, until):
        """(bool query, note) — or (None, note) when the search box held nothing searchable."""
        note = ""
        query = (query or "").strip()
        if len(query) > MAX_QUERY_CHARS:
            query = query[:MAX_QUERY_CHARS]
            note = f"搜索词过长，已截取前 {MAX_QUERY_CHARS} 个字符"
        must: list[dict[str, Any]] = []
        if query:
            tokens = [t for t in (_clean_token(t) for t in self.tokenizer.cut(query)) if t]
            if not tokens:
                return None, "搜索词中没有可检索的文字"
            words = " ".join(dict.fromkeys(tokens))
            must.append(
                {
                    "bool": {
                        "should": [
                            {"match": {"tokens": {"query": words, "operator": "and"}}},
                            {"match_phrase": {"tokens.cjk": {"query": words}}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
        filt: list[dict[str, Any]] = []
        for name, values in (("level", levels), ("source", sources), ("sentiment_label", sentiments)):
            if values:
                filt.append({"terms": {name: list(values)}})
        if flagged is not None:
            filt.append({"term": {"flagged": bool(flagged)}})
        if drill is not None:
            filt.append({"term": {"drill": bool(drill)}})
        if since or until:
            rng: dict[str, str] = {}
            if since:
                rng["gte"] = since
            if until:
                rng["lt"] = until
            filt.append({"range": {"sort_time": rng}})
        if not must and not filt:
            return {"match_all": {}}, note
        return {"bool": {"must": must, "filter": filt}}, note


FACET_AGGS: dict[str, Any] = {
    "source": {"terms": {"field": "source", "size": FACET_SIZE, "missing": ""}},
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
}


def _item_reason(status: int, error: Any) -> str:
    """One bulk item's failure as a person reads it: ``HTTP 400 document_parsing_exception: …``."""
    if isinstance(error, dict):
        what = f"{error.get('type', '')}: {error.get('reason', '')}".strip(": ")
    else:
        what = str(error or "")
    return f"HTTP {status} {what}"[:500]


def _from_source(src: dict[str, Any]) -> PostRecord:
    """A PostRecord from a stored document; nulls (unknown dates) back to the dataclass defaults."""
    values: dict[str, Any] = {}
    for f in fields(PostRecord):
        v = src.get(f.name)
        if v is None:
            if f.default_factory is not MISSING:
                v = f.default_factory()
            elif f.default is not MISSING:
                v = f.default
            else:
                v = ""
        values[f.name] = v
    return PostRecord(**values)


__all__ = ["DEFAULT_ALIAS", "EsPostIndex", "PostsRejected", "build_mapping", "make_client"]
