"""The holiday calendar of the Chinese exchanges: statutory holidays, 调休 make-up days, closures.

Two maintained packages, each for what it knows best:

- ``chinesecalendar`` (module ``chinese_calendar``; 1.11.0 covers 2004–2026): the State Council's
  statutory holidays (法定节假日) with their names, and the 调休 make-up working days — weekend days
  on which offices work to pay for a bridge day.
- ``exchange_calendars`` (calendar ``XSHG``, the Shanghai Stock Exchange; 4.x records holidays to
  2026): which days are trading sessions.  The exchange is closed on every Saturday and Sunday, also
  on a 调休 make-up Saturday that is an office working day, and sometimes on days the office
  calendar does not list (2024-02-09, 除夕, was a working day but no session).  Where the exchange
  calendar does not reach, the rule "weekday and not a statutory holiday" stands in.

Where ``chinesecalendar`` has not published a year yet (the State Council announces the next year's
holidays around November), the calendar falls back, in this order, and every :class:`Holiday` says which
it came from (``basis``):

1. ``entered``: the notice entered by an admin — on the desk (节前准备, kept in the records database,
   :func:`use_desk_schedule`) or in the file ``[calendar] official_schedule_file`` names
   (:func:`load_official_schedule`); it counts exactly like the package's data (the exchange is taken
   to be closed on those holidays and on every weekend).
2. ``exchange``: the exchange calendar, where ``exchange_calendars`` already knows the year: weekdays
   without a session are the closures; their names are inferred from the month (元旦, 春节, …), and
   the 调休 make-up days are unknown.
3. nothing: :class:`CalendarDataMissing` with a Chinese message — never a silent "no holidays".

Days are Beijing calendar days (``datetime.date``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field

import chinese_calendar
from chinese_calendar import constants as cc_constants

log = logging.getLogger(__name__)

# chinese_calendar's English names → the Chinese names people use on the desk
NAMES_CN = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

# the State Council notice entered by an admin: date → holiday name (Chinese), the union of what came
# from the file (load_official_schedule) and from the desk (use_desk_schedule), by origin
_EXTRA_HOLIDAYS: dict[dt.date, str] = {}
_EXTRA_WORKDAYS: dict[dt.date, str] = {}
_ENTERED: dict[str, tuple[dict[dt.date, str], dict[dt.date, str]]] = {}

BASIS_LABELS = {
    "package": "国务院公布的安排（chinesecalendar {version}）",
    "entered": "管理员录入的国务院通知安排",
    "exchange": "交易所休市日历推定（exchange_calendars；名称按月份推定，调休上班日未知，国务院通知发布后请录入核对）",
}

# how far from a holiday block a 调休 make-up day may lie and still belong to it
_MAKEUP_REACH = dt.timedelta(days=45)


class CalendarDataMissing(LookupError):
    """The packages have no holiday data for the asked year (message in Chinese, for people)."""

    def __init__(self, year: int):
        first, last = covered_years()
        self.year = year
        super().__init__(
            f"{year}年的节假日安排尚未收录：当前日历数据只覆盖{first}–{last}年"
            f"（chinesecalendar {_cc_version()}）。请升级 chinesecalendar，或在国务院通知发布后"
            f"由管理员将当年安排录入 [calendar] official_schedule_file 指定的文件。"
        )


@dataclass(frozen=True)
class Holiday:
    name_cn: str  # "国庆节、中秋节"
    name_en: str  # "National Day & Mid-autumn Festival"
    start: dt.date  # first day off (statutory holiday period)
    end: dt.date  # last day off
    days: int  # calendar days from start to end
    makeup_workdays: list[dt.date] = field(default_factory=list)  # 调休上班 (often a weekend day)
    exchange_closed_days: list[dt.date] = field(default_factory=list)  # 休市 (incl. adjacent weekends)
    reopen: dt.date | None = None  # first trading session after the closure
    basis: str = "package"  # where the dates come from: package | entered | exchange (BASIS_LABELS)

    @property
    def basis_label(self) -> str:
        """Which calendar the dates come from, in Chinese (the readiness gate says it)."""
        return BASIS_LABELS.get(self.basis, self.basis).format(version=_cc_version())

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def label(self) -> str:
        """'国庆节、中秋节 2025-10-01 至 2025-10-08'"""
        return f"{self.name_cn} {self.start.isoformat()} 至 {self.end.isoformat()}"

    def days_left(self, today: dt.date) -> int:
        """Days until the holiday starts (0 on its first day and while it lasts)."""
        return max((self.start - today).days, 0)


def _cc_version() -> str:
    return getattr(chinese_calendar, "__version__", "?")


@functools.cache
def _holiday_days() -> dict[dt.date, str]:
    """Every statutory holiday day known: the package's, the exchange's closures in years only it knows,
    then the entered notice's."""
    package = {d: str(n) for d, n in cc_constants.holidays.items()}
    return {**package, **_exchange_only_days(), **_EXTRA_HOLIDAYS}


def package_years() -> tuple[int, int]:
    """(first, last) year chinesecalendar has the State Council's arrangement for."""
    return _package_years()


def _package_years() -> tuple[int, int]:
    years = [d.year for d in cc_constants.holidays]
    return min(years), max(years)


# the month of an exchange closure → the holiday it is, for years the office calendar does not know yet
_EXCHANGE_NAMES = {1: "元旦", 2: "春节", 4: "清明节", 5: "劳动节", 6: "端午节", 9: "中秋节", 10: "国庆节"}


@functools.cache
def _exchange_only_days() -> dict[dt.date, str]:
    """Weekday closures of the exchange in the years after the package's data (and not entered): the
    exchange calendar's word where it is the only one (names inferred from the month)."""
    known = _sessions()
    if known is None:
        return {}
    sessions, first, last = known
    _, package_last = _package_years()
    entered_years = {d.year for d in _EXTRA_HOLIDAYS}
    out: dict[dt.date, str] = {}
    day = max(first, dt.date(package_last + 1, 1, 1))
    while day <= last:
        if day.year not in entered_years and day.weekday() < 5 and day not in sessions:
            name = _EXCHANGE_NAMES.get(day.month, "休市")
            if day.month == 1 and day.day > 3:  # a long closure late in January is the Spring Festival
                name = "春节"
            out[day] = name
        day += dt.timedelta(days=1)
    return out


@functools.cache
def _workday_days() -> dict[dt.date, str]:
    """Every 调休 make-up working day known (weekend days on which offices work)."""
    return {**{d: str(n) for d, n in cc_constants.workdays.items()}, **_EXTRA_WORKDAYS}


def _holiday_name(day: dt.date) -> str | None:
    if day in _EXTRA_HOLIDAYS:
        return _EXTRA_HOLIDAYS[day]
    if day in _EXTRA_WORKDAYS:
        return _EXTRA_WORKDAYS[day]
    exchange = _exchange_only_days()
    if day in exchange:
        return exchange[day]
    try:
        return chinese_calendar.get_holiday_detail(day)[1]
    except NotImplementedError:
        return None


@functools.cache
def covered_years() -> tuple[int, int]:
    """(first, last) year with holiday data: the package's, any entered notice, and the years only the
    exchange calendar knows."""
    years = [d.year for d in cc_constants.holidays] + [d.year for d in _EXTRA_HOLIDAYS]
    known = _sessions()
    if known is not None:
        years.append(known[2].year)
    return min(years), max(years)


def _check_year(year: int) -> None:
    first, last = covered_years()
    if not first <= year <= last:
        raise CalendarDataMissing(year)


@functools.cache
def _xshg():
    """The XSHG calendar over the years both packages know, or None when it cannot be built."""
    try:
        import exchange_calendars as xcals

        first, last = _package_years()
        last = max([last, dt.date.today().year, *(d.year for d in _EXTRA_HOLIDAYS)])
        for end_year in range(last + 2, first, -1):  # as far as the installed package reaches
            try:
                return xcals.get_calendar("XSHG", start="2006-01-01", end=f"{end_year}-12-31")
            except Exception:  # noqa: BLE001 - the package says how far it reaches by refusing
                continue
    except ImportError:  # pragma: no cover - a base dependency
        log.warning("exchange_calendars is not installed; exchange sessions follow the office calendar")
    return None


@functools.cache
def _sessions() -> tuple[frozenset[dt.date], dt.date, dt.date] | None:
    cal = _xshg()
    if cal is None:
        return None
    sessions = frozenset(ts.date() for ts in cal.sessions)
    return sessions, cal.first_session.date(), cal.last_session.date()


def is_exchange_open(day: dt.date) -> bool:
    """Is ``day`` a trading session on the Shanghai exchange?  False on every weekend (also a
    调休 make-up Saturday) and on holidays.  Raises CalendarDataMissing beyond the packages' data."""
    if isinstance(day, dt.datetime):
        day = day.date()
    known = _sessions()
    if known is not None:
        sessions, first, last = known
        if first <= day <= last:
            return day in sessions
    _check_year(day.year)
    return day.weekday() < 5 and day not in _holiday_days()


def is_office_workday(day: dt.date) -> bool:
    """Is ``day`` an office working day (调休 make-up weekend days included)?"""
    _check_year(day.year)
    if day in _workday_days():
        return True
    return day.weekday() < 5 and day not in _holiday_days()


def _is_plain_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5 and day not in _workday_days()


def _blocks() -> list[list[dt.date]]:
    """Statutory holiday days grouped into periods (a gap of plain weekend days does not split)."""
    days = sorted(_holiday_days())
    blocks: list[list[dt.date]] = []
    for day in days:
        if blocks:
            prev = blocks[-1][-1]
            between = [prev + dt.timedelta(days=i) for i in range(1, (day - prev).days)]
            if all(_is_plain_weekend(b) for b in between):
                blocks[-1].append(day)
                continue
        blocks.append([day])
    return blocks


def _closure_around(start: dt.date, end: dt.date) -> list[dt.date]:
    """The contiguous run of non-session days that holds [start, end]."""

    def closed(day: dt.date) -> bool:
        try:
            return not is_exchange_open(day)
        except CalendarDataMissing:
            return False

    first, last = start, end
    while closed(first - dt.timedelta(days=1)):
        first -= dt.timedelta(days=1)
    while closed(last + dt.timedelta(days=1)):
        last += dt.timedelta(days=1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _reopen_after(day: dt.date) -> dt.date:
    nxt = day + dt.timedelta(days=1)
    for _ in range(30):
        try:
            if is_exchange_open(nxt):
                return nxt
        except CalendarDataMissing:  # beyond the data: the next weekday is the best guess
            if nxt.weekday() < 5:
                return nxt
        nxt += dt.timedelta(days=1)
    return nxt


@functools.cache
def _all_holidays() -> tuple[Holiday, ...]:
    blocks = _blocks()
    names_of = [[] for _ in blocks]
    for i, block in enumerate(blocks):
        for day in block:
            name = _holiday_name(day)
            if name and name not in names_of[i]:
                names_of[i].append(name)
    makeups: list[list[dt.date]] = [[] for _ in blocks]
    for day in sorted(_workday_days()):
        name = _holiday_name(day)
        if not name:
            continue
        best = None
        for i, block in enumerate(blocks):
            if name not in names_of[i]:
                continue
            distance = min(abs((day - block[0]).days), abs((day - block[-1]).days))
            if distance <= _MAKEUP_REACH.days and (best is None or distance < best[0]):
                best = (distance, i)
        if best is not None:
            makeups[best[1]].append(day)
    out = []
    exchange_days = _exchange_only_days()
    for i, block in enumerate(blocks):
        start, end = block[0], block[-1]
        closed = _closure_around(start, end)
        basis = (
            "entered"
            if any(d in _EXTRA_HOLIDAYS for d in block)
            else "exchange"
            if all(d in exchange_days for d in block)
            else "package"
        )
        out.append(
            Holiday(
                name_cn="、".join(NAMES_CN.get(n, n) for n in names_of[i]),
                name_en=" & ".join(names_of[i]),
                start=start,
                end=end,
                days=(end - start).days + 1,
                makeup_workdays=makeups[i],
                exchange_closed_days=closed,
                reopen=_reopen_after(closed[-1]),
                basis=basis,
            )
        )
    return tuple(out)


def holidays_in(year: int) -> list[Holiday]:
    """The holiday periods that start in ``year``.  CalendarDataMissing when it is not published."""
    _check_year(year)
    return [h for h in _all_holidays() if h.start.year == year]


def next_holidays(today: dt.date, n: int = 3) -> list[Holiday]:
    """The next ``n`` holidays that have not ended by ``today`` (one under way comes first).

    Returns fewer than ``n`` when the calendar data ends; raises CalendarDataMissing when it knows
    none at all (the next year's arrangement is not in the installed package yet)."""
    if isinstance(today, dt.datetime):
        today = today.date()
    found = [h for h in _all_holidays() if h.end >= today][:n]
    if not found:
        _, last = covered_years()
        raise CalendarDataMissing(max(today.year, last + 1))
    return found


def holiday_for(day: dt.date) -> Holiday | None:
    """The holiday ``day`` falls in (its statutory days or the exchange closure around them)."""
    if isinstance(day, dt.datetime):
        day = day.date()
    _check_year(day.year)
    for h in _all_holidays():
        if h.start <= day <= h.end or day in h.exchange_closed_days:
            return h
    return None


def find_holiday(name: str, today: dt.date | None = None) -> Holiday:
    """A holiday by (part of) its Chinese or English name — the next such one from ``today`` —
    or by its start date 'YYYY-MM-DD'.  LookupError (Chinese) when none matches."""
    name = (name or "").strip()
    try:
        day = dt.date.fromisoformat(name)
    except ValueError:
        day = None
    if day is not None:
        found = holiday_for(day)
        if found is None:
            raise LookupError(f"{name} 不在任何节假日内")
        return found
    today = today or dt.date.today()
    lowered = name.lower()
    candidates = [h for h in _all_holidays() if lowered in h.name_cn.lower() or lowered in h.name_en.lower()]
    upcoming = [h for h in candidates if h.end >= today]
    if upcoming:
        return upcoming[0]
    if candidates:
        return candidates[-1]
    raise LookupError(f"找不到名为“{name}”的节假日")


# --------------------------------------------------------------------------- an entered official notice


class ScheduleFileError(ValueError):
    """The official-schedule file cannot be used (message in Chinese, naming the entry)."""


def load_official_schedule(path) -> int:
    """Read the State Council notice an admin entered, for a year the package has not published yet.

    The file (TOML)::

        # 国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕…号）
        [[holiday]]
        name = "元旦"
        start = 2027-01-01
        end = 2027-01-03
        makeup_workdays = []            # 调休上班的日期

    Returns how many holiday periods it added; raises ScheduleFileError (Chinese) for a bad entry.
    The entered days replace nothing the package already knows for the same days; a later call
    replaces what an earlier call entered.
    """
    import tomllib
    from pathlib import Path

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScheduleFileError(f"找不到节假日安排文件：{p}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScheduleFileError(f"节假日安排文件 {p.name} 格式有误：{exc}") from exc
    entries = data.get("holiday") or []
    if not isinstance(entries, list) or not entries:
        raise ScheduleFileError(f"节假日安排文件 {p.name} 中没有 [[holiday]] 条目")
    holidays, workdays = parse_schedule(entries, "[[holiday]]")
    _use("file", holidays, workdays)
    log.info("official holiday schedule %s: %d periods, %d days", p, len(entries), len(holidays))
    return len(entries)


def use_desk_schedule(entries: list[dict]) -> int:
    """The notice as an admin entered it on the desk (name, start, end, makeup_workdays per holiday; the
    records database keeps it). Replaces what the desk entered before; returns how many holidays."""
    holidays, workdays = parse_schedule(entries, "录入的节假日") if entries else ({}, {})
    _use("desk", holidays, workdays)
    return len(entries)


def parse_schedule(entries: list, what: str) -> tuple[dict[dt.date, str], dict[dt.date, str]]:
    """(holiday day → name, make-up working day → name) of entered holidays; ScheduleFileError (Chinese)
    naming the first bad entry."""
    holidays: dict[dt.date, str] = {}
    workdays: dict[dt.date, str] = {}
    for i, e in enumerate(entries, start=1):
        where = f"第 {i} 个{what}"
        name = str(e.get("name") or "").strip() if isinstance(e, dict) else ""
        start, end = (e.get("start"), e.get("end")) if isinstance(e, dict) else (None, None)
        if not name:
            raise ScheduleFileError(f"{where}缺少名称（name）")
        if not isinstance(start, dt.date) or not isinstance(end, dt.date) or isinstance(start, dt.datetime):
            raise ScheduleFileError(f"{where}（{name}）的 start / end 须为日期，例如 2027-01-01")
        if end < start or (end - start).days > 14:
            raise ScheduleFileError(f"{where}（{name}）的日期范围不合理：{start} 至 {end}")
        for k in range((end - start).days + 1):
            holidays[start + dt.timedelta(days=k)] = name
        for w in e.get("makeup_workdays") or []:
            if not isinstance(w, dt.date) or w.weekday() < 5:
                raise ScheduleFileError(f"{where}（{name}）的调休上班日 {w} 须为周末日期")
            workdays[w] = name
    return holidays, workdays


def _use(origin: str, holidays: dict[dt.date, str], workdays: dict[dt.date, str]) -> None:
    _ENTERED[origin] = (holidays, workdays)
    _EXTRA_HOLIDAYS.clear()
    _EXTRA_WORKDAYS.clear()
    for days, extra in ((0, _EXTRA_HOLIDAYS), (1, _EXTRA_WORKDAYS)):
        known = cc_constants.holidays if days == 0 else cc_constants.workdays
        for entered in _ENTERED.values():
            extra.update({d: n for d, n in entered[days].items() if d not in known})
    _clear_caches()


def clear_file_schedule() -> None:
    """Forget the file's notice (a config without ``official_schedule_file``); the desk's stays."""
    _use("file", {}, {})


def clear_official_schedule() -> None:
    """Forget every entered notice, the file's and the desk's (tests; a config without the file)."""
    _ENTERED.clear()
    _EXTRA_HOLIDAYS.clear()
    _EXTRA_WORKDAYS.clear()
    _clear_caches()


def _clear_caches() -> None:
    for fn in (
        _holiday_days,
        _workday_days,
        covered_years,
        _xshg,
        _sessions,
        _all_holidays,
        _exchange_only_days,
    ):
        fn.cache_clear()
