"""态势总览 and 报告证监局 pages (AppTest): a manager sees charts and the open records worst first, and
gets a regulator report draft to download and sign; an officer gets neither page."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from docx import Document
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from store.models import Alert, Escalation, Report, utcnow
from tests.desk.conftest import APP, HOSTILE_TITLE, sign_in

DASHBOARD = "views/dashboard.py"
REPORTS = "views/reports.py"


def _as(role: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(at, None, role=role, username={"manager": "zhao", "officer": "wang", "admin": "root"}[role])
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _escalate(desk_store, key: str, *, state: str = "new", minutes_ago: int = 0, owner: str = "wang") -> int:
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            alert = s.scalar(select(Alert).where(Alert.post_id == f"post-{key}"))
            if minutes_ago:
                alert.created_at = utcnow() - timedelta(minutes=minutes_ago)
            esc = Escalation(
                alert_id=alert.id,
                state=state,
                level=alert.level,
                playbook_id=alert.playbook_id,
                owner=owner,
                opened_by=owner,
                drill=alert.drill,
            )
            s.add(esc)
            s.flush()
            return esc.id
    finally:
        ctx.close()


def _group(desk_store, event_id: str, *keys: str) -> None:
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            for key in keys:
                s.scalar(select(Alert).where(Alert.post_id == f"post-{key}")).event_id = event_id
    finally:
        ctx.close()


def test_manager_sees_charts_and_open_records_worst_first(desk_store):
    _group(desk_store, "ev-app", "outage", "rumor")
    overdue = _escalate(desk_store, "complaint", minutes_ago=600)  # level IV, its clocks long run out
    fresh = _escalate(desk_store, "outage", minutes_ago=1)  # level I, one minute old
    _escalate(desk_store, "drill")  # a drill: not on the dashboard
    at = _as("manager").run()
    at.switch_page(DASHBOARD).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["态势总览"]
    charts = _charts(at)
    assert len(charts) >= 6  # volume, sentiment, levels, sources, events, clock states, ages
    titles = json.dumps(charts, ensure_ascii=False)
    for axis in ("帖子数", "情绪", "级别", "来源", "事件（首条标题）", "最紧迫时限状态"):
        assert axis in titles
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["帖子总数"] == "5"  # six sample posts, one a drill
    assert metrics["未结处置记录"] == "2"
    table = next(df.value for df in at.dataframe if "时限状态" in df.value.columns)
    assert list(table["编号"]) == [overdue, fresh]
    assert table["时限状态"].iloc[0] == "已超时"
    assert table["剩余时间"].iloc[0].startswith("已超时")
    assert table["承办人"].iloc[0] == "wang"
    assert "演练" not in table.columns

    at.toggle(key="desk.dash.drill").set_value(True).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["帖子总数"] == "6" and metrics["未结处置记录"] == "3"


def test_hostile_titles_stay_text_on_the_dashboard(desk_store):
    _escalate(desk_store, "hostile", minutes_ago=5)
    at = _as("admin").run()
    at.switch_page(DASHBOARD).run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "时限状态" in df.value.columns)
    assert table["标题"].iloc[0] == HOSTILE_TITLE  # shown as text in a table cell, never as markup
    assert not any("<script>" in m.value for m in at.markdown)


def test_hourly_view_and_a_range_too_long_for_it(desk_store):
    at = _as("manager").run()
    at.switch_page(DASHBOARD).run()
    at.segmented_control(key="desk.dash.unit").set_value("hour").run()
    assert not at.exception and _charts(at)
    today = utcnow().date()
    at.date_input(key="desk.dash.range").set_value((today - timedelta(days=30), today)).run()
    assert not at.exception
    assert any("按小时统计最多" in w.value for w in at.warning)


def test_officer_does_not_get_the_managers_pages(desk_store):
    at = _as("officer").run()
    assert not at.exception
    for page in (DASHBOARD, REPORTS):  # not registered for an officer
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    # and the page refuses by itself when reached directly
    page = AppTest.from_file(str(APP.parent / DASHBOARD), default_timeout=60)
    sign_in(page, None, role="officer", username="wang")
    page.run()
    assert [e.value for e in page.error] == ["态势总览仅供负责人和管理员查看。"]
    assert not _charts(page) and not page.dataframe
    page = AppTest.from_file(str(APP.parent / REPORTS), default_timeout=60)
    sign_in(page, None, role="officer", username="wang")
    page.run()
    assert [e.value for e in page.error] == ["报告页面仅供负责人和管理员使用。"]
    assert not page.button


def test_manager_generates_downloads_and_signs_a_regulator_report(desk_store):
    esc_id = _escalate(desk_store, "outage", minutes_ago=30)
    _escalate(desk_store, "drill")
    at = _as("manager").run()
    at.switch_page(REPORTS).run()
    assert not at.exception
    options = at.selectbox(key="desk.reports.escalation").options
    assert len(options) == 1 and options[0].startswith(f"#{esc_id}")  # the drill is not offered
    at.button(key="desk.reports.generate").click().run()
    assert not at.exception
    assert any("已生成报告证监局草稿" in s.value for s in at.success)
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            report = s.scalar(select(Report).where(Report.ref == str(esc_id)))
            assert report.created_by == "zhao" and report.signed_at is None
            body = report.content_md
    finally:
        ctx.close()
    assert "华鼎证券股份有限公司" in body and "I 级（特别重大）" in body
    assert any("一、事件基本情况" in m.value for m in at.markdown)  # the preview
    assert any("与生成时一致" in c.value for c in at.caption)  # the rebuilt .docx matches its SHA-256
    download = at.get("download_button")[0]
    assert "docx" in json.dumps(str(download.proto), ensure_ascii=False)

    at.button(key="desk.reports.sign").click().run()
    assert not at.exception
    assert any("报告已签发" in s.value for s in at.success)
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            report = s.scalar(select(Report).where(Report.ref == str(esc_id)))
            assert report.signed_by == "zhao" and report.signed_at is not None
            from playbooks.reports import report_docx

            doc = Document(io.BytesIO(report_docx(report)))
            assert "华鼎证券股份有限公司" in "\n".join(p.text for p in doc.paragraphs)
    finally:
        ctx.close()


def test_switching_records_shows_each_ones_reports(desk_store):
    first = _escalate(desk_store, "outage", minutes_ago=30)
    second = _escalate(desk_store, "rumor", minutes_ago=10)
    at = _as("manager").run()
    at.switch_page(REPORTS).run()
    for esc_id in (first, second):
        at.selectbox(key="desk.reports.escalation").set_value(esc_id).run()
        at.button(key="desk.reports.generate").click().run()
        assert not at.exception
    at.selectbox(key="desk.reports.escalation").set_value(first).run()
    assert not at.exception
    preview = "\n".join(m.value for m in at.markdown)
    assert "华鼎证券APP崩了" in preview and "传华鼎证券将被立案调查" not in preview
    options = at.selectbox(key="desk.reports.pick").options
    assert len(options) == 1 and options[0].startswith("报告 #1（")  # the first record's only report
