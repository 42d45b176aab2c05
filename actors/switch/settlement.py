"""NPCI's settlement cycles and each bank's net debit cap.

NPCI settles with the banks in cycles (ten a day, UPI.md §7). A payment belongs to
the cycle in which it ended having moved money (``SUCCESS`` or ``DEEMED``): its
amount is a debit of the payer's bank and a credit of the payee's. At each cycle's
close every bank's multilateral net position is its credits less its debits; the
positions sum to zero (settlement only moves money between banks), and each bank
books its own as ``settled``: the opposite of what that cycle's payments moved
through its settlement account, so once a bank's cycles are closed and nothing is in
flight, its settlement + settled is zero. The positions travel in the banks'
settlement files, sent again until acknowledged, and are posted once per cycle.

A net debit cap (``U03``) bounds what a bank may owe in the open cycle: a payment
whose debit would take its remitter bank's net position, less the debits already
asked and not yet over, past the cap is declined before any money moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from upisim.actors.types import Paise
from upisim.runfolder import SettlementRow


class CycleClose(NamedTuple):
    """Timer: the open settlement cycle closes."""


class DayEnd(NamedTuple):
    """Timer: the load is over; with nothing open, the day's last cycle closes."""


class _Position:
    __slots__ = ("credits", "debits", "payments")

    def __init__(self) -> None:
        self.payments = 0
        self.debits = 0
        self.credits = 0


class NetSettlement:
    """The open cycle's positions, the debits asked and not yet over (for the caps), and
    what every closed cycle issued."""

    def __init__(
        self,
        banks: Iterable[str],
        cycle_ms: int,
        caps: Mapping[str, Paise] | None = None,
    ) -> None:
        self.banks = sorted(banks)
        self.cycle_ms = cycle_ms
        self.caps = dict(caps or {})
        self.cycle = 0  # the open cycle
        self.open: dict[str, _Position] = {}
        self.asked: dict[str, int] = dict.fromkeys(self.caps, 0)  # capped banks only
        self.issued = 0  # sum of every position issued: zero, cycle after cycle
        self.closed = 0
        self.largest_debit = 0  # the most any bank owed at any close (paise, >= 0)

    # -- the net debit cap ----------------------------------------------------------------

    def may_debit(self, payer_bank: str, payee_bank: str, amount: int) -> bool:
        """Whether ``payer_bank`` may be asked to debit ``amount`` within its cap; if so the
        debit counts against the cap until its payment is over (:meth:`over`). A payment
        within one bank nets to nothing and is never capped."""
        cap = self.caps.get(payer_bank)
        if cap is None or payer_bank == payee_bank:
            return True
        position = self.open.get(payer_bank)
        net = position.credits - position.debits if position is not None else 0
        if net - self.asked[payer_bank] - amount < -cap:
            return False
        self.asked[payer_bank] += amount
        return True

    def over(self, payer_bank: str, payee_bank: str, amount: int, debit_asked: bool,
             moved: bool) -> bool:  # fmt: skip
        """A payment ended; ``moved``: its money went from payer to payee. True when it
        opened the cycle (the caller arms the cycle's close)."""
        if debit_asked and payer_bank in self.asked and payer_bank != payee_bank:
            self.asked[payer_bank] -= amount
        if not moved:
            return False
        opened = not self.open
        payer = self._position(payer_bank)
        payer.payments += 1
        payer.debits += amount
        payee = self._position(payee_bank)
        payee.payments += payee is not payer  # a payment within one bank is one payment
        payee.credits += amount
        return opened

    def _position(self, bank: str) -> _Position:
        position = self.open.get(bank)
        if position is None:
            position = self.open[bank] = _Position()
        return position

    # -- the close ------------------------------------------------------------------------

    def close(self, now: int) -> tuple[list[SettlementRow], dict[str, int]]:
        """Close the open cycle: its rows, and each bank's net position to post."""
        rows, nets = [], {}
        for bank in sorted(self.open):
            p = self.open[bank]
            net = p.credits - p.debits
            rows.append(SettlementRow(self.cycle, now, bank, p.payments, p.debits, p.credits, net))
            nets[bank] = net
        self.issued += sum(nets.values())
        self.largest_debit = max(self.largest_debit, -min(nets.values(), default=0))
        self.open = {}
        self.closed += 1
        self.cycle += 1
        return rows, nets

    def next_close(self, now: int) -> int:
        """When the open cycle closes on the clock (ms from ``now``, at least 1)."""
        return max(1, (now // self.cycle_ms + 1) * self.cycle_ms - now)
