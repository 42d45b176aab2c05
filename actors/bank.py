"""A bank: accounts, PIN checks, limits and an idempotent ledger of debits, credits and reversals.

Money moves by double entry between customer accounts and the bank's UPI
settlement account: a debit moves money from the payer into settlement (the
bank now owes the network), a credit moves it from settlement to the payee.
So ``customers + settlement`` changes only when another bank's leg lands, and
summed over all banks it never changes at all.

A credit card's credit line is the other funding source (see
:mod:`actors.methods`): a card debit moves money the bank lends into
settlement and adds it to the card's outstanding balance, so over all banks
``customers + settlement - outstanding`` is what never changes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from upisim.actors import addresses, codes
from upisim.actors.accounts import OLD_HAND, AccountBook
from upisim.actors.base import derive_seed
from upisim.actors.capacity import (
    CREDIT_OP,
    DEBIT_OP,
    REVERSAL_OP,
    STATUS_OP,
    Behind,
    Capacity,
    Pool,
    Refuse,
    Served,
    Work,
)
from upisim.actors.messages import (
    CREDIT,
    CREDIT_REVERSAL,
    DEBIT,
    DEBIT_REVERSAL,
    ReqChkTxn,
    ReqFreeze,
    ReqPayCredit,
    ReqPayDebit,
    ReqPayReversal,
    RespChkTxn,
    RespPayLeg,
    SettlementAck,
    SettlementFile,
)
from upisim.actors.methods import CARD, DEFAULT_METHODS, REFUND_DEBIT, Method
from upisim.actors.records import AccountSpec, Leg
from upisim.actors.types import DAY, HOUR, Address, BankCode, Paise, SimTime, TxnId


@dataclass(frozen=True, slots=True)
class BankLimits:
    """Per-bank rules, all amounts in paise."""

    per_txn: Paise = Paise(100_000_00)
    per_day: Paise = Paise(100_000_00)
    count_per_day: int = 20
    pin_tries: int = 3
    lockout: SimTime = SimTime(24 * HOUR)
    # New-user cooling: in its first day a new UPI user may send at most this much, and the
    # first payment at most new_first (FL for the first, FP for the total).
    new_first: Paise = Paise(5_000_00)
    new_cap: Paise = Paise(5_000_00)
    new_window: SimTime = SimTime(24 * HOUR)


class Books(NamedTuple):
    """A bank's books after a window (its gauges): customers + settlement - card outstanding,
    summed over all banks, never moves."""

    customers: int  # every customer's savings balance
    settlement: int  # the UPI settlement account: debited, not yet credited elsewhere
    card_outstanding: int  # owed on all credit cards: money the bank lent
    # net positions of closed settlement cycles, received (+) or paid (-) through NPCI's
    # settlement; settlement + settled is what the bank still owes the network (0: square)
    settled: int = 0


class Bank(Served):
    """One bank's ledger. Every leg is idempotent by (transaction id, leg)."""

    def __init__(
        self,
        code: BankCode,
        accounts: Iterable[AccountSpec] | AccountBook,
        limits: BankLimits = BankLimits(),
        seed: int = 0,
        methods: Mapping[str, Method] = DEFAULT_METHODS,
        capacity: Capacity | None = None,
    ) -> None:
        super().__init__(addresses.bank(code), seed)
        # core banking: None answers every request at once (an actor test's bank)
        if capacity is not None:
            rng = random.Random(derive_seed(seed, f"{self.address}:core"))
            self.core = Pool(self.address, capacity, rng, self.record)
        self.code = code
        self.limits = limits
        self._rules = {**methods, REFUND_DEBIT.name: REFUND_DEBIT}  # by ReqPayDebit.method
        # opened already (a world's: world.open_accounts), or from specs (an actor test's)
        book = accounts if isinstance(accounts, AccountBook) else AccountBook.of(accounts, code)
        self.accounts = book
        self.customers_total = book.opening_total
        self.settlement = 0
        self.outstanding_total = 0  # owed on all credit cards: money this bank lent
        self.settled = 0  # settlement cycles' net positions posted (credits - debits)
        self._cycles_posted: set[int] = set()
        self.frozen: set[str] = set()  # accounts frozen on a fraud report: nothing posts
        # every leg of a payment not yet settled: a leg is never forgotten while the switch may
        # still send about it, and memory follows the rate and the settlement cycle
        self._txns: dict[tuple[TxnId, str], Leg] = {}

    # -- queries (tests, statements) ---------------------------------------------------

    def balance(self, account: str) -> Paise:
        return Paise(self.accounts[account].balance)

    def card_outstanding(self, account: str) -> Paise:
        return Paise(self.accounts[account].outstanding)

    def gauges(self) -> Books:
        return Books(self.customers_total, self.settlement, self.outstanding_total, self.settled)

    # -- handlers -----------------------------------------------------------------------

    # -- the work (SERVED, below), once a worker of the core banking system takes it ----

    def _debit_leg(self, msg: ReqPayDebit, sender: Address, delay: int) -> None:
        leg = self._leg(msg.txn_id, DEBIT, msg.account, msg.amount)
        if leg is None:
            code = codes.VALIDATION_ERROR
        elif leg.done is not None:
            code = leg.done
        else:
            code = leg.done = self._debit(msg, leg)
        self.send(sender, RespPayLeg(msg.txn_id, DEBIT, code), delay)

    def _credit_leg(self, msg: ReqPayCredit, sender: Address, delay: int) -> None:
        leg = self._leg(msg.txn_id, CREDIT, msg.account, msg.amount)
        if leg is None:
            code = codes.VALIDATION_ERROR
        elif leg.done is not None:
            code = leg.done
        else:
            code = leg.done = self._credit(msg, leg)
        self.send(sender, RespPayLeg(msg.txn_id, CREDIT, code), delay)

    def _refuse_leg(self, msg: ReqPayDebit | ReqPayCredit, sender: Address) -> None:
        """No worker will take it (the queue is full, or the core offline): the leg is
        refused for good, XY for a debit, Y1 for a credit, so no copy of it can post later
        (a leg already answered keeps its answer)."""
        side = DEBIT if type(msg) is ReqPayDebit else CREDIT
        leg = self._leg(msg.txn_id, side, msg.account, msg.amount)
        if leg is None:
            code = codes.VALIDATION_ERROR
        else:
            if leg.done is None:
                leg.done = codes.REMITTER_CBS if side == DEBIT else codes.BENEFICIARY_CBS
            code = leg.done
        self.send(sender, RespPayLeg(msg.txn_id, side, code))

    def _reversal(self, msg: ReqPayReversal, sender: Address, delay: int) -> None:
        kind = DEBIT_REVERSAL if msg.leg == DEBIT else CREDIT_REVERSAL
        leg = self._leg(msg.txn_id, msg.leg, msg.account, msg.amount)
        if leg is None:
            code = codes.VALIDATION_ERROR
        elif leg.undone is not None:
            code = leg.undone
        else:
            code = leg.undone = self._reverse(leg, msg.leg)
            if code == codes.APPROVED and leg.done == codes.APPROVED:
                self.event("REVERSAL", msg.txn_id, msg.account, msg.leg, leg.amount)
        undone = leg is not None and code == codes.APPROVED and leg.done == codes.APPROVED
        self.send(sender, RespPayLeg(msg.txn_id, kind, code, undone), delay)

    def _status(self, msg: ReqChkTxn, sender: Address, delay: int) -> None:
        """Status of one leg, and the answer stands: a leg never seen is marked refused, so a
        straggler cannot post after the switch has acted on the answer, and a posted leg can
        no longer be reversed (a late reversal is answered 96), so a confirmed credit stays."""
        leg = self._txns.get((msg.txn_id, msg.leg))
        if leg is None:
            leg = self._txns[(msg.txn_id, msg.leg)] = Leg("", 0)
        if leg.done is None:
            leg.done = codes.VALIDATION_ERROR
        if leg.done == codes.APPROVED and leg.undone is None:
            leg.undone = codes.REVERSAL_FAILED
        posted = leg.done == codes.APPROVED and leg.undone != codes.APPROVED
        self.send(sender, RespChkTxn(msg.txn_id, msg.leg, posted), delay)

    SERVED: ClassVar[Mapping[type, tuple[str, Work, Refuse | None]]] = {
        ReqPayDebit: (DEBIT_OP, _debit_leg, _refuse_leg),
        ReqPayCredit: (CREDIT_OP, _credit_leg, _refuse_leg),
        ReqPayReversal: (REVERSAL_OP, _reversal, None),  # clean-up: never refused
        ReqChkTxn: (STATUS_OP, _status, None),
    }

    # -- the ledger ---------------------------------------------------------------------

    def _debit(self, msg: ReqPayDebit, leg: Leg) -> str:
        book = self.accounts
        s = book.slot(msg.account)
        if s < 0:
            return codes.REMITTER_ACCOUNT_MISSING
        method = self._rules.get(msg.method)
        if msg.amount <= 0 or method is None:
            return codes.VALIDATION_ERROR
        now = self.now
        if book.locked_until[s] > now:
            return codes.PIN_TRIES_EXCEEDED
        if self.frozen and msg.account in self.frozen:
            return codes.REMITTER_FROZEN
        if not book.pin_ok(s, msg.cred):
            book.pin_failures[s] += 1
            if book.pin_failures[s] >= self.limits.pin_tries:
                book.pin_failures[s] = 0
                book.locked_until[s] = now + self.limits.lockout
                self.event("PIN_LOCKED", msg.txn_id, msg.account, "", self.limits.lockout)
                return codes.PIN_TRIES_EXCEEDED
            return codes.INVALID_PIN
        book.pin_failures[s] = 0
        if msg.risk:  # NPCI's score says fraud, and this bank acts on it
            return codes.REMITTER_RISK
        amount = msg.amount
        card = method.source == CARD
        if card and not book.card_limit[s]:
            return codes.NOT_PERMITTED  # no credit card to charge
        if method.per_txn and amount > method.per_txn:
            return codes.AMOUNT_LIMIT
        if method.upi_rules:
            code = self._upi_limits(s, amount)
            if code:
                return code
        if card:
            if book.outstanding[s] + amount > book.card_limit[s]:
                return codes.INSUFFICIENT_FUNDS  # over the credit line
            book.outstanding[s] += amount
            self.outstanding_total += amount
            leg.source = CARD
        else:
            if book.balance[s] < amount:
                return codes.INSUFFICIENT_FUNDS
            book.balance[s] -= amount
            self.customers_total -= amount
        if method.upi_rules:
            if book.new_since[s] != OLD_HAND:
                book.cooling_sent[s] += amount
            book.day_amount[s] += amount
            book.day_count[s] += 1
        self.settlement += amount
        return codes.APPROVED

    def _upi_limits(self, s: int, amount: int) -> str:
        """Z8/Z7 (per payment, per day, count per day) and FL/FP new-user cooling, or ``""``,
        for the account at slot ``s``."""
        book = self.accounts
        day = self.now // DAY
        if book.day[s] != day:
            book.day[s], book.day_amount[s], book.day_count[s] = day, 0, 0
        if amount > self.limits.per_txn:
            return codes.AMOUNT_LIMIT
        if book.day_count[s] >= self.limits.count_per_day:
            return codes.FREQUENCY_LIMIT
        if book.day_amount[s] + amount > self.limits.per_day:
            return codes.AMOUNT_LIMIT
        if book.new_since[s] != OLD_HAND:
            return self._cooling(s, amount)
        return ""

    def _cooling(self, s: int, amount: int) -> str:
        """FL (first payment) or FP (first day's total) for a new user, or ``""``."""
        book, limits = self.accounts, self.limits
        if self.now - book.new_since[s] >= limits.new_window:
            book.new_since[s] = OLD_HAND  # cooled off
            return ""
        sent = book.cooling_sent[s]
        if sent == 0 and amount > limits.new_first:
            return codes.FIRST_TXN_LIMIT
        if sent + amount > limits.new_cap:
            return codes.NEW_USER_FREEZE
        return ""

    def _credit(self, msg: ReqPayCredit, leg: Leg) -> str:
        book = self.accounts
        s = book.slot(msg.account)
        if s < 0:
            return codes.BENEFICIARY_ACCOUNT_MISSING
        if msg.amount <= 0:
            return codes.VALIDATION_ERROR
        if self.frozen and msg.account in self.frozen:
            return codes.BENEFICIARY_FROZEN
        if msg.risk:
            return codes.BENEFICIARY_RISK
        if msg.source == CARD:  # a refund of a card payment pays the card down
            if not book.card_limit[s]:
                return codes.NOT_PERMITTED
            book.outstanding[s] -= msg.amount
            self.outstanding_total -= msg.amount
            leg.source = CARD
        else:
            book.balance[s] += msg.amount
            self.customers_total += msg.amount
        self.settlement -= msg.amount
        return codes.APPROVED

    def _reverse(self, leg: Leg, side: str) -> str:
        posted = leg.done
        if posted is None:
            # Not seen yet: refuse it if it arrives late, so the reversal stays true.
            leg.done = codes.VALIDATION_ERROR
            return codes.APPROVED
        if posted != codes.APPROVED:
            return codes.APPROVED  # nothing was posted, nothing to give back
        book = self.accounts
        s = book.slot(leg.account)
        amount = leg.amount
        sign = 1 if side == DEBIT else -1  # money back to the payer, or back from the payee
        if leg.source == CARD:
            book.outstanding[s] -= sign * amount
            self.outstanding_total -= sign * amount
        else:
            if side == CREDIT and book.balance[s] < amount:
                return codes.REVERSAL_FAILED  # the payee already spent it: the credit stands
            book.balance[s] += sign * amount
            self.customers_total += sign * amount
        self.settlement -= sign * amount
        return codes.APPROVED

    def _leg(self, txn_id: TxnId, side: str, account: str, amount: int) -> Leg | None:
        """This bank's record of one side (DEBIT or CREDIT) of ``txn_id``; a same-bank payment
        has both here. None when the id was seen with another account or amount."""
        key = (txn_id, side)
        leg = self._txns.get(key)
        if leg is None:
            leg = self._txns[key] = Leg(account, amount)
        elif leg.account != account or leg.amount != amount:
            self.event("DUPLICATE_MISMATCH", txn_id, account, "", amount)
            return None
        return leg

    def on_ReqFreeze(self, msg: ReqFreeze, sender: Address) -> None:
        """A victim reported a payment into ``account``: freeze it, holding what it has."""
        if msg.account in self.accounts and msg.account not in self.frozen:
            self.frozen.add(msg.account)
            held = self.accounts[msg.account].balance
            self.event("ACCOUNT_FROZEN", msg.txn_id, msg.account, "", held)

    def on_SettlementFile(self, msg: SettlementFile, sender: Address) -> None:
        """These payments are over and nothing more about them is on its way: forget their
        legs, once the work queued ahead of the file has run (a worker may take a leg long
        after its payment ended)."""
        wait = self.core.behind(self.now) if self.core is not None else 0
        if wait:
            self.set_timer(wait, Behind(msg, sender))
        else:
            self.on_Behind(Behind(msg, sender), sender)

    def on_Behind(self, timer: Behind, sender: Address) -> None:
        txns = self._txns
        for txn_id in timer.message.txn_ids:
            txns.pop((txn_id, DEBIT), None)
            txns.pop((txn_id, CREDIT), None)
        for cycle, net in timer.message.positions:  # NPCI settled: each cycle posted once
            if cycle not in self._cycles_posted:
                self._cycles_posted.add(cycle)
                self.settled += net
        self.send(timer.sender, SettlementAck(timer.message.number))

    @property
    def open_legs(self) -> int:
        """Legs of payments not yet settled."""
        return len(self._txns)
