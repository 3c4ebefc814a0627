"""节前准备 page (AppTest): a manager sees the next holiday, the days left and each check green or red with
its fix; 重新检查 runs the checks again; every check and the sign-off are in the audit trail; the sign-off
is offered only when every check passes; an officer gets neither the page nor the sign-off.

The store is the one the CLI tests prepare for 国庆 2026 (tests/yuqing/readiness_support.py); the page
reads the time through playbooks.readiness.clock, set here to three days before the holiday.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from streamlit.testing.v1 import AppTest

import playbooks.readiness
from desk.ui import escape_markdown
from store.models import AuditEntry, DrillRun, SourceRun
from tests.desk.conftest import APP, sign_in
from tests.yuqing.readiness_support import NOW, Bot, Prepared, prepare

PAGE = "views/readiness.py"
SIGN_OFF = "确认节前准备就绪"
RECHECK = "重新检查"


@pytest.fixture
def bot() -> Iterator[Bot]:
    b = Bot()
    yield b
    b.close()


@pytest.fixture
def prepared(config_file: Path, bot: Bot, monkeypatch) -> Prepared:
    monkeypatch.setattr(playbooks.readiness, "clock", lambda: NOW)
    return prepare(config_file, bot, monkeypatch)


def _open(role: str = "manager") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(at, None, role=role, username={"manager": "zhao", "officer": "wang", "admin": "root"}[role])
    at.run()
    return at.switch_page(PAGE).run()


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _audit(p: Prepared, action: str) -> list[tuple[str, bool | None, str]]:
    return p.session(
        lambda s: [
            (e.actor, e.detail.get("ready"), e.detail.get("via", ""))
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        ]
    )


def test_a_manager_sees_every_check_green_and_signs_off(prepared):
    at = _open()
    assert not at.exception
    assert [t.value for t in at.title] == ["节前准备"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"假期": "国庆节", "距假期开始": "3 天", "未通过的检查": "0"}
    assert at.main.success[0].value == "已就绪：全部 8 项检查通过。"
    shown = [s.value for s in at.main.success[1:]]
    assert len(shown) == 8 and all(v.startswith("**✓ ") for v in shown)
    assert not at.main.error
    assert _audit(prepared, "readiness.check") == [("zhao", True, "desk")]  # looking is recorded

    button = _button(at, SIGN_OFF)
    assert not button.disabled
    button.click().run()
    assert not at.exception
    assert "已确认国庆节节前准备就绪，并记入审计日志。" in [s.value for s in at.main.success]
    signed = prepared.session(
        lambda s: [
            (e.actor, e.entity_id, len(e.detail["checks"]))
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "readiness.signoff"))
        ]
    )
    assert signed == [("zhao", "国庆节 2026-10-01", 8)]
    assert any(i.value.startswith("最近一次确认：zhao 于 ") for i in at.main.info)
    table = at.dataframe[0].value
    assert list(table["动作"]) == ["确认就绪", "检查"]  # newest first


def test_a_failed_check_is_red_with_its_fix_and_blocks_the_sign_off(prepared):
    prepared.session(lambda s: s.execute(delete(DrillRun)))
    at = _open()
    assert not at.exception
    errors = [e.value for e in at.main.error]
    assert errors[0] == "未就绪：1 项检查未通过，请按下面的说明处理后重新检查。"
    assert errors[1].startswith("**✗ 最近一次演练通过**：尚无完成的演练记录")
    assert "处理：在「应急演练」页开始一次演练" in errors[1]
    assert len(errors) == 2  # only that check is red
    assert _button(at, SIGN_OFF).disabled
    assert _audit(prepared, "readiness.check") == [("zhao", False, "desk")]

    # the drill is run; 重新检查 turns the page green (the page does not check again on its own)
    prepared.session(
        lambda s: s.add(
            DrillRun(
                scenario_id="app-login-rumor",
                scenario_name="国庆期间APP无法登录传言",
                status="finished",
                started_at=NOW - timedelta(hours=2),
                finished_at=NOW - timedelta(hours=1),
                passed=True,
            )
        )
    )
    at.run()
    assert at.main.error  # still the last result until 重新检查
    _button(at, RECHECK).click().run()
    assert not at.main.error
    assert not _button(at, SIGN_OFF).disabled
    assert _audit(prepared, "readiness.check") == [("zhao", False, "desk"), ("zhao", True, "desk")]


def test_a_failed_channel_test_is_red_on_the_page_as_on_the_command_line(prepared):
    prepared.bot.failing = True
    prepared.test_channels(NOW - timedelta(hours=2))
    at = _open()
    red = [e.value for e in at.main.error][1:]
    assert len(red) == 1 and red[0].startswith("**✗ 通知通道已测试**：「wecom\\-duty」最近一次测试")
    assert "失败" in red[0] and "yuqing notify test \\-\\-channel wecom\\-duty" in red[0]
    assert _button(at, SIGN_OFF).disabled


def test_hostile_names_in_a_check_are_shown_as_text(prepared):
    prepared.edit_config('display_name = "证券观察报"', 'display_name = "<script>x</script>**粗**"')
    prepared.session(lambda s: s.execute(delete(SourceRun)))
    prepared.crawl(NOW - timedelta(hours=6))  # silent since: its name is in the red check
    at = _open()
    red = [e.value for e in at.main.error if "信息源健康" in e.value]
    assert red and escape_markdown("<script>x</script>**粗**") in red[0]
    assert "<script>" not in red[0] and "**粗**" not in red[0]


def test_an_officer_gets_neither_the_page_nor_the_sign_off(prepared):
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(at, None, role="officer", username="wang")
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
    page = AppTest.from_file(str(APP.parent / PAGE), default_timeout=60)
    sign_in(page, None, role="officer", username="wang")
    page.run()
    assert [e.value for e in page.main.error] == ["节前准备仅供负责人和管理员查看。"]
    assert not [b for b in page.button if b.label == SIGN_OFF]
    assert _audit(prepared, "readiness.check") == []


DECEMBER = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def december(desk_store, monkeypatch):
    """7 December 2026: chinesecalendar 1.11 and exchange_calendars know nothing of 2027 yet."""
    from playbooks import holidays

    monkeypatch.setattr(playbooks.readiness, "clock", lambda: DECEMBER)
    holidays.clear_official_schedule()
    yield desk_store
    holidays.clear_official_schedule()


def test_in_december_the_page_is_not_dead_an_admin_enters_the_notice_and_the_gate_says_so(december):
    at = _open("admin")
    assert not at.exception
    warned = " ".join(w.value for w in at.main.warning)
    assert "2027年的节假日安排尚未收录" in warned
    # the form to enter the notice is there, open
    at.text_input(key="desk.readiness.entry.name").input("元旦")
    at.date_input(key="desk.readiness.entry.start").set_value(date(2027, 1, 1))
    at.date_input(key="desk.readiness.entry.end").set_value(date(2027, 1, 3))
    at.text_input(key="desk.readiness.entry.note").input("国办发明电〔2026〕测试号")
    at.button(key="FormSubmitter:desk.readiness.entry-录入").click().run()
    assert not at.exception
    assert any("已录入元旦" in s.value for s in at.main.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["假期"] == "元旦" and metrics["距假期开始"] == "25 天"
    assert "节假日依据：管理员录入的国务院通知安排" in [c.value for c in at.main.caption]
    shown = [v.value for v in [*at.main.success, *at.main.error] if v.value.startswith(("**✓", "**✗"))]
    assert len(shown) == 8  # every check ran for the entered holiday
    entries = december.context()
    try:
        with entries.records.session() as s:
            rows = s.scalars(
                select(AuditEntry).where(AuditEntry.action.in_(["calendar.entered", "readiness.check"]))
            )
            seen = [(e.action, e.actor, e.detail.get("calendar_basis", "")) for e in rows]
    finally:
        entries.close()
    assert seen[0] == ("calendar.entered", "root", "")
    assert seen[-1] == ("readiness.check", "root", "管理员录入的国务院通知安排")


def test_in_december_a_manager_is_told_to_ask_an_admin(december):
    at = _open("manager")
    assert not at.exception
    assert any("尚未收录" in w.value for w in at.main.warning)
    assert any("需管理员账号" in i.value for i in at.main.info)
