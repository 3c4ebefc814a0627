"""`yuqing alerts`: the alerts from a shell — list them, most urgent first, and acknowledge them.

    yuqing alerts [--level I II] [--status open escalated] [--drill] [--limit N] [--json]
    yuqing alerts --ack ID [ID …] [--as USER] [--token-file F | --password-stdin]

Listing needs no credential (like ``yuqing export``: it reads the store). Acknowledging is a person's
act: the acting person (--as, default the shell's login name) proves who they are with their token or
desk password (yuqing/cli_auth.py), and each alert is acknowledged through the same compare-and-set
action as the desk's 确认 (playbooks.triage.acknowledge), audited under their name.
Exit status: 0 listed, or every alert acknowledged (or already was); 1 some refused (named on stderr);
2 a problem to fix (no such user, bad credential, no store).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from yuqing.cli_common import CliError

if TYPE_CHECKING:
    from yuqing.context import Context

STATUSES = ("open", "escalated", "false_positive", "closed")
STATUS_LABELS = {"open": "待处理", "escalated": "已升级", "false_positive": "误报", "closed": "已关闭"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from yuqing.cli_auth import add_credential_args

    s = sub.add_parser(
        "alerts",
        help="列出预警（最紧迫在前）并确认 / list alerts, most urgent first, and acknowledge them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--level", nargs="+", choices=("I", "II", "III", "IV"), default=[], help="级别 / levels")
    s.add_argument(
        "--status",
        nargs="+",
        choices=(*STATUSES, "all"),
        default=["open", "escalated"],
        help="状态（默认待处理与已升级；all 为全部） / statuses (default open escalated)",
    )
    s.add_argument("--drill", action="store_true", help="只看演练预警 / drill alerts instead of real ones")
    s.add_argument("--limit", type=int, default=50, help="最多列出条数 / at most this many (50)")
    s.add_argument("--json", action="store_true", help="每行一个 JSON 对象 / one JSON object per line")
    s.add_argument("--ack", nargs="+", type=int, metavar="ID", help="确认这些预警 / acknowledge these alerts")
    add_credential_args(s)
    return s


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.limit < 1:
        raise CliError("--limit 必须是正整数 / must be a positive integer")
    if args.ack:
        return _acknowledge(args, ctx)
    return _list(args, ctx)


def _list(args: argparse.Namespace, ctx: Context) -> int:
    from playbooks import people, triage
    from playbooks.schema import PlaybookError
    from store.models import utcnow

    try:
        playbooks = ctx.playbooks
    except PlaybookError:
        playbooks = []
    statuses = () if "all" in args.status else tuple(args.status)
    now = utcnow()
    with ctx.records.session() as s:
        lines = triage.alert_lines(
            s,
            levels=args.level,
            statuses=statuses,
            drill=args.drill,
            limit=args.limit,
            playbooks=playbooks,
            now=now,
        )
        names = people.names(s)
    for line in lines:
        a = line.state
        clock = _clock(a, now)
        if args.json:
            print(json.dumps({
                "id": a.alert_id, "post_id": a.post_id, "level": a.level, "status": a.status,
                "title": line.title, "source": ctx.source_names(line.source), "topic": line.topic,
                "created_at": a.created_at.isoformat(timespec="seconds") if a.created_at else None,
                "ack_due_at": a.ack_due_at.isoformat(timespec="seconds") if a.ack_due_at else None,
                "acknowledged_by": a.acknowledged_by, "assignee": a.assignee, "clock": clock,
                "link": f"{ctx.settings.desk.base_url.rstrip('/')}/item?post={a.post_id}",
            }, ensure_ascii=False))  # fmt: skip
            continue
        who = f" 指派：{names.get(a.assignee, a.assignee)}" if a.assignee else ""
        title = " ".join(line.title.split())[:60]
        print(
            f"#{a.alert_id} [{a.level or '未定级'}] {STATUS_LABELS.get(a.status, a.status)} {clock}{who} · "
            f"{ctx.source_names(line.source) or '未知来源'} · {title}"
        )
    if not args.json:
        print(f"共 {len(lines)} 条 / {len(lines)} alerts", file=sys.stderr)
    return 0


def _clock(a, now) -> str:
    if a.ack_done_at is not None:
        return f"已确认（{a.acknowledged_by or '处置记录'}）"
    if a.ack_due_at is None or not a.waiting_for_ack:
        return "—"
    left = int((a.ack_due_at - now).total_seconds() // 60)
    return f"确认剩余 {left} 分钟" if left >= 0 else f"确认已超时 {-left} 分钟"


def _acknowledge(args: argparse.Namespace, ctx: Context) -> int:
    from playbooks import triage
    from yuqing.cli_auth import acting_person, auth_policy

    actor = acting_person(
        lambda: ctx.records, args, policy=auth_policy(ctx.settings), permission="alert.acknowledge"
    )
    refused = 0
    for alert_id in dict.fromkeys(args.ack):
        try:
            with ctx.records.session() as s:
                done = triage.acknowledge(s, alert_id, actor)
        except triage.TriageError as exc:
            refused += 1
            print(f"预警 #{alert_id} 未确认 / not acknowledged: {exc}", file=sys.stderr)
            continue
        print(
            f"预警 #{alert_id} 已由 {actor.username} 确认 / acknowledged"
            if done
            else f"预警 #{alert_id} 此前已确认 / already acknowledged"
        )
    return 1 if refused else 0
