"""Playbook files: every shipped one validates; a broken one is refused with its file and field named."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from playbooks.schema import (
    PACKAGED_LIBRARY,
    ROLE_LABELS,
    TOPICS,
    PlaybookError,
    load_library,
    load_playbook,
    parse_playbook,
)

REPO = Path(__file__).resolve().parents[2]
REQUIRED_IDS = {
    "trading-system-outage",
    "false-information",
    "customer-complaints",
    "regulatory-penalty",
    "executive-negative",
    "employee-misconduct",
    "data-leak",
    "product-loss",
    "generic",
}


def _generic_data() -> dict:
    return yaml.safe_load((PACKAGED_LIBRARY / "generic.yaml").read_text(encoding="utf-8"))


def _write(directory: Path, data: dict | str, name: str = "generic.yaml") -> Path:
    path = directory / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _error_for(tmp_path: Path, data: dict | str, name: str = "generic.yaml") -> PlaybookError:
    path = _write(tmp_path, data, name)
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    err = info.value
    assert err.file == str(path)
    assert path.name in str(err)
    return err


# --------------------------------------------------------------------------- the shipped library


def test_every_shipped_playbook_validates():
    files = sorted(PACKAGED_LIBRARY.glob("*.yaml"))
    assert {f.stem for f in files} >= REQUIRED_IDS
    for path in files:
        playbook = load_playbook(path)
        assert playbook.id == path.stem
        assert all(hs.requires_compliance_signoff for hs in playbook.holding_statements)


def test_load_library_defaults_to_packaged_library_sorted_by_id():
    library = load_library()
    ids = [pb.id for pb in library]
    assert ids == sorted(ids)
    assert set(ids) >= REQUIRED_IDS
    assert [pb.id for pb in library if pb.fallback] == ["generic"]


def test_topics_match_the_contract():
    contracts = (REPO / "docs" / "contracts.md").read_text(encoding="utf-8")
    line = next(ln for ln in contracts.splitlines() if "`交易系统故障`" in ln)
    assert tuple(re.findall(r"`([^`]+)`", line)) == TOPICS


def test_shipped_playbooks_report_to_the_regulator_at_levels_i_and_ii():
    for playbook in load_library():
        assert set(playbook.regulator_report.when) >= {"I", "II"}, playbook.id
        assert "证监局" in playbook.regulator_report.to
        assert playbook.levels.I.regulator_report_within is not None
        assert playbook.levels.IV.regulator_report_within is None


def test_outage_playbook_verifies_with_it_before_any_statement():
    outage = load_playbook(PACKAGED_LIBRARY / "trading-system-outage.yaml")
    ids = [s.id for s in outage.steps]
    assert ids.index("verify-with-it") < ids.index("holding-statement")
    assert {"app-push", "customer-service-script", "regulator-report"} <= set(ids)
    verify = next(s for s in outage.steps if s.id == "verify-with-it")
    assert verify.owner_role == "it"


def test_false_information_playbook_has_evidence_review_removal_and_police_steps():
    fi = load_playbook(PACKAGED_LIBRARY / "false-information.yaml")
    assert fi.triggers.falsity is True
    ids = [s.id for s in fi.steps]
    for step in (
        "acknowledge-and-preserve",
        "verify-facts",
        "legal-compliance-review",
        "clarification-statement",
        "platform-report",
        "law-enforcement",
        "regulator-report",
    ):
        assert step in ids
    assert "截图" in fi.steps[0].description and "URL" in fi.steps[0].description


def test_folded_yaml_text_has_no_stray_spaces_after_chinese_punctuation():
    for playbook in load_library():
        for text in [
            playbook.description,
            *(s.description for s in playbook.steps),
            *(h.template for h in playbook.holding_statements),
        ]:
            assert not re.search(r"[，。；：、] ", text), (playbook.id, text)


def test_holding_statement_renders_and_names_missing_values():
    statement = load_playbook(PACKAGED_LIBRARY / "generic.yaml").holding_statements[0]
    assert set(statement.placeholders) == {"firm", "event_summary", "next_update", "hotline"}
    text = statement.render(
        {"firm": "华鼎证券", "event_summary": "某事", "next_update": "今日 18:00", "hotline": "95xxx"}
    )
    assert text.startswith("华鼎证券关注到")
    with pytest.raises(KeyError, match="hotline"):
        statement.render({"firm": "华鼎证券", "event_summary": "某事", "next_update": "今日 18:00"})


def test_owner_roles_are_english_ids_with_chinese_labels():
    assert set(ROLE_LABELS.values()) == {"值班员", "负责人", "合规", "管理员", "客服", "信息技术"}
    for playbook in load_library():
        for step in playbook.steps:
            assert step.owner_role in ROLE_LABELS


# --------------------------------------------------------------------------- broken files


def test_unknown_topic_names_file_and_field(tmp_path):
    data = _generic_data()
    data["triggers"]["topics"] = ["交易故障"]
    err = _error_for(tmp_path, data)
    assert err.field == "triggers.topics"
    assert "交易故障" in str(err) and "valid topics" in str(err)


def test_missing_field_names_the_field(tmp_path):
    data = _generic_data()
    del data["name"]
    err = _error_for(tmp_path, data)
    assert err.field == "name"
    assert "required" in str(err)


def test_missing_nested_clock_names_the_level(tmp_path):
    data = _generic_data()
    del data["levels"]["II"]["acknowledge_within"]
    err = _error_for(tmp_path, data)
    assert err.field == "levels.II.acknowledge_within"


@pytest.mark.parametrize("signoff", [False, "missing"])
def test_holding_statement_without_compliance_signoff_is_refused(tmp_path, signoff):
    data = _generic_data()
    if signoff == "missing":
        del data["holding_statements"][0]["requires_compliance_signoff"]
    else:
        data["holding_statements"][0]["requires_compliance_signoff"] = signoff
    err = _error_for(tmp_path, data)
    assert err.field == "holding_statements[0].requires_compliance_signoff"


def test_malformed_yaml_names_file_and_line(tmp_path):
    text = (PACKAGED_LIBRARY / "generic.yaml").read_text(encoding="utf-8")
    text = text.replace("fallback: true", "fallback: [true")
    err = _error_for(tmp_path, text)
    assert err.field and err.field.startswith("line ")
    assert "malformed YAML" in str(err)


def test_duplicate_yaml_key_is_refused(tmp_path):
    text = (PACKAGED_LIBRARY / "generic.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "1.0"', 'version: "1.0"\nversion: "2.0"')
    err = _error_for(tmp_path, text)
    assert "duplicate key 'version'" in str(err)


def test_empty_file_is_refused(tmp_path):
    err = _error_for(tmp_path, "")
    assert "mapping" in str(err)


def test_unknown_field_is_refused(tmp_path):
    data = _generic_data()
    data["steps"][1]["owner"] = "张三"
    err = _error_for(tmp_path, data)
    assert err.field == "steps[1].owner"
    assert "unknown field" in str(err)


def test_chinese_role_name_gets_a_hint(tmp_path):
    data = _generic_data()
    data["steps"][0]["owner_role"] = "值班员"
    err = _error_for(tmp_path, data)
    assert err.field == "steps[0].owner_role"
    assert "'duty_officer'" in str(err)


def test_unknown_placeholder_is_refused(tmp_path):
    data = _generic_data()
    data["holding_statements"][0]["template"] = "{company}关注到相关信息。"
    err = _error_for(tmp_path, data)
    assert err.field == "holding_statements[0].template"
    assert "{company}" in str(err)


def test_step_needs_exactly_one_deadline(tmp_path):
    data = _generic_data()
    data["steps"][0]["due_minutes"] = 5  # it already has due_clock
    err = _error_for(tmp_path, data)
    assert err.field == "steps[0]"
    assert "exactly one of due_minutes or due_clock" in str(err)


def test_per_level_due_minutes_must_cover_the_steps_levels(tmp_path):
    data = _generic_data()
    data["steps"][1]["due_minutes"] = {"I": 20, "II": 30}
    err = _error_for(tmp_path, data)
    assert "III" in str(err) and err.field == "steps[1]"


def test_more_severe_level_may_not_have_a_slower_clock(tmp_path):
    data = _generic_data()
    data["levels"]["I"]["acknowledge_within"] = 20  # II acknowledges within 15
    err = _error_for(tmp_path, data)
    assert err.field == "levels"
    assert "acknowledge_within at level I" in str(err)


def test_regulator_report_levels_must_agree_with_clocks(tmp_path):
    data = _generic_data()
    data["regulator_report"]["when"] = ["I"]
    err = _error_for(tmp_path, data)
    assert "levels.II.regulator_report_within" in str(err)


def test_the_regulator_deadline_is_stated_once_per_level(tmp_path):
    """A second, disagreeing deadline box (regulator_report.within_hours: 99) is refused, naming where the
    time goes; the library's playbooks state it only as each level's regulator_report_within."""
    data = _generic_data()
    data["regulator_report"]["within_hours"] = 99
    err = _error_for(tmp_path, data)
    assert "regulator_report_within" in str(err) and "within_hours" in str(err)
    for playbook in load_library():
        assert "within_hours" not in type(playbook.regulator_report).model_fields


def test_id_must_be_a_slug_matching_the_file_name(tmp_path):
    data = _generic_data()
    data["id"] = "Generic Playbook"
    assert _error_for(tmp_path, data).field == "id"
    data["id"] = "other"
    err = _error_for(tmp_path, data)
    assert err.field == "id" and "file name" in str(err)


def test_all_problems_are_reported_together():
    data = _generic_data()
    del data["name"]
    data["triggers"]["topics"] = ["不存在"]
    with pytest.raises(PlaybookError) as info:
        parse_playbook(data, "x.yaml")
    fields = [f for f, _ in info.value.problems]
    assert "name" in fields and "triggers.topics" in fields


# --------------------------------------------------------------------------- the library as a whole


def test_duplicate_ids_in_a_library_are_refused(tmp_path):
    data = _generic_data()
    _write(tmp_path, data, "generic.yaml")
    _write(tmp_path, data, "generic.yml")
    with pytest.raises(PlaybookError, match="duplicate playbook id 'generic'"):
        load_library(tmp_path)


def test_two_fallbacks_are_refused(tmp_path):
    data = _generic_data()
    _write(tmp_path, data, "generic.yaml")
    other = copy.deepcopy(data)
    other["id"] = "generic-two"
    _write(tmp_path, other, "generic-two.yaml")
    with pytest.raises(PlaybookError) as info:
        load_library(tmp_path)
    assert info.value.field == "fallback"


def test_one_broken_file_fails_the_library_and_is_named(tmp_path):
    _write(tmp_path, _generic_data(), "generic.yaml")
    bad = yaml.safe_load((PACKAGED_LIBRARY / "false-information.yaml").read_text(encoding="utf-8"))
    bad["triggers"]["topics"] = ["谣言"]
    path = _write(tmp_path, bad, "false-information.yaml")
    with pytest.raises(PlaybookError) as info:
        load_library(tmp_path)
    assert info.value.file == str(path)
    assert info.value.field == "triggers.topics"


def test_empty_or_missing_directory_is_refused(tmp_path):
    with pytest.raises(PlaybookError, match="no playbook files"):
        load_library(tmp_path)
    with pytest.raises(PlaybookError, match="does not exist"):
        load_library(tmp_path / "nope")
