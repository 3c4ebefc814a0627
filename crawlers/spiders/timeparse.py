"""Times as Chinese sites print them, relative ones included, against an explicit ``now``.

Lists and search results say "刚刚", "5分钟前", "今天 08:30", "昨天 21:05", "11-20 09:15" or give Unix
epochs (seconds or milliseconds); absolute dates go to :func:`crawlers.extract.parse_datetime`. ``now``
is a parameter so a crawl can run against a frozen clock (``YUQING_NOW``) and tests are repeatable.
Local times are Beijing time; the result is ISO 8601 with ``+08:00`` (or ``""`` when unparseable).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from crawlers.extract import CHINA_TZ, parse_datetime

__all__ = ["parse_now", "parse_site_time"]

_AGO = re.compile(r"^(\d+)\s*(秒|分钟|分|小时|天|周)(?:钟)?前$")
_UNIT = {"秒": "seconds", "分钟": "minutes", "分": "minutes", "小时": "hours", "天": "days", "周": "weeks"}
_DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$")
_NO_YEAR = re.compile(r"^(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?(?:\s+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$")
_CLOCK_ONLY = re.compile(r"^(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$")


def parse_now(value: str | None) -> datetime:
    """The crawl's "now": ``value`` (ISO 8601; naive = Beijing time) or the real clock."""
    if value:
        dt = datetime.fromisoformat(str(value))
        return dt if dt.tzinfo else dt.replace(tzinfo=CHINA_TZ)
    return datetime.now(CHINA_TZ)


def _iso(dt: datetime) -> str:
    return dt.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()


def _epoch(value: float) -> str:
    if value > 1e11:  # milliseconds (every post since 1973 in ms is > 1e11)
        value /= 1000.0
    if value <= 0:
        return ""
    return _iso(datetime.fromtimestamp(value, CHINA_TZ))


def parse_site_time(value: Any, now: datetime) -> str:
    """``value`` as printed by a site (or an epoch) → ISO 8601 (+08:00), relative to ``now``."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return _epoch(float(value))
    s = " ".join(str(value).split())
    if not s:
        return ""
    if re.fullmatch(r"\d{10}|\d{13}", s):
        return _epoch(float(s))
    local_now = now.astimezone(CHINA_TZ)
    if s in ("刚刚", "刚才"):
        return _iso(local_now)
    m = _AGO.match(s)
    if m:
        return _iso(local_now - timedelta(**{_UNIT[m[2]]: int(m[1])}))
    m = _DAY_WORD.match(s)
    if m:
        day = local_now - timedelta(days={"今天": 0, "昨天": 1, "前天": 2}[m[1]])
        return _iso(day.replace(hour=int(m[2]), minute=int(m[3]), second=int(m[4] or 0), microsecond=0))
    m = _CLOCK_ONLY.match(s)
    if m:  # a bare time is today's
        return _iso(local_now.replace(hour=int(m[1]), minute=int(m[2]), second=int(m[3] or 0), microsecond=0))
    m = _NO_YEAR.match(s)
    if m:
        try:
            dt = local_now.replace(
                month=int(m[1]),
                day=int(m[2]),
                hour=int(m[3] or 0),
                minute=int(m[4] or 0),
                second=int(m[5] or 0),
                microsecond=0,
            )
        except ValueError:
            return ""
        if dt > local_now + timedelta(days=1):  # "12-30" read on 1 January is last year's
            try:
                dt = dt.replace(year=dt.year - 1)
            except ValueError:  # 02-29 read in a year after a leap year
                return ""
        return _iso(dt)
    return parse_datetime(s)
