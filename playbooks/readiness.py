"""节前准备: the readiness gate before a holiday. Is the desk ready to run with a thin crew?

:func:`check_readiness` runs a list of small checks, each one explainable on its own; the desk is ready
only when every one passes. Each failing check says in Chinese what is wrong (``detail_cn``) and what
to do about it (``fix_cn``). The checks:

- 值班表完整: the roster has no gap on any day of the holiday or the exchange closure around it: a
  primary every hour, a backup and a manager each day, all active users with a phone
  (``playbooks.roster.roster_complete``).
- 信息源健康: every enabled source is neither silent nor failing (store/health.py); no enabled source at
  all is a failure (the desk would be blind).
- 最近一次演练通过: the latest finished drill (``playbooks.drills.runs.latest_finished``) passed and finished no more than
  ``[readiness] drill_max_age_days`` before the holiday starts.
- 通知通道已测试: every configured channel (``[[notify.channels]]``) had a successful test
  (``yuqing notify test``) within ``[readiness] channel_test_max_age_days``; no channel at all fails
  (nobody would be told).
- 负责人与管理员: at least one active manager and one active admin.
- 预案库可加载: the playbook library loads and holds at least one playbook.
- 升级链可达: every tier of ``[escalation] chain`` names someone active (``owner`` always resolves: the
  record's owner).
- 帖子索引可访问: the posts index answers.

The records database itself must answer, or nothing can be checked: :class:`ReadinessError` (the CLI
exits 2). Who looked and what they saw goes into the audit trail (:func:`record_check`); a manager's
sign-off (:func:`sign_off`) is allowed only when every check passes, and is audited too.

What the gate looks at comes in one :class:`ReadinessParts`, which the composition root builds from its
settings and running parts (``yuqing.context.Context.readiness_parts``); this room imports nothing above it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from playbooks.authz import Actor, require
from playbooks.chain import entry_label
from playbooks.drills.runs import latest_finished
from playbooks.notify.deliver import last_channel_tests
from playbooks.roster import DUTY_LABELS, holiday_days, roster_complete
from playbooks.schema import Playbook
from store.health import HealthRules, WatchedSource, source_health
from store.models import ROLES, AuditEntry, User
from store.records import audit
from store.times import as_utc

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUDIT_ENTITY = "readiness"
CHECK_ACTION = "readiness.check"
SIGNOFF_ACTION = "readiness.signoff"
# a sign-off is a manager's statement, like signing a report: 负责人 and 管理员
SIGNOFF_PERMISSION = "report.sign"
ROLE_NAMES = {"officer": "值班员", "manager": "负责人", "admin": "管理员"}
ROSTER_FIX = "在「假期与值班」页添加，或运行 yuqing roster import"


class ReadinessError(Exception):
    """Nothing can be checked (the records database does not answer, no holiday found); Chinese message."""


class HolidayLike(Protocol):
    name_cn: str
    start: date
    end: date


class NamedChannel(Protocol):
    """A configured notification channel (``yuqing.config.NotifyChannelConfig`` is one)."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class ReadinessParts:
    """What the gate looks at. The parts that may be down are reached through callables, so a records
    database that does not answer becomes a ReadinessError inside the check (a posts index that does not,
    a failed check), not an error while the parts are handed over."""

    session: Callable[[], AbstractContextManager[Session]]  # a records transaction
    count_posts: Callable[[], int]  # the posts index's count
    reload_playbooks: Callable[[], Sequence[Playbook]]  # the library as its files are now
    playbook_dir: Path
    sources: Sequence[WatchedSource]  # [[sources]]
    health: HealthRules  # [health]
    channels: Sequence[NamedChannel]  # [[notify.channels]]
    chain: Sequence[str]  # [escalation] chain
    drill_max_age_days: float  # [readiness]
    channel_test_max_age_days: float


@dataclass(frozen=True)
class Check:
    key: str  # stable English id: roster, sources, drill, channels, people, playbooks, chain, posts_index
    name_cn: str
    ok: bool
    detail_cn: str
    fix_cn: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name_cn,
            "ok": self.ok,
            "detail": self.detail_cn,
            "fix": self.fix_cn,
        }


@dataclass
class Readiness:
    ready: bool
    holiday: Any  # a playbooks.holidays.Holiday (name_cn, start, end) or None
    checks: list[Check] = field(default_factory=list)
    checked_at: datetime | None = None

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def basis(self) -> str:
        """Which calendar the holiday's dates come from, in Chinese (the gate says it)."""
        return calendar_basis(self.holiday)

    def days_left(self) -> int | None:
        """Whole days from today (Beijing) to the holiday's first day; 0 on the day, negative during it."""
        if self.holiday is None or self.checked_at is None:
            return None
        return (self.holiday.start - beijing_day(self.checked_at)).days

    def to_dict(self) -> dict[str, Any]:
        h = self.holiday
        return {
            "ready": self.ready,
            "holiday": None
            if h is None
            else {"name": h.name_cn, "start": h.start.isoformat(), "end": h.end.isoformat()},
            "days_left": self.days_left(),
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "calendar_basis": self.basis,
            "checks": [c.to_dict() for c in self.checks],
        }


def calendar_basis(holiday: Any) -> str:
    """「国务院公布的安排（chinesecalendar 1.11.0）」, 「管理员录入的国务院通知安排」 or the exchange's word."""
    label = getattr(holiday, "basis_label", "")
    return str(label or "")


# ----------------------------------------------------------------------------- helpers


def clock() -> datetime:
    """Now, in UTC: what the desk page checks against (one place to read the time)."""
    return datetime.now(UTC)


def beijing_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def holiday_label(h: HolidayLike) -> str:
    if h.start == h.end:
        return f"{h.name_cn}（{_md(h.start)}）"
    return f"{h.name_cn}（{_md(h.start)}至{_md(h.end)}）"


def holiday_key(h: HolidayLike) -> str:
    """What the audit trail files a check or sign-off under: 国庆节 2026-10-01."""
    return f"{h.name_cn} {h.start.isoformat()}"[:40]


def _fmt_at(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.0f} 天" if days >= 1 else "不到 1 天"


# ----------------------------------------------------------------------------- the holiday


def find_holiday(today: date, name: str | None = None) -> HolidayLike:
    """The next holiday from today (Beijing; one under way counts), or the one ``name`` names (part of its
    Chinese or English name, or its start date YYYY-MM-DD); ReadinessError (Chinese) when there is none."""
    from playbooks import holidays

    try:
        if name and name.strip():
            return holidays.find_holiday(name.strip(), today)
        return holidays.next_holidays(today, 1)[0]
    except LookupError as exc:  # CalendarDataMissing too: its message says to upgrade chinesecalendar
        raise ReadinessError(str(exc.args[0]) if exc.args else str(exc)) from exc


# ----------------------------------------------------------------------------- the checks


def _roster_check(session, holiday: HolidayLike) -> tuple[Check, list[Any]]:
    """(the check, the roster's gaps): the chain check reads the gaps for its ``duty:`` tiers."""
    complete, found = roster_complete(session, holiday)
    name = "值班表完整"
    if complete:
        first, last = holiday_days(holiday)
        days = (last - first).days + 1
        return Check("roster", name, True, f"{_md(first)}至{_md(last)} 共 {days} 天均已排班"), []
    by_day: dict[date, list[str]] = {}
    for gap in found:
        by_day.setdefault(gap.day, []).append(_gap_text(gap))
    days = list(by_day)
    shown = "；".join(f"{_md(d)} " + "、".join(by_day[d]) for d in days[:4])
    more = f"；等共 {len(days)} 天 {len(found)} 处" if len(days) > 4 else ""
    return Check("roster", name, False, shown + more, ROSTER_FIX), list(found)


def _gap_text(gap: Any) -> str:
    """缺带班负责人: the roster's own message without its day (the days are grouped)."""
    return gap.message.removeprefix(gap.day.isoformat()).strip()


def _sources_check(parts: ReadinessParts, now: datetime) -> Check:
    name = "信息源健康"
    enabled = [s for s in parts.sources if s.enabled]
    if not enabled:
        return Check(
            "sources",
            name,
            False,
            "没有启用的信息源：假期中值守台将看不到任何内容",
            "在 yuqing.toml 的 [[sources]] 中配置并启用信息源，然后运行 yuqing crawl",
        )
    with parts.session() as session:
        health = source_health(session, sources=parts.sources, rules=parts.health, now=now)
    flagged = [h for h in health if h.enabled and h.flagged]
    if not flagged:
        return Check("sources", name, True, f"{len(enabled)} 个启用的信息源均正常")
    detail = "；".join(f"{h.label}：{h.status}（{'，'.join(h.reasons[:2])}）" for h in flagged[:6])
    return Check(
        "sources",
        name,
        False,
        f"{len(flagged)} 个信息源异常：{detail}",
        "在「信息源健康」页查看原因，修复后运行 yuqing crawl --source 名称 确认恢复",
    )


def _drill_check(session, *, reference: datetime, max_age_days: float) -> Check:
    name = "最近一次演练通过"
    run = latest_finished(session)
    fix = "在「应急演练」页开始一次演练，或运行 yuqing drill list 后 yuqing drill run 场景编号"
    if run is None:
        return Check("drill", name, False, "尚无完成的演练记录", fix)
    finished = run.finished_at or run.started_at
    what = f"「{run.scenario_name or run.scenario_id}」（{_fmt_at(finished)} 完成）"
    age = reference - finished
    if not run.passed:
        return Check(
            "drill",
            name,
            False,
            f"最近一次演练{what}未通过",
            f"查看演练报告（yuqing drill report {run.id}），改进后重新演练：" + fix,
        )
    if age > timedelta(days=max_age_days):
        return Check(
            "drill",
            name,
            False,
            f"最近一次演练{what}距假期已 {_days(age)}，超过 {max_age_days:g} 天",
            "假期前重新演练：" + fix,
        )
    return Check("drill", name, True, f"最近一次演练{what}已通过")


def _channels_check(
    channels: Sequence[NamedChannel], session, *, now: datetime, max_age_days: float
) -> Check:
    name = "通知通道已测试"
    if not channels:
        return Check(
            "channels",
            name,
            False,
            "没有配置通知通道：超时和严重预警将无人收到",
            "在 yuqing.toml 的 [[notify.channels]] 中配置通道（见 docs/notifications.md），再运行 yuqing notify test",
        )
    tests = last_channel_tests(session)
    problems = []
    for ch in channels:
        last = tests.get(ch.name)
        if last is None:
            problems.append(f"「{ch.name}」从未测试")
            continue
        at, ok = last
        if not ok:
            problems.append(f"「{ch.name}」最近一次测试（{_fmt_at(at)}）失败")
        elif now - at > timedelta(days=max_age_days):
            problems.append(f"「{ch.name}」上次测试成功在 {_fmt_at(at)}，已超过 {max_age_days:g} 天")
    if problems:
        names = " ".join(
            f"--channel {ch.name}" for ch in channels if any(f"「{ch.name}」" in p for p in problems)
        )
        return Check(
            "channels", name, False, "；".join(problems), f"运行 yuqing notify test {names} 并确认收到"
        )
    return Check("channels", name, True, f"{len(channels)} 个通知通道在 {max_age_days:g} 天内测试成功")


def _people_check(session) -> Check:
    counts = {r: 0 for r in ROLES}
    for user in session.scalars(select(User).where(User.active)):
        counts[user.role] = counts.get(user.role, 0) + 1
    missing = [ROLE_NAMES[r] for r in ("manager", "admin") if not counts.get(r)]
    name = "负责人与管理员"
    if missing:
        return Check(
            "people",
            name,
            False,
            "没有启用的" + "和".join(missing) + "账号",
            "运行 yuqing user add 用户名 --role manager|admin，或在「用户管理」页启用账号",
        )
    return Check("people", name, True, f"负责人 {counts['manager']} 人，管理员 {counts['admin']} 人")


def _playbooks_check(parts: ReadinessParts) -> Check:
    name = "预案库可加载"
    try:
        library = parts.reload_playbooks()
    except Exception as exc:  # PlaybookError, an unreadable directory
        return Check(
            "playbooks", name, False, f"预案库无法加载：{exc}"[:300], "在「预案库」页修正出错的预案文件"
        )
    if not library:
        return Check(
            "playbooks", name, False, f"预案库（{parts.playbook_dir}）中没有预案", "在「预案库」页添加预案"
        )
    return Check("playbooks", name, True, f"已加载 {len(library)} 个预案")


def _chain_check(chain: Sequence[str], session, roster_gaps: Sequence[Any]) -> Check:
    name = "升级链可达"
    active = list(session.scalars(select(User).where(User.active)))
    empty = []
    described = []
    for tier, entry in enumerate(chain):
        if entry == "owner":
            described.append(f"第 {tier} 级 承办人")
            continue
        if entry.startswith("duty:"):  # whoever the roster has on that duty: every day must have one
            duty = entry.removeprefix("duty:")
            missing = sorted({g.day for g in roster_gaps if g.duty == duty and g.kind.startswith("no_")})
            if missing:
                days = "、".join(_md(d) for d in missing[:5]) + (" 等" if len(missing) > 5 else "")
                empty.append(f"第 {tier} 级「{entry_label(entry)}」在 {days} 无人值{DUTY_LABELS[duty]}")
            else:
                described.append(f"第 {tier} 级 {entry_label(entry)}（按值班表）")
            continue
        if entry.startswith("role:"):
            people = [u for u in active if u.role == entry.removeprefix("role:")]
        else:
            people = [u for u in active if u.username == entry]
        if people:
            described.append(f"第 {tier} 级 {entry_label(entry)}（{len(people)} 人）")
        else:
            empty.append(f"第 {tier} 级「{entry_label(entry)}」没有可通知的启用账号")
    if empty:
        return Check(
            "chain",
            name,
            False,
            "；".join(empty),
            "添加或启用对应账号（yuqing user add / 「用户管理」页），或修改 yuqing.toml 的 [escalation] chain",
        )
    return Check("chain", name, True, "；".join(described))


def _posts_index_check(count_posts: Callable[[], int]) -> Check:
    name = "帖子索引可访问"
    try:
        total = count_posts()
    except Exception as exc:  # StoreUnavailable, an Elasticsearch that does not answer
        return Check(
            "posts_index",
            name,
            False,
            f"帖子索引无法访问：{exc}"[:300],
            "检查 [store] 配置与存储服务（Elasticsearch / 存储文件）是否可用",
        )
    return Check("posts_index", name, True, f"帖子索引可访问，共 {total} 条")


# ----------------------------------------------------------------------------- the gate


def check_readiness(
    parts: ReadinessParts,
    *,
    holiday: HolidayLike | None = None,
    now: datetime | None = None,
) -> Readiness:
    """Every check for ``holiday`` (default: the next one) as of ``now``. Raises ReadinessError when the
    records database does not answer."""
    now = as_utc(now or datetime.now(UTC))
    if holiday is None:
        holiday = find_holiday(beijing_day(now))
    start = datetime.combine(holiday.start, time(0), tzinfo=SHANGHAI).astimezone(UTC)
    reference = max(now, start)  # the drill must be recent when the holiday begins
    try:
        with parts.session() as session:
            session.execute(text("SELECT 1"))
            roster, roster_gaps = _roster_check(session, holiday)
            checks = [
                roster,
                _drill_check(session, reference=reference, max_age_days=parts.drill_max_age_days),
                _channels_check(
                    parts.channels, session, now=now, max_age_days=parts.channel_test_max_age_days
                ),
                _people_check(session),
                _chain_check(parts.chain, session, roster_gaps),
            ]
    except ReadinessError:
        raise
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        from store.records import RecordsUnavailable

        if isinstance(exc, SQLAlchemyError | RecordsUnavailable):
            raise ReadinessError(f"记录库无法访问，无法检查节前准备：{exc}"[:400]) from exc
        raise
    checks.insert(1, _sources_check(parts, now))
    checks.append(_playbooks_check(parts))
    checks.append(_posts_index_check(parts.count_posts))
    return Readiness(ready=all(c.ok for c in checks), holiday=holiday, checks=checks, checked_at=now)


def record_check(session: Session, result: Readiness, *, actor: str, via: str) -> None:
    """The audit trail keeps who looked, when and what they saw (the regulator asks for the evidence)."""
    audit(
        session,
        actor=actor,
        action=CHECK_ACTION,
        entity=AUDIT_ENTITY,
        entity_id=holiday_key(result.holiday),
        ready=result.ready,
        via=via,
        checked_at=result.checked_at.isoformat() if result.checked_at else None,
        calendar_basis=result.basis,
        failed=[c.name_cn for c in result.failed],
        checks=[c.to_dict() for c in result.checks],
    )


def sign_off(
    parts: ReadinessParts,
    actor: Actor | None,
    *,
    holiday: HolidayLike | None = None,
    now: datetime | None = None,
    check: Callable[..., Readiness] = check_readiness,
) -> Readiness:
    """A manager's 确认节前准备就绪: checked again here (not trusted from a page), refused unless ready."""
    from playbooks.authz import PermissionDenied

    actor = require(actor, SIGNOFF_PERMISSION)
    result = check(parts, holiday=holiday, now=now)
    if not result.ready:
        names = "、".join(c.name_cn for c in result.failed)
        raise PermissionDenied(f"尚有未通过的检查（{names}），不能确认节前准备就绪。")
    with parts.session() as session:
        audit(
            session,
            actor=actor.username,
            action=SIGNOFF_ACTION,
            entity=AUDIT_ENTITY,
            entity_id=holiday_key(result.holiday),
            holiday=result.holiday.name_cn,
            start=result.holiday.start.isoformat(),
            end=result.holiday.end.isoformat(),
            calendar_basis=result.basis,
            checked_at=result.checked_at.isoformat() if result.checked_at else None,
            checks=[c.to_dict() for c in result.checks],
        )
    return result


def history(session: Session, holiday: HolidayLike, *, limit: int = 20) -> list[AuditEntry]:
    """The checks and sign-offs recorded for ``holiday``, newest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == AUDIT_ENTITY, AuditEntry.entity_id == holiday_key(holiday))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


def days_left_text(result: Readiness) -> str:
    """还有 3 天 / 今天开始 / 假期中 / 已结束."""
    left = result.days_left()
    if left is None:
        return ""
    if left > 0:
        return f"还有 {left} 天"
    if left == 0:
        return "今天开始"
    today = beijing_day(result.checked_at)
    return "假期中" if today <= result.holiday.end else "已结束"


def render_text(result: Readiness) -> Sequence[str]:
    """The lines `yuqing readiness` prints: the holiday, each check ✓/✗ with its detail and fix."""
    lines = []
    lines.append(f"节前准备检查：{holiday_label(result.holiday)}，{days_left_text(result)}")
    if result.basis:
        lines.append(f"节假日依据：{result.basis}")
    for c in result.checks:
        lines.append(f"{'✓' if c.ok else '✗'} {c.name_cn}：{c.detail_cn}")
        if not c.ok and c.fix_cn:
            lines.append(f"    处理：{c.fix_cn}")
    if result.ready:
        lines.append("结论：已就绪。")
    else:
        lines.append(f"结论：未就绪（{len(result.failed)} 项未通过）。")
    return lines
