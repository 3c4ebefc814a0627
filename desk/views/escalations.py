"""处置记录 — escalation records: the list with each record's clock state, and for one record its
clocks, the playbook steps as a checklist, the escalation chain, holding statements with compliance
sign-off, state changes and the audit trail.

Every button calls a domain function that checks the signed-in person's role itself
(playbooks.authz.require); what is hidden or disabled here is a convenience, not the rule.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from desk import state
from desk.ui import (
    audit_action_label,
    escape_markdown,
    format_age,
    format_duration,
    format_time,
    level_badge,
    level_label,
    plain,
)
from playbooks import audit_text, escalation_records, evidence, people, statements
from playbooks.authz import ROLE_LABELS, Actor, PermissionDenied
from playbooks.chain import entry_label
from playbooks.clocks import CLOCK_STATE_COLORS, CLOCK_STATE_LABELS, ClockState, worst_state
from playbooks.escalation import (
    OPEN_STATES,
    SETTLING,
    STATE_LABELS,
    STATES,
    EscalationError,
    StaleEscalation,
    allowed_next,
    assign,
    mark_step_done,
)
from playbooks.schema import PLACEHOLDERS
from store.models import utcnow
from store.records import get_escalation

SELECT_KEY = "desk.esc.select"
NOTE_KEY = "desk.esc.note"
ASSIGN_KEY = "desk.esc.assign_to"
MAX_NOTE = 500

ACTION_LABELS = {
    "escalation.assigned": "转交承办人",
    "escalation.step_done": "步骤完成",
    "escalation.chain": "时限超时升级",
    "statement.drafted": "起草口径",
    "statement.revised": "修改口径",
    "statement.submitted": "提交合规审核",
    "statement.approved": "合规审核通过",
    "statement.rejected": "口径退回",
    "statement.used": "口径已使用",
}
CLOCK_NAMES = {
    "acknowledge_within": "确认预警",
    "holding_statement_within": "发布对外口径",
    "regulator_report_within": "报告监管",
}
STATEMENT_COLORS = {
    "draft": "gray",
    "submitted": "orange",
    "approved": "green",
    "rejected": "red",
    "used": "blue",
}

state.init_session_state()
ctx = state.get_context()
actor: Actor | None = state.current_actor()

st.title("处置记录")
state.show_flash()

library, library_error = state.playbooks_or_none(ctx)
playbooks = {p.id: p for p in library}
if library_error:
    st.warning(library_error)

f1, f3, f2 = st.columns([4, 2, 1], vertical_alignment="bottom")
find = f3.text_input(
    "查找记录", key="desk.esc.find", max_chars=40, placeholder="编号或标题关键词（含已关闭）",
    help="按编号（如 12 或 #12）或预警标题查找，不论状态：已关闭、误报的记录也在。",
).strip()  # fmt: skip
states = f1.multiselect(
    "状态",
    STATES,
    default=list(OPEN_STATES),
    format_func=lambda s: STATE_LABELS.get(s, s),
    key="desk.esc.states",
    placeholder="全部状态",
)
include_drill = f2.toggle("包含演练", key="desk.esc.drill")

now = utcnow()
try:
    with ctx.records.session() as s:
        rows = escalation_records.record_rows(
            s,
            states=None if find else (states or None),  # a search looks in every state: closed ones too
            drill=None if include_drill else False,
            playbooks=playbooks,
            now=now,
            find=find,  # searched in the store: a record of last year is found too
        )
except SQLAlchemyError:
    st.error("处置记录库暂时无法读取，请稍后刷新；如持续失败请联系管理员。")
    st.stop()

if not rows:
    st.info("没有符合条件的处置记录。" if states or find else "还没有处置记录。")
    st.stop()


def people_label(username: str) -> str:
    """显示名（用户名）, the one way the desk names people."""
    with ctx.records.session() as s:
        return people.person_label(s, username)


def _playbook_name(playbook_id: str | None) -> str:
    pb = playbooks.get(playbook_id or "")
    return pb.name if pb else (playbook_id or "—")


st.dataframe(
    pd.DataFrame(
        [
            {
                "编号": f"#{r.id}",
                "状态": STATE_LABELS.get(r.state, r.state),
                "级别": level_label(r.level),
                "时限": CLOCK_STATE_LABELS.get(r.worst, "—"),
                "预案": _playbook_name(r.playbook_id),
                "承办人": r.owner or "未指定",
                "升级层级": r.chain_tier,
                "开启人": r.opened_by,
                "开启时间（北京）": format_time(r.opened_at),
                "已持续": format_age(r.opened_at, now),
                "预警": plain(r.title, 60),
                "演练": "演练" if r.drill else "",
            }
            for r in rows
        ]
    ),
    hide_index=True,
    key="desk.esc.table",
)

# ----------------------------------------------------------------------------- one record

by_id = {r.id: r for r in rows}
ids = list(by_id)
wanted = st.session_state.get(state.SELECTED_ESCALATION)
if st.session_state.get(SELECT_KEY) not in ids:
    st.session_state[SELECT_KEY] = wanted if wanted in ids else ids[0]
chosen = st.selectbox(
    "选择处置记录",
    ids,
    key=SELECT_KEY,
    format_func=lambda i: f"#{i} · {STATE_LABELS.get(by_id[i].state, '')} · {plain(by_id[i].title, 40)}",
)
st.session_state[state.SELECTED_ESCALATION] = chosen
esc = by_id[chosen]
playbook = playbooks.get(esc.playbook_id or "")


def _run(action, success: str | None = None) -> bool:
    """Run one domain action in a transaction as the signed-in person; Chinese messages for refusals."""
    who = state.current_actor()
    if who is None:
        state.flash("warning", "登录已失效，请重新登录后再操作。")
        return False
    try:
        with ctx.records.session() as s:
            action(s, who)
    except PermissionDenied as exc:
        state.flash("error", str(exc))
        return False
    except (StaleEscalation, statements.StatementConflict) as exc:  # 已被他人处理/修改
        state.flash("warning", str(exc))
        return False
    except StaleDataError:
        state.flash("warning", "处置记录已被他人修改，请刷新后再操作。")
        return False
    except EscalationError as exc:
        state.flash("error", str(exc))
        return False
    except SQLAlchemyError:
        state.flash("error", "处置记录库暂时无法写入，请稍后重试；如持续失败请联系管理员。")
        return False
    if success:
        state.flash("success", success)
    return True


def _transition(esc_id: int, to_state: str, version: int) -> None:
    """``version`` is the one on screen when the button was drawn, so a change made by someone else in
    between is refused instead of silently overwritten."""
    note = plain(st.session_state.get(NOTE_KEY), MAX_NOTE).strip()
    ok = _run(
        lambda s, who: escalation_records.settle(
            s,
            escalation_id=esc_id,
            to_state=to_state,
            actor=who,
            note=note,
            expected_version=version,
            playbook=playbooks.get(by_id[esc_id].playbook_id or "") if esc_id in by_id else None,
            now=utcnow(),
        ),
        f"处置记录 #{esc_id} 已变为「{STATE_LABELS[to_state]}」。",
    )
    if ok:
        st.session_state[NOTE_KEY] = ""


def _assign(esc_id: int, version: int) -> None:
    owner = str(st.session_state.get(ASSIGN_KEY) or "")
    if not owner:
        state.flash("warning", "请选择要转交的承办人。")
        return
    _run(
        lambda s, who: assign(s, escalation_id=esc_id, owner=owner, actor=who, expected_version=version),
        f"处置记录 #{esc_id} 已转交给 {owner}。",
    )


def _step_done(esc_id: int, step_id: str, title: str, step_ids: tuple[str, ...]) -> None:
    _run(
        lambda s, who: mark_step_done(s, escalation_id=esc_id, step_id=step_id, actor=who, step_ids=step_ids),
        f"步骤「{title}」已标记完成。",
    )


def _draft(esc_id: int, template_id: str, keys: dict[str, str]) -> None:
    if playbook is None:
        state.flash("error", "该记录没有可用的预案，无法起草口径。")
        return
    values = {name: plain(st.session_state.get(key), 200).strip() for name, key in keys.items()}
    _run(
        lambda s, who: statements.draft_statement(
            s, escalation_id=esc_id, playbook=playbook, template_id=template_id, values=values, actor=who
        ),
        "口径草稿已生成，请核对后提交合规审核。",
    )


# ``version``: the draft's version on screen; a change someone else made since is refused (已被他人处理)


def _revise(draft_id: int, key: str, version: int | None = None) -> None:
    text = plain(st.session_state.get(key), statements.MAX_TEXT)
    _run(
        lambda s, who: statements.revise(
            s, draft_id=draft_id, text=text, actor=who, expected_version=version
        ),
        "口径已保存。",
    )


def _submit(draft_id: int, version: int | None = None) -> None:
    _run(
        lambda s, who: statements.submit(s, draft_id=draft_id, actor=who, expected_version=version),
        "已提交合规审核。",
    )


def _review(draft_id: int, approve: bool, key: str, version: int | None = None) -> None:
    note = plain(st.session_state.get(key), statements.MAX_NOTE).strip()
    if approve:
        _run(
            lambda s, who: statements.approve(
                s, draft_id=draft_id, actor=who, note=note, expected_version=version
            ),
            "口径已批准，可以使用。",
        )
    else:
        _run(
            lambda s, who: statements.reject(
                s, draft_id=draft_id, actor=who, note=note, expected_version=version
            ),
            "口径已退回起草人。",
        )


def _used(draft_id: int, key: str, version: int | None = None) -> None:
    channel = plain(st.session_state.get(key), 80).strip()
    _run(
        lambda s, who: statements.mark_used(
            s, draft_id=draft_id, actor=who, channel=channel, expected_version=version
        ),
        "已记录口径使用。",
    )


def _open_item(post_id: str) -> None:
    st.session_state[state.SELECTED_POST] = post_id
    st.switch_page(state.ITEM_PAGE, query_params={state.POST_PARAM: post_id})


# everything about the chosen record, read in one transaction as plain values
with ctx.records.session() as s:
    record = escalation_records.record_file(s, esc.id, playbook=playbook, now=now)
board: list[ClockState] = record.clocks
done_rows = record.steps_done
with ctx.records.session() as s:
    names = people.names(s)
step_titles = {st_.id: st_.title for st_ in playbook.steps} if playbook else {}
trail = [
    {
        "时间（北京）": format_time(a.at, with_seconds=True),
        "操作人": names.get(a.actor) or people.label(a.actor),
        "操作": ACTION_LABELS.get(a.action) or audit_action_label(a.action),
        "详情": audit_text.describe(a.action, a.detail, names, steps=step_titles),
    }
    for a in record.trail
]


def _badge(c: ClockState) -> str:
    return f":{CLOCK_STATE_COLORS[c.state]}-badge[{CLOCK_STATE_LABELS[c.state]}]"


def _time_left(c: ClockState, now: datetime) -> str:
    if c.state == "not_required":
        return "—"
    if c.done_at is not None:
        late = c.overdue_by
        return f"{format_time(c.done_at)} 完成" + (
            f"（超时 {format_duration(late.total_seconds() / 60)}）" if late else ""
        )
    left = c.remaining
    if left is None:
        return "—"
    minutes = left.total_seconds() / 60
    return f"剩余 {format_duration(minutes)}" if minutes >= 0 else f"已超时 {format_duration(minutes)}"


with st.container(border=True):
    label, color = level_badge(esc.level)
    h1, h2, h3, h4 = st.columns([1, 1.6, 1.6, 4])
    h1.badge(f"#{esc.id}", color="gray")
    h2.badge(label, color=color)
    if board:
        worst = worst_state(board)
        h3.badge(f"时限：{CLOCK_STATE_LABELS[worst]}", color=CLOCK_STATE_COLORS[worst])
    if esc.drill:
        h4.badge("演练", color="violet")
    st.markdown(f"**当前状态：{STATE_LABELS.get(esc.state, escape_markdown(esc.state))}**")
    st.text(plain(esc.title, 200))
    chain = list(ctx.settings.escalation.chain)
    tier = esc.chain_tier
    tier_text = f"第 {tier} 级" + (f"（{entry_label(chain[tier])}）" if tier < len(chain) else "")
    st.markdown(
        "  \n".join(
            [
                f"**预案**：{escape_markdown(_playbook_name(esc.playbook_id))}",
                f"**承办人**：{escape_markdown(esc.owner or '未指定')}",
                f"**升级链**：{tier_text}" + ("（尚未因超时升级）" if tier == 0 else ""),
                f"**开启**：{escape_markdown(esc.opened_by)} · {format_time(esc.opened_at)}"
                f"（已持续 {format_age(esc.opened_at, now)}）",
            ]
        )
    )
    if esc.summary:
        st.text(plain(esc.summary))
    if st.button("查看预警详情", key="desk.esc.open_item"):
        _open_item(esc.post_id)

# ----------------------------------------------------------------------------- clocks

st.subheader("处置时限")
if playbook is None:
    st.info("该记录没有可用的预案，无法计算处置时限。")
elif not board:
    st.info("该记录未定级，处置时限无法计算。")
else:
    st.caption("时限自预警生成时起计；颜色：红＝已超时，橙＝即将超时或超时完成，绿＝已按时完成。")
    for c in (c for c in board if c.kind == "level"):
        a, b, d, e = st.columns([1.4, 1.2, 2, 2.4])
        a.markdown(f"**{c.name}**")
        b.markdown(_badge(c))
        d.markdown(f"截止 {format_time(c.due_at)}" if c.due_at else "本级不要求")
        e.markdown(_time_left(c, now))

# ----------------------------------------------------------------------------- the playbook's steps

steps = [c for c in board if c.kind == "step"]
if steps:
    st.subheader("处置步骤")
    step_ids = tuple(c.key.removeprefix("step:") for c in steps)
    can_tick = bool(actor and actor.can("escalation.step_done")) and esc.state in OPEN_STATES
    for c in steps:
        sid = c.key.removeprefix("step:")
        done = done_rows.get(sid)
        a, b, d, e, f = st.columns([3, 1, 1.2, 2.2, 1.2])
        mark = "☑" if done else "☐"
        flags = "（对外）" if c.external else ""
        a.markdown(f"{mark} {escape_markdown(c.name)}{flags}")
        b.markdown(escape_markdown(c.owner_label))
        d.markdown(_badge(c))
        e.markdown(f"截止 {format_time(c.due_at)} · {_time_left(c, now)}")
        if done:
            f.caption(f"{escape_markdown(done[0])} 完成")
        else:
            f.button(
                "完成",
                key=f"desk.esc.step.{sid}",
                disabled=not can_tick,
                on_click=_step_done,
                args=(esc.id, sid, c.name, step_ids),
            )
    if esc.drill and any(c.external for c in steps):
        st.caption("演练：标记为「对外」的步骤只记录，不得真实对外发布或报送。")

# ----------------------------------------------------------------------------- the chain

st.subheader("超时升级")
if record.breaches:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "时限": CLOCK_NAMES.get(b.clock)
                    or next((c.name for c in board if c.key == b.clock), b.clock.removeprefix("step:")),
                    "截止（北京）": format_time(b.due_at),
                    "发现超时": format_time(b.breached_at),
                    "升级至": f"第 {b.tier} 级",
                    "已通知": b.notified or "（无可通知的人）",
                    "演练": "演练（未发出）" if b.drill else "",
                }
                for b in record.breaches
            ]
        ),
        hide_index=True,
        key="desk.esc.breaches",
    )
else:
    st.caption("暂无超时升级。")

# ----------------------------------------------------------------------------- holding statements

st.subheader("对外口径")
if playbook is None or not playbook.holding_statements:
    st.caption("本预案没有对外口径模板。")
else:
    st.warning("对外口径须经负责人合规审核批准后方可使用；未经批准，不得对外发布。")
    can_draft = bool(actor and actor.can("statement.draft"))
    can_approve = bool(actor and actor.can("statement.approve"))
    titles = {h.id: h.title for h in playbook.holding_statements}
    for d in record.drafts:
        with st.container(border=True):
            x, y = st.columns([4, 1.4])
            x.markdown(
                f"**{escape_markdown(titles.get(d.template_id, d.template_id))}** · 口径稿 #{d.id}"
                f" · {escape_markdown(d.drafted_by)} 起草于 {format_time(d.drafted_at)}"
            )
            y.badge(
                statements.STATUS_LABELS.get(d.status, d.status),
                color=STATEMENT_COLORS.get(d.status, "gray"),
            )
            if d.reviewed_by:
                st.caption(
                    f"审核：{escape_markdown(d.reviewed_by)} · {format_time(d.reviewed_at)}"
                    + (f" · 意见：{escape_markdown(d.review_note)}" if d.review_note else "")
                )
            key = f"desk.esc.stmt.{d.id}"
            if d.status in ("draft", "rejected") and can_draft:
                st.text_area(
                    "口径内容", value=d.text, key=f"{key}.text", max_chars=statements.MAX_TEXT, height=140
                )
                b1, b2, _ = st.columns([1, 1.4, 3])
                b1.button(
                    "保存修改", key=f"{key}.save", on_click=_revise, args=(d.id, f"{key}.text", d.version)
                )
                if d.status == "draft":
                    b2.button(
                        "提交合规审核",
                        key=f"{key}.submit",
                        type="primary",
                        on_click=_submit,
                        args=(d.id, d.version),
                    )
                else:
                    b2.caption("保存修改后再提交审核")
            else:
                st.text(d.text)
            if d.status == "submitted":
                if can_approve:
                    st.text_input("审核意见（退回时必填）", key=f"{key}.note", max_chars=statements.MAX_NOTE)
                    b1, b2, _ = st.columns([1, 1, 4])
                    b1.button(
                        "批准",
                        key=f"{key}.approve",
                        type="primary",
                        on_click=_review,
                        args=(d.id, True, f"{key}.note", d.version),
                    )
                    b2.button(
                        "退回",
                        key=f"{key}.reject",
                        on_click=_review,
                        args=(d.id, False, f"{key}.note", d.version),
                    )
                else:
                    st.caption("等待负责人合规审核。")
            if d.status == "approved" and can_draft:
                c1, c2, _ = st.columns([2, 1.4, 3], vertical_alignment="bottom")
                c1.text_input("发布渠道", key=f"{key}.channel", max_chars=80, placeholder="例如：官网公告")
                c2.button(
                    "标记已使用", key=f"{key}.used", on_click=_used, args=(d.id, f"{key}.channel", d.version)
                )
    if can_draft and esc.state in OPEN_STATES:
        with st.expander("起草新的对外口径"):
            template_id = st.selectbox(
                "模板",
                [h.id for h in playbook.holding_statements],
                format_func=lambda i: titles[i],
                key="desk.esc.stmt.template",
            )
            hs = next(h for h in playbook.holding_statements if h.id == template_id)
            st.text(hs.template)
            keys = {}
            firm = ctx.settings.firm
            for name in hs.placeholders:
                key = f"desk.esc.stmt.value.{name}"
                if name == "firm" and key not in st.session_state:
                    st.session_state[key] = firm.short_names[0] if firm.short_names else firm.name
                st.text_input(PLACEHOLDERS.get(name, name), key=key, max_chars=200)
                keys[name] = key
            st.button(
                "生成草稿", key="desk.esc.stmt.draft", on_click=_draft, args=(esc.id, template_id, keys)
            )

# ----------------------------------------------------------------------------- evidence (固定证据)

UPLOAD_KEY = "desk.esc.evidence.file"
UPLOAD_NOTE = "desk.esc.evidence.note"


def _attach(esc_id: int) -> None:
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is None:
        state.flash("warning", "请先选择要上传的截图或文件。")
        return
    note = plain(st.session_state.get(UPLOAD_NOTE), 500)
    ok = _run(
        lambda s, who: evidence.attach(
            s, who, escalation_id=esc_id, name=upload.name, data=upload.getvalue(), mime=upload.type or "",
            note=note,
        ),
        f"已保存证据「{plain(upload.name, 60)}」，SHA-256 已记录。",
    )  # fmt: skip
    if ok:
        st.session_state[UPLOAD_NOTE] = ""


def _bundle(esc_id: int, who: Actor | None) -> bytes:
    with ctx.records.session() as s:
        return evidence.bundle(s, esc_id, who)


st.subheader("固定证据")
with ctx.records.session() as s:
    kept = evidence.for_record(s, esc.id)
if kept:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "固定时间（北京）": format_time(e.captured_at, with_seconds=True),
                    "材料": plain(e.name, 60),
                    "类型": evidence.KIND_NAMES.get(e.kind, e.kind),
                    "固定人": "系统自动" if e.captured_by == "system" else people_label(e.captured_by),
                    "大小（字节）": e.size,
                    "SHA-256": e.sha256,
                    "备注": plain(e.note, 80),
                }
                for e in kept
            ]
        ),
        hide_index=True,
        key="desk.esc.evidence",
    )
    st.download_button(
        f"下载全部证据（{len(kept)} 件，含 SHA-256 清单）",
        data=partial(_bundle, esc.id, actor),
        file_name=f"处置记录{esc.id}-证据.zip",
        mime="application/zip",
        key="desk.esc.evidence.zip",
    )
else:
    st.caption("尚无固定的证据（预警生成时会自动保存帖子快照）。")
if actor is not None and actor.can("escalation.step_done") and esc.state in OPEN_STATES:
    with st.expander("上传截图或文件"):
        st.file_uploader("截图、网页存档（PDF）或其他文件，10 MB 以内", key=UPLOAD_KEY)
        st.text_input(
            "说明（可选）", key=UPLOAD_NOTE, max_chars=500, placeholder="例如：原帖截图，发布约 5 分钟后"
        )
        st.button("保存为证据", key="desk.esc.evidence.save", on_click=_attach, args=(esc.id,))

# ----------------------------------------------------------------------------- state and owner

nexts = allowed_next(esc.state)
st.subheader("变更状态")
if not nexts:
    st.caption("该记录已结束，没有后续状态。")
else:
    with ctx.records.session() as _s:
        _rec = get_escalation(_s, escalation_id=esc.id)
        pending = escalation_records.open_steps(_s, _rec, playbook, now=now) if _rec is not None else []
    if pending and any(n in SETTLING for n in nexts):
        st.warning(
            f"尚有 {len(pending)} 个预案步骤未完成：{escape_markdown('、'.join(pending))}。"
            "转为「已解决」或「已关闭」前须在备注中说明原因。"
        )
    st.text_input(
        "备注（结案时步骤未完成须说明原因；记入审计日志）" if pending else "备注（可选，将记入审计日志）",
        key=NOTE_KEY,
        max_chars=MAX_NOTE,
    )
    cols = st.columns(len(nexts))
    for col, nxt in zip(cols, nexts, strict=True):
        needs_manager = nxt == "closed" and not (actor and actor.can("escalation.close"))
        col.button(
            f"转为「{STATE_LABELS[nxt]}」",
            key=f"desk.esc.to.{nxt}",
            disabled=actor is None or needs_manager,
            help="关闭处置记录需要负责人或以上权限。" if needs_manager else None,
            on_click=_transition,
            args=(esc.id, nxt, esc.version),
            type="primary" if nxt in ("acknowledged", "responding") else "secondary",
        )

    with st.expander("转交承办人"):
        options = [u.username for u in record.active_users]
        names = {
            u.username: f"{u.display_name or u.username}（{ROLE_LABELS.get(u.role, u.role)}）"
            for u in record.active_users
        }
        st.selectbox(
            "承办人",
            options,
            key=ASSIGN_KEY,
            format_func=lambda u: names.get(u, u),
            index=None,
            placeholder="选择用户",
        )
        st.button(
            "转交",
            key="desk.esc.assign",
            disabled=not (actor and actor.can("escalation.assign")),
            on_click=_assign,
            args=(esc.id, esc.version),
        )

st.subheader("审计记录")
if trail:
    st.dataframe(pd.DataFrame(trail), hide_index=True, key="desk.esc.audit")
else:
    st.caption("暂无审计记录。")
