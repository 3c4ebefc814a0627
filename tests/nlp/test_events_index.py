"""The keyword index of ``EventTracker`` gives exactly the events a scan of every live event gives.

``Reference`` is the tracker as it was before the index: each post compared with every live event of its
target, the event's top keywords recounted with ``Counter.most_common`` each time. Both read the same
generated streams (few words, so events collide; several targets; times that jump back and past the
window; clarifications and the claims they answer; seeded ids; the same post again; a small event cap so
old events are forgotten), and every post must land in the same event with the same state.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from nlp.events import ANSWERED_SHARE, TOP_KEYWORDS, Event, EventTracker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Reference(EventTracker):
    """The scan: every live event of the target, top keywords recounted per comparison."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.order: list[str] = []  # events, oldest first

    @staticmethod
    def top_of(ev: Event) -> set[str]:
        return {w for w, _ in ev.keywords.most_common(TOP_KEYWORDS)}

    def _live(self, target: str, at: datetime):
        for eid in self.order:
            ev = self.events[eid]
            if ev.target == target and not (at - ev.last_at > self.window or ev.last_at - at > self.window):
                yield ev

    def _best(self, target, kws, at, *, claims_only=False):
        if not kws:
            return None
        best, best_sim = None, 0.0
        for ev in self._live(target, at):
            if claims_only and not ev.makers:
                continue
            top = self.top_of(ev)
            sim = sum(1 for w in kws if w in top) / min(len(kws), TOP_KEYWORDS)
            if sim > best_sim:
                best, best_sim = ev, sim
        return best if best_sim >= self.similarity else None

    def _answered(self, target, kws, at):
        best, best_share = None, 0.0
        for ev in self._live(target, at):
            if not ev.answered:
                continue
            share = sum(1 for w in ev.answered if w in kws) / len(ev.answered)
            if share > best_share:
                best, best_share = ev, share
        return best if best_share >= ANSWERED_SHARE else None

    def add(self, post_id, text, targets, at, event_id="", claim="", statement=False):
        if not targets:
            return ""
        target = targets[0]
        kws = self.keywords(text)
        claim_kws = self.keywords(claim) if claim else Counter()
        ev = self.events.get(event_id) if event_id else None
        if ev is None and not event_id:
            ev = self._best(target, claim_kws, at, claims_only=True) if claim_kws else None
            ev = ev or self._best(target, kws, at)
            if ev is None and not statement:
                ev = self._answered(target, kws, at)
        created = ev is None
        if ev is None:
            eid = event_id or "ev-" + hashlib.sha1(f"{target}:{post_id}".encode()).hexdigest()[:12]
            if eid not in self.events:
                self.order.append(eid)
            ev = self.events[eid] = Event(eid, target)
        ev.keywords.update(kws)
        ev.answered.update(claim_kws)
        ev.makers += 0 if statement else 1
        ev.times.append(at)
        ev.size += 1
        ev.last_at = max(ev.last_at, at)
        while ev.times and at - ev.times[0] > self.baseline + self.burst_window:
            ev.times.popleft()
        if created and len(self.events) > self.max_events:
            for eid in sorted(self.order, key=lambda e: self.events[e].last_at)[
                : len(self.events) - self.max_events
            ]:
                del self.events[eid]
                self.order.remove(eid)
        return ev.id


VOCAB = [f"w{i:02d}" for i in range(60)]


def stream(rng: random.Random, n: int) -> list[dict]:
    """Posts with Zipf-ish words, so some words are in most events and others in few."""
    posts: list[dict] = []
    at = T0
    weights = [1 / (i + 1) for i in range(len(VOCAB))]
    for i in range(n):
        roll = rng.random()
        at += timedelta(minutes=rng.choice([0, 1, 5, 30, 120]))
        when = at - timedelta(hours=rng.choice([0, 0, 0, 1, 80])) if roll < 0.1 else at  # late or stale
        words = rng.choices(VOCAB, weights=weights, k=rng.randint(0, 50))
        post = {
            "post_id": f"p{rng.randint(0, n // 2)}" if roll > 0.97 else f"p{i}",  # the same post again
            "text": " ".join(words),
            "targets": [rng.choice(["甲证券", "乙证券", "丙证券"])] if rng.random() > 0.05 else [],
            "at": when,
        }
        if 0.1 <= roll < 0.18:  # a clarification of some claim
            post["statement"] = True
            post["claim"] = " ".join(rng.choices(VOCAB, weights=weights, k=rng.randint(1, 6)))
        elif 0.18 <= roll < 0.2 and posts:  # seeded with a stored event id
            post["event_id"] = rng.choice([f"ev-seed{rng.randint(0, 5)}", ""])
        posts.append(post)
    return posts


def state(tr: EventTracker) -> dict:
    return {
        eid: (ev.target, dict(ev.keywords), dict(ev.answered), ev.makers, ev.size, ev.last_at, list(ev.times))
        for eid, ev in tr.events.items()
    }


@pytest.mark.parametrize("seed", range(12))
def test_the_index_assigns_every_post_as_the_scan_does(seed):
    rng = random.Random(seed)
    conf = {
        "words": str.split,
        "window_hours": rng.choice([2, 24, 72]),
        "similarity": rng.choice([0.0, 0.1, 0.3, 0.3, 0.5, 1.0]),
        "max_events": rng.choice([8, 40, 5000]),
    }
    fast, slow = EventTracker(**conf), Reference(**conf)
    for k, post in enumerate(stream(rng, 700)):
        args = (post["post_id"], post["text"], post["targets"], post["at"])
        extra = {key: post[key] for key in ("event_id", "claim", "statement") if key in post}
        assert fast.add(*args, **extra) == slow.add(*args, **extra), f"post {k}: {post}"
    assert state(fast) == state(slow)
    for ev in fast.events.values():  # the cached top set is the recount
        assert ev.top() == Reference.top_of(ev)


def test_forgetting_keeps_the_new_event_and_drops_the_oldest():
    tr = EventTracker(words=str.split, max_events=2)
    a = tr.add("a", "alpha beta", ["甲"], T0)
    b = tr.add("b", "gamma delta", ["甲"], T0 + timedelta(minutes=1))
    c = tr.add("c", "epsilon zeta", ["甲"], T0 + timedelta(minutes=2))
    assert set(tr.events) == {b, c} and a not in tr.events
    assert tr.add("c2", "epsilon zeta", ["甲"], T0 + timedelta(minutes=3)) == c  # the new one is live
