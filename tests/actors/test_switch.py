"""The switch alone: each reply is played by the test, so every path is reachable."""

from __future__ import annotations

from typing import Any

import pytest

from upisim.actors import codes
from upisim.actors.base import Deliver, LogicActor, Outbox, envelope
from upisim.actors.errors import InvariantError
from upisim.actors.fraud import ALLOW, BENEFICIARY, DECLINE, FLAG, REMITTER
from upisim.actors.messages import (
    CREDIT,
    CREDIT_REVERSAL,
    DEBIT,
    DEBIT_REVERSAL,
    CollectAsked,
    ReqAuthDetails,
    ReqChkTxn,
    ReqFraudReport,
    ReqFreeze,
    ReqPay,
    ReqPayCollect,
    ReqPayCredit,
    ReqPayDebit,
    ReqPayReversal,
    ReqRiskScore,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespChkTxn,
    RespFraudReport,
    RespPay,
    RespPayLeg,
    RespRiskScore,
    RiskRelease,
    SettlementAck,
    SettlementFile,
)
from upisim.actors.switch import TERMINAL, TRANSITIONS, Payment, Stage, Switch
from upisim.actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa
from upisim.runfolder import TransactionRow

T = TxnId("T1")
PAYER, PAYEE = Vpa("rahul@okhdfcbank"), Vpa("priya@oksbi")


class Drive:
    """Plays everyone around the switch; keeps the time and what the switch said."""

    def __init__(self, **switch: Any) -> None:
        self.switch = Switch(
            {PAYER: Address("users:0"), PAYEE: Address("users:1")}, {"HDFC", "SBI"}, **switch
        )
        self.t = 0
        self.sent: list[tuple[str, Any]] = []
        self.rows: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.settled: list[tuple[str, SettlementFile]] = []

    def take(self, out: Outbox) -> list[tuple[str, Any]]:
        """What the switch sent, but for settlement files (kept in ``settled``)."""
        sent = [(to, msg) for _, _, _, to, msg in out.sends]
        self.settled += [(to, m) for to, m in sent if isinstance(m, SettlementFile)]
        sent = [(to, m) for to, m in sent if not isinstance(m, SettlementFile)]
        self.sent += sent
        for row in out.records:
            (self.rows if isinstance(row, TransactionRow) else self.events).append(row)
        return sent

    def tell(self, message: Any, sender: str, dt: int = 10) -> list[tuple[str, Any]]:
        self.t += dt
        return self.take(self.switch.deliver([envelope(message, at=self.t, sender=sender)]))

    def wait(self, ms: int) -> list[tuple[str, Any]]:
        self.t += ms
        return self.take(self.switch.advance(self.t + 1))

    def pay(
        self, amount: int = 1_000_00, payee: Vpa = PAYEE, txn: TxnId = T
    ) -> list[tuple[str, Any]]:
        return self.tell(
            ReqPay(
                txn, PAYER, payee, Paise(amount), BankCode("HDFC"), "ACC1", "cred", SimTime(self.t)
            ),
            "users:0",
        )

    def up_to_debit(self, decision: str = ALLOW) -> None:
        assert self.pay() == [("users:1", ReqAuthDetails(T, PAYEE))]
        sent = self.tell(RespAuthDetails(T, PAYEE, "00", BankCode("SBI"), "ACC2"), "users:1")
        assert sent == [("fraud", ReqRiskScore(T, PAYER, PAYEE, Paise(1_000_00)))]
        sent = self.tell(
            RespRiskScore(T, decision, ("HIGH_VALUE",) if decision == FLAG else ()), "fraud"
        )
        assert sent == [("bank:HDFC", ReqPayDebit(T, "ACC1", Paise(1_000_00), "cred"))]

    def row(self) -> dict[str, Any]:
        assert len(self.rows) == 1, self.rows
        return TransactionRow(*self.rows[0])._asdict()

    def told_payer(self) -> RespPay:
        msgs = [
            m
            for to, m in self.sent
            if to == "users:0" and isinstance(m, RespPay) and m.result != "PENDING"
        ]
        assert len(msgs) == 1
        return msgs[0]


def test_happy_path_resolve_score_debit_credit_confirm() -> None:
    d = Drive()
    d.up_to_debit(FLAG)
    sent = d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    assert sent == [("bank:SBI", ReqPayCredit(T, "ACC2", Paise(1_000_00)))]
    sent = d.tell(RespPayLeg(T, CREDIT, "00"), "bank:SBI")
    assert ("users:0", RespPay(T, PAYER, Paise(1_000_00), "SUCCESS", "00", "00", PAYEE)) in sent
    assert ("users:1", ReqTxnConfirmation(T, PAYER, PAYEE, Paise(1_000_00))) in sent
    row = d.row()
    assert row["state"] == "SUCCESS" and row["fraud_flags"] == "HIGH_VALUE"
    assert row["t_initiated_ms"] == 0 and row["t_received_ms"] == 10
    assert row["t_resolved_ms"] == 20 and row["t_risk_ms"] == 30
    assert row["t_debited_ms"] == 40 and row["t_credited_ms"] == 50
    assert row["latency_ms"] == 50
    assert d.switch.payments == {}


def test_remitter_decline_is_u30_wrapping_the_bank_code() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "Z9"), "bank:HDFC")
    assert d.told_payer() == RespPay(T, PAYER, Paise(1_000_00), "FAILURE", "U30", "Z9", PAYEE)
    assert ("fraud", RiskRelease(T, PAYER, Paise(1_000_00), SimTime(30), "Z9")) in d.sent
    assert d.row()["reason_code"] == "Z9" and d.row()["decline_type"] == "BD"


def test_risk_decline_is_u16_and_never_reaches_a_bank() -> None:
    d = Drive()
    d.pay()
    d.tell(RespAuthDetails(T, PAYEE, "00", BankCode("SBI"), "ACC2"), "users:1")
    d.tell(RespRiskScore(T, DECLINE, ("VELOCITY",)), "fraud")
    assert d.told_payer().code == codes.RISK_DECLINED
    assert not any(to.startswith("bank:") for to, _ in d.sent)
    assert not any(isinstance(m, RiskRelease) for _, m in d.sent)


def test_unknown_payee_is_u29_with_zh() -> None:
    d = Drive()
    d.pay(payee=Vpa("nobody@oksbi"))
    assert d.told_payer().code == codes.ADDRESS_RESOLUTION_FAILED
    assert d.row()["reason_code"] == codes.INVALID_VPA


def test_payee_psp_says_no_such_vpa() -> None:
    d = Drive()
    d.pay()
    d.tell(RespAuthDetails(T, PAYEE, codes.INVALID_VPA), "users:1")
    assert d.told_payer().reason == codes.INVALID_VPA


def test_paying_yourself_is_refused() -> None:
    d = Drive()
    d.pay(payee=PAYER)
    assert d.told_payer().result == "FAILURE"


def test_credit_failure_reverses_the_debit() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    sent = d.tell(RespPayLeg(T, CREDIT, "XI"), "bank:SBI")
    assert sent == [("bank:HDFC", ReqPayReversal(T, DEBIT, "ACC1", Paise(1_000_00)))]
    d.tell(RespPayLeg(T, DEBIT_REVERSAL, "00"), "bank:HDFC")
    assert d.told_payer() == RespPay(T, PAYER, Paise(1_000_00), "FAILURE", "U31", "XI", PAYEE)


def test_debit_timeout_is_not_a_failure_until_the_remitter_reverses() -> None:
    d = Drive()
    d.up_to_debit()
    sent = d.wait(15_000)
    assert sent == [("bank:HDFC", ReqPayReversal(T, DEBIT, "ACC1", Paise(1_000_00)))]
    assert not d.rows  # not decided yet
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")  # the late debit reply changes nothing
    assert not d.rows
    d.tell(RespPayLeg(T, DEBIT_REVERSAL, "00"), "bank:HDFC")
    assert d.told_payer().code == codes.DEBIT_TIMEOUT
    assert d.switch.late_messages == 1
    assert any(e[1] == "TIMEOUT" and e[5] == Stage.DEBITING for e in d.events)


def test_credit_timeout_reverses_the_credit_then_the_debit() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    assert d.wait(15_000) == [("bank:SBI", ReqPayReversal(T, CREDIT, "ACC2", Paise(1_000_00)))]
    sent = d.tell(RespPayLeg(T, CREDIT_REVERSAL, "00"), "bank:SBI")
    assert sent == [("bank:HDFC", ReqPayReversal(T, DEBIT, "ACC1", Paise(1_000_00)))]
    d.tell(RespPayLeg(T, DEBIT_REVERSAL, "00"), "bank:HDFC")
    assert d.told_payer().code == codes.CREDIT_TIMEOUT
    assert d.row()["state"] == "FAILED"


def test_credit_reversal_refused_means_deemed_approved() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.wait(15_000)
    d.tell(RespPayLeg(T, CREDIT_REVERSAL, codes.REVERSAL_FAILED), "bank:SBI")
    assert d.told_payer().result == "DEEMED"
    assert d.row()["state"] == "DEEMED" and d.row()["reason_code"] == "96"


def test_a_silent_remitter_is_asked_until_it_answers_and_nobody_is_told_a_guess() -> None:
    d = Drive()
    d.up_to_debit()
    d.wait(15_000)  # debit timeout -> reversal 1
    d.wait(10_000)  # reversal 2
    d.wait(10_000)  # reversal 3
    for _ in range(3):  # then at the status-check interval: asking again is checking
        d.wait(30_000)
    reversals = [m for _, m in d.sent if isinstance(m, ReqPayReversal)]
    assert len(reversals) == 6 and not d.rows
    assert not [m for to, m in d.sent if to == "users:0"]  # nobody has been told anything
    reversal = ("bank:HDFC", ReqPayReversal(T, DEBIT, "ACC1", Paise(1_000_00)))
    pending = RespPay(T, PAYER, Paise(1_000_00), "PENDING", "U67", "U67", PAYEE)
    assert d.wait(30_000) == [("users:0", pending), reversal]  # the quick tries are spent
    for wait in (60_000, 120_000, 240_000, 300_000, 300_000):  # a long outage: ask on
        assert d.wait(wait) == [reversal]
    assert [e[1] for e in d.events].count("PENDING") == 1
    assert not d.rows  # still nobody has said what happened to the money
    d.tell(RespPayLeg(T, DEBIT_REVERSAL, "00", True), "bank:HDFC")  # the bank is back
    assert d.row()["state"] == "FAILED" and d.row()["reason_code"] == codes.DEBIT_TIMEOUT
    assert d.told_payer().result == "FAILURE"


def deemed_drive() -> Drive:
    """A payment whose credit timed out and whose credit reversals all went unanswered."""
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.wait(15_000)  # credit timeout: credit reversal 1
    d.wait(10_000)
    d.wait(10_000)
    sent = d.wait(10_000)  # RB: deemed approved, ask the beneficiary
    assert sent == [("bank:SBI", ReqChkTxn(T, CREDIT))]
    assert any(e[1] == "DEEMED" for e in d.events) and not d.rows
    return d


def test_deemed_then_tcc_when_the_beneficiary_confirms_the_credit() -> None:
    d = deemed_drive()
    d.tell(RespChkTxn(T, CREDIT, True), "bank:SBI")
    assert d.told_payer() == RespPay(T, PAYER, Paise(1_000_00), "DEEMED", "00", "TCC", PAYEE)
    assert d.row()["state"] == "DEEMED"


def test_deemed_then_ret_when_it_never_credited_and_the_debit_comes_back() -> None:
    d = deemed_drive()
    sent = d.tell(RespChkTxn(T, CREDIT, False), "bank:SBI")
    assert sent == [("bank:HDFC", ReqPayReversal(T, DEBIT, "ACC1", Paise(1_000_00)))]
    d.tell(RespPayLeg(T, DEBIT_REVERSAL, "00"), "bank:HDFC")
    assert d.told_payer() == RespPay(T, PAYER, Paise(1_000_00), "FAILURE", "U68", "RET", PAYEE)


def test_three_quick_status_checks_then_pending_until_the_beneficiary_says() -> None:
    d = deemed_drive()
    d.wait(30_000)
    d.wait(30_000)
    checks = [m for _, m in d.sent if isinstance(m, ReqChkTxn)]
    assert len(checks) == 3 and not d.rows
    sent = d.wait(30_000)  # the quick checks are spent: pending, and ask again later
    assert [(to, getattr(m, "result", None)) for to, m in sent] == [
        ("users:0", "PENDING"),
        ("bank:SBI", None),
    ]
    assert d.wait(60_000) == [("bank:SBI", ReqChkTxn(T, CREDIT))] and not d.rows
    d.tell(RespChkTxn(T, CREDIT, True), "bank:SBI")  # TCC, however late
    assert d.told_payer().result == "DEEMED" and d.row()["reason_code"] == "TCC"


def test_silent_fraud_monitor_fails_open_and_says_so() -> None:
    d = Drive()
    d.pay()
    d.tell(RespAuthDetails(T, PAYEE, "00", BankCode("SBI"), "ACC2"), "users:1")
    sent = d.wait(10_000)
    assert sent == [("bank:HDFC", ReqPayDebit(T, "ACC1", Paise(1_000_00), "cred"))]


def test_unanswered_address_resolution_is_u09() -> None:
    d = Drive()
    d.pay()
    d.wait(10_000)
    assert d.told_payer().code == codes.AUTH_TIMEOUT


def test_the_mapper_pays_a_payee_it_resolved_lately_without_asking_their_psp() -> None:
    d = Drive(mapper_ms=60_000)
    t2, t3, t4 = TxnId("T2"), TxnId("T3"), TxnId("T4")
    d.pay()
    d.tell(RespAuthDetails(T, PAYEE, codes.INVALID_VPA), "users:1")  # a failure is not kept
    assert d.pay(txn=t2) == [("users:1", ReqAuthDetails(t2, PAYEE))]
    resolved = d.t + 10
    d.tell(RespAuthDetails(t2, PAYEE, "00", BankCode("SBI"), "ACC2", "", True), "users:1")
    # known: straight to the risk score, resolved the moment it came in
    assert d.pay(txn=t3) == [("fraud", ReqRiskScore(t3, PAYER, PAYEE, Paise(1_000_00)))]
    p = d.switch.payments[t3]
    assert (p.payee_bank, p.payee_account, p.merchant, p.t_resolved) == ("SBI", "ACC2", True, d.t)
    assert d.switch.mapper_hits == 1
    d.wait(60_000 - (d.t - resolved) - 10)  # the mapper forgets 60 s after it resolved
    assert d.pay(txn=t4) == [("users:1", ReqAuthDetails(t4, PAYEE))]
    assert d.switch.mapper_hits == 1


def test_without_a_mapper_every_payment_asks_the_payees_psp() -> None:
    d = Drive()
    d.up_to_debit()
    t2 = TxnId("T2")
    assert d.pay(txn=t2) == [("users:1", ReqAuthDetails(t2, PAYEE))]
    assert d.switch.mapper is None and d.switch.mapper_hits == 0


def refused_as_duplicate(sent: list[tuple[str, Any]], to: str = "users:0") -> bool:
    return [(to_, m.result, m.code) for to_, m in sent] == [
        (to, "DUPLICATE", codes.VALIDATION_ERROR)
    ]


def test_duplicate_reqpay_does_not_start_a_second_payment() -> None:
    d = Drive()
    d.pay()
    assert refused_as_duplicate(d.pay())  # while the first is in flight
    assert len(d.switch.payments) == 1


def test_a_finished_transaction_id_never_runs_again() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.tell(RespPayLeg(T, CREDIT, "00"), "bank:SBI")
    assert d.row()["state"] == "SUCCESS"
    for later in (10, 60_000, 3_600_000):  # long after any bank has forgotten its legs
        d.wait(later)
        assert refused_as_duplicate(d.pay())
        assert not d.switch.payments and len(d.rows) == 1
    assert [e[1] for e in d.events].count("DUPLICATE_REQPAY") == 3


def test_transition_table_is_closed_and_terminal_states_are_final() -> None:
    for kind, table in TRANSITIONS.items():
        for stage, moves in table.items():
            assert moves <= set(table), (kind, stage)
    assert {Stage.SUCCESS, Stage.FAILED, Stage.DEEMED, Stage.EXPIRED} == TERMINAL
    p = Payment("PAY", TxnId("X"), PAYER, PAYEE, Paise(1), 0, Address("users:0"), 0)
    p.move(Stage.RISK)
    p.move(Stage.FAILED)
    with pytest.raises(InvariantError):
        p.move(Stage.DEBITING)  # a terminal state is final
    assert p.stage == Stage.FAILED


def test_started_switch_answers_by_message(actors: None) -> None:
    ref = LogicActor.start(Switch({PAYEE: Address("users:1")}, {"HDFC", "SBI"}))
    pay = ReqPay(T, PAYER, PAYEE, Paise(100), BankCode("HDFC"), "A", "c", SimTime(0))
    out = ref.ask(Deliver([envelope(pay, sender="users:0")], until=5), timeout=5)
    assert [(to, m) for *_, to, m in out.sends] == [("users:1", ReqAuthDetails(T, PAYEE))]
    assert out.gauges == (1,)
    assert out.wake_at == 10_000  # the address-resolution timeout


def test_a_stage_times_out_exactly_at_its_own_deadline() -> None:
    d = Drive()
    d.up_to_debit()  # the debit went out at t=30: it is due by 15,030
    assert d.switch.pending_timers == 1  # one timer per payment, not one per stage
    assert d.wait(15_029 - d.t) == []  # the first timer (t=10,010) re-armed itself
    assert d.wait(1) == [("bank:HDFC", ReqPayReversal(T, DEBIT, "ACC1", Paise(1_000_00)))]


def test_a_finished_payment_leaves_one_stale_timer_that_changes_nothing() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.tell(RespPayLeg(T, CREDIT, "00"), "bank:SBI")
    # nothing else is open: its stale response timer is dropped, the day's settlement cycle
    # closes at once (HDFC owes the ₹1,000, SBI is owed it), the banks hear it is over
    assert d.switch.pending_timers == 3  # the clock's cycle close, the day's, the files
    owed, due = ((0, -1_000_00),), ((0, 1_000_00),)
    assert d.wait(1) == [] and len(d.rows) == 1
    assert d.settled[:2] == [
        ("bank:HDFC", SettlementFile(1, (), owed)),
        ("bank:SBI", SettlementFile(2, (), due)),
    ]
    assert d.settled[2:] == [  # the positions, unacknowledged, go again with the legs
        ("bank:HDFC", SettlementFile(3, (T,), owed)),
        ("bank:SBI", SettlementFile(4, (T,), due)),
    ]
    d.tell(SettlementAck(3), "bank:HDFC", dt=1)
    d.tell(SettlementAck(4), "bank:SBI", dt=1)
    assert d.switch.pending_timers == 0  # acknowledged: nothing keeps the run going


def test_banks_hear_each_settlement_cycle_which_of_their_payments_are_over() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.switch.payments[TxnId("OPEN")] = d.switch.payments[T]  # another payment stays open
    d.tell(RespPayLeg(T, CREDIT, "00"), "bank:SBI")
    d.wait(9_000)
    assert d.settled == []  # the cycle is 10 s
    d.wait(1_000)
    assert d.settled == [
        ("bank:HDFC", SettlementFile(1, (T,))),
        ("bank:SBI", SettlementFile(2, (T,))),
    ]


def test_a_settlement_file_is_sent_again_each_cycle_until_its_bank_acknowledges_it() -> None:
    d = Drive()
    d.up_to_debit()
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.tell(RespPayLeg(T, CREDIT, "00"), "bank:SBI")
    d.wait(1)
    assert [m.number for _, m in d.settled] == [1, 2, 3, 4]  # positions, then with the legs
    d.tell(SettlementAck(4), "bank:SBI", dt=1)  # SBI has its file; HDFC's was lost
    assert d.switch.pending_timers == 1  # the cycle goes on for HDFC alone
    d.settled.clear()
    d.wait(10_000)
    again = SettlementFile(5, (T,), ((0, -1_000_00),))
    assert d.settled == [("bank:HDFC", again)] and d.switch.files_resent == 3
    d.tell(SettlementAck(3), "bank:HDFC", dt=1)  # a late ack of the folded file: no matter
    assert d.switch.pending_timers == 1
    d.tell(SettlementAck(5), "bank:HDFC", dt=1)
    assert d.switch.pending_timers == 0  # everything settled: the cycle stops
    d.settled.clear()
    d.wait(60_000)
    assert d.settled == []


MERCHANT = Vpa("chaipoint@okicici")


def collect_drive() -> Drive:
    d = Drive()
    d.switch = Switch({PAYER: Address("users:0"), MERCHANT: Address("users:2")}, {"HDFC", "ICICI"})
    sent = d.tell(
        ReqPayCollect(
            T, MERCHANT, PAYER, Paise(40_00), BankCode("ICICI"), "M1", SimTime(0), 20_000
        ),
        "users:2",
    )
    assert sent == [("users:0", ReqAuthDetails(T, PAYER, MERCHANT, Paise(40_00)))]
    return d


def approve(d: Drive, sender: str = "users:0", vpa: Vpa = PAYER) -> list[tuple[str, Any]]:
    answer = RespAuthDetails(T, vpa, "00", BankCode("HDFC"), "ACC1", "cred")
    return d.tell(answer, sender)


def test_collect_approved_with_the_pin_debits_the_payer_and_credits_the_merchant() -> None:
    d = collect_drive()
    assert approve(d) == [("fraud", ReqRiskScore(T, PAYER, MERCHANT, Paise(40_00)))]
    assert d.tell(RespRiskScore(T, ALLOW), "fraud") == [
        ("bank:HDFC", ReqPayDebit(T, "ACC1", Paise(40_00), "cred", "UPI_COLLECT"))
    ]
    assert d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC") == [
        ("bank:ICICI", ReqPayCredit(T, "M1", Paise(40_00)))
    ]
    sent = d.tell(RespPayLeg(T, CREDIT, "00"), "bank:ICICI")
    # the payer hears it was debited, the merchant that the money arrived
    assert sent == [
        ("users:0", RespPay(T, PAYER, Paise(40_00), "SUCCESS", "00", "00", MERCHANT)),
        ("users:2", ReqTxnConfirmation(T, PAYER, MERCHANT, Paise(40_00), "UPI_COLLECT", "COLLECT")),
    ]
    row = d.row()
    assert (row["kind"], row["method"], row["state"]) == ("COLLECT", "UPI_COLLECT", "SUCCESS")


def test_collect_declined_is_za_and_moves_nothing() -> None:
    d = collect_drive()
    sent = d.tell(RespAuthDetails(T, PAYER, "ZA"), "users:0")
    assert not any(to.startswith("bank:") for to, _ in sent)
    assert d.row()["reason_code"] == "ZA" and d.row()["state"] == "FAILED"


def test_an_ignored_collect_expires_with_u69_and_both_sides_hear_it() -> None:
    d = collect_drive()
    assert d.wait(19_999) == []
    sent = d.wait(1)
    told = RespPay(T, PAYER, Paise(40_00), "EXPIRED", "U69", "U69", MERCHANT)
    # both hear it: the payer, and the merchant who asked (its own copy)
    assert sent == [("users:0", told), ("users:2", told._replace(for_payee=True))]
    assert d.row()["state"] == "EXPIRED"
    assert any(e[1] == "COLLECT_EXPIRED" for e in d.events)


def test_an_approval_racing_the_expiry_never_debits() -> None:
    d = collect_drive()
    d.wait(20_000)  # expired
    assert approve(d) == []  # the late approval goes nowhere
    assert not any(isinstance(m, ReqPayDebit) for _, m in d.sent)
    assert d.switch.late_messages == 1


def test_nobody_else_can_approve_someone_elses_collect() -> None:
    d = collect_drive()
    assert approve(d, sender="users:9", vpa=Vpa("mallory@okaxis")) == []
    assert approve(d, sender="users:9") == []  # the right VPA from the wrong app: no
    assert any(e[1] == "FOREIGN_APPROVAL" for e in d.events)
    assert approve(d) != []  # the payer still can


def refund(txn: str, original: str = "T1", amount: int = 40_00, **change: Any) -> ReqPay:
    return ReqPay(
        TxnId(txn),
        MERCHANT,
        PAYER,
        Paise(amount),
        BankCode("ICICI"),
        "M1",
        "mcred",
        SimTime(0),
        TxnId(original),
    )._replace(**change)


def merchant_paid(d: Drive | None = None, txn: str = "T1", **switch: Any) -> Drive:
    """The payer pays the merchant Rs 40 (``txn``) and it goes through: a payment to refund."""
    if d is None:
        d = Drive()
        directory = {PAYER: Address("users:0"), MERCHANT: Address("users:2")}
        d.switch = Switch(directory, {"HDFC", "ICICI"}, **switch)
    t = TxnId(txn)
    pay = ReqPay(t, PAYER, MERCHANT, Paise(40_00), BankCode("HDFC"), "ACC1", "c", SimTime(0))
    d.tell(pay, "users:0")
    d.tell(RespAuthDetails(t, MERCHANT, "00", BankCode("ICICI"), "M1", "", True), "users:2")
    d.tell(RespRiskScore(t, ALLOW), "fraud")
    d.tell(RespPayLeg(t, DEBIT, "00"), "bank:HDFC")
    d.tell(RespPayLeg(t, CREDIT, "00"), "bank:ICICI")
    assert d.row()["state"] == "SUCCESS"
    d.rows.clear()
    return d


def test_a_refund_is_a_new_payment_linked_to_the_original() -> None:
    d = merchant_paid()
    assert d.tell(refund("R1"), "users:2") == [("users:0", ReqAuthDetails(TxnId("R1"), PAYER))]
    d.tell(RespAuthDetails(TxnId("R1"), PAYER, "00", BankCode("HDFC"), "ACC1"), "users:0")
    d.tell(RespRiskScore(TxnId("R1"), ALLOW), "fraud")
    d.tell(RespPayLeg(TxnId("R1"), DEBIT, "00"), "bank:ICICI")
    d.tell(RespPayLeg(TxnId("R1"), CREDIT, "00"), "bank:HDFC")
    row = d.row()
    assert (row["kind"], row["refund_of"], row["state"]) == ("REFUND", "T1", "SUCCESS")


def test_a_payment_is_refunded_once_but_a_failed_refund_may_be_tried_again() -> None:
    d = merchant_paid()
    d.tell(refund("R1"), "users:2")
    d.tell(refund("R2"), "users:2")  # the same payment again, while the first is in flight
    assert d.row()["reason_code"] == codes.VALIDATION_ERROR and d.row()["txn_id"] == "R2"
    assert any(e[1] == "DUPLICATE_REFUND" for e in d.events)
    d.tell(RespAuthDetails(TxnId("R1"), PAYER, "ZH"), "users:0")  # the first one fails
    d.rows.clear()
    assert d.tell(refund("R3"), "users:2") == [("users:0", ReqAuthDetails(TxnId("R3"), PAYER))]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (refund("R1", original="T9"), "U48"),  # no such payment
        (refund("R1", amount=40_01), "ZD"),  # more than was paid
        (refund("R1", payee=Vpa("someone@oksbi")), "ZD"),  # to someone else
        (refund("R1", method="CREDIT_CARD"), "ZD"),  # back to a card never charged
    ],
)
def test_a_refund_must_match_the_payment_it_names(bad: ReqPay, code: str) -> None:
    d = merchant_paid()
    d.tell(bad, "users:2")
    assert (d.row()["reason_code"], d.row()["refund_of"]) == (code, bad.refund_of)
    d.rows.clear()
    sent = d.tell(refund("R2", amount=10_00), "users:2")  # a true (partial) refund still may
    assert sent == [("users:0", ReqAuthDetails(TxnId("R2"), PAYER))]


def test_payments_are_refundable_for_the_window_only() -> None:
    d = merchant_paid(refund_window=60_000)
    d.wait(60_001)  # nothing newer came in: the window holds all the same
    d.tell(refund("R1"), "users:2")
    assert d.row()["reason_code"] == codes.TXN_NOT_FOUND
    d.rows.clear()
    merchant_paid(d, "T2")
    assert d.tell(refund("R2", original="T2"), "users:2")[0][0] == "users:0"
    nobody = merchant_paid(refund_window=0)  # a run where nobody refunds holds nothing
    nobody.tell(refund("R1"), "users:2")
    assert nobody.row()["reason_code"] == codes.TXN_NOT_FOUND


def test_a_payment_sent_twice_is_held_once_and_forgotten_once() -> None:
    d = merchant_paid(refund_window=60_000)
    assert refused_as_duplicate(d.pay(payee=MERCHANT))  # the same ReqPay again, after it went
    d.wait(60_001)
    merchant_paid(d, "T3")  # pushes T1 out of the refund book
    assert d.tell(refund("R3", original="T3"), "users:2")[0][0] == "users:0"


def test_a_refund_sent_again_after_it_went_is_dropped() -> None:
    d = merchant_paid()
    d.tell(refund("R1"), "users:2")
    d.tell(RespAuthDetails(TxnId("R1"), PAYER, "00", BankCode("HDFC"), "ACC1"), "users:0")
    d.tell(RespRiskScore(TxnId("R1"), ALLOW), "fraud")
    d.tell(RespPayLeg(TxnId("R1"), DEBIT, "00"), "bank:ICICI")
    d.tell(RespPayLeg(TxnId("R1"), CREDIT, "00"), "bank:HDFC")
    assert d.row()["state"] == "SUCCESS"
    again = d.tell(refund("R1"), "users:2")  # the same ReqPay again: nothing starts
    assert refused_as_duplicate(again, "users:2")
    assert len(d.rows) == 1 and d.events[-1][1] == "DUPLICATE_REQPAY"


def test_an_expired_collect_cannot_be_refunded() -> None:
    d = collect_drive()
    d.wait(20_000)  # expired (U69): no money moved
    assert d.row()["state"] == "EXPIRED"
    d.rows.clear()
    d.tell(refund("R1", method="UPI_COLLECT"), "users:2")
    assert d.row()["reason_code"] == codes.TXN_NOT_FOUND


def test_npcis_score_rides_with_the_remitter_leg_and_the_bank_declines_k1() -> None:
    d = Drive()
    d.pay()
    d.tell(RespAuthDetails(T, PAYEE, "00", BankCode("SBI"), "ACC2"), "users:1")
    sent = d.tell(RespRiskScore(T, REMITTER, ("NEW_PAYEE",)), "fraud")
    assert sent == [("bank:HDFC", ReqPayDebit(T, "ACC1", Paise(1_000_00), "cred", risk=True))]
    d.tell(RespPayLeg(T, DEBIT, codes.REMITTER_RISK), "bank:HDFC")
    assert d.told_payer() == RespPay(T, PAYER, Paise(1_000_00), "FAILURE", "U30", "K1", PAYEE)
    assert (d.row()["fraud_flags"], d.row()["decline_type"]) == ("NEW_PAYEE", "BD")


def test_a_beneficiary_risk_decline_zi_is_followed_by_the_debits_reversal() -> None:
    d = Drive()
    d.pay()
    d.tell(RespAuthDetails(T, PAYEE, "00", BankCode("SBI"), "ACC2"), "users:1")
    sent = d.tell(RespRiskScore(T, BENEFICIARY, ("FAN_IN",)), "fraud")
    assert sent == [("bank:HDFC", ReqPayDebit(T, "ACC1", Paise(1_000_00), "cred"))]
    sent = d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    assert sent == [("bank:SBI", ReqPayCredit(T, "ACC2", Paise(1_000_00), risk=True))]
    sent = d.tell(RespPayLeg(T, CREDIT, codes.BENEFICIARY_RISK), "bank:SBI")
    assert sent == [("bank:HDFC", ReqPayReversal(T, DEBIT, "ACC1", Paise(1_000_00)))]
    d.tell(RespPayLeg(T, DEBIT_REVERSAL, "00", True), "bank:HDFC")
    assert d.told_payer() == RespPay(T, PAYER, Paise(1_000_00), "FAILURE", "U31", "ZI", PAYEE)


def test_a_fraud_report_goes_to_the_payees_app_and_freezes_at_its_bank() -> None:
    d = Drive()
    report = ReqFraudReport(T, PAYER, PAYEE)
    assert d.tell(report, "users:0") == [("users:1", report)]
    answer = RespFraudReport(T, PAYEE, BankCode("SBI"), "ACC2")
    assert d.tell(answer, "users:1") == [("bank:SBI", ReqFreeze(T, "ACC2"))]
    assert d.tell(report._replace(payee=Vpa("nobody@x")), "users:0") == []  # nobody hosts it
    assert [e[1] for e in d.events] == ["FRAUD_REPORT", "FRAUD_REPORT"]


def test_the_switch_tells_the_monitor_of_collects_only_when_a_rule_watches_them() -> None:
    for watch in (False, True):
        d = Drive()
        d.switch = Switch(
            {PAYER: Address("users:0"), MERCHANT: Address("users:2")},
            {"HDFC", "ICICI"},
            watch_collects=watch,
        )
        ask = ReqPayCollect(T, MERCHANT, PAYER, Paise(40_00), BankCode("ICICI"), "M1", SimTime(0),
                            20_000)  # fmt: skip
        told = [m for to, m in d.tell(ask, "users:2") if to == "fraud"]
        assert told == ([CollectAsked(T, MERCHANT, PAYER)] if watch else [])
