"""Where ``EventTracker._best`` stops counting a word's events and checks it per candidate instead
(``COUNT_POSTINGS_UP_TO``) changes its speed, never its answer: the index against the scan of every live
event (tests/nlp/test_events_index.py) with every word checked per candidate, with a few, and with all
counted."""

from __future__ import annotations

import random

import pytest

import nlp.events as events
from nlp.events import EventTracker
from tests.nlp.test_events_index import Reference, state, stream


@pytest.mark.parametrize(("up_to", "seed"), [(0, 0), (0, 1), (2, 2), (5, 3), (10**9, 4)])
def test_any_counting_split_assigns_as_the_scan_does(monkeypatch, up_to, seed):
    monkeypatch.setattr(events, "COUNT_POSTINGS_UP_TO", up_to)
    rng = random.Random(seed)
    conf = {
        "words": str.split,
        "window_hours": rng.choice([2, 24, 72]),
        "similarity": rng.choice([0.1, 0.3, 0.5]),
        "max_events": rng.choice([40, 5000]),
    }
    fast, slow = EventTracker(**conf), Reference(**conf)
    for k, post in enumerate(stream(rng, 700)):
        args = (post["post_id"], post["text"], post["targets"], post["at"])
        extra = {key: post[key] for key in ("event_id", "claim", "statement") if key in post}
        assert fast.add(*args, **extra) == slow.add(*args, **extra), f"post {k}: {post}"
    assert state(fast) == state(slow)
