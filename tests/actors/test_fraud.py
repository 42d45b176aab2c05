from __future__ import annotations

import random

import pytest

from upisim.actors import codes
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.fraud import (
    ALLOW,
    BENEFICIARY,
    DECLINE,
    FLAG,
    REMITTER,
    FraudMonitor,
    FraudRules,
)
from upisim.actors.messages import CollectAsked, ReqRiskScore, RespRiskScore, RiskRelease
from upisim.actors.types import DAY, HOUR, MINUTE, Paise, SimTime, TxnId, Vpa
from upisim.runfolder import EventRow

A = Vpa("rahul@okhdfcbank")


def score(monitor: FraudMonitor, amount: int, at: int = 0, payer: Vpa = A) -> RespRiskScore:
    out = monitor.deliver(
        [
            envelope(
                ReqRiskScore(TxnId(f"T{at}"), payer, Vpa("p@x"), Paise(amount)),
                at=at,
                sender="switch",
            )
        ]
    )
    ((_, _, _, to, reply),) = out.sends
    assert to == "switch"
    return reply  # type: ignore[no-any-return]


def test_small_payment_is_allowed() -> None:
    assert score(FraudMonitor(), 500_00).decision == ALLOW


def test_fifty_thousand_or_more_is_flagged_not_blocked_by_default() -> None:
    m = FraudMonitor()
    assert score(m, 49_999_99).decision == ALLOW
    reply = score(m, 50_000_00, at=1)
    assert (reply.decision, reply.rules) == (FLAG, ("HIGH_VALUE",))


def test_high_value_can_be_made_a_decline() -> None:
    m = FraudMonitor(FraudRules(high_value_action="decline"))
    assert score(m, 60_000_00).decision == DECLINE


def test_daily_cap_declines_past_one_lakh_and_resets_next_day() -> None:
    m = FraudMonitor(FraudRules(high_value=Paise(10**12)))
    assert score(m, 60_000_00).decision == ALLOW
    assert score(m, 40_000_00, at=1).decision == ALLOW  # exactly ₹1,00,000
    reply = score(m, 1, at=2)
    assert (reply.decision, reply.rules) == (DECLINE, ("DAILY_CAP",))
    assert score(m, 60_000_00, at=DAY).decision == ALLOW


def test_velocity_declines_the_eleventh_payment_in_an_hour() -> None:
    m = FraudMonitor()
    for i in range(10):
        assert score(m, 100, at=i * MINUTE).decision == ALLOW
    assert score(m, 100, at=10 * MINUTE).rules == ("VELOCITY",)
    assert score(m, 100, at=HOUR + 1).decision == ALLOW  # the first one left the window


def test_velocity_keeps_no_more_times_than_it_counts_to_and_still_counts_right() -> None:
    m = FraudMonitor(FraudRules(velocity_per_hour=3, velocity_action="flag"))
    flagged = [score(m, 100, at=i).rules == ("VELOCITY",) for i in range(10)]
    assert flagged == [False] * 3 + [True] * 7  # flagged, still counted: ten in the hour
    assert m.window_count(A, SimTime(10)) == 3  # the last three are all the rule needs
    assert score(m, 100, at=HOUR + 6).rules == ("VELOCITY",)  # 7, 8 and 9 in its hour
    assert score(m, 100, at=HOUR + 9).rules == ()  # of those only the one at HOUR + 6 is


def test_declined_payments_do_not_count_towards_the_windows() -> None:
    m = FraudMonitor(FraudRules(velocity_per_hour=1))
    assert score(m, 100).decision == ALLOW
    for i in range(5):
        assert score(m, 100, at=i + 1).decision == DECLINE
    assert m.window_count(A, SimTime(10)) == 1


def test_release_gives_back_a_failed_payments_amount() -> None:
    m = FraudMonitor()
    score(m, 90_000_00)
    m.deliver([envelope(RiskRelease(TxnId("T0"), A, Paise(90_000_00), SimTime(0)), at=5)])
    assert m.day_amount(A) == 0
    assert score(m, 90_000_00, at=6).decision in (ALLOW, FLAG)


def test_rules_are_recorded_as_events() -> None:
    m = FraudMonitor()
    out = m.deliver([envelope(ReqRiskScore(TxnId("T1"), A, Vpa("p@x"), Paise(50_000_00)))])
    (row,) = out.records
    assert isinstance(row, EventRow) and row.kind == "FRAUD_FLAG" and row.detail == "HIGH_VALUE"


def test_the_monitor_never_moves_money_it_only_answers_the_switch(actors: None) -> None:
    ref = LogicActor.start(FraudMonitor())
    msgs = [
        envelope(ReqRiskScore(TxnId(f"T{i}"), A, Vpa("p@x"), Paise(100)), at=i) for i in range(12)
    ]
    out = ref.ask(Deliver(msgs), timeout=5)
    decisions = [m.decision for *_, to, m in out.sends]
    assert decisions == [ALLOW] * 10 + [DECLINE] * 2
    assert {to for *_, to, _ in out.sends} == {"test"}
    assert out.gauges is None


def test_a_refund_is_allowed_unscored_and_never_counts_as_the_merchants_spending() -> None:
    m = FraudMonitor(FraudRules(velocity_per_hour=2))
    shop = Vpa("shop@x")
    for i in range(5):
        refund = ReqRiskScore(TxnId(f"R{i}"), shop, Vpa("p@x"), Paise(90_000_00), refund=True)
        out = m.deliver([envelope(refund, at=i)])
        assert out.sends[0][4] == RespRiskScore(TxnId(f"R{i}"), ALLOW, ())
        assert out.records == []  # no rule fired, nothing flagged
    assert m.window_count(shop, SimTime(10)) == 0 and m.day_amount(shop) == 0
    assert score(m, 1_00, at=20).decision == ALLOW  # the shop's own first payment


def risk(
    m: FraudMonitor, payer: str, payee: str, amount: int, at: int, txn: str = ""
) -> RespRiskScore:
    ask = ReqRiskScore(TxnId(txn or f"T{payer}{payee}{at}"), Vpa(payer), Vpa(payee), Paise(amount))
    ((*_, reply),) = m.deliver([envelope(ask, at=at, sender="switch")]).sends
    return reply  # type: ignore[no-any-return]


def test_a_first_high_payment_to_a_new_payee_is_flagged_not_a_second() -> None:
    m = FraudMonitor(FraudRules(new_payee_action="flag"))
    assert risk(m, "a@x", "b@x", 9_999_00, 0).decision == ALLOW  # under ₹10,000
    assert risk(m, "a@x", "c@x", 10_000_00, 10).rules == ("NEW_PAYEE",)
    assert risk(m, "a@x", "c@x", 20_000_00, 20).decision == ALLOW  # paid before


def test_many_distinct_payers_into_one_payee_within_the_hour_is_fan_in() -> None:
    m = FraudMonitor(FraudRules(fan_in_action="decline", fan_in_payers=3))
    assert risk(m, "a@x", "mule@x", 100_00, 0).decision == ALLOW
    assert risk(m, "a@x", "mule@x", 100_00, 1).decision == ALLOW  # the same payer again
    assert risk(m, "b@x", "mule@x", 100_00, 2).decision == ALLOW
    reply = risk(m, "c@x", "mule@x", 100_00, 3)  # a third distinct payer
    assert (reply.decision, reply.rules) == (DECLINE, ("FAN_IN",))
    assert risk(m, "d@x", "mule@x", 100_00, HOUR + 10).decision == ALLOW  # an hour on


def test_passing_on_most_of_what_came_in_minutes_ago_is_forwarding() -> None:
    m = FraudMonitor(FraudRules(forward_action="flag"))
    assert risk(m, "victim@x", "mule@x", 10_000_00, 0).decision == ALLOW
    assert risk(m, "mule@x", "next@x", 10_500_00, MINUTE).decision == ALLOW  # more than came
    assert risk(m, "mule@x", "next@x", 7_000_00, 5 * MINUTE).decision == ALLOW  # 70%
    assert risk(m, "mule@x", "next@x", 8_000_00, 6 * MINUTE).rules == ("FORWARDING",)
    assert risk(m, "mule@x", "next@x", 9_000_00, 31 * MINUTE).decision == ALLOW  # too late


def test_a_declined_payment_counts_in_no_window() -> None:
    m = FraudMonitor(FraudRules(fan_in_action="decline", fan_in_payers=2, velocity_per_hour=1))
    risk(m, "a@x", "mule@x", 100_00, 0)
    assert risk(m, "b@x", "mule@x", 100_00, 1).decision == DECLINE  # fan-in
    assert m.window_count(Vpa("b@x"), SimTime(2)) == 0  # nor in the velocity window


def tell(m: FraudMonitor, message: object, at: int) -> None:
    assert m.deliver([envelope(message, at=at, sender="switch")]).sends == []


def test_collects_asked_of_many_strangers_mark_payments_to_the_asker() -> None:
    m = FraudMonitor(FraudRules(collect_strangers_action="flag", collect_strangers=3))
    assert risk(m, "friend@x", "asker@x", 100_00, 0).decision == ALLOW  # they have dealt
    tell(m, CollectAsked(TxnId("C0"), Vpa("asker@x"), Vpa("friend@x")), 1)  # not a stranger
    for i, payer in enumerate(("s1@x", "s2@x", "s2@x")):  # two strangers, one asked twice
        tell(m, CollectAsked(TxnId(f"C{i + 1}"), Vpa("asker@x"), Vpa(payer)), 2 + i)
    assert risk(m, "s1@x", "asker@x", 500_00, 10).decision == ALLOW
    tell(m, CollectAsked(TxnId("C9"), Vpa("asker@x"), Vpa("s3@x")), 11)  # a third stranger
    reply = risk(m, "s2@x", "asker@x", 500_00, 12)
    assert (reply.decision, reply.rules) == (FLAG, ("COLLECT_STRANGERS",))
    assert risk(m, "s3@x", "asker@x", 500_00, HOUR + 12).decision == ALLOW  # an hour on


def test_paying_after_a_streak_of_wrong_pins_is_a_pin_burst() -> None:
    m = FraudMonitor(FraudRules(pin_burst_action="decline", pin_streak=2))
    wrong = RiskRelease(TxnId("W1"), A, Paise(100_00), SimTime(0), codes.INVALID_PIN)
    tell(m, wrong, 1)
    tell(m, RiskRelease(TxnId("F1"), A, Paise(100_00), SimTime(0), codes.INSUFFICIENT_FUNDS), 2)
    assert risk(m, A, "shop@x", 100_00, 3).decision == ALLOW  # one wrong PIN is a slip
    tell(m, wrong._replace(txn_id=TxnId("W2")), 4)
    reply = risk(m, A, "mule@x", 5_000_00, 5)
    assert (reply.decision, reply.rules) == (DECLINE, ("PIN_BURST",))
    assert risk(m, A, "mule@x", 5_000_00, HOUR + 2).decision == ALLOW  # the streak is old


def test_a_rule_may_leave_the_decline_to_the_remitter_or_the_beneficiary_bank() -> None:
    for action, decision in (("remitter", REMITTER), ("beneficiary", BENEFICIARY)):
        m = FraudMonitor(FraudRules(high_value_action=action))  # type: ignore[arg-type]
        out = m.deliver([envelope(ReqRiskScore(TxnId("T1"), A, Vpa("p@x"), Paise(60_000_00)))])
        assert out.sends[0][4] == RespRiskScore(TxnId("T1"), decision, ("HIGH_VALUE",))
        (row,) = out.records
        assert isinstance(row, EventRow) and row.kind == "FRAUD_REFERRED"
        assert m.day_amount(A) == 60_000_00  # allowed by NPCI: the bank's answer releases it
    both = FraudRules(high_value_action="beneficiary", new_payee_action="remitter")
    reply = score(FraudMonitor(both), 60_000_00)  # the remitter bank acts first
    assert (reply.decision, reply.rules) == (REMITTER, ("HIGH_VALUE", "NEW_PAYEE"))
    npci = FraudRules(high_value_action="remitter", new_payee_action="decline")
    assert score(FraudMonitor(npci), 60_000_00).decision == DECLINE  # NPCI's own comes first


@pytest.mark.parametrize(
    "rules",
    [
        FraudRules(velocity_per_hour=3, daily_cap=Paise(3_000_00), high_value=Paise(2_000_00)),
        FraudRules(
            velocity_per_hour=2,
            velocity_action="flag",
            daily_cap=Paise(2_500_00),
            daily_cap_action="remitter",
            high_value=Paise(1_500_00),
        ),
        FraudRules(
            velocity_per_hour=4,
            new_payee_action="flag",
            fan_in_action="decline",
            fan_in_payers=3,
            new_payee_amount=Paise(1_000_00),
        ),
    ],
)
def test_runs_of_risk_scores_are_scored_as_each_on_its_own_would_be(rules: FraudRules) -> None:
    """The grouped path (a window's run of ReqRiskScore at once) against the reference path
    (each on its own): replays, refunds, releases, rules firing, hours and days passing."""
    rng = random.Random(11)
    grouped, reference = FraudMonitor(rules), FraudMonitor(rules)
    reference.grouped = False
    people = [Vpa(f"u{i}@x") for i in range(5)]
    asked: list[ReqRiskScore] = []
    t = 0
    for _ in range(400):
        batch = []
        for seq in range(rng.randint(1, 14)):
            t += rng.choice((0, 0, 1, 7, 300, 20 * MINUTE, 2 * HOUR, DAY))
            r = rng.random()
            message: ReqRiskScore | RiskRelease
            if asked and r < 0.1:
                message = rng.choice(asked)  # a replay
            elif asked and r < 0.2:
                earlier = rng.choice(asked)
                message = RiskRelease(earlier.txn_id, earlier.payer, earlier.amount, SimTime(t))
            else:
                message = ReqRiskScore(
                    TxnId(f"UPS00001T{len(asked):011d}"),
                    rng.choice(people),
                    rng.choice(people),
                    Paise(rng.choice((1, 500_00, 1_000_00, 1_400_00, 1_600_00))),
                    refund=rng.random() < 0.1,
                )
                asked.append(message)
            batch.append(envelope(message, at=t, sender="switch", seq=seq))
        assert grouped.deliver(batch, until=t + 1) == reference.deliver(batch, until=t + 1)
        assert grouped._payers == reference._payers  # the windows, kept the same way
    assert grouped.replays == reference.replays
    assert grouped.replays > 0
