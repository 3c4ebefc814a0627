"""The source-health banner: a silent or failing source is a flag the duty officer sees on the queue."""

from __future__ import annotations

import streamlit as st

from desk.state import HEALTH_PAGE
from desk.ui import escape_markdown
from store.health import SourceHealth, health_flags
from yuqing.context import Context

MAX_BANNER_SOURCES = 5


def _flags(ctx: Context) -> list[SourceHealth]:
    with ctx.records.session() as session:
        return health_flags(session, sources=ctx.settings.sources, rules=ctx.settings.health)


def banner_lines(flags: list[SourceHealth]) -> list[str]:
    """One Chinese line per flagged source: its name, what is wrong, and why."""
    lines = []
    for h in flags[:MAX_BANNER_SOURCES]:
        lines.append(
            f"**{escape_markdown(h.label)}**（{h.status}）：{escape_markdown('；'.join(h.reasons[:2]))}"
        )
    if len(flags) > MAX_BANNER_SOURCES:
        lines.append(f"另有 {len(flags) - MAX_BANNER_SOURCES} 个信息源异常")
    return lines


def show_health_banner(ctx: Context) -> list[SourceHealth]:
    """A warning above the queue when any source is silent or failing; returns the flagged sources.

    A blind desk looks calm: an empty queue means nothing only when every source is being seen.
    """
    try:
        flags = _flags(ctx)
    except Exception as exc:  # the queue must still show when the health records cannot be read
        st.warning(f"无法读取信息源健康状态：{type(exc).__name__}")
        return []
    if not flags:
        return []
    with st.container(border=True):
        st.error(
            f"信息源告警：{len(flags)} 个信息源沉默或报错，相关舆情可能漏看。\n\n"
            + "\n\n".join(f"- {line}" for line in banner_lines(flags))
        )
        st.page_link(HEALTH_PAGE, label="查看信息源健康", icon="📡")
    return flags


def show_health_sidebar(ctx: Context) -> None:
    """The same flag in the sidebar, so it stays in sight on every page of the desk; it refreshes itself
    (every ``[desk] queue_refresh_seconds``), so an open page learns that a source went silent."""
    st.fragment(run_every=int(ctx.settings.desk.queue_refresh_seconds))(_sidebar_flags)(ctx)


def _sidebar_flags(ctx: Context) -> None:
    try:
        flags = _flags(ctx)
    except Exception:
        st.caption("信息源健康状态暂不可读。")
        return
    if flags:
        names = "、".join(escape_markdown(h.label) for h in flags[:3]) + ("等" if len(flags) > 3 else "")
        st.error(f"信息源告警 {len(flags)} 个：{names}。详见「信息源健康」页。")
