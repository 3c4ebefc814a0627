"""信息源健康 — is every source still being seen? Last successful crawl, items, errors, silent sources."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from desk import state
from desk.ui import escape_markdown, format_age, format_time
from store.health import recent_runs, source_health

FINISH_LABELS = {
    "finished": "完成",
    "crashed": "进程崩溃",
    "timeout": "超时终止",
    "not_started": "未能启动",
    "shutdown": "被中止",
}

state.init_session_state()
ctx = state.get_context()

st.title("信息源健康")
st.caption(
    f"超过“抓取间隔 × {ctx.settings.health.silent_factor:g}”没有抓到内容即视为沉默；"
    f"最近 {ctx.settings.health.recent_runs} 次抓取的错误率比此前高出 "
    f"{ctx.settings.health.error_rate_jump:.0%} 以上即视为错误率突增。"
)

now = datetime.now(UTC)
try:
    with ctx.records.session() as session:
        health = source_health(session, sources=ctx.settings.sources, rules=ctx.settings.health, now=now)
        runs = recent_runs(session, limit=100)
except Exception as exc:  # the records database is down: say so instead of a traceback
    st.error("无法读取信息源健康记录（处置记录库不可用），请检查 [store] records_url 与数据库状态。")
    st.caption(f"{type(exc).__name__}: {str(exc)[:300]}")
    st.stop()
if not health:
    st.info("尚未配置信息源。请在 yuqing.toml 的 [[sources]] 中添加。")
    st.stop()

flagged = [h for h in health if h.flagged]
enabled = [h for h in health if h.enabled]
c1, c2, c3, c4 = st.columns(4)
c1.metric("启用的信息源", len(enabled))
c2.metric("异常信息源", len(flagged))
c3.metric("24 小时新增", sum(h.items_new_24h for h in health))
c4.metric("24 小时错误", sum(h.errors_24h for h in health))

if flagged:
    for h in flagged:
        st.error(
            f"**{escape_markdown(h.label)}** · {h.status}\n\n"
            + "\n".join(f"- {escape_markdown(r)}" for r in h.reasons)
        )
else:
    st.success(f"全部 {len(enabled)} 个启用的信息源运行正常。")


def _when(dt: datetime | None) -> str:
    return f"{format_time(dt)}（{format_age(dt, now)}前）" if dt else "从未"


rows = [
    {
        "信息源": h.label,
        "状态": h.status,
        "最近成功抓取": _when(h.last_success_at),
        "最近抓到内容": _when(h.last_found_at),
        "抓取间隔（分钟）": h.interval_minutes,
        "24小时新增": h.items_new_24h,
        "24小时发现": h.items_found_24h,
        "24小时抓取次数": h.runs_24h,
        "近期错误率": f"{h.error_rate:.0%}",
        "平时错误率": f"{h.baseline_error_rate:.0%}",
        "最近错误": "；".join(h.last_errors[:3]),
    }
    for h in health
]
st.subheader("各信息源")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

st.subheader("最近抓取记录")
if not runs:
    st.info("还没有抓取记录。运行 `yuqing crawl` 或 `yuqing schedule` 后这里会显示每次抓取的结果。")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "开始时间": format_time(r.started_at, with_seconds=True),
                    "信息源": ctx.settings.source_label(r.source),
                    "结果": FINISH_LABELS.get(r.finish_reason, r.finish_reason or "—"),
                    "发现": r.items_found,
                    "新增": r.items_new,
                    "未变": r.unchanged,
                    "错误": r.errors,
                    "错误类型": "、".join(f"{k}×{n}" for k, n in sorted((r.error_kinds or {}).items())),
                    "错误原因": "；".join(r.error_reasons or []),
                }
                for r in runs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
