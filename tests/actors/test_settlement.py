"""Settlement cycles and the net debit cap: the positions alone, the switch and a bank
each started alone and talked to by message."""

from __future__ import annotations

from tests.actors.test_bank import make_bank
from tests.actors.test_switch import PAYEE, PAYER, Drive
from upisim.actors import codes
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.fraud import ALLOW
from upisim.actors.messages import (
    CREDIT,
    DEBIT,
    ReqPay,
    ReqPayDebit,
    RespAuthDetails,
    RespPay,
    RespPayLeg,
    RespRiskScore,
    SettlementAck,
    SettlementFile,
)
from upisim.actors.switch.settlement import NetSettlement
from upisim.actors.types import BankCode, Paise, SimTime, TxnId
from upisim.runfolder import SettlementRow

CYCLE = 60_000


def test_positions_sum_to_zero_and_a_same_bank_payment_nets_to_nothing() -> None:
    net = NetSettlement(["SBI", "HDFC", "ICICI"], CYCLE)
    assert net.over("HDFC", "SBI", 700, debit_asked=True, moved=True)  # it opens the cycle
    assert not net.over("SBI", "ICICI", 200, debit_asked=True, moved=True)
    assert not net.over("ICICI", "ICICI", 900, debit_asked=True, moved=True)
    assert not net.over("SBI", "HDFC", 5_000, debit_asked=True, moved=False)  # failed: nothing
    rows, nets = net.close(CYCLE)
    assert rows == [
        SettlementRow(0, CYCLE, "HDFC", 1, 700, 0, -700),
        SettlementRow(0, CYCLE, "ICICI", 2, 900, 1_100, 200),
        SettlementRow(0, CYCLE, "SBI", 2, 200, 700, 500),
    ]
    assert sum(nets.values()) == 0
    assert (net.cycle, net.closed, net.largest_debit) == (1, 1, 700)
    assert net.close(2 * CYCLE) == ([], {}) and net.largest_debit == 700


def test_the_cap_counts_debits_asked_and_not_over_and_frees_at_the_close() -> None:
    net = NetSettlement(["HDFC", "SBI"], CYCLE, {"HDFC": Paise(1_000)})
    assert net.may_debit("HDFC", "SBI", 600)
    assert not net.may_debit("HDFC", "SBI", 401)  # 600 asked, in flight: 1,001 > 1,000
    assert net.may_debit("HDFC", "HDFC", 50_000)  # within one bank: never capped
    assert net.may_debit("SBI", "HDFC", 50_000)  # SBI has no cap
    net.over("SBI", "HDFC", 50_000, debit_asked=True, moved=False)  # SBI's failed
    net.over("HDFC", "SBI", 600, debit_asked=True, moved=True)  # the 600 moved: position -600
    assert not net.may_debit("HDFC", "SBI", 401) and net.may_debit("HDFC", "SBI", 400)
    net.over("HDFC", "SBI", 400, debit_asked=True, moved=False)  # it failed: 400 frees again
    assert net.may_debit("HDFC", "SBI", 400)
    net.over("HDFC", "SBI", 400, debit_asked=True, moved=True)
    net.close(CYCLE)  # HDFC settled its 1,000: the new cycle starts at 0
    assert net.may_debit("HDFC", "SBI", 1_000) and not net.may_debit("HDFC", "SBI", 1)


def test_a_cycle_closes_on_the_clock() -> None:
    net = NetSettlement(["HDFC"], CYCLE)
    assert net.next_close(0) == CYCLE and net.next_close(59_999) == 1
    assert net.next_close(CYCLE) == CYCLE and net.next_close(90_000) == 30_000


def pay(d: Drive, txn: str, amount: int) -> list[tuple[str, object]]:
    """A payment from HDFC to SBI, up to the switch's debit (or its refusal)."""
    t = TxnId(txn)
    d.tell(ReqPay(t, PAYER, PAYEE, Paise(amount), BankCode("HDFC"), "A1", "c", SimTime(d.t)), "u")
    d.tell(RespAuthDetails(t, PAYEE, "00", BankCode("SBI"), "A2"), "users:1")
    return d.tell(RespRiskScore(t, ALLOW, ()), "fraud")


def succeed(d: Drive, txn: str) -> None:
    d.tell(RespPayLeg(TxnId(txn), DEBIT, "00"), "bank:HDFC")
    d.tell(RespPayLeg(TxnId(txn), CREDIT, "00"), "bank:SBI")


def test_the_switch_declines_u03_past_the_cap_before_any_money_moves() -> None:
    d = Drive(cycle_ms=CYCLE, net_debit_caps={"HDFC": Paise(1_500_00)}, load_end=10 * CYCLE)
    assert pay(d, "T1", 1_000_00) == [
        ("bank:HDFC", ReqPayDebit(TxnId("T1"), "A1", Paise(1_000_00), "c"))
    ]
    refused = pay(d, "T2", 1_000_00)  # T1's debit is in flight: 2,000 would pass 1,500
    assert not any(isinstance(m, ReqPayDebit) for _, m in refused)
    told = [m for _, m in refused if isinstance(m, RespPay)]
    assert [(m.result, m.code) for m in told] == [("FAILURE", codes.NET_DEBIT_CAP)]
    succeed(d, "T1")
    d.wait(CYCLE)  # the cycle closes: HDFC owes ₹1,000, SBI is owed it
    closed = [r for r in d.events if isinstance(r, SettlementRow)]
    assert [(r.bank, r.net_paise) for r in closed] == [("HDFC", -1_000_00), ("SBI", 1_000_00)]
    files = {to: m.positions for to, m in d.settled}
    assert files == {"bank:HDFC": ((0, -1_000_00),), "bank:SBI": ((0, 1_000_00),)}
    sent = pay(d, "T3", 1_000_00)  # a new cycle: the cap is free again
    assert ("bank:HDFC", ReqPayDebit(TxnId("T3"), "A1", Paise(1_000_00), "c")) in sent


def test_a_bank_posts_each_cycle_once_however_often_its_file_comes(actors: None) -> None:
    ref = LogicActor.start(make_bank())
    owed = SettlementFile(1, (), ((0, -300_00),))
    again = SettlementFile(2, (TxnId("T9"),), ((0, -300_00), (1, 200_00)))  # folded with more
    out = ref.ask(
        Deliver([envelope(owed, at=0, sender="switch"), envelope(again, at=5, sender="switch")]),
        timeout=5,
    )
    assert [m for *_, m in out.sends] == [SettlementAck(1), SettlementAck(2)]
    assert out.gauges.settled == -100_00  # cycle 0 once, then cycle 1
    ref.stop()
