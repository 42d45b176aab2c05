"""Disputes, the switch's side (NPCI's UDIR): a victim's fraud report freezes the account
the money went to.

The victim's app reports a payment; the switch asks the payee's app which bank and
account the reported address stands for (as in address resolution), and tells that
bank to freeze the account. A frozen account posts no more debits (``YE``) or credits
(``YF``): what it holds stays there, for the courts to release, so a mule caught before
it passes the money on keeps it where the victim can get it back. A report names a
payment, not an account, and no money moves on a report, so a lost or repeated report
costs nothing but the freeze.
"""

from __future__ import annotations

from collections.abc import Mapping

from upisim.actors.base import Logic
from upisim.actors.messages import ReqFraudReport, ReqFreeze, RespFraudReport
from upisim.actors.types import Address, Vpa


class Disputes(Logic):
    """Routes fraud reports to the payee's app and freezes at its bank."""

    directory: Mapping[Vpa, Address]  # the switch's own
    _bank: dict[str, Address]

    def on_ReqFraudReport(self, msg: ReqFraudReport, sender: Address) -> None:
        payee_psp = self.directory.get(msg.payee)
        self.event("FRAUD_REPORT", msg.txn_id, msg.victim, msg.payee)
        if payee_psp is not None:
            self.send(payee_psp, msg)

    def on_RespFraudReport(self, msg: RespFraudReport, sender: Address) -> None:
        bank = self._bank.get(msg.bank)
        if bank is not None:
            self.send(bank, ReqFreeze(msg.txn_id, msg.account))
