"""`yuqing holidays` and `yuqing roster import|show`: the holiday calendar and the duty roster.

``yuqing holidays [--year Y]`` prints the holidays (the next three from today without --year) with
their closures and 调休 make-up working days.  ``yuqing roster import FILE --as ADMIN`` imports a CSV
(日期,开始,结束,岗位,用户名,电话,备注; all or nothing) as that admin, proven by their token or password
(yuqing/cli_auth.py).  ``yuqing roster show [--holiday NAME | --from D
--to D]`` prints the roster day by day and its gaps; exit status 1 when there are gaps.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from yuqing.cli_auth import acting_person, add_credential_args, auth_policy
from yuqing.cli_common import CliError

if TYPE_CHECKING:
    from playbooks.holidays import Holiday
    from yuqing.config import Settings

WEEKDAYS = "一二三四五六日"


class RosterCliError(Exception):
    """Printed as 错误 / error by the CLI, exit status 2."""


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD：{value}") from None


def add_parsers(sub) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    h = sub.add_parser("holidays", help="节假日与休市安排（含调休）/ the holiday calendar of the exchanges")
    h.add_argument(
        "--year", type=int, help="该年全部假期（默认：今天起的下三个假期）/ every holiday of a year"
    )
    h.add_argument("--today", type=_day, help="按此日期计算倒计时（默认今天）/ count the days from this date")
    r = sub.add_parser("roster", help="值班表：导入 CSV、查看及缺口 / the duty roster")
    rsub = r.add_subparsers(dest="roster_command", required=True)
    i = rsub.add_parser("import", help="导入值班表 CSV（日期,开始,结束,岗位,用户名,电话,备注）")
    i.add_argument("file", help="CSV 文件（UTF-8 或 GB18030）")
    add_credential_args(i, as_help="以该管理员身份（需其令牌或密码；默认当前系统用户名）/ acting admin")
    s = rsub.add_parser("show", help="查看值班表及缺口（有缺口时退出码 1）/ show the roster and its gaps")
    s.add_argument("--holiday", help="假期名称或开始日期（默认下一个假期）/ e.g. 国庆节, 2026-10-01")
    s.add_argument("--from", dest="date_from", type=_day, help="起始日期 YYYY-MM-DD")
    s.add_argument("--to", dest="date_to", type=_day, help="结束日期 YYYY-MM-DD（含）")
    s.add_argument("--today", type=_day, help=argparse.SUPPRESS)
    return h, r


def _d(day: date) -> str:
    return f"{day.isoformat()}（周{WEEKDAYS[day.weekday()]}）"


def describe_holiday(h: Holiday, today: date | None = None) -> list[str]:
    head = f"{h.name_cn}  {h.start.isoformat()} 至 {h.end.isoformat()}（共 {h.days} 天）"
    if today is not None:
        left = (h.start - today).days
        head += "  正在放假" if left <= 0 else f"  还有 {left} 天"
    closed = h.exchange_closed_days
    lines = [
        head,
        f"  休市：{closed[0].isoformat()} 至 {closed[-1].isoformat()}（{len(closed)} 天），{_d(h.reopen)}开市"
        if h.reopen
        else "",
    ]
    if h.makeup_workdays:
        lines.append(
            "  调休上班："
            + "、".join(_d(d) for d in h.makeup_workdays)
            + "（周末调休日照常上班，但交易所不开市）"
        )
    else:
        lines.append("  调休上班：无")
    return [x for x in lines if x]


def cmd_holidays(args: argparse.Namespace) -> int:
    from playbooks import holidays as H

    today = args.today or date.today()
    try:
        if args.year:
            found = H.holidays_in(args.year)
            print(f"{args.year} 年节假日与休市安排（chinesecalendar / 上交所日历）")
            shown_today = None
        else:
            found = H.next_holidays(today, n=3)
            print(f"今天 {_d(today)}，接下来的假期：")
            shown_today = today
    except H.CalendarDataMissing as exc:
        first, last = H.covered_years()
        raise RosterCliError(f"{exc}（可用 --year {last} 查看已收录的年份）") from exc
    for h in found:
        print("\n".join(describe_holiday(h, shown_today)))
    return 0


def _records(settings: Settings):
    from store.records import Records

    try:
        return Records(settings.store.resolved_records_url())
    except Exception as exc:  # noqa: BLE001 - say which database, not a traceback
        raise RosterCliError(f"无法打开记录库 / cannot open the records database: {exc}") from exc


def _range(args: argparse.Namespace) -> tuple[date, date, str]:
    from playbooks import holidays as H
    from playbooks.roster import holiday_days

    if args.date_from or args.date_to:
        start = args.date_from or args.date_to
        end = args.date_to or args.date_from
        return start, end, f"{start.isoformat()} 至 {end.isoformat()}"
    today = args.today or date.today()
    try:
        h = H.find_holiday(args.holiday, today=today) if args.holiday else H.next_holidays(today, n=1)[0]
    except (LookupError, H.CalendarDataMissing) as exc:
        raise RosterCliError(f"{exc}（也可用 --from/--to 指定日期）") from exc
    start, end = holiday_days(h)
    return start, end, f"{h.name_cn}（{start.isoformat()} 至 {end.isoformat()}）"


def cmd_roster(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from playbooks import roster as R
    from playbooks.authz import PermissionDenied
    from store.models import User

    records = _records(settings)
    try:
        if args.roster_command == "import":
            path = Path(args.file)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise RosterCliError(f"读不到文件 {path}：{exc.strerror}") from exc
            try:
                actor = acting_person(records, args, policy=auth_policy(settings))
            except CliError as exc:
                raise RosterCliError(str(exc)) from exc
            username = actor.username
            with records.session() as s:
                try:
                    entries = R.import_csv(s, actor, data, source=path.name)
                except (PermissionDenied, R.RosterError) as exc:
                    raise RosterCliError(str(exc)) from exc
            days = sorted({e.day for e in entries})
            span = f"（{days[0]} 至 {days[-1]}）" if days else ""
            print(f"已导入 {len(entries)} 条值班记录{span}，操作人 {username}")
            return 0
        start, end, title = _range(args)
        with records.session() as s:
            rows = R.entries_between(s, start, end)
            users = {u.username: u for u in s.scalars(select(User))}
            found = R.gaps(s, start, end)
            print(f"值班表：{title}")
            by_day: dict[str, list] = {}
            for e in rows:
                by_day.setdefault(e.day, []).append(e)
            day = start
            while day <= end:
                print(_d(day))
                for e in by_day.get(day.isoformat(), []):
                    user = users.get(e.username)
                    name = (user.display_name if user and user.display_name else "") or e.username
                    phone = R.contact_phone(e, user) or "无电话"
                    print(
                        f"  {R.DUTY_LABELS.get(e.duty, e.duty)}  {R.shift_text(e)}  {name}（{e.username}）{phone}"
                    )
                if not by_day.get(day.isoformat()):
                    print("  （无人排班）")
                day += timedelta(days=1)
            if found:
                print(f"缺口 {len(found)} 处：")
                for g in found:
                    print(f"  ⚠ {g.message}")
                return 1
            print("值班表完整：每天每个时段都有主班，每天有备班和带班负责人，均有联系电话。")
            return 0
    finally:
        records.dispose()
