"""假期与值班 on the desk: the next holidays with a countdown, the roster with its gaps, admin edits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from store.models import AuditEntry, RosterEntry, User
from tests.desk.conftest import make_user

PAGE = "views/roster.py"
TODAY_KEY = "desk.roster.today"


def _page(app, role="officer", officer=None, today=date(2026, 9, 20)):
    from tests.desk.conftest import ROLE_USERS

    at = app(officer=officer or ROLE_USERS[role], role=role)
    at.session_state[TODAY_KEY] = today
    return at.switch_page(PAGE).run()


def _people(desk_config):
    make_user(desk_config, username="wang", role="officer", display_name="王晓明")
    make_user(desk_config, username="zhao", role="officer", display_name="赵敏")
    make_user(desk_config, username="li", role="manager", display_name="李静")
    from tests.desk.conftest import _records_ctx

    ctx, close = _records_ctx(desk_config)
    try:
        with ctx.records.session() as s:
            for u in s.scalars(select(User)):
                u.phone = "" if u.username == "zhao" else "13800000001"
    finally:
        if close:
            ctx.close()


def _rows(desk_config):
    from tests.desk.conftest import _records_ctx

    ctx, close = _records_ctx(desk_config)
    try:
        with ctx.records.session() as s:
            entries = [
                (e.day, e.duty, e.username) for e in s.scalars(select(RosterEntry).order_by(RosterEntry.id))
            ]
            audit = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.entity == "roster"))]
            return entries, audit
    finally:
        if close:
            ctx.close()


def _frame(at, i):
    return at.dataframe[i].value


def test_officer_sees_the_countdown_closures_and_makeup_days_but_no_editor(desk_config, app):
    at = _page(app, today=date(2026, 9, 20))
    assert not at.exception
    assert at.title[0].value == "假期与值班"
    assert at.metric[0].label == "距中秋节" and at.metric[0].value == "5 天"
    hol = _frame(at, 0)
    assert list(hol["假期"]) == ["中秋节", "国庆节"]
    national = hol[hol["假期"] == "国庆节"].iloc[0]
    assert national["倒计时"] == "还有 11 天"
    assert national["调休上班（交易所不开市）"] == "9月20日（周日）、10月10日（周六）"
    assert national["开市"] == "10月8日（周四）"
    # the roster of the next holiday: nothing yet, every day flagged in red
    assert at.selectbox(key="desk.roster.holiday").value.startswith("中秋节")
    assert any("缺口" in e.value for e in at.error)
    gaps = [m.value for m in at.markdown if "⚠" in m.value]
    assert ":red[⚠ 2026\\-09\\-25 缺主班（全天）]" in gaps
    assert any("缺带班负责人" in g for g in gaps)
    assert not [b for b in at.button if b.label == "导入"]
    assert any("只有管理员可以修改值班表" in c.value for c in at.caption)


def test_a_year_without_data_is_said_plainly(desk_config, app):
    at = _page(app, today=date(2026, 11, 22))
    assert not at.exception
    assert any("2027年的节假日安排尚未收录" in w.value for w in at.warning)
    assert at.selectbox(key="desk.roster.holiday").options[0].startswith("元旦 2026")
    assert any("也可「按日期」查看" in c.value for c in at.caption)
    # the roster of New Year 2027 can still be kept, by dates
    at.radio(key="desk.roster.mode").set_value("按日期").run()
    at.date_input(key="desk.roster.from").set_value(date(2027, 1, 1))
    at.date_input(key="desk.roster.to").set_value(date(2027, 1, 2)).run()
    assert not at.exception
    table = _frame(at, 0)
    assert list(table["日期"]) == ["1月1日（周五）（日历未收录）", "1月2日（周六）（日历未收录）"]
    assert any("2027\\-01\\-02 缺主班（全天）" in m.value for m in at.markdown)


def test_a_makeup_working_day_is_marked(desk_config, app):
    at = _page(app, today=date(2025, 12, 1))  # 元旦 2026: 1–3 Jan off, Sunday 4 Jan an office day
    assert at.selectbox(key="desk.roster.holiday").value.startswith("元旦 2026")
    days = list(_frame(at, 1)["日期"])
    assert days == [
        "1月1日（周四）（休市）",
        "1月2日（周五）（休市）",
        "1月3日（周六）（休市）",
        "1月4日（周日）（调休上班·休市）",
    ]


def test_admin_imports_a_csv_and_adds_an_entry_and_gaps_are_named(desk_config, app):
    _people(desk_config)
    at = _page(app, role="admin")
    at.selectbox(key="desk.roster.holiday").select_index(0).run()  # 中秋节 2026-09-25 … 27
    csv = (
        "日期,开始,结束,岗位,用户名,电话,备注\n"
        "2026-09-25,00:00,24:00,主班,wang,,\n"
        "2026-09-25,00:00,24:00,备班,zhao,,\n"  # zhao has no phone
        "2026-09-25,00:00,24:00,带班负责人,li,,\n"
    )
    at.text_area(key="desk.roster.csv_text").input(csv)
    next(b for b in at.button if b.label == "导入").click().run()
    assert not at.exception
    assert any("已导入 3 条值班记录" in s.value for s in at.success)
    table = _frame(at, 1)
    first = table.iloc[0]
    assert first["主班"] == "王晓明（wang） 全天 13800000001"  # one naming of people
    assert (
        first["备班"] == "赵敏（zhao） 全天 无电话 ⚠ 联系电话缺失（zhao） ⚠ 缺备班"
    )  # gaps marked in their cell
    assert table.iloc[1]["主班"] == "⚠ 缺主班（全天）"
    gaps = " ".join(m.value for m in at.markdown if "⚠" in m.value)
    assert "联系电话缺失：备班 zhao" in gaps and "2026\\-09\\-26 缺主班（全天）" in gaps
    # one more by the form
    at.date_input(key="desk.roster.add.day").set_value(date(2026, 9, 26))
    at.selectbox(key="desk.roster.add.duty").set_value("manager")
    at.selectbox(key="desk.roster.add.username").set_value("li")
    at.text_input(key="desk.roster.add.end").input("12:00")
    next(b for b in at.button if b.label == "添加排班").click().run()
    assert not at.exception
    assert any("已排班：2026-09-26 带班负责人 00:00–12:00 li" in s.value for s in at.success)
    entries, audit = _rows(desk_config)
    assert entries[-1] == ("2026-09-26", "manager", "li")
    assert audit == ["roster.add"] * 3 + ["roster.import", "roster.add"]


def test_a_bad_csv_is_refused_with_its_line_and_nothing_imported(desk_config, app):
    _people(desk_config)
    at = _page(app, role="admin")
    csv = "日期,开始,结束,岗位,用户名,电话,备注\n2026-09-25,00:00,24:00,主班,wang,,\n2026-09-25,00:00,24:00,门卫,li,,\n"
    at.text_area(key="desk.roster.csv_text").input(csv)
    next(b for b in at.button if b.label == "导入").click().run()
    assert any("第 3 行" in w.value and "门卫" in w.value for w in at.warning)
    assert _rows(desk_config) == ([], [])


def test_hostile_roster_text_is_shown_as_text(desk_config, app):
    _people(desk_config)
    make_user(desk_config, username="evil", role="officer", display_name="**粗体** <script>x</script>")
    at = _page(app, role="admin")
    csv = "日期,开始,结束,岗位,用户名,电话,备注\n2026-09-25,00:00,24:00,主班,evil,,\n"
    at.text_area(key="desk.roster.csv_text").input(csv)
    next(b for b in at.button if b.label == "导入").click().run()
    assert not at.exception
    # names appear only inside the dataframe (cells are text); the gap lines are escaped
    assert any("联系电话缺失：主班 evil" in m.value for m in at.markdown if "⚠" in m.value)
    assert not any("<script>" in m.value for m in at.markdown)


def test_admin_removes_an_entry_and_the_gap_comes_back(desk_config, app):
    _people(desk_config)
    at = _page(app, role="admin")
    csv = "日期,开始,结束,岗位,用户名,电话,备注\n2026-09-25,00:00,24:00,带班负责人,li,,\n"
    at.text_area(key="desk.roster.csv_text").input(csv)
    next(b for b in at.button if b.label == "导入").click().run()
    assert not any("2026\\-09\\-25 缺带班负责人" in m.value for m in at.markdown)
    assert at.selectbox(key="desk.roster.remove").value is not None
    next(b for b in at.button if b.label == "删除").click().run()
    assert not at.exception
    assert any("已从值班表中删除" in s.value for s in at.success)
    assert any("2026\\-09\\-25 缺带班负责人" in m.value for m in at.markdown)
    entries, audit = _rows(desk_config)
    assert entries == [] and audit == ["roster.add", "roster.import", "roster.remove"]
