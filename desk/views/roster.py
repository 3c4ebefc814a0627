"""假期与值班 — the next holidays (countdown, exchange closures, 调休 days) and the duty roster.

Everyone signed in reads; admins (roster.edit) add and remove entries and import a CSV. The holiday
data comes from chinesecalendar and exchange_calendars (playbooks/holidays.py); a year they have not
published yet is said plainly, not shown as "no holidays". Gaps in the roster are flagged in red.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import state
from desk.ui import escape_markdown, plain
from playbooks import holidays as H
from playbooks import roster as R
from playbooks.authz import PermissionDenied, require
from store.models import DUTIES

TODAY_KEY = "desk.roster.today"  # a date to count from instead of today (tests; looking ahead)
HOLIDAY_KEY = "desk.roster.holiday"
MODE_KEY = "desk.roster.mode"
FROM_KEY = "desk.roster.from"
TO_KEY = "desk.roster.to"
ADD = "desk.roster.add"
CSV_TEXT = "desk.roster.csv_text"
CSV_FILE = "desk.roster.csv_file"
REMOVE = "desk.roster.remove"
WEEKDAYS = "一二三四五六日"

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()
can_edit = bool(actor and actor.can("roster.edit"))


def _today() -> date:
    value = st.session_state.get(TODAY_KEY)
    if isinstance(value, date):
        return value
    return datetime.now(R.BEIJING).date()


def _d(day: date) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def _days(days: list[date]) -> str:
    return "、".join(_d(d) for d in days) or "无"


def _closure(h: H.Holiday) -> str:
    c = h.exchange_closed_days
    return f"{_d(c[0])} 至 {_d(c[-1])}，共 {len(c)} 天" if c else "无"


st.title("假期与值班")
st.caption(
    "节假日与调休安排来自 chinesecalendar（国务院办公厅公布的放假安排），休市日来自上交所交易日历；"
    "交易所周末一律休市，调休上班的周六、周日也不开市。值班表要求：每天每个时段有主班，每天有备班和带班负责人，"
    "人员须为在用账号并留有联系电话。"
)
state.show_flash()
today = _today()

# --------------------------------------------------------------------------- the next holidays

st.subheader("近期假期")
upcoming: list[H.Holiday] = []
try:
    upcoming = H.next_holidays(today, n=3)
except H.CalendarDataMissing as exc:
    st.warning(str(exc))
if upcoming:
    rows = []
    for h in upcoming:
        left = (h.start - today).days
        rows.append(
            {
                "假期": h.name_cn,
                "放假": f"{_d(h.start)} 至 {_d(h.end)}",
                "天数": h.days,
                "倒计时": "放假中" if left <= 0 else f"还有 {left} 天",
                "休市": _closure(h),
                "开市": _d(h.reopen) if h.reopen else "",
                "调休上班（交易所不开市）": _days(h.makeup_workdays),
            }
        )
    first = upcoming[0]
    left = (first.start - today).days
    st.metric(f"距{first.name_cn}", "放假中" if left <= 0 else f"{left} 天")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- the roster of one holiday

st.subheader("值班表")
first_year, last_year = H.covered_years()
choices = list(upcoming)
if not choices:  # the next holiday is not published: offer the latest year the calendar knows
    choices = H.holidays_in(last_year)
labels = [h.label for h in choices]
mode = st.radio("查看", ["按假期", "按日期"], horizontal=True, key=MODE_KEY, label_visibility="collapsed")
if mode == "按日期" or not labels:
    c1, c2 = st.columns(2)
    start = c1.date_input("从", value=today, key=FROM_KEY)
    end = c2.date_input("至（含）", value=today + timedelta(days=6), key=TO_KEY)
    if end < start:
        start, end = end, start
    if (end - start).days > 62:
        st.warning("一次最多查看 63 天，已截到起始日后的 63 天。")
        end = start + timedelta(days=62)
    title = f"{_d(start)} 至 {_d(end)}"
else:
    if not upcoming:
        st.caption(
            f"下一个假期尚未收录，以下为已收录的 {last_year} 年假期；也可「按日期」查看任意日期的值班表。"
        )
    picked = st.selectbox("假期", labels, key=HOLIDAY_KEY)
    holiday = choices[labels.index(picked)]
    start, end = R.holiday_days(holiday)
    title = f"{holiday.name_cn}：{_d(start)} 至 {_d(end)}（放假日及其前后的休市日）"


def _day_note(day: date) -> str:
    try:
        closed = not H.is_exchange_open(day)
        makeup = day.weekday() >= 5 and H.is_office_workday(day)
    except H.CalendarDataMissing:
        return "（日历未收录）"
    if makeup:
        return "（调休上班·休市）"
    return "（休市）" if closed else ""


try:
    with ctx.records.session() as s:
        lines = R.roster_lines(s, start, end)
        found = R.gaps(s, start, end)
        active_users = R.active_people(s)
except SQLAlchemyError:
    st.error("值班表暂时无法读取，请稍后重试；如持续失败请联系管理员。")
    st.stop()
GAP_DUTY = {"no_primary": "primary", "no_backup": "backup", "no_manager": "manager"}


def _gap_cell(g: R.Gap) -> str:
    """The gap as its cell shows it: ⚠ 缺主班（08:00–24:00） / ⚠ 联系电话缺失."""
    if g.kind == "no_primary":
        hours = "全天" if (g.start, g.end) == ("00:00", "24:00") else f"{g.start}–{g.end}"
        return f"⚠ 缺主班（{hours}）"
    return f"⚠ {g.label}" + (f"（{g.username}）" if g.username and g.kind not in GAP_DUTY else "")


# the grid: days down, posts (主班 / 备班 / 带班负责人) across, each gap marked in its own cell
table = []
day = start
while day <= end:
    row = {"日期": _d(day) + _day_note(day)}
    for duty in DUTIES:
        cells = [
            f"{x.name} {x.shift} {x.phone or '无电话'}"
            for x in lines
            if x.day == day.isoformat() and x.duty == duty
        ]
        marks = [_gap_cell(g) for g in found if g.day == day and (GAP_DUTY.get(g.kind) or g.duty) == duty]
        row[R.DUTY_LABELS[duty]] = " ".join(["；".join(cells), *marks]).strip() or "—"
    table.append(row)
    day += timedelta(days=1)


def _mark(value: object) -> str:
    return "background-color: #fde2e2; color: #a50e0e" if "⚠" in str(value) else ""


entry_options = {
    x.entry_id: f"{x.day} {R.DUTY_LABELS.get(x.duty, x.duty)} {x.shift} {x.username}" for x in lines
}
st.caption(title + "（⚠ 标红的格子是缺口）")
grid = pd.DataFrame(table)
st.dataframe(
    grid.style.map(_mark, subset=[R.DUTY_LABELS[d] for d in DUTIES]), hide_index=True, width="stretch"
)
if found:
    st.error(f"值班表有 {len(found)} 处缺口：")
    for g in found:
        st.markdown(f":red[⚠ {escape_markdown(g.message)}]")
else:
    st.success("值班表完整：每天每个时段都有主班，每天有备班和带班负责人，均留有联系电话。")


# --------------------------------------------------------------------------- admin: add, remove, import


def _actor_or_flash():
    try:
        return require(state.current_actor(), "roster.edit")
    except PermissionDenied as exc:
        state.flash("warning", str(exc))
        return None


def _add() -> None:
    who = _actor_or_flash()
    if who is None:
        return
    ss = st.session_state
    try:
        with ctx.records.session() as s:
            e = R.add_entry(
                s,
                who,
                day=ss.get(f"{ADD}.day"),
                duty=ss.get(f"{ADD}.duty") or "primary",
                username=ss.get(f"{ADD}.username") or "",
                shift_start=ss.get(f"{ADD}.start") or "00:00",
                shift_end=ss.get(f"{ADD}.end") or "24:00",
                phone=ss.get(f"{ADD}.phone") or "",
                note=ss.get(f"{ADD}.note") or "",
            )
            msg = f"已排班：{e.day} {R.DUTY_LABELS[e.duty]} {R.shift_text(e)} {e.username}"
    except R.RosterError as exc:
        state.flash("warning", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "值班表暂时无法写入，请稍后重试。")
        return
    state.flash("success", msg)


def _remove() -> None:
    who = _actor_or_flash()
    if who is None:
        return
    entry_id = st.session_state.get(REMOVE)
    if entry_id is None:
        return
    try:
        with ctx.records.session() as s:
            R.remove_entry(s, who, int(entry_id))
    except R.RosterError as exc:
        state.flash("warning", str(exc))
        return
    state.flash("success", "已从值班表中删除。")


def _import() -> None:
    who = _actor_or_flash()
    if who is None:
        return
    upload = st.session_state.get(CSV_FILE)
    data: str | bytes = upload.getvalue() if upload is not None else (st.session_state.get(CSV_TEXT) or "")
    if not data:
        state.flash("warning", "请上传 CSV 文件或粘贴 CSV 内容。")
        return
    try:
        with ctx.records.session() as s:
            n = len(R.import_csv(s, who, data, source=getattr(upload, "name", "") or "粘贴"))
    except R.RosterError as exc:
        state.flash("warning", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "值班表暂时无法写入，请稍后重试。")
        return
    st.session_state[CSV_TEXT] = ""
    state.flash("success", f"已导入 {n} 条值班记录。")


if can_edit:
    st.subheader("维护值班表")
    with st.form(ADD, clear_on_submit=False):
        c1, c2, c3 = st.columns(3)
        c1.date_input("日期", value=start, key=f"{ADD}.day")
        c2.selectbox("岗位", list(DUTIES), format_func=lambda d: R.DUTY_LABELS[d], key=f"{ADD}.duty")
        c3.selectbox(
            "值班人",
            list(active_users),
            format_func=lambda u: plain(active_users.get(u, u)),
            key=f"{ADD}.username",
        )
        c4, c5, c6 = st.columns(3)
        c4.text_input("开始（HH:MM）", value="00:00", key=f"{ADD}.start")
        c5.text_input("结束（HH:MM，可为 24:00）", value="24:00", key=f"{ADD}.end")
        c6.text_input("本班联系电话（留空用账号电话）", key=f"{ADD}.phone")
        st.text_input("备注", key=f"{ADD}.note")
        st.form_submit_button("添加排班", on_click=_add)
    if entry_options:
        c1, c2 = st.columns([3, 1])
        c1.selectbox(
            "删除一条排班",
            list(entry_options),
            format_func=lambda i: plain(entry_options.get(i, "")),
            key=REMOVE,
        )
        c2.button("删除", on_click=_remove, key=f"{REMOVE}.go")
    st.markdown(
        "**导入 CSV**（表头：`日期,开始,结束,岗位,用户名,电话,备注`；岗位可写 主班 / 备班 / 带班负责人；有错误时整个文件都不导入）"
    )
    st.file_uploader("上传 CSV", type=["csv"], key=CSV_FILE)
    st.text_area("或粘贴 CSV 内容", key=CSV_TEXT, height=120)
    st.button("导入", on_click=_import, key=f"{CSV_TEXT}.go")
else:
    st.caption("只有管理员可以修改值班表。")
