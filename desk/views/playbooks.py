"""预案库 — the playbook library: everyone signed in reads it; admins edit a playbook's YAML here.

Reading: name, triggers, the clocks per level, the steps with owners and deadlines, the holding
statements (each needs compliance sign-off, 需合规审核, before use) and when and how the 证监局 is told.
Editing (管理员 only; the save itself checks the role, playbooks.edit.save_playbook): the YAML in a
text area, 校验 checks it and shows the problems in Chinese, the change is shown as a diff before
保存, and a save keeps the previous version and is audited. The library is read again on the next page
run (Context.playbooks watches its files), so every page uses the edited playbook at once.
"""

from __future__ import annotations

import difflib

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import state
from desk.ui import escape_markdown, format_duration, format_time, join_list, plain
from playbooks import people
from playbooks.authz import PermissionDenied, require
from playbooks.edit import PlaybookEditError, parse_text, read_source, save_playbook
from playbooks.schema import LEVELS, PACKAGED_LIBRARY, ROLE_LABELS, Playbook
from store.records import audit_trail

SELECT = "desk.playbooks.select"
TEXT = "desk.playbooks.text"  # + ".<id>": the editor's text for that playbook
BASE = "desk.playbooks.base"  # + ".<id>": SHA-256 of the file text the editor started from
CHECKED = "desk.playbooks.checked"  # (id, problems or []) of the last 校验
LEVEL_NAMES = {"I": "I 级（特别重大）", "II": "II 级（重大）", "III": "III 级（较大）", "IV": "IV 级（一般）"}
CLOCK_NAMES = {
    "acknowledge_within": "确认预警",
    "holding_statement_within": "发布对外口径",
    "regulator_report_within": "报告证监局",
}

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()

st.title("预案库")
st.caption(
    "各类舆情事件的处置预案：触发条件、分级时限、处置步骤与负责人、对外口径模板（需合规审核）、报告证监局的要求。"
)
state.show_flash()

library, library_error = state.playbooks_or_none(ctx)
if library_error:
    st.error(escape_markdown(library_error))
    st.stop()

by_id = {p.id: p for p in library}
if st.session_state.get(SELECT) not in by_id:
    st.session_state[SELECT] = next((p.id for p in library if not p.fallback), library[0].id)
chosen = st.selectbox(
    "选择预案",
    options=list(by_id),
    format_func=lambda pid: f"{by_id[pid].name}（{pid}）" + ("　兜底" if by_id[pid].fallback else ""),
    key=SELECT,
)
playbook: Playbook = by_id[chosen]


# ----------------------------------------------------------------------------- reading


def _minutes(value: int | None) -> str:
    return format_duration(value) if value else "不要求"


def _step_deadline(step, pb: Playbook) -> str:
    parts = []
    for level in LEVELS:
        minutes = step.due_minutes_at(level, pb.clocks(level))
        if minutes is None:
            continue
        parts.append(f"{level} 级 {format_duration(minutes) if minutes else '立即'}")
    if step.due_clock:
        return f"按「{CLOCK_NAMES[step.due_clock]}」时限：" + "，".join(parts)
    return "，".join(parts) or "—"


def show_playbook(pb: Playbook) -> None:
    st.subheader(pb.name)
    st.caption(
        f"编号 {escape_markdown(pb.id)} · 版本 {escape_markdown(pb.version)}"
        + (" · 兜底预案（无专项预案匹配时使用）" if pb.fallback else "")
    )
    st.text(plain(pb.description))

    st.markdown("**触发条件**")
    t = pb.triggers
    st.text(
        "\n".join(
            [
                f"主题：{join_list(t.topics)}",
                f"关键词：{join_list(t.keywords)}",
                f"疑似不实信息触发：{'是' if t.falsity else '否'}",
                f"适用级别：{'全部' if t.min_level is None else t.min_level + ' 级及以上'}",
            ]
        )
    )

    st.markdown("**分级时限**（自预警生成起计）")
    st.dataframe(
        pd.DataFrame(
            [
                {"级别": LEVEL_NAMES[level]}
                | {name: _minutes(pb.clocks(level).minutes(clock)) for clock, name in CLOCK_NAMES.items()}
                for level in LEVELS
            ]
        ),
        hide_index=True,
        key="desk.playbooks.clocks",
    )

    st.markdown("**处置步骤**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "序号": i,
                    "步骤": plain(s.title),
                    "负责": ROLE_LABELS.get(s.owner_role, s.owner_role),
                    "时限": _step_deadline(s, pb),
                    "需签批": "是" if s.requires_signoff else "",
                    "对外": "是" if s.external else "",
                }
                for i, s in enumerate(pb.steps, start=1)
            ]
        ),
        hide_index=True,
        key="desk.playbooks.steps",
    )

    st.caption("「对外」步骤会触及公司以外（公告、推送、平台、监管），演练时不执行。")
    with st.expander("各步骤说明"):
        st.text(
            "\n\n".join(
                f"{i}. {plain(s.title)}\n{plain(s.description)}" for i, s in enumerate(pb.steps, start=1)
            )
        )

    st.markdown("**对外口径模板**")
    if not pb.holding_statements:
        st.text("本预案没有对外口径模板。")
    for hs in pb.holding_statements:
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(hs.title)}**　:red-background[需合规审核]")
            st.caption(
                f"对象：{escape_markdown(hs.audience)} · 渠道：{escape_markdown(join_list(hs.channels))}"
            )
            st.text(plain(hs.template))
    if pb.holding_statements:
        st.caption("以上模板须经合规审核签批后方可对外使用；花括号内为发布时填写的内容。")

    st.markdown("**报告证监局**")
    r = pb.regulator_report
    levels = "、".join(f"{lv} 级" for lv in r.when) or "不要求报告"
    st.text(
        "\n".join(
            [
                f"需报告的级别：{levels}",
                f"报告对象：{plain(r.to)}",
                "时限："
                + (
                    "；".join(
                        f"{lv} 级 预警后 {format_duration(m)}内"
                        for lv in r.when
                        if (m := pb.clocks(lv).regulator_report_within)
                    )
                    or "—"
                )
                + "（即分级时限中的「报告监管」）",
                f"方式：{join_list(r.how)}",
                "内容：",
                *[f"  • {plain(c)}" for c in r.contents],
                *([f"备注：{plain(r.notes)}"] if r.notes else []),
            ]
        )
    )


show_playbook(playbook)


# ----------------------------------------------------------------------------- editing (管理员)

if actor is None or not actor.can("playbook.edit"):
    st.divider()
    st.caption("预案由管理员维护；如需修改，请联系管理员。")
    st.stop()

directory = ctx.playbook_dir
text_key, base_key = f"{TEXT}.{chosen}", f"{BASE}.{chosen}"


def _load(pid: str) -> None:
    """Put the file's text into the editor for ``pid`` and remember the hash it started from."""
    try:
        source = read_source(directory, pid)
    except PlaybookEditError as exc:
        state.flash("error", str(exc))
        return
    st.session_state[f"{TEXT}.{pid}"] = source.text
    st.session_state[f"{BASE}.{pid}"] = source.sha256
    st.session_state[CHECKED] = None


def _check(pid: str) -> None:
    try:
        parse_text(st.session_state.get(f"{TEXT}.{pid}", ""))
    except PlaybookEditError as exc:
        st.session_state[CHECKED] = (pid, exc.lines())
        return
    st.session_state[CHECKED] = (pid, [])


def _save(pid: str) -> None:
    text = st.session_state.get(f"{TEXT}.{pid}", "")
    try:
        who = require(state.current_actor(), "playbook.edit")
        with ctx.records.session() as s:
            saved = save_playbook(
                s, who, directory=directory, playbook_id=pid, text=text,
                expected_sha256=st.session_state.get(f"{BASE}.{pid}"),
            )  # fmt: skip
    except PermissionDenied as exc:
        state.flash("error", str(exc))
        return
    except PlaybookEditError as exc:
        st.session_state[CHECKED] = (pid, exc.lines())
        state.flash(
            "error", "未保存：" + exc.lines()[0] + ("（其余问题见下方）" if len(exc.problems) > 1 else "")
        )
        return
    except SQLAlchemyError:
        state.flash("error", "审计日志暂时无法写入，预案未保存；请稍后重试。")
        return
    ctx.reload_playbooks()  # this run and every session of this desk use the edit from now on
    new_id = saved.playbook.id
    st.session_state[SELECT] = new_id
    _load(new_id)
    kept = f"，旧版本已存档（{saved.history.name}）" if saved.history else ""
    renamed = f"，编号由 {saved.renamed_from} 改为 {new_id}" if saved.renamed_from else ""
    state.flash(
        "success", f"已保存预案「{saved.playbook.name}」（版本 {saved.playbook.version}）{renamed}{kept}。"
    )


st.divider()
st.subheader("编辑预案（管理员）")
st.caption(
    f"预案文件目录：{escape_markdown(str(directory))}。保存前会按预案格式逐项校验；"
    "每次保存都保留旧版本（.history 目录）并记入审计日志。"
)
if directory.resolve() == PACKAGED_LIBRARY.resolve():
    st.info(
        "当前编辑的是软件自带的预案目录，升级软件时修改可能被覆盖。建议把自带预案复制到单独目录，"
        "并在 yuqing.toml 中设置 playbooks_dir 指向该目录。"
    )
if text_key not in st.session_state:
    _load(chosen)
source_now = None
try:
    source_now = read_source(directory, chosen)
except PlaybookEditError as exc:
    st.error(escape_markdown(str(exc)))
    st.stop()
if st.session_state.get(base_key) and source_now.sha256 != st.session_state[base_key]:
    st.warning("该预案文件在你打开编辑器后已被修改（可能是其他管理员）；请先「重新载入」，否则无法保存。")

st.text_area("预案 YAML", key=text_key, height=480, help="YAML 格式；字段说明见 playbooks/schema.py。")
with st.container(horizontal=True):
    st.button("校验", key="desk.playbooks.check", on_click=_check, args=(chosen,))
    st.button("保存", key="desk.playbooks.save", type="primary", on_click=_save, args=(chosen,))
    st.button("重新载入（放弃修改）", key="desk.playbooks.reload", on_click=_load, args=(chosen,))

checked = st.session_state.get(CHECKED)
if checked and checked[0] == chosen:
    if checked[1]:
        st.error("校验未通过，请修改以下问题：")
        for line in checked[1]:
            st.text(f"• {plain(line)}")
    else:
        st.success("校验通过，可以保存。")

edited = st.session_state.get(text_key, "")
if edited != source_now.text:
    diff = "".join(
        difflib.unified_diff(
            source_now.text.splitlines(keepends=True),
            edited.replace("\r\n", "\n").splitlines(keepends=True),
            fromfile=f"{chosen}（当前）",
            tofile=f"{chosen}（修改后）",
        )
    )
    st.markdown("**改动预览**（保存前请核对）")
    st.code(diff or "（仅空白差异）", language="diff")
else:
    st.caption("尚无改动。")

with ctx.records.session() as s:
    entries = audit_trail(s, entity="playbook", entity_id=chosen)
    _names = people.names(s)
if entries:
    st.markdown("**修改记录**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "时间": format_time(e.at),
                    "修改人": _names.get(e.actor, e.actor),
                    "版本": plain((e.detail or {}).get("version", "")),
                    "旧 SHA-256": str((e.detail or {}).get("old_sha256") or "")[:12],
                    "新 SHA-256": str((e.detail or {}).get("new_sha256") or "")[:12],
                    "旧版本存档": plain((e.detail or {}).get("history") or ""),
                }
                for e in reversed(entries)
            ]
        ),
        hide_index=True,
        key="desk.playbooks.history",
    )
