"""LocalSite: manifest routes, query matching, {base_url} substitution, bytes served as is."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from yuqing.localsite import LocalSite


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    (tmp_path / "weibo").mkdir()
    (tmp_path / "weibo" / "list_0.json").write_text('{"page": 0}', encoding="utf-8")
    (tmp_path / "weibo" / "list_1.json").write_text('{"page": 1}', encoding="utf-8")
    (tmp_path / "feed.xml").write_text("<rss><link>{base_url}/a.html</link></rss>", encoding="utf-8")
    (tmp_path / "a.html").write_bytes('<meta charset="gb2312"><p>人民网 {base_url}</p>'.encode())
    (tmp_path / "logo.png").write_bytes(b"\x89PNG{base_url}")
    manifest = {
        "routes": [
            {
                "path": "/api/container/getIndex",
                "query": {"containerid": "1076036279793937"},
                "file": "weibo/list_0.json",
                "content_type": "application/json; charset=utf-8",
                "status": 200,
            },
            {
                "path": "/api/container/getIndex",
                "query": {"containerid": "1076036279793937", "page": "2"},
                "file": "weibo/list_1.json",
                "content_type": "application/json; charset=utf-8",
            },
            {"path": "/feed.xml", "file": "feed.xml", "content_type": "application/rss+xml"},
            {"path": "/a.html", "file": "a.html", "content_type": "text/html; charset=GB2312"},
            {"path": "/logo.png", "file": "logo.png"},
            {"path": "/gone", "status": 410, "body": "gone"},
        ]
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


def test_routes_and_query_matching(site_dir: Path):
    with LocalSite.from_manifest_file(site_dir / "manifest.json") as site:
        assert site.base_url.startswith("http://127.0.0.1:")
        status, body, ctype = _get(f"{site.base_url}/api/container/getIndex?containerid=1076036279793937")
        assert (status, json.loads(body)) == (200, {"page": 0})
        assert ctype == "application/json; charset=utf-8"
        # extra request params are allowed; the most specific route wins
        _, body, _ = _get(f"{site.base_url}/api/container/getIndex?containerid=1076036279793937&page=1&x=y")
        assert json.loads(body) == {"page": 0}
        _, body, _ = _get(f"{site.base_url}/api/container/getIndex?page=2&containerid=1076036279793937")
        assert json.loads(body) == {"page": 1}
        # a route's query param missing or different: no match
        assert _get(f"{site.base_url}/api/container/getIndex?containerid=999")[0] == 404
        assert _get(f"{site.base_url}/api/container/getIndex")[0] == 404
        assert _get(f"{site.base_url}/nowhere")[0] == 404
        assert _get(f"{site.base_url}/robots.txt")[0] == 404  # no robots.txt in this manifest
        assert _get(f"{site.base_url}/gone")[0] == 410
        assert "/nowhere" in site.requests


def test_base_url_substitution_and_bytes_as_is(site_dir: Path):
    with LocalSite.from_manifest_file(site_dir / "manifest.json") as site:
        _, body, _ = _get(f"{site.base_url}/feed.xml")
        assert body.decode() == f"<rss><link>{site.base_url}/a.html</link></rss>"
        status, body, ctype = _get(f"{site.base_url}/a.html")
        # declared GB2312, bytes UTF-8: served truthfully wrong, like the real site
        assert ctype == "text/html; charset=GB2312"
        assert body == f'<meta charset="gb2312"><p>人民网 {site.base_url}</p>'.encode()
        _, body, ctype = _get(f"{site.base_url}/logo.png")
        assert body == b"\x89PNG{base_url}"  # binary files are not rewritten
        assert ctype == "image/png"


def test_robots_served_when_in_manifest(tmp_path: Path):
    (tmp_path / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    with LocalSite(
        tmp_path, {"routes": [{"path": "/robots.txt", "file": "robots.txt", "content_type": "text/plain"}]}
    ) as site:
        status, body, _ = _get(f"{site.base_url}/robots.txt")
        assert status == 200 and b"Disallow: /private/" in body


def test_stops_and_frees_port(tmp_path: Path):
    site = LocalSite(tmp_path, {"routes": []})
    with site:
        port = site.port
        assert _get(f"{site.base_url}/")[0] == 404
    with pytest.raises(RuntimeError):
        _ = site.base_url
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_bad_manifest_is_refused(tmp_path: Path):
    with pytest.raises(ValueError):
        LocalSite(tmp_path, {"routes": [{"file": "x.html"}]})
    with pytest.raises(ValueError):
        LocalSite(tmp_path, {"routes": [{"path": "/x"}]})
