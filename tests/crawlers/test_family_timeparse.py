"""Times as list and search pages print them, read against a fixed "now" (the crawl's frozen clock)."""

from __future__ import annotations

from datetime import datetime

import pytest

from crawlers.extract import CHINA_TZ
from crawlers.spiders.timeparse import parse_now, parse_site_time

NOW = datetime(2026, 11, 20, 10, 0, 0, tzinfo=CHINA_TZ)
NEW_YEAR = datetime(2027, 1, 1, 0, 30, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("刚刚", "2026-11-20T10:00:00+08:00"),
        ("30秒前", "2026-11-20T09:59:30+08:00"),
        ("5分钟前", "2026-11-20T09:55:00+08:00"),
        ("2小时前", "2026-11-20T08:00:00+08:00"),
        ("3天前", "2026-11-17T10:00:00+08:00"),
        ("今天 08:30", "2026-11-20T08:30:00+08:00"),
        ("昨天 21:05", "2026-11-19T21:05:00+08:00"),
        ("前天 16:00", "2026-11-18T16:00:00+08:00"),
        ("09:12", "2026-11-20T09:12:00+08:00"),
        ("11-18", "2026-11-18T00:00:00+08:00"),
        ("11-18 09:15", "2026-11-18T09:15:00+08:00"),
        ("11月18日 09:15", "2026-11-18T09:15:00+08:00"),
        ("2026年11月2日 18:05", "2026-11-02T18:05:00+08:00"),
        ("2026-11-19 17:20:00", "2026-11-19T17:20:00+08:00"),
        ("Wed Nov 18 09:15:00 +0800 2026", "2026-11-18T09:15:00+08:00"),
        (1795138200, "2026-11-20T09:30:00+08:00"),  # epoch seconds
        (1795138200000, "2026-11-20T09:30:00+08:00"),  # epoch milliseconds
        ("1795060800", "2026-11-19T12:00:00+08:00"),
        ("", ""),
        (None, ""),
        ("不久以前", ""),
        ("13-45", ""),
    ],
)
def test_site_times(value, expected):
    assert parse_site_time(value, NOW) == expected


def test_a_date_without_year_after_today_is_last_year():
    assert parse_site_time("12-30 23:00", NEW_YEAR) == "2026-12-30T23:00:00+08:00"
    assert parse_site_time("昨天 23:59", NEW_YEAR) == "2026-12-31T23:59:00+08:00"


def test_frozen_now():
    assert parse_now("2026-11-20T10:00:00+08:00") == NOW
    assert parse_now("2026-11-20T10:00:00") == NOW  # naive = Beijing time
    assert abs((parse_now(None) - datetime.now(CHINA_TZ)).total_seconds()) < 5
