"""The network alone: latency, jitter and faults applied to what an actor sent."""

from __future__ import annotations

from upisim.actors.types import Address
from upisim.scenarios.network import Faults, Network

LINKS = {("switch", "bank:HDFC"): 60, ("bank:HDFC", "switch"): 60}


def lossy(heal_at: int) -> Network:
    """Every message behind the switch is lost until ``heal_at``."""
    return Network(LINKS, window=20, seed=1, faults=Faults(0.3, heal_at=heal_at))


def sent(net: Network, at: int, before: int) -> int:
    net.send_all("switch", [(at, Address("switch"), 1, Address("bank:HDFC"), "m")], before)
    return net.in_flight


def test_a_message_sent_after_healing_is_never_lost() -> None:
    net = lossy(heal_at=1_000)
    for i in range(50):
        sent(net, 1_000 + 60 + i, before=1_020)  # sent at 1,000..1,049: after the heal
    assert net.dropped == 0 and net.in_flight == 50


def test_a_held_back_message_counts_as_sent_in_its_window() -> None:
    """A card network's extra hop delays delivery, not sending: sent at 980 (before the heal
    at 1,000) with 250 ms held back, it may still be lost."""
    net = lossy(heal_at=1_000)
    for _ in range(200):
        sent(net, 980 + 60 + 250, before=1_000)
    assert 20 < net.dropped < 120  # about 30% of 200


def test_loss_only_behind_the_switch() -> None:
    net = Network({("users:0", "switch"): 40}, window=20, seed=1, faults=Faults(0.3))
    for i in range(100):
        net.send_all("users:0", [(40 + i, Address("users:0"), i, Address("switch"), "m")], 20)
    assert net.dropped == 0
