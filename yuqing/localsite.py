"""A tiny local web site: saved pages and API responses served on 127.0.0.1 from a manifest.

Used by the spider tests and by ``yuqing demo`` so spiders run for real, over HTTP, against real
formats without the internet.

Manifest (``manifest.json``; file paths are relative to the manifest's folder)::

    {"routes": [
        {"path": "/api/container/getIndex", "query": {"containerid": "1076036279793937"},
         "file": "weibo/list_0.json", "content_type": "application/json; charset=utf-8", "status": 200},
        {"path": "/robots.txt", "file": "robots.txt", "content_type": "text/plain"},
        ...
    ]}

A route matches a request when the path is equal and every query parameter of the route equals the
request's (extra request parameters are allowed); the most specific match (most query parameters)
wins. Inside served text files (xml, html, json, txt, …) the literal ``{base_url}`` becomes
``http://127.0.0.1:PORT`` so a feed can link to local article pages. Everything else is served as is,
byte for byte (a page that declares GB2312 but whose bytes are UTF-8 stays that way, like the real
site). A route may give ``"body"`` (a string) instead of ``"file"``, and ``"headers"`` (a dict).
Unmatched requests get 404.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["LocalSite", "Route", "BASE_URL_MARKER"]

BASE_URL_MARKER = "{base_url}"
_TEXT_SUFFIXES = {".xml", ".rss", ".atom", ".html", ".htm", ".json", ".txt", ".js", ".css", ".csv"}


@dataclass(frozen=True)
class Route:
    path: str
    query: dict[str, str] = field(default_factory=dict)
    file: Path | None = None
    body: bytes | None = None
    content_type: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], root: Path) -> Route:
        if "path" not in data:
            raise ValueError(f"route without 'path': {data!r}")
        file = data.get("file")
        body = data.get("body")
        if file is None and body is None and int(data.get("status", 200)) == 200:
            raise ValueError(f"route {data['path']!r} needs 'file' or 'body'")
        file_path = (root / file) if file is not None else None
        content_type = data.get("content_type") or ""
        if not content_type and file_path is not None:
            guessed, _ = mimetypes.guess_type(file_path.name)
            content_type = guessed or "application/octet-stream"
        return cls(
            path=str(data["path"]),
            query={str(k): str(v) for k, v in (data.get("query") or {}).items()},
            file=file_path,
            body=body.encode("utf-8") if isinstance(body, str) else body,
            content_type=content_type or "text/plain; charset=utf-8",
            status=int(data.get("status", 200)),
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
        )

    def matches(self, path: str, query: Mapping[str, list[str]]) -> bool:
        if path != self.path:
            return False
        return all(value in query.get(key, []) for key, value in self.query.items())

    def is_text(self) -> bool:
        if self.file is not None and self.file.suffix.lower() in _TEXT_SUFFIXES:
            return True
        ct = self.content_type.lower()
        return ct.startswith("text/") or "json" in ct or "xml" in ct


class LocalSite:
    """Serve ``routes`` on 127.0.0.1 (a free port) in a daemon thread.

    ``with LocalSite(root_dir, manifest) as site: site.base_url`` — ``manifest`` is the parsed manifest
    dict (``{"routes": [...]}``) or a list of route dicts; file paths are relative to ``root_dir``.
    """

    def __init__(self, root_dir: str | Path, manifest: Mapping[str, Any] | Sequence[Mapping[str, Any]]):
        self.root_dir = Path(root_dir)
        raw_routes = manifest.get("routes", []) if isinstance(manifest, Mapping) else manifest
        self.routes: list[Route] = [Route.from_dict(r, self.root_dir) for r in raw_routes]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[str] = []  # request paths (with query), in order; handy in tests
        self.request_headers: list[tuple[str, dict[str, str]]] = []  # (path, headers): e.g. a cookie sent
        self._lock = threading.Lock()

    @classmethod
    def from_manifest_file(cls, path: str | Path) -> LocalSite:
        path = Path(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(path.parent, data)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalSite is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> LocalSite:
        if self._server is not None:
            return self
        site = self

        class Handler(_Handler):
            pass

        Handler.site = site
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits up to one poll: 0.5 s by default
            name=f"LocalSite:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routing ---------------------------------------------------------------------------------

    def match(self, target: str) -> Route | None:
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        candidates = [r for r in self.routes if r.matches(parts.path or "/", query)]
        if not candidates:
            return None
        # the most specific route wins; among equals, the first in the manifest
        return max(candidates, key=lambda r: (len(r.query), -self.routes.index(r)))

    def render(self, route: Route) -> bytes:
        data = route.body if route.body is not None else route.file.read_bytes() if route.file else b""
        if route.is_text() and BASE_URL_MARKER.encode("ascii") in data:
            data = data.replace(BASE_URL_MARKER.encode("ascii"), self.base_url.encode("ascii"))
        return data


class _Handler(BaseHTTPRequestHandler):
    site: LocalSite
    server_version = "YuqingLocalSite/0.1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests read LocalSite.requests instead

    def _respond(self, head_only: bool) -> None:
        with self.site._lock:
            self.site.requests.append(self.path)
            self.site.request_headers.append((self.path, dict(self.headers.items())))
        route = self.site.match(self.path)
        if route is None:
            body = b"not found"
            status, content_type, headers = 404, "text/plain; charset=utf-8", {}
        else:
            try:
                body = self.site.render(route)
            except OSError as exc:
                body = f"cannot read {route.file}: {exc}".encode()
                status, content_type, headers = 500, "text/plain; charset=utf-8", {}
            else:
                status, content_type, headers = route.status, route.content_type, route.headers
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._respond(head_only=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head_only=True)
