"""Dashboard figures on a small known store: posts over time (Beijing days and hours), sources, events,
open escalations by clock state — and drills left out unless asked for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from playbooks.dashboard import (
    RangeError,
    age_bands,
    buckets,
    clock_state_counts,
    day_range,
    default_range,
    open_escalations,
    post_figures,
    top_events,
)
from playbooks.matcher import default_library
from store.models import Alert, Escalation, EscalationStep, PostRecord
from store.posts_sqlite import SqlitePostIndex
from tests.store import conftest as engines

records = engines.records  # the fixture: SQLite, and PostgreSQL when reachable
BJ = timedelta(hours=8)


def _at(bj: str) -> datetime:
    """'2026-10-01 23:30' Beijing → aware UTC."""
    return (datetime.fromisoformat(bj) - BJ).replace(tzinfo=UTC)


def _post(key, bj, *, sentiment="negative", level=None, source="微博", event="", drill=False):
    return PostRecord(
        id=f"p-{key}",
        title=f"帖子{key}",
        text=f"华鼎证券 {key}",
        source=source,
        published_at=_at(bj).isoformat(),
        sentiment={"label": sentiment},
        level=level,
        flagged=level is not None,
        event_id=event,
        drill=drill,
    )


POSTS = [
    _post("a", "2026-10-01 09:10", level="I", event="ev1"),
    _post("b", "2026-10-01 09:40", level="III", source="股吧", event="ev1"),
    _post("c", "2026-10-01 23:30", sentiment="positive"),
    _post("d", "2026-10-02 00:10", level="II", source="股吧", event="ev2"),  # 16:10 UTC on 1 Oct
    _post("e", "2026-10-02 10:00", sentiment="neutral", source="雪球"),
    _post("x", "2026-10-02 10:30", level="I", event="ev-drill", drill=True),  # a drill
    _post("y", "2026-10-03 08:00", level="IV", source="雪球"),  # outside the range
]


@pytest.fixture(params=["columns", "sql"])
def index(request, tmp_path, segmenter):
    idx = SqlitePostIndex(tmp_path / "posts.db", segmenter, columnar=request.param == "columns")
    idx.upsert_many([PostRecord(**p.to_dict()) for p in POSTS])
    yield idx
    idx.close()


def test_posts_per_beijing_day_with_sentiments_and_levels(index):
    start, end = day_range(date(2026, 10, 1), date(2026, 10, 2))
    figs = post_figures(index, start=start, end=end, unit="day")
    assert [b.start.strftime("%m-%d") for b in figs.series] == ["10-01", "10-02"]
    day1, day2 = figs.series
    # 00:10 Beijing on 2 October is 1 October in UTC: it counts on the 2nd
    assert (day1.total, day2.total) == (3, 2)
    assert day1.sentiment == {"negative": 2, "neutral": 0, "positive": 1}
    assert day2.sentiment == {"negative": 1, "neutral": 1, "positive": 0}
    assert day1.level == {"I": 1, "II": 0, "III": 1, "IV": 0}
    assert day2.level == {"I": 0, "II": 1, "III": 0, "IV": 0}  # the drill's level I is not there
    assert figs.total == 5 and figs.negative == 3 and figs.flagged == 3
    assert figs.sources == [("微博", 2), ("股吧", 2), ("雪球", 1)]


def test_drills_count_only_when_asked(index):
    start, end = day_range(date(2026, 10, 2), date(2026, 10, 2))
    figs = post_figures(index, start=start, end=end, unit="day", include_drills=True)
    assert figs.total == 3 and figs.series[0].level["I"] == 1
    assert post_figures(index, start=start, end=end).total == 2


def test_the_opening_range_is_the_last_week_or_the_week_up_to_the_newest_post(index):
    # a week with posts: the last seven days, no note
    assert default_range(index, date(2026, 10, 4)) == (date(2026, 9, 28), date(2026, 10, 4), "")
    # a quiet month since: the week up to the newest post (not the drill), said so
    first, last, note = default_range(index, date(2026, 11, 22))
    assert (first, last) == (date(2026, 9, 27), date(2026, 10, 3))
    assert "最近 7 天没有帖子" in note and "2026-10-03" in note
    start, end = day_range(first, last)
    assert post_figures(index, start=start, end=end).total == 6


def test_posts_per_hour(index):
    start, end = day_range(date(2026, 10, 1), date(2026, 10, 1))
    figs = post_figures(index, start=start, end=end, unit="hour")
    assert len(figs.series) == 24
    by_hour = {b.start.hour: b.total for b in figs.series if b.total}
    assert by_hour == {9: 2, 23: 1}
    rows = figs.rows()
    assert {"时间", "序列", "类别", "数量"} <= set(rows[0])
    assert sum(r["数量"] for r in rows if r["序列"] == "发帖量") == 3


def test_ranges_that_cannot_be_shown():
    with pytest.raises(RangeError, match="结束日期"):
        day_range(date(2026, 10, 2), date(2026, 10, 1))
    start, end = day_range(date(2026, 10, 1), date(2026, 10, 10))
    with pytest.raises(RangeError, match="按小时"):
        buckets(start, end, "hour")
    assert len(buckets(start, end, "day")) == 10


def _alerts(s, posts, *, opened_at=None):
    out = {}
    for p in posts:
        a = Alert(
            post_id=p.id,
            source=p.source,
            title=p.title,
            level=p.level,
            level_rank={"I": 1, "II": 2, "III": 3, "IV": 4}[p.level],
            event_id=p.event_id,
            drill=p.drill,
            playbook_id="trading-system-outage",
            created_at=opened_at or datetime.fromisoformat(p.published_at),
        )
        s.add(a)
        out[p.id] = a
    s.flush()
    return out


def test_top_events_with_their_first_title(records, index):
    with records.session() as s:
        _alerts(s, [p for p in POSTS if p.flagged])
        start, end = day_range(date(2026, 10, 1), date(2026, 10, 2))
        events = top_events(s, index=index, start=start, end=end)
        assert [(e.event_id, e.alerts, e.title, e.worst_level) for e in events] == [
            ("ev1", 2, "帖子a", "I"),
            ("ev2", 1, "帖子d", "II"),
        ]
        assert events[0].sources == ["微博", "股吧"]
        assert events[0].first_seen == _at("2026-10-01 09:10")
        with_drills = top_events(s, index=index, start=start, end=end, include_drills=True)
        assert "ev-drill" in [e.event_id for e in with_drills]


def test_posts_and_events_count_by_the_same_day(records, index):
    """Alerts opened weeks after the posts appeared (a store filled from an export, a late crawl): the
    range that shows the flagged posts shows their events, and the day the alerts opened shows neither
    (it showed 19 flagged posts beside 没有成组的预警事件, and a daily brief of 0 posts with 11 new events)."""
    late = _at("2026-11-20 10:00")
    with records.session() as s:
        _alerts(s, [p for p in POSTS if p.flagged], opened_at=late)
        start, end = day_range(date(2026, 10, 1), date(2026, 10, 2))
        assert post_figures(index, start=start, end=end).flagged == 3
        assert [e.event_id for e in top_events(s, index=index, start=start, end=end)] == ["ev1", "ev2"]
        day_start, day_end = day_range(date(2026, 11, 20), date(2026, 11, 20))
        assert post_figures(index, start=day_start, end=day_end).flagged == 0
        assert top_events(s, index=index, start=day_start, end=day_end) == []
        # new events of a day: those whose first flagged post is that day (ev1 began on 1 October)
        from playbooks.reports.periodic import new_events

        oct2 = day_range(date(2026, 10, 2), date(2026, 10, 2))
        assert [e.event_id for e in new_events(s, *oct2, index=index)] == ["ev2"]
        assert new_events(s, day_start, day_end, index=index) == []


def test_open_escalations_worst_clock_first(records):
    now = _at("2026-10-02 10:40")
    with records.session() as s:
        alerts = _alerts(
            s,
            [
                _post("old", "2026-10-01 09:00", level="III"),  # level III, long overdue steps
                _post("fresh", "2026-10-02 10:36", level="I"),  # level I, 4 min old: acknowledge due soon
                _post("done", "2026-10-02 10:20", level="IV"),  # acknowledged in time, steps running
                _post("closed", "2026-10-02 08:00", level="I"),
                _post("drill", "2026-10-02 10:30", level="I", drill=True),
            ],
        )

        def esc(key, state="new", **kw):
            a = alerts[f"p-{key}"]
            e = Escalation(
                alert_id=a.id,
                state=state,
                level=a.level,
                playbook_id=a.playbook_id,
                owner=f"owner-{key}",
                opened_by="wang",
                opened_at=a.created_at,
                drill=a.drill,
                **kw,
            )
            s.add(e)
            s.flush()
            return e

        old = esc("old", "responding", acknowledged_at=_at("2026-10-01 09:05"))
        fresh = esc("fresh")
        done = esc("done", "acknowledged", acknowledged_at=_at("2026-10-02 10:25"))
        s.add(
            EscalationStep(
                escalation_id=done.id, step_id="verify-with-it", done_by="li", done_at=_at("2026-10-02 10:30")
            )
        )
        esc("closed", "closed")
        esc("drill")
        s.flush()

        rows = open_escalations(s, playbooks=default_library(), now=now)
        assert [r.id for r in rows] == [old.id, fresh.id, done.id]  # closed and drill left out
        assert [r.worst for r in rows] == ["breached", "due_soon", "running"]
        assert rows[0].time_left < timedelta(0)  # overdue
        assert rows[1].worst_clock.key == "acknowledge_within"  # 5 min at level I, 4 gone
        assert rows[1].time_left == timedelta(minutes=1)
        assert rows[1].age == timedelta(minutes=4)
        assert rows[0].owner == "owner-old" and rows[0].level == "III"
        assert clock_state_counts(rows)["breached"] == 1 and clock_state_counts(rows)["met"] == 0
        assert age_bands(rows) == {"1 小时内": 2, "1–4 小时": 0, "4–24 小时": 0, "1–3 天": 1, "3 天以上": 0}
        with_drills = open_escalations(s, playbooks=default_library(), now=now, include_drills=True)
        assert len(with_drills) == 4 and any(r.drill for r in with_drills)
