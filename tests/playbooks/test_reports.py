"""The regulator report draft (报告证监局): what the .docx says, who may make and sign it, drills refused."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlalchemy import select

from playbooks.authz import Actor, PermissionDenied
from playbooks.matcher import default_library
from playbooks.reports import (
    ReportError,
    ReportRefused,
    docx_text,
    regulator_report,
    report_docx,
    reports_for,
    sign_report,
    verify,
)
from store.models import (
    Alert,
    AuditEntry,
    Escalation,
    EscalationStep,
    PostRecord,
    Report,
    StatementDraft,
    User,
)
from store.posts_sqlite import SqlitePostIndex
from store.records import Records, upsert_alert
from tests.store import conftest as engines

records = engines.records  # the fixture: SQLite, and PostgreSQL when reachable
FIRM = "华鼎证券股份有限公司"
T0 = datetime(2026, 10, 2, 1, 30, tzinfo=UTC)  # 09:30 Beijing, 2 October
NOW = T0 + timedelta(minutes=50)
MANAGER = Actor("zhao", "manager", "赵经理")
OFFICER = Actor("wang", "officer", "王晓明")
HOSTILE_TITLE = "**华鼎证券APP崩了** <script>alert(1)</script> [点我](javascript:alert(2)) | 表格"
APPROVED = (
    "我公司关注到网络上有关华鼎证券APP无法登录的反映。经核实，部分客户于今日开盘后登录异常，目前已恢复。"
)
UNAPPROVED = "这是一份未经合规审核的口径草稿，不应出现在报告中。"


@pytest.fixture
def index(tmp_path, segmenter):
    idx = SqlitePostIndex(tmp_path / "posts.db", segmenter)
    yield idx
    idx.close()


def _post(key: str, *, title: str, text: str, level: str = "I", drill: bool = False, **extra) -> PostRecord:
    return PostRecord(
        id=f"p-{key}",
        title=title,
        text=text,
        url=f"https://example.com/{key}",
        source=extra.pop("source", "微博"),
        published_at=(T0 - timedelta(minutes=5)).isoformat(),
        sentiment={"label": "negative", "scores": {"negative": 0.9}},
        topic="交易系统故障",
        level=level,
        flagged=True,
        reasons=extra.pop("reasons", ["对华鼎证券的负面情绪强烈", "涉及交易系统故障"]),
        event_id=extra.pop("event_id", "ev-outage"),
        drill=drill,
        **extra,
    )


def _escalation(s, alert, *, opened: datetime, state: str = "new") -> Escalation:
    """An escalation record as the workflow opens one (playbooks.escalation), with its audit entry."""
    esc = Escalation(
        alert_id=alert.id,
        state=state,
        level=alert.level,
        playbook_id=alert.playbook_id,
        owner="wang",
        opened_by="wang",
        opened_at=opened,
        drill=alert.drill,
    )
    s.add(esc)
    s.flush()
    alert.status = "escalated"
    s.add(
        AuditEntry(
            at=opened,
            actor="wang",
            action="escalation.opened",
            entity="escalation",
            entity_id=str(esc.id),
            detail={"alert_id": alert.id, "level": alert.level},
        )
    )
    return esc


def _move(s, esc: Escalation, to: str, *, at: datetime, note: str = "") -> None:
    s.add(
        AuditEntry(
            at=at,
            actor="wang",
            action="escalation.state",
            entity="escalation",
            entity_id=str(esc.id),
            detail={"before": esc.state, "after": to, "note": note},
        )
    )
    esc.state = to
    s.flush()


def _scenario(records: Records, index: SqlitePostIndex, *, drill: bool = False) -> int:
    """An outage escalation at level I with two posts, two steps done and two statement drafts."""
    posts = [
        _post(
            "a",
            title=HOSTILE_TITLE,
            text="开盘后华鼎证券APP无法登录 <b>委托失败</b>",
            reposts=300,
            comments=40,
            likes=900,
            drill=drill,
        ),
        _post(
            "b",
            title="华鼎证券交易系统故障？",
            text="股吧网友反映无法下单",
            source="股吧",
            reposts=20,
            comments=5,
            likes=10,
            drill=drill,
        ),
    ]
    index.upsert_many(posts)
    with records.session() as s:
        s.add(User(username="wang", display_name="王晓明", role="officer"))
        s.add(
            User(
                username="zhao",
                display_name="赵经理",
                role="manager",
                phone="021-5555 0000",
                email="zhao@example.com",
            )
        )
        alerts = [upsert_alert(s, post=p, playbook_id="trading-system-outage")[0] for p in posts]
        for i, a in enumerate(alerts):
            a.created_at = T0 + timedelta(minutes=i)
        esc = _escalation(s, alerts[0], opened=T0 + timedelta(minutes=2))
        _move(s, esc, "acknowledged", at=T0 + timedelta(minutes=3))
        _move(s, esc, "responding", at=T0 + timedelta(minutes=8), note="已联系信息技术部")
        esc.acknowledged_at = T0 + timedelta(minutes=3)
        s.add_all(
            [
                EscalationStep(
                    escalation_id=esc.id,
                    step_id="acknowledge",
                    done_by="wang",
                    done_at=T0 + timedelta(minutes=3),
                    note="已截图取证",
                ),
                EscalationStep(
                    escalation_id=esc.id,
                    step_id="verify-with-it",
                    done_by="li",
                    done_at=T0 + timedelta(minutes=9),
                    note="登录网关 09:28 起异常，09:52 恢复",
                ),
                StatementDraft(
                    escalation_id=esc.id,
                    template_id="outage-public",
                    text=APPROVED,
                    status="approved",
                    drafted_by="wang",
                    reviewed_by="合规孙",
                    reviewed_at=T0 + timedelta(minutes=25),
                ),
                StatementDraft(
                    escalation_id=esc.id,
                    template_id="outage-public",
                    text=UNAPPROVED,
                    status="submitted",  # awaiting compliance: still not usable
                    drafted_by="wang",
                ),
            ]
        )
        return esc.id


def _generate(records, esc_id, index, actor=MANAGER):
    with records.session() as s:
        return regulator_report(
            s, esc_id, playbooks=default_library(), firm=FIRM, actor=actor, now=NOW, index=index
        )


def test_docx_says_who_what_level_steps_and_approved_statement(records, index):
    esc_id = _scenario(records, index)
    markdown, data = _generate(records, esc_id, index)

    doc = Document(io.BytesIO(data))  # opens with python-docx
    body = docx_text(data)
    assert doc.paragraphs[0].text.startswith("关于“") and doc.paragraphs[0].text.endswith("舆情事件的报告")
    assert "当地证监局：" in body
    assert FIRM in body
    assert "I 级（特别重大）" in body
    assert "华鼎证券交易系统故障？" in body  # the event's second post is listed
    assert "微博、股吧" in body
    assert "转发 320 次，评论 45 条，点赞 910 次" in body  # reach summed over the event's posts
    # steps done, with their times (Beijing) and who
    assert "2026-10-02 09:33 | 完成预案步骤：确认预警并固定证据 | 王晓明（wang） | 已截图取证" in body
    assert "2026-10-02 09:39 | 完成预案步骤：向信息技术部门核实系统状态 | li" in body
    assert "处置状态：新建 → 已确认" in body
    # the approved holding statement, never the unapproved draft
    assert APPROVED in body
    assert "合规孙" in body
    assert UNAPPROVED not in body and UNAPPROVED not in markdown
    # where things stand, what comes next, whom to call
    assert "处置状态：处置中" in body
    assert "报告监管：即将超时，时限 2026-10-02 10:30" in body  # level I: 60 min from the alert, 10 left
    assert "2026-10-02 09:30 | 监测系统生成预警" in body
    assert "报告负责人并确定事件级别（值班员，时限 2026-10-02 09:40，已超时）" in body
    assert (
        "发布对外口径（官网/官方微博）（合规，时限 2026-10-02 10:00，已超时）" in body
    )  # not done, owner, due
    assert "联系人：赵经理" in body and "021-5555 0000" in body
    assert "承办人：王晓明（wang）" in body
    assert "2026年10月02日" in body


def test_hostile_post_text_is_plain_text_in_the_document(records, index):
    esc_id = _scenario(records, index)
    markdown, data = _generate(records, esc_id, index)
    body = docx_text(data)
    # the title as written, characters and all: no bold, no link, no tag swallowed, no cell split
    assert "**华鼎证券APP崩了** <script>alert(1)</script> [点我](javascript:alert(2)) | 表格" in body
    # in the Markdown every ASCII punctuation mark from the post is escaped: nothing renders as markup
    assert "<script>" not in markdown
    assert "\\<script\\>" in markdown
    assert "[点我](" not in markdown
    doc = Document(io.BytesIO(data))
    # the posts table still has four columns on every row (the post's "|" did not make a cell)
    posts_table = doc.tables[0]
    assert all(len(row.cells) == 4 for row in posts_table.rows)
    assert any("<script>" in c.text for c in posts_table.rows[1].cells)
    assert not doc.inline_shapes  # nothing embedded


def test_chinese_fonts_are_set_on_every_run(records, index):
    esc_id = _scenario(records, index)
    _, data = _generate(records, esc_id, index)
    doc = Document(io.BytesIO(data))
    runs = [r for p in doc.paragraphs for r in p.runs]
    runs += [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert runs
    fonts = {r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in runs}
    assert fonts <= {"宋体", "黑体", "楷体"} and {"宋体", "黑体"} <= fonts
    title_run = doc.paragraphs[0].runs[0]
    assert title_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    quote = next(p for p in doc.paragraphs if APPROVED in p.text)
    assert quote.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体"


def test_report_row_and_audit_entry_are_kept(records, index):
    esc_id = _scenario(records, index)
    markdown, data = _generate(records, esc_id, index)
    with records.session() as s:
        (report,) = reports_for(s, esc_id)
        assert report.kind == "regulator" and report.ref == str(esc_id)
        assert report.created_by == "zhao" and not report.drill and report.signed_at is None
        assert report.sha256 == hashlib.sha256(data).hexdigest()
        assert report.content_md == markdown
        assert report_docx(report) == data  # the same file can be rebuilt from the stored Markdown
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated"))
        assert entry.actor == "zhao" and entry.entity == "escalation" and entry.entity_id == str(esc_id)
        assert entry.detail["report_id"] == report.id and entry.detail["sha256"] == report.sha256


def test_drill_escalation_is_refused_and_nothing_is_kept(records, index):
    esc_id = _scenario(records, index, drill=True)
    with pytest.raises(ReportRefused, match="演练"):
        _generate(records, esc_id, index)
    with records.session() as s:
        assert s.scalars(select(Report)).all() == []
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated")) is None


def test_officer_may_neither_generate_nor_sign(records, index):
    esc_id = _scenario(records, index)
    with pytest.raises(PermissionDenied, match="负责人"):
        _generate(records, esc_id, index, actor=OFFICER)
    with records.session() as s:
        assert s.scalars(select(Report)).all() == []
    _generate(records, esc_id, index)
    with records.session() as s:
        report_id = reports_for(s, esc_id)[0].id
    with pytest.raises(PermissionDenied), records.session() as s:
        sign_report(s, report_id, actor=OFFICER, now=NOW)
    with records.session() as s:
        assert s.get(Report, report_id).signed_at is None


def test_manager_signs_once_who_and_when_kept(records, index):
    esc_id = _scenario(records, index)
    _generate(records, esc_id, index)
    with records.session() as s:
        report_id = reports_for(s, esc_id)[0].id
    signed_at = NOW + timedelta(minutes=5)
    with records.session() as s:
        sign_report(s, report_id, actor=Actor("qian", "manager", "钱总"), now=signed_at)
    with records.session() as s:
        report = s.get(Report, report_id)
        assert report.signed_by == "qian"
        assert report.signed_at.replace(tzinfo=UTC) == signed_at
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "report.signed"))
        assert entry.actor == "qian" and entry.detail["report_id"] == report_id
        assert verify(report)
    with pytest.raises(ReportError, match="已由 qian"), records.session() as s:
        sign_report(s, report_id, actor=MANAGER, now=signed_at)


def test_a_tampered_report_is_not_signed(records, index):
    esc_id = _scenario(records, index)
    _generate(records, esc_id, index)
    with records.session() as s:
        report = reports_for(s, esc_id)[0]
        report.content_md = report.content_md.replace("I 级（特别重大）", "IV 级（一般）")
    with pytest.raises(ReportError, match="校验值"), records.session() as s:
        sign_report(s, report.id, actor=MANAGER, now=NOW)


def test_a_false_positive_is_refused(records, index):
    esc_id = _scenario(records, index)
    with records.session() as s:
        esc = _escalation(s, s.get(Alert, 2), opened=T0 + timedelta(minutes=4))
        _move(s, esc, "false_positive", at=T0 + timedelta(minutes=6))
        fp = esc.id
    with pytest.raises(ReportRefused, match="误报"):
        _generate(records, fp, index)
    assert esc_id != fp


def test_without_an_approved_statement_the_report_says_so(records, index):
    esc_id = _scenario(records, index)
    with records.session() as s:
        for d in s.scalars(select(StatementDraft)):
            d.status = "rejected" if d.text == APPROVED else d.status
    _, data = _generate(records, esc_id, index)
    body = docx_text(data)
    assert "尚无经合规审核通过的对外口径" in body
    assert APPROVED not in body and UNAPPROVED not in body
