"""`yuqing drill`: scenarios injected through the real ingest path with the real analyzer, marked drill,
scored from what people did on the desk; nothing about a drill leaves the building or counts."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from playbooks import triage
from playbooks.authz import Actor
from playbooks.dashboard import open_escalations, post_figures, top_events
from playbooks.drills.runs import latest_finished
from playbooks.reports import ReportRefused, regulator_report
from store.models import Alert, AuditEntry, DrillInjection, DrillRun, Escalation, Notification
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

OFFICER = Actor(username="王晓明", role="officer", display_name="王晓明")
MANAGER = Actor(username="李负责", role="manager")


def _ctx(config: Path):
    return build_context(load_settings(config))


def _run(config: Path, *args: str) -> int:
    return main(["drill", "run", *args])


def _runs(config: Path) -> list[DrillRun]:
    ctx = _ctx(config)
    try:
        with ctx.records.session() as s:
            rows = s.scalars(select(DrillRun).order_by(DrillRun.id)).all()
            s.expunge_all()
            return rows
    finally:
        ctx.close()


def test_headless_run_flags_every_should_flag_post_prints_the_score_and_stores_run_and_report(
    config_file: Path, records_url: str, capsys
):
    assert _run(config_file, "app-outage-rumor", "--speed", "0", "--headless") == 0
    out = capsys.readouterr().out
    print(out)
    assert "发现率：4/4（100%）" in out
    assert "误报：0/2" in out
    assert "确认用时：未确认（已确认 0/4 条演练预警）" in out
    assert "升级用时：未升级" in out
    assert "结论：未通过" in out and "确认用时未确认" in out

    [run] = _runs(config_file)
    assert run.status == "finished" and run.finished_at is not None
    assert run.passed is False
    assert run.score["discovery_rate"] == 1.0 and run.score["false_alarms"] == 0
    assert run.score["time_to_flag_s"] < 60
    assert run.report_md.startswith("# 演练报告：国庆期间APP无法登录传言")
    assert "无人确认演练预警" in run.report_md

    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            rows = s.scalars(select(DrillInjection).order_by(DrillInjection.step_no)).all()
            assert [(r.should_flag, r.flagged) for r in rows] == [
                (True, True),
                (False, False),
                (True, True),
                (False, False),
                (True, True),
                (True, True),
            ]
            alerts = s.scalars(select(Alert)).all()
            assert len(alerts) == 4 and all(a.drill for a in alerts)
            assert {a.post_id for a in alerts} == {r.post_id for r in rows if r.flagged}
            started = s.scalar(select(AuditEntry).where(AuditEntry.action == "drill.started"))
            assert started.entity_id == str(run.id) and started.actor  # who started it
            # the posts are in the index, marked drill
            posts = ctx.index.get_many([r.post_id for r in rows])
            assert len(posts) == 6 and all(p.drill for p in posts.values())
    finally:
        ctx.close()

    assert main(["drill", "report", str(run.id), "--output", str(config_file.parent / "r.md")]) == 0
    assert (config_file.parent / "r.md").read_text(encoding="utf-8") == run.report_md


@pytest.mark.parametrize("scenario", ["executive-rumor", "data-leak-claim", "product-default-rumor"])
def test_every_other_shipped_scenario_is_discovered_in_full_without_false_alarms(
    config_file: Path, scenario: str, capsys
):
    assert _run(config_file, scenario, "--speed", "0", "--headless") == 0
    out = capsys.readouterr().out
    [run] = _runs(config_file)
    print(scenario, run.score["discovered"], "/", run.score["should_flag"])
    assert run.score["discovery_rate"] == 1.0, out
    assert run.score["false_alarms"] == 0, out
    assert run.score["level_misses"] == 0, out


def test_two_runs_do_not_share_posts_or_alerts(config_file: Path):
    assert _run(config_file, "executive-rumor", "--speed", "0", "--headless") == 0
    assert _run(config_file, "executive-rumor", "--speed", "0", "--headless") == 0
    first, second = _runs(config_file)
    assert first.score["discovered"] == second.score["discovered"] == 3
    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            ids = [r.post_id for r in s.scalars(select(DrillInjection))]
            assert len(ids) == len(set(ids)) == 10
            assert len(s.scalars(select(Alert)).all()) == 6
    finally:
        ctx.close()


def test_acknowledging_and_escalating_on_the_desk_gives_times_and_compliance(
    config_file: Path, records_url: str, capsys
):
    assert _run(config_file, "app-outage-rumor", "--speed", "0", "--headless") == 0
    [run] = _runs(config_file)
    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            first = s.scalar(select(Alert).order_by(Alert.id))
            triage.acknowledge(s, first.id, OFFICER)
            esc, _ = triage.escalate(s, first.id, OFFICER)
            esc_id = esc.id
    finally:
        ctx.close()
    capsys.readouterr()
    assert main(["drill", "score", str(run.id)]) == 0
    out = capsys.readouterr().out
    [run] = _runs(config_file)
    assert run.score["acknowledged"] == 1
    assert 0 <= run.score["time_to_acknowledge_s"] < 120
    assert 0 <= run.score["time_to_escalate_s"] < 120
    assert run.score["escalations"] == 1
    assert "确认用时：" in out and "未确认" not in out.split("确认用时：")[1].split("\n")[0]
    assert "王晓明" in run.report_md and f"#{esc_id}" in run.report_md
    # the acknowledge step is done on time; the others are still running, so not counted yet
    assert run.score["clocks_met"] >= 1 and run.score["clocks_breached"] == 0
    assert run.score["compliance_rate"] == 1.0


def test_headless_strict_exits_non_zero_when_the_drill_did_not_pass(config_file: Path, capsys):
    assert _run(config_file, "data-leak-claim", "--speed", "0", "--headless", "--strict") == 1
    assert "结论：未通过" in capsys.readouterr().out


class _Hook(BaseHTTPRequestHandler):
    hits: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).hits.append(json.loads(body or b"{}"))
        data = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def wecom_hook():
    _Hook.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, _Hook.hits
    server.shutdown()
    server.server_close()


def test_no_drill_notification_ever_leaves_even_with_a_channel_configured(
    config_file: Path, tmp_path: Path, monkeypatch, wecom_hook
):
    server, hits = wecom_hook
    config_file.write_text(
        config_file.read_text(encoding="utf-8")
        + '\n[notify]\nannounce_levels = ["I", "II", "III", "IV"]\n\n'
        + '[[notify.channels]]\nname = "值班群"\nkind = "wecom"\nwebhook_secret = "wecom_duty"\n',
        encoding="utf-8",
    )
    url = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=k"
    monkeypatch.setenv("YUQING_SECRET_WECOM_DUTY", url)
    assert _run(config_file, "app-outage-rumor", "--speed", "0", "--headless") == 0
    assert main(["notify", "send"]) == 0
    assert hits == []
    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            rows = s.scalars(select(Notification)).all()
            assert len(rows) == 4  # every drill alert was announced — and kept in the building
            assert {(r.drill, r.status) for r in rows} == {(True, "suppressed")}
            assert all(r.subject.startswith("【演练】") for r in rows)
    finally:
        ctx.close()

    # the channel itself works: a real serious post is sent
    real = {
        "title": "华鼎证券APP全面瘫痪 客户无法交易",
        "text": "今天开盘后华鼎证券APP无法登录，委托全部失败，大量客户投诉，损失惨重，华鼎证券至今没有任何回应！",
        "source": "微博",
        "url": "https://weibo.example/status/1",
        "reposts": 30000,
        "user_followers": 2000000,
    }
    src = tmp_path / "real.jsonl"
    src.write_text(json.dumps(real, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["ingest", "--input", str(src)]) == 0
    assert main(["notify", "send"]) == 0
    assert len(hits) == 1 and "演练" not in json.dumps(hits[0], ensure_ascii=False)


def test_dashboard_figures_exclude_the_drill_and_no_regulator_report_is_made(config_file: Path):
    assert _run(config_file, "executive-rumor", "--speed", "0", "--headless") == 0
    ctx = _ctx(config_file)
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(hours=1)
    try:
        with ctx.records.session() as s:
            alert = s.scalar(select(Alert).order_by(Alert.id))
            esc, _ = triage.escalate(s, alert.id, OFFICER)
            esc_id = esc.id
        figures = post_figures(ctx.index, start=start, end=end)
        assert sum(b.total for b in figures.series) == 0
        with_drills = post_figures(ctx.index, start=start, end=end, include_drills=True)
        assert sum(b.total for b in with_drills.series) == 5  # the figures would see them if asked
        with ctx.records.session() as s:
            assert top_events(s, index=ctx.index, start=start, end=end) == []
            assert top_events(s, index=ctx.index, start=start, end=end, include_drills=True) != []
            assert open_escalations(s, playbooks=ctx.playbooks, now=now) == []
            assert len(open_escalations(s, playbooks=ctx.playbooks, now=now, include_drills=True)) == 1
        with pytest.raises(ReportRefused, match="演练"), ctx.records.session() as s:
            regulator_report(
                s, esc_id, playbooks=ctx.playbooks, firm=ctx.settings.firm, actor=MANAGER, now=now
            )
        with ctx.records.session() as s:
            assert s.get(Escalation, esc_id).drill is True
    finally:
        ctx.close()


def test_a_drill_while_the_store_is_down_is_refused_and_nothing_is_written(
    config_file: Path, tmp_path: Path, capsys
):
    config_file.write_text(
        config_file.read_text(encoding="utf-8").replace(
            '[store]\npath = "yuqing.db"',
            f'[store]\npath = "{(tmp_path / "yuqing.db").as_posix()}"\n'
            'records_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"',
        ),
        encoding="utf-8",
    )
    assert _run(config_file, "app-outage-rumor", "--speed", "0", "--headless") == 2
    err = capsys.readouterr().err
    assert "存储不可用，演练未开始" in err
    assert not (tmp_path / "yuqing.db").exists()  # no post was stored anywhere


def test_a_malformed_scenario_file_is_refused_naming_the_field(config_file: Path, tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'id: bad-one\nname: 坏场景\ntimeline:\n  - at: "+0m"\n    post: {text: x}\n    expect: {flag: true}\n'
    )
    assert _run(config_file, str(bad), "--speed", "0", "--headless") == 2
    assert "timeline[0].post.source（来源）：缺少必填项" in capsys.readouterr().err
    assert _runs(config_file) == []


def test_as_names_a_desk_manager_who_is_recorded_as_the_one_who_ran_it(
    config_file: Path, capsys, password_on_stdin
):
    from playbooks import users

    ctx = _ctx(config_file)
    try:
        with ctx.records.session() as s:
            users.create_user(s, username="李负责", role="manager", password="desk-test-pass-42", by="test")
            users.create_user(s, username="王晓明", role="officer", password="desk-test-pass-42", by="test")
    finally:
        ctx.close()
    pw = password_on_stdin("desk-test-pass-42")
    assert _run(config_file, "executive-rumor", "--speed", "0", "--headless", "--as", "王晓明", *pw) == 2
    assert "无权执行此操作" in capsys.readouterr().err
    assert _run(config_file, "executive-rumor", "--speed", "0", "--headless", "--as", "nobody", *pw) == 2
    assert _run(config_file, "executive-rumor", "--speed", "0", "--headless", "--as", "李负责") == 2
    assert "需要其凭据" in capsys.readouterr().err  # a name alone is not enough
    assert _run(config_file, "executive-rumor", "--speed", "0", "--headless", "--as", "李负责", *pw) == 0
    [run] = _runs(config_file)
    assert run.run_by == "李负责"


def test_steps_are_injected_at_their_time_divided_by_the_speed(config_file: Path):
    from playbooks.drills import runner as drill

    clock = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(round(s, 3))
        clock[0] += s

    ctx = _ctx(config_file)
    try:
        s = drill.scenario(ctx.settings.firm, "app-outage-rumor")  # steps at 0, 2, 5, 8, 12, 20 minutes
        result = drill.run_drill(
            ctx.drill_path(),
            s,
            speed=60,
            run_by="test",
            headless=False,
            sleep=sleep,
            monotonic=lambda: clock[0],
        )
    finally:
        ctx.close()
    # speed 60: a scenario minute per second; then the response window (30 min / 60 = 30 s)
    assert waits == [2.0, 3.0, 3.0, 4.0, 8.0, 30.0]
    assert result.status == "finished"


def test_a_drill_stopped_midway_is_marked_aborted_not_left_running(config_file: Path):
    from playbooks.drills import runner as drill

    def progress(msg: str) -> None:
        if msg.startswith("+5 分"):  # the person at the terminal presses Ctrl-C after the third post
            raise KeyboardInterrupt

    ctx = _ctx(config_file)
    try:
        with pytest.raises(KeyboardInterrupt):
            drill.run_drill(
                ctx.drill_path(),
                drill.scenario(ctx.settings.firm, "app-outage-rumor"),
                speed=0,
                run_by="test",
                progress=progress,
            )
        with ctx.records.session() as s:
            run = s.scalar(select(DrillRun))
            assert (run.status, run.passed) == ("aborted", False)
            assert run.finished_at is not None
            assert len(s.scalars(select(DrillInjection)).all()) == 3
            assert s.scalar(select(AuditEntry).where(AuditEntry.action == "drill.aborted")).entity_id == str(
                run.id
            )
            assert latest_finished(s) is None  # the readiness gate does not count it
    finally:
        ctx.close()
    assert main(["drill", "score", "999"]) == 2


def test_an_attended_run_says_what_it_injects_and_when_to_respond(config_file: Path, capsys):
    assert _run(config_file, "executive-rumor", "--speed", "0", "--window", "0") == 0
    out = capsys.readouterr().out
    assert "演练 #1 开始：高管被带走调查谣言" in out
    assert "+0 分 第 1 条（微博，应预警）：已预警" in out
    assert "+3 分 第 2 条（证券观察报，不应预警）：未预警" in out


def test_a_posts_index_lost_midway_aborts_the_drill_with_a_clear_message(config_file: Path):
    """Production posts engine (Elasticsearch, here a local server that answers like it) goes away
    after the third post: the run is aborted, says why, and is never counted as passed."""
    from playbooks.drills import runner as drill
    from tests.store import es_wire

    wire, server = es_wire.start()
    config_file.write_text(
        config_file.read_text(encoding="utf-8").replace(
            "[store]\n", f'[store]\nposts_engine = "elasticsearch"\nelasticsearch_url = "{wire.url}"\n'
        ),
        encoding="utf-8",
    )

    def progress(msg: str) -> None:
        if msg.startswith("+5 分"):
            server.shutdown()
            server.server_close()
            ctx.index.close()  # drop kept-alive connections: the next request finds nobody listening

    ctx = _ctx(config_file)
    try:
        with pytest.raises(drill.DrillError, match="第 4 条演练帖子未能入库.*演练已中止"):
            drill.run_drill(
                ctx.drill_path(),
                drill.scenario(ctx.settings.firm, "app-outage-rumor"),
                speed=0,
                run_by="test",
                progress=progress,
            )
        with ctx.records.session() as s:
            run = s.scalar(select(DrillRun))
            assert (run.status, run.passed) == ("aborted", False)
            assert len(s.scalars(select(DrillInjection)).all()) == 3
            assert latest_finished(s) is None
        # the fourth post waits in the spool (marked drill); no new drill starts while the index is down
        assert ctx.spool.pending()
        with pytest.raises(drill.DrillError, match="存储不可用，演练未开始"):
            drill.check_store(ctx.drill_path())
    finally:
        ctx.close()
    assert len(wire.docs) == 3  # the three posts injected before the loss, marked drill
    assert all(d.get("drill") for d in wire.docs.values())
