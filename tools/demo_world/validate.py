"""Check the generated demo sources: JSON parses, routes resolve, feeds link to pages, encodings are as meant.

Run: python tools/demo_world/validate.py   (exit 1 on any problem)
"""

import email.utils
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

D = Path(__file__).resolve().parents[2] / "yuqing" / "demo_sources"
UIDS = ["1000000001", "1000000002", "1000000003"]


def main() -> int:
    errs: list[str] = []
    for p in D.rglob("*.json"):
        json.loads(p.read_text("utf-8"))
    routes = json.loads((D / "manifest.json").read_text("utf-8"))["routes"]
    for r in routes:
        if set(r) != {"path", "query", "file", "content_type", "status"}:
            errs.append(f"route keys: {r}")
        if not (D / r["file"]).is_file():
            errs.append("missing file " + r["file"])
        if not all(isinstance(v, str) for v in r["query"].values()):
            errs.append(f"non-string query value: {r}")

    def match(path, query, most_specific=False):
        found = [
            r for r in routes if r["path"] == path and all(query.get(k) == v for k, v in r["query"].items())
        ]
        if not found:
            return None
        return max(found, key=lambda r: len(r["query"])) if most_specific else found[0]

    def get(url):
        u = urlsplit(url.replace("{base_url}", "http://127.0.0.1:8000"))
        return match(u.path, dict(parse_qsl(u.query)))

    links = []
    for f in ["feeds/finance.xml", "feeds/securities.xml"]:
        root = ET.fromstring((D / f).read_bytes())
        for it in root.iter("item"):
            link = it.findtext("link")
            links.append(link)
            pd = email.utils.parsedate_to_datetime(it.findtext("pubDate"))
            if not (pd.year == 2026 and pd.month == 11 and pd.utcoffset().total_seconds() == 8 * 3600):
                errs.append(f"pubDate {pd}")
            r = get(link)
            if not r or not r["file"].startswith("news/"):
                errs.append("feed link without a page route: " + link)
    pages = sorted(p.relative_to(D).as_posix() for p in D.rglob("*.html"))
    linked = {get(link)["file"] for link in links if get(link)}
    if set(pages) != linked:
        errs.append(f"pages not linked from a feed: {set(pages) ^ linked}")
    for pg in pages:
        b = (D / pg).read_bytes()
        declared = re.search(rb'charset="?([\w-]+)', b, re.I).group(1).decode().lower()
        try:
            b.decode("utf-8")
            real = "utf-8"
        except UnicodeDecodeError:
            b.decode("gbk")
            real = "gbk"
        t = b.decode(real)
        if "{base_url}" not in t or re.search(r'href="/(?!/)', t):
            errs.append(f"links in {pg}")
        ct = next(r["content_type"] for r in routes if r["file"] == pg)
        print(f"{pg:56s} declared={declared:7s} bytes={real:6s} content_type={ct}")
    mids: set[str] = set()
    n9 = non9 = 0
    for uid in UIDS:
        cid = "107603" + uid
        if match("/api/container/getIndex", {"containerid": cid})["file"] != f"weibo/u{uid}_p1.json":
            errs.append("fallback route " + uid)
        for page in map(str, range(1, 11)):
            r1 = match("/api/container/getIndex", {"containerid": cid, "page": page})
            r2 = match("/api/container/getIndex", {"containerid": cid, "page": page}, most_specific=True)
            if r1 is None or r1 != r2:
                errs.append(f"page route {uid} {page}")
                continue
            d = json.loads((D / r1["file"]).read_text("utf-8"))
            if r1["file"].endswith("empty.json"):
                continue
            print(uid, page, r1["file"], "cards:", len(d["data"]["cards"]))
            si = d["data"]["cardlistInfo"].get("since_id")
            if si:
                r3 = match("/api/container/getIndex", {"containerid": cid, "since_id": str(si)})
                if not r3 or not r3["file"].endswith(f"_p{int(page) + 1}.json"):
                    errs.append(f"since_id route {uid}")
            for c in d["data"]["cards"]:
                if c["card_type"] != 9:
                    non9 += 1
                    continue
                m = c["mblog"]
                n9 += 1
                if m["mid"] in mids:
                    errs.append("duplicate mid " + m["mid"])
                mids.add(m["mid"])
                if m["isLongText"] and not match("/statuses/extend", {"id": m["id"]}):
                    errs.append("no extend route for " + m["id"])
    print("weibo posts", n9, "non-9 cards", non9)
    exp = json.loads((D / "expected.json").read_text("utf-8"))
    if {e["id"] for e in exp["posts"] if e["kind"] == "weibo"} != mids:
        errs.append("expected.json weibo ids differ from the timelines")
    if {e["id"].lstrip("/") for e in exp["posts"] if e["kind"] == "article"} != set(pages):
        errs.append("expected.json article ids differ from the pages")
    topics = set(exp["topics"])
    for e in exp["posts"]:
        if e["topic"] not in topics or not set(e["topic_alternatives"]) <= topics:
            errs.append(f"topic {e['key']}")
    if not match("/robots.txt", {}):
        errs.append("robots.txt route")
    print(exp["summary"])
    for e in errs:
        print("ERROR", e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
