"""`yuqing user add|list|passwd|disable|enable|unlock|token`: desk accounts from the terminal.

A password never comes as an argument (it would sit in the shell history and the process list):
it is read from stdin with ``--password-stdin`` (one line) or prompted twice with getpass. Changes
are audited under ``cli:<os user>``.

``yuqing user token NAME [--days 30] [--label L]`` issues a command-line token for NAME: printed once
(only its SHA-256 is kept), expiring, and what NAME then puts in ``$YUQING_TOKEN`` or a ``--token-file``
to act as themselves on the command line (yuqing/cli_auth.py). ``--revoke`` revokes NAME's tokens; a new
password (``passwd``) revokes them too.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store is imported when a command runs, not when the parser is built
    from store.records import Records
    from yuqing.config import Settings

ROLE_LABELS = {"officer": "值班员", "manager": "负责人", "admin": "管理员"}


class UserCliError(Exception):
    """Printed as 错误 / error by the CLI, exit status 2."""


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


def read_password(args: argparse.Namespace, *, stdin=None) -> str:
    """The new password from one line of stdin (--password-stdin) or typed twice at a prompt."""
    if getattr(args, "password_stdin", False):
        line = (stdin or sys.stdin).readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UserCliError("标准输入中没有密码 / no password on stdin")
        return password
    first = getpass.getpass("新密码 / new password: ")
    second = getpass.getpass("再输入一次 / again: ")
    if first != second:
        raise UserCliError("两次输入的密码不一致 / the passwords differ")
    return first


def _records(settings: Settings) -> Records:
    from store.records import Records

    try:
        return Records(settings.store.resolved_records_url())
    except Exception as exc:  # noqa: BLE001 - say which database, not a traceback
        raise UserCliError(f"无法打开记录库 / cannot open the records database: {exc}") from exc


def run(args: argparse.Namespace, settings: Settings) -> int:
    from playbooks import users

    records = _records(settings)
    by = cli_actor()
    try:
        with records.session() as s:
            if args.user_action == "list":
                rows = users.list_users(s)
                if not rows:
                    print("还没有用户 / no users yet: yuqing user add USERNAME --role admin")
                for u in rows:
                    status = (
                        "停用 disabled" if not u.active else ("锁定 locked" if u.locked() else "正常 active")
                    )
                    last = u.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_login_at else "—"
                    print(
                        f"{u.username}\t{ROLE_LABELS.get(u.role, u.role)} {u.role}\t{status}\t"
                        f"{u.display_name or '—'}\t{u.email or '—'}\t最近登录 {last}"
                    )
                return 0
            if args.user_action == "add":
                password = read_password(args)
                users.create_user(
                    s,
                    username=args.username,
                    role=args.role,
                    password=password,
                    by=by,
                    display_name=args.display_name or "",
                    email=args.email or "",
                    phone=args.phone or "",
                )
                print(f"已添加用户 {args.username}（{ROLE_LABELS[args.role]}）/ user added")
            elif args.user_action == "passwd":
                password = read_password(args)
                users.set_password(s, args.username, password, by=by)
                print(
                    f"已设置 {args.username} 的新密码，其已登录的会话均已退出 / password set, sessions ended"
                )
            elif args.user_action in ("disable", "enable"):
                users.set_active(s, args.username, args.user_action == "enable", by=by)
                print(f"已{'启用' if args.user_action == 'enable' else '停用'}用户 {args.username}")
            elif args.user_action == "unlock":
                users.unlock(s, args.username, by=by)
                print(f"已解锁用户 {args.username} / unlocked")
            elif args.user_action == "token":
                if args.revoke:
                    n = users.revoke_tokens(s, args.username, by=by)
                    print(f"已吊销 {args.username} 的 {n} 个命令行令牌 / {n} token(s) revoked")
                else:
                    token = users.issue_token(s, args.username, by=by, days=args.days, label=args.label or "")
                    print(token)  # the only time it is shown; stdout only, never logged
                    print(
                        f"以上是 {args.username} 的命令行令牌，{args.days} 天内有效，只显示这一次；"
                        f"请本人保存在仅本人可读的文件中（--token-file）或环境变量 YUQING_TOKEN。"
                        " / the token above is shown once",
                        file=sys.stderr,
                    )
    except users.UserError as exc:
        raise UserCliError(str(exc)) from exc
    finally:
        records.dispose()
    return 0


def add_parser(sub) -> argparse.ArgumentParser:
    """The `user` sub-command and its actions (called from yuqing.cli.build_parser)."""
    s = sub.add_parser("user", help="值守台账号：添加、列出、改密码、停用、解锁 / desk accounts")
    acts = s.add_subparsers(dest="user_action", required=True)
    a = acts.add_parser("add", help="添加用户 / add a user")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=list(ROLE_LABELS))
    a.add_argument("--display-name", default="", help="姓名 / name shown on the desk")
    a.add_argument("--email", default="", help="邮箱（单点登录按此匹配）/ email, matched by single sign-on")
    a.add_argument("--phone", default="")
    a.add_argument(
        "--password-stdin", action="store_true", help="从标准输入读一行密码 / read the password from stdin"
    )
    acts.add_parser("list", help="列出用户 / list users")
    p = acts.add_parser("passwd", help="设置新密码（结束其会话）/ set a new password")
    p.add_argument("username")
    p.add_argument(
        "--password-stdin", action="store_true", help="从标准输入读一行密码 / read the password from stdin"
    )
    for name, help_text in (
        ("disable", "停用（立即结束其会话）/ disable"),
        ("enable", "启用 / enable"),
        ("unlock", "解除登录失败锁定 / lift a failed-login lock"),
    ):
        x = acts.add_parser(name, help=help_text)
        x.add_argument("username")
    t = acts.add_parser(
        "token", help="签发（或 --revoke 吊销）命令行令牌，供本人在命令行中证明身份 / issue a CLI token"
    )
    t.add_argument("username")
    t.add_argument("--days", type=int, default=30, help="有效天数（1–366，默认 30）/ days valid")
    t.add_argument("--label", default="", help="备注，如用途或机器 / a note: what it is for")
    t.add_argument("--revoke", action="store_true", help="吊销该用户的全部令牌 / revoke the user's tokens")
    return s
