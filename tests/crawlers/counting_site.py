"""A local site that counts: every request with its time and User-Agent, requests in flight at once,
and pages that answer 429/503 a given number of times before they answer 200."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
<div class="nav"><a href="/">首页</a></div>
<div class="article"><h1>{title}</h1><div class="date">2025-03-03 09:40</div>
<div class="content"><p>{title}：华鼎证券今日发布公告称，公司经营情况正常，各项业务有序开展。</p>
<p>公司提醒投资者注意风险，理性投资，相关信息以公司公告为准。</p></div></div></body></html>"""


@dataclass
class Hit:
    at: float
    path: str
    user_agent: str


@dataclass
class CountingSite:
    articles: int = 6
    article_delay: float = 0.3  # seconds each article takes to answer
    failures: dict[str, tuple[int, int, dict[str, str]]] = field(default_factory=dict)
    # path → (status, how many times, headers): e.g. {"/limited.html": (429, 2, {"Retry-After": "1"})}
    slow: dict[str, float] = field(default_factory=dict)  # path → seconds before answering
    hits: list[Hit] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._remaining = {p: n for p, (_, n, _) in self.failures.items()}

    # -- content ---------------------------------------------------------------------------------

    def feed(self, paths: list[str]) -> bytes:
        items = "".join(
            f"<item><title>文章 {p}</title><link>{self.base_url}{p}</link>"
            f"<pubDate>Mon, 03 Mar 2025 09:40:00 +0800</pubDate></item>"
            for p in paths
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>测试</title>{items}'
            "</channel></rss>"
        ).encode()

    def article_paths(self) -> list[str]:
        return [f"/a/{i}.html" for i in range(self.articles)]

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n"
        if path == "/feed.xml":
            return (
                200,
                {"Content-Type": "application/rss+xml"},
                self.feed([*self.article_paths(), "/private/x.html"]),
            )
        if path.startswith("/feed-only"):  # /feed-only/limited.html → a feed with just that page
            return 200, {"Content-Type": "application/rss+xml"}, self.feed([path[len("/feed-only") :]])
        with self._lock:
            left = self._remaining.get(path, 0)
            if left:
                self._remaining[path] = left - 1
        if left:
            status, _, headers = self.failures[path]
            return status, {"Content-Type": "text/plain", **headers}, b"slow down"
        if (
            path.startswith("/a/")
            or path.startswith("/private/")
            or path in self.failures
            or path in self.slow
        ):
            time.sleep(self.slow.get(path, self.article_delay if path.startswith("/a/") else 0))
            body = ARTICLE.format(title=f"测试文章{path}").encode("utf-8")
            return 200, {"Content-Type": "text/html; charset=utf-8"}, body
        return 404, {"Content-Type": "text/plain"}, b"not found"

    # -- server ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def paths(self, prefix: str = "") -> list[str]:
        return [h.path for h in self.hits if h.path.startswith(prefix)]

    def times(self, path: str) -> list[float]:
        return [h.at for h in self.hits if h.path == path]

    def __enter__(self) -> CountingSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with site._lock:
                    site.hits.append(Hit(time.monotonic(), self.path, self.headers.get("User-Agent", "")))
                    site.in_flight += 1
                    site.max_in_flight = max(site.max_in_flight, site.in_flight)
                try:
                    status, headers, body = site.answer(self.path)
                finally:
                    with site._lock:
                        site.in_flight -= 1
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler gave up on this page (a timeout test): nothing to answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
