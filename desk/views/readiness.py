"""节前准备 — the readiness gate before a holiday (playbooks/readiness.py) for 负责人 and 管理员.

The next holiday and the days left; each check green or red with what is wrong and what to do; 重新检查;
and the manager's 确认节前准备就绪, allowed only when every check passes (checked again on the server
side in ``playbooks.readiness.sign_off``). Every check shown here is recorded in the audit trail (who looked,
the result), so a manager can show the regulator that readiness was checked before the holiday. The page
checks once when it opens (or the holiday changes) and again on 重新检查, not on every click.

When the calendar package does not know the next holiday yet (December, before chinesecalendar has the
next year), the page still works: the exchange calendar's closures where it knows them, and an admin
enters the State Council's notice here (录入国务院节假日安排; playbooks/holiday_entries.py). The gate says
which calendar it used. Without either, the page says so and offers the entry form (admins) — no dead end.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from desk import state
from desk.ui import escape_markdown, format_time
from playbooks import holiday_entries, holidays, people, readiness
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
ENTRY_FORM = "desk.readiness.entry"


def _enter_holiday() -> None:
    """录入 callback: keep one holiday of the State Council's notice (admin; checked again server-side)."""
    ss = st.session_state
    name = str(ss.get(f"{ENTRY_FORM}.name") or "")
    first, last = ss.get(f"{ENTRY_FORM}.start"), ss.get(f"{ENTRY_FORM}.end")
    makeup_text = str(ss.get(f"{ENTRY_FORM}.makeup") or "")
    try:
        makeup = [
            date.fromisoformat(x)
            for x in makeup_text.replace("，", ",").replace("、", ",").split(",")
            if x.strip()
        ]
    except ValueError:
        state.flash("warning", "调休上班日请写成 YYYY-MM-DD，多个用逗号分开，例如 2027-02-20, 2027-02-21。")
        return
    try:
        with ctx.records.session() as s:
            entry = holiday_entries.enter(
                s, state.current_actor(), name=name, start=first, end=last, makeup_workdays=makeup,
                note=str(ss.get(f"{ENTRY_FORM}.note") or ""),
            )  # fmt: skip
    except (PermissionDenied, holiday_entries.HolidayEntryError) as exc:
        state.flash("warning", str(exc))
        return
    st.session_state.pop(RESULT_KEY, None)
    state.flash("success", f"已录入{entry.name}（{entry.start}至{entry.end}），并记入审计日志。")


def _remove_entry(entry_id: int) -> None:
    try:
        with ctx.records.session() as s:
            holiday_entries.remove(s, state.current_actor(), entry_id)
    except PermissionDenied as exc:
        state.flash("error", str(exc))
        return
    st.session_state.pop(RESULT_KEY, None)
    state.flash("success", "已删除该条录入（审计日志保留记录）。")


def entry_section(missing: bool) -> None:
    """The entered notice (everyone sees it) and, for admins, the form to enter the next holidays."""
    with ctx.records.session() as s:
        rows = holiday_entries.entered(s)
    can_edit = bool(actor and actor.can(holiday_entries.PERMISSION))
    title = "录入国务院节假日安排" + ("（下一假期尚无日历数据）" if missing else "")
    with st.expander(title, expanded=missing):
        st.caption(
            f"日历包 chinesecalendar 收录至 {holidays.package_years()[1]} 年。国务院办公厅通知发布后、日历包升级前，"
            "由管理员在此按通知录入（每个假期一条）；录入的安排与日历包的数据同样计算休市与调休。"
        )
        for e in rows:
            c1, c2 = st.columns([5, 1])
            makeup = "、".join(d.isoformat() for d in e.makeup_workdays) or "无"
            c1.markdown(
                f"**{escape_markdown(e.name)}** {e.start} 至 {e.end}（调休上班：{makeup}）"
                f" · {escape_markdown(e.note) or '未注明文号'} · 录入：{escape_markdown(e.entered_by)}"
                f" {format_time(e.entered_at)}"
            )
            if can_edit:
                c2.button("删除", key=f"{ENTRY_FORM}.remove.{e.id}", on_click=_remove_entry, args=(e.id,))
        if not can_edit:
            st.info("录入节假日安排需管理员账号；请联系管理员按国务院办公厅通知录入。")
            return
        with st.form(ENTRY_FORM, clear_on_submit=True):
            c1, c2, c3 = st.columns(3)
            c1.text_input(
                "假期名称",
                key=f"{ENTRY_FORM}.name",
                placeholder="例如：元旦",
                max_chars=holiday_entries.MAX_NAME,
            )
            c2.date_input("放假开始", key=f"{ENTRY_FORM}.start", value=None, format="YYYY-MM-DD")
            c3.date_input("放假结束", key=f"{ENTRY_FORM}.end", value=None, format="YYYY-MM-DD")
            st.text_input(
                "调休上班日（周末，多个用逗号分开）", key=f"{ENTRY_FORM}.makeup", placeholder="2027-02-20"
            )
            st.text_input(
                "依据（通知文号）",
                key=f"{ENTRY_FORM}.note",
                placeholder="国办发明电〔2026〕…号",
                max_chars=holiday_entries.MAX_NOTE,
            )
            st.form_submit_button("录入", on_click=_enter_holiday, type="primary")


with ctx.records.session() as _s:
    holiday_entries.apply(_s)  # what an admin entered (here or in another process) counts now
try:
    coming = holidays.next_holidays(today, 3)
except LookupError as exc:  # CalendarDataMissing: no calendar knows the next holiday yet
    st.warning(
        (str(exc.args[0]) if exc.args else str(exc))
        + "\n\n在下一假期的安排录入之前，节前准备检查无法按假期日期核对值班表。"
    )
    entry_section(missing=True)
    st.stop()

labels = {holiday_key(h): h for h in coming}
chosen_key = st.selectbox(
    "假期", list(labels), format_func=lambda k: holiday_label(labels[k]), key=HOLIDAY_KEY
)
holiday = labels[chosen_key]
basis_text = f"节假日依据：{readiness.calendar_basis(holiday)}"
if getattr(holiday, "basis", "package") == "exchange":
    st.warning(basis_text)
else:
    st.caption(basis_text)
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
    _names = people.names(session)
signoffs = [e for e in entries if e.action == SIGNOFF_ACTION]
if signoffs:
    st.info(
        f"最近一次确认：{escape_markdown(_names.get(signoffs[0].actor, signoffs[0].actor))} 于 {format_time(signoffs[0].at)}"
    )
if entries:
    st.markdown("**检查与确认记录**")
    st.dataframe(
        [
            {
                "时间": format_time(e.at),
                "人员": _names.get(e.actor, e.actor),
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

entry_section(missing=False)
