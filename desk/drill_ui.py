"""The drill banner: while a drill runs, every queue says so, so nobody takes a rehearsal for the real thing."""

from __future__ import annotations

import streamlit as st

from playbooks.drills.runs import open_drill_alerts, running_runs
from store.models import utcnow


def drill_banner_text(ctx) -> str | None:
    """「演练进行中：N 条演练预警，不是真实舆情」 while a DrillRun is running; None otherwise."""
    try:
        with ctx.records.session() as s:
            runs = running_runs(s, now=utcnow())
            if not runs:
                return None
            names = "、".join(dict.fromkeys(r.scenario_name for r in runs))
            count = open_drill_alerts(s)
    except Exception:  # the records database is down: the queue says so elsewhere
        return None
    return f"演练进行中（{names}）：{count} 条演练预警，不是真实舆情。打开「只看演练预警」处理演练预警。"


def show_drill_banner(ctx) -> None:
    text = drill_banner_text(ctx)
    if text:
        st.warning(text.replace("*", "\\*").replace("_", "\\_"), icon="🎯")
