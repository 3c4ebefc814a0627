"""通知中心 — what the desk has told people: the outbox by status, failures with their reasons, the
channels and when each was last tested.

For 负责人 and 管理员 (a manager wants to know whether the 2 a.m. alert reached anyone). Admins may send
a test message on each channel and re-queue a failed message after fixing its cause; both are checked
again in the domain functions (playbooks.notify.admin.requeue, notify.test) and audited.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from desk import state
from desk.ui import format_time, level_label, plain
from playbooks.authz import PermissionDenied, require, role_allows
from playbooks.notify.admin import (
    KIND_LABELS,
    STATUS_LABELS,
    NotifyAdminError,
    outbox,
    requeue,
    status_counts,
)
from playbooks.notify.deliver import last_channel_tests, run_channel_tests
from playbooks.notify.outbox import CHANNEL_LABELS
from store.records import audit

VIEW_PERMISSION = "report.generate"  # 负责人 and above
STATUS_KEY = "desk.notify.status"
MAX_ROWS = 200

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()
if actor is None or not role_allows(actor.role, VIEW_PERMISSION):
    st.error("通知中心仅供负责人和管理员查看。")
    st.stop()

st.title("通知中心")
state.show_flash()
st.caption("值守台发出的全部通知：新预警、无人确认的预警、处置超时升级和通道测试。演练通知只记录、不发出。")

# ----------------------------------------------------------------------------- channels
settings = ctx.settings
with ctx.records.session() as s:
    tested = last_channel_tests(s)
    counts = status_counts(s)

st.subheader("通知通道")
if not settings.notify.channels:
    st.warning("尚未配置任何通知通道：严重预警和超时升级无法通知到人。请在 yuqing.toml 的 [notify] 中配置。")
else:
    rows = []
    for ch in settings.notify.channels:
        at, ok = tested.get(ch.name, (None, None))
        rows.append(
            {
                "通道": plain(ch.name),
                "类型": CHANNEL_LABELS.get(ch.kind, ch.kind),
                "最近测试": format_time(at) if at else "从未测试",
                "结果": "—" if ok is None else ("送达" if ok else "失败"),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if actor.can("notify.test") and st.button("向全部通道发送测试消息", key="desk.notify.test_all"):
        try:
            require(actor, "notify.test")
            results = run_channel_tests(ctx.records, ctx.notify_config(), link=settings.desk.base_url)
        except PermissionDenied as exc:
            st.error(str(exc))
        else:
            with ctx.records.session() as s:
                audit(
                    s,
                    actor=actor.username,
                    action="notify.tested",
                    entity="notify",
                    entity_id="channels",
                    results={r.channel: r.ok for r in results},
                )
            failed = [r for r in results if not r.ok]
            if failed:
                state.flash("error", "；".join(f"{r.channel}：{r.reason}" for r in failed))
            else:
                state.flash("success", f"{len(results)} 个通道测试消息均已送达。")
            st.rerun()

# ----------------------------------------------------------------------------- the outbox
st.subheader("通知记录")
cols = st.columns(len(STATUS_LABELS))
for col, (status, label) in zip(cols, STATUS_LABELS.items(), strict=True):
    col.metric(label, counts.get(status, 0))

chosen = st.multiselect(
    "状态",
    list(STATUS_LABELS),
    default=["failed", "pending"] if counts.get("failed") or counts.get("pending") else [],
    format_func=STATUS_LABELS.get,
    key=STATUS_KEY,
    placeholder="全部状态",
)
with ctx.records.session() as s:
    rows = outbox(s, statuses=chosen or None, limit=MAX_ROWS)

if not rows:
    st.info("没有符合条件的通知。")
else:
    table = pd.DataFrame(
        [
            {
                "编号": r.id,
                "时间": format_time(r.created_at),
                "类别": KIND_LABELS.get(r.kind, r.kind),
                "通道": CHANNEL_LABELS.get(r.channel, r.channel),
                "发往": plain(r.target),
                "级别": level_label(r.level) if r.level else "—",
                "标题": plain(r.subject, 80),
                "状态": STATUS_LABELS.get(r.status, r.status),
                "尝试次数": r.attempts,
                "失败原因": plain(r.last_error, 120),
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    if len(rows) == MAX_ROWS:
        st.caption(f"只显示最新的 {MAX_ROWS} 条。")

    failed = [r for r in rows if r.status == "failed" and not r.drill and r.kind != "test"]
    if failed and actor.can("notify.configure"):
        st.markdown("**重新发送失败的通知**（先排除失败原因，例如更正机密或网络）")
        pick = st.selectbox(
            "选择通知",
            [r.id for r in failed],
            format_func=lambda i: next(f"#{r.id} {plain(r.subject, 40)}" for r in failed if r.id == i),
            key="desk.notify.requeue_pick",
        )
        if st.button("重新发送", key="desk.notify.requeue"):
            try:
                with ctx.records.session() as s:
                    done = requeue(s, int(pick), actor)
            except (PermissionDenied, NotifyAdminError) as exc:
                st.error(str(exc))
            else:
                state.flash(
                    "success" if done else "info",
                    f"通知 #{pick} 已重新排队发送。" if done else "该通知已不在失败状态。",
                )
                st.rerun()
