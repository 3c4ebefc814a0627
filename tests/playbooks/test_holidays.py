"""The holiday calendar: what chinesecalendar and the XSHG exchange calendar say about 2025 and 2026."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from playbooks import holidays as H


def _by_name(year: int, name: str) -> H.Holiday:
    (found,) = [h for h in H.holidays_in(year) if name in h.name_cn]
    return found


def test_2025_national_day_and_mid_autumn_with_makeup_days():
    h = _by_name(2025, "国庆节")
    assert h.name_cn == "国庆节、中秋节"
    assert (h.start, h.end, h.days) == (date(2025, 10, 1), date(2025, 10, 8), 8)
    assert h.makeup_workdays == [date(2025, 9, 28), date(2025, 10, 11)]  # a Sunday and a Saturday
    assert h.exchange_closed_days == [date(2025, 10, 1) + timedelta(days=i) for i in range(8)]
    assert h.reopen == date(2025, 10, 9)


def test_2025_has_the_seven_holidays_in_order():
    names = [h.name_cn for h in H.holidays_in(2025)]
    assert names == ["元旦", "春节", "清明节", "劳动节", "端午节", "国庆节、中秋节"]
    spring = _by_name(2025, "春节")
    assert (spring.start, spring.end) == (date(2025, 1, 28), date(2025, 2, 4))
    assert spring.makeup_workdays == [date(2025, 1, 26), date(2025, 2, 8)]


def test_2026_as_the_package_publishes_it():
    h2026 = {h.name_cn: h for h in H.holidays_in(2026)}
    assert list(h2026) == ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]
    spring = h2026["春节"]
    assert (spring.start, spring.end, spring.days) == (date(2026, 2, 15), date(2026, 2, 23), 9)
    assert spring.makeup_workdays == [date(2026, 2, 14), date(2026, 2, 28)]
    # the make-up Saturday before the festival is an office day, but the exchange is already closed
    assert spring.exchange_closed_days[0] == date(2026, 2, 14)
    assert spring.reopen == date(2026, 2, 24)
    national = h2026["国庆节"]
    assert (national.start, national.end) == (date(2026, 10, 1), date(2026, 10, 7))
    assert national.makeup_workdays == [date(2026, 9, 20), date(2026, 10, 10)]
    assert national.reopen == date(2026, 10, 8)
    assert (h2026["中秋节"].start, h2026["中秋节"].end) == (date(2026, 9, 25), date(2026, 9, 27))
    new_year = h2026["元旦"]
    assert new_year.makeup_workdays == [date(2026, 1, 4)]
    assert new_year.exchange_closed_days == [date(2026, 1, d) for d in (1, 2, 3, 4)]


def test_exchange_is_closed_on_a_makeup_saturday_that_is_an_office_day():
    saturday = date(2025, 10, 11)
    assert saturday.weekday() == 5
    assert H.is_office_workday(saturday) is True
    assert H.is_exchange_open(saturday) is False
    assert H.is_exchange_open(date(2025, 10, 9)) is True  # the Thursday it reopens
    assert H.is_exchange_open(date(2025, 10, 3)) is False
    assert H.holiday_for(saturday) is None  # a working day, not part of the holiday


def test_exchange_calendar_knows_closures_the_office_calendar_does_not():
    # 除夕 2024-02-09 was an office working day; the exchanges did not trade
    assert H.is_office_workday(date(2024, 2, 9)) is True
    assert H.is_exchange_open(date(2024, 2, 9)) is False
    assert H.holiday_for(date(2024, 2, 9)).name_cn == "春节"


def test_next_holidays_from_a_fixed_date():
    found = H.next_holidays(date(2026, 9, 1), n=3)
    assert [h.name_cn for h in found] == ["中秋节", "国庆节"]  # the data ends with 2026
    assert found[0].days_left(date(2026, 9, 1)) == 24
    during = H.next_holidays(date(2025, 10, 3), n=2)
    assert [h.name_cn for h in during] == ["国庆节、中秋节", "元旦"]
    assert during[0].days_left(date(2025, 10, 3)) == 0
    assert during[1].start == date(2026, 1, 1)


def test_holiday_for_a_day_inside_and_outside():
    assert H.holiday_for(date(2026, 10, 5)).name_cn == "国庆节"
    assert H.holiday_for(date(2026, 9, 29)) is None


def test_an_unpublished_year_is_an_error_not_an_empty_calendar():
    first, last = H.covered_years()
    assert (first, last) == (2004, 2026)
    with pytest.raises(H.CalendarDataMissing, match="2027年的节假日安排尚未收录"):
        H.holidays_in(2027)
    with pytest.raises(H.CalendarDataMissing, match="2027年"):
        H.next_holidays(date(2026, 11, 22))
    with pytest.raises(H.CalendarDataMissing):
        H.is_exchange_open(date(2027, 3, 1))


def test_find_holiday_by_name_or_date():
    assert H.find_holiday("国庆", today=date(2025, 9, 1)).start == date(2025, 10, 1)
    assert H.find_holiday("国庆", today=date(2025, 11, 1)).start == date(2026, 10, 1)
    assert H.find_holiday("2026-02-15").name_cn == "春节"
    with pytest.raises(LookupError, match="找不到"):
        H.find_holiday("圣诞节")
