"""预警详情 — one flagged post: its text and analysis, the matched playbook with deadlines, the
button that opens an escalation record, and the alert's audit trail."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import alert_actions, state
from desk.ui import (
    audit_action_label,
    escape_markdown,
    falsity_label,
    format_deadline,
    format_duration,
    format_percent,
    format_scores,
    format_time,
    join_list,
    level_badge,
    plain,
    safe_url,
    sentiment_label,
    to_shanghai,
)
from playbooks import audit_text, people, triage
from playbooks.authz import PermissionDenied
from playbooks.clocks import CLOCK_STATE_COLORS, CLOCK_STATE_LABELS, escalation_clocks, worst_state
from playbooks.escalation import OPEN_STATES, STATE_LABELS, EscalationError, open_escalation
from playbooks.matcher import steps_with_deadlines
from store.models import LEVELS, utcnow
from store.records import audit_trail, get_alert_for_post

MAX_POST_ID = 64

state.init_session_state()
ctx = state.get_context()

st.title("预警详情")
state.show_flash()

# ----------------------------------------------------------------------------- which post


def _back_to_queue() -> None:
    st.page_link(state.TRIAGE_PAGE, label="返回预警队列", icon="⬅️")


raw_id = st.query_params.get(state.POST_PARAM) or st.session_state.get(state.SELECTED_POST) or ""
post_id = "".join(str(raw_id).split())[:MAX_POST_ID]
if not post_id:
    st.info("尚未选择预警。请在「预警队列」中点击「查看详情」打开一条预警。")
    _back_to_queue()
    st.stop()

post = ctx.index.get(post_id)
if post is None:
    st.warning(f"未找到编号为「{escape_markdown(post_id)}」的预警：链接可能有误，或该帖子已不在库中。")
    _back_to_queue()
    st.stop()

st.session_state[state.SELECTED_POST] = post.id
if st.query_params.get(state.POST_PARAM) != post.id:
    st.query_params[state.POST_PARAM] = post.id  # the URL now names the post, so it can be shared


# ----------------------------------------------------------------------------- records (read)


def _clocks(session, esc) -> list:
    """The record's clocks now (empty when the playbook library cannot be read)."""
    library, _ = state.playbooks_or_none(ctx)
    playbook = next((p for p in library if p.id == esc.playbook_id), None)
    return escalation_clocks(session, esc, playbook, now=utcnow())


def _load_records(post_id: str) -> dict:
    """Alert, its escalations and the audit trail as plain values (no ORM objects leave the session)."""
    with ctx.records.session() as s:
        alert = get_alert_for_post(s, post_id=post_id)
        if alert is None:
            return {"alert": None, "escalations": [], "trail": []}
        escalations = [
            {
                "id": e.id,
                "state": e.state,
                "owner": e.owner,
                "playbook_id": e.playbook_id,
                "opened_by": e.opened_by,
                "opened_at": e.opened_at,
                "clocks": worst_state(board) if (board := _clocks(s, e)) else "",
            }
            for e in alert.escalations
        ]
        entries = audit_trail(s, entity="alert", entity_id=alert.id)
        for e in escalations:
            entries += audit_trail(s, entity="escalation", entity_id=e["id"])
        names = people.names(s)
        library_now, _ = state.playbooks_or_none(ctx)
        steps = {st_.id: st_.title for pb in library_now for st_ in pb.steps}
        trail = [
            {
                "时间（北京）": format_time(a.at, with_seconds=True),
                "操作人": names.get(a.actor) or people.label(a.actor),
                "操作": audit_action_label(a.action),
                "对象": f"{'预警' if a.entity == 'alert' else '处置记录'} #{a.entity_id}",
                "详情": audit_text.describe(a.action, a.detail, names, steps=steps),
                "_id": a.id,
            }
            for a in entries
        ]
        trail.sort(key=lambda r: r["_id"])
        info = {
            "id": alert.id,
            "status": alert.status,
            "playbook_id": alert.playbook_id,
            "created_at": alert.created_at,
            "drill": alert.drill,
            "version": alert.version,
        }
        return {"alert": info, "escalations": escalations, "trail": trail}


def _escalate(alert_id: int, playbook_id: str | None, version: int | None = None) -> None:
    """Button callback: open (or find) the escalation record for the alert as the signed-in person;
    ``version``: the alert's version on screen (dismissed meanwhile by someone else: refused, 已被他人处理)."""
    who = state.current_actor()
    if who is None:
        state.flash("warning", "登录已失效，请重新登录后再立案处置。")
        return
    try:
        with ctx.records.session() as s:
            esc, created = open_escalation(
                s, alert_id=alert_id, actor=who, playbook_id=playbook_id, expected_alert_version=version
            )
            esc_id, esc_state = esc.id, esc.state
    except (EscalationError, PermissionDenied) as exc:
        state.flash("error", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "处置记录库暂时无法写入，请稍后重试；如持续失败请联系管理员。")
        return
    st.session_state[state.SELECTED_ESCALATION] = esc_id
    if created:
        state.flash("success", f"已开启处置记录 #{esc_id}，当前状态：{STATE_LABELS[esc_state]}。")
    else:
        state.flash("info", f"该预警已有处置记录 #{esc_id}（{STATE_LABELS[esc_state]}），未重复创建。")


def _go_to_escalation(esc_id: int) -> None:
    st.session_state[state.SELECTED_ESCALATION] = esc_id
    st.switch_page(state.ESCALATIONS_PAGE)


records = _load_records(post.id)
alert = records["alert"]
open_escalations = [e for e in records["escalations"] if e["state"] in OPEN_STATES]
current = open_escalations[-1] if open_escalations else None

# ----------------------------------------------------------------------------- the post

label, color = level_badge(post.level)
badges = st.columns([1.5, 1.5, 1, 6])
badges[0].badge(label, color=color)
badges[1].badge(plain(post.topic or "其他"), color="gray")
if post.drill:
    badges[2].badge("演练", color="violet")
if post.drill:
    st.info("这是一条演练预警：标记为「对外」的步骤只演示，不得真实对外发布或报送。")


def _action_bar() -> None:
    """The queue's actions on this alert — 确认, 指派, 误报 (恢复 for a manager once settled) — and the
    same on its whole event; a fixed row: a done action is disabled in place, nothing moves."""
    who = state.current_actor()
    library_now, _ = state.playbooks_or_none(ctx)
    with ctx.records.session() as s:
        here = triage.queue_states(s, [post.id], playbooks=library_now).get(post.id)
        group = triage.event_states(s, post.event_id, playbooks=library_now, drill=post.drill)
        people = triage.active_users(s)
    if here is None or who is None:
        return
    names = dict(people)
    text, color = alert_actions.ack_text(here, utcnow())
    if text:
        st.badge(text, color=color, icon=":material/timer:")
    mine = [(here.alert_id, here.version)]
    settled = here.status in ("false_positive", "closed")
    c1, c2, c3, c4 = st.columns(4)
    if settled:
        c1.button(
            "恢复为待处理", key="desk.item.reopen", on_click=alert_actions.run, args=("reopen", mine),
            disabled=not who.can("alert.reopen"), width="stretch",
        )  # fmt: skip
        return
    acked = here.ack_done_at is not None or here.acknowledged_at is not None
    c1.button(
        "已确认" if acked else "确认", key="desk.item.ack", on_click=alert_actions.run,
        args=("acknowledge", mine), disabled=acked or not who.can("alert.acknowledge"), width="stretch",
    )  # fmt: skip
    with c2.popover("指派", width="stretch", disabled=not who.can("alert.assign")):
        st.selectbox("指派给", list(names), index=None, format_func=lambda u: names.get(u, u),
                     key="desk.item.assign_to", placeholder="选择在岗的值守台用户")  # fmt: skip
        st.button("确定指派", key="desk.item.assign", on_click=alert_actions.run,
                  args=("assign", mine, "desk.item.assign_to"))  # fmt: skip
    with c3.popover("误报", width="stretch", disabled=not who.can("alert.false_positive")):
        st.text_input("误报原因", key="desk.item.fp_reason", max_chars=triage.MAX_REASON_CHARS,
                      placeholder="一句话说明，例如：同名公司，与本司无关")  # fmt: skip
        st.button("标为误报", key="desk.item.fp", on_click=alert_actions.run,
                  args=("false_positive", mine, "desk.item.fp_reason"))  # fmt: skip
    others = [
        a for pid, a in group.items() if pid != post.id and a.status not in ("false_positive", "closed")
    ]
    if others:
        everyone = [(here.alert_id, here.version), *((a.alert_id, a.version) for a in others)]
        waiting = [
            (i, v) for (i, v), a in zip(everyone, [here, *others], strict=True) if a.ack_done_at is None
        ]
        c4.button(
            f"确认全组（{len(waiting)} 条）", key="desk.item.group_ack", on_click=alert_actions.run,
            args=("acknowledge", waiting), disabled=not waiting or not who.can("alert.acknowledge"),
            width="stretch", help=f"同一事件共 {len(everyone)} 条预警，一并确认",
        )  # fmt: skip
        with st.expander(f"同一事件的其余 {len(others)} 条预警：指派全组"):
            st.selectbox("全组指派给", list(names), index=None, format_func=lambda u: names.get(u, u),
                         key="desk.item.group_assign_to", placeholder="选择在岗的值守台用户")  # fmt: skip
            st.button("确定指派全组", key="desk.item.group_assign", on_click=alert_actions.run,
                      args=("assign", everyone, "desk.item.group_assign_to"))  # fmt: skip


_action_bar()

st.subheader(escape_markdown(post.title) if post.title.strip() else "（无标题）")

left, right = st.columns([3, 2], gap="large")
with left:
    with st.container(border=True):
        st.text(plain(post.text) or "（无正文）")
    st.markdown(
        "  \n".join(
            [
                f"**来源**：{escape_markdown(ctx.settings.source_label(post.source) if post.source else '未知')}",
                f"**作者**：{escape_markdown(post.author or '未知')}",
                f"**发布时间**：{format_time(post.published_at)}（北京时间）",
                f"**首次发现**：{format_time(post.first_seen_at)}",
                f"**互动**：转发 {post.reposts} · 评论 {post.comments} · 点赞 {post.likes}",
                f"**作者粉丝**：{post.user_followers}{' · 已认证' if post.user_verified else ''}",
            ]
        )
    )
    link = safe_url(post.url)
    if link:
        st.link_button("打开原文", link, icon="↗️")
    elif post.url:
        st.caption("原文地址不是 http/https 链接，出于安全不提供跳转：")
        st.text(plain(post.url, 300))

with right, st.container(border=True):
    st.markdown("**研判结果**")
    st.markdown(
        "  \n".join(
            [
                f"**级别**：{label}",
                f"**主题**：{escape_markdown(post.topic or '其他')}",
                f"**情感**：{escape_markdown(sentiment_label(post.sentiment_label))}"
                f"（{format_scores(post.sentiment.get('scores'))}）",
                f"**真实性**：{escape_markdown(falsity_label(post.falsity_label))}"
                + (f"（不实概率 {format_percent(post.falsity.get('score'))}）" if post.falsity else ""),
                f"**涉及对象**：{escape_markdown(join_list(post.targets))}",
                f"**负面对象**：{escape_markdown(join_list(post.negative_targets))}",
            ]
        )
    )
    st.markdown("**预警原因**")
    if post.reasons:
        for reason in ctx.source_names.reasons(post.reasons):
            st.text(f"• {plain(reason)}")
    else:
        st.text("—")

# ----------------------------------------------------------------------------- the playbook

st.divider()
st.subheader("处置预案")

library, library_error = state.playbooks_or_none(ctx)
playbook = None
why: list[str] = []
if library_error:
    st.warning(library_error)
else:
    try:
        result = ctx.match_playbook(post)
    except ValueError:
        result = None
    chosen_id = (current or {}).get("playbook_id") or (alert or {}).get("playbook_id")
    playbook = ctx.playbook(chosen_id) if chosen_id else None
    if playbook is None and result is not None:
        playbook = result.playbook
    if result is not None and playbook is not None and result.playbook.id == playbook.id:
        why = list(result.why)
    elif playbook is not None:
        why = ["由预警/处置记录指定"]

if playbook is None and not library_error:
    st.info("没有适用的预案，请按通用流程处置并报告负责人。")
elif playbook is not None:
    st.markdown(f"**{escape_markdown(playbook.name)}**（版本 {escape_markdown(playbook.version)}）")
    st.caption(escape_markdown(playbook.description))
    if why:
        st.markdown("**匹配理由**  \n" + "  \n".join(f"• {escape_markdown(w)}" for w in why))

    now = utcnow()
    if post.level in LEVELS:
        # the clocks run from the alert's opening (the post's first sighting when it has no alert)
        opened_at = to_shanghai((alert or {}).get("created_at") or post.first_seen_at) or now
        steps = steps_with_deadlines(playbook, post.level, opened_at)
        clocks = steps[0]["clocks"] if steps else {}
        clock_lines = []
        for key, name in (
            ("acknowledge", "确认预警"),
            ("holding_statement", "发布对外口径"),
            ("regulator_report", "报告监管"),
        ):
            minutes = clocks.get(f"{key}_within")
            if minutes:
                due = clocks.get(f"{key}_by")
                clock_lines.append(
                    f"{name}：{format_duration(minutes)}内（截至 {format_time(due)}，{format_deadline(due, now)}）"
                )
        st.markdown(
            f"**{label} 时限**（自预警生成 {format_time(opened_at)} 起计）  \n" + "  \n".join(clock_lines)
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "序号": s["order"],
                        "步骤": s["title"],
                        "负责": s["owner_label"],
                        "时限": format_duration(s["due_minutes"]),
                        "截止（北京）": format_time(s["due_at"]),
                        "剩余": format_deadline(s["due_at"], now),
                        "需签批": "是" if s["requires_signoff"] else "",
                        "对外": "对外" if s["external"] else "",
                        "说明": s["description"],
                    }
                    for s in steps
                ]
            ),
            hide_index=True,
            key="desk.item.steps",
        )
        report = playbook.regulator_report
        report_minutes = playbook.clocks(post.level).regulator_report_within
        if post.level in report.when and report_minutes:
            st.warning(
                f"本级别须向{escape_markdown(report.to)}报告：预警后 {format_duration(report_minutes)}内"
                f"（截至 {format_time(clocks.get('regulator_report_by'))}）；"
                f"方式：{escape_markdown('、'.join(report.how))}；"
                f"内容：{escape_markdown('、'.join(report.contents))}。"
                + ("（演练：不得真实报送）" if post.drill else "")
            )
    else:
        st.info("该帖子未定级，预案步骤的时限无法计算。")

    if playbook.holding_statements:
        st.markdown("**对外口径模板**")
        st.warning("以下模板需合规审核后使用：未经合规签批，不得对外发布。")
        for hs in playbook.holding_statements:
            with st.expander(
                f"{escape_markdown(hs.title)}（{escape_markdown(hs.audience)}）· 需合规审核后使用"
            ):
                if hs.channels:
                    st.caption("渠道：" + escape_markdown("、".join(hs.channels)))
                st.text(hs.template)

# ----------------------------------------------------------------------------- escalation

st.divider()
st.subheader("立案处置")
actor = state.current_actor()
can_open = bool(actor and actor.can("escalation.open"))
if alert is None:
    st.info("该帖子没有预警记录，无需立案。")
else:
    if current is not None:
        st.success(
            f"处置记录 #{current['id']}：{STATE_LABELS.get(current['state'], current['state'])}"
            f" · 承办人 {escape_markdown(current['owner'] or '未指定')}"
            f" · {escape_markdown(current['opened_by'])} 于 {format_time(current['opened_at'])} 开启"
        )
        if current["clocks"]:
            worst = current["clocks"]
            st.markdown(
                f"处置时限：:{CLOCK_STATE_COLORS[worst]}-badge[{CLOCK_STATE_LABELS[worst]}]"
                "（详见「处置记录」页）"
            )
    c1, c2 = st.columns([2, 3])
    c1.button(
        "立案处置 / 开启处置记录",
        type="primary",
        key="desk.item.escalate",
        disabled=not can_open,
        on_click=_escalate,
        args=(alert["id"], playbook.id if playbook else None, alert["version"]),
        help="已有未结束的处置记录时不会重复创建。",
    )
    if current is not None and c2.button("前往处置记录", key="desk.item.goto_escalation"):
        _go_to_escalation(current["id"])
    if not can_open:
        st.caption("当前账号无权立案处置，请以值班员或以上账号登录。")

# ----------------------------------------------------------------------------- audit trail

st.divider()
st.subheader("审计记录")
if records["trail"]:
    st.dataframe(
        pd.DataFrame([{k: v for k, v in r.items() if k != "_id"} for r in records["trail"]]),
        hide_index=True,
        key="desk.item.audit",
    )
else:
    st.caption("暂无审计记录。")
_back_to_queue()
