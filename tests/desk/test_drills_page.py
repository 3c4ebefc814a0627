"""应急演练 page and the drill banner (AppTest): scenarios, past runs with scores and the report; a
manager starts a drill from the page; the queue says 演练进行中 while a drill runs."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from playbooks.drills import runner as drill
from store.models import AuditEntry, DrillRun, utcnow
from tests.desk.conftest import APP, sign_in

PAGE = "views/drills.py"


def _open(role: str = "manager", username: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(at, None, role=role, username=username)
    at.run()
    return at.switch_page(PAGE).run()


def _headless_run(desk_store, scenario: str = "executive-rumor") -> int:
    ctx = desk_store.context()
    try:
        return drill.run_drill(
            ctx.drill_path(),
            drill.scenario(ctx.settings.firm, scenario),
            speed=0,
            run_by="李负责",
            headless=True,
        ).run_id
    finally:
        ctx.close()


def test_the_page_lists_scenarios_past_runs_and_shows_a_runs_report(desk_store):
    run_id = _headless_run(desk_store)
    at = _open()
    assert not at.exception
    assert [t.value for t in at.title] == ["应急演练"]
    scenarios, runs = at.dataframe[0].value, at.dataframe[1].value
    assert len(scenarios) >= 4 and "国庆期间APP无法登录传言" in list(scenarios["名称"])
    row = runs.iloc[0]
    assert (row["编号"], row["场景"], row["发现率"], row["确认用时"], row["结论"]) == (
        run_id,
        "高管被带走调查谣言",
        "100%",
        "未确认",
        "未通过",
    )
    shown = "\n".join(m.value for m in at.markdown)
    assert "# 演练报告：高管被带走调查谣言" in shown and "无人确认演练预警" in shown
    assert any(b.label == "开始演练" for b in at.button)


def test_an_officer_sees_the_runs_but_cannot_start_one(desk_store):
    _headless_run(desk_store)
    at = _open(role="officer")
    assert not at.exception
    assert len(at.dataframe) == 2
    assert not [b for b in at.button if b.label in ("开始演练", "按当前处置情况重新评分")]


def test_a_manager_starts_a_drill_from_the_page_and_it_is_recorded_as_theirs(desk_store):
    at = _open(username="zhao")
    at.selectbox[0].set_value("data-leak-claim")
    at.selectbox[1].set_value(0.0)
    next(b for b in at.button if b.label == "开始演练").click().run()
    assert not at.exception
    deadline = time.monotonic() + 90
    run = None
    while time.monotonic() < deadline:
        ctx = desk_store.context()
        try:
            with ctx.records.session() as s:
                run = s.scalar(select(DrillRun).where(DrillRun.status == "finished"))
                if run is not None:
                    s.expunge(run)
        finally:
            ctx.close()
        if run is not None:
            break
        time.sleep(1)
    assert run is not None, "the background drill did not finish"
    assert (run.scenario_id, run.run_by) == ("data-leak-claim", "zhao")
    assert run.score["discovery_rate"] == 1.0


def test_the_queue_shows_a_drill_banner_only_while_a_drill_runs(desk_store, app):
    at = app()
    assert not [w for w in at.warning if "演练进行中" in w.value]
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            s.add(DrillRun(scenario_id="x", scenario_name="国庆期间APP无法登录传言", status="running"))
            # a run left "running" by a crash long ago does not keep the banner up
            s.add(
                DrillRun(
                    scenario_id="y",
                    scenario_name="旧演练",
                    status="running",
                    started_at=utcnow() - timedelta(days=2),
                )
            )
    finally:
        ctx.close()
    at = app()
    banners = [w.value for w in at.warning if "演练进行中" in w.value]
    drills = [p for p in desk_store.posts.values() if p.drill and p.flagged]
    assert drills
    assert banners == [
        f"演练进行中（国庆期间APP无法登录传言）：{len(drills)} 条演练预警，不是真实舆情。打开「只看演练预警」处理演练预警。"
    ]


def test_a_manager_marks_a_run_left_behind_as_aborted(desk_store):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            s.add(
                DrillRun(
                    scenario_id="x", scenario_name="国庆期间APP无法登录传言", status="running", run_by="zhao"
                )
            )
    finally:
        ctx.close()
    at = _open(username="zhao")
    next(b for b in at.button if b.label == "标记为中止").click().run()
    assert not at.exception
    assert at.dataframe[1].value.iloc[0]["状态"] == "已中止"
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            run = s.scalar(select(DrillRun))
            assert (run.status, run.passed) == ("aborted", False)
            entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "drill.aborted"))
            assert (entry.actor, entry.entity_id) == ("zhao", str(run.id))
    finally:
        ctx.close()
