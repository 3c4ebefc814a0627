"""预案库 on the desk: everyone reads the playbooks; an admin edits one, checks it and saves it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from playbooks.schema import PACKAGED_LIBRARY
from store.models import AuditEntry
from tests.desk.conftest import frame

PAGE = "views/playbooks.py"
SELECT = "desk.playbooks.select"
TEXT = "desk.playbooks.text.false-information"


@pytest.fixture
def library(desk_config: Path, tmp_path: Path) -> Path:
    """A copy of the shipped library that the test config names as playbooks_dir (the repo's stays untouched)."""
    directory = tmp_path / "playbooks"
    shutil.copytree(PACKAGED_LIBRARY, directory)
    text = desk_config.read_text(encoding="utf-8")
    desk_config.write_text(f'playbooks_dir = "{directory.as_posix()}"\n' + text, encoding="utf-8")
    return directory


def _page(app, role: str, username: str | None = None):
    at = app(
        officer=username or {"admin": "admin", "manager": "李负责", "officer": "王晓明"}[role], role=role
    )
    at = at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _open(at, playbook_id: str):
    at.selectbox(key=SELECT).set_value(playbook_id).run()
    assert not at.exception, at.exception
    return at


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _shown_text(at) -> str:
    return "\n".join(
        [t.value for t in at.text] + [m.value for m in at.markdown] + [c.value for c in at.caption]
    )


def test_officer_reads_a_playbook_and_gets_no_editor(desk_store, library, app):
    at = _open(_page(app, "officer"), "false-information")
    assert at.title[0].value == "预案库"
    assert any(h.value == "不实信息（谣言）处置预案" for h in at.subheader)
    clocks = frame(at, "确认预警")
    assert list(clocks["级别"]) == ["I 级（特别重大）", "II 级（重大）", "III 级（较大）", "IV 级（一般）"]
    assert list(clocks.iloc[0][["确认预警", "发布对外口径", "报告证监局"]]) == ["5 分钟", "30 分钟", "2 小时"]
    assert clocks.iloc[3]["报告证监局"] == "不要求"
    steps = frame(at, "负责")
    assert steps.iloc[0]["步骤"] == "确认预警并固定证据" and steps.iloc[0]["负责"] == "值班员"
    body = _shown_text(at)
    assert "需合规审核" in body  # every holding statement is marked
    assert "报告对象：当地证监局" in body
    # no editor for an officer: no YAML, no 保存
    assert not at.text_area
    assert not [b for b in at.button if b.label in ("校验", "保存")]
    assert "预案由管理员维护" in body


def test_manager_gets_no_editor_either(desk_store, library, app):
    at = _page(app, "manager")
    assert not at.text_area
    assert not [b for b in at.button if b.label == "保存"]


def test_admin_edits_checks_and_saves(desk_store, library, app):
    at = _open(_page(app, "admin"), "false-information")
    editor = at.text_area(key=TEXT)
    original = editor.value
    assert original == (library / "false-information.yaml").read_text(encoding="utf-8")

    edited = original.replace("title: 确认预警并固定证据", "title: 确认预警、截图并固定证据", 1)
    at.text_area(key=TEXT).input(edited).run()
    _button(at, "校验").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["校验通过，可以保存。"]
    diff = [c.value for c in at.code]
    assert (
        diff
        and "+    title: 确认预警、截图并固定证据" in diff[0]
        and "-    title: 确认预警并固定证据" in diff[0]
    )

    _button(at, "保存").click().run()
    assert not at.exception
    assert any("已保存预案「不实信息（谣言）处置预案」" in s.value for s in at.success)
    assert (library / "false-information.yaml").read_text(encoding="utf-8") == edited
    assert len(list((library / ".history").glob("false-information-*.yaml"))) == 1
    # the page reads the library again: the new step title is what everyone now sees
    assert frame(at, "负责").iloc[0]["步骤"] == "确认预警、截图并固定证据"
    assert at.text_area(key=TEXT).value == edited
    history = frame(at, "修改人")
    assert list(history["修改人"]) == ["admin"]
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            entry = s.query(AuditEntry).filter_by(entity="playbook").one()
            assert (entry.actor, entry.entity_id) == ("admin", "false-information")
    finally:
        ctx.close()
    # and an officer opening the page afterwards reads the edited step
    officer = _open(_page(app, "officer"), "false-information")
    assert frame(officer, "负责").iloc[0]["步骤"] == "确认预警、截图并固定证据"


def test_invalid_edit_shows_chinese_problems_and_saves_nothing(desk_store, library, app):
    before = (library / "false-information.yaml").read_text(encoding="utf-8")
    at = _open(_page(app, "admin"), "false-information")
    broken = before.replace("owner_role: duty_officer", "owner_role: 值班员", 1)
    at.text_area(key=TEXT).input(broken).run()
    _button(at, "校验").click().run()
    assert [e.value for e in at.error] == ["校验未通过，请修改以下问题："]
    problems = [t.value for t in at.text if t.value.startswith("• steps")]
    assert problems == [
        "• steps[0].owner_role（处置步骤第 1 项 · 负责角色）：未知的负责角色 '值班员'，应写作 duty_officer"
    ]

    _button(at, "保存").click().run()
    assert not at.exception
    assert any(e.value.startswith("未保存：steps[0].owner_role") for e in at.error)
    assert (library / "false-information.yaml").read_text(encoding="utf-8") == before
    assert not (library / ".history").exists() or not list((library / ".history").glob("*.yaml"))

    at.text_area(key=TEXT).input("id: [unclosed\n").run()
    _button(at, "校验").click().run()
    assert any("YAML 格式错误" in t.value and "第 " in t.value for t in at.text)


def test_hostile_step_text_is_shown_as_text(desk_store, library, app):
    at = _open(_page(app, "admin"), "generic")
    text = at.text_area(key="desk.playbooks.text.generic").value
    hostile = "<script>alert(1)</script> **粗体** [点我](javascript:alert(1))"
    edited = text.replace("title: 确认预警并固定证据", f'title: "{hostile}"', 1)
    assert edited != text
    at.text_area(key="desk.playbooks.text.generic").input(edited).run()
    _button(at, "保存").click().run()
    assert not at.exception
    assert frame(at, "负责").iloc[0]["步骤"] == hostile  # a table cell: text, never markup
    assert all("<script>" not in m.value for m in at.markdown)


def test_save_refused_when_the_file_changed_meanwhile(desk_store, library, app):
    at = _open(_page(app, "admin"), "generic")
    text = at.text_area(key="desk.playbooks.text.generic").value
    # another admin saves first (here: the file changes on disk)
    (library / "generic.yaml").write_text(text.replace('version: "1.0"', 'version: "1.9"'), encoding="utf-8")
    at.text_area(key="desk.playbooks.text.generic").input(
        text.replace('version: "1.0"', 'version: "2.0"')
    ).run()
    assert any("已被修改" in w.value for w in at.warning)
    _button(at, "保存").click().run()
    assert any("已被他人修改" in e.value for e in at.error)
    assert 'version: "1.9"' in (library / "generic.yaml").read_text(encoding="utf-8")
