"""Risk level I–IV (I = most severe, as in Chinese emergency plans) or None.

Only a post about a watched entity can be flagged. Severity points:

- what it is: negative about us → 1; a topic that hurts (客户投诉, 产品亏损/兑付, 员工不当言论) → 1
  unless the post reads positive; a rumor about us, or 交易系统故障 / 数据泄露 / 监管处罚 / 高管负面 → 2
  (1 when the post reads positive); the largest counts;
- how far it goes: reach ≥ ``reach_high`` → +1, ≥ ``reach_very_high`` → +2;
- how fast it goes: reach per hour since publication ≥ ``velocity_high`` → +1 (a young post that is
  already spreading fast is caught before its reach crosses ``reach_high``); reach and velocity
  together add at most 2;
- who says it: a source with authority ≥ ``authority_high`` (official media, regulator) → +1.

Points 1 → IV, 2 → III, 3 → II, ≥ 4 → I. So a rumor about us or an outage with high reach is II
(very high: I), and a negative post with low reach is IV.

Reach is engagement plus a tenth of the author's followers: ``reposts + comments + likes +
user_followers // 10`` (a post by an account with a million followers reaches about as far as one
with a hundred thousand interactions: a rule of thumb, to be tuned on real alerts); a verified
account's followers count double.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

SEVERE_TOPICS = frozenset({"交易系统故障", "数据泄露", "监管处罚", "高管负面"})
HARMFUL_TOPICS = frozenset({"客户投诉", "产品亏损/兑付", "员工不当言论"})
LEVELS = {1: "IV", 2: "III", 3: "II", 4: "I"}


@dataclass(frozen=True)
class RiskThresholds:
    """Mirrors ``yuqing.config.RiskConfig`` (same names and defaults) plus ``authority_high``."""

    negative_threshold: float = 0.55
    rumor_threshold: float = 0.5
    reach_high: int = 10_000
    reach_very_high: int = 100_000
    authority_high: float = 0.8
    rumor_model_threshold: float = 0.5
    velocity_high: int = 2_000  # reach per hour since publication

    @classmethod
    def coerce(cls, value: RiskThresholds | Mapping | object | None) -> RiskThresholds:
        """From a RiskThresholds, a mapping, or any object with these attributes (e.g. RiskConfig)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        names = cls.__dataclass_fields__
        if isinstance(value, Mapping):
            return cls(**{k: v for k, v in value.items() if k in names})
        return cls(**{k: getattr(value, k) for k in names if hasattr(value, k)})


def _int(v: object) -> int:
    try:
        return max(0, int(v))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


VERIFIED_FOLLOWER_WEIGHT = (
    2  # a verified account's followers count double: its posts are shown and trusted more
)


def reach(post: Mapping) -> int:
    followers = _int(post.get("user_followers")) // 10
    if post.get("user_verified") in (True, 1, "1", "true", "True"):
        followers *= VERIFIED_FOLLOWER_WEIGHT
    return _int(post.get("reposts")) + _int(post.get("comments")) + _int(post.get("likes")) + followers


MIN_AGE_HOURS = 0.25  # a post seconds old has no meaningful rate yet


def velocity(post: Mapping, now: datetime | None = None) -> float | None:
    """Reach per hour since ``published_at``; None when the time is unknown or in the future."""
    raw = str(post.get("published_at") or "").strip()
    if not raw:
        return None
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    hours = ((now or datetime.now(UTC)) - t).total_seconds() / 3600
    if hours < 0:
        return None
    return reach(post) / max(hours, MIN_AGE_HOURS)


def fmt_count(n: int) -> str:
    """1234 → 1234, 12345 → 1.2万, 123456789 → 1.2亿."""
    if n >= 100_000_000:
        return f"{n / 100_000_000:.1f}".rstrip("0").rstrip(".") + "亿"
    if n >= 10_000:
        return f"{n / 10_000:.1f}".rstrip("0").rstrip(".") + "万"
    return str(n)


@dataclass
class RiskResult:
    level: str | None
    points: int
    reasons: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.level is not None


def assess(
    *,
    targets: list[str],
    negative_targets: list[str],
    rumor: bool,
    topic: str,
    post: Mapping,
    authority: float = 0.5,
    thresholds: RiskThresholds | None = None,
    negativity_elsewhere: bool = False,
    positive: bool = False,
    now: datetime | None = None,
) -> RiskResult:
    """``negativity_elsewhere``: the post is negative, but about a look-alike, not about a target; its
    topic is then someone else's problem and does not count against us. ``positive``: the post reads
    positive (客服很耐心, 故障已修复，点赞): a harmful topic does not count, a severe one counts 1."""
    th = thresholds or RiskThresholds()
    if not targets:
        return RiskResult(None, 0)
    base = 0
    if negative_targets:
        base = max(base, 1)
    topic_counts = not (negativity_elsewhere and not negative_targets)
    if topic_counts and topic in HARMFUL_TOPICS and not positive:
        base = max(base, 1)
    if topic_counts and topic in SEVERE_TOPICS:
        base = max(base, 1 if positive else 2)
    if rumor:
        base = max(base, 2)
    if base == 0:
        return RiskResult(None, 0)
    reasons: list[str] = []
    r = reach(post)
    bump = 2 if r >= th.reach_very_high else 1 if r >= th.reach_high else 0
    if bump:
        parts = []
        for key, word in (
            ("reposts", "转发"),
            ("comments", "评论"),
            ("likes", "点赞"),
            ("user_followers", "粉丝"),
        ):
            n = _int(post.get(key))
            if n:
                parts.append(f"{word} {fmt_count(n)}")
        reasons.append("传播量：" + "、".join(parts))
    v = velocity(post, now)
    if v is not None and v >= th.velocity_high and bump < 2:
        bump += 1
        reasons.append(f"扩散速度：约 {fmt_count(int(v))} 次/小时")
    if authority >= th.authority_high:
        bump += 1
        source = str(post.get("source") or "").strip()
        reasons.append(f"权威来源：{source}" if source else "权威来源")
    points = min(4, base + bump)
    return RiskResult(LEVELS[points], points, reasons)
