"""What every report shares: the errors, the firm's name, times and durations as people read them, a desk
user's name, the firm written under a stored report's signature line, and the Markdown templates.

Each report is built in two steps: a query step reads the records (and the posts index) and returns
plain values (dataclasses of str, int, date and datetime: no ORM rows), and a render step writes those
values as Markdown from a Jinja2 template under ``playbooks/reports/templates/`` (``playbooks.markdown``).
Autoescaping is off; every text that came from outside goes through the ``md`` filter (``wordfile.escape``)
in the template, exactly where the report needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy.orm import Session

from playbooks import people
from playbooks.markdown import template_environment
from playbooks.reports.wordfile import SIGNATURE_LINE, escape, unescape
from store.models import Report
from store.times import as_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ReportError(Exception):
    """A report that cannot be made or signed; the message is Chinese and shown as is."""


class ReportRefused(ReportError):
    """The rules forbid this report (a drill, a false positive)."""


class ReportConflict(ReportError):
    """Someone else signed the report first (两位负责人同时签发: one signs, the other is told)."""


def bj(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Beijing local time text; '—' when unknown (a text that is no time stays as it is)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if value else None
        except ValueError:
            return value
    dt = as_utc(value) if value else None
    return dt.astimezone(SHANGHAI).strftime(fmt) if dt else "—"


def duration(delta: timedelta) -> str:
    """A duration for people: 3 分钟, 1 小时 5 分, 2 天 4 小时 (the sign is dropped)."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {mins} 分" if mins else f"{hours} 小时"
    return f"{mins} 分钟"


def dur(delta: timedelta | None) -> str:
    """A duration for people (3 分钟, 1 小时 5 分); '—' when unknown."""
    return duration(delta) if delta is not None else "—"


def pct(part: int, whole: int) -> str:
    """12.5%; '—' of nothing."""
    return f"{part / whole:.1%}" if whole else "—"


def change(now: int, before: int) -> str:
    """+3 / -2 / 持平 (the day-on-day change)."""
    diff = now - before
    return "持平" if diff == 0 else f"{diff:+d}"


def level_text(level: str | None) -> str:
    """II 级; 未定级."""
    return f"{level} 级" if level else "未定级"


def firm_name(firm: Any) -> str:
    """The firm's full name from a name or the config's FirmConfig; ReportError when there is none."""
    name = getattr(firm, "name", firm)
    if not str(name or "").strip():
        raise ReportError("配置中没有公司全称（[firm] name），无法生成报告。")
    return str(name).strip()


def person(session: Session, username: str) -> str:
    """王晓明（wang） for a desk user with a display name; the username as it is otherwise."""
    return people.person_label(session, username)


def author_of(report: Report) -> str:
    """The firm name: the signature block's first line (the docx author is the firm, not a person)."""
    lines = [ln.strip() for ln in report.content_md.splitlines()]
    if SIGNATURE_LINE in lines:
        rest = [ln for ln in lines[lines.index(SIGNATURE_LINE) + 1 :] if ln]
        if rest:
            return unescape(rest[0])
    return ""


# --------------------------------------------------------------------------- templates


def md_join(items: Iterable[Any] | None, sep: str, limit: int | None = None) -> str:
    """The non-blank items, each escaped (and cut at ``limit``), joined by ``sep``."""
    return sep.join(escape(x, limit) for x in (items or []) if str(x).strip())


# the reports' filters: md = escape (every ASCII punctuation backslash-escaped, see wordfile)
REPORT_FILTERS: dict[str, Callable[..., Any]] = {
    "md": escape,
    "md_join": md_join,
    "bj": bj,
    "duration": duration,
    "dur": dur,
    "pct": pct,
    "change": change,
    "level_text": level_text,
}


@cache
def _environment() -> Environment:
    return template_environment("playbooks.reports", **REPORT_FILTERS)


def render(template: str, **values: Any) -> str:
    """The Markdown of a report template (``daily.md.j2`` …) for the given values."""
    return _environment().get_template(template).render(**values)
