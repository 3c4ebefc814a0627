"""When the State Council has published next year's holidays and chinesecalendar has not caught up, an
admin enters the notice in a file ([calendar] official_schedule_file) and it counts like the package's data.

The dates below are a made-up test notice, NOT the real 2027 arrangement.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from playbooks import holidays as H
from yuqing.cli import main

NOTICE = """
# a made-up test notice (not the real 2027 arrangement)
[[holiday]]
name = "元旦"
start = 2027-01-01
end = 2027-01-03

[[holiday]]
name = "春节"
start = 2027-02-06
end = 2027-02-13
makeup_workdays = [2027-02-20]
"""


@pytest.fixture(autouse=True)
def _forget_the_notice():
    H.clear_official_schedule()
    yield
    H.clear_official_schedule()


def _notice(tmp_path: Path, text: str = NOTICE) -> Path:
    path = tmp_path / "holidays-2027.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_the_notice_next_year_is_missing_and_the_message_says_what_to_do():
    with pytest.raises(H.CalendarDataMissing, match="official_schedule_file"):
        H.holidays_in(2027)


def test_an_entered_notice_gives_the_next_holidays_closures_and_makeup_days(tmp_path):
    assert H.load_official_schedule(_notice(tmp_path)) == 2
    nxt = H.next_holidays(dt.date(2026, 11, 22), n=2)
    assert [(h.name_cn, h.start, h.end) for h in nxt] == [
        ("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 3)),
        ("春节", dt.date(2027, 2, 6), dt.date(2027, 2, 13)),
    ]
    spring = nxt[1]
    assert spring.makeup_workdays == [dt.date(2027, 2, 20)]
    assert spring.reopen == dt.date(2027, 2, 15)  # 2-14 is a Sunday
    assert H.is_office_workday(dt.date(2027, 2, 20)) and not H.is_exchange_open(dt.date(2027, 2, 20))
    assert not H.is_exchange_open(dt.date(2027, 2, 8)) and H.is_exchange_open(dt.date(2027, 1, 4))
    assert H.find_holiday("春节", today=dt.date(2026, 11, 22)).start == dt.date(2027, 2, 6)
    H.clear_official_schedule()
    with pytest.raises(H.CalendarDataMissing):
        H.holidays_in(2027)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[holiday]]\nstart = 2027-01-01\nend = 2027-01-01\n", "缺少名称"),
        ('[[holiday]]\nname = "元旦"\nstart = "1月1日"\nend = 2027-01-01\n', "须为日期"),
        ('[[holiday]]\nname = "春节"\nstart = 2027-02-13\nend = 2027-02-06\n', "日期范围不合理"),
        (
            '[[holiday]]\nname = "春节"\nstart = 2027-02-06\nend = 2027-02-13\nmakeup_workdays = [2027-02-17]\n',
            "须为周末",
        ),
        ("name = 元旦", "格式有误"),
        ("", "没有"),
    ],
)
def test_a_bad_notice_is_refused_naming_the_problem_and_changes_nothing(tmp_path, text, message):
    with pytest.raises(H.ScheduleFileError, match=message):
        H.load_official_schedule(_notice(tmp_path, text))
    with pytest.raises(H.CalendarDataMissing):
        H.holidays_in(2027)


def test_the_configured_notice_is_used_by_the_command_line(config_file: Path, tmp_path: Path, capsys):
    _notice(tmp_path)
    config_file.write_text(
        config_file.read_text(encoding="utf-8")
        + '\n[calendar]\nofficial_schedule_file = "holidays-2027.toml"\n',
        encoding="utf-8",
    )
    assert main(["holidays", "--year", "2027"]) == 0
    out = capsys.readouterr().out
    assert "元旦" in out and "春节" in out and "2027-02-20" in out


def test_where_only_the_exchange_knows_a_year_its_closures_are_the_holidays_and_say_so(monkeypatch):
    """As if chinesecalendar stopped at 2025 while exchange_calendars knows 2026: the closures of 2026 are
    the holidays (named from the month), marked as the exchange's word; an entered notice wins over it."""
    monkeypatch.setattr(
        H.cc_constants, "holidays", {d: n for d, n in H.cc_constants.holidays.items() if d.year < 2026}
    )
    monkeypatch.setattr(
        H.cc_constants, "workdays", {d: n for d, n in H.cc_constants.workdays.items() if d.year < 2026}
    )
    H.clear_official_schedule()
    (national,) = [h for h in H.next_holidays(dt.date(2026, 9, 1), 3) if h.start.month == 10]
    assert national.name_cn == "国庆节" and national.basis == "exchange"
    assert national.start == dt.date(2026, 10, 1) and national.reopen == dt.date(2026, 10, 8)
    assert "交易所休市日历推定" in national.basis_label
    spring = [h for h in H.holidays_in(2026) if h.name_cn == "春节"]
    assert spring and spring[0].basis == "exchange"

    H.use_desk_schedule(
        [{"name": "国庆节、中秋节", "start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 8)}]
    )
    entered = [h for h in H.holidays_in(2026) if h.start == dt.date(2026, 10, 1)]
    assert entered[0].basis == "entered" and entered[0].name_cn == "国庆节、中秋节"
    assert entered[0].basis_label == "管理员录入的国务院通知安排"
