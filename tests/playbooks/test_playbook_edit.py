"""An admin edits a playbook: checked like the library loader checks it, saved atomically, history kept, audited."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from playbooks.authz import Actor, PermissionDenied
from playbooks.edit import (
    PlaybookEditError,
    history_of,
    library_signature,
    parse_text,
    read_source,
    save_playbook,
)
from playbooks.schema import PACKAGED_LIBRARY, load_library
from store.records import audit_trail
from tests.store import conftest as engines
from yuqing.config import settings_from_dict
from yuqing.context import build_context

db = engines.records  # the records-engine fixture: SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set

ADMIN = Actor(username="admin", role="admin", display_name="管理员甲")
OFFICER = Actor(username="王晓明", role="officer")
MANAGER = Actor(username="李负责", role="manager")
T = datetime(2026, 9, 30, 22, 15, tzinfo=UTC)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A copy of the shipped library to edit."""
    directory = tmp_path / "library"
    shutil.copytree(PACKAGED_LIBRARY, directory)
    return directory


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _edited(text: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` replaced by ``new``."""
    assert old in text, old
    return text.replace(old, new, 1)


def test_valid_edit_is_saved_with_history_and_audit(db, library):
    before = read_source(library, "false-information")
    text = _edited(before.text, "acknowledge_within: 5\n", "acknowledge_within: 3\n")
    with db.session() as s:
        saved = save_playbook(
            s, ADMIN, directory=library, playbook_id="false-information", text=text,
            expected_sha256=before.sha256, now=T,
        )  # fmt: skip

    assert (library / "false-information.yaml").read_text(encoding="utf-8") == text
    assert saved.playbook.clocks("I").acknowledge_within == 3
    # the whole library still loads, with the new clock
    reloaded = {p.id: p for p in load_library(library)}
    assert reloaded["false-information"].clocks("I").acknowledge_within == 3
    # the previous text is kept, byte for byte, under .history with the time in its name
    [kept] = history_of(library, "false-information")
    assert kept.name == "false-information-20260930T221500000000Z.yaml"
    assert kept.read_text(encoding="utf-8") == before.text
    assert saved.history == kept
    # no temporary files left beside the playbooks
    assert sorted(p.name for p in library.iterdir() if p.name.startswith(".")) == [".history"]
    with db.session() as s:
        [entry] = audit_trail(s, entity="playbook", entity_id="false-information")
        assert entry.actor == "admin"
        assert entry.action == "playbook.edit"
        assert entry.at is not None
        assert entry.detail["old_sha256"] == before.sha256 == _sha(before.text)
        assert entry.detail["new_sha256"] == _sha(text) == saved.new_sha256
        assert entry.detail["history"] == ".history/" + kept.name


def test_second_edit_keeps_both_earlier_versions(db, library):
    first = read_source(library, "generic")
    v2 = _edited(first.text, 'version: "1.0"', 'version: "1.1"')
    with db.session() as s:
        save_playbook(s, ADMIN, directory=library, playbook_id="generic", text=v2, now=T)
    v3 = _edited(v2, 'version: "1.1"', 'version: "1.2"')
    with db.session() as s:
        save_playbook(s, ADMIN, directory=library, playbook_id="generic", text=v3,
                      expected_sha256=_sha(v2), now=T.replace(minute=16))  # fmt: skip
    kept = [p.read_text(encoding="utf-8") for p in history_of(library, "generic")]
    assert kept == [first.text, v2]
    with db.session() as s:
        entries = audit_trail(s, entity="playbook", entity_id="generic")
    assert [(e.detail["old_sha256"], e.detail["new_sha256"]) for e in entries] == [
        (first.sha256, _sha(v2)),
        (_sha(v2), _sha(v3)),
    ]


def test_invalid_yaml_is_refused_in_chinese_with_the_line_and_the_file_is_unchanged(db, library):
    before = read_source(library, "data-leak")
    broken = _edited(before.text, "version:", "version: [unclosed\nname2:")
    with db.session() as s, pytest.raises(PlaybookEditError) as info:
        save_playbook(s, ADMIN, directory=library, playbook_id="data-leak", text=broken)
    message = str(info.value)
    assert "YAML 格式错误" in message
    assert "第 " in message and " 行" in message  # the line is named
    assert read_source(library, "data-leak").text == before.text
    assert history_of(library, "data-leak") == []
    with db.session() as s:
        assert audit_trail(s, entity="playbook") == []


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        ("owner_role: duty_officer", "owner_role: 值班员", "steps[0].owner_role", "应写作 duty_officer"),
        ("acknowledge_within: 5\n", "acknowledge_within: 五分钟\n", "levels.I.acknowledge_within", "应为整数"),
        ("acknowledge_within: 5\n", "acknowledge_within: 12\n", "levels", "级别越高，时限应越短"),
        ("requires_compliance_signoff: true", "requires_compliance_signoff: false",
         "holding_statements[0].requires_compliance_signoff", "需合规审核"),
        ("name: 不实信息（谣言）处置预案", "name: Rumours", "name", "须为中文"),
        ("version:", "versoin:", "versoin", "未知字段"),
    ],
)  # fmt: skip
def test_schema_problems_are_named_by_field_in_chinese(library, old, new, where, says):
    text = _edited(read_source(library, "false-information").text, old, new)
    with pytest.raises(PlaybookEditError) as info:
        parse_text(text)
    lines = info.value.lines()
    assert any(line.startswith(where) and says in line for line in lines), lines
    # every problem is a Chinese sentence, not pydantic's English
    assert all("Input should" not in line and "Field required" not in line for line in lines), lines


def test_an_officer_or_manager_may_not_edit(db, library):
    before = read_source(library, "generic")
    text = _edited(before.text, 'version: "1.0"', 'version: "9"')
    for who in (OFFICER, MANAGER, None):
        with db.session() as s, pytest.raises(PermissionDenied):
            save_playbook(s, who, directory=library, playbook_id="generic", text=text)
    assert read_source(library, "generic").text == before.text
    with db.session() as s:
        assert audit_trail(s, entity="playbook") == []


def test_stale_edit_is_refused(db, library):
    before = read_source(library, "generic")
    mine = _edited(before.text, 'version: "1.0"', 'version: "1.1"')
    theirs = _edited(before.text, 'version: "1.0"', 'version: "2.0"')
    with db.session() as s:
        save_playbook(s, ADMIN, directory=library, playbook_id="generic", text=theirs,
                      expected_sha256=before.sha256)  # fmt: skip
    with db.session() as s, pytest.raises(PlaybookEditError, match="已被他人修改"):
        save_playbook(s, ADMIN, directory=library, playbook_id="generic", text=mine,
                      expected_sha256=before.sha256)  # fmt: skip
    assert read_source(library, "generic").text == theirs


def test_id_change_that_collides_is_refused_and_a_free_one_renames(db, library):
    before = read_source(library, "executive-negative")
    colliding = _edited(before.text, "id: executive-negative", "id: data-leak")
    with db.session() as s, pytest.raises(PlaybookEditError, match="已被另一份预案使用"):
        save_playbook(s, ADMIN, directory=library, playbook_id="executive-negative", text=colliding)
    assert read_source(library, "executive-negative").text == before.text
    assert load_library(library)  # nothing half-done

    renamed = _edited(before.text, "id: executive-negative", "id: executive-conduct")
    with db.session() as s:
        saved = save_playbook(s, ADMIN, directory=library, playbook_id="executive-negative", text=renamed)
    assert saved.renamed_from == "executive-negative"
    assert not (library / "executive-negative.yaml").exists()
    assert {p.id for p in load_library(library)} >= {"executive-conduct", "data-leak"}
    assert [p.read_text(encoding="utf-8") for p in history_of(library, "executive-negative")] == [before.text]
    with db.session() as s:
        [entry] = audit_trail(s, entity="playbook", entity_id="executive-conduct")
    assert entry.detail["renamed_from"] == "executive-negative"


def test_a_second_fallback_is_refused(library):
    text = _edited(read_source(library, "data-leak").text, "version:", "fallback: true\nversion:")
    from playbooks.edit import check_text

    with pytest.raises(PlaybookEditError, match="只能有一份兜底预案"):
        check_text(text, directory=library, replacing="data-leak")


def test_yaml_tags_that_build_objects_are_refused(library):
    text = "!!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(PlaybookEditError, match="不允许使用 YAML 标签"):
        parse_text(text)


def test_hostile_text_in_a_step_is_kept_as_text(db, library):
    hostile = "<script>alert(1)</script> **粗体** [点我](javascript:alert(1)) {firm} ${{x}}"
    before = read_source(library, "generic")
    data = yaml.safe_load(before.text)
    data["steps"][0]["description"] = hostile
    data["steps"][0]["title"] = "<img src=x onerror=alert(2)>"
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with db.session() as s:
        saved = save_playbook(s, ADMIN, directory=library, playbook_id="generic", text=text)
    step = saved.playbook.steps[0]
    assert step.description == hostile  # stored and loaded as the characters typed; the desk escapes them
    assert step.title == "<img src=x onerror=alert(2)>"
    reloaded = {p.id: p for p in load_library(library)}
    assert reloaded["generic"].steps[0].description == hostile


def test_context_reads_the_library_again_after_an_edit(db, library, tmp_path, monkeypatch):
    import yuqing.context

    settings = settings_from_dict(
        {
            "firm": {"name": "华鼎证券股份有限公司"},
            "store": {"path": str(tmp_path / "x.db")},
            "playbooks_dir": str(library),
        }
    )
    monkeypatch.setattr(yuqing.context, "PLAYBOOK_CHECK_SECONDS", 3600.0)
    ctx = build_context(settings)
    assert ctx.playbook_dir == library
    assert ctx.playbook("generic").version == "1.0"
    sig = library_signature(library)

    def edit(version: str) -> None:
        text = read_source(library, "generic").text
        new = re.sub(r'version: "[^"]*"', f'version: "{version}"', text, count=1)
        with db.session() as s:
            save_playbook(s, ADMIN, directory=library, playbook_id="generic", text=new)

    edit("1.5")
    assert library_signature(library) != sig
    assert ctx.playbook("generic").version == "1.0"  # within the check interval: no disk access
    assert ctx.reload_playbooks() and ctx.playbook("generic").version == "1.5"  # the desk's save does this
    monkeypatch.setattr(yuqing.context, "PLAYBOOK_CHECK_SECONDS", 0.0)
    edit("1.6")
    assert ctx.playbook("generic").version == "1.6"  # seen at the next check, without a restart
    # a file broken by hand afterwards does not take the library away from a running process
    (library / "generic.yaml").write_text("id: [broken\n", encoding="utf-8")
    assert ctx.playbook("generic").version == "1.6"
    ctx.close()
