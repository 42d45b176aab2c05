"""The switch's refund book: which payments to merchants may still be refunded, and by whom.

NPCI checks a refund against the payment it names (``orgTxnId``): it must
name a payment to a merchant that moved money within the refund window,
come from that merchant to that customer by the same method for no more
than was paid, and be the payment's only refund. The book remembers each
such payment for the window and then forgets it, so memory follows the rate
of payments, not the length of the run.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from upisim.actors import codes
from upisim.actors.messages import ReqPay
from upisim.actors.switch.machine import Payment
from upisim.actors.types import TxnId, Vpa
from upisim.runfolder import Kind, State


class _Paid(NamedTuple):
    at: int  # when the payment finished
    payer: Vpa
    payee: Vpa
    amount: int
    method: str


class Verdict(NamedTuple):
    """What the book says of a refund: ``code`` is ``""`` to go ahead or the NPCI code to
    refuse it with; ``event`` names what to record, ``""`` for nothing. (A request that
    repeats a refund's own id never reaches the book: the switch refuses every repeated id.)"""

    code: str
    event: str = ""


GO = Verdict("")


class RefundBook:
    """Payments to merchants that may come back, for ``window`` ms (0: none, refuse all)."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._paid: dict[TxnId, _Paid] = {}
        self._since: deque[tuple[int, TxnId]] = deque()
        self.claims: dict[TxnId, TxnId] = {}  # payment refunded (or being) -> its refund

    def verdict(self, msg: ReqPay, now: int) -> Verdict:
        """May the refund ``msg`` go ahead?"""
        paid = self._paid.get(msg.refund_of)
        if paid is None or now - paid.at > self.window:
            return Verdict(codes.TXN_NOT_FOUND, "REFUND_UNKNOWN")
        if (msg.payer, msg.payee, msg.method) != (
            paid.payee,
            paid.payer,
            paid.method,
        ) or msg.amount > paid.amount:
            return Verdict(codes.VALIDATION_ERROR, "REFUND_MISMATCH")
        if msg.refund_of in self.claims:
            return Verdict(codes.VALIDATION_ERROR, "DUPLICATE_REFUND")  # one per payment
        self.claims[msg.refund_of] = msg.txn_id
        return GO

    def finished(self, p: Payment, now: int) -> None:
        """A payment reached its terminal state: a failed refund may be tried again; money that
        reached a merchant may come back."""
        if p.stage == State.FAILED:
            if p.refund_of and self.claims.get(p.refund_of) == p.txn_id:
                del self.claims[p.refund_of]
        elif p.merchant and p.stage != State.EXPIRED and p.kind != Kind.REFUND and self.window:
            self._hold(p, now)

    def _hold(self, p: Payment, now: int) -> None:
        """Remember ``p`` for the window; forget older payments and their refunds."""
        since = self._since
        horizon = now - self.window
        while since and since[0][0] < horizon:
            at, old = since.popleft()
            held = self._paid.get(old)
            if held is not None and held.at == at:
                del self._paid[old]
                self.claims.pop(old, None)
        self._paid[p.txn_id] = _Paid(now, p.payer, p.payee, p.amount, p.method)
        since.append((now, p.txn_id))
