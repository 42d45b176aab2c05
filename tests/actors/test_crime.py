"""Fraud played by users, each cohort started alone and talked to by message: a victim
pushes to a mule, a mule passes money on, a fraudster asks a stranger, a scam's victim
approves; every fraudulent request is labelled, the ordinary ones are not."""

from __future__ import annotations

from upisim.actors.app import RateLimits
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.crime import (
    AUTHORISED_PUSH,
    COLLECT_SCAM,
    FRAUDSTER,
    MULE,
    Act,
    Crime,
    Forwarding,
)
from upisim.actors.load import Behaviour
from upisim.actors.messages import (
    ReqAuthDetails,
    ReqFraudReport,
    ReqPay,
    ReqPayCollect,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespFraudReport,
    RespPay,
    Result,
    StartPayment,
)
from upisim.actors.methods import UPI_COLLECT, UPI_PUSH
from upisim.actors.types import BankCode, Paise, TxnId, Vpa
from upisim.actors.user import User, UserCohort
from upisim.runfolder import FraudTruthRow

VICTIM = User("Meera Iyer", Vpa("meera@oksbi"), BankCode("SBI"), "S1", "1111")
MULE_USER = User("Ravi Das", Vpa("ravi@okicici"), BankCode("ICICI"), "I1", "2222")
SHOP = User("Asha Stores", Vpa("asha@okhdfcbank"), BankCode("HDFC"), "H1", "3333", merchant=True)
NEXT, CASH = Vpa("next@oksbi"), Vpa("cash@okhdfcbank")
EVERYONE = (VICTIM.vpa, MULE_USER.vpa, SHOP.vpa, NEXT, CASH)


def cohort(crime: Crime) -> UserCohort:
    users = [VICTIM, MULE_USER, SHOP]
    return UserCohort(0, users, EVERYONE, Behaviour(), 1, RateLimits(0, 0), crime=crime)


def truth(records: list[object]) -> list[FraudTruthRow]:
    return [r for r in records if isinstance(r, FraudTruthRow)]


def test_a_victim_pushes_to_the_mule_when_the_act_is_due_and_it_is_labelled(actors: None) -> None:
    act = Act(7, AUTHORISED_PUSH, VICTIM.vpa, MULE_USER.vpa, MULE, 8_000_00, UPI_PUSH)
    ref = LogicActor.start(cohort(Crime(((1_000, act),), until=60_000)))
    out = ref.ask(Deliver([], until=1_001), timeout=5)
    ((at, *_, to, pay),) = out.sends
    assert (at, to) == (1_000, "switch") and isinstance(pay, ReqPay)
    assert (pay.payer, pay.payee, pay.amount) == (VICTIM.vpa, MULE_USER.vpa, 8_000_00)
    (label,) = truth(out.records)
    assert label == FraudTruthRow(pay.txn_id, AUTHORISED_PUSH, 7, "victim", "mule", "theft", "")
    # an ordinary payment of the same victim is not labelled
    out = ref.ask(Deliver([envelope(StartPayment(VICTIM.vpa, NEXT, Paise(100)), at=2_000)]))
    assert len(out.sends) == 1 and truth(out.records) == []
    ref.stop()


def test_a_mule_passes_most_of_a_credit_on_within_minutes_split_over_its_hops() -> None:
    plan = Forwarding(3, "fan_out", (NEXT, CASH), (False, True), share=0.9, delay_ms=60_000)
    c = cohort(Crime(mules={MULE_USER.vpa: plan}, until=3_600_000))
    credit = ReqTxnConfirmation(TxnId("T1"), VICTIM.vpa, MULE_USER.vpa, Paise(10_000_00))
    assert c.deliver([envelope(credit, at=0, sender="switch")]).sends == []
    out = c.advance(120_001)  # within 0.5 to 1.5 times its delay
    pays = [m for *_, m in out.sends if isinstance(m, ReqPay)]
    assert [(p.payer, p.payee, p.amount) for p in pays] == [
        (MULE_USER.vpa, NEXT, 4_500_00),
        (MULE_USER.vpa, CASH, 4_500_00),
    ]
    labels = truth(out.records)
    assert [(t.payer_role, t.payee_role, t.stage, t.pattern) for t in labels] == [
        ("mule", "mule", "layering", "fan_out"),
        ("mule", "cash_out", "cash_out", "fan_out"),
    ]
    assert [t.txn_id for t in labels] == [p.txn_id for p in pays]


def test_a_mule_holds_what_comes_in_and_passes_it_on_in_one_go() -> None:
    plan = Forwarding(3, "chain", (NEXT,), (False,), share=0.9, delay_ms=60_000)
    c = cohort(Crime(mules={MULE_USER.vpa: plan}, until=3_600_000))
    for i, at in enumerate((0, 10_000, 20_000)):  # three victims pay within seconds
        credit = ReqTxnConfirmation(TxnId(f"T{i}"), VICTIM.vpa, MULE_USER.vpa, Paise(1_000_00))
        c.deliver([envelope(credit, at=at, sender="switch")])
    out = c.advance(200_000)
    pays = [m for *_, m in out.sends if isinstance(m, ReqPay)]
    assert [(p.payee, p.amount) for p in pays] == [(NEXT, 2_700_00)]  # 90% of the three


def test_a_mule_stops_once_the_day_is_over_and_never_passes_on_crumbs() -> None:
    plan = Forwarding(3, "cycle", (NEXT,), (False,), delay_ms=60_000)
    c = cohort(Crime(mules={MULE_USER.vpa: plan}, until=10_000))
    big = ReqTxnConfirmation(TxnId("T1"), VICTIM.vpa, MULE_USER.vpa, Paise(10_000_00))
    c.deliver([envelope(big, at=0, sender="switch")])
    assert c.advance(200_000).sends == []  # its forward would land after the day
    late = cohort(Crime(mules={MULE_USER.vpa: plan}, until=10**9))
    crumbs = ReqTxnConfirmation(TxnId("T2"), VICTIM.vpa, MULE_USER.vpa, Paise(99_00))
    late.deliver([envelope(crumbs, at=0, sender="switch")])
    assert late.advance(200_000).sends == []


def test_a_fraudster_asks_a_stranger_and_the_scams_victim_approves(actors: None) -> None:
    ask = Act(9, COLLECT_SCAM, SHOP.vpa, VICTIM.vpa, FRAUDSTER, 3_000_00, UPI_COLLECT)
    crime = Crime(((500, ask),), scams={(VICTIM.vpa, SHOP.vpa): (9, 1.0)}, until=60_000)
    ref = LogicActor.start(cohort(crime))
    out = ref.ask(Deliver([], until=501), timeout=5)
    ((*_, request),) = out.sends
    assert isinstance(request, ReqPayCollect) and request.payee == SHOP.vpa
    (label,) = truth(out.records)
    assert (label.typology, label.payer_role, label.payee_role) == (
        COLLECT_SCAM,
        "victim",
        "fraudster",
    )
    # the victim, called first, approves the fraudster's request
    prompt = ReqAuthDetails(request.txn_id, VICTIM.vpa, SHOP.vpa, Paise(3_000_00))
    ref.ask(Deliver([envelope(prompt, at=600, sender="switch")]), timeout=5)
    out = ref.ask(Deliver([], until=10_000_000), timeout=5)
    answers = [m for *_, m in out.sends if isinstance(m, RespAuthDetails)]
    assert [a.code for a in answers] == ["00"]
    ref.stop()


def test_a_victim_who_notices_a_stolen_payment_stops_the_rest_of_the_case() -> None:
    acts = tuple(
        (
            1_000 * (i + 1),
            Act(5, AUTHORISED_PUSH, VICTIM.vpa, MULE_USER.vpa, MULE, 100_00, UPI_PUSH),
        )
        for i in range(3)
    )
    for notice, expected in ((1.0, 1), (0.0, 3)):
        c = cohort(Crime(acts, until=60_000, notice=notice))
        sent = [m for *_, m in c.advance(1_001).sends if isinstance(m, ReqPay)]
        told = RespPay(sent[0].txn_id, VICTIM.vpa, Paise(100_00), Result.SUCCESS, "00", "00",
                       MULE_USER.vpa)  # fmt: skip
        c.deliver([envelope(told, at=1_500, sender="switch")])
        sent += [m for *_, m in c.advance(10_000).sends if isinstance(m, ReqPay)]
        assert len(sent) == expected, notice


def test_a_victim_who_notices_may_report_and_the_payees_app_names_the_account() -> None:
    act = Act(5, AUTHORISED_PUSH, VICTIM.vpa, MULE_USER.vpa, MULE, 100_00, UPI_PUSH)
    for report, expected in ((1.0, 1), (0.0, 0)):
        c = cohort(Crime(((1_000, act),), until=10_000_000, notice=1.0, report=report,
                         report_ms=60_000))  # fmt: skip
        (pay,) = [m for *_, m in c.advance(1_001).sends if isinstance(m, ReqPay)]
        told = RespPay(pay.txn_id, VICTIM.vpa, Paise(100_00), Result.SUCCESS, "00", "00",
                       MULE_USER.vpa)  # fmt: skip
        c.deliver([envelope(told, at=1_500, sender="switch")])
        early = [m for *_, m in c.advance(31_000).sends if isinstance(m, ReqFraudReport)]
        later = [(to, m) for *_, to, m in c.advance(200_000).sends if isinstance(m, ReqFraudReport)]
        assert early == []  # half to one and a half report_ms later
        assert (
            later == [("switch", ReqFraudReport(pay.txn_id, VICTIM.vpa, MULE_USER.vpa))] * expected
        )
    # the mule's cohort, as the payee's app, tells the switch which account it is
    out = c.deliver([envelope(ReqFraudReport(pay.txn_id, VICTIM.vpa, MULE_USER.vpa), at=300_000,
                              sender="switch")])  # fmt: skip
    assert [m for *_, m in out.sends] == [
        RespFraudReport(pay.txn_id, MULE_USER.vpa, MULE_USER.bank, MULE_USER.account)
    ]
