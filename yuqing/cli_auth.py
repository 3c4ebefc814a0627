"""Who a command acts as, proven: the command line never takes a desk user's name on its word.

A command that acts as a person (``yuqing report …``, ``roster import``, ``drill run --as``,
``readiness --as``) needs that person's credential, one of:

* a token an admin issued (``yuqing user token NAME``): in ``$YUQING_TOKEN`` or a file named by
  ``--token-file`` (the file should be readable by its owner only); the token names its user, ``--as``
  may repeat the name;
* the person's desk password: one line on stdin with ``--password-stdin``, or typed at a prompt when
  stdin is a terminal. ``--as USER`` names the person (default: the login name of the shell).

A password goes through the same sign-in as the desk (``playbooks.users.authenticate``): counted,
locked after the configured number of failures, recorded in the sign-in attempts with client ``cli``.
The credential is never an argument (it would sit in the shell history and the process list) and is
never logged.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yuqing.cli_common import CliError

if TYPE_CHECKING:  # the store is imported when a command runs, not when the parser is built
    from playbooks.authz import Actor
    from playbooks.users import AuthPolicy
    from store.records import Records

TOKEN_ENV = "YUQING_TOKEN"
AS_HELP = "以该值守台用户身份（需其令牌或密码）/ act as this desk user (their token or password is required)"


def add_credential_args(parser: argparse.ArgumentParser, *, as_help: str = AS_HELP) -> None:
    """--as USER, --token-file F, --password-stdin: who acts, and the proof."""
    parser.add_argument("--as", dest="as_user", help=as_help)
    parser.add_argument(
        "--token-file",
        help=f"含令牌的文件（或环境变量 {TOKEN_ENV}；令牌由管理员用 yuqing user token 签发）"
        f" / a file holding your token (or ${TOKEN_ENV})",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="从标准输入读一行本人的值守台密码 / read your desk password from one line of stdin",
    )


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return ""


def cli_label() -> str:
    """What the audit trail names when the shell's user acts without a desk identity: ``cli:<login>``."""
    name = os_user()
    return f"cli:{name}"[:80] if name else "cli"


def wants_identity(args: argparse.Namespace, env: dict[str, str] | None = None) -> bool:
    """True when the command was asked to act as a desk user (--as, a token, or --password-stdin)."""
    env = os.environ if env is None else env
    return bool(
        getattr(args, "as_user", None)
        or getattr(args, "token_file", None)
        or getattr(args, "password_stdin", False)
        or env.get(TOKEN_ENV, "").strip()
    )


def auth_policy(settings: Any) -> AuthPolicy:
    """The failed-login limit from ``[desk]`` (the desk's own rule, desk/state.py)."""
    from playbooks.users import AuthPolicy

    desk = settings.desk
    return AuthPolicy(
        idle=timedelta(minutes=desk.session_idle_minutes),
        absolute=timedelta(hours=desk.session_max_hours),
        max_failures=desk.max_failed_logins,
        failure_window=timedelta(minutes=desk.lockout_minutes),
        lockout=timedelta(minutes=desk.lockout_minutes),
    )


def acting_person(
    records: Records | Callable[[], Records],
    args: argparse.Namespace,
    *,
    policy: AuthPolicy | None = None,
    permission: str | None = None,
    stdin: Any = None,
    env: dict[str, str] | None = None,
) -> Actor:
    """The desk user this command acts as, after checking their credential (and ``permission``, if
    given); CliError (Chinese) otherwise. See the module's docstring for where the credential comes from.
    ``records`` may be a callable that opens the records (``lambda: ctx.records``): a database that
    cannot be reached is then a CliError too."""
    from sqlalchemy.exc import SQLAlchemyError

    from store.records import RecordsUnavailable

    try:
        return _acting_person(records, args, policy=policy, permission=permission, stdin=stdin, env=env)
    except (RecordsUnavailable, SQLAlchemyError) as exc:
        raise CliError(f"无法核对身份：记录库无法访问 / cannot check who you are: {exc}") from exc


def _acting_person(
    records: Any,
    args: argparse.Namespace,
    *,
    policy: AuthPolicy | None,
    permission: str | None,
    stdin: Any,
    env: dict[str, str] | None,
) -> Actor:
    from playbooks import users
    from playbooks.authz import Actor, PermissionDenied, require

    if callable(records):
        records = records()
    env = os.environ if env is None else env
    wanted = (getattr(args, "as_user", None) or "").strip()
    token = _token(args, env)
    if token:
        with records.session() as s:
            try:
                user = users.check_token(s, token)
            except users.TokenInvalid as exc:
                raise CliError(f"身份验证失败：{exc}") from exc
            actor = Actor(username=user.username, role=user.role, display_name=user.display_name or "")
        if wanted and wanted != actor.username:
            raise CliError(f"令牌属于 {actor.username}，与 --as {wanted} 不符")
    else:
        username = wanted or os_user()
        if not username:
            raise CliError("请用 --as 指定值守台用户名 / name the desk user with --as")
        password = _password(args, username, stdin)
        refused: Exception | None = None
        with records.session() as s:  # a refusal is committed too: it counts toward the lock
            try:
                user = users.authenticate(s, username, password, policy=policy, client="cli")
                actor = Actor(username=user.username, role=user.role, display_name=user.display_name or "")
            except users.LoginRefused as exc:
                refused = exc
        if refused is not None:
            raise CliError(f"身份验证失败（{username}）：{refused}")
    if permission:
        try:
            require(actor, permission)
        except PermissionDenied as exc:
            raise CliError(str(exc)) from exc
    return actor


def _token(args: argparse.Namespace, env: dict[str, str]) -> str:
    path = getattr(args, "token_file", None)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"读不到令牌文件 {path}：{exc.strerror}") from exc
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not token:
            raise CliError(f"令牌文件 {path} 是空的")
        return token
    return env.get(TOKEN_ENV, "").strip()


def _password(args: argparse.Namespace, username: str, stdin: Any) -> str:
    if getattr(args, "password_stdin", False):
        password = (stdin or sys.stdin).readline().rstrip("\r\n")
        if not password:
            raise CliError("标准输入中没有密码 / no password on stdin")
        return password
    source = stdin or sys.stdin
    if not (hasattr(source, "isatty") and source.isatty()):
        raise CliError(
            f"以 {username} 的身份操作需要其凭据：令牌（${TOKEN_ENV} 或 --token-file，由管理员用 "
            "yuqing user token 签发）或密码（--password-stdin，或在终端中输入）"
            " / a credential is required: a token ($YUQING_TOKEN, --token-file) or the password"
        )
    password = getpass.getpass(f"{username} 的值守台密码 / desk password: ")
    if not password:
        raise CliError("未输入密码 / no password")
    return password


__all__ = [
    "AS_HELP",
    "TOKEN_ENV",
    "acting_person",
    "add_credential_args",
    "auth_policy",
    "cli_label",
    "os_user",
    "wants_identity",
]
