"""The switch's refund book: which refunds may go, and for how long payments are held."""

from __future__ import annotations

from upisim.actors import codes
from upisim.actors.messages import ReqPay
from upisim.actors.methods import DEBIT_CARD, UPI_PUSH
from upisim.actors.switch.machine import Payment
from upisim.actors.switch.refunds import GO, RefundBook, Verdict
from upisim.actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa
from upisim.runfolder import Kind, State

CUSTOMER, SHOP, OTHER = Vpa("rahul@okhdfcbank"), Vpa("chai.stall@oksbi"), Vpa("priya@oksbi")
PAID = Paise(500_00)
WINDOW = 60_000

UNKNOWN = Verdict(codes.TXN_NOT_FOUND, "REFUND_UNKNOWN")
MISMATCH = Verdict(codes.VALIDATION_ERROR, "REFUND_MISMATCH")
DUPLICATE = Verdict(codes.VALIDATION_ERROR, "DUPLICATE_REFUND")


def finished(
    txn_id: str,
    *,
    kind: str = Kind.PAY,
    stage: str = State.SUCCESS,
    merchant: bool = True,
    payer: Vpa = CUSTOMER,
    payee: Vpa = SHOP,
    amount: int = PAID,
    method: str = UPI_PUSH,
    refund_of: str = "",
) -> Payment:
    """A payment at its terminal state, as the switch leaves it."""
    p = Payment(kind, TxnId(txn_id), payer, payee, Paise(amount), 0, Address("users:0"), 0)
    p.stage = stage
    p.merchant = merchant
    p.method = method
    p.refund_of = TxnId(refund_of)
    return p


def refund(
    txn_id: str = "R1",
    of: str = "P1",
    *,
    payer: Vpa = SHOP,
    payee: Vpa = CUSTOMER,
    amount: int = PAID,
    method: str = UPI_PUSH,
) -> ReqPay:
    return ReqPay(
        TxnId(txn_id),
        payer,
        payee,
        Paise(amount),
        BankCode("SBI"),
        "SBI000000000001",
        "cred",
        SimTime(0),
        TxnId(of),
        method,
    )


def book_with(*payments: Payment, window: int = WINDOW, at: int = 1_000) -> RefundBook:
    book = RefundBook(window)
    for p in payments:
        book.finished(p, at)
    return book


def test_a_refund_of_a_held_payment_goes_and_claims_it() -> None:
    book = book_with(finished("P1"))
    assert book.verdict(refund(), 2_000) == GO == Verdict("", "")
    assert book.claims == {"P1": "R1"}


def test_a_refund_of_an_unknown_payment_is_u48() -> None:
    book = book_with(finished("P1"))
    assert book.verdict(refund(of="P2"), 2_000) == UNKNOWN
    assert book.verdict(refund(of=""), 2_000) == UNKNOWN
    assert RefundBook(WINDOW).verdict(refund(), 0) == UNKNOWN
    assert book.claims == {}


def test_a_refund_that_does_not_match_its_payment_is_zd() -> None:
    book = book_with(finished("P1"))
    for wrong in (
        refund(payer=CUSTOMER, payee=SHOP),  # the customer cannot refund themselves
        refund(payer=OTHER),  # another merchant
        refund(payee=OTHER),  # to someone who did not pay
        refund(method=DEBIT_CARD),  # not by the payment's method
        refund(amount=PAID + 1),  # more than was paid
    ):
        assert book.verdict(wrong, 2_000) == MISMATCH, wrong
    assert book.claims == {}  # refusing claims nothing: a right refund may still go
    assert book.verdict(refund(amount=PAID), 2_000) == GO


def test_a_partial_refund_may_go() -> None:
    book = book_with(finished("P1"))
    assert book.verdict(refund(amount=PAID - 1_00), 2_000) == GO


def test_a_card_payment_is_refunded_by_card() -> None:
    book = book_with(finished("P1", method=DEBIT_CARD))
    assert book.verdict(refund(method=UPI_PUSH), 2_000) == MISMATCH
    assert book.verdict(refund(method=DEBIT_CARD), 2_000) == GO


def test_a_second_refund_of_the_same_payment_is_a_duplicate() -> None:
    book = book_with(finished("P1"))
    assert book.verdict(refund("R1"), 2_000) == GO
    assert book.verdict(refund("R2"), 2_100) == DUPLICATE
    assert book.claims == {"P1": "R1"}


def test_a_refund_naming_a_claimed_payment_is_a_duplicate_whatever_its_id() -> None:
    # the switch refuses a repeated id before the book sees it; the book holds the claim
    book = book_with(finished("P1"))
    assert book.verdict(refund("R1"), 2_000) == GO
    assert book.verdict(refund("R1"), 2_100) == DUPLICATE


def test_a_failed_refund_frees_its_claim() -> None:
    book = book_with(finished("P1"))
    assert book.verdict(refund("R1"), 2_000) == GO
    book.finished(finished("R1", kind=Kind.REFUND, stage=State.FAILED, refund_of="P1"), 3_000)
    assert book.claims == {}
    assert book.verdict(refund("R2"), 4_000) == GO
    assert book.claims == {"P1": "R2"}


def test_a_failed_refund_does_not_free_another_refunds_claim() -> None:
    book = book_with(finished("P1"))
    assert book.verdict(refund("R1"), 2_000) == GO
    book.finished(finished("R2", kind=Kind.REFUND, stage=State.FAILED, refund_of="P1"), 3_000)
    assert book.claims == {"P1": "R1"}


def test_a_refund_that_went_keeps_its_claim() -> None:
    book = book_with(finished("P1"))
    assert book.verdict(refund("R1"), 2_000) == GO
    done = finished("R1", kind=Kind.REFUND, payer=SHOP, payee=CUSTOMER, refund_of="P1")
    book.finished(done, 3_000)
    assert book.claims == {"P1": "R1"}
    assert book.verdict(refund("R2"), 4_000) == DUPLICATE


def test_a_payment_is_known_for_the_window_and_no_longer() -> None:
    book = book_with(finished("P1"), at=1_000)
    assert book.verdict(refund(), 1_000 + WINDOW + 1) == UNKNOWN
    assert book.verdict(refund(), 1_000 + WINDOW) == GO  # the window's last ms


def test_payments_older_than_the_window_are_forgotten_with_their_claims() -> None:
    book = book_with(finished("P1"), finished("P2"), at=0)
    assert book.verdict(refund("R1", "P1"), 10) == GO
    book.finished(finished("P3"), WINDOW)  # P1 and P2 are exactly a window old: kept
    assert set(book._paid) == {"P1", "P2", "P3"}
    book.finished(finished("P4"), WINDOW + 1)
    assert set(book._paid) == {"P3", "P4"}
    assert book.claims == {}
    assert [txn for _, txn in book._since] == ["P3", "P4"]


def test_memory_follows_the_rate_not_the_length_of_the_run() -> None:
    book = RefundBook(1_000)
    for i in range(10_000):  # one payment every 100 ms for 1,000 s
        book.finished(finished(f"P{i}"), i * 100)
        assert len(book._paid) <= 11 and len(book._since) <= 11
    assert set(book._paid) == {f"P{i}" for i in range(9_989, 10_000)}


def test_a_payment_finished_twice_is_held_from_the_later_time() -> None:
    book = RefundBook(1_000)
    book.finished(finished("P1"), 0)
    book.finished(finished("P1"), 600)
    book.finished(finished("P2"), 1_001)  # the first entry of P1 is past: P1 itself is not
    assert set(book._paid) == {"P1", "P2"}
    assert book.verdict(refund(), 1_600) == GO


def test_window_zero_holds_nothing() -> None:
    book = book_with(finished("P1"), window=0)
    assert book._paid == {} and not book._since
    assert book.verdict(refund(), 1_000) == UNKNOWN


def test_only_money_that_reached_a_merchant_is_held() -> None:
    never = [
        finished("A", merchant=False),  # to a person
        finished("B", kind=Kind.COLLECT, stage=State.EXPIRED),  # a collect nobody answered
        finished("C", stage=State.FAILED),  # no money moved
        finished("D", kind=Kind.REFUND, payer=SHOP, payee=CUSTOMER, refund_of="X"),
    ]
    book = book_with(*never)
    assert book._paid == {}
    for p in never:
        assert book.verdict(refund("R", p.txn_id), 2_000) == UNKNOWN
    held = book_with(finished("E", stage=State.DEEMED), finished("F", kind=Kind.COLLECT))
    assert set(held._paid) == {"E", "F"}
    assert held.verdict(refund("R", "E"), 2_000) == GO
