"""The worlds of `yuqing bench e2e` (bench/e2e/worlds/NAME): each renders, its labels cover exactly what it
serves with valid fields, its split follows the fixed rule, and a wrong --world is refused clearly.

Nothing here runs the desk or judges figures: the bench measures, it does not assert.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.e2e import render as R  # noqa: E402
from bench.e2e import split as S  # noqa: E402
from nlp.topics import TOPICS  # noqa: E402

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
SEVERITIES = {"I", "II", "III", "IV"}


def test_the_hand_written_worlds_are_there_and_lanshan_is_the_default():
    written = {"lanshan", "chicheng", "chengjiang", "cangwu", "tingzhou", "yunmeng", "heming", "qixia"}
    assert written <= set(R.world_names())
    assert R.DEFAULT_WORLD == "lanshan"


@pytest.mark.parametrize("name", R.world_names())
def test_world_labels_cover_exactly_what_it_serves(name, tmp_path):
    world_dir, labels_file = R.world_paths(name)
    world, labels = R.load_world(world_dir), R.load_labels(labels_file)
    rendered = R.render(world, tmp_path, NOW)
    assert set(rendered.items) == set(labels)
    assert {v["family"] for v in rendered.items.values()} == {
        "rss", "news_list", "baidu_news", "weibo", "guba", "xueqiu", "heimao", "cls"
    }  # fmt: skip
    for item_id, lab in labels.items():
        assert isinstance(lab["must_flag"], bool), item_id
        assert isinstance(lab["rumor"], bool), item_id
        assert lab["split"] in ("dev", "holdout"), item_id
        assert lab["why"], item_id
        if lab["must_flag"]:
            assert lab["topic"] in TOPICS and lab["severity"] in SEVERITIES, item_id
        else:
            assert lab["topic"] is None and lab["severity"] is None, item_id
        assert set(lab.get("also") or []) <= set(TOPICS), item_id
    for route in rendered.routes:  # every served file was written
        assert Path(route["file"]).is_file()


@pytest.mark.parametrize("name", R.world_names())
def test_world_split_follows_its_rule_and_every_kind_is_in_both_parts(name, capsys):
    assert S.main(["--world", name]) == 0, capsys.readouterr().err


def test_a_world_serving_one_url_twice_is_refused(tmp_path):
    world = R.load_world(R.world_paths("chicheng")[0])
    twin = copy.deepcopy(next(s for s in world.sources if s["family"] == "heimao"))
    twin["name"] = "heimao-twin"
    for it in twin["items"]:
        it["id"] += "9"
    world.sources.append(twin)  # same keyword → same route
    with pytest.raises(ValueError, match="served twice"):
        R.render(world, tmp_path, NOW)


def test_an_unknown_world_is_refused_with_the_known_names():
    proc = subprocess.run(
        [sys.executable, "-m", "yuqing.cli", "bench", "e2e", "--world", "nowhere"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "nowhere" in proc.stderr and "chicheng" in proc.stderr and "lanshan" in proc.stderr
