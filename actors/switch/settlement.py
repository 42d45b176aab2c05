"""Settlement, the switch's side: the files that let banks forget legs, NPCI's cycles and
each bank's net debit cap.

Every ``settle_every`` ms each bank gets a file naming its payments that are over (at
least ``settle_grace`` ms ago, so no message about them can still land): only then may
it forget their legs. A file is sent again, folded into the next, until the bank
acknowledges it, so a bank dark for an hour still hears everything.

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

from collections import deque
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from upisim.actors.base import Logic
from upisim.actors.messages import SettlementAck, SettlementFile, SettleNow
from upisim.actors.switch.machine import Payment
from upisim.actors.types import Address, Paise, TxnId
from upisim.runfolder import SettlementRow

PAYER_BANK = 1  # Payment.banks_asked: the payer's bank holds a leg
PAYEE_BANK = 2  # the payee's bank holds a leg


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
    the cycles closed."""

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
        self.largest_debit = max(self.largest_debit, -min(nets.values(), default=0))
        self.open = {}
        self.closed += 1
        self.cycle += 1
        return rows, nets

    def next_close(self, now: int) -> int:
        """When the open cycle closes on the clock (ms from ``now``, at least 1)."""
        return max(1, (now // self.cycle_ms + 1) * self.cycle_ms - now)


class Settling(Logic):
    """The switch's side of settlement: the files that tell each bank which of its payments
    are over (so it may forget their legs), and the cycles' net positions, each sent again
    until its bank acknowledges it."""

    payments: dict[TxnId, Payment]

    def settling(
        self,
        banks: Mapping[str, Address],
        settle_every: int,
        settle_grace: int,
        cycle_ms: int,
        caps: Mapping[str, Paise],
        load_end: int,
    ) -> None:
        # every settle_every ms, the banks hear which of their payments are over (at least
        # settle_grace ms ago: no message about them can still land) and may forget those legs
        self._bank = dict(banks)
        self.settle_every = settle_every
        self.settle_grace = settle_grace
        self._unsettled: deque[tuple[int, TxnId, str, str, int]] = deque()  # not yet in a file
        self._settle_armed = False
        # by number: sent, not acknowledged: (bank, payments over, (cycle, net position))
        self._files_out: dict[int, tuple[str, tuple[TxnId, ...], tuple[tuple[int, int], ...]]]
        self._files_out = {}
        self._files_made = 0
        self.files_resent = 0  # settlement files sent again, unacknowledged a cycle later
        # NPCI's settlement cycles (ten a day by default) and the banks' net debit caps;
        # after load_end, with nothing open, the day's last cycle closes at once
        self.net = NetSettlement(banks, cycle_ms, caps)
        self.load_end = load_end
        if load_end > 0:
            self.set_timer(load_end, DayEnd())

    def _settle(self, p: Payment, moved: bool) -> None:
        """``p`` is over (``moved``: its money went from payer to payee): it goes into its
        banks' next files, and its amount into the open cycle's positions."""
        if p.banks_asked:
            self._to_settle(p)
        asked = bool(p.banks_asked & PAYER_BANK)
        if self.net.over(p.payer_bank, p.payee_bank, p.amount, asked, moved):
            self.set_timer(self.net.next_close(self.now), CycleClose())
        if self.payments:
            return
        if self.now >= self.load_end and self.net.open:
            self.set_timer(1, DayEnd())  # nothing is left to pay: the day's last cycle closes
        if self._unsettled:  # nothing is open: settle as soon as the grace is over
            self.cancel_timers(SettleNow)
            self.set_timer(self.settle_grace + 1, SettleNow())

    # -- the files: the banks hear which payments are over -----------------------------------

    def _to_settle(self, p: Payment) -> None:
        """``p`` goes into its banks' next settlement file, once nothing sent about it before
        it finished can still be on its way (``settle_grace``)."""
        self._unsettled.append((self.now, p.txn_id, p.payer_bank, p.payee_bank, p.banks_asked))
        if not self._settle_armed:
            self._settle_armed = True
            self.set_timer(self.settle_every, SettleNow())

    def on_SettleNow(self, msg: SettleNow, sender: Address) -> None:
        """The settlement cycle: each bank gets the payments with a leg there that are over,
        with those of every file it has not acknowledged (folded into the new one, so a bank
        dark for an hour gets one file a cycle, not one per cycle it missed)."""
        files: dict[str, list[TxnId]] = {}
        posts: dict[str, list[tuple[int, int]]] = {}
        out = self._files_out
        for bank, txn_ids, positions in out.values():
            files.setdefault(bank, []).extend(txn_ids)
            posts.setdefault(bank, []).extend(positions)
        self.files_resent += len(out)
        out.clear()
        horizon = self.now - self.settle_grace
        unsettled = self._unsettled
        while unsettled and unsettled[0][0] <= horizon:
            _, txn_id, payer_bank, payee_bank, asked = unsettled.popleft()
            if asked & PAYER_BANK:
                files.setdefault(payer_bank, []).append(txn_id)
            same_bank = asked & PAYER_BANK and payee_bank == payer_bank  # one file has both
            if asked & PAYEE_BANK and not same_bank:
                files.setdefault(payee_bank, []).append(txn_id)
        for bank in sorted(files):
            self._send_file(bank, tuple(files[bank]), tuple(posts.get(bank, ())))
        self._settle_armed = bool(unsettled or out)
        if self._settle_armed:  # with nothing open, the rest can go once the grace is over
            soon = unsettled and not self.payments
            self.set_timer(self.settle_grace + 1 if soon else self.settle_every, msg)

    def _send_file(
        self, bank: str, txn_ids: tuple[TxnId, ...], positions: tuple[tuple[int, int], ...]
    ) -> None:
        self._files_made += 1
        self._files_out[self._files_made] = (bank, txn_ids, positions)
        self.send(self._bank[bank], SettlementFile(self._files_made, txn_ids, positions))

    def on_SettlementAck(self, msg: SettlementAck, sender: Address) -> None:
        """A bank has a file: stop sending it. With nothing left to settle, the cycle stops."""
        if self._files_out.pop(msg.number, None) is None:
            return  # a copy, or a file since folded into a later one
        if not self._files_out and not self._unsettled and self._settle_armed:
            self.cancel_timers(SettleNow)
            self._settle_armed = False

    # -- the cycles: every bank's net position ----------------------------------------------

    def on_CycleClose(self, msg: CycleClose, sender: Address) -> None:
        self._close_cycle()

    def on_DayEnd(self, msg: DayEnd, sender: Address) -> None:
        if not self.payments and self.net.open:  # the cycle closes now, not on the clock
            self.cancel_timers(CycleClose)
            self._close_cycle()

    def _close_cycle(self) -> None:
        """Each bank with a position in the open cycle gets it in a file of its own, sent
        again until acknowledged like any settlement file."""
        cycle = self.net.cycle
        rows, nets = self.net.close(self.now)
        for row in rows:
            self.record(row)
        for bank, net in nets.items():
            self._send_file(bank, (), ((cycle, net),))
        if nets and not self._settle_armed:
            self._settle_armed = True
            self.set_timer(self.settle_every, SettleNow())
