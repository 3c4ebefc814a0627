"""Which playbook an alert gets, and the step deadlines that follow from it."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import yaml

from playbooks.matcher import MatchResult, default_library, get_playbook, match, steps_with_deadlines
from playbooks.schema import PACKAGED_LIBRARY, parse_playbook

CST = timezone(timedelta(hours=8))
OPENED = datetime(2024, 10, 1, 9, 30, tzinfo=CST)


def alert(topic="其他", level="II", text="", falsity_label="none", **extra):
    return {"topic": topic, "level": level, "text": text, "falsity_label": falsity_label, **extra}


def _playbook(pid: str, **triggers):
    data = yaml.safe_load((PACKAGED_LIBRARY / "generic.yaml").read_text(encoding="utf-8"))
    data["id"], data["fallback"], data["triggers"] = pid, False, triggers
    return parse_playbook(data, f"{pid}.yaml")


# --------------------------------------------------------------------------- match


def test_app_login_outage_goes_to_outage_playbook():
    result = match(alert("交易系统故障", "II", "华鼎证券APP又登录不上了，一直闪退，开盘根本无法交易！"))
    assert isinstance(result, MatchResult)
    assert result.playbook.id == "trading-system-outage"
    assert "主题匹配：交易系统故障" in result.why
    assert any(w.startswith("命中关键词") and "闪退" in w for w in result.why)


def test_outage_keywords_match_even_when_topic_is_other():
    result = match(alert("其他", "III", "有人说华鼎证券APP无法登录吗？"))
    assert result.playbook.id == "trading-system-outage"


def test_rumor_alert_goes_to_false_information_playbook():
    result = match(alert("不实信息", "I", "网传华鼎证券被立案调查、即将暂停业务", "rumor"))
    assert result.playbook.id == "false-information"
    assert any("不实信息（rumor）" in w for w in result.why)


def test_falsity_label_alone_picks_false_information():
    result = match(alert("其他", "III", "华鼎证券总部今天搬家了", "rumor"))
    assert result.playbook.id == "false-information"
    assert match(alert("其他", "III", "华鼎证券总部今天搬家了", "none")).playbook.id == "generic"


def test_falsity_label_is_read_from_an_analysis_dict_too():
    post = {"topic": "其他", "level": "III", "text": "华鼎证券总部今天搬家了", "falsity": {"label": "rumor"}}
    assert match(post).playbook.id == "false-information"


def test_unrelated_alert_goes_to_generic():
    result = match(alert("其他", "II", "华鼎证券总部大楼外的广告牌被大风刮落"))
    assert result.playbook.id == "generic"
    assert result.score == 0
    assert result.why[0] == "未匹配到专项预案，使用通用预案"


def test_topic_outweighs_any_number_of_keyword_hits():
    text = "无法登录 闪退 宕机 崩了 系统故障 下单失败"
    result = match(alert("客户投诉", "II", text))
    assert result.playbook.id == "customer-complaints"
    assert ("trading-system-outage", 40) in result.alternatives


def test_min_level_is_respected():
    text = "多名客户在黑猫投诉反映客户经理诱导开通两融"
    assert match(alert("客户投诉", "III", text)).playbook.id == "customer-complaints"
    assert match(alert("客户投诉", "I", text)).playbook.id == "customer-complaints"
    low = match(alert("客户投诉", "IV", text))
    assert low.playbook.id == "generic"
    assert any("未达级别门槛" in w for w in low.why)
    assert match(alert("客户投诉", None, text)).playbook.id == "generic"


def test_level_below_min_level_lets_the_next_playbook_win():
    text = "客户投诉：APP无法登录"
    result = match(alert("客户投诉", "IV", text))
    assert result.playbook.id == "trading-system-outage"


def test_ties_break_on_topic_then_id_whatever_the_library_order():
    a = _playbook("a-playbook", keywords=["登录"])
    b = _playbook("b-playbook", keywords=["登录"])
    c = _playbook("c-playbook", topics=["其他"])
    for library in ([a, b], [b, a]):
        assert match(alert("交易系统故障", "II", "登录"), library).playbook.id == "a-playbook"
    # c scores 100 from its topic alone; a and b score 10 each from a keyword.
    assert match(alert("其他", "II", "登录"), [b, a, c]).playbook.id == "c-playbook"


def test_no_match_and_no_fallback_gives_none():
    only = _playbook("only", topics=["数据泄露"])
    assert match(alert("其他", "II", "无关内容"), [only]) is None
    assert match(alert("其他", "II", "无关内容"), []) is None


def test_alert_may_be_an_object_with_snippet_and_enum_level():
    class Level(enum.Enum):
        II = "II"

    obj = SimpleNamespace(
        topic="其他", level=Level.II, title="华鼎证券APP宕机", snippet="登录不上", falsity_label="none"
    )
    result = match(obj)
    assert result.playbook.id == "trading-system-outage"


def test_keywords_match_case_insensitively():
    pb = _playbook("ascii", keywords=["App Crash"])
    assert match(alert("其他", "II", "the APP CRASH again"), [pb]).playbook.id == "ascii"


def test_invalid_level_is_an_error():
    with pytest.raises(ValueError, match="level"):
        match(alert("其他", "V", "x"))


def test_match_is_deterministic():
    a = alert("交易系统故障", "I", "网传华鼎证券交易系统崩了是谣言吗", "rumor")
    results = {(r.playbook.id, r.score, tuple(r.why), r.alternatives) for r in (match(a) for _ in range(5))}
    assert len(results) == 1
    # A rumored outage is verified with IT first: the outage playbook leads, false-information follows.
    result = match(a)
    assert result.playbook.id == "trading-system-outage"
    assert result.alternatives[0][0] == "false-information"


def test_get_playbook():
    assert get_playbook("generic").fallback
    assert get_playbook("nope") is None
    assert {pb.id for pb in default_library()} >= {"generic", "false-information"}


# --------------------------------------------------------------------------- deadlines


def test_deadlines_are_computed_from_opened_at():
    outage = get_playbook("trading-system-outage")
    steps = steps_with_deadlines(outage, "I", OPENED)
    by_id = {s["id"]: s for s in steps}
    assert [s["order"] for s in steps] == list(range(1, len(steps) + 1))
    assert by_id["acknowledge"]["due_at"] == OPENED + timedelta(minutes=5)
    assert by_id["verify-with-it"]["due_at"] == OPENED + timedelta(minutes=10)
    assert by_id["holding-statement"]["due_at"] == OPENED + timedelta(minutes=30)
    assert by_id["regulator-report"]["due_at"] == OPENED + timedelta(minutes=60)
    assert by_id["regulator-report"]["external"] and by_id["regulator-report"]["requires_signoff"]
    assert by_id["verify-with-it"]["owner_role"] == "it"
    assert by_id["verify-with-it"]["owner_label"] == "信息技术"
    clocks = by_id["acknowledge"]["clocks"]
    assert clocks["acknowledge_within"] == 5
    assert clocks["acknowledge_by"] == OPENED + timedelta(minutes=5)
    assert clocks["regulator_report_by"] == OPENED + timedelta(hours=1)
    assert all(s["due_at"].tzinfo is CST for s in steps)


def test_steps_not_required_at_a_level_are_left_out():
    outage = get_playbook("trading-system-outage")
    level_iii = {s["id"]: s for s in steps_with_deadlines(outage, "III", OPENED)}
    assert "regulator-report" not in level_iii  # regulator_report_within is null at III
    assert "activate-emergency-plan" not in level_iii  # limited to I and II
    assert level_iii["acknowledge"]["clocks"]["regulator_report_by"] is None
    level_iv = {s["id"] for s in steps_with_deadlines(outage, "IV", OPENED)}
    assert "holding-statement" not in level_iv and "app-push" not in level_iv
    assert "acknowledge" in level_iv


def test_per_level_due_minutes():
    outage = get_playbook("trading-system-outage")
    for level, minutes in (("I", 10), ("II", 15), ("III", 20), ("IV", 30)):
        verify = next(s for s in steps_with_deadlines(outage, level, OPENED) if s["id"] == "verify-with-it")
        assert verify["due_minutes"] == minutes
        assert verify["due_at"] == OPENED + timedelta(minutes=minutes)


def test_deadlines_need_a_valid_level():
    with pytest.raises(ValueError, match="level"):
        steps_with_deadlines(get_playbook("generic"), None, OPENED)  # type: ignore[arg-type]
