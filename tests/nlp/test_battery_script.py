"""bench/e2e/battery.py, the quick development check on labelled batteries: it reads every battery and
prints one row each, and a line it cannot read (no +/- label) is skipped, not scored."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "e2e" / "battery.py"


def _module():
    spec = importlib.util.spec_from_file_location("battery", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_battery_is_scored(capsys):
    mod = _module()
    assert mod.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    names = sorted(p.stem for p in mod.HERE.glob("*.txt"))
    assert [line.split()[0] for line in out[1:]] == names
    for line in out[1:]:
        must, found = int(line.split()[1]), int(line.split()[2])
        assert must >= 10 and 0 <= found <= must  # every battery has must-see lines, scored


def test_a_battery_line_needs_its_label(tmp_path):
    f = tmp_path / "b.txt"
    f.write_text(
        "# comment\n+ 泰和证券APP又崩了 ||| 开盘就登不上\nno label here\n- 泰和证券发布年报\n", "utf-8"
    )
    assert _module().read(f) == [(True, "泰和证券APP又崩了", "开盘就登不上"), (False, "", "泰和证券发布年报")]
