"""The actor contract every actor shares: ordering, timers, unknown messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from upisim.actors.base import NEVER, Group, Logic, derive_seed, envelope
from upisim.actors.types import Address


class Echo(Logic):
    def __init__(self) -> None:
        super().__init__(Address("echo"))
        self.seen: list[tuple[int, Any]] = []

    def on_str(self, message: str, sender: Address) -> None:
        self.seen.append((self.now, message))
        if message.startswith("timer"):
            self.set_timer(int(message[5:]), f"fired{message[5:]}")


def test_timers_fire_in_time_order_before_later_envelopes() -> None:
    e = Echo()
    e.deliver([envelope("timer30", at=0), envelope("timer10", at=5)])
    assert e.seen == [(0, "timer30"), (5, "timer10")]
    out = e.deliver([envelope("x", at=20), envelope("y", at=40)])
    assert e.seen[2:] == [(15, "fired10"), (20, "x"), (30, "fired30"), (40, "y")]
    assert out.wake_at is None and e._next_due == NEVER


def test_wake_at_is_the_next_pending_timer_and_until_fires_the_rest() -> None:
    e = Echo()
    out = e.deliver([envelope("timer100", at=0), envelope("timer7", at=1)], until=5)
    assert out.wake_at == 8
    out = e.advance(50)
    assert e.seen[-1] == (8, "fired7") and out.wake_at == 100


def test_an_unknown_message_is_recorded_not_fatal() -> None:
    e = Echo()
    out = e.deliver([envelope(3.5)])
    assert out.records[0].kind == "UNKNOWN_MESSAGE"
    e.deliver([envelope("after", at=1)])
    assert e.seen == [(1, "after")]


def test_derived_seeds_are_stable_and_distinct() -> None:
    assert derive_seed(1, "bank:HDFC") == derive_seed(1, "bank:HDFC")
    assert derive_seed(1, "bank:HDFC") != derive_seed(2, "bank:HDFC")
    assert derive_seed(1, "bank:HDFC") != derive_seed(1, "bank:SBI")
    # a fixed value: the same in every process and on every machine (no salted hash())
    assert derive_seed(1, "x") == 0x553F121D1ECEF2A1


def test_timers_cancelled_by_a_timer_handler_never_fire() -> None:
    from typing import NamedTuple

    from upisim.actors.base import Logic
    from upisim.actors.types import Address

    class Ring(NamedTuple):
        name: str

    class Tidy(NamedTuple):
        pass

    class Clock(Logic):
        def __init__(self) -> None:
            super().__init__(Address("clock"))
            self.rang: list[tuple[int, str]] = []

        def on_Tidy(self, msg: Tidy, sender: str) -> None:
            self.cancel_timers(Ring)
            self.set_timer(10, Ring("after"))

        def on_Ring(self, msg: Ring, sender: str) -> None:
            self.rang.append((self.now, msg.name))

    clock = Clock()
    clock.set_timer(50, Tidy())
    clock.set_timer(60, Ring("stale"))
    clock.set_timer(200, Ring("stale too"))
    out = clock.advance(100)
    assert clock.rang == [(60, "after")] and out.wake_at is None


# -- runs of envelopes handled at once (GROUPED) ---------------------------------------------


class Batcher(Echo):
    """Echo, with runs of ints handed to one group handler (which sets a timer for 7)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[list[int]] = []

    def on_int(self, message: int, sender: Address) -> None:
        self.seen.append((self.now, message))
        if message == 7:
            self.set_timer(2, "fired7")

    def _ints(self, run: Any) -> int:
        self.runs.append([m for _, _, _, _, m in run])
        for k, (at, sender, _seq, _to, message) in enumerate(run):
            if at >= self.next_due:  # a timer set here falls due first: stop before it
                return k
            self.now = at
            self.on_int(message, sender)
        return len(run)

    GROUPED: ClassVar[Mapping[type, Group]] = {int: _ints}


def _both(batches: list[list[Any]]) -> tuple[Batcher, Batcher, list[Any], list[Any]]:
    grouped, reference = Batcher(), Batcher()
    reference.grouped = False
    outs: tuple[list[Any], list[Any]] = ([], [])
    for batch in batches:
        for logic, out in zip((grouped, reference), outs, strict=True):
            envs = [envelope(m, at=t, seq=i) for i, (t, m) in enumerate(batch)]
            out.append(logic.deliver(envs, until=batch[-1][0] + 1))
    return grouped, reference, *outs


def test_a_run_is_consecutive_envelopes_sharing_a_group_handler() -> None:
    batch = [(0, 1), (1, 2), (2, "timer5"), (3, 3), (4, 4), (9, 5)]
    grouped, reference, a, b = _both([batch])
    assert grouped.runs == [[1, 2], [3, 4], [5]] and reference.runs == []
    assert grouped.seen == reference.seen and a == b
    assert grouped.seen[4:] == [(4, 4), (7, "fired5"), (9, 5)]  # the run stopped at the timer


def test_a_group_handler_stops_where_a_timer_it_set_falls_due() -> None:
    batch = [(0, 7), (1, 8), (2, 9), (3, 10)]
    grouped, reference, a, b = _both([batch])
    assert grouped.seen == reference.seen == [(0, 7), (1, 8), (2, "fired7"), (2, 9), (3, 10)]
    assert grouped.runs == [[7, 8, 9, 10], [9, 10]] and a == b


def test_a_group_handler_must_handle_at_least_one_envelope() -> None:
    class Idle(Logic):
        GROUPED: ClassVar[Mapping[type, Group]] = {int: lambda self, run: 0}

    with pytest.raises(RuntimeError, match="handled 0 of 2"):
        Idle(Address("idle")).deliver([envelope(1), envelope(2, at=1)])
