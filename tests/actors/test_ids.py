"""The switch's memory of transaction ids: each runs once, for good, in bounded memory."""

from __future__ import annotations

from upisim.actors.ids import SeenIds


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
