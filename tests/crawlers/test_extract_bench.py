"""`yuqing bench extract` runs at its default size and prints a figure line per reference page.

It checks that the figures are printed, not what they are: the benchmark measures, it does not judge.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from crawl_site import REPO, require_pages

REFS = REPO / "bench" / "extract_refs"
NUMBER = r"\d\.\d{3}"


def test_bench_extract_prints_a_figure_line_per_page_and_mode():
    require_pages()
    proc = subprocess.run(
        [sys.executable, "-m", "yuqing.cli", "bench", "extract"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "LCS" in out  # it says how the body figures are computed
    pages = sorted(f"{f.parent.name}/{f.stem}" for f in REFS.glob("*/*.json"))
    assert len(pages) == 6
    for page in pages:
        for mode in ("site", "generic", "bare"):
            line = re.search(
                rf"^{re.escape(page)}\s+{mode}\s+(ok|x)\s+[=~x]\s+(ok|x)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+\d+/\d+\s+\d+\.\d$",
                out,
                re.M,
            )
            assert line, f"no figure line for {page} ({mode}) in:\n{out}"
    for mode in ("site", "generic", "bare"):
        assert re.search(
            rf"^MEAN \(6 pages\)\s+{mode}\s+\d/6\s+\d/6\s+\d/6\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", out, re.M
        )


def test_references_are_well_formed_and_written_from_the_page():
    """Each reference paragraph occurs in its saved page's text (a check on the hand transcription)."""
    require_pages()
    import lxml.html

    from crawlers.extract import decode_html

    sites = json.loads((REFS / "sites.json").read_text(encoding="utf-8"))
    for ref_file in sorted(REFS.glob("*/*.json")):
        ref = json.loads(ref_file.read_text(encoding="utf-8"))
        assert {"page", "url", "title", "published_at", "author", "body", "note"} <= set(ref)
        assert ref_file.parent.name in sites
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", ref["published_at"])
        html, _ = decode_html((REPO.parent / "shared" / "pages" / ref["page"]).read_bytes())
        page_text = re.sub(r"\s+", "", lxml.html.document_fromstring(html).text_content())
        assert ref["title"] in html
        for para in ref["body"]:
            assert para == para.strip() and "\n" not in para
            assert re.sub(r"\s+", "", para) in page_text, f"{ref_file.name}: {para[:30]!r} is not on the page"
