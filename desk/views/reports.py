"""报告 — the regulator report draft (报告证监局) for an escalation record: generate, preview, download
the .docx, and sign it off (签发).

For 负责人 and 管理员 only; generating and signing check the role again in playbooks.reports. Drill
records are not offered: a drill never produces a regulator report.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import report_actions, state
from desk.ui import format_time, level_label, plain
from playbooks import people
from playbooks.authz import PermissionDenied, role_allows
from playbooks.escalation import STATE_LABELS
from playbooks.reports import ReportError, draft_docx, regulator_report, reportable_records, reports_for
from store.models import utcnow

PERMISSION = "report.generate"
ESC_KEY = "desk.reports.escalation"
PICK_KEY = "desk.reports.pick"

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()
if actor is None or not role_allows(actor.role, PERMISSION):
    st.error("报告页面仅供负责人和管理员使用。")
    st.stop()

st.title("报告证监局")
state.show_flash()
st.caption(
    "根据处置记录生成报告证监局草稿（.docx），经负责人审核签发、加盖公章后报送。演练处置记录不生成报告。"
)

try:
    with ctx.records.session() as s:
        records = reportable_records(s, limit=500)
except SQLAlchemyError:
    st.error("处置记录库暂时无法读取，请稍后刷新；如持续失败请联系管理员。")
    st.stop()
choices = [
    (
        e.id,
        f"#{e.id} · {level_label(e.level)} · {STATE_LABELS.get(e.state, e.state)} · {plain(e.title, 40)}",
    )
    for e in records
]

if not choices:
    st.info("还没有可报告的处置记录。")
    st.stop()

labels = dict(choices)
preselect = st.session_state.get(state.SELECTED_ESCALATION)
ids = list(labels)
esc_id = st.selectbox(
    "处置记录",
    ids,
    index=ids.index(preselect) if preselect in labels else 0,
    format_func=lambda i: labels.get(i, str(i)),
    key=ESC_KEY,
)


def _who(username: str) -> str:
    """The one naming of people (playbooks.people): 王晓明（wang）."""
    with ctx.records.session() as s:
        return people.person_label(s, username)


def _generate(escalation_id: int) -> None:
    playbooks, problem = state.playbooks_or_none(ctx)
    if problem:
        state.flash("error", problem)
        return
    try:
        with ctx.records.session() as s:
            regulator_report(
                s,
                escalation_id,
                playbooks=playbooks,
                firm=ctx.settings.firm,
                actor=state.current_actor(),
                now=utcnow(),
                index=ctx.index,
                names=ctx.source_names,
            )
    except (PermissionDenied, ReportError) as exc:
        state.flash("error", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "报告未能保存，请稍后重试。")
        return
    st.session_state.pop(PICK_KEY, None)  # show the newest
    state.flash("success", "已生成报告证监局草稿，请审核后签发。")


st.button(
    "生成报告证监局草稿", type="primary", on_click=_generate, args=(esc_id,), key="desk.reports.generate"
)

with ctx.records.session() as s:
    reports = [
        {
            "id": r.id,
            "title": r.title,
            "content_md": r.content_md,
            "sha256": r.sha256,
            "created_by": r.created_by,
            "created_at": r.created_at,
            "signed_by": r.signed_by,
            "signed_at": r.signed_at,
        }
        for r in reports_for(s, esc_id)
    ]

if not reports:
    st.info("该处置记录还没有生成过报告。")
    st.stop()

st.subheader("已生成的报告")
st.dataframe(
    pd.DataFrame(
        [
            {
                "报告编号": r["id"],
                "生成时间": format_time(r["created_at"]),
                "生成人": _who(r["created_by"]),
                "签发": f"{_who(r['signed_by'])} {format_time(r['signed_at'])}"
                if r["signed_at"]
                else "未签发",
                "SHA-256": r["sha256"][:16] + "…",
            }
            for r in reports
        ]
    ),
    hide_index=True,
    width="stretch",
)
by_id = {r["id"]: r for r in reports}
pick = st.session_state.get(PICK_KEY)
report_id = st.selectbox(
    "查看报告",
    list(by_id),
    index=list(by_id).index(pick) if pick in by_id else 0,
    format_func=lambda i: f"报告 #{i}（{format_time(by_id[i]['created_at'])}）",
    key=PICK_KEY,
)
report = by_id.get(report_id) or reports[0]
report_id = report["id"]
with ctx.records.session() as s:
    # the .docx rebuilt from the stored Markdown: the same bytes as generated, checked against the SHA-256
    docx_bytes, intact = draft_docx(s, report_id)

a, b = st.columns(2)
a.download_button(
    "下载 .docx",
    data=docx_bytes,
    file_name=f"报告证监局草稿-处置记录{esc_id}-报告{report_id}.docx",
    mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    key="desk.reports.download",
)
if report["signed_at"]:
    b.success(f"已由 {plain(report['signed_by'])} 于 {format_time(report['signed_at'])} 签发")
elif role_allows(actor.role, "report.sign"):
    b.button(
        "签发",
        on_click=report_actions.sign,
        args=(report_id,),
        key="desk.reports.sign",
        help="确认内容无误后签发；签发人与时间记入审计日志。",
    )
if intact:
    st.caption(f"SHA-256：{report['sha256']}（与生成时一致）")
else:
    st.error("报告内容与生成时的校验值不符，请勿报送，并重新生成。")

with st.container(border=True):
    # the stored Markdown: every character that came from outside is backslash-escaped in it
    st.markdown(report["content_md"])
