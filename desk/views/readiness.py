"""节前准备 — the readiness gate before a holiday (playbooks/readiness.py) for 负责人 and 管理员.

The next holiday and the days left; each check green or red with what is wrong and what to do; 重新检查;
and the manager's 确认节前准备就绪, allowed only when every check passes (checked again on the server
side in ``playbooks.readiness.sign_off``). Every check shown here is recorded in the audit trail (who looked,
the result), so a manager can show the regulator that readiness was checked before the holiday. The page
checks once when it opens (or the holiday changes) and again on 重新检查, not on every click.
"""

from __future__ import annotations

import streamlit as st

from desk import state
from desk.ui import escape_markdown, format_time, plain
from playbooks import holidays, readiness
from playbooks.authz import PermissionDenied, role_allows
from playbooks.readiness import (
    CHECK_ACTION,
    SIGNOFF_ACTION,
    SIGNOFF_PERMISSION,
    ReadinessError,
    holiday_key,
    holiday_label,
)

RESULT_KEY = "desk.readiness.result"  # (holiday key, Readiness) of the last check on this page
HOLIDAY_KEY = "desk.readiness.holiday"  # the chosen holiday (selectbox)

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()
if actor is None or not role_allows(actor.role, SIGNOFF_PERMISSION):
    st.error("节前准备仅供负责人和管理员查看。")
    st.stop()

st.title("节前准备")
st.caption(
    "假期前确认：值班表完整、信息源正常、最近一次演练通过、通知通道已测试等。"
    "每次检查都记入审计日志；全部通过后由负责人确认节前准备就绪。"
)
state.show_flash()

now = readiness.clock()
today = readiness.beijing_day(now)
try:
    coming = holidays.next_holidays(today, 3)
except LookupError as exc:  # CalendarDataMissing: the next year's arrangement is not installed yet
    st.error(str(exc.args[0]) if exc.args else str(exc))
    st.stop()

labels = {holiday_key(h): h for h in coming}
chosen_key = st.selectbox(
    "假期", list(labels), format_func=lambda k: holiday_label(labels[k]), key=HOLIDAY_KEY
)
holiday = labels[chosen_key]
recheck = st.button("重新检查", icon="🔄")


def run_check():
    result = readiness.check_readiness(ctx.readiness_parts(), holiday=holiday, now=now)
    with ctx.records.session() as session:
        readiness.record_check(session, result, actor=actor.username, via="desk")
    st.session_state[RESULT_KEY] = (chosen_key, result)
    return result


try:
    kept = st.session_state.get(RESULT_KEY)
    result = run_check() if recheck or kept is None or kept[0] != chosen_key else kept[1]
except ReadinessError as exc:
    st.error(str(exc))
    st.stop()

left = result.days_left()
c1, c2, c3 = st.columns(3)
c1.metric("假期", holiday.name_cn)
c2.metric("距假期开始", f"{left} 天" if left and left > 0 else readiness.days_left_text(result))
c3.metric("未通过的检查", len(result.failed))
st.caption(
    f"{holiday_label(holiday)} · 检查时间 {format_time(result.checked_at)} · 检查人 {escape_markdown(actor.label)}"
)

if result.ready:
    st.success(f"已就绪：全部 {len(result.checks)} 项检查通过。")
else:
    st.error(f"未就绪：{len(result.failed)} 项检查未通过，请按下面的说明处理后重新检查。")

for check in result.checks:
    text = f"**{'✓' if check.ok else '✗'} {check.name_cn}**：{escape_markdown(check.detail_cn)}"
    if check.ok:
        st.success(text)
    else:
        st.error(text + (f"\n\n处理：{escape_markdown(check.fix_cn)}" if check.fix_cn else ""))

st.subheader("确认节前准备就绪")
if not result.ready:
    st.caption("全部检查通过后才能确认。")
if st.button("确认节前准备就绪", type="primary", disabled=not result.ready):
    try:
        signed = readiness.sign_off(ctx.readiness_parts(), actor, holiday=holiday, now=readiness.clock())
    except (PermissionDenied, ReadinessError) as exc:
        st.error(str(exc))
    else:
        st.session_state[RESULT_KEY] = (chosen_key, signed)
        state.flash("success", f"已确认{holiday.name_cn}节前准备就绪，并记入审计日志。")
        st.rerun()

ACTIONS = {CHECK_ACTION: "检查", SIGNOFF_ACTION: "确认就绪"}
with ctx.records.session() as session:
    entries = readiness.history(session, holiday)
signoffs = [e for e in entries if e.action == SIGNOFF_ACTION]
if signoffs:
    st.info(f"最近一次确认：{escape_markdown(signoffs[0].actor)} 于 {format_time(signoffs[0].at)}")
if entries:
    st.markdown("**检查与确认记录**")
    st.dataframe(
        [
            {
                "时间": format_time(e.at),
                "人员": plain(e.actor),
                "动作": ACTIONS.get(e.action, e.action),
                "结论": "已就绪"
                if e.action == SIGNOFF_ACTION or e.detail.get("ready")
                else "未就绪：" + "、".join(e.detail.get("failed") or []),
                "途径": {"desk": "值守台", "cli": "命令行"}.get(e.detail.get("via", ""), "值守台"),
            }
            for e in entries
        ],
        hide_index=True,
        width="stretch",
    )
