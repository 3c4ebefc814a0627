"""The alert actions the item page offers (确认, 指派, 误报, 恢复, and the same on the whole event), as
button callbacks: each acts as the signed-in person through playbooks.triage (which checks the role and
compare-and-sets on the version shown) and leaves one flash message for the next run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from desk import state
from desk.ui import format_duration
from playbooks import triage
from playbooks.authz import PermissionDenied


def ack_text(alert: triage.AlertState, now: datetime) -> tuple[str, str]:
    """(text, badge colour) of an alert's acknowledge clock: 确认剩余 3 分钟 / 确认已超时 12 分钟 / 已确认."""
    if alert.ack_done_at is not None:
        late = alert.ack_due_at is not None and alert.ack_done_at > alert.ack_due_at
        return ("已确认（超时）" if late else "已确认"), ("orange" if late else "gray")
    if alert.ack_due_at is None or not alert.waiting_for_ack:
        return "", ""
    left = (alert.ack_due_at - now).total_seconds() / 60
    if left < 0:
        return f"确认已超时 {format_duration(left)}", "red"
    soon = alert.ack_minutes is not None and left <= max(1.0, alert.ack_minutes * 0.2)
    return f"确认剩余 {format_duration(left)}", "orange" if soon else "blue"


def _records():
    return state.get_context().records


def _say(result: triage.GroupResult, verb: str) -> None:
    text = f"已{verb} {result.done} 条预警" + (
        f"（{result.already} 条此前已是如此）" if result.already else ""
    )
    if result.refused:
        state.flash("warning", text + f"；{len(result.refused)} 条未处理：{result.refused[0]}")
    elif result.done or not result.already:
        state.flash("success", text + "。")
    else:
        state.flash("info", f"这些预警此前已{verb}，无需重复操作。")


def run(what: str, items: Sequence[tuple[int, int]], field: str | None = None) -> None:
    """``what``: acknowledge | assign | false_positive | reopen; ``items``: (alert id, version shown);
    ``field``: the session-state key of the person picked (assign) or the reason typed (false_positive)."""
    who = state.current_actor()
    value = str(st.session_state.get(field) or "") if field else ""
    if what == "assign" and not value:
        state.flash("warning", "请先选择要指派的人。")
        return
    actions = {
        "acknowledge": (triage.acknowledge, (), {}, "确认"),
        "assign": (triage.assign, (value,), {}, "指派"),
        "false_positive": (triage.mark_false_positive, (), {"reason": value}, "标为误报"),
        "reopen": (triage.reopen, (), {}, "恢复"),
    }
    action, args, kwargs, verb = actions[what]
    try:
        with _records().session() as s:
            result = triage.on_group(s, list(items), who, action, *args, **kwargs)
    except PermissionDenied as exc:
        state.flash("error", str(exc))
        return
    if what == "false_positive" and result.refused and not result.done:
        state.flash("warning", result.refused[0])
        return
    if field and (result.done or result.already):
        st.session_state[field] = None if what == "assign" else ""
    _say(result, verb)
