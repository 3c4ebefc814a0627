"""`yuqing learn`: the parser and the command (the work is in yuqing/learn.py).

    yuqing learn [--dry-run] [--as USER] [--json] [--min-verdicts N] [--min-each N] [--min-kept F]
                 [--protect-levels I,II]
    yuqing learn --status
    yuqing learn --rollback [--as USER]

Learning and rolling back change what the desk flags: the acting person (--as, default the OS user)
must be an active desk user with a manager's role (``feedback.learn``); the audit trail names them.
Exit status: 0 switched on (or rolled back, or status shown), 1 refused (too few verdicts, or the layer
measures worse), 2 a problem to fix (unknown user, no store …).
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import TYPE_CHECKING

from yuqing.cli_common import CliError

if TYPE_CHECKING:
    from playbooks.authz import Actor
    from yuqing.context import Context


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The parser; the defaults are nlp.feedback_fit.LearnOptions' (read when the command runs)."""
    s = sub.add_parser(
        "learn",
        help="用值班员的裁定（误报/确认/升级）重训本司反馈模型与阈值；可试运行、查看状态、回滚 / refit the firm's "
        "layer on officers' verdicts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="只计算并打印前后对比，不启用 / measure only")
    mode.add_argument("--status", action="store_true", help="当前启用的版本与历史 / the active version")
    mode.add_argument(
        "--rollback", action="store_true", help="回到上一版（或仅分析）/ restore the previous one"
    )
    s.add_argument("--as", dest="as_user", help="以该负责人身份（默认当前系统用户名）/ acting desk user")
    s.add_argument("--json", action="store_true", help="输出 JSON / print the figures as JSON")
    s.add_argument("--min-verdicts", type=int, help="最少裁定数（默认 30）/ fewest verdicts")
    s.add_argument("--min-each", type=int, help="误报、确认各自最少条数（默认 8）/ fewest of each kind")
    s.add_argument(
        "--min-kept",
        type=float,
        help="交叉验证中至少保留的已确认预警比例（默认 0.95）/ share of confirmed alerts the layer must keep",
    )
    s.add_argument(
        "--protect-levels",
        help="这些级别的预警从不降级（逗号分隔，默认 I；空 = 无）/ levels never lowered (default I)",
    )
    return s


def _actor(ctx: Context, username: str | None) -> Actor:
    from playbooks.authz import Actor, PermissionDenied, require
    from store.users import get_user

    username = username or getpass.getuser()
    with ctx.records.session() as session:
        user = get_user(session, username)
        if user is None or not user.active:
            raise CliError(f"值守台用户 {username} 不存在或已停用；用 --as 指定负责人的用户名")
        actor = Actor(username=user.username, role=user.role, display_name=user.display_name)
    try:
        require(actor, "feedback.learn")
    except PermissionDenied as exc:
        raise CliError(str(exc)) from exc
    return actor


def run(args: argparse.Namespace, ctx: Context) -> int:
    from nlp.feedback_fit import LearnOptions
    from store.feedback_layers import NothingToRollBack
    from yuqing import learn

    if args.status:
        print(learn.status_text(ctx))
        return 0
    actor = _actor(ctx, args.as_user)
    if args.rollback:
        try:
            print(learn.rollback(ctx, actor=actor))
        except NothingToRollBack as exc:
            raise CliError(str(exc)) from exc
        return 0
    d = LearnOptions()
    protect = ",".join(d.protect_levels) if args.protect_levels is None else args.protect_levels
    levels = tuple(x.strip().upper() for x in protect.split(",") if x.strip())
    min_kept = d.min_kept if args.min_kept is None else args.min_kept
    min_each = d.min_each if args.min_each is None else args.min_each
    min_verdicts = d.min_verdicts if args.min_verdicts is None else args.min_verdicts
    bad = [x for x in levels if x not in ("I", "II", "III", "IV")]
    if bad:
        raise CliError(f"--protect-levels 只能是 I、II、III、IV：{', '.join(bad)}")
    if not 0 < min_kept <= 1:
        raise CliError("--min-kept 应在 0 到 1 之间 / between 0 and 1")
    if min_each < 2 or min_verdicts < 2 * min_each:
        raise CliError("--min-each 至少 2，且 --min-verdicts 不小于它的两倍 / at least 2, and twice it")
    options = LearnOptions(
        min_verdicts=min_verdicts, min_each=min_each, min_kept=min_kept, protect_levels=levels
    )
    report = learn.learn(ctx, actor=actor, options=options, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        print(learn.format_report(report))
    return 0 if report.result.accepted else 1
