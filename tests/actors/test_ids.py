"""The switch's memory of transaction ids: each runs once, for good, in bounded memory."""

from __future__ import annotations

import random

import pytest

from upisim.actors import ids
from upisim.actors.ids import RecentMap, RecentNumbered, SeenIds


def test_an_id_is_new_once_and_a_repeat_ever_after() -> None:
    seen = SeenIds(window=1_000)
    assert not seen.repeat("UPS00001T00000000001", 0)
    for now in (1, 999, 1_001, 10**9):
        assert seen.repeat("UPS00001T00000000001", now)


def test_ids_of_one_app_may_arrive_out_of_order_within_the_window() -> None:
    seen = SeenIds(window=1_000)
    assert not seen.repeat("UPS00001T00000000002", 0)
    assert not seen.repeat("UPS00001T00000000001", 900)  # overtaken on the way, still new
    assert not seen.repeat("UPS00002T00000000001", 900)  # another app's numbering


def test_memory_follows_the_rate_not_the_length_of_the_run() -> None:
    seen = SeenIds(window=1_000)
    for i in range(100_000):
        assert not seen.repeat(f"UPS00001T{i:011d}", i)  # one a millisecond
    assert len(seen) <= 2 * 1_000 + 2  # two generations of a window each, at most
    assert seen.repeat(f"UPS00001T{5:011d}", 100_000)  # long gone from the window: by floor
    assert not seen.repeat(f"UPS00001T{100_000:011d}", 100_000)


def test_ids_without_a_number_are_kept_for_good() -> None:
    seen = SeenIds(window=10)
    assert not seen.repeat("ABC", 0)
    assert not seen.repeat("ABD", 50)
    assert seen.repeat("ABC", 10**9)


def test_numbered_memory_answers_as_the_plain_one_at_every_step() -> None:
    """RecentNumbered is RecentMap in two bytes an id: the same puts, the same answers,
    whatever the order, gaps and kinds of ids (a seeded random walk)."""
    walk = random.Random(7)
    plain: RecentMap[tuple[str, int]] = RecentMap(500)
    numbered: RecentNumbered[tuple[str, int]] = RecentNumbered(500)
    keys: list[str] = []
    now = 0
    for step in range(20_000):
        now += walk.choice((0, 1, 3, 40, 700 if step % 997 == 0 else 2))  # and quiet spells
        kind = walk.random()
        if kind < 0.80:  # an app's ids, finishing out of order
            key = f"UPS{walk.randrange(3):05d}T{max(0, step + walk.randrange(-300, 50)):011d}"
        elif kind < 0.85:  # numbered far from the rest of its issuer's
            key = f"UPS00001T{walk.randrange(10**10):011d}"
        else:  # a hand-made id with no number
            key = f"TXN-{walk.choice('ABCDEFGH')}"
        value = (walk.choice(("SUCCESS", "FAILURE", "DEEMED")), walk.randrange(4))
        plain.put(key, value, now)
        numbered.put(key, value, now)
        keys.append(key)
        for probe in [*walk.sample(keys, min(5, len(keys))), "UPS00002T99999999999", "NONE"]:
            assert numbered.get(probe) == plain.get(probe), (step, probe)


def test_numbered_memory_is_two_bytes_an_id_and_follows_the_window() -> None:
    memory: RecentNumbered[str] = RecentNumbered(window=1_000)
    for i in range(100_000):
        memory.put(f"UPS00001T{i:011d}", ("ok", "no")[i % 2], i)  # one a millisecond
    spans = [*memory._current.values(), *memory._previous.values()]
    assert sum(len(span.codes) for span in spans) <= 4 * 2_000  # two windows, room to grow
    assert memory.get(f"UPS00001T{99_999:011d}") == "no" and memory.get("UPS00001T5") is None


def test_numbered_memory_keeps_values_past_its_codes_in_the_dict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids, "_MAX_CODES", 2)
    memory: RecentNumbered[int] = RecentNumbered(window=1_000)
    for i in range(5):
        memory.put(f"UPS00001T{i:011d}", i * 10, i)
    memory.put(f"UPS00001T{0:011d}", 40, 9)  # a code it has no more room for: the latest
    assert [memory.get(f"UPS00001T{i:011d}") for i in range(5)] == [40, 10, 20, 30, 40]
