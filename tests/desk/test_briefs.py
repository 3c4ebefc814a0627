"""日报与假期总结 page (AppTest): a manager generates the daily brief and the holiday summary, previews
the Markdown (hostile titles as text), downloads .docx and .md, signs off once, and a regenerated brief
leaves the signed one as it was; an officer gets no page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from desk.ui import to_shanghai
from store.models import Report, utcnow
from tests.desk.conftest import APP, sign_in

BRIEFS = "views/briefs.py"


def _as(role: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(at, None, role=role, username={"manager": "zhao", "officer": "wang"}[role], display_name="赵经理")
    return at


def _rows(desk_store, kind: str) -> list[tuple[int, str, str, str]]:
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            return [
                (r.id, r.ref, r.created_by, r.signed_by)
                for r in s.scalars(select(Report).where(Report.kind == kind).order_by(Report.id))
            ]
    finally:
        ctx.close()


def _downloads(at: AppTest) -> list[str]:
    return [json.dumps(str(d.proto), ensure_ascii=False) for d in at.get("download_button")]


def test_manager_generates_previews_downloads_and_signs_the_daily_brief(desk_store):
    today = to_shanghai(utcnow()).date()
    at = _as("manager").run()
    at.switch_page(BRIEFS).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["日报与假期总结"]
    at.date_input(key="desk.briefs.daily.day").set_value(today).run()
    at.button(key="desk.briefs.daily.generate").click().run()
    assert not at.exception
    assert any("已生成《舆情日报" in s.value for s in at.success)
    ((first, ref, by, signed),) = _rows(desk_store, "daily")
    assert (ref, by, signed) == (today.isoformat(), "zhao", "")
    preview = "\n".join(m.value for m in at.markdown)
    assert f"# 舆情日报（{today:%Y年%m月%d日}）" in preview
    assert "华鼎证券股份有限公司" in preview
    # the hostile post is among the notable items, as text: no markup survives in the preview
    assert "\\*\\*加粗标题\\*\\* \\<script\\>" in preview and "<script>" not in preview
    assert "演练" not in preview.replace("演练数据不计入", "")  # the drill post is not counted or listed
    downloads = _downloads(at)
    assert any(".docx" in d for d in downloads) and any(".md" in d for d in downloads)

    at.button(key="desk.briefs.daily.sign").click().run()
    assert not at.exception
    assert any(f"报告 #{first} 已签发" in s.value for s in at.success)
    assert _rows(desk_store, "daily")[0][3] == "zhao"
    assert any("已由 赵经理（zhao） 于" in s.value for s in at.success)  # one naming of people
    assert not [b for b in at.button if b.key == "desk.briefs.daily.sign"]  # signed once, no button
    assert "签发：赵经理（zhao）" in "\n".join(
        m.value for m in at.markdown
    )  # the signed copy names the signer

    # a new version: a new row; the signed one is kept and still signed
    at.button(key="desk.briefs.daily.generate").click().run()
    assert not at.exception
    rows = _rows(desk_store, "daily")
    assert [(r[0], r[3]) for r in rows] == [(first, "zhao"), (first + 1, "")]
    assert at.selectbox(key="desk.briefs.daily.pick").value == first + 1  # the new one is shown
    assert [b for b in at.button if b.key == "desk.briefs.daily.sign"]
    table = next(df.value for df in at.dataframe if "签发" in df.value.columns)
    assert list(table["签发"])[0] == "未签发" and list(table["签发"])[1].startswith("赵经理（zhao） ")


def test_holiday_summary_by_dates_and_by_calendar(desk_store):
    today = to_shanghai(utcnow()).date()
    at = _as("manager").run()
    at.switch_page(BRIEFS).run()
    at.radio(key="desk.briefs.holiday.mode").set_value("按日期").run()
    at.date_input(key="desk.briefs.holiday.first").set_value(today - timedelta(days=2)).run()
    at.date_input(key="desk.briefs.holiday.last").set_value(today).run()
    at.button(key="desk.briefs.holiday.generate").click().run()
    assert not at.exception
    assert any("假期舆情工作总结" in s.value for s in at.success)
    ((_, ref, by, _),) = _rows(desk_store, "holiday")
    assert (ref, by) == (f"{today - timedelta(days=2)}~{today}", "zhao")
    preview = "\n".join(m.value for m in at.markdown)
    assert "## 六、响应时效" in preview and "## 八、节前演练" in preview and "## 十、编制与签发" in preview

    at.radio(key="desk.briefs.holiday.mode").set_value("按节假日日历").run()
    year = at.selectbox(key="desk.briefs.holiday.year")
    if 2026 not in year.options and "2026" not in year.options:
        pytest.skip("the calendar offers no 2026 any more")
    year.set_value(2026).run()
    at.selectbox(key="desk.briefs.holiday.name").set_value("国庆节").run()
    assert any("覆盖 2026-09-30 至 2026-10-08（共 9 天" in c.value for c in at.caption)
    at.button(key="desk.briefs.holiday.generate").click().run()
    assert not at.exception
    assert _rows(desk_store, "holiday")[-1][1] == "国庆节 2026"


def test_officer_gets_no_briefs_page(desk_store):
    at = _as("officer").run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(BRIEFS)
    page = AppTest.from_file(str(APP.parent / BRIEFS), default_timeout=60)
    sign_in(page, None, role="officer", username="wang")
    page.run()
    assert [e.value for e in page.error] == ["报告页面仅供负责人和管理员使用。"]
    assert not page.button


def test_a_date_changed_just_before_the_click_is_the_one_reported(desk_store):
    """Typing a date and clicking 生成 in one go (the browser sends both at once): the report is for
    the date typed, not the one shown before; the holiday tab's own dates too."""
    today = to_shanghai(utcnow()).date()
    at = _as("manager").run()
    at.switch_page(BRIEFS).run()
    two_days_ago = today - timedelta(days=2)
    at.date_input(key="desk.briefs.daily.day").set_value(two_days_ago)
    at.button(key="desk.briefs.daily.generate").click().run()  # one run: the new date and the click
    assert not at.exception
    assert [r[1] for r in _rows(desk_store, "daily")] == [two_days_ago.isoformat()]

    at.radio(key="desk.briefs.holiday.mode").set_value("按日期").run()
    first, last = today - timedelta(days=5), today - timedelta(days=3)
    at.date_input(key="desk.briefs.holiday.first").set_value(first)
    at.date_input(key="desk.briefs.holiday.last").set_value(last)
    at.button(key="desk.briefs.holiday.generate").click().run()
    assert not at.exception
    ((_, ref, _, _),) = _rows(desk_store, "holiday")
    assert first.isoformat() in ref and last.isoformat() in ref, ref
