"""The rooms may not import each other, so the shapes they share are pinned here against docs/contracts.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from nlp.analyzer import ANALYSIS_FIELDS
from nlp.topics import TOPICS as NLP_TOPICS
from playbooks.schema import TOPICS as PLAYBOOK_TOPICS

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = (REPO / "docs" / "contracts.md").read_text(encoding="utf-8")


def test_topics_agree_across_rooms_and_the_contract():
    line = next(ln for ln in CONTRACTS.splitlines() if ln.startswith("`交易系统故障`"))
    documented = tuple(re.findall(r"`([^`]+)`", line))
    assert tuple(NLP_TOPICS) == tuple(PLAYBOOK_TOPICS) == documented


def test_analysis_fields_match_the_contract():
    block = CONTRACTS.split("## Analysis", 1)[1].split("```")[1]
    documented = [ln.split()[0] for ln in block.strip().splitlines()]
    assert list(ANALYSIS_FIELDS) == documented


ALLOWED = {
    "crawlers": {"crawlers"},
    "nlp": {"nlp"},
    "store": {"store"},
    "playbooks": {"playbooks", "store"},
    "desk": {"desk", "store", "playbooks", "yuqing"},
}
OURS = {"crawlers", "nlp", "store", "playbooks", "desk", "yuqing"}


def test_rooms_import_only_what_is_below_them():
    wrong = []
    for room, allowed in ALLOWED.items():
        for path in (REPO / room).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in OURS and top not in allowed:
                        wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == []
