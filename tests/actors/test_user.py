from __future__ import annotations

from upisim.actors import codes
from upisim.actors.app import RateLimits
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.load import Behaviour
from upisim.actors.messages import (
    ReqAuthDetails,
    ReqPay,
    RespAuthDetails,
    RespPay,
    StartPayment,
    StartPayments,
)
from upisim.actors.records import pin_block
from upisim.actors.types import MINUTE, BankCode, Paise, TxnId, Vpa
from upisim.actors.user import User, UserCohort
from upisim.runfolder import EventRow, TransactionRow

USERS = [
    User("Rahul Sharma", Vpa("rahul@okhdfcbank"), BankCode("HDFC"), "H1", "1234"),
    User("Priya Patel", Vpa("priya@oksbi"), BankCode("SBI"), "S1", "2345"),
]
EVERYONE = (*tuple(u.vpa for u in USERS), Vpa("amit@okicici"))


def cohort(seed: int = 1, limits: RateLimits | None = None, **behaviour: object) -> UserCohort:
    return UserCohort(
        0,
        USERS,
        EVERYONE,
        Behaviour(**behaviour),
        seed,  # type: ignore[arg-type]
        limits or RateLimits(0, 0),
    )


def sent(c: UserCohort, message: object, at: int = 0) -> list[tuple[str, object]]:
    return [(to, m) for *_, to, m in c.deliver([envelope(message, at=at)]).sends]


def test_generated_payments_are_well_formed_and_never_to_oneself() -> None:
    c = cohort(min_amount=Paise(10_00), max_amount=Paise(900_00))
    out = sent(c, StartPayments(500))
    assert len(out) == 500
    ids = set()
    for to, msg in out:
        assert to == "switch" and isinstance(msg, ReqPay)
        assert msg.payer != msg.payee
        assert 10_00 <= msg.amount <= 900_00 and msg.amount % 100 == 0
        user = next(u for u in USERS if u.vpa == msg.payer)
        assert msg.cred == pin_block(user.vpa, user.pin)
        assert msg.txn_id.isalnum() and len(msg.txn_id) <= 35
        ids.add(msg.txn_id)
    assert len(ids) == 500


def test_same_seed_same_payments_other_seed_other_payments() -> None:
    assert sent(cohort(1), StartPayments(50)) == sent(cohort(1), StartPayments(50))
    assert sent(cohort(1), StartPayments(50)) != sent(cohort(2), StartPayments(50))


def test_wrong_pin_rate_sends_wrong_pin_blocks() -> None:
    out = sent(cohort(wrong_pin_rate=1.0), StartPayments(5))
    assert all(m.cred != pin_block(m.payer, "1234") for _, m in out)  # type: ignore[attr-defined]


def test_scripted_payment_with_a_typed_pin() -> None:
    ((_, msg),) = sent(
        cohort(), StartPayment(USERS[0].vpa, Vpa("amit@okicici"), Paise(123), "0000")
    )
    assert isinstance(msg, ReqPay)
    assert msg.cred == pin_block("rahul@okhdfcbank", "0000") and msg.amount == 123


def test_scripted_payment_from_a_stranger_is_an_event_not_a_crash() -> None:
    c = cohort()
    out = c.deliver([envelope(StartPayment(Vpa("ghost@x"), USERS[0].vpa, Paise(1)))])
    assert out.sends == [] and out.records[0].kind == "UNKNOWN_PAYER"


def test_resolves_the_vpas_it_hosts_and_only_those() -> None:
    c = cohort()
    assert sent(c, ReqAuthDetails(TxnId("T1"), Vpa("priya@oksbi"))) == [
        ("test", RespAuthDetails(TxnId("T1"), Vpa("priya@oksbi"), "00", BankCode("SBI"), "S1"))
    ]
    ((_, reply),) = sent(c, ReqAuthDetails(TxnId("T2"), Vpa("amit@okicici")))
    assert reply.code == codes.INVALID_VPA  # type: ignore[attr-defined]


def test_started_user_actor_counts_its_notifications(actors: None) -> None:
    c = cohort()
    ref = LogicActor.start(c)
    resp = RespPay(TxnId("T1"), USERS[0].vpa, Paise(1), "FAILURE", "U30", "Z9")
    out = ref.ask(Deliver([envelope(resp), envelope(StartPayments(2), at=1)]), timeout=5)
    assert len(out.sends) == 2
    ref.stop()
    assert c.outcomes["Z9"] == 1 and c.notifications["DECLINED"] == 1


def test_rate_limits_refuse_at_the_psp_and_record_the_hit() -> None:
    c = cohort(limits=RateLimits(per_minute=5, per_hour=7))
    rahul, priya = USERS[0].vpa, USERS[1].vpa
    outs = [
        c.deliver([envelope(StartPayment(rahul, priya, Paise(100)), at=i * 1000)]) for i in range(8)
    ]
    assert [len(o.sends) for o in outs] == [1] * 5 + [0] * 3  # 6th-8th within the minute
    hit = outs[5].records
    assert hit[0] == EventRow(5000, "RATE_LIMIT", "users:0", hit[0].txn_id, rahul, "1m", 100)
    assert isinstance(hit[1], TransactionRow)
    row = hit[1]._asdict()
    assert (row["state"], row["response_code"], row["payer_vpa"]) == ("FAILED", "U86", rahul)
    # a minute later the minute window has room, the hour window has 2 left
    later = [
        c.deliver([envelope(StartPayment(rahul, priya, Paise(100)), at=MINUTE + 10_000 + i)])
        for i in range(3)
    ]
    assert [len(o.sends) for o in later] == [1, 1, 0]
    assert later[2].records[0].detail == "1h"
    # other users are not affected
    assert sent(c, StartPayment(priya, rahul, Paise(100)), at=MINUTE + 20_000)


def test_refused_payments_do_not_use_up_the_window() -> None:
    c = cohort(limits=RateLimits(per_minute=1, per_hour=0))
    rahul, priya = USERS[0].vpa, USERS[1].vpa
    results = [
        len(c.deliver([envelope(StartPayment(rahul, priya, Paise(1)), at=t)]).sends)
        for t in (0, 30_000, 59_999, 60_000)
    ]
    assert results == [1, 0, 0, 1]


def test_a_collect_request_is_answered_after_a_while_or_never() -> None:
    from upisim.actors.messages import CollectDecision
    from upisim.actors.user import CollectHabits

    answers = []
    for seed in range(40):
        c = UserCohort(
            0,
            USERS,
            EVERYONE,
            Behaviour(),
            seed,
            RateLimits(0, 0),
            CollectHabits(approve=0.5, decline=0.3, think_mean=5_000),
        )
        ask = ReqAuthDetails(TxnId("T1"), USERS[0].vpa, Vpa("shop@okicici"), Paise(40_00))
        out = c.deliver([envelope(ask, sender="switch")])
        assert out.sends == []  # nobody answers at once
        if out.wake_at is None:
            answers.append("ignored")
            continue
        later = c.advance(out.wake_at + 1)
        ((_, _, _, to, reply),) = later.sends
        assert to == "switch" and isinstance(reply, RespAuthDetails)
        if reply.code == "00":
            assert reply.cred == pin_block(USERS[0].vpa, "1234") and reply.account == "H1"
            answers.append("approved")
        else:
            assert reply.code == "ZA" and reply.cred == ""
            answers.append("declined")
        assert c.notifications["COLLECT_REQUEST"] == 1
    assert {"approved", "declined", "ignored"} == set(answers)
    assert CollectDecision  # the timer message is part of the public vocabulary


def test_merchants_send_collect_requests_to_others() -> None:
    from upisim.actors.messages import ReqPayCollect, StartCollects

    shop = User("Chai Point", Vpa("shop@okicici"), BankCode("ICICI"), "M1", "1111", True)
    c = UserCohort(0, [*USERS, shop], (*EVERYONE, shop.vpa), Behaviour(), 3, RateLimits(0, 0))
    out = c.deliver([envelope(StartCollects(30))])
    assert out.sends
    for *_, to, msg in out.sends:
        assert to == "switch" and isinstance(msg, ReqPayCollect)
        assert msg.payee == shop.vpa and msg.payer != shop.vpa and msg.payee_account == "M1"


def test_a_duplicate_refusal_is_not_the_payments_outcome_and_tells_the_user_nothing() -> None:
    c = cohort()
    rahul, priya = USERS[0].vpa, USERS[1].vpa
    refused = RespPay(TxnId("T1"), rahul, Paise(100), "DUPLICATE", "ZD", "ZD", priya)
    out = c.deliver([envelope(refused)])
    assert [r.kind for r in out.records] == ["DUPLICATE_REFUSED"]
    assert not c.outcomes and not c.notifications
