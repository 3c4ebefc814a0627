"""`yuqing bench ingest` runs end to end on a small stream and prints its figures (nothing is timed here:
the bench measures, it does not assert)."""

from __future__ import annotations

import os
import re

from yuqing.cli import main


def test_bench_ingest_prints_its_figures(capsys, monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("YUQING_") and not key.startswith("YUQING_TEST_") and key != "YUQING_CACHE_DIR":
            monkeypatch.delenv(key)
    args = ["bench", "ingest", "--posts", "200", "--batch", "40", "--workdir", str(tmp_path), "--phases"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"stored 200 new posts", out), out
    for figure in (
        r"analysis: [\d,]+ posts/s",
        r"ingest: +[\d,]+ posts/s",
        r"ingest time / analysis time: [\d.]+",
        r"cost per post, last tenth / first tenth: [\d.]+",
        r"peak RSS: [\d,]+ MB",
        r"near-duplicates +[\d.]+ +[\d.]+ +[\d.]+",  # --phases: CPU ms/post, all, first and last tenth
    ):
        assert re.search(figure, out), (figure, out)
    assert (tmp_path / "yuqing.db").exists()  # --workdir keeps the store
    from yuqing import ingest

    assert ingest.store_batch.__name__ == "store_batch"  # the phase timer put the functions back


def test_bench_neardup_store_prints_its_figures(capsys):
    assert main(["bench", "neardup_store", "--posts", "300", "--batch", "50"]) == 0
    out = capsys.readouterr().out
    for figure in (
        r"CPU ms/post, all( +[\d.]+){6}",
        r"rows read per post( +[\d.]+){6}",
        r"groups digest \w{12}",
    ):
        assert re.search(figure, out), (figure, out)
