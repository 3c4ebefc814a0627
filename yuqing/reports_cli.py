"""`yuqing report daily|holiday`: the daily brief (舆情日报) and the post-holiday summary (假期舆情工作总结).

`yuqing report daily [--date D] --output F.docx|F.md [--as USER] [--token-file F | --password-stdin]`
`yuqing report holiday (--holiday NAME --year Y | --from D --to D) --output F.docx|F.md [--as USER] …`

The report is generated and kept (a new ``Report`` row, audited) by the acting manager, proven by their
token or password (yuqing/cli_auth.py); the file written
is the .docx or the Markdown, by the output's suffix. Sign it with `yuqing report sign --report N`.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from yuqing.cli_auth import add_credential_args

AS_HELP = "以该负责人身份（需其令牌或密码；默认当前系统用户名）/ acting manager (their token or password)"
OUTPUT_HELP = "输出文件，.docx 或 .md / the .docx or .md file to write"


class ReportUsageError(Exception):
    """Arguments that do not make a report; the message is Chinese."""


def add_parsers(rsub: Any, func: Any) -> None:
    """The `daily` and `holiday` sub-commands under `yuqing report`."""
    r = rsub.add_parser("daily", help="舆情日报（某个北京日）/ the daily brief for one Beijing day")
    r.add_argument("--date", type=_day, help="日期 YYYY-MM-DD（默认今天，北京时间）/ the day (default today)")
    r.add_argument("--output", required=True, help=OUTPUT_HELP)
    add_credential_args(r, as_help=AS_HELP)
    r.set_defaults(func=func)
    r = rsub.add_parser("holiday", help="假期舆情工作总结 / the post-holiday summary")
    r.add_argument("--holiday", help="节假日名称，如 国庆 / the holiday's name, e.g. 国庆 or Spring Festival")
    r.add_argument("--year", type=int, help="年份 / the year")
    r.add_argument("--from", dest="first", type=_day, help="开始日期 YYYY-MM-DD / first day")
    r.add_argument("--to", dest="last", type=_day, help="结束日期 YYYY-MM-DD / last day")
    r.add_argument("--output", required=True, help=OUTPUT_HELP)
    add_credential_args(r, as_help=AS_HELP)
    r.set_defaults(func=func)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD：{text}") from exc


def output_kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".docx", ".md"):
        raise ReportUsageError(f"输出文件应以 .docx 或 .md 结尾：{path}")
    return suffix[1:]


def period(args: argparse.Namespace):
    """The holiday summary's period from --holiday/--year or --from/--to."""
    from playbooks.reports import period_between, period_for_holiday

    by_name = args.holiday is not None or args.year is not None
    by_dates = args.first is not None or args.last is not None
    if by_name == by_dates:
        raise ReportUsageError("请用 --holiday 名称 --year 年份，或 --from 日期 --to 日期 指定假期（二选一）")
    if by_name:
        if not args.holiday or args.year is None:
            raise ReportUsageError("--holiday 与 --year 须同时给出")
        return period_for_holiday(args.holiday, args.year)
    if args.first is None or args.last is None:
        raise ReportUsageError("--from 与 --to 须同时给出")
    return period_between(args.first, args.last)


def generate(args: argparse.Namespace, *, ctx: Any, session: Any, actor: Any, now: Any) -> str:
    """Generate the daily brief or holiday summary, write the output file; returns what to print."""
    from playbooks.reports import daily_report, holiday_report

    kind = output_kind(args.output)
    common = {
        "index": ctx.index,
        "playbooks": ctx.playbooks,
        "firm": ctx.settings.firm,
        "actor": actor,
        "now": now,
        "names": ctx.source_names,
    }
    if args.report_command == "daily":
        report, markdown, data = daily_report(session, args.date, **common)
    else:
        report, markdown, data = holiday_report(session, period(args), **common)
    out = Path(args.output)
    if kind == "md":
        out.write_text(markdown, encoding="utf-8")
    else:
        out.write_bytes(data)
    return (
        f"已生成《{report.title}》报告 #{report.id}，写入 {out}（待负责人签发：yuqing report sign --report "
        f"{report.id}）/ wrote report {report.id} to {out}"
    )
