"""Payment methods, P2P collect and notifications, actor by actor: plain logic, then started."""

from __future__ import annotations

from collections import Counter
from typing import Any

from upisim.actors import codes
from upisim.actors.app import RateLimits
from upisim.actors.bank import Bank, BankLimits
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.load import Behaviour
from upisim.actors.messages import (
    CREDIT,
    DEBIT,
    ReqAuthDetails,
    ReqPay,
    ReqPayCollect,
    ReqPayCredit,
    ReqPayDebit,
    ReqPayReversal,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespPay,
    RespPayLeg,
    RespRiskScore,
    ReversalNotice,
    StartCollects,
    StartPayment,
    StartPayments,
)
from upisim.actors.methods import (
    CARD,
    CREDIT_CARD,
    DEBIT_CARD,
    DEFAULT_METHODS,
    NET_BANKING,
    PUSH_METHODS,
    REFUND_DEBIT,
    UPI_COLLECT,
    UPI_PUSH,
    methods_with,
)
from upisim.actors.records import AccountSpec, pin_block
from upisim.actors.switch import CollectRules, Switch
from upisim.actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa
from upisim.actors.user import CollectHabits, User, UserCohort
from upisim.runfolder import EventRow, Notice, Notification, TransactionRow

# -- the bank: funding sources and rules per method ------------------------------------

RAHUL, SHOP = "HDFC000000000001", "HDFC000000000002"
PIN = pin_block("rahul@okhdfcbank", "1234")


def card_bank(card_limit: int = 10_000_00) -> Bank:
    return Bank(
        BankCode("HDFC"),
        [
            AccountSpec(RAHUL, "rahul@okhdfcbank", Paise(5_000_00), PIN, None, Paise(card_limit)),
            AccountSpec(SHOP, "shop@okhdfcbank", Paise(0), pin_block("shop@okhdfcbank", "1")),
        ],
    )


def ask(bank: Bank, message: Any, at: int = 0) -> RespPayLeg:
    out = bank.deliver([envelope(message, at=at, sender="switch")])
    (reply,) = [m for *_, m in out.sends]
    return reply  # type: ignore[no-any-return]


def charge(txn: str, amount: int, method: str = CREDIT_CARD, account: str = RAHUL) -> ReqPayDebit:
    return ReqPayDebit(TxnId(txn), account, Paise(amount), PIN, method)


def money(bank: Bank) -> int:
    customers, settlement, outstanding, _ = bank.gauges()
    return customers + settlement - outstanding


def test_a_credit_card_charges_the_credit_line_not_the_account() -> None:
    bank = card_bank()
    start = money(bank)
    assert ask(bank, charge("T1", 7_000_00)).code == codes.APPROVED  # more than the savings
    assert bank.balance(RAHUL) == 5_000_00
    assert bank.card_outstanding(RAHUL) == 7_000_00
    assert bank.gauges() == (5_000_00, 7_000_00, 7_000_00, 0)
    assert money(bank) == start  # lent money is money created and owed: conserved


def test_no_card_is_b3_and_over_the_credit_line_is_z9() -> None:
    assert ask(card_bank(0), charge("T1", 1_00)).code == codes.NOT_PERMITTED
    bank = card_bank(10_000_00)
    assert ask(bank, charge("T1", 9_000_00)).code == codes.APPROVED
    assert ask(bank, charge("T2", 1_000_01)).code == codes.INSUFFICIENT_FUNDS
    assert bank.card_outstanding(RAHUL) == 9_000_00


def test_reversing_a_card_charge_pays_the_card_down_and_says_money_came_back() -> None:
    bank = card_bank()
    ask(bank, charge("T1", 3_000_00))
    back = ask(bank, ReqPayReversal(TxnId("T1"), DEBIT, RAHUL, Paise(3_000_00)))
    assert (back.code, back.undone) == (codes.APPROVED, True)
    assert bank.card_outstanding(RAHUL) == 0 and bank.gauges() == (5_000_00, 0, 0, 0)
    # a reversal of a leg never posted changes nothing, and says so
    none = ask(bank, ReqPayReversal(TxnId("T9"), DEBIT, RAHUL, Paise(1_00)))
    assert (none.code, none.undone) == (codes.APPROVED, False)


def test_a_refund_to_the_card_lowers_what_is_owed() -> None:
    bank = card_bank()
    ask(bank, charge("T1", 2_000_00))
    refund = ReqPayCredit(TxnId("R1"), RAHUL, Paise(2_000_00), CARD)
    assert ask(bank, refund).code == codes.APPROVED
    assert bank.card_outstanding(RAHUL) == 0 and bank.balance(RAHUL) == 5_000_00
    assert ask(card_bank(0), refund).code == codes.NOT_PERMITTED  # no card to refund to


def test_card_and_net_banking_skip_new_user_cooling_but_keep_their_own_limit() -> None:
    bank = Bank(
        BankCode("HDFC"),
        [AccountSpec(RAHUL, "rahul@okhdfcbank", Paise(50_00_000_00), PIN, 0)],  # a new user
        methods=methods_with({NET_BANKING: {"per_txn": Paise(3_00_000_00)}}),
    )
    assert ask(bank, charge("T1", 10_000_00, UPI_PUSH)).code == codes.FIRST_TXN_LIMIT
    assert ask(bank, charge("T2", 2_00_000_00, NET_BANKING)).code == codes.APPROVED
    assert ask(bank, charge("T3", 3_00_000_01, NET_BANKING)).code == codes.AMOUNT_LIMIT
    assert ask(bank, charge("T4", 2_00_000_01, DEBIT_CARD)).code == codes.AMOUNT_LIMIT
    assert ask(bank, charge("T5", 1_00, "CHEQUE")).code == codes.VALIDATION_ERROR


def test_started_bank_charges_a_card_by_message(actors: None) -> None:
    ref = LogicActor.start(card_bank())
    out = ref.ask(Deliver([envelope(charge("T1", 1_000_00), sender="switch")]), timeout=5)
    assert [m for *_, m in out.sends] == [RespPayLeg(TxnId("T1"), DEBIT, codes.APPROVED)]
    assert out.gauges == (5_000_00, 1_000_00, 1_000_00, 0)
    ref.stop()


# -- the switch: who may be paid how, the extra hop, refunds to the source ---------------

T = TxnId("T1")
PAYER, PERSON, MERCHANT = Vpa("rahul@okhdfcbank"), Vpa("priya@oksbi"), Vpa("shop@okicici")


class Drive:
    def __init__(self, **switch: Any) -> None:
        directory = {
            PAYER: Address("users:0"),
            PERSON: Address("users:1"),
            MERCHANT: Address("users:2"),
        }
        self.switch = Switch(directory, {"HDFC", "SBI", "ICICI"}, **switch)
        self.t = 0
        self.rows: list[dict[str, Any]] = []

    def tell(self, message: Any, sender: str) -> list[tuple[int, str, Any]]:
        self.t += 10
        out = self.switch.deliver([envelope(message, at=self.t, sender=sender)])
        self.rows += [r._asdict() for r in out.records if isinstance(r, TransactionRow)]
        return [(at, to, m) for at, _, _, to, m in out.sends]

    def push(self, method: str, payee: Vpa, merchant: bool) -> list[tuple[int, str, Any]]:
        pay = ReqPay(
            T,
            PAYER,
            payee,
            Paise(500_00),
            BankCode("HDFC"),
            "A1",
            "c",
            SimTime(0),
            TxnId(""),
            method,
        )
        self.tell(pay, "users:0")
        bank = "ICICI" if merchant else "SBI"
        return self.tell(
            RespAuthDetails(T, payee, "00", BankCode(bank), "B1", "", merchant), "users:x"
        )


def test_a_merchant_only_method_to_a_person_is_b3() -> None:
    d = Drive()
    assert d.push(CREDIT_CARD, PERSON, merchant=False)[0][2] == RespPay(
        T, PAYER, Paise(500_00), "FAILURE", codes.NOT_PERMITTED, codes.NOT_PERMITTED, PERSON
    )
    assert (d.rows[0]["method"], d.rows[0]["reason_code"]) == (CREDIT_CARD, "B3")
    d = Drive()
    assert d.push(NET_BANKING, PERSON, merchant=False)[0][1] == "fraud"  # net banking may


def test_the_debit_carries_the_method_and_its_extra_hop() -> None:
    for method in PUSH_METHODS:
        d = Drive()
        d.push(method, MERCHANT, merchant=True)
        ((at, to, debit),) = d.tell(RespRiskScore(T, "ALLOW"), "fraud")
        assert (to, debit) == ("bank:HDFC", ReqPayDebit(T, "A1", Paise(500_00), "c", method))
        m = DEFAULT_METHODS[method]  # unconnected links take no time: only the method's hop
        assert d.t + m.extra_ms <= at <= d.t + m.extra_ms + m.spread_ms


def test_an_unknown_method_or_a_pushed_collect_is_zd() -> None:
    for method in ("CHEQUE", UPI_COLLECT):
        d = Drive()
        d.tell(
            ReqPay(
                T,
                PAYER,
                PERSON,
                Paise(1),
                BankCode("HDFC"),
                "A",
                "c",
                SimTime(0),
                TxnId(""),
                method,
            ),
            "users:0",
        )
        assert d.rows[0]["reason_code"] == codes.VALIDATION_ERROR


def test_a_refund_of_a_card_payment_debits_the_merchant_and_credits_the_card() -> None:
    d = Drive()
    d.push(CREDIT_CARD, MERCHANT, merchant=True)  # T1, charged to the card
    d.tell(RespRiskScore(T, "ALLOW"), "fraud")
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.tell(RespPayLeg(T, CREDIT, "00"), "bank:ICICI")
    refund = ReqPay(
        TxnId("R1"), MERCHANT, PAYER, Paise(500_00), BankCode("ICICI"), "M1", "m", SimTime(0),
        T, CREDIT_CARD,
    )  # fmt: skip
    d.tell(refund, "users:2")
    d.tell(RespAuthDetails(TxnId("R1"), PAYER, "00", BankCode("HDFC"), "A1"), "users:0")
    ((_, _, debit),) = d.tell(RespRiskScore(TxnId("R1"), "ALLOW"), "fraud")
    assert debit == ReqPayDebit(TxnId("R1"), "M1", Paise(500_00), "m", REFUND_DEBIT.name)
    ((_, _, credit),) = d.tell(RespPayLeg(TxnId("R1"), DEBIT, "00"), "bank:ICICI")
    assert credit == ReqPayCredit(TxnId("R1"), "A1", Paise(500_00), CARD)


def test_a_debit_given_back_is_told_to_the_payer_as_a_reversal() -> None:
    d = Drive()
    d.push(UPI_PUSH, PERSON, merchant=False)
    d.tell(RespRiskScore(T, "ALLOW"), "fraud")
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.tell(RespPayLeg(T, CREDIT, "XI"), "bank:SBI")  # the credit failed: reverse the debit
    sent = d.tell(RespPayLeg(T, "DEBIT_REVERSAL", "00", True), "bank:HDFC")
    assert [(to, m) for _, to, m in sent if to == "users:0"] == [
        ("users:0", ReversalNotice(T, PAYER, Paise(500_00), DEBIT, PERSON)),
        ("users:0", RespPay(T, PAYER, Paise(500_00), "FAILURE", "U31", "XI", PERSON)),
    ]


def test_a_reversal_the_bank_says_gave_nothing_back_is_not_told_as_one() -> None:
    d = Drive()
    d.push(UPI_PUSH, PERSON, merchant=False)
    d.tell(RespRiskScore(T, "ALLOW"), "fraud")
    d.switch.advance(d.t + 15_001)  # the debit timed out: reverse it
    d.t += 15_001
    sent = d.tell(RespPayLeg(T, "DEBIT_REVERSAL", "00", False), "bank:HDFC")
    assert [m.code for *_, m in sent if isinstance(m, RespPay)] == [codes.DEBIT_TIMEOUT]
    assert not any(isinstance(m, ReversalNotice) for *_, m in sent)


def collect(d: Drive, amount: int, from_merchant: bool) -> list[tuple[int, str, Any]]:
    asker = MERCHANT if from_merchant else PERSON
    msg = ReqPayCollect(
        T, asker, PAYER, Paise(amount), BankCode("SBI"), "S1", SimTime(0), 60_000, from_merchant
    )
    return d.tell(msg, "users:2" if from_merchant else "users:1")


def test_p2p_collect_is_refused_unless_allowed_and_then_capped_at_2000() -> None:
    d = Drive()
    collect(d, 100_00, from_merchant=False)
    assert d.rows[0]["reason_code"] == codes.NOT_PERMITTED  # discontinued by default
    d = Drive()
    assert collect(d, 100_00, from_merchant=True)[0][2] == ReqAuthDetails(
        T, PAYER, MERCHANT, Paise(100_00)
    )
    d = Drive(collect=CollectRules(p2p=True))
    collect(d, 2_000_01, from_merchant=False)
    assert d.rows[0]["reason_code"] == codes.AMOUNT_LIMIT
    d = Drive(collect=CollectRules(p2p=True))
    assert collect(d, 2_000_00, from_merchant=False)[0][2] == ReqAuthDetails(
        T, PAYER, PERSON, Paise(2_000_00)
    )


# -- the payer's app: choosing a method; notifications --------------------------------

RAHUL_U = User("Rahul", Vpa("rahul@okhdfcbank"), BankCode("HDFC"), "H1", "1234", card=True)
PRIYA_U = User("Priya", Vpa("priya@oksbi"), BankCode("SBI"), "S1", "2345")
SHOP_U = User("Shop", Vpa("shop@okicici"), BankCode("ICICI"), "M1", "1111", merchant=True)


def app(mix: dict[str, float], users: list[User] | None = None, **collect: Any) -> UserCohort:
    users = users or [RAHUL_U, PRIYA_U]
    return UserCohort(
        0,
        users,
        (RAHUL_U.vpa, PRIYA_U.vpa, SHOP_U.vpa),
        Behaviour(method_mix=tuple(mix.items())),
        7,
        RateLimits(0, 0),
        CollectHabits(**collect),
        frozenset({SHOP_U.vpa}),
    )


def pushes(c: UserCohort, n: int) -> list[ReqPay]:
    out = c.deliver([envelope(StartPayments(n))])
    return [m for *_, m in out.sends if isinstance(m, ReqPay)]


def test_each_payment_gets_a_method_its_payer_has_and_its_payee_takes() -> None:
    sent = pushes(app({UPI_PUSH: 1, CREDIT_CARD: 1, DEBIT_CARD: 1, NET_BANKING: 1}), 2_000)
    seen: Counter[tuple[str, bool, bool]] = Counter()
    for p in sent:
        seen[(p.method, p.payee == SHOP_U.vpa, p.payer == RAHUL_U.vpa)] += 1
        if p.method in (CREDIT_CARD, DEBIT_CARD):
            assert p.payee == SHOP_U.vpa  # cards pay merchants only
        if p.method == CREDIT_CARD:
            assert p.payer == RAHUL_U.vpa  # only Rahul holds a credit card
    # Rahul paying the shop has all four: about a quarter each
    rahul_shop = {m: seen[(m, True, True)] for m in PUSH_METHODS}
    total = sum(rahul_shop.values())
    assert all(0.18 < n / total < 0.32 for n in rahul_shop.values()), rahul_shop
    # Priya paying a person has only UPI and net banking: about half each
    priya_person = [seen[(m, False, False)] for m in (UPI_PUSH, NET_BANKING)]
    assert 0.38 < priya_person[0] / sum(priya_person) < 0.62


def test_a_mix_nobody_can_use_falls_back_to_upi() -> None:
    sent = pushes(app({CREDIT_CARD: 1}, [PRIYA_U]), 50)  # Priya has no card
    assert {p.method for p in sent} == {UPI_PUSH}


def test_a_scripted_collect_starts_at_the_payee_and_says_who_asks() -> None:
    c = app({UPI_PUSH: 1}, [PRIYA_U, SHOP_U])
    for asker, merchant in ((SHOP_U, True), (PRIYA_U, False)):
        out = c.deliver(
            [envelope(StartPayment(RAHUL_U.vpa, asker.vpa, Paise(99_00), None, "", UPI_COLLECT))]
        )
        ((*_, to, msg),) = out.sends
        assert isinstance(msg, ReqPayCollect) and to == "switch"
        assert (msg.payee, msg.payer, msg.payee_merchant) == (asker.vpa, RAHUL_U.vpa, merchant)


def test_people_or_merchants_send_collect_requests_as_the_load_says() -> None:
    c = app({UPI_PUSH: 1}, [PRIYA_U, SHOP_U])
    for by_people, asker in ((True, PRIYA_U), (False, SHOP_U)):
        out = c.deliver([envelope(StartCollects(20, by_people))])
        assert out.sends and all(
            (m.payee, m.payee_merchant) == (asker.vpa, asker.merchant) for *_, m in out.sends
        )
    out = app({UPI_PUSH: 1}, [PRIYA_U]).deliver([envelope(StartCollects(5))])
    assert not out.sends and [r.kind for r in out.records] == ["NO_MERCHANTS"]


def test_the_app_tells_its_users_of_every_kind_of_notice() -> None:
    c = app({UPI_PUSH: 1}, [RAHUL_U, SHOP_U])  # one message of each kind, each its own txn
    a = Address("switch")
    c.deliver(
        [
            envelope(RespPay(T, RAHUL_U.vpa, Paise(1), "SUCCESS", "00", "00"), sender=a),
            envelope(ReqTxnConfirmation(T, RAHUL_U.vpa, SHOP_U.vpa, Paise(1)), sender=a),
            envelope(ReqAuthDetails(T, RAHUL_U.vpa, SHOP_U.vpa, Paise(1)), sender=a),
            envelope(
                RespPay(TxnId("T2"), RAHUL_U.vpa, Paise(1), "EXPIRED", "U69", "U69"), sender=a
            ),
            envelope(ReversalNotice(T, RAHUL_U.vpa, Paise(1), DEBIT), sender=a),
            envelope(RespPay(TxnId("T3"), RAHUL_U.vpa, Paise(1), "FAILURE", "U30", "Z9"), sender=a),
            envelope(RespPay(TxnId("T4"), RAHUL_U.vpa, Paise(1), "DEEMED", "00", "RB"), sender=a),
        ]
    )
    assert {k: c.notifications[k] for k in Notice.ALL} == {
        "DEBIT": 2,
        "CREDIT": 1,
        "COLLECT_REQUEST": 1,
        "EXPIRED": 1,
        "REVERSAL": 1,
        "DECLINED": 1,
        "PENDING": 0,
    }


def test_a_merchant_refunds_a_card_payment_to_the_card() -> None:
    c = app({UPI_PUSH: 1}, [SHOP_U], refund_share=1.0, refund_after=1_000)
    confirm = ReqTxnConfirmation(T, RAHUL_U.vpa, SHOP_U.vpa, Paise(250_00), CREDIT_CARD)
    c.deliver([envelope(confirm)])
    out = c.advance(1_001)
    ((*_, refund),) = out.sends
    assert isinstance(refund, ReqPay)
    assert (refund.refund_of, refund.method, refund.payee) == (T, CREDIT_CARD, RAHUL_U.vpa)
    # money a merchant gets back as a refund is never refunded in turn
    c.deliver([envelope(confirm._replace(kind="REFUND"))], until=1_002)
    assert not c.advance(5_000).sends


def test_the_resolved_payee_says_whether_it_is_a_merchant() -> None:
    c = app({UPI_PUSH: 1}, [PRIYA_U, SHOP_U])
    for user in (PRIYA_U, SHOP_U):
        out = c.deliver([envelope(ReqAuthDetails(T, user.vpa), sender="switch")])
        ((*_, answer),) = out.sends
        assert isinstance(answer, RespAuthDetails) and answer.merchant == user.merchant


def test_refund_to_the_card_reverses_as_a_card_credit() -> None:
    bank = card_bank()
    ask(bank, charge("T1", 2_000_00))
    ask(bank, ReqPayCredit(TxnId("R1"), RAHUL, Paise(2_000_00), CARD))
    back = ask(bank, ReqPayReversal(TxnId("R1"), CREDIT, RAHUL, Paise(2_000_00)))
    assert (back.code, back.undone) == (codes.APPROVED, True)
    assert bank.card_outstanding(RAHUL) == 2_000_00


def test_a_p2m_share_sends_that_share_of_payments_to_merchants() -> None:
    c = UserCohort(
        0,
        [RAHUL_U, PRIYA_U],
        (RAHUL_U.vpa, PRIYA_U.vpa, SHOP_U.vpa),
        Behaviour(p2m_share=0.8),
        7,
        RateLimits(0, 0),
        merchants=frozenset({SHOP_U.vpa}),
    )
    sent = pushes(c, 1_000)
    to_shop = sum(p.payee == SHOP_U.vpa for p in sent) / len(sent)
    assert 0.75 < to_shop < 0.85  # uniform payees would give about a third


def test_started_switch_refuses_a_card_payment_to_a_person(actors: None) -> None:
    ref = LogicActor.start(Drive().switch)
    pay = ReqPay(
        T,
        PAYER,
        PERSON,
        Paise(1_00),
        BankCode("HDFC"),
        "A1",
        "c",
        SimTime(0),
        TxnId(""),
        DEBIT_CARD,
    )
    ref.ask(Deliver([envelope(pay, sender="users:0")]), timeout=5)
    person = RespAuthDetails(T, PERSON, "00", BankCode("SBI"), "S1", "", False)
    out = ref.ask(Deliver([envelope(person, at=100, sender="users:1")]), timeout=5)
    assert [(to, m.code) for *_, to, m in out.sends] == [("users:0", codes.NOT_PERMITTED)]
    (row,) = out.records
    assert isinstance(row, TransactionRow) and row.method == DEBIT_CARD
    ref.stop()


def test_started_user_actor_picks_methods_and_hears_reversals(actors: None) -> None:
    c = app({CREDIT_CARD: 1, UPI_PUSH: 1}, [RAHUL_U])
    ref = LogicActor.start(c)
    notice = ReversalNotice(T, RAHUL_U.vpa, Paise(1), DEBIT)
    out = ref.ask(Deliver([envelope(notice), envelope(StartPayments(200), at=1)]), timeout=5)
    methods = Counter(m.method for *_, m in out.sends)
    assert set(methods) == {CREDIT_CARD, UPI_PUSH}
    ref.stop()
    assert c.notifications["REVERSAL"] == 1


def rahul_limited_to_one_a_minute(record_notifications: bool = False) -> UserCohort:
    return UserCohort(
        0,
        [RAHUL_U],
        (RAHUL_U.vpa, SHOP_U.vpa),
        Behaviour(),
        7,
        RateLimits(per_minute=1, per_hour=0),
        record_notifications=record_notifications,
    )


def test_the_upi_apps_rate_limit_does_not_hold_card_or_net_banking_payments() -> None:
    c = rahul_limited_to_one_a_minute()
    for i, method in enumerate((UPI_PUSH, UPI_PUSH, DEBIT_CARD, NET_BANKING, CREDIT_CARD)):
        c.deliver(
            [envelope(StartPayment(RAHUL_U.vpa, SHOP_U.vpa, Paise(1_00), None, "", method), at=i)]
        )
    assert c.outcomes[codes.PSP_THROTTLED] == 1  # only the second UPI payment


def test_a_refund_debit_is_held_to_no_upi_limit_and_uses_no_daily_count() -> None:
    bank = Bank(
        BankCode("HDFC"),
        [AccountSpec(SHOP, "shop@okhdfcbank", Paise(10_00_000_00), PIN, 0)],  # new to UPI
        BankLimits(count_per_day=1),
    )
    refund = charge("R1", 1_50_000_00, REFUND_DEBIT.name, SHOP)  # over UPI's Rs 1 lakh
    assert ask(bank, refund).code == codes.APPROVED
    assert ask(bank, charge("T1", 6_000_00, UPI_PUSH, SHOP)).code == codes.FIRST_TXN_LIMIT
    assert ask(bank, charge("T2", 4_000_00, UPI_PUSH, SHOP)).code == codes.APPROVED
    assert ask(bank, charge("T3", 1_00, UPI_PUSH, SHOP)).code == codes.FREQUENCY_LIMIT


def test_a_methods_own_limit_holds_for_upi_too_and_no_card_comes_first() -> None:
    bank = Bank(
        BankCode("HDFC"),
        [AccountSpec(RAHUL, "rahul@okhdfcbank", Paise(10_000_00), PIN)],
        methods=methods_with({UPI_PUSH: {"per_txn": Paise(500_00)}}),
    )
    assert ask(bank, charge("T1", 600_00, UPI_PUSH)).code == codes.AMOUNT_LIMIT
    assert ask(bank, charge("T2", 500_00, UPI_PUSH)).code == codes.APPROVED
    # no card at all is B3, whatever the amount
    assert ask(bank, charge("T3", 6_00_000_00, CREDIT_CARD)).code == codes.NOT_PERMITTED


def test_card_and_net_banking_do_not_count_towards_upis_daily_count() -> None:
    bank = Bank(
        BankCode("HDFC"),
        [AccountSpec(RAHUL, "rahul@okhdfcbank", Paise(10_000_00), PIN, None, Paise(5_000_00))],
        BankLimits(count_per_day=1),
    )
    assert ask(bank, charge("T1", 1_00, UPI_PUSH)).code == codes.APPROVED
    assert ask(bank, charge("T2", 1_00, UPI_PUSH)).code == codes.FREQUENCY_LIMIT
    for i, method in enumerate((NET_BANKING, DEBIT_CARD, CREDIT_CARD, NET_BANKING)):
        assert ask(bank, charge(f"C{i}", 1_00, method)).code == codes.APPROVED


def test_a_credit_taken_back_is_not_told_to_a_payee_who_never_heard_of_it() -> None:
    d = Drive()
    d.push(UPI_PUSH, PERSON, merchant=False)
    d.tell(RespRiskScore(T, "ALLOW"), "fraud")
    d.tell(RespPayLeg(T, DEBIT, "00"), "bank:HDFC")
    d.switch.advance(d.t + 15_001)  # the credit timed out: reverse it, then the debit
    d.t += 15_001
    sent = d.tell(RespPayLeg(T, "CREDIT_REVERSAL", "00", True), "bank:SBI")
    assert [to for _, to, _ in sent] == ["bank:HDFC"]  # on to the debit reversal, no notice
    sent = d.tell(RespPayLeg(T, "DEBIT_REVERSAL", "00", True), "bank:HDFC")
    assert [type(m).__name__ for _, to, m in sent if to.startswith("users")] == [
        "ReversalNotice",
        "RespPay",
    ]


def test_a_card_payment_refused_as_b3_names_the_resolved_payee_bank() -> None:
    d = Drive()
    d.push(CREDIT_CARD, PERSON, merchant=False)
    assert (d.rows[0]["reason_code"], d.rows[0]["payee_bank"]) == ("B3", "SBI")


def test_a_merchant_paying_itself_is_sent_to_another_merchant() -> None:
    other = User("Other", Vpa("other@okicici"), BankCode("ICICI"), "M2", "1", merchant=True)
    c = UserCohort(
        0,
        [SHOP_U],
        (PRIYA_U.vpa, SHOP_U.vpa, other.vpa),
        Behaviour(p2m_share=1.0),
        7,
        RateLimits(0, 0),
        merchants=frozenset({SHOP_U.vpa, other.vpa}),
    )
    assert {p.payee for p in pushes(c, 200)} == {other.vpa}


def test_notifications_are_rows_for_each_user_and_listeners_hear_them() -> None:
    c = UserCohort(
        0,
        [RAHUL_U, SHOP_U],
        (RAHUL_U.vpa, SHOP_U.vpa),
        Behaviour(),
        7,
        RateLimits(0, 0),
        record_notifications=True,
    )
    heard: list[Notification] = []
    c.subscribe(heard.append)
    c.subscribe(lambda note: 1 / 0)  # a broken observer
    expired = RespPay(T, RAHUL_U.vpa, Paise(99_00), "EXPIRED", "U69", "U69", SHOP_U.vpa)
    out = c.deliver(
        [
            envelope(ReqAuthDetails(T, RAHUL_U.vpa, SHOP_U.vpa, Paise(99_00)), at=5),
            envelope(expired, at=60_000),
            envelope(expired._replace(for_payee=True), at=60_000, seq=2),
        ]
    )
    rows = [row for row in out.records if isinstance(row, Notification)]
    assert (
        rows
        == heard
        == [
            (5, RAHUL_U.vpa, "COLLECT_REQUEST", T, 99_00, SHOP_U.vpa, ""),
            (60_000, RAHUL_U.vpa, "EXPIRED", T, 99_00, SHOP_U.vpa, "U69"),
            (60_000, SHOP_U.vpa, "EXPIRED", T, 99_00, RAHUL_U.vpa, "U69"),
        ]
    )
    failed = [row for row in out.records if isinstance(row, EventRow)]
    assert [row[1] for row in failed] == ["LISTENER_FAILED"] * 3  # and the app carried on
    assert "ZeroDivisionError" in failed[0][5]


def test_a_payment_the_app_throttles_is_told_to_its_user_as_declined() -> None:
    c = rahul_limited_to_one_a_minute(record_notifications=True)
    start = StartPayment(RAHUL_U.vpa, SHOP_U.vpa, Paise(1_00))
    out = c.deliver([envelope(start), envelope(start, at=1, seq=2)])
    notes = [row for row in out.records if isinstance(row, Notification)]
    assert [(n.kind, n.code, n.counterparty) for n in notes] == [
        ("DECLINED", codes.PSP_THROTTLED, SHOP_U.vpa)
    ]
