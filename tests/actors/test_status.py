"""Lost and replayed messages between the apps and the switch: status checks and replays.

An app that hears nothing final of a request checks its status (``ReqChkTxn``,
NPCI: first after 45–90 s, at most three); the switch answers with the
outcome, PENDING, or ``U48`` for a request it never got (whose id is then
spent). A replayed message never tells a user anything twice, never scores a
payment twice and never gives a release back twice.
"""

from __future__ import annotations

from typing import Any

from tests.actors.test_switch import PAYEE, PAYER, Drive
from upisim.actors import codes
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.fraud import FraudMonitor, FraudRules
from upisim.actors.messages import (
    DEBIT,
    ReqAuthDetails,
    ReqChkTxn,
    ReqPay,
    ReqPayCollect,
    ReqRiskScore,
    ReqTxnConfirmation,
    RespPay,
    RespPayLeg,
    RespRiskScore,
    RiskRelease,
    StartPayment,
    StatusDue,
)
from upisim.actors.status import OpenRequests, StatusChecks
from upisim.actors.types import SECOND, BankCode, Paise, SimTime, TxnId, Vpa
from upisim.actors.user import User, UserCohort
from upisim.runfolder import EventRow

RAHUL = User("Rahul", Vpa("rahul@okhdfcbank"), BankCode("HDFC"), "H1", "1234")
SHOP = User("Chai", Vpa("chai@oksbi"), BankCode("SBI"), "S1", "2345", merchant=True)
CHECKS = StatusChecks(first=90 * SECOND, tries=3, answer=10 * SECOND)


def request(txn: str = "UPS00000T00000000001", at: int = 0) -> ReqPay:
    return ReqPay(TxnId(txn), RAHUL.vpa, SHOP.vpa, Paise(20_00), RAHUL.bank, "H1", "c", SimTime(at))


def test_open_requests_are_checked_three_times_then_given_up_on() -> None:
    book = OpenRequests(CHECKS)
    book.opened(request(), now=0)
    assert book.next_due() == 90_000 and book.due(89_999) == ([], [])
    times = []
    for _ in range(3):
        at = book.next_due()
        assert at is not None
        check, gave_up = book.due(at)
        assert [r.txn_id for r in check] == ["UPS00000T00000000001"] and not gave_up
        times.append(at)
    assert times == [90_000, 270_000, 630_000]  # first * (2**k - 1): all well within 2 h
    at = book.next_due()
    assert at == 640_000  # the last check's answer had its time
    check, gave_up = book.due(at)
    assert not check and [r.txn_id for r in gave_up] == ["UPS00000T00000000001"]
    assert not book and book.next_due() is None


def test_a_heard_request_is_never_checked_and_a_collect_waits_for_its_expiry() -> None:
    book = OpenRequests(CHECKS)
    book.opened(request("A1"), now=0)
    book.opened(request("A2"), now=5)
    collect = ReqPayCollect(
        TxnId("C1"), SHOP.vpa, RAHUL.vpa, Paise(1), SHOP.bank, "S1", SimTime(0), 300_000
    )
    assert book.opened(collect, now=0, wait=300_000) == 390_000
    assert book.heard(TxnId("A1")) and not book.heard(TxnId("A1"))
    assert book.next_due() == 90_005
    check, _ = book.due(100_000)
    assert [r.txn_id for r in check] == ["A2"]
    book.heard(TxnId("A2"))
    assert book.next_due() == 390_000


def test_pushes_heard_leave_at_once_even_behind_one_never_heard() -> None:
    book = OpenRequests(CHECKS)
    for i in range(1_000):  # a payment a ms, each heard 3 ms after it went (one never is)
        book.opened(request(f"P{i}", at=i), now=i)
        if i >= 3 and i - 3 != 500:
            book.heard(TxnId(f"P{i - 3}"))
    # what is held is what is unheard: not every id sent after the one never heard (a
    # check's 90 s of them, with replies lost all the time)
    assert len(book) == 4 and list(book._first) == ["P500", "P997", "P998", "P999"]
    book.heard(TxnId("P997"))
    check, _ = book.due(90_500)
    assert [r.txn_id for r in check] == ["P500"]
    for i in (998, 999):
        book.heard(TxnId(f"P{i}"))
    assert len(book._first) == 0 and book.next_due() == 90_500 + 180_000


def app() -> UserCohort:
    return UserCohort(0, [RAHUL, SHOP], (RAHUL.vpa, SHOP.vpa), checks=CHECKS)


def deliver(c: UserCohort, message: Any, at: int, sender: str = "switch") -> list[Any]:
    out = c.deliver([envelope(message, at=at, sender=sender)], until=at + 1)
    return [m for *_, m in out.sends]


def test_an_app_that_hears_nothing_checks_and_is_told_once() -> None:
    c = app()
    (pay,) = deliver(c, StartPayment(RAHUL.vpa, SHOP.vpa, Paise(20_00)), at=0, sender="load")
    assert isinstance(pay, ReqPay) and c.pending_timers == 1  # the check, should nothing come
    assert deliver(c, StatusDue(), at=89_999) == []  # a timer too early changes nothing
    out = c.advance(90_001)
    (check,) = [m for *_, m in out.sends]
    assert check == ReqChkTxn(pay.txn_id, "", pay)
    answer = RespPay(pay.txn_id, RAHUL.vpa, pay.amount, "FAILURE", "U48", "U48", SHOP.vpa)
    deliver(c, answer, at=90_100)
    deliver(c, answer, at=90_200)  # a replay of the answer
    assert c.notifications["DECLINED"] == 1 and c.replays == 1
    assert not c.open and c.pending_timers == 0  # nothing keeps the run going


def test_an_outcome_in_time_means_no_check_and_no_timer_left() -> None:
    c = app()
    (pay,) = deliver(c, StartPayment(RAHUL.vpa, SHOP.vpa, Paise(20_00)), at=0, sender="load")
    deliver(c, RespPay(pay.txn_id, RAHUL.vpa, pay.amount, "SUCCESS", "00", "00"), at=200)
    assert c.pending_timers == 0 and not c.advance(10**9).sends


def test_a_replayed_credit_or_collect_request_tells_nothing_twice() -> None:
    c = app()
    credit = ReqTxnConfirmation(TxnId("X1"), RAHUL.vpa, SHOP.vpa, Paise(5_00))
    deliver(c, credit, at=0)
    deliver(c, credit, at=4_000)
    ask = ReqAuthDetails(TxnId("X2"), RAHUL.vpa, SHOP.vpa, Paise(5_00))
    deliver(c, ask, at=5_000)
    deliver(c, ask, at=6_000)
    assert c.notifications["CREDIT"] == 1 and c.notifications["COLLECT_REQUEST"] == 1
    assert c.replays == 2 and c.pending_timers <= 1  # one decision at most, not two


# -- the switch's side --------------------------------------------------------------------


def check(d: Drive, req: ReqPay | None = None) -> list[tuple[str, Any]]:
    req = req or ReqPay(
        TxnId("T1"), PAYER, PAYEE, Paise(1_000_00), BankCode("HDFC"), "ACC1", "cred", SimTime(0)
    )
    return d.tell(ReqChkTxn(req.txn_id, "", req), "users:0")


def test_the_switch_answers_a_check_on_a_request_it_never_got_with_u48_for_good() -> None:
    d = Drive()
    ((to, told),) = check(d)
    assert to == "users:0" and (told.result, told.code) == ("FAILURE", codes.TXN_NOT_FOUND)
    row = d.row()
    assert (row["state"], row["response_code"], row["decline_type"]) == ("FAILED", "U48", "TD")
    ((_, late),) = d.pay()  # the request turns up after all: its id is spent
    assert late.result == "DUPLICATE" and len(d.rows) == 1 and not d.switch.payments
    ((_, again),) = check(d)  # asked again: the same answer, no second row
    assert again.code == "U48" and len(d.rows) == 1


def test_the_switch_answers_pending_while_it_holds_a_payment_then_the_outcome() -> None:
    d = Drive()
    d.up_to_debit()
    ((_, told),) = check(d)
    assert told.result == "PENDING"
    d.tell(RespPayLeg(TxnId("T1"), DEBIT, "Z9"), "bank:HDFC")  # insufficient funds
    d.wait(60_000)
    ((_, told),) = check(d)
    assert (told.result, told.code, told.reason) == ("FAILURE", "U30", "Z9")


# -- the fraud monitor -------------------------------------------------------------------


def test_a_replayed_score_request_is_answered_alike_and_counted_once() -> None:
    monitor = FraudMonitor(FraudRules(velocity_per_hour=1))
    ask = ReqRiskScore(TxnId("R1"), RAHUL.vpa, SHOP.vpa, Paise(10_00))
    answers = [
        m for *_, m in monitor.deliver([envelope(ask, at=t, sender="switch") for t in (0, 9)]).sends
    ]
    assert answers == [RespRiskScore(TxnId("R1"), "ALLOW", ())] * 2
    assert monitor.window_count(RAHUL.vpa, SimTime(10)) == 1 and monitor.replays == 1


def test_a_replayed_release_gives_nothing_back_twice() -> None:
    monitor = FraudMonitor()
    for i in range(3):
        ask = ReqRiskScore(TxnId(f"R{i}"), RAHUL.vpa, SHOP.vpa, Paise(100_00))
        monitor.deliver([envelope(ask, at=i, sender="switch")])
    release = RiskRelease(TxnId("R0"), RAHUL.vpa, Paise(100_00), SimTime(0))
    monitor.deliver([envelope(release, at=t, sender="switch") for t in (10, 20)])
    assert monitor.day_amount(RAHUL.vpa) == 200_00


def test_a_started_app_checks_by_message(actors: None) -> None:
    ref = LogicActor.start(app())
    try:
        start = envelope(StartPayment(RAHUL.vpa, SHOP.vpa, Paise(20_00)), sender="load")
        ref.ask(Deliver([start]))
        out = ref.ask(Deliver([], until=90_001))
        assert [type(m) for *_, m in out.sends] == [ReqChkTxn]
        assert any(isinstance(r, EventRow) and r.kind == "STATUS_CHECK" for r in out.records)
    finally:
        ref.stop()
