"""Events (posts about one event share an event_id) and bursts (volume against its baseline)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from nlp.events import EventTracker
from nlp.segment import Segmenter

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class Rec:
    id: str
    text: str
    targets: list[str] = field(default_factory=lambda: ["华鼎证券"])
    published_at: str = ""
    title: str = ""
    flagged: bool = True
    level: str | None = "IV"
    reasons: list[str] = field(default_factory=list)
    event_id: str = ""


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


@pytest.fixture(scope="module")
def words():
    return Segmenter(["华鼎证券", "华鼎金管家"]).cut


@pytest.fixture
def tracker(words):
    return EventTracker(words=words, ignore=["华鼎证券", "华鼎金管家"], burst_min_posts=5)


OUTAGE = [
    "华鼎证券交易系统宕机，开盘后无法登录，委托失败",
    "今天开盘华鼎证券APP无法登录，交易系统宕机了吗",
    "华鼎金管家宕机，开盘到现在无法登录，委托一直失败",
]


def test_reworded_posts_about_one_outage_share_an_event(tracker):
    recs = [Rec(f"p{i}", t, published_at=at(30 - i)) for i, t in enumerate(OUTAGE)]
    tracker.apply(recs, now=NOW)
    ids = {r.event_id for r in recs}
    assert len(ids) == 1 and next(iter(ids)).startswith("ev-")
    other = Rec("q", "华鼎证券营业部员工朋友圈辱骂客户，言论不当", published_at=at(5))
    peer = Rec("c", OUTAGE[0].replace("华鼎证券", "中信证券"), targets=["中信证券"], published_at=at(5))
    tracker.apply([other, peer], now=NOW)
    assert other.event_id not in ids and peer.event_id not in ids


def test_a_post_after_the_window_opens_a_new_event(words):
    tr = EventTracker(words=words, window_hours=24)
    first, later = Rec("a", OUTAGE[0], published_at=at(60 * 30)), Rec("b", OUTAGE[1], published_at=at(0))
    tr.apply([first], now=NOW)
    tr.apply([later], now=NOW)
    assert first.event_id and later.event_id and first.event_id != later.event_id


def test_posts_about_nobody_get_no_event(tracker):
    r = Rec("x", "今天天气不错", targets=[], flagged=False, level=None)
    tracker.apply([r], now=NOW)
    assert r.event_id == ""
    empty = Rec("e", "", published_at="不是时间")
    tracker.apply([empty], now=NOW)
    assert empty.event_id.startswith("ev-")  # about us, but no words: its own event


def test_an_event_burst_raises_flagged_posts_one_level_with_a_reason(tracker):
    recs = [Rec(f"p{i}", OUTAGE[i % 3], published_at=at(50 - i * 5)) for i in range(6)]
    recs.append(Rec("calm", OUTAGE[0], flagged=False, level=None, published_at=at(1)))
    stats = tracker.apply(recs, now=NOW)
    assert stats["bursts"] == 6
    assert [r.level for r in recs] == ["III"] * 6 + [None]
    assert recs[0].reasons == ["突发：本事件 1 小时内 7 条（基线 0.0）"]


def test_steady_volume_is_not_a_burst(tracker):
    # six posts an hour for a day, then six in the last hour: busy, but no jump
    base = [Rec(f"s{i}", OUTAGE[i % 3], published_at=at(70 + 10 * i), flagged=False) for i in range(140)]
    tracker.apply(base, now=NOW)
    last = [Rec(f"n{i}", OUTAGE[i % 3], published_at=at(5 + 9 * i)) for i in range(6)]
    tracker.apply(last, now=NOW)
    assert len({r.event_id for r in base + last}) == 1
    assert [r.level for r in last] == ["IV"] * 6 and not any(r.reasons for r in last)


def test_firm_volume_burst_from_store_counts(tracker):
    calls = []

    def volume(since, until):
        calls.append((since, until))
        return 40 if until == NOW else 48  # 40 in the last hour against 2 an hour before

    r = Rec("f", "华鼎证券怎么回事", published_at=at(1))
    tracker.apply([r], volume=volume, now=NOW)
    assert r.level == "III" and r.reasons == ["突发：全公司相关声量 1 小时内 40 条（基线 2.0）"]
    assert calls[0] == (NOW - timedelta(hours=1), NOW)


def test_a_store_that_is_down_only_skips_the_firm_burst(tracker):
    def down(since, until):
        raise ConnectionError("store down")

    r = Rec("d", "华鼎证券怎么回事", published_at=at(1))
    tracker.apply([r], volume=down, now=NOW)
    assert r.event_id and r.level == "IV"


def test_seeding_keeps_stored_event_ids(words):
    tr = EventTracker(words=words)
    stored = [
        {
            "id": "old",
            "text": OUTAGE[0],
            "targets": ["华鼎证券"],
            "event_id": "ev-stored",
            "published_at": at(90),
        }
    ]
    assert tr.seed(stored) == 1
    r = Rec("new", OUTAGE[1], published_at=at(1))
    tr.apply([r], now=NOW)
    assert r.event_id == "ev-stored"


def test_thresholds_come_from_the_risk_config():
    from yuqing.config import RiskConfig

    tr = EventTracker.from_config(
        RiskConfig(burst_min_posts=3, event_window_hours=12, burst_window_minutes=30)
    )
    assert tr.min_posts == 3 and tr.window == timedelta(hours=12) and tr.burst_window_minutes == 30


def test_ingest_stores_event_ids_and_raises_a_burst(tmp_path, monkeypatch):
    from yuqing.config import load_settings
    from yuqing.context import build_context
    from yuqing.ingest import ingest

    for key in list(os.environ):
        if key.startswith("YUQING_") and not key.startswith("YUQING_TEST_") and key != "YUQING_CACHE_DIR":
            monkeypatch.delenv(key)
    cfg = tmp_path / "yuqing.toml"
    cfg.write_text(
        '[firm]\nname = "华鼎证券股份有限公司"\nshort_names = ["华鼎证券"]\n'
        f'[store]\npath = "{(tmp_path / "s.db").as_posix()}"\n[risk]\nburst_min_posts = 4\n',
        encoding="utf-8",
    )
    ctx = build_context(load_settings(cfg))
    try:
        now = datetime.now(UTC)
        posts = [
            {
                "url": f"https://weibo.example/{i}",
                "text": OUTAGE[i % 2] + f"，第{i}次投诉",
                "published_at": (now - timedelta(minutes=40 - 5 * i)).isoformat(),
            }
            for i in range(5)
        ]
        report = ingest(posts, ctx=ctx)
        assert report.flagged == 5
        stored = ctx.index.search("华鼎证券", limit=10, drill=None).items
    finally:
        ctx.close()
    assert len({p.event_id for p in stored}) == 1 and stored[0].event_id.startswith("ev-")
    assert all(any(r.startswith("突发：本事件 1 小时内 5 条") for r in p.reasons) for p in stored)


def test_a_relayed_clarification_joins_the_event_of_the_claim_it_answers():
    """Most words of a clarification are the denial's; it is linked by the claim it answers."""
    from nlp.context_rules import STATEMENT_MARK

    tracker = EventTracker(similarity=0.3)
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    rumor = tracker.add("r1", "听说枫桥证券沈总昨晚被带走协助调查了，内部群都在传", ["枫桥证券"], t0)
    other = tracker.add("o1", "枫桥证券融资利率太高，客户经理还不给调", ["枫桥证券"], t0)

    class Rec:
        def __init__(self, pid: str, text: str, reasons: list[str]):
            self.id, self.title, self.text, self.reasons = pid, "", text, reasons
            self.targets, self.published_at, self.flagged, self.level = (
                ["枫桥证券"],
                t0.isoformat(),
                False,
                None,
            )
            self.event_id = ""

    denial = Rec(
        "c1",
        "枫桥证券发布澄清公告：网传“董事长沈立言被带走调查”系不实信息，沈立言目前正常履职，公司已报警。",
        [f"澄清/否认转述（“不实”）：{STATEMENT_MARK}，归入传言事件"],
    )
    earlier = Rec("c0", denial.text, list(denial.reasons))  # the same clarification, seen before
    tracker.apply([earlier], now=t0)
    tracker.apply([denial], now=t0)  # not the earlier copy's event: that one only answers
    assert earlier.event_id == denial.event_id == rumor != other
    # and a later post repeating the answered claim joins that event too
    again = tracker.add("r2", "枫桥证券董事长沈立言被带走调查？", ["枫桥证券"], t0)
    assert again == rumor
