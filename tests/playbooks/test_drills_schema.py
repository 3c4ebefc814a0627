"""Drill scenario files: the shipped ones validate and render for the configured firm; bad ones are
refused with a Chinese message that names the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from playbooks.drills.schema import (
    ScenarioError,
    find_scenario,
    load_scenario,
    load_scenarios,
    parse_at,
    render,
    scenario_files,
)
from yuqing.config import FirmConfig

DEMO_TOML = Path(__file__).resolve().parents[2] / "yuqing" / "demo_sources" / "demo.toml"


@pytest.fixture(scope="module")
def demo_firm() -> FirmConfig:
    return FirmConfig(**tomllib.loads(DEMO_TOML.read_text(encoding="utf-8"))["firm"])


def test_at_least_four_scenarios_ship_each_with_posts_to_flag_and_posts_to_leave(demo_firm):
    scenarios = load_scenarios()
    names = {s.name for s in scenarios}
    assert len(scenarios) >= 4
    assert {
        "国庆期间APP无法登录传言",
        "高管被带走调查谣言",
        "客户信息泄露传闻",
        "理财产品爆雷/兑付风险传言",
    } <= names
    for s in scenarios:
        flags = [step.expect.flag for step in s.timeline]
        assert True in flags and False in flags, s.id  # discovery rate and false alarms both mean something
        assert any(step.expect.rumor for step in s.timeline), s.id  # each has a 不实 claim


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
def test_every_shipped_scenario_renders_with_the_demo_firm(path, demo_firm):
    s = render(load_scenario(path), demo_firm)
    for step in s.timeline:
        for text in (step.post.title, step.post.text, step.post.source, step.post.author):
            assert "{" not in text and "}" not in text, text
        if step.expect.flag:
            assert "华鼎证券" in step.post.title + step.post.text
    assert "{" not in s.description


def test_a_real_firms_config_gets_its_own_name_not_the_demo_firms():
    firm = FirmConfig(
        name="东方明珠证券股份有限公司", short_names=["明珠证券"], executives=["赵立"], products=["明珠宝"]
    )
    for s in load_scenarios():
        text = " ".join(st.post.text + st.post.title for st in render(s, firm).timeline)
        assert "华鼎" not in text
        assert "明珠证券" in text
    exec_rumor = render(find_scenario("executive-rumor"), firm)
    assert any("赵立" in st.post.text for st in exec_rumor.timeline)


def test_times_are_read_as_minutes():
    assert parse_at("+0m") == 0
    assert parse_at("+5m") == 5
    assert parse_at("+90s") == 1.5
    assert parse_at("+1h") == 60
    assert parse_at(12) == 12


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    return p


GOOD_HEAD = "id: bad-one\nname: 测试场景\ntimeline:\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '  - at: "+0m"\n    post: {source: 微博}\n    expect: {flag: true}\n',
            "timeline[0].post.text（正文）：缺少必填项",
        ),
        (
            '  - at: "+0m"\n    post: {text: 华鼎证券, source: 微博}\n    expect: {flag: true, min_level: V}\n',
            "timeline[0].expect.min_level（最低级别）：应为 I、II、III、IV 之一",
        ),
        (
            '  - at: "soon"\n    post: {text: 华鼎证券, source: 微博}\n    expect: {flag: true}\n',
            "timeline[0].at（时间）",
        ),
        (
            '  - at: "+0m"\n    post: {text: 华鼎证券, source: 微博, reposts: -3}\n    expect: {flag: true}\n',
            "timeline[0].post.reposts（转发数）：不能为负数",
        ),
        (
            '  - at: "+0m"\n    post: {text: 华鼎证券, source: 微博}\n',
            "timeline[0].expect（预期）：缺少必填项",
        ),
        (
            '  - at: "+0m"\n    post: {text: "{company}出事了", source: 微博}\n    expect: {flag: true}\n',
            "未知占位符 {company}",
        ),
        (
            '  - at: "+5m"\n    post: {text: a, source: b}\n    expect: {flag: true}\n'
            '  - at: "+1m"\n    post: {text: a, source: b}\n    expect: {flag: true}\n',
            "时间线应按时间先后排列",
        ),
        (
            '  - at: "+0m"\n    post: {text: a, source: b, colour: red}\n    expect: {flag: true}\n',
            "timeline[0].post.colour：不认识的字段",
        ),
    ],
)
def test_a_malformed_scenario_is_refused_naming_the_field(tmp_path, body, expected):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_write(tmp_path, GOOD_HEAD + body))
    assert expected in str(err.value)
    assert str(err.value).startswith("bad.yaml：")


def test_broken_yaml_and_an_empty_timeline_are_refused(tmp_path):
    with pytest.raises(ScenarioError, match="YAML 格式错误"):
        load_scenario(_write(tmp_path, "id: x\nname: [unclosed\n"))
    with pytest.raises(ScenarioError, match=r"timeline（时间线）：不能为空"):
        load_scenario(_write(tmp_path, "id: empty-one\nname: 空\ntimeline: []\n"))
    with pytest.raises(ScenarioError, match="没有名为 nope 的演练场景"):
        find_scenario("nope")


def test_a_scenario_may_set_its_own_pass_marks(tmp_path):
    from playbooks.drills.runner import thresholds_of
    from playbooks.drills.scoring import Thresholds

    body = '  - at: "+0m"\n    post: {text: a, source: b}\n    expect: {flag: true}\n'
    s = load_scenario(
        _write(
            tmp_path,
            GOOD_HEAD.replace("timeline:", "thresholds: {max_time_to_acknowledge_s: 600}\ntimeline:") + body,
        )
    )
    t = thresholds_of(s)
    assert t.max_time_to_acknowledge_s == 600
    assert t.min_discovery_rate == Thresholds().min_discovery_rate  # the others keep the defaults
    with pytest.raises(ScenarioError, match=r"thresholds\.min_discovery_rate（最低发现率）：不能大于 1"):
        load_scenario(
            _write(
                tmp_path,
                GOOD_HEAD.replace("timeline:", "thresholds: {min_discovery_rate: 2}\ntimeline:") + body,
            )
        )
