"""应急演练 — the drill scenarios, past runs with their scores and verdicts, and each run's report.

Drills run as their own process (``yuqing drill run SCENARIO --speed 60``): a run takes the scenario's
length divided by the speed, longer than a page should wait. A manager can start one here (the page
starts that command in the background, as the signed-in manager), or run it on the server. While a
run is going, the queue shows a drill banner and the drill's alerts sit under 「只看演练预警」.
A manager can score a run again here (after acting on its alerts), which updates its report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from desk import state
from desk.drill_ui import show_drill_banner
from desk.ui import escape_markdown, format_time, plain
from playbooks import users
from playbooks.authz import PermissionDenied, require, role_allows
from playbooks.drills import runner as drill
from playbooks.drills.runs import recent_runs, running_runs
from playbooks.drills.schema import ScenarioError
from playbooks.drills.scoring import duration_label, rate_label
from store.models import utcnow
from yuqing.config import config_path

SPEEDS = {0.0: "不等待（只检验发现）", 60.0: "60 倍速（场景一分钟为一秒）", 10.0: "10 倍速", 1.0: "实时"}
STATUS_LABELS = {"running": "进行中", "finished": "已结束", "aborted": "已中止"}
PICK_KEY = "desk.drills.run"
TOKEN_LIFETIME = timedelta(minutes=10)  # the started command checks it once, when it starts


def start_in_background(config: str | Path, scenario_id: str, speed: float, username: str) -> Path:
    """Start ``yuqing drill run`` as its own process (a run lasts the scenario's length / speed, longer
    than a page should wait); it records itself in the store. Returns the log file's path.

    The command acts as the signed-in manager, and the command line takes no name on its word: the
    page hands it a token of that person's, good for a few minutes (it is checked when the command
    starts), in the child's environment only (never an argument, never logged)."""
    with ctx.records.session() as s:
        token = users.issue_token(s, username, by=username, label="desk: drill run", lifetime=TOKEN_LIFETIME)
    log = Path(tempfile.gettempdir()) / f"yuqing-drill-{scenario_id}-{int(time.time())}.log"
    cmd = [sys.executable, "-m", "yuqing.cli", "--config", str(config), "drill", "run", scenario_id]
    cmd += ["--speed", f"{speed:g}", "--as", username]
    env = {**os.environ, "YUQING_TOKEN": token}
    with log.open("wb") as out:
        subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    return log


def _scored(run) -> bool:
    return "verdict" in (run.score or {})


state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()

st.title("应急演练")
state.show_flash()
st.caption(
    "演练帖子经真实入库流程注入并标记为演练：通知只记录不发送，不生成报告证监局，不计入态势总览等生产统计。"
)
show_drill_banner(ctx)

# ----------------------------------------------------------------------------- scenarios
st.subheader("演练场景")
try:
    scenarios = drill.scenarios(ctx.settings.firm)
except ScenarioError as exc:
    st.error(f"演练场景文件有误：{plain(exc)}")
    scenarios = []
if scenarios:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "编号": s.id,
                    "名称": s.name,
                    "帖子": len(s.timeline),
                    "应预警": s.should_flag,
                    "时长（分钟）": round(s.duration_minutes),
                    "预案": s.playbook or "—",
                }
                for s in scenarios
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    for s in scenarios:
        with st.expander(f"{s.name}（{s.id}）"):
            st.markdown(escape_markdown(s.description))
            st.code(f"yuqing drill run {s.id} --speed 60 --as 用户名", language="bash")
            for n, step in enumerate(s.timeline, start=1):
                want = "应预警" if step.expect.flag else "不应预警"
                if step.expect.min_level:
                    want += f"（≥{step.expect.min_level}级）"
                st.markdown(
                    f"**{n}. +{step.at:g} 分 · {escape_markdown(step.post.source)} · {want}**  \n"
                    f"{escape_markdown(step.post.title or step.post.text, 160)}"
                )
if scenarios and actor is not None and role_allows(actor.role, "drill.run"):
    with st.form("desk.drills.start"):
        st.markdown("**开始演练**（负责人、管理员）")
        f1, f2 = st.columns([3, 2])
        pick = f1.selectbox(
            "场景",
            [s.id for s in scenarios],
            format_func=lambda i: next(s.name for s in scenarios if s.id == i),
        )
        speed = f2.selectbox("速度", list(SPEEDS), format_func=SPEEDS.get, index=1)
        if st.form_submit_button("开始演练", type="primary"):
            try:
                with ctx.records.session() as s:
                    busy = running_runs(s, now=utcnow())
                if busy:
                    st.warning(
                        f"已有演练在进行（#{busy[0].id} {plain(busy[0].scenario_name)}），请等它结束后再开始。"
                    )
                else:
                    log = start_in_background(
                        Path(config_path()).resolve(), pick, speed, require(actor, "drill.run").username
                    )
                    state.flash(
                        "success", f"演练已在后台开始（{SPEEDS[speed]}），稍后刷新本页查看。日志：{log}"
                    )
                    st.rerun()
            except (PermissionDenied, users.UserError) as exc:
                st.error(str(exc))
            except OSError as exc:
                st.error(f"无法启动演练：{plain(exc)}")
st.caption(
    "在服务器上运行 `yuqing drill run 场景编号 --speed 60`（60 倍速：场景一分钟为一秒；--speed 1 为实时），"
    "演练期间在「预警队列」打开「只看演练预警」进行确认、升级；结束后在此查看成绩与报告。"
)

# ----------------------------------------------------------------------------- runs
st.subheader("演练记录")
try:
    with ctx.records.session() as s:
        runs = recent_runs(s, limit=50)
        rows = [
            {
                "id": r.id,
                "场景": r.scenario_name,
                "发起人": r.run_by,
                "开始": format_time(r.started_at),
                "状态": STATUS_LABELS.get(r.status, r.status),
                "发现率": rate_label((r.score or {}).get("discovery_rate")),
                "确认用时": duration_label(
                    (r.score or {}).get("time_to_acknowledge_s"), none="未确认" if _scored(r) else "—"
                ),
                "升级用时": duration_label(
                    (r.score or {}).get("time_to_escalate_s"), none="未升级" if _scored(r) else "—"
                ),
                "时限达标率": rate_label((r.score or {}).get("compliance_rate"), none="—"),
                "结论": "通过" if r.passed else ("未通过" if r.passed is False else "—"),
            }
            for r in runs
        ]
        reports = {r.id: r.report_md for r in runs}
        statuses = {r.id: r.status for r in runs}
except Exception as exc:
    st.error("无法读取演练记录（处置记录库不可用）。")
    st.caption(f"{type(exc).__name__}: {str(exc)[:300]}")
    st.stop()
if not rows:
    st.info("还没有演练记录。")
    st.stop()
st.dataframe(pd.DataFrame(rows).rename(columns={"id": "编号"}), hide_index=True, width="stretch")

ids = [r["id"] for r in rows]
picked = st.selectbox(
    "查看演练报告",
    ids,
    format_func=lambda i: next(
        f"#{r['id']} {r['场景']} · {r['开始']} · {r['结论']}" for r in rows if r["id"] == i
    ),
    key=PICK_KEY,
)
report_md = reports[picked]
c1, c2 = st.columns([1, 1])
c1.download_button(
    "下载演练报告（Markdown）",
    data=(report_md or "").encode("utf-8"),
    file_name=f"drill-{picked}.md",
    mime="text/markdown",
    disabled=not report_md,
)
can_score = actor is not None and role_allows(actor.role, "drill.run")
if can_score and c2.button("按当前处置情况重新评分", help="演练结束后才确认、升级的预警也计入（按实际用时）"):
    try:
        drill.score_run(ctx.drill_path(), picked, actor=actor.username)
    except drill.DrillError as exc:
        st.error(str(exc))
    else:
        state.flash("success", f"演练 #{picked} 已重新评分。")
        st.rerun()
if (
    can_score
    and statuses[picked] == "running"
    and st.button("标记为中止", help="演练进程已不在运行（例如服务器重启）时使用；中止的演练不计为通过")
):
    drill.abort_run(ctx.drill_path(), picked, actor=actor.username, reason="marked aborted on the desk")
    state.flash("success", f"演练 #{picked} 已标记为中止。")
    st.rerun()
if report_md:
    with st.container(border=True):
        st.markdown(report_md)  # built by playbooks.drills.report: post texts are escaped there
else:
    st.info("该演练尚无报告（仍在进行或已中止）。")
