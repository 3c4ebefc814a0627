"""Which playbook fits an alert, and the step deadlines once one is chosen.

Scoring (deterministic, explained in Chinese in `MatchResult.why`):

- the alert's topic is one of the playbook's trigger topics: +100, the strongest signal;
- each distinct trigger keyword found in the alert's title or text: +10, at most +40, so keywords alone
  never outweigh a topic match;
- the alert is labelled 'rumor' (不实) and the playbook has `falsity: true`: +50;
- a playbook whose `min_level` the alert does not reach (level less severe, or no level) is skipped.

The highest score wins; ties go to the playbook with a topic match, then to the smaller id. The
fallback playbook (`fallback: true`, shipped as `generic`) is chosen only when no other playbook scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from playbooks.schema import CLOCKS, LEVELS, TOPICS, Playbook, load_library

TOPIC_SCORE = 100
KEYWORD_SCORE = 10
KEYWORD_CAP = 4
FALSITY_SCORE = 50


@dataclass(frozen=True)
class MatchResult:
    playbook: Playbook
    score: int
    why: list[str]
    # Other playbooks that also scored, best first, as (id, score): the desk may offer them.
    alternatives: tuple[tuple[str, int], ...] = ()


@lru_cache(maxsize=1)
def _packaged_library() -> tuple[Playbook, ...]:
    return tuple(load_library())


def default_library() -> list[Playbook]:
    """The packaged library (`playbooks/library/`), loaded once per process."""
    return list(_packaged_library())


def get_playbook(playbook_id: str, library: Sequence[Playbook] | None = None) -> Playbook | None:
    for playbook in default_library() if library is None else library:
        if playbook.id == playbook_id:
            return playbook
    return None


def _field(alert: Any, name: str, default: Any = None) -> Any:
    value = alert.get(name, default) if isinstance(alert, Mapping) else getattr(alert, name, default)
    return getattr(value, "value", value)  # an Enum member → its value


def _level(alert: Any) -> str | None:
    level = _field(alert, "level")
    if level is None or (isinstance(level, str) and not level.strip()):
        return None
    level = str(level).strip().upper()
    if level not in LEVELS:
        raise ValueError(f"alert level {level!r} is not one of {', '.join(LEVELS)} or None")
    return level


def _falsity_label(alert: Any) -> str:
    label = _field(alert, "falsity_label")
    if label is None:  # an analysis dict carries {"falsity": {"label": ...}} instead
        falsity = _field(alert, "falsity")
        label = falsity.get("label") if isinstance(falsity, Mapping) else None
    return str(label or "none").strip().lower()


def _haystack(alert: Any) -> str:
    text = _field(alert, "text") or _field(alert, "snippet") or ""
    title = _field(alert, "title") or ""
    return f"{title}\n{text}".lower()


def _score(
    playbook: Playbook, topic: str, level: str | None, rumor: bool, haystack: str
) -> tuple[int, bool, list[str]]:
    trig = playbook.triggers
    score, why = 0, []
    topic_hit = topic in trig.topics
    if topic_hit:
        score += TOPIC_SCORE
        why.append(f"主题匹配：{topic}")
    hits = [kw for kw in trig.keywords if kw.lower() in haystack]
    if hits:
        score += KEYWORD_SCORE * min(len(hits), KEYWORD_CAP)
        why.append(f"命中关键词：{'、'.join(hits)}")
    if rumor and trig.falsity:
        score += FALSITY_SCORE
        why.append("被识别为不实信息（rumor），适用不实信息处置")
    if score and trig.min_level is not None:
        why.append(f"级别 {level} 达到本预案适用门槛（{trig.min_level} 级及以上）")
    return score, topic_hit, why


def match_post(post: Any, library: Sequence[Playbook] | None = None) -> MatchResult | None:
    """The playbook for a stored post's alert (``store.models.PostRecord``: its topic, level, title and text,
    falsity label): what ingest records on the alert and the desk offers first."""
    alert: dict[str, Any] = {
        "topic": post.topic,
        "level": post.level,
        "text": f"{post.title}\n{post.text}",
        "falsity_label": post.falsity_label,
    }
    return match(alert, library)


def match(alert: Any, library: Sequence[Playbook] | None = None) -> MatchResult | None:
    """The playbook that best fits `alert`, or None when nothing fits and the library has no fallback.

    `alert` is any mapping or object with `topic`, `level` ('I'–'IV' or None), `text` (or `snippet`;
    `title` is searched too) and `falsity_label` ('rumor' | 'none').
    """
    playbooks = default_library() if library is None else list(library)
    topic = str(_field(alert, "topic") or "")
    level = _level(alert)
    rumor = _falsity_label(alert) == "rumor"
    haystack = _haystack(alert)

    scored: list[tuple[int, bool, str, Playbook, list[str]]] = []
    below_threshold: list[str] = []
    for playbook in playbooks:
        if playbook.fallback:
            continue
        score, topic_hit, why = _score(playbook, topic, level, rumor, haystack)
        if not score:
            continue
        if not playbook.applies_at(level):
            shown = level or "未定级"
            below_threshold.append(
                f"{playbook.name}（需 {playbook.triggers.min_level} 级及以上，当前 {shown}）"
            )
            continue
        scored.append((score, topic_hit, playbook.id, playbook, why))

    if scored:
        scored.sort(key=lambda s: (-s[0], not s[1], s[2]))
        score, _, _, best, why = scored[0]
        if below_threshold:
            why.append(f"未达级别门槛而未选：{'；'.join(below_threshold)}")
        alternatives = tuple((s[2], s[0]) for s in scored[1:])
        return MatchResult(playbook=best, score=score, why=why, alternatives=alternatives)

    fallback = next((pb for pb in sorted(playbooks, key=lambda p: p.id) if pb.fallback), None)
    if fallback is None:
        return None
    why = ["未匹配到专项预案，使用通用预案"]
    if topic and topic not in TOPICS:
        why.append(f"未知主题：{topic}")
    if below_threshold:
        why.append(f"未达级别门槛而未选：{'；'.join(below_threshold)}")
    return MatchResult(playbook=fallback, score=0, why=why)


def steps_with_deadlines(playbook: Playbook, level: str, opened_at: datetime) -> list[dict[str, Any]]:
    """The steps that apply at `level`, in the playbook's order, each with its due time.

    Each dict: order (1-based), id, title, description, owner_role, owner_label, requires_signoff,
    external, due_minutes, due_at (opened_at + due_minutes), level, and clocks: the level's clocks in
    minutes (`acknowledge_within` …) with their due times (`acknowledge_by` …; None where the level does
    not require that clock). Steps on a clock that is null at this level, or limited to other levels,
    are left out.
    """
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    level_clocks = playbook.clocks(level)
    clocks: dict[str, Any] = {}
    for clock in CLOCKS:
        minutes = level_clocks.minutes(clock)
        clocks[clock] = minutes
        clocks[clock.removesuffix("_within") + "_by"] = (
            None if minutes is None else opened_at + timedelta(minutes=minutes)
        )

    out: list[dict[str, Any]] = []
    for step in playbook.steps:
        minutes = step.due_minutes_at(level, level_clocks)
        if minutes is None:
            continue
        out.append(
            {
                "order": len(out) + 1,
                "id": step.id,
                "title": step.title,
                "description": step.description,
                "owner_role": step.owner_role,
                "owner_label": step.owner_label,
                "requires_signoff": step.requires_signoff,
                "external": step.external,
                "due_minutes": minutes,
                "due_at": opened_at + timedelta(minutes=minutes),
                "level": level,
                "clocks": dict(clocks),
            }
        )
    return out
