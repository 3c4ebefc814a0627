"""`yuqing …`: the command line. Stable names; tests, benchmarks and people rely on them."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from yuqing.cli_common import CliError, read_jsonl
from yuqing.config import ConfigError, Settings, config_path, load_settings
from yuqing.desk_cli import run_desk

log = logging.getLogger("yuqing")

__all__ = ["CliError", "build_parser", "main", "read_jsonl", "run_desk"]


# --------------------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.config or "yuqing.toml")
    if path.exists() and not args.force:
        raise CliError(f"{path} 已存在；用 --force 覆盖 / already exists, use --force to overwrite")
    template = resources.files("yuqing").joinpath("init_template.toml").read_text(encoding="utf-8")
    if args.firm or args.short or args.code:
        template = firm_template(template, args)
    path.write_text(template, encoding="utf-8")
    settings = load_settings(path)
    from yuqing.context import build_context

    ctx = build_context(settings)
    ctx.index  # noqa: B018 - creates the posts index
    ctx.records  # noqa: B018 - creates the records tables
    ctx.close()
    print(f"已写入配置 {path}，已创建存储 {settings.store.path}")
    print(f"wrote {path} and created the embedded store {settings.store.path}")
    return 0


def firm_template(template: str, args: argparse.Namespace) -> str:
    """The template with its [firm] block for the firm named on the command line (`yuqing init --firm 全称
    --short 简称 … --code 600000 …`), and the commented source examples using its short name and code."""
    import json
    import re

    name = " ".join((args.firm or "").split())

    def each(values: list[str] | None) -> list[str]:
        # "A,B" / "A，B" / "A、B" given in one flag is two names, as a person typing it means
        return [" ".join(x.split()) for v in values or [] for x in re.split(r"[,，、;；]", v) if x.strip()]

    shorts = each(args.short)
    codes = [x.strip() for x in each(args.code)]
    args.executive, args.product, args.exclude = each(args.executive), each(args.product), each(args.exclude)
    if not name:
        raise CliError("--firm 须给出公司全称 / --firm needs the firm's full registered name")
    if not shorts:
        raise CliError("--short 至少给出一个简称（可重复）/ give at least one --short name")
    bad = [c for c in codes if not re.fullmatch(r"\d{6}", c)]
    if bad:
        raise CliError(f"股票代码须为 6 位数字：{'、'.join(bad)} / stock codes are 6 digits")

    def toml_list(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"

    block = "\n".join(
        [
            "[firm]",
            f"name = {json.dumps(name, ensure_ascii=False)}  # 全称 / full registered name",
            f"short_names = {toml_list(shorts)}  # 简称 / short names",
            f"stock_codes = {toml_list(codes)}  # 股票代码 / stock codes (whole 6-digit numbers)",
            f"executives = {toml_list(args.executive or [])}  # 高管 / executives",
            f"products = {toml_list(args.product or [])}  # 产品与APP / products, funds and app names",
            f"exclude = {toml_list(args.exclude or [])}  # 易混淆的他人名称 / look-alikes that are NOT the firm",
        ]
    )
    out, n = re.subn(
        r"^\[firm\]\nname = .*?\nexclude = [^\n]*", lambda _m: block, template, count=1, flags=re.M | re.S
    )
    if not n:
        raise CliError("配置模板中没有 [firm] 段 / the template has no [firm] block")
    out = out.replace("华鼎证券财富号", f"{shorts[0]}财富号").replace(
        '"华鼎证券"', json.dumps(shorts[0], ensure_ascii=False)
    )
    if codes:
        out = out.replace("609999", codes[0])
    return out


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        raise CliError(str(exc)) from exc


# exit codes of `yuqing ingest` and `yuqing analyze` (README, "Exit codes")
EXIT_OK = 0  # every line stored (or analysed)
EXIT_REJECTED = 1  # some lines rejected, each reported with its line number and reason; the rest done
EXIT_FAILED = 2  # failure: the config, the input file, or an unexpected error (reported)
EXIT_KEPT = 75  # (ingest) the store was unavailable: lines kept in the spool, written when it answers
MAX_NOTES_SHOWN = 100  # values brought into range are listed up to this many; rejected lines always all


def cmd_ingest(args: argparse.Namespace) -> int:
    from store.incoming import check_post
    from yuqing.context import build_context
    from yuqing.ingest import IngestReport, ingest_in_batches, settled_start_up

    if args.drill:
        raise CliError(
            "演练帖子只能通过 yuqing drill run 注入；yuqing ingest 只收真实帖子 / drills enter through `yuqing drill run`"
        )
    settings = _settings(args)
    posts: list[Any] = []
    bad: list[str] = []
    notes: list[str] = []
    ignored: dict[str, int] = {}
    for n, obj, err in read_jsonl(Path(args.input)):
        if err is None:
            checked = check_post(obj)
            err = checked.reason if checked.post is None else None
            notes += [f"第 {n} 行：{note}" for note in checked.notes]
            for name in checked.ignored:
                ignored[name] = ignored.get(name, 0) + 1
        if err:
            bad.append(f"第 {n} 行：{err}")
        else:
            posts.append(checked.post)
    try:
        ctx = build_context(settings)
        try:
            if posts:
                with settled_start_up(ctx):  # the model and dictionaries out of the garbage collector's way
                    report = ingest_in_batches(posts, ctx=ctx, checked=True)
            else:
                report = IngestReport()
        finally:
            ctx.close()
    except Exception as exc:  # not a bad line: the store or the code failed; nothing was lost from the file
        log.exception("ingest failed")
        print(f"错误 / error: 入库失败，文件未处理完：{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    report.received += len(bad)
    report.rejected[:0] = bad
    print(report.summary())
    for line in report.rejected:
        print(f"  拒收 {line}", file=sys.stderr)
    adjusted = notes + report.notes
    for line in adjusted[:MAX_NOTES_SHOWN]:
        print(f"  修正 {line}", file=sys.stderr)
    if len(adjusted) > MAX_NOTES_SHOWN:
        print(f"  修正 …另有 {len(adjusted) - MAX_NOTES_SHOWN} 处（各行已入库）", file=sys.stderr)
    if ignored:
        names = "、".join(f"{k}（{v} 行）" for k, v in sorted(ignored.items()))
        print(f"  忽略 由值守台自己生成的字段，不从输入读取：{names}", file=sys.stderr)
    if report.rejected:
        return EXIT_REJECTED
    return EXIT_KEPT if report.spooled or report.alerts_spooled else EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    from store.incoming import check_post
    from yuqing.context import build_context

    settings = _analyze_settings(args)
    ctx = build_context(settings)
    analyzer = ctx.analyzer
    out_path = Path(args.output)
    bad = adjusted = 0
    batch: list[dict[str, Any]] = []

    def flush(out) -> None:
        if not batch:
            return
        for obj, analysis in zip(batch, analyzer.analyze(batch), strict=True):
            out.write(json.dumps({**obj, **analysis}, ensure_ascii=False) + "\n")
        batch.clear()

    try:
        with out_path.open("w", encoding="utf-8") as out:
            for n, obj, err in read_jsonl(Path(args.input)):
                if err is None:
                    checked = check_post(obj, analysis=True)
                    err = checked.reason or None
                    for note in checked.notes:
                        adjusted += 1
                        if adjusted <= MAX_NOTES_SHOWN:
                            print(f"第 {n} 行修正 / line {n} adjusted: {note}", file=sys.stderr)
                if err:
                    bad += 1
                    print(f"第 {n} 行跳过 / line {n} skipped: {err}", file=sys.stderr)
                    continue
                batch.append(checked.post)
                if len(batch) >= args.batch_size:
                    flush(out)
            flush(out)
        if adjusted > MAX_NOTES_SHOWN:
            print(f"另有 {adjusted - MAX_NOTES_SHOWN} 处修正 / more adjusted values", file=sys.stderr)
    except (CliError, OSError) as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:  # the model or the code failed: say so, apart from "some lines were bad"
        log.exception("analyze failed")
        print(f"错误 / error: 分析失败：{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_REJECTED if bad else EXIT_OK


def _analyze_settings(args: argparse.Namespace) -> Settings:
    """`yuqing analyze` works without a config file: per-line `watch` lists then say what is watched."""
    try:
        return load_settings(args.config)
    except ConfigError:
        if args.config:
            raise
    from yuqing.config import settings_from_dict

    return settings_from_dict({"firm": {"name": ""}})


def cmd_crawl(args: argparse.Namespace) -> int:
    from yuqing.context import build_context
    from yuqing.crawl import UnknownSource, crawl_sources

    settings = _settings(args)
    ctx = build_context(settings)
    try:
        result = crawl_sources(ctx, names=args.source or None)
    except UnknownSource as exc:
        raise CliError(str(exc)) from exc
    except RuntimeError as exc:  # the crawl process crashed or timed out; the health page has the run
        print(f"抓取失败 / crawl failed: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    print(result.summary())
    return 0 if not result.failed_sources else 1


def cmd_schedule(args: argparse.Namespace) -> int:
    from yuqing.context import build_context
    from yuqing.schedule import Scheduler

    settings = _settings(args)
    ctx = build_context(settings)
    if args.max_runs is not None and args.max_runs < 1:
        raise CliError("--max-runs 必须是正整数 / must be a positive integer")
    try:
        scheduler = Scheduler(
            ctx, holiday=args.holiday, names=args.source or None, on_run=lambda r: print(r.line(), flush=True)
        )
    except ValueError as exc:
        ctx.close()
        raise CliError(str(exc)) from exc
    from yuqing.notify import outbox_pump

    notify = settings.notify
    pump = outbox_pump(ctx.records, settings).start() if notify.channels or notify.smtp.host else None
    from yuqing.clock_watch import ClockWatch, describe

    watch = ClockWatch(ctx, on_event=lambda e: print(describe(e), flush=True)).start()
    mode = f"节假日模式（间隔 × {settings.schedule.holiday_factor:g}）" if args.holiday else "常规模式"
    print(f"定时抓取开始：{len(scheduler.slots)} 个信息源，{mode}。按 Ctrl+C 停止。", flush=True)
    try:
        history = scheduler.run(once=args.once, max_runs=args.max_runs)
    except KeyboardInterrupt:
        history = scheduler.history
        print("已停止。", flush=True)
    finally:
        if pump is not None:
            pump.stop()
        watch.stop()
        ctx.close()
    bad = sum(1 for r in history if r.outcome not in ("ok", "errors"))
    print(f"共运行 {len(history)} 次，其中失败 {bad} 次。")
    return 0


def cmd_clocks(args: argparse.Namespace) -> int:
    """`yuqing clocks [--once]`: tell the escalation chain about clocks that ran out (playbooks/chain.py)."""
    from yuqing.clock_watch import check_once, describe, run_forever
    from yuqing.context import build_context

    settings = _settings(args)
    ctx = build_context(settings)
    try:
        if args.once:
            events = check_once(ctx)
            for event in events:
                print(describe(event), flush=True)
            print(f"检查完成：{len(events)} 条处置记录因超时升级。")
            return 0
        every = settings.escalation.check_interval_minutes * 60
        print(f"处置时限检查开始：每 {every:g} 秒一次。按 Ctrl+C 停止。", flush=True)
        try:
            run_forever(ctx, every=every, on_event=lambda e: print(describe(e), flush=True))
        except KeyboardInterrupt:
            print("已停止。", flush=True)
        return 0
    finally:
        ctx.close()


def cmd_export(args: argparse.Namespace) -> int:
    from yuqing.context import build_context

    if args.false_positives:
        return _export_false_positives(args)
    ctx = build_context(_settings(args))
    n = 0
    try:
        with Path(args.output).open("w", encoding="utf-8") as out:
            for post in ctx.index.iter_all(drill=None if args.include_drills else False):
                out.write(json.dumps(post.to_dict(), ensure_ascii=False) + "\n")
                n += 1
    finally:
        ctx.close()
    print(f"已导出 {n} 条 / exported {n} posts to {args.output}")
    return 0


def _export_false_positives(args: argparse.Namespace) -> int:
    """`yuqing export --false-positives`: alerts dismissed as 误报, as training rows (drills never)."""
    import getpass

    from playbooks.authz import Actor
    from playbooks.triage import false_positive_training_rows
    from yuqing.context import build_context

    if args.include_drills:
        raise CliError("演练数据不作为训练数据导出；--false-positives 不能与 --include-drills 同用")
    # whoever runs the command on the server is recorded in the audit trail, with a manager's rights
    actor = Actor(username=f"cli:{getpass.getuser()}"[:80], role="manager")
    ctx = build_context(_settings(args))
    n = 0
    try:
        with ctx.records.session() as session, Path(args.output).open("w", encoding="utf-8") as out:
            for row in false_positive_training_rows(session, actor, posts=ctx.index):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    finally:
        ctx.close()
    print(f"已导出误报 {n} 条 / exported {n} false positives to {args.output}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`yuqing report regulator|daily|holiday|sign`: the 报告证监局 draft of an escalation record, the
    daily brief and the holiday summary (yuqing/reports_cli.py), and the sign-off of any of them.

    The acting person (--as, default the OS user) must prove who they are — their token or desk password
    (yuqing/cli_auth.py) — and be an active desk user with a manager's role: the report and the audit
    trail name them, and the role is checked again in playbooks.reports.
    """
    from playbooks.authz import PermissionDenied
    from playbooks.reports import ReportError, regulator_report, sign_report
    from store.models import utcnow
    from yuqing.cli_auth import acting_person, auth_policy
    from yuqing.context import build_context

    ctx = build_context(_settings(args))
    try:
        actor = acting_person(lambda: ctx.records, args, policy=auth_policy(ctx.settings))
        with ctx.records.session() as session:
            try:
                if args.report_command == "sign":
                    report = sign_report(session, args.report, actor=actor, now=utcnow())
                    print(f"报告 #{report.id} 已由 {actor.username} 签发 / signed report {report.id}")
                    return 0
                if args.report_command in ("daily", "holiday"):  # 舆情日报, 假期舆情工作总结
                    from yuqing.reports_cli import ReportUsageError, generate

                    try:
                        print(generate(args, ctx=ctx, session=session, actor=actor, now=utcnow()))
                    except ReportUsageError as exc:
                        raise CliError(str(exc)) from exc
                    return 0
                _, data = regulator_report(
                    session,
                    args.escalation,
                    playbooks=ctx.playbooks,
                    firm=ctx.settings.firm,
                    actor=actor,
                    now=utcnow(),
                    index=ctx.index,
                    names=ctx.source_names,
                )
                out = Path(args.output)
                out.write_bytes(data)
            except (PermissionDenied, ReportError) as exc:
                raise CliError(str(exc)) from exc
            except OSError as exc:
                raise CliError(f"无法写入 {args.output}: {exc.strerror}") from exc
    finally:
        ctx.close()
    print(f"已生成报告证监局草稿 {out}（待负责人签发）/ wrote the regulator report draft to {out}")
    return 0


def cmd_readiness(args: argparse.Namespace) -> int:
    """`yuqing readiness [--holiday NAME] [--json]`: the readiness gate before a holiday (playbooks/readiness.py).

    Exit codes: 0 ready (every check passed); 1 not ready (the failed checks say what to do);
    2 the check could not run (configuration invalid, records database unreachable, no such holiday).
    Each run is recorded in the audit trail under --as (proven by that person's token or password), or
    without --as as ``cli:<OS user>``.
    """
    from datetime import datetime

    from playbooks.readiness import (
        ReadinessError,
        beijing_day,
        check_readiness,
        find_holiday,
        record_check,
        render_text,
    )
    from store.times import as_utc
    from yuqing.context import build_context

    now = None
    if args.at:
        try:
            now = as_utc(datetime.fromisoformat(args.at))  # without an offset: UTC
        except ValueError as exc:
            raise CliError(f"--at 应为 ISO 时间，例如 2026-09-26T10:00+08:00：{args.at}") from exc
    from yuqing.cli_auth import acting_person, auth_policy, cli_label, wants_identity

    ctx = build_context(_settings(args))
    try:
        who = (
            acting_person(lambda: ctx.records, args, policy=auth_policy(ctx.settings)).username
            if wants_identity(args)
            else cli_label()
        )
        holiday = find_holiday(beijing_day(now or datetime.now().astimezone()), args.holiday)
        result = check_readiness(ctx.readiness_parts(), holiday=holiday, now=now)
        with ctx.records.session() as session:
            record_check(session, result, actor=who, via="cli")
    except ReadinessError as exc:
        raise CliError(str(exc)) from exc
    finally:
        ctx.close()
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(render_text(result)))
    return 0 if result.ready else 1


def cmd_drill(args: argparse.Namespace) -> int:
    """`yuqing drill list|run|score|report`: drills through the real ingest path (playbooks/drills/runner.py).

    ``run --headless`` prints the score and exits 0 when the drill ran to its end (passed or not: the
    verdict is printed and stored in DrillRun.passed, which the readiness gate reads); ``--strict``
    exits 1 when it did not pass. A drill that cannot run (store down, unknown scenario) exits 2.
    It runs as --as (a manager or admin, proven by their token or password), or without --as as
    ``cli:<OS user>``.
    """
    from playbooks.drills import runner as drill
    from playbooks.drills.schema import ScenarioError
    from store.models import DrillRun
    from yuqing.context import build_context

    ctx = build_context(_settings(args))
    try:
        if args.drill_command == "list":
            for s in drill.scenarios(ctx.settings.firm):
                print(
                    f"{s.id}\t{s.name}\t{len(s.timeline)} 条帖子（应预警 {s.should_flag}），约 {s.duration_minutes:g} 分钟"
                )
            return 0
        if args.drill_command == "report":
            with ctx.records.session() as session:
                run = session.get(DrillRun, args.run_id)
                if run is None:
                    raise CliError(f"演练 #{args.run_id} 不存在")
                text = run.report_md or "（该演练尚无报告）"
            if args.output:
                try:
                    Path(args.output).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise CliError(f"无法写入 {args.output}: {exc.strerror}") from exc
                print(f"已写出演练报告 {args.output}")
            else:
                print(text)
            return 0
        run_by = _drill_actor(ctx, args)
        if args.drill_command == "score":
            result = drill.score_run(ctx.drill_path(), args.run_id, actor=run_by)
        else:
            if args.speed < 0:
                raise CliError("--speed 不能为负数（0 表示不等待）")
            s = drill.scenario(ctx.settings.firm, args.scenario)
            result = drill.run_drill(
                ctx.drill_path(),
                s,
                speed=args.speed,
                run_by=run_by,
                headless=args.headless,
                window_s=args.window,
                progress=None if args.headless else print,
            )
        print(f"演练 #{result.run_id} 成绩：")
        for line in result.score.lines():
            print("  " + line)
        print(f"报告：yuqing drill report {result.run_id}")
        return 1 if getattr(args, "strict", False) and not result.passed else 0
    except (ScenarioError, drill.DrillError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        ctx.close()


def _drill_actor(ctx: Any, args: argparse.Namespace) -> str:
    """--as (or a token): a desk user allowed to run drills (负责人 or 管理员), proven; else cli:<OS user>."""
    from yuqing.cli_auth import acting_person, auth_policy, cli_label, wants_identity

    if not wants_identity(args):
        return cli_label()
    return acting_person(
        lambda: ctx.records, args, policy=auth_policy(ctx.settings), permission="drill.run"
    ).username


def cmd_audit(args: argparse.Namespace) -> int:
    """`yuqing audit verify [--anchor ID:HASH …] [--json]`: walk the audit trail's hash chain.

    Exit codes: 0 the chain holds; 1 it breaks (the first row where it does is named: a row changed,
    deleted or inserted past the desk); 2 it could not be checked (configuration, database).
    """
    from store.auditlog import verify_audit
    from store.records import Records

    anchors: dict[int, str] = {}
    for spec in args.anchor or []:
        rid, _, digest = spec.strip().lstrip("#").partition(":")
        if not rid.strip().isdigit() or len(digest.strip()) != 64:
            raise CliError(f"--anchor 应为 审计编号:链值（64 位十六进制），例如 1234:ab12…：{spec}")
        anchors[int(rid)] = digest.strip().lower()
    settings = _settings(args)
    try:
        records = Records(settings.store.resolved_records_url())
    except Exception as exc:  # noqa: BLE001 - say which database, not a traceback
        raise CliError(f"无法打开记录库 / cannot open the records database: {exc}") from exc
    try:
        with records.session() as session:
            report = verify_audit(session, anchors=anchors)
    finally:
        records.dispose()
    brk = report.first_break
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "rows_checked": report.rows,
                    "head_id": report.head_id,
                    "head_hash": report.head_hash,
                    "first_break": None
                    if brk is None
                    else {
                        "row_id": brk.row_id,
                        "position": brk.position,
                        "kind": brk.kind,
                        "message": brk.message,
                    },
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif brk is None:
        head = f"链尾 {report.head_id}:{report.head_hash}" if report.head_id is not None else "日志为空"
        print(f"审计链完整：{report.rows} 行逐行核对无误；{head}")
        print("（可记下链尾，日后用 --anchor 编号:链值 核对日志未被整体改写）/ audit chain intact")
    else:
        print(f"审计链断裂 / audit chain broken：{brk.message}", file=sys.stderr)
        print(f"此前 {report.rows} 行完好。", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    """Records schema to the newest Alembic revision; with Elasticsearch, its index and alias too."""
    from store.records import Records, upgrade_sql

    settings = _settings(args)
    url = settings.store.resolved_records_url()
    if args.sql:
        print(upgrade_sql(url))
        return 0
    try:
        records = Records(url, create=False)
        applied = records.migrate()
        records.dispose()
    except Exception as exc:  # OperationalError and friends: say which database, not a traceback
        raise CliError(f"无法迁移记录库 / cannot migrate records database: {exc}") from exc
    print(
        f"记录库已是最新结构（{', '.join(applied)}）"
        if applied
        else "记录库结构已是最新 / records schema up to date"
    )
    if settings.store.posts_engine == "elasticsearch":
        from yuqing.context import build_context

        ctx = build_context(settings)
        try:
            from store.posts_es import MAPPING_VERSION

            ctx.index.ensure_index()
            current = ctx.index.current_index()
            if current != ctx.index.versioned_name(MAPPING_VERSION):
                print(f"重建索引 / reindexing {current} → {ctx.index.reindex(MAPPING_VERSION)}")
            print(f"Elasticsearch 别名 {ctx.index.alias} → {ctx.index.current_index()}")
        finally:
            ctx.close()
    return 0


def cmd_spool(args: argparse.Namespace) -> int:
    """`yuqing spool status|replay`: batches kept on disk while the store was down, and those it refused.

    ``status`` lists both with their reasons (exit 0, or 1 when something waits or was set aside);
    ``replay`` writes the waiting batches (exit 0 when none is left, 1 when the store still cannot take
    them); ``replay --rejected [FILE …]`` first puts set-aside batches (all, or those named) back in the
    queue, once their cause is fixed (docs/engines.md, "Set-aside batches").
    """
    from yuqing.context import build_context
    from yuqing.ingest import replay_spool

    ctx = build_context(_settings(args))
    try:
        spool = ctx.spool
        if args.action == "status":
            return _spool_status(spool)
        if args.rejected is not None:
            chosen = _chosen_rejected(spool, args.rejected)
            for path in chosen:
                spool.requeue(path)
            print(f"已将 {len(chosen)} 个被拒收的批次放回暂存队列 / requeued {len(chosen)} set-aside batches")
        report = replay_spool(ctx)
        left = len(spool)
        aside = len(spool.rejected())
    finally:
        ctx.close()
    print(
        f"已补写 {report.replayed} 条（新增 {report.stored_new}，预警新开 {report.alerts_opened}），剩余 {left} 批"
        + (f"；被拒收另存 {aside} 批（yuqing spool status 查看原因）" if aside else "")
    )
    for line in report.rejected:
        print(f"  拒收 {line}", file=sys.stderr)
    if left:
        print(f"存储仍不可用 / store still unavailable: {report.replay_error}", file=sys.stderr)
    return 1 if left or report.rejected else 0


def _spool_status(spool: Any) -> int:
    pending, rejected = spool.pending(), spool.rejected()
    print(f"暂存目录 {spool.dir}：{len(pending)} 批，{spool.pending_posts()} 条待补写")
    for path in pending:
        head = spool.header(path)
        print(
            f"  待补写 / waiting: {path.name}  {head.get('count', '?')} 条  {head.get('stage', '?')}  "
            f"{head.get('at', '')}  原因：{head.get('reason', '') or '—'}"
        )
    if rejected:
        print(f"被拒收、需人工处理的批次 {len(rejected)} 个（{spool.rejected_dir}）/ set aside:")
    for path in rejected:
        head = spool.header(path)
        print(f"  {path.name}  {head.get('count', '?')} 条  {head.get('at', '')}")
        print(f"    原因 / reason: {spool.rejected_reason(path) or head.get('reason', '') or '—'}")
        for post_id, why in list((head.get("reasons") or {}).items())[:5]:
            print(f"    {post_id}: {why}")
    if rejected:
        print("修正原因后运行 yuqing spool replay --rejected 重新写入（docs/engines.md）")
    return 1 if pending or rejected else 0


def _chosen_rejected(spool: Any, names: list[str]) -> list[Path]:
    rejected = spool.rejected()
    if not names:
        return rejected
    by_name = {p.name: p for p in rejected}
    missing = [n for n in names if Path(n).name not in by_name]
    if missing:
        raise CliError(f"{spool.rejected_dir} 中没有这些批次 / not set aside: {', '.join(missing)}")
    return [by_name[Path(n).name] for n in names]


def cmd_sweep(args: argparse.Namespace) -> int:
    """`yuqing sweep [--hours H]`: open the alert of every stored flagged post that has none.

    Exit 0 when every flagged post now has its alert, 1 when the store could not be used (try again).
    """
    from datetime import UTC, datetime, timedelta

    from yuqing.context import build_context
    from yuqing.ingest import sweep_alerts

    if args.hours is not None and args.hours <= 0:
        raise CliError("--hours 必须是正数 / must be positive")
    since = datetime.now(UTC) - timedelta(hours=args.hours) if args.hours else None
    ctx = build_context(_settings(args))
    try:
        result = sweep_alerts(ctx, since=since)
    finally:
        ctx.close()
    print(result.summary())
    return 1 if result.error else 0


def _embedded_files(settings: Settings):
    from store.backup import embedded_files

    s = settings.store
    return embedded_files(s.path, s.resolved_records_url(), s.posts_engine)


def cmd_backup(args: argparse.Namespace) -> int:
    from store.backup import BackupError, backup
    from store.spool import Spool, spool_dir_for

    settings = _settings(args)
    try:
        spool = Spool(spool_dir_for(settings.store.path, settings.store.spool_dir))
        manifest = backup(_embedded_files(settings), Path(args.output), spool=spool)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    for f in manifest["files"]:
        counts = "，".join(
            f"{k} {v}" for k, v in f["tables"].items() if k in ("posts", "alerts", "escalations", "audit_log")
        )
        print(f"{f['name']}（{f['role']}）：{counts}；sha256 {f['sha256'][:16]}…")
    print(f"已备份到 {args.output}（暂存批次 {len(manifest['spool'])} 个）/ backup written")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from store.backup import BackupError, restore
    from store.spool import Spool, spool_dir_for

    settings = _settings(args)
    try:
        spool = Spool(spool_dir_for(settings.store.path, settings.store.spool_dir))
        manifest = restore(Path(args.input), _embedded_files(settings), spool=spool, force=args.force)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"已从 {args.input} 恢复（备份时间 {manifest['created_at']}）/ restored")
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    """`yuqing notify test [--channel NAME]` / `yuqing notify send`: try the channels; deliver the outbox once."""
    from playbooks.notify.deliver import deliver_pending, run_channel_tests
    from yuqing.context import build_context
    from yuqing.notify import notify_config

    settings = _settings(args)
    config = notify_config(settings)
    if args.action == "test" and not config.channels:
        raise CliError("没有配置通知通道（yuqing.toml 的 [[notify.channels]]，见 docs/notifications.md）")
    ctx = build_context(settings)
    try:
        if args.action == "send":
            report = deliver_pending(ctx.records, config)
            for o in report.outcomes:
                if not o.ok:
                    print(
                        f"  #{o.id} {o.channel}/{o.target} 第 {o.attempts} 次失败：{o.reason}",
                        file=sys.stderr,
                    )
            print(report.summary())
            return 0 if report.failed == 0 else 1
        try:
            results = run_channel_tests(
                ctx.records, config, names=args.channel or None, link=settings.desk.base_url
            )
        except KeyError as exc:
            raise CliError(f"未配置的通知通道 / unknown channel: {exc.args[0]}") from exc
    finally:
        ctx.close()
    for r in results:
        print(f"{r.channel}（{r.kind}）：" + ("ok 已送达" if r.ok else f"failed 失败：{r.reason}"))
    return 0 if all(r.ok for r in results) else 1


def cmd_holidays(args: argparse.Namespace) -> int:
    """`yuqing holidays [--year Y]` (yuqing/roster_cli.py)."""
    from yuqing import roster_cli
    from yuqing.context import load_calendar

    if config_path(args.config).exists():  # works without a config; with one, an entered notice counts
        load_calendar(_settings(args))
    try:
        return roster_cli.cmd_holidays(args)
    except roster_cli.RosterCliError as exc:
        raise CliError(str(exc)) from exc


def cmd_roster(args: argparse.Namespace) -> int:
    """`yuqing roster import|show` (yuqing/roster_cli.py)."""
    from yuqing import roster_cli

    try:
        return roster_cli.cmd_roster(args, _settings(args))
    except roster_cli.RosterCliError as exc:
        raise CliError(str(exc)) from exc


def cmd_user(args: argparse.Namespace) -> int:
    """`yuqing user add|list|passwd|disable|enable|unlock` (yuqing/users_cli.py)."""
    from yuqing import users_cli

    try:
        return users_cli.run(args, _settings(args))
    except users_cli.UserCliError as exc:
        raise CliError(str(exc)) from exc


def cmd_alerts(args: argparse.Namespace) -> int:
    """`yuqing alerts [--level …] [--status …] [--ack ID …]`: list and acknowledge alerts (yuqing/alerts_cli.py)."""
    from yuqing import alerts_cli
    from yuqing.context import build_context

    ctx = build_context(_settings(args))
    try:
        return alerts_cli.run(args, ctx)
    finally:
        ctx.close()


def cmd_learn(args: argparse.Namespace) -> int:
    """`yuqing learn [--dry-run|--status|--rollback]`: the firm's layer refit on officers' verdicts
    (yuqing/learn_cli.py, yuqing/learn.py)."""
    from yuqing import learn_cli
    from yuqing.context import build_context

    ctx = build_context(_settings(args))
    try:
        return learn_cli.run(args, ctx)
    finally:
        ctx.close()


def cmd_desk(args: argparse.Namespace) -> int:
    """`yuqing desk`: the Streamlit desk; beside it (``[desk] watch_clocks``, on by default) the clock watch
    and the outbox pump, so an alert nobody acknowledges is chased up the chain while the desk is open."""
    settings = _settings(args)
    env = dict(os.environ)
    if args.config:
        env["YUQING_CONFIG"] = str(Path(args.config).resolve())
    helpers: list = []
    ctx = None
    if settings.desk.watch_clocks and not getattr(args, "no_watch", False):
        from yuqing.clock_watch import ClockWatch
        from yuqing.context import build_context
        from yuqing.notify import outbox_pump

        ctx = build_context(settings)
        _ = ctx.records  # opened (migrated) here, before the threads: Alembic is not thread-safe
        helpers.append(ClockWatch(ctx).start())
        if settings.notify.channels or settings.notify.smtp.host:
            helpers.append(outbox_pump(ctx.records, settings).start())
    try:
        return run_desk(env, port=args.port, base_url=settings.desk.base_url)
    finally:
        for helper in helpers:
            helper.stop()
        if ctx is not None:
            ctx.close()


BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def cmd_bench(args: argparse.Namespace) -> int:
    """`yuqing bench NAME [options]` runs bench/bench_NAME.py: figures printed, nothing asserted."""
    import runpy

    script = BENCH_DIR / f"bench_{args.name}.py"
    if not script.is_file():
        known = sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))
        raise CliError(
            f"没有名为 {args.name!r} 的基准 / no benchmark {args.name!r}; known: {', '.join(known)}"
        )
    old_argv = sys.argv
    sys.argv = [str(script), *args.bench_args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
    return 0


def cmd_stress(args: argparse.Namespace) -> int:
    """`yuqing stress --factor 3`: replay the busiest hour faster into a scratch store (yuqing/stress.py)."""
    from yuqing import stress

    return stress.run_cli(args, _settings(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from yuqing.demo import run_demo

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="yuqing-demo-"))
    return run_demo(workdir=workdir, headless=args.headless, port=args.port)


# --------------------------------------------------------------------------- parser


MANAGER_AS_HELP = (
    "以该负责人身份（需其令牌或密码；默认当前系统用户名）/ acting manager (their token or password)"
)
DRILL_AS_HELP = (
    "以该负责人身份（需其令牌或密码；不指定则记为 cli:系统用户名）/ acting manager (token or password)"
)


def build_parser() -> argparse.ArgumentParser:
    from yuqing.cli_auth import add_credential_args

    p = argparse.ArgumentParser(prog="yuqing", description="舆情值守台 Yuqing Desk")
    p.add_argument("--config", help="配置文件 / config file (default: $YUQING_CONFIG or ./yuqing.toml)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="写出 yuqing.toml 并创建内嵌存储 / write yuqing.toml, create the store")
    s.add_argument("--force", action="store_true")
    s.add_argument("--firm", help="本公司全称 / your firm's full registered name (else the 华鼎证券 example)")
    s.add_argument("--short", action="append", help="简称（可重复）/ a short name (repeat for more)")
    s.add_argument(
        "--code", action="append", help="股票代码（可重复）/ a 6-digit stock code (repeat for more)"
    )
    s.add_argument("--executive", action="append", help="高管姓名（可重复）/ an executive (repeat)")
    s.add_argument("--product", action="append", help="产品或 APP 名（可重复）/ a product or app (repeat)")
    s.add_argument(
        "--exclude", action="append", help="易混淆的他人名称（可重复）/ a look-alike that is not you"
    )
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("demo", help="演示：本地演示信息源 → 抓取 → 分析 → 存储 → 值守台")
    s.add_argument("--headless", action="store_true", help="只打印摘要后退出 / print a summary and exit")
    s.add_argument("--workdir", help="演示数据目录 / where the demo keeps its files (default: a temp dir)")
    s.add_argument("--port", type=int, default=8501, help="值守台端口 / desk port")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("crawl", help="运行一次已配置的爬虫 / run the configured spiders once")
    s.add_argument("--source", action="append", help="只抓取这些信息源 / only these sources (repeatable)")
    s.set_defaults(func=cmd_crawl)

    s = sub.add_parser("schedule", help="按间隔持续抓取各信息源 / keep crawling each source at its interval")
    s.add_argument("--source", action="append", help="只调度这些信息源 / only these sources (repeatable)")
    s.add_argument(
        "--holiday", action="store_true", help="节假日模式：间隔缩短 / holiday mode: shorter intervals"
    )
    s.add_argument(
        "--once", action="store_true", help="每个信息源运行一次后退出 / each source once, then exit"
    )
    s.add_argument("--max-runs", type=int, help="运行这么多次后退出 / exit after N runs")
    s.set_defaults(func=cmd_schedule)

    s = sub.add_parser("clocks", help="检查处置时限，按升级链通知 / check clocks, notify the chain")
    s.add_argument("--once", action="store_true", help="检查一次后退出 / check once, then exit")
    s.set_defaults(func=cmd_clocks)

    s = sub.add_parser(
        "ingest",
        help="从 JSONL 文件入库并预警；退出码 0 全部入库，1 有行被拒收，2 失败，75 存储不可用已暂存 / "
        "store and flag posts from a JSONL file",
    )
    s.add_argument("--input", required=True)
    s.add_argument(
        "--drill", action="store_true", help=argparse.SUPPRESS
    )  # refused: drills use `yuqing drill`
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("analyze", help="只分析不入库 / batch analysis without storing")
    s.add_argument("--input", required=True)
    s.add_argument("--output", required=True)
    s.add_argument("--batch-size", type=int, default=256)
    s.set_defaults(func=cmd_analyze)

    s = sub.add_parser("desk", help="启动值守台 / start the Streamlit desk")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument(
        "--no-watch",
        action="store_true",
        help="不在值守台旁检查时限、发送通知（另有 yuqing schedule 时） / no clock watch or outbox pump beside the desk",
    )
    s.set_defaults(func=cmd_desk)

    s = sub.add_parser("export", help="导出帖子及分析结果 / dump stored posts with their analysis")
    s.add_argument("--output", required=True)
    s.add_argument("--include-drills", action="store_true")
    s.add_argument(
        "--false-positives",
        action="store_true",
        help="只导出被标为误报的预警（含帖子、模型判断与误报原因），作训练数据 / false positives as training data",
    )
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("migrate", help="记录库结构升级到最新（Alembic）/ migrate the records database")
    s.add_argument("--sql", action="store_true", help="只打印 SQL，不执行 / print the SQL instead")
    s.set_defaults(func=cmd_migrate)

    s = sub.add_parser("audit", help="审计记录：核对哈希链 / the audit trail: verify its hash chain")
    asub = s.add_subparsers(dest="audit_command", required=True)
    a = asub.add_parser(
        "verify", help="逐行核对审计链，报告第一处断裂（退出码 0 完整，1 断裂）/ verify the chain"
    )
    a.add_argument(
        "--anchor",
        action="append",
        help="此前记下的 审计编号:链值，核对其仍在且未变（可重复）/ an ID:HASH noted earlier (repeatable)",
    )
    a.add_argument("--json", action="store_true", help="输出 JSON / print the result as JSON")
    a.set_defaults(func=cmd_audit)

    s = sub.add_parser(
        "spool",
        help="存储不可用时暂存的批次与被拒收的批次 / batches kept while the store was down, or refused",
    )
    s.add_argument("action", choices=["status", "replay"])
    s.add_argument(
        "--rejected",
        nargs="*",
        metavar="FILE",
        help="replay：先把被拒收的批次（默认全部）放回队列 / requeue set-aside batches (default: all) first",
    )
    s.set_defaults(func=cmd_spool)

    s = sub.add_parser(
        "sweep",
        help="为缺少预警的已入库预警帖子补开预警 / open the alert of every flagged post that has none",
    )
    s.add_argument(
        "--hours", type=float, help="只查最近 H 小时入库的帖子 / only posts first seen in the last H hours"
    )
    s.set_defaults(func=cmd_sweep)

    s = sub.add_parser("backup", help="备份内嵌存储（运行中也一致）/ back up the embedded store")
    s.add_argument("--output", required=True, help="新的备份目录 / a new directory")
    s.set_defaults(func=cmd_backup)

    s = sub.add_parser("restore", help="从备份恢复内嵌存储 / restore the embedded store from a backup")
    s.add_argument("--input", required=True, help="备份目录 / the backup directory")
    s.add_argument("--force", action="store_true", help="覆盖已有存储 / overwrite an existing store")
    s.set_defaults(func=cmd_restore)

    s = sub.add_parser(
        "notify", help="通知通道：测试各通道 / 发送待发通知 / test channels, deliver the outbox"
    )
    s.add_argument("action", choices=["test", "send"])
    s.add_argument("--channel", action="append", help="只测试这些通道 / only these channels (repeatable)")
    s.set_defaults(func=cmd_notify)

    from yuqing.users_cli import add_parser as add_user_parser

    add_user_parser(sub).set_defaults(func=cmd_user)

    from yuqing.roster_cli import add_parsers as add_roster_parsers

    holidays_parser, roster_parser = add_roster_parsers(sub)
    holidays_parser.set_defaults(func=cmd_holidays)
    roster_parser.set_defaults(func=cmd_roster)

    s = sub.add_parser(
        "report",
        help="报告：报告证监局草稿、舆情日报、假期舆情工作总结与签发 / regulator report, daily brief, "
        "holiday summary, sign-off",
    )
    rsub = s.add_subparsers(dest="report_command", required=True)
    r = rsub.add_parser("regulator", help="由处置记录生成报告证监局草稿 / draft from an escalation record")
    r.add_argument("--escalation", type=int, required=True, help="处置记录编号 / escalation id")
    r.add_argument("--output", required=True, help="输出 .docx 文件 / the .docx to write")
    add_credential_args(r, as_help=MANAGER_AS_HELP)
    r.set_defaults(func=cmd_report)
    from yuqing.reports_cli import add_parsers as add_report_parsers

    add_report_parsers(rsub, cmd_report)  # daily, holiday
    r = rsub.add_parser("sign", help="签发报告 / sign off a report")
    r.add_argument("--report", type=int, required=True, help="报告编号 / report id")
    add_credential_args(r, as_help=MANAGER_AS_HELP)
    r.set_defaults(func=cmd_report)

    s = sub.add_parser(
        "readiness",
        help="节前准备检查：值班表、信息源、演练、通知通道等；未就绪时退出码 1（出错 2）/ holiday readiness gate",
    )
    s.add_argument("--holiday", help="假期名称或开始日期（默认下一个假期）/ e.g. 国庆节, 2026-10-01")
    s.add_argument("--json", action="store_true", help="输出 JSON / print the result as JSON")
    s.add_argument("--at", help="按此时间检查（ISO，默认现在）/ check as of this time")
    add_credential_args(s, as_help="审计记录中的检查人（需其令牌或密码；默认 cli:系统用户名）/ who checked")
    s.set_defaults(func=cmd_readiness)

    from yuqing.stress import add_parser as add_stress_parser

    add_stress_parser(sub).set_defaults(func=cmd_stress)

    s = sub.add_parser("drill", help="应急演练：注入演练场景并评分 / drills through the live path, scored")
    dsub = s.add_subparsers(dest="drill_command", required=True)
    d = dsub.add_parser("list", help="列出演练场景 / list the scenarios")
    d.set_defaults(func=cmd_drill)
    d = dsub.add_parser("run", help="运行一个演练场景 / run a scenario")
    d.add_argument("scenario", help="场景编号或 .yaml 文件 / scenario id or file")
    d.add_argument("--speed", type=float, default=1.0, help="倍速：60 = 每秒一分钟；0 = 不等待 / speed-up")
    d.add_argument("--headless", action="store_true", help="不等值班员，打印成绩 / short wait, print score")
    d.add_argument("--window", type=float, help="最后一条后等待响应的秒数 / response window in seconds")
    d.add_argument("--strict", action="store_true", help="未通过时退出码为 1 / exit 1 when not passed")
    add_credential_args(d, as_help=DRILL_AS_HELP)
    d.set_defaults(func=cmd_drill)
    d = dsub.add_parser("score", help="按值守台当前处置情况重新评分 / score a run again")
    d.add_argument("run_id", type=int)
    add_credential_args(d, as_help=DRILL_AS_HELP)
    d.set_defaults(func=cmd_drill)
    d = dsub.add_parser("report", help="打印或写出演练报告 / print or write a run's report")
    d.add_argument("run_id", type=int)
    d.add_argument("--output", help="写入 Markdown 文件 / write to a .md file")
    d.set_defaults(func=cmd_drill)

    from yuqing.learn_cli import add_parser as add_learn_parser

    add_learn_parser(sub).set_defaults(func=cmd_learn)

    from yuqing.alerts_cli import add_parser as add_alerts_parser

    add_alerts_parser(sub).set_defaults(func=cmd_alerts)

    s = sub.add_parser("bench", help="基准测试，打印数字 / run a benchmark from bench/ and print its figures")
    s.add_argument("name", help="nlp, extract, store, …")
    s.add_argument("bench_args", nargs=argparse.REMAINDER, help="passed to the benchmark")
    s.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    import jieba

    jieba.setLogLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (CliError, ConfigError) as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a sentiment model that cannot be loaded: its message says why
        from nlp.sentiment import ModelLoadError, UnknownModelError

        if not isinstance(exc, ModelLoadError | UnknownModelError):
            raise
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
