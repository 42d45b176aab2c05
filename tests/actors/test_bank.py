"""The bank alone: plain logic first, then the started actor talked to by message."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upisim.actors import codes
from upisim.actors.bank import Bank, BankLimits
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.capacity import Capacity
from upisim.actors.messages import (
    CREDIT,
    DEBIT,
    DEBIT_REVERSAL,
    ReqFreeze,
    ReqPayCredit,
    ReqPayDebit,
    ReqPayReversal,
    RespPayLeg,
    SettlementAck,
    SettlementFile,
)
from upisim.actors.records import AccountSpec, pin_block
from upisim.actors.types import DAY, HOUR, BankCode, Paise, SimTime, TxnId

RAHUL, PRIYA = "HDFC000000000001", "HDFC000000000002"
GOOD = pin_block("rahul@okhdfcbank", "1234")
BAD = pin_block("rahul@okhdfcbank", "9999")


def make_bank(capacity: Capacity | None = None, **limits: Any) -> Bank:
    return Bank(
        BankCode("HDFC"),
        [
            AccountSpec(RAHUL, "rahul@okhdfcbank", Paise(10_000_00), GOOD),
            AccountSpec(
                PRIYA, "priya@okhdfcbank", Paise(500_00), pin_block("priya@okhdfcbank", "1")
            ),
        ],
        BankLimits(**limits),
        capacity=capacity,
    )


def ask(bank: Bank, message: Any, at: int = 0) -> RespPayLeg:
    out = bank.deliver([envelope(message, at=at, sender="switch")])
    assert len(out.sends) == 1
    _, _, _, to, reply = out.sends[0]
    assert to == "switch"
    return reply  # type: ignore[no-any-return]


def debit(txn: str, amount: int, cred: str = GOOD, account: str = RAHUL) -> ReqPayDebit:
    return ReqPayDebit(TxnId(txn), account, Paise(amount), cred)


def test_debit_moves_money_into_settlement() -> None:
    bank = make_bank()
    assert ask(bank, debit("T1", 2_500_00)).code == codes.APPROVED
    assert bank.balance(RAHUL) == 7_500_00
    assert bank.gauges() == (8_000_00, 2_500_00, 0, 0)


def test_insufficient_funds_is_z9_and_moves_nothing() -> None:
    bank = make_bank()
    assert ask(bank, debit("T1", 10_000_01)).code == codes.INSUFFICIENT_FUNDS
    assert bank.balance(RAHUL) == 10_000_00
    assert bank.gauges() == (10_500_00, 0, 0, 0)


def test_wrong_pin_is_zm_then_z6_lockout_for_the_configured_time() -> None:
    bank = make_bank(pin_tries=3, lockout=SimTime(24 * HOUR))
    assert ask(bank, debit("T1", 100, BAD)).code == codes.INVALID_PIN
    assert ask(bank, debit("T2", 100, BAD)).code == codes.INVALID_PIN
    assert ask(bank, debit("T3", 100, BAD)).code == codes.PIN_TRIES_EXCEEDED
    # even the right PIN is refused while locked
    assert ask(bank, debit("T4", 100), at=HOUR).code == codes.PIN_TRIES_EXCEEDED
    assert ask(bank, debit("T5", 100), at=24 * HOUR + 1).code == codes.APPROVED
    assert bank.balance(RAHUL) == 10_000_00 - 100


def test_right_pin_resets_the_wrong_tries() -> None:
    bank = make_bank(pin_tries=3)
    for i in range(5):
        assert (
            ask(bank, debit(f"B{i}", 100, BAD)).code == codes.INVALID_PIN
            if i % 2 == 0
            else ask(bank, debit(f"G{i}", 100)).code == codes.APPROVED
        )


def test_per_transaction_daily_amount_and_daily_count_limits() -> None:
    bank = make_bank(per_txn=Paise(5_000_00), per_day=Paise(6_000_00), count_per_day=3)
    assert ask(bank, debit("T1", 5_000_01)).code == codes.AMOUNT_LIMIT
    assert ask(bank, debit("T2", 4_000_00)).code == codes.APPROVED
    assert ask(bank, debit("T3", 2_000_01)).code == codes.AMOUNT_LIMIT  # day total
    assert ask(bank, debit("T4", 1_000_00)).code == codes.APPROVED
    assert ask(bank, debit("T5", 100)).code == codes.APPROVED
    assert ask(bank, debit("T6", 100)).code == codes.FREQUENCY_LIMIT  # 4th today
    assert ask(bank, debit("T7", 100), at=24 * HOUR).code == codes.APPROVED  # a new day


def test_unknown_accounts_are_xh_and_xi() -> None:
    bank = make_bank()
    assert ask(bank, debit("T1", 100, account="NOPE")).code == codes.REMITTER_ACCOUNT_MISSING
    assert (
        ask(bank, ReqPayCredit(TxnId("T2"), "NOPE", Paise(100))).code
        == codes.BENEFICIARY_ACCOUNT_MISSING
    )
    assert bank.gauges() == (10_500_00, 0, 0, 0)


def test_every_leg_is_idempotent_by_transaction_id() -> None:
    bank = make_bank()
    for _ in range(3):
        assert ask(bank, debit("T1", 1_000_00)).code == codes.APPROVED
        assert ask(bank, ReqPayCredit(TxnId("T1"), PRIYA, Paise(1_000_00))).code == codes.APPROVED
        assert (
            ask(bank, ReqPayReversal(TxnId("T1"), DEBIT, RAHUL, Paise(1_000_00))).code
            == codes.APPROVED
        )
    assert bank.balance(RAHUL) == 10_000_00  # debited once, reversed once
    assert bank.balance(PRIYA) == 1_500_00  # credited once


def test_same_id_with_another_payload_is_refused() -> None:
    bank = make_bank()
    assert ask(bank, debit("T1", 1_000_00)).code == codes.APPROVED
    assert ask(bank, debit("T1", 9_000_00)).code == codes.VALIDATION_ERROR
    assert bank.balance(RAHUL) == 9_000_00


def test_same_bank_payment_keeps_debit_and_credit_apart() -> None:
    bank = make_bank()
    assert ask(bank, debit("T1", 1_000_00)).code == codes.APPROVED
    assert ask(bank, ReqPayCredit(TxnId("T1"), PRIYA, Paise(1_000_00))).code == codes.APPROVED
    assert bank.gauges() == (10_500_00, 0, 0, 0)


def test_reversal_before_the_debit_arrives_refuses_the_late_debit() -> None:
    bank = make_bank()
    rev = ReqPayReversal(TxnId("T1"), DEBIT, RAHUL, Paise(1_000_00))
    assert ask(bank, rev).code == codes.APPROVED
    assert ask(bank, debit("T1", 1_000_00)).code != codes.APPROVED
    assert bank.balance(RAHUL) == 10_000_00


def test_credit_reversal_fails_with_96_when_the_payee_spent_it() -> None:
    bank = make_bank()
    assert ask(bank, ReqPayCredit(TxnId("T1"), PRIYA, Paise(1_000_00))).code == codes.APPROVED
    spend = ReqPayDebit(TxnId("T2"), PRIYA, Paise(1_400_00), pin_block("priya@okhdfcbank", "1"))
    assert ask(bank, spend).code == codes.APPROVED
    rev = ReqPayReversal(TxnId("T1"), CREDIT, PRIYA, Paise(1_000_00))
    assert ask(bank, rev).code == codes.REVERSAL_FAILED
    assert bank.balance(PRIYA) == 100_00


def test_credit_reversal_takes_the_money_back() -> None:
    bank = make_bank()
    ask(bank, ReqPayCredit(TxnId("T1"), PRIYA, Paise(300_00)))
    rev = ReqPayReversal(TxnId("T1"), CREDIT, PRIYA, Paise(300_00))
    assert ask(bank, rev).code == codes.APPROVED
    assert bank.balance(PRIYA) == 500_00
    assert bank.gauges() == (10_500_00, 0, 0, 0)


def test_a_bank_keeps_every_leg_until_its_payment_is_settled_however_long() -> None:
    bank = make_bank()
    for i in range(10):
        ask(bank, debit(f"T{i}", 100), at=i * 600)
    # a day later (an outage, say) the switch still asks: the bank still knows the leg
    again = ask(bank, ReqPayReversal(TxnId("T3"), DEBIT, RAHUL, Paise(100)), at=DAY)
    assert again == RespPayLeg(TxnId("T3"), DEBIT_REVERSAL, "00", True)  # money back
    assert bank.open_legs == 10
    settled = SettlementFile(7, tuple(TxnId(f"T{i}") for i in range(8)))
    for at in (DAY + 1, DAY + 2):  # the file, then a copy of it: each is acknowledged
        sent = bank.deliver([envelope(settled, at=at, sender="switch")]).sends
        assert [(to, msg) for _, _, _, to, msg in sent] == [("switch", SettlementAck(7))]
    assert bank.open_legs == 2  # memory follows the settlement cycle, not the run


def test_started_actor_answers_by_message(actors: None) -> None:
    ref = LogicActor.start(make_bank())
    out = ref.ask(
        Deliver(
            [
                envelope(debit("T1", 1_000_00), sender="switch"),
                envelope(debit("T2", 20_000_00), at=1, sender="switch"),
            ]
        ),
        timeout=5,
    )
    replies = [(to, msg) for _, _, _, to, msg in out.sends]
    assert replies == [
        ("switch", RespPayLeg(TxnId("T1"), DEBIT, "00")),
        ("switch", RespPayLeg(TxnId("T2"), DEBIT, "Z9")),
    ]
    assert out.gauges == (9_500_00, 1_000_00, 0, 0)
    assert ref.is_alive()


ops = st.lists(
    st.tuples(
        st.sampled_from(["debit", "credit", "rev_debit", "rev_credit"]),
        st.integers(0, 5),  # txn id: small, so ids repeat (duplicates, replays)
        st.sampled_from([RAHUL, PRIYA, "NOPE"]),
        st.integers(1, 12_000_00),
        st.booleans(),  # right PIN?
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_a_bank_under_random_legs_never_overdraws_nor_creates_money(seq: list[Any]) -> None:
    bank = make_bank()
    start = sum(bank.gauges())
    creds = {RAHUL: GOOD, PRIYA: pin_block("priya@okhdfcbank", "1"), "NOPE": ""}
    for t, (op, n, account, amount, right) in enumerate(seq):
        txn = TxnId(f"T{n}")
        msg: Any
        if op == "debit":
            msg = ReqPayDebit(txn, account, Paise(amount), creds[account] if right else BAD)
        elif op == "credit":
            msg = ReqPayCredit(txn, account, Paise(amount))
        else:
            leg = DEBIT if op == "rev_debit" else CREDIT
            msg = ReqPayReversal(txn, leg, account, Paise(amount))
        ask(bank, msg, at=t)
        assert sum(bank.gauges()) == start
        assert all(a.balance >= 0 for a in bank.accounts.values())
        assert bank.gauges()[0] == sum(a.balance for a in bank.accounts.values())


def test_a_new_user_is_cooled_for_a_day_fl_then_fp() -> None:
    new = AccountSpec("N1", "neha@okhdfcbank", Paise(50_000_00), GOOD, new_since=0)
    bank = Bank(BankCode("HDFC"), [new], BankLimits())
    assert ask(bank, debit("T1", 5_000_01, account="N1")).code == codes.FIRST_TXN_LIMIT
    assert ask(bank, debit("T2", 3_000_00, account="N1")).code == codes.APPROVED
    assert ask(bank, debit("T3", 2_000_01, account="N1")).code == codes.NEW_USER_FREEZE
    assert ask(bank, debit("T4", 2_000_00, account="N1")).code == codes.APPROVED  # exactly 5,000
    later = 24 * HOUR
    assert ask(bank, debit("T5", 20_000_00, account="N1"), at=later).code == codes.APPROVED


def test_a_declined_payment_does_not_use_up_the_cooling_allowance() -> None:
    new = AccountSpec("N1", "neha@okhdfcbank", Paise(1_000_00), GOOD, new_since=0)
    bank = Bank(BankCode("HDFC"), [new], BankLimits())
    assert ask(bank, debit("T1", 4_000_00, account="N1")).code == codes.INSUFFICIENT_FUNDS
    assert bank.accounts["N1"].cooling_sent == 0


def test_check_status_tells_whether_a_leg_stands_and_blocks_stragglers() -> None:
    from upisim.actors.messages import ReqChkTxn, RespChkTxn

    bank = make_bank()
    ask(bank, ReqPayCredit(TxnId("T1"), PRIYA, Paise(100_00)))
    assert ask(bank, ReqChkTxn(TxnId("T1"), CREDIT)) == RespChkTxn(TxnId("T1"), CREDIT, True)
    # the answer stands (TCC): a reversal overtaken by the check is refused, the credit stays
    late = ask(bank, ReqPayReversal(TxnId("T1"), CREDIT, PRIYA, Paise(100_00)))
    assert (late.code, late.undone) == (codes.REVERSAL_FAILED, False)
    assert bank.balance(PRIYA) == 600_00
    assert ask(bank, ReqChkTxn(TxnId("T1"), CREDIT)).posted is True  # type: ignore[attr-defined]
    # reversed before the check: not posted (RET)
    ask(bank, ReqPayCredit(TxnId("T3"), PRIYA, Paise(100_00)))
    ask(bank, ReqPayReversal(TxnId("T3"), CREDIT, PRIYA, Paise(100_00)))
    assert ask(bank, ReqChkTxn(TxnId("T3"), CREDIT)).posted is False  # type: ignore[attr-defined]
    # never seen: not posted, and a credit arriving after the answer is refused
    assert ask(bank, ReqChkTxn(TxnId("T2"), CREDIT)).posted is False  # type: ignore[attr-defined]
    assert ask(bank, ReqPayCredit(TxnId("T2"), PRIYA, Paise(100_00))).code != codes.APPROVED
    assert bank.balance(PRIYA) == 600_00


def test_a_bank_declines_on_npcis_risk_score_k1_for_a_debit_zi_for_a_credit() -> None:
    bank = make_bank()
    assert ask(bank, debit("T1", 100_00)._replace(risk=True)).code == codes.REMITTER_RISK
    bad_pin = debit("T2", 100_00, cred=BAD)._replace(risk=True)
    assert ask(bank, bad_pin).code == codes.INVALID_PIN  # the PIN is checked first
    credit = ReqPayCredit(TxnId("T3"), PRIYA, Paise(100_00), risk=True)
    assert ask(bank, credit).code == codes.BENEFICIARY_RISK
    assert bank.gauges() == (10_500_00, 0, 0, 0)  # nothing moved


def test_a_frozen_account_holds_what_it_has_and_posts_nothing_more() -> None:
    bank = make_bank()
    out = bank.deliver([envelope(ReqFreeze(TxnId("T0"), PRIYA), at=5, sender="switch")])
    assert out.sends == []
    (row,) = out.records
    assert (row.kind, row.txn_id, row.subject, row.value) == ("ACCOUNT_FROZEN", "T0", PRIYA, 500_00)
    again = bank.deliver([envelope(ReqFreeze(TxnId("T9"), PRIYA), at=6, sender="switch")])
    assert again.records == []  # frozen once
    priya = pin_block("priya@okhdfcbank", "1")
    assert ask(bank, debit("T1", 100_00, cred=priya, account=PRIYA)).code == codes.REMITTER_FROZEN
    credit = ReqPayCredit(TxnId("T2"), PRIYA, Paise(100_00))
    assert ask(bank, credit).code == codes.BENEFICIARY_FROZEN
    assert bank.balance(PRIYA) == 500_00
    assert ask(bank, debit("T3", 100_00)).code == codes.APPROVED  # other accounts go on


def test_an_account_opened_twice_is_refused() -> None:
    twice = [AccountSpec(RAHUL, "rahul@okhdfcbank", Paise(100), GOOD)] * 2
    with pytest.raises(ValueError, match=f"account {RAHUL} is opened twice"):
        Bank(BankCode("HDFC"), twice)
