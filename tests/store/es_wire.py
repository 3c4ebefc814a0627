"""A tiny HTTP server that answers like Elasticsearch and records every request it gets.

The real ``elasticsearch`` client (its real transport, real HTTP) talks to it, so tests can pin the
exact mapping and query bodies the client puts on the wire. It keeps documents by id so writes and
reads round-trip, but it does not search: ``_search`` answers with ``search_response`` (set by the
test), and the bodies are what the tests assert on. Real search behaviour is the contract suite's job
against a real cluster (``YUQING_TEST_ES_URL``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    body: Any  # parsed JSON, a list of parsed NDJSON lines, or None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class EsWire:
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> index
    search_response: dict[str, Any] | None = None
    status_override: dict[str, int] = field(default_factory=dict)  # path suffix -> status (e.g. 429)
    refuse_text: str | None = None  # documents whose text contains this are refused (mapper error)
    # per-item answers of _bulk: doc → (status, error) for an item that fails, None for one stored
    fail_item: Callable[[dict[str, Any]], tuple[int, dict[str, Any]] | None] | None = None
    # answer _search from the stored documents for filter-only queries (term / terms / range, sort on
    # one field, search_after, size); off by default: the wire tests assert on bodies, not hits
    answer_searches: bool = False

    def bodies(self, method: str, suffix: str) -> list[Any]:
        return [r.body for r in self.requests if r.method == method and r.path.endswith(suffix)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(wire: EsWire):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _read(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            if not raw:
                return None
            text = raw.decode("utf-8")
            if "ndjson" in (self.headers.get("Content-Type") or ""):
                return [json.loads(line) for line in text.splitlines() if line.strip()]
            return json.loads(text)

        def _send(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            body = self._read()
            req = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                body,
                {k.lower(): v for k, v in self.headers.items()},
            )
            wire.requests.append(req)
            for suffix, status in wire.status_override.items():
                if parts.path.endswith(suffix):
                    wire.status_override.pop(suffix)
                    return self._send(
                        status, {"error": {"type": "es_rejected_execution_exception"}, "status": status}
                    )
            status, resp = _route(wire, req)
            self._send(status, resp)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler


def _route(wire: EsWire, req: Request) -> tuple[int, Any]:
    path = req.path.strip("/").split("/")
    if path[0] == "" or path == [""]:
        return 200, {"version": {"number": "9.0.0"}, "tagline": "You Know, for Search"}
    if path[0] == "_alias" or (len(path) == 2 and path[1] == "_alias"):
        name = path[-1] if path[0] == "_alias" else path[0]
        if name in wire.aliases:
            return 200, {wire.aliases[name]: {"aliases": {name: {}}}}
        return 404, {"error": "alias missing", "status": 404}
    if path[-1] == "_aliases":
        for action in req.body["actions"]:
            for kind, spec in action.items():
                if kind == "add":
                    wire.aliases[spec["alias"]] = spec["index"]
        return 200, {"acknowledged": True}
    if path[-1] == "_bulk":
        items = []
        lines = req.body or []
        for meta, doc in zip(lines[0::2], lines[1::2], strict=True):
            op = next(iter(meta))
            _id = meta[op]["_id"]
            if wire.refuse_text and wire.refuse_text in (doc.get("text") or ""):
                error = {"type": "document_parsing_exception", "reason": "refused by the test"}
                items.append({op: {"_id": _id, "status": 400, "error": error}})
                continue
            failure = wire.fail_item(doc) if wire.fail_item else None
            if failure is not None:
                status, error = failure
                items.append({op: {"_id": _id, "status": status, "error": error}})
                continue
            created = _id not in wire.docs
            wire.docs[_id] = doc
            items.append({op: {"_id": _id, "status": 201 if created else 200, "result": "created"}})
        errors = any(next(iter(i.values()))["status"] >= 300 for i in items)
        return 200, {"errors": errors, "took": 1, "items": items}
    if path[-1] == "_mget":
        docs = []
        for _id in req.body["ids"]:
            if _id in wire.docs:
                docs.append({"_id": _id, "found": True, "_source": wire.docs[_id]})
            else:
                docs.append({"_id": _id, "found": False})
        return 200, {"docs": docs}
    if path[-1] == "_count":
        return 200, {"count": len(wire.docs)}
    if path[-1] == "_search" and wire.answer_searches and wire.search_response is None:
        return 200, _search(wire, req.body or {})
    if path[-1] == "_search":
        return 200, wire.search_response or {
            "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
            "aggregations": {k: {"buckets": []} for k in ("source", "sentiment", "level", "day")},
        }
    if path[-1] == "_reindex":
        return 200, {"total": len(wire.docs), "created": len(wire.docs), "failures": []}
    if req.method == "PUT" and len(path) == 1:
        for alias in (req.body or {}).get("aliases", {}):
            wire.aliases[alias] = path[0]
        return 200, {"acknowledged": True, "index": path[0]}
    if req.method == "DELETE":
        return 200, {"acknowledged": True}
    return 404, {"error": f"no route {req.method} {req.path}", "status": 404}


def _matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    if not query or "match_all" in query:
        return True
    if "bool" in query:
        b = query["bool"]
        return all(_matches(doc, q) for q in [*b.get("filter", []), *b.get("must", [])])
    if "term" in query:
        ((name, value),) = query["term"].items()
        return doc.get(name) == (value.get("value") if isinstance(value, dict) else value)
    if "terms" in query:
        ((name, values),) = query["terms"].items()
        return doc.get(name) in values
    if "range" in query:
        ((name, bounds),) = query["range"].items()
        v = doc.get(name)
        if v is None:
            return False
        return all({"gte": v >= b, "gt": v > b, "lte": v <= b, "lt": v < b}[op] for op, b in bounds.items())
    raise ValueError(f"es_wire cannot answer {query}")


def _search(wire: EsWire, body: dict[str, Any]) -> dict[str, Any]:
    docs = [d for d in wire.docs.values() if _matches(d, body.get("query") or {})]
    key = next(iter(body["sort"][0])) if body.get("sort") else "id"
    docs.sort(key=lambda d: d.get(key) or "")
    if body.get("search_after"):
        docs = [d for d in docs if (d.get(key) or "") > body["search_after"][0]]
    total = len(docs)
    docs = docs[: body.get("size", 10)]
    hits = [
        {"_id": d["id"], "sort": [d.get(key)], **({} if body.get("_source") is False else {"_source": d})}
        for d in docs
    ]
    return {"hits": {"total": {"value": total, "relation": "eq"}, "hits": hits}}


def start(port: int = 0) -> tuple[EsWire, ThreadingHTTPServer]:
    wire = EsWire()
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(wire))
    wire.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return wire, server
