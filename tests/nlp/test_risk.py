"""Risk levels I–IV: what it is, how far and how fast it goes, who says it — thresholds from [risk]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nlp.risk import RiskThresholds, assess, fmt_count, reach, velocity

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def level(post=None, **kw):
    args = {
        "targets": ["华鼎证券"],
        "negative_targets": [],
        "rumor": False,
        "topic": "其他",
        "post": post or {},
    }
    args.update(kw)
    return assess(now=NOW, **args)


def test_nothing_about_us_is_never_flagged():
    assert level(targets=[], negative_targets=[], rumor=True, topic="交易系统故障").level is None


def test_what_it_is_sets_the_base_level():
    assert level().level is None
    assert level(negative_targets=["华鼎证券"]).level == "IV"
    assert level(topic="客户投诉").level == "IV"
    assert level(topic="客户投诉", positive=True).level is None
    assert level(topic="交易系统故障").level == "III"
    assert level(topic="交易系统故障", positive=True).level == "IV"
    assert level(rumor=True).level == "III"


def test_reach_and_authority_raise_it_and_say_so():
    big = {"reposts": 12_000, "user_followers": 3_000_000}
    r = level(post=big, rumor=True)
    assert r.level == "I" and r.reasons[0] == "传播量：转发 1.2万、粉丝 300万"
    r = level(post={"source": "人民网"}, authority=0.9, negative_targets=["华鼎证券"])
    assert r.level == "III" and r.reasons == ["权威来源：人民网"]


def test_velocity_raises_a_young_fast_post():
    young = {"reposts": 1_500, "published_at": (NOW - timedelta(minutes=30)).isoformat()}
    old = {"reposts": 1_500, "published_at": (NOW - timedelta(days=2)).isoformat()}
    assert velocity(young, NOW) == pytest.approx(3_000)
    fast = level(post=young, negative_targets=["华鼎证券"])
    assert fast.level == "III" and fast.reasons == ["扩散速度：约 3000 次/小时"]
    assert level(post=old, negative_targets=["华鼎证券"]).level == "IV"
    # unknown, unreadable or future times give no rate
    for bad in ("", "昨天", (NOW + timedelta(hours=1)).isoformat()):
        assert velocity({"reposts": 10**6, "published_at": bad}, NOW) is None


def test_reach_and_velocity_together_add_at_most_two():
    post = {"reposts": 200_000, "published_at": (NOW - timedelta(minutes=10)).isoformat()}
    assert level(post=post, negative_targets=["华鼎证券"]).level == "II"


def test_thresholds_from_the_config_object():
    from yuqing.config import RiskConfig

    th = RiskThresholds.coerce(RiskConfig(reach_high=100, velocity_high=50, authority_high=0.7))
    assert (th.reach_high, th.velocity_high, th.authority_high) == (100, 50, 0.7)
    assert level(post={"comments": 150}, negative_targets=["华鼎证券"], thresholds=th).level == "III"


def test_bad_counts_are_zero_and_counts_are_readable():
    assert reach({"reposts": "n/a", "comments": None, "likes": -3, "user_followers": 1e3}) == 100
    assert [fmt_count(n) for n in (999, 12_345, 123_456_789)] == ["999", "1.2万", "1.2亿"]


def test_a_verified_account_reaches_further():
    post = {"user_followers": 60_000}
    assert reach(post) == 6_000 and reach({**post, "user_verified": True}) == 12_000
    assert level(post=post, negative_targets=["华鼎证券"]).level == "IV"
    assert level(post={**post, "user_verified": True}, negative_targets=["华鼎证券"]).level == "III"
    assert reach({**post, "user_verified": "false"}) == 6_000
