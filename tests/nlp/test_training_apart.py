"""Training and evaluation live in ``nlp.training``, out of the runtime path: the analyzer loads neither
that package nor the libraries training needs (scikit-learn, scipy, torch, transformers)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRAINING_LIBRARIES = ("sklearn", "scipy", "torch", "transformers")


def test_the_analyzer_loads_no_training_code_nor_training_libraries():
    code = (
        "import json, sys\n"
        "from nlp.analyzer import Analyzer\n"
        "a = Analyzer.from_config(firm={'name': '华鼎证券'})\n"
        "a.analyze([{'text': '华鼎证券被立案调查，网传要倒闭'}])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "nlp.analyzer" in loaded and "nlp.targets" in loaded and "nlp.rumor" in loaded
    assert [m for m in loaded if m.split(".")[0] in TRAINING_LIBRARIES or m.startswith("nlp.training")] == []


def test_no_runtime_module_imports_the_training_package():
    wrong = []
    for path in (REPO / "nlp").rglob("*.py"):
        if "training" in path.relative_to(REPO / "nlp").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            wrong += [f"{path.relative_to(REPO)} imports {n}" for n in names if n.startswith("nlp.training")]
    assert wrong == []
