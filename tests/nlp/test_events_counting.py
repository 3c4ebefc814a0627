"""How ``EventTracker._best`` counts a post's keywords in every event's top set: bit masks per keyword,
added as bit slices (``_count_bits``), the events with a given count picked out (``_count_is``). The
counts are those of a plain count; slots are reused as events are forgotten, and the events stay those of
the scan of every live event (tests/nlp/test_events_index.py), with many words a post (six slices) and a
small cap on events (slots freed and taken again all along)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from nlp.events import EventTracker, _count_bits, _count_is
from tests.nlp.test_events_index import T0, Reference, state, stream


@pytest.mark.parametrize("seed", range(6))
def test_bit_slices_count_as_a_plain_count(seed):
    rng = random.Random(seed)
    slots = rng.choice([1, 7, 64, 65, 300])
    masks = [rng.getrandbits(slots) for _ in range(rng.randint(0, 45))]
    plain = [sum((m >> s) & 1 for m in masks) for s in range(slots)]
    levels = _count_bits(masks)
    got = [sum(((lv >> s) & 1) << j for j, lv in enumerate(levels)) for s in range(slots)]
    assert got == plain
    held = 0
    for lv in levels:
        held |= lv
    for k in range(1, len(masks) + 2):
        exact = _count_is(levels, k, held)
        assert exact == sum(1 << s for s in range(slots) if plain[s] == k), k


def test_slots_are_reused_and_the_index_holds_only_live_events():
    tr = EventTracker(words=str.split, max_events=3)
    for i in range(40):
        tr.add(f"p{i}", f"w{i} x{i} y{i}", ["甲"], T0 + timedelta(minutes=i))
    index = tr._index["甲"]
    assert len(index.events_at) <= 4  # the lowest free slot is taken first
    assert set(index.slot_of) == set(tr.events)
    live_bits = sum(1 << s for s in index.slot_of.values())
    for mask in index.top.values():
        assert mask and mask & ~live_bits == 0  # no forgotten event's slot is left in a mask


@pytest.mark.parametrize("seed", range(5))
def test_many_words_and_a_small_cap_assign_as_the_scan_does(seed):
    rng = random.Random(100 + seed)
    conf = {
        "words": str.split,
        "window_hours": rng.choice([2, 24, 72]),
        "similarity": rng.choice([0.1, 0.2, 0.3]),
        "max_events": rng.choice([3, 40]),
    }
    fast, slow = EventTracker(**conf), Reference(**conf)
    for k, post in enumerate(stream(rng, 600)):
        post["text"] = " ".join(
            [post["text"], *(f"r{rng.randint(0, 80)}" for _ in range(rng.randint(0, 30)))]
        )
        args = (post["post_id"], post["text"], post["targets"], post["at"])
        extra = {key: post[key] for key in ("event_id", "claim", "statement") if key in post}
        assert fast.add(*args, **extra) == slow.add(*args, **extra), f"post {k}: {post}"
    assert state(fast) == state(slow)
