"""The daily brief (舆情日报) and the holiday summary (假期舆情工作总结) on a small known store: the figures
are the expected ones, drills never count (but the drill results are listed), the .docx holds the firm,
the period and the figures, hostile post titles stay text, and only a manager generates and signs."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from docx import Document
from sqlalchemy import select

from playbooks.authz import Actor, PermissionDenied
from playbooks.matcher import default_library
from playbooks.reports import (
    ReportError,
    daily_report,
    docx_text,
    holiday_report,
    period_between,
    period_for_holiday,
    report_files,
    reports_of,
    sign_report,
    verify,
)
from store.models import (
    Alert,
    AuditEntry,
    ClockBreach,
    DrillRun,
    Escalation,
    PostRecord,
    Report,
    RosterEntry,
    StatementDraft,
    User,
)
from store.posts_sqlite import SqlitePostIndex
from tests.store import conftest as engines

records = engines.records  # the fixture: SQLite, and PostgreSQL when reachable
FIRM = "华鼎证券股份有限公司"
MANAGER = Actor("zhao", "manager", "赵经理")
OFFICER = Actor("wang", "officer", "王晓明")
HOSTILE = "**华鼎证券APP崩了** <script>alert(1)</script> [点我](javascript:alert(2)) | 表格"
BJ = timedelta(hours=8)
# the outage playbook without its steps: only the three level clocks count, so the figures are few
PLAYBOOK = next(p for p in default_library() if p.id == "trading-system-outage").model_copy(
    update={"steps": []}
)
PLAYBOOKS = [PLAYBOOK]
NOW = datetime(2026, 10, 4, 2, 0, tzinfo=UTC)  # 10:00 Beijing on 4 October
PERIOD = period_between(date(2026, 10, 1), date(2026, 10, 3))


def _at(bj: str) -> datetime:
    """'2026-10-01 09:10' Beijing → aware UTC."""
    return (datetime.fromisoformat(bj) - BJ).replace(tzinfo=UTC)


def _post(key, bj, *, level=None, sentiment="negative", source="微博", event="", drill=False, title=None):
    return PostRecord(
        id=f"p-{key}",
        title=title or f"华鼎证券帖子{key}",
        text=f"华鼎证券 {key}",
        source=source,
        published_at=_at(bj).isoformat(),
        sentiment={"label": sentiment},
        level=level,
        flagged=level is not None,
        reasons=[f"理由{key} <b>加粗</b>"] if level else [],
        event_id=event,
        drill=drill,
        reposts=10,
        comments=2,
    )


POSTS = [
    _post("z", "2026-09-30 12:00", level="IV", source="雪球"),  # the day before the period
    _post("a", "2026-10-01 09:10", level="I", event="ev1", title=HOSTILE),
    _post("b", "2026-10-01 09:40", level="III", source="股吧", event="ev1"),
    _post("c", "2026-10-01 23:30", sentiment="positive"),
    _post("d", "2026-10-02 00:10", level="II", source="股吧", event="ev2"),
    _post("f", "2026-10-02 11:00", level="IV", source="黑猫投诉", event="ev4"),  # a false positive
    _post("e", "2026-10-03 08:00", level="III", source="雪球", event="ev3"),
    _post("x", "2026-10-02 10:30", level="I", event="ev-drill", drill=True),  # a drill
]


@pytest.fixture
def index(tmp_path, segmenter):
    idx = SqlitePostIndex(tmp_path / "posts.db", segmenter)
    idx.upsert_many([PostRecord(**p.to_dict()) for p in POSTS])
    yield idx
    idx.close()


def _store(records) -> dict[str, int]:
    """Alerts for the flagged posts, four escalation records and a drill's, a roster and a drill run.

    E1 (I, closed): acknowledged after 3 min, statement approved after 20, regulator report signed
    after 50 — three clocks met. E2 (II, resolved): acknowledged after 12 min (due 10: met late),
    statement after 40 (met); resolved before the report was due. E3 (III, responding): acknowledged
    after 6 min (met), no statement by now (due after 120 min: breached). E5 (IV): a false positive.
    Clocks due 7, met 5; times to acknowledge 3, 12, 6 min; to the statement 20, 40 min.
    """
    with records.session() as s:
        s.add_all(
            [
                User(username="zhao", display_name="赵经理", role="manager", phone="13800000001"),
                User(username="wang", display_name="王晓明", role="officer", phone="13800000002"),
            ]
        )
        alerts = {}
        for p in POSTS:
            if not p.flagged:
                continue
            a = Alert(
                post_id=p.id,
                source=p.source,
                title=p.title,
                level=p.level,
                level_rank={"I": 1, "II": 2, "III": 3, "IV": 4}[p.level],
                event_id=p.event_id,
                drill=p.drill,
                playbook_id=PLAYBOOK.id,
                created_at=datetime.fromisoformat(p.published_at),
            )
            s.add(a)
            alerts[p.id[2:]] = a
        s.flush()

        def esc(key, state, **kw):
            a = alerts[key]
            e = Escalation(
                alert_id=a.id,
                state=state,
                level=a.level,
                playbook_id=PLAYBOOK.id,
                owner="wang",
                opened_by="wang",
                opened_at=a.created_at,
                drill=a.drill,
                **kw,
            )
            s.add(e)
            s.flush()
            return e

        t1, t2, t3 = _at("2026-10-01 09:10"), _at("2026-10-02 00:10"), _at("2026-10-03 08:00")
        e1 = esc("a", "closed", acknowledged_at=t1 + timedelta(minutes=3), closed_at=_at("2026-10-01 15:00"))
        e2 = esc(
            "d",
            "resolved",
            acknowledged_at=t2 + timedelta(minutes=12),
            resolved_at=t2 + timedelta(minutes=100),
        )
        e3 = esc("e", "responding", acknowledged_at=t3 + timedelta(minutes=6))
        alerts["f"].false_positive_at = _at("2026-10-02 11:05")
        alerts["f"].status = "false_positive"
        e5 = esc("f", "false_positive")
        drill = esc("x", "new")  # a drill: never acknowledged, would be breached everywhere
        for e, minutes in ((e1, 20), (e2, 40)):
            s.add(
                StatementDraft(
                    escalation_id=e.id,
                    text="口径",
                    status="approved",
                    drafted_by="wang",
                    reviewed_by="zhao",
                    reviewed_at=e.alert.created_at + timedelta(minutes=minutes),
                )
            )
        s.add(
            Report(
                kind="regulator",
                ref=str(e1.id),
                title="关于“华鼎证券APP崩了”舆情事件的报告",
                content_md="# 报告",
                sha256="0" * 64,
                created_by="zhao",
                created_at=t1 + timedelta(minutes=45),
                signed_by="zhao",
                signed_at=t1 + timedelta(minutes=50),
            )
        )
        s.add_all(
            [
                ClockBreach(
                    escalation_id=e3.id,
                    clock="holding_statement_within",
                    due_at=t3 + timedelta(minutes=120),
                    breached_at=t3 + timedelta(minutes=121),
                    tier=1,
                ),
                ClockBreach(
                    escalation_id=drill.id,
                    clock="acknowledge_within",
                    due_at=_at("2026-10-02 10:35"),
                    breached_at=_at("2026-10-02 10:36"),
                    tier=1,
                    drill=True,
                ),
            ]
        )
        s.add_all(
            [
                RosterEntry(day="2026-10-01", duty="primary", username="wang"),
                RosterEntry(day="2026-10-01", duty="manager", username="zhao"),
                RosterEntry(day="2026-10-02", duty="primary", username="wang", phone="13900000009"),
            ]
        )
        s.add(
            DrillRun(
                scenario_id="app-outage-rumor",
                scenario_name="国庆期间APP无法登录传言",
                status="finished",
                run_by="zhao",
                started_at=_at("2026-09-25 14:00"),
                finished_at=_at("2026-09-25 14:30"),
                passed=True,
                score={"discovery_rate": 0.75, "time_to_flag_s": 42, "compliance_rate": 0.8},
            )
        )
        s.flush()
        return {"e1": e1.id, "e2": e2.id, "e3": e3.id, "e5": e5.id, "drill": drill.id}


def _section(md: str, heading: str) -> str:
    """The Markdown of one ``## `` section."""
    part = md.split(f"## {heading}", 1)[1]
    return part.split("\n## ", 1)[0]


def test_holiday_summary_figures(records, index):
    ids = _store(records)
    with records.session() as s:
        report, md, data = holiday_report(
            s, PERIOD, index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
        report_id = report.id
    # volumes per day: the drill's level I post on 2 October is not counted
    volume = _section(md, "三、舆情总量")
    assert "| 10-01（四） | 3 | 2 | 2 | 1 | 0 | 1 | 0 |" in volume
    assert "| 10-02（五） | 2 | 2 | 2 | 0 | 1 | 0 | 1 |" in volume
    assert "| 10-03（六） | 1 | 1 | 1 | 0 | 0 | 1 | 0 |" in volume
    assert "| 合计 | 6 | 5 | 5 | 1 | 1 | 2 | 1 |" in volume
    # escalations by level and by state: the drill's record is not among them
    escalations = _section(md, "五、处置情况")
    assert "开立处置记录 4 件" in escalations
    for line in ("| I 级 | 1 |", "| II 级 | 1 |", "| III 级 | 1 |", "| IV 级 | 1 |"):
        assert line in escalations
    for line in ("| 已关闭 | 1 |", "| 已解决 | 1 |", "| 处置中 | 1 |", "| 误报 | 1 |"):
        assert line in escalations
    assert "新建" not in escalations  # the drill record is the only one still 新建
    # response times: acknowledged after 3, 12 and 6 minutes; statements after 20 and 40; 5 of 7 clocks met
    times = _section(md, "六、响应时效")
    assert "| 确认预警用时 | 6 分钟 | 12 分钟 | 3 |" in times
    assert "| 首次对外口径用时（合规审核通过） | 30 分钟 | 40 分钟 | 2 |" in times
    assert "处置时限达标率：71.4%（按时完成 5 项 / 已到期 7 项" in times
    # the regulator report of E1, signed by the manager
    regulator = _section(md, "七、报告监管情况")
    assert f"| #{ids['e1']} |" in regulator and "赵经理（zhao），2026-10-01 10:00" in regulator
    # the drill run is listed, with its score
    drills = _section(md, "八、节前演练")
    assert "国庆期间APP无法登录传言" in drills and "| 75% | 42 秒 |" in drills and "通过" in drills
    # problems: one false positive of 5 alerts opened (the drill's not counted), one clock breached,
    # one met late, one chain notification (the drill's breach not counted), the roster gap on 3 October
    problems = _section(md, "九、存在问题与改进措施")
    assert "标为误报的预警 1 条（同期新开预警 5 条，占 20.0%）" in problems
    assert "超时未完成 1 项，超时完成 1 项；按升级链通知上级 1 次" in problems
    assert f"| #{ids['e3']} |" in problems and "发布对外口径" in problems and "未完成" in problems
    assert f"| #{ids['e2']} |" in problems and "确认预警" in problems
    roster = _section(md, "二、值班安排")
    assert "| 2026\\-10\\-01 | 全天 | 王晓明（wang） 13800000002 | — | 赵经理（zhao） 13800000001 |" in roster
    assert "王晓明（wang） 13900000009" in roster  # the shift's own phone wins
    assert "未安排主班值班员的日期：2026-10-03" in roster.replace("\\", "")
    # the .docx: the firm, the period, the figures
    text = docx_text(data)
    assert FIRM in text
    assert "2026年10月01日至2026年10月03日" in text
    assert (
        "假期舆情工作总结（2026-10-01 至 2026-10-03）" in text
    )  # the title    assert "71.4%" in text and "6 分钟" in text
    with records.session() as s:
        row = s.get(Report, report_id)
        assert (row.kind, row.ref, row.created_by, row.signed_at) == (
            "holiday",
            "2026-10-01~2026-10-03",
            "zhao",
            None,
        )
        assert verify(row)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated"))
        assert (entry.actor, entry.entity, entry.entity_id) == ("zhao", "report", str(report_id))
        assert entry.detail["sha256"] == row.sha256


def test_the_calendar_gives_the_whole_closure():
    period = period_for_holiday("国庆", 2026)
    # the last trading day before the closure, the closure (1–7 October), and the reopening day
    assert (period.first, period.last, period.reopen) == (
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 8),
    )
    assert period.ref == "国庆节 2026" and len(period.days) == 9
    assert period.title == "2026年国庆节假期舆情工作总结"
    with pytest.raises(ReportError, match="没有名为"):
        period_for_holiday("圣诞", 2026)


def test_daily_brief_against_the_day_before(records, index):
    _store(records)
    with records.session() as s:
        report, md, data = daily_report(
            s, date(2026, 10, 1), index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
        assert report.kind == "daily" and report.ref == "2026-10-01"
    volume = _section(md, "一、舆情总量")
    assert "| 监测帖文 | 3 | 1 | +2 |" in volume
    assert "| 预警帖文 | 2 | 1 | +1 |" in volume
    assert "| 其中 I 级 | 1 | 0 | +1 |" in volume
    assert "| 其中 IV 级 | 0 | 1 | -1 |" in volume
    assert "| 新发现事件 | 1 | 0 | +1 |" in volume
    events = _section(md, "二、新发现事件")
    assert "2 条预警" in events and "华鼎证券APP崩了" in events  # ev1, by its first title
    handling = _section(md, "三、处置情况")
    assert "当日新开处置记录：1 件（I 级 1 件）" in handling
    assert "当日办结（已解决或已关闭）：1 件" in handling
    # E1 was closed the same day; E3 (opened later) is not this day's business
    assert "尚未办结（截至 2026-10-04 10:00）：0 件" in handling
    sources = _section(md, "四、主要来源")
    assert "| 微博 | 2 | 66.7% |" in sources and "| 股吧 | 1 | 33.3% |" in sources
    notable = _section(md, "五、重点关注")
    first = notable.strip().splitlines()[0]
    assert first.startswith("1\\. 【I 级】") and "理由a" in first  # the most severe first, with its reasons
    assert FIRM in docx_text(data) and "舆情日报（2026年10月01日）" in docx_text(data)

    # a day with the drill: its level I post and its record count nowhere
    with records.session() as s:
        _, md2, _ = daily_report(
            s, date(2026, 10, 2), index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
    assert "| 其中 I 级 | 0 | 1 | -1 |" in md2
    assert "当日新开处置记录：2 件（II 级 1 件，IV 级 1 件）" in md2
    assert "当日处置时限超时并按升级链通知：0 次" in md2
    # 3 October: E3 still open with its holding statement overdue (E2 is resolved: not listed as open)
    with records.session() as s:
        _, md3, _ = daily_report(
            s, date(2026, 10, 3), index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
    assert "尚未办结（截至 2026-10-04 10:00）：1 件，其中有超时环节的 1 件" in md3
    assert "：发布对外口径，时限 2026-10-03 10:00，已超时 1 天" in md3
    assert "当日处置时限超时并按升级链通知：1 次" in md3
    with records.session() as s, pytest.raises(ReportError, match="尚未到来"):
        daily_report(
            s, date(2026, 10, 5), index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )


def test_hostile_titles_stay_text(records, index):
    _store(records)
    with records.session() as s:
        _, md, data = daily_report(
            s, date(2026, 10, 1), index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
        _, hmd, _ = holiday_report(
            s, PERIOD, index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
    for text in (md, hmd):
        assert "<script>" not in text and "<b>" not in text and "](javascript" not in text
        assert "\\<script\\>" in text and "\\*\\*华鼎证券APP崩了\\*\\*" in text
        # the title's pipe cannot split a table cell: every events row has the five cells it should
        rows = [
            ln
            for ln in _section(text, "二、新发现事件" if text is md else "四、主要舆情事件").splitlines()
            if "华鼎证券APP" in ln
        ]
        assert rows and all(ln.replace("\\|", "").count("|") == 6 for ln in rows)
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    # Word shows the title as it was posted (cut to 60 characters in the table)
    assert any(c.startswith(HOSTILE[:55]) and c.endswith("…") for c in cells)
    assert "理由a <b>加粗</b>" in docx_text(data)


def test_only_a_manager_generates_and_signs(records, index):
    _store(records)
    with records.session() as s:
        with pytest.raises(PermissionDenied):
            daily_report(
                s, date(2026, 10, 1), index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=OFFICER, now=NOW
            )
        with pytest.raises(PermissionDenied):
            holiday_report(s, PERIOD, index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=OFFICER, now=NOW)
        report, _, _ = holiday_report(
            s, PERIOD, index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
        report_id = report.id
    with records.session() as s, pytest.raises(ReportError, match="最多覆盖 31 天"):
        long = period_between(date(2026, 1, 1), date(2026, 3, 1))
        holiday_report(s, long, index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW)
    with records.session() as s:
        assert s.scalar(select(Report).where(Report.kind == "daily")) is None  # the refused one left nothing
        assert len(reports_of(s, "holiday")) == 1
        with pytest.raises(PermissionDenied):
            sign_report(s, report_id, actor=OFFICER, now=NOW)
        assert s.get(Report, report_id).signed_at is None


def test_signing_once_and_regenerating_keeps_the_signed_version(records, index):
    _store(records)
    with records.session() as s:
        first, md, _ = holiday_report(
            s, PERIOD, index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
        first_id, first_sha = first.id, first.sha256
    signed_at = NOW + timedelta(hours=1)
    with records.session() as s:
        sign_report(s, first_id, actor=MANAGER, now=signed_at)
    with records.session() as s, pytest.raises(ReportError, match="已由 zhao"):
        sign_report(s, first_id, actor=Actor("qian", "manager"), now=signed_at + timedelta(minutes=5))
    with records.session() as s:
        row = s.get(Report, first_id)
        assert row.signed_by == "zhao"
        # the files handed out name who signed and when; the stored draft and its SHA-256 are unchanged
        signed_md, signed_docx = report_files(s, row)
        assert "签发：赵经理（zhao），2026-10-04 11:00（北京时间）" in signed_md
        assert "签发：赵经理（zhao），2026-10-04 11:00（北京时间）" in docx_text(signed_docx)
        assert row.content_md == md and verify(row)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "report.signed"))
        assert (entry.actor, entry.entity, entry.entity_id, entry.detail["kind"]) == (
            "zhao",
            "report",
            str(first_id),
            "holiday",
        )
    # a new version after the sign-off: a new row; the signed one stays as it was
    with records.session() as s:
        second, _, _ = holiday_report(
            s,
            PERIOD,
            index=index,
            playbooks=PLAYBOOKS,
            firm=FIRM,
            actor=MANAGER,
            now=NOW + timedelta(hours=2),
        )
        second_id = second.id
    assert second_id != first_id
    with records.session() as s:
        rows = reports_of(s, "holiday", PERIOD.ref)
        assert [r.id for r in rows] == [second_id, first_id]
        kept = s.get(Report, first_id)
        assert (kept.signed_by, kept.sha256, kept.content_md) == ("zhao", first_sha, md)
        assert s.get(Report, second_id).signed_at is None
        md_new, _ = report_files(s, s.get(Report, second_id))
        assert "待负责人在舆情值守台审核签发" in md_new


def test_a_busy_period_is_summed_up_not_printed_whole(records, index):
    """Eleven level I records never acknowledged: 33 clocks run out; the table lists 30 and says so."""
    with records.session() as s:
        for i in range(11):
            opened = _at("2026-10-02 09:00") + timedelta(minutes=i)
            a = Alert(
                post_id=f"busy-{i}",
                title=f"繁忙{i}",
                level="I",
                level_rank=1,
                playbook_id=PLAYBOOK.id,
                created_at=opened,
            )
            s.add(a)
            s.flush()
            s.add(
                Escalation(
                    alert_id=a.id,
                    state="new",
                    level="I",
                    playbook_id=PLAYBOOK.id,
                    owner="wang",
                    opened_by="wang",
                    opened_at=opened,
                )
            )
        s.flush()
        _, md, data = holiday_report(
            s, PERIOD, index=index, playbooks=PLAYBOOKS, firm=FIRM, actor=MANAGER, now=NOW
        )
    problems = _section(md, "九、存在问题与改进措施")
    assert "超时未完成 33 项" in problems
    assert problems.count("| 未完成 |") == 30 and "另有 3 项未列出" in problems
    assert "处置时限达标率：0.0%（按时完成 0 项 / 已到期 33 项" in md
    assert "仍未确认的处置记录：11 件" in md
    assert "另有 3 项未列出" in docx_text(data)
