"""日报与总结 — the daily brief (舆情日报) and the post-holiday summary (假期舆情工作总结): generate, preview
the Markdown, download the .docx and the .md, and sign off (签发); the list shows who signed and when.

For 负责人 and 管理员 only; generating and signing check the role again in playbooks.reports. Every
generation is a new report: a signed one is never written over. Drills never count in the figures.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import report_actions, state
from desk.ui import format_time, plain, to_shanghai
from playbooks import people
from playbooks.authz import PermissionDenied, role_allows
from playbooks.reports import (
    ReportError,
    daily_report,
    files_of,
    holiday_report,
    period_between,
    period_for_holiday,
    reports_of,
)
from store.models import utcnow

PERMISSION = "report.generate"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KEY = "desk.briefs"
BY_CALENDAR, BY_DATES = "按节假日日历", "按日期"

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()
if actor is None or not role_allows(actor.role, PERMISSION):
    st.error("报告页面仅供负责人和管理员使用。")
    st.stop()

st.title("日报与假期总结")
state.show_flash()
st.caption(
    "生成舆情日报和假期舆情工作总结（.docx 与 Markdown），经负责人审核后在此签发。"
    "每次生成都是新的一份，已签发的报告保持不变；演练数据不计入。"
)
today = to_shanghai(utcnow()).date()  # type: ignore[union-attr]


def _picked_period(kind: str) -> dict:
    """What the person picked, read from the widgets at the click (a button's arguments were fixed when
    the page was last drawn, so a date typed just before the click would be lost)."""
    ss = st.session_state
    if kind == "daily":
        day = ss.get(f"{KEY}.daily.day")
        return {"day": day} if isinstance(day, date) else {}
    if ss.get(f"{KEY}.holiday.mode", BY_CALENDAR) == BY_CALENDAR:
        name, year = ss.get(f"{KEY}.holiday.name"), ss.get(f"{KEY}.holiday.year")
        return {"name": name, "year": year} if name and year else {}
    first, last = ss.get(f"{KEY}.holiday.first"), ss.get(f"{KEY}.holiday.last")
    return {"first": first, "last": last} if isinstance(first, date) and isinstance(last, date) else {}


def _generate(kind: str) -> None:
    what = _picked_period(kind)
    if not what:
        state.flash("warning", "请先选择日期或假期。")
        return
    playbooks, problem = state.playbooks_or_none(ctx)
    if problem:
        state.flash("error", problem)
        return
    common = {
        "index": ctx.index,
        "playbooks": playbooks,
        "firm": ctx.settings.firm,
        "actor": state.current_actor(),
        "now": utcnow(),
        "names": ctx.source_names,
    }
    try:
        with ctx.records.session() as s:
            if kind == "daily":
                report, _, _ = daily_report(s, what["day"], **common)
            else:
                period = (
                    period_for_holiday(what["name"], what["year"])
                    if what.get("name")
                    else period_between(what["first"], what["last"])
                )
                report, _, _ = holiday_report(s, period, **common)
            title, report_id = report.title, report.id
    except (PermissionDenied, ReportError) as exc:
        state.flash("error", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "报告未能保存，请稍后重试。")
        return
    st.session_state[f"{KEY}.{kind}.pick"] = report_id  # show the new one
    state.flash("success", f"已生成《{title}》（报告 #{report_id}），请审核后签发。")


def _who(username: str) -> str:
    """The one naming of people (playbooks.people): 王晓明（wang）."""
    with ctx.records.session() as s:
        return people.person_label(s, username)


def _reports(kind: str) -> None:
    """The reports of one kind: who made and signed them, one picked for preview, download, sign-off."""
    try:
        with ctx.records.session() as s:
            rows = [
                {
                    "id": r.id,
                    "ref": r.ref,
                    "title": r.title,
                    "sha256": r.sha256,
                    "created_by": r.created_by,
                    "created_at": r.created_at,
                    "signed_by": r.signed_by,
                    "signed_at": r.signed_at,
                }
                for r in reports_of(s, kind)
            ]
    except SQLAlchemyError:
        st.error("报告库暂时无法读取，请稍后刷新。")
        return
    if not rows:
        st.info("还没有生成过这类报告。")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "报告编号": r["id"],
                    "报告": plain(r["title"]),
                    "生成时间": format_time(r["created_at"]),
                    "生成人": _who(r["created_by"]),
                    "签发": f"{_who(r['signed_by'])} {format_time(r['signed_at'])}"
                    if r["signed_at"]
                    else "未签发",
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    by_id = {r["id"]: r for r in rows}
    pick_key = f"{KEY}.{kind}.pick"
    if st.session_state.get(pick_key) not in by_id:
        st.session_state[pick_key] = rows[0]["id"]
    report_id = st.selectbox(
        "查看报告",
        list(by_id),
        format_func=lambda i: (
            f"报告 #{i} · {plain(by_id[i]['title'], 40)}（{format_time(by_id[i]['created_at'])}）"
        ),
        key=pick_key,
    )
    picked = by_id[report_id]
    with ctx.records.session() as s:
        files = files_of(s, report_id)  # the signed copy names who signed and when
    a, b, c = st.columns(3)
    a.download_button(
        "下载 .docx", data=files.docx, file_name=files.docx_name, mime=DOCX_MIME, key=f"{KEY}.{kind}.docx"
    )
    b.download_button(
        "下载 .md",
        data=files.markdown.encode("utf-8"),
        file_name=files.md_name,
        mime="text/markdown",
        key=f"{KEY}.{kind}.md",
    )
    if picked["signed_at"]:
        c.success(f"已由 {_who(picked['signed_by'])} 于 {format_time(picked['signed_at'])} 签发")
    elif role_allows(actor.role, "report.sign"):
        c.button(
            "签发",
            on_click=report_actions.sign,
            args=(report_id, f"报告 #{report_id} 已签发，签发人与签发时间已记录。"),
            key=f"{KEY}.{kind}.sign",
            type="primary",
            help="确认内容无误后签发；签发人与时间记入审计日志。签发后的报告不再改动。",
        )
    if files.intact:
        signed = "；签发件另载签发人与签发时间" if picked["signed_at"] else ""
        st.caption(f"草稿 SHA-256：{picked['sha256']}（与生成时一致{signed}）")
    else:
        st.error("报告内容与生成时的校验值不符，请勿报送，并重新生成。")
    with st.container(border=True):
        # the stored Markdown: every character that came from outside is backslash-escaped in it
        st.markdown(files.markdown)


daily_tab, holiday_tab = st.tabs(["舆情日报", "假期舆情工作总结"])

with daily_tab:
    day = st.date_input(
        "日期（北京时间）", value=today - timedelta(days=1), max_value=today, key=f"{KEY}.daily.day"
    )
    st.button(
        "生成舆情日报",
        type="primary",
        on_click=_generate,
        args=("daily",),
        key=f"{KEY}.daily.generate",
        disabled=not isinstance(day, date),
    )
    _reports("daily")

with holiday_tab:
    mode = st.radio("假期范围", [BY_CALENDAR, BY_DATES], horizontal=True, key=f"{KEY}.holiday.mode")
    what: dict = {}
    if mode == BY_CALENDAR:
        from playbooks import holidays  # the calendar packages load only when this is used

        year = st.selectbox("年份", [today.year, today.year - 1], key=f"{KEY}.holiday.year")
        try:
            options = [h.name_cn for h in holidays.holidays_in(year)]
        except holidays.CalendarDataMissing as exc:
            st.warning(str(exc))
            options = []
        if options:
            name = st.selectbox("节假日", options, key=f"{KEY}.holiday.name")
            try:
                period = period_for_holiday(name, year)
                st.caption(
                    f"覆盖 {period.first.isoformat()} 至 {period.last.isoformat()}（共 {len(period.days)} 天："
                    "休市前最后一个交易日、休市期间、复市首日）"
                )
                what = {"name": name, "year": year}
            except ReportError as exc:
                st.warning(str(exc))
    else:
        left, right = st.columns(2)
        first = left.date_input(
            "开始日期", value=today - timedelta(days=7), max_value=today, key=f"{KEY}.holiday.first"
        )
        last = right.date_input("结束日期", value=today, max_value=today, key=f"{KEY}.holiday.last")
        if isinstance(first, date) and isinstance(last, date):
            what = {"first": first, "last": last}
    st.button(
        "生成假期舆情工作总结",
        type="primary",
        on_click=_generate,
        args=("holiday",),
        key=f"{KEY}.holiday.generate",
        disabled=not what,
    )
    _reports("holiday")
