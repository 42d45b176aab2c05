"""Generated-load draws: who pays whom, how much, by which method, with which PIN."""

from __future__ import annotations

import numpy as np
import pytest

from upisim.actors.load import Behaviour, Draws
from upisim.actors.methods import (
    CREDIT_CARD,
    DEBIT_CARD,
    DEFAULT_METHODS,
    NET_BANKING,
    PUSH_METHODS,
    UPI_PUSH,
)
from upisim.actors.types import BankCode, Paise, Vpa
from upisim.actors.user import User


def person(i: int, card: bool = False, merchant: bool = False) -> User:
    return User(f"P{i}", Vpa(f"p{i}@oksbi"), BankCode("SBI"), f"S{i}", "1234", merchant, card)


PEOPLE = [person(i) for i in range(10)]
SHOPS = [person(i, merchant=True) for i in range(10, 20)]
EVERYONE = tuple(u.vpa for u in PEOPLE + SHOPS)
MERCHANTS = frozenset(u.vpa for u in SHOPS)
ALL_PUSH = tuple((m, 1.0) for m in PUSH_METHODS)  # UPI_PUSH, DEBIT_CARD, CREDIT_CARD, NET_BANKING


def draws(
    seed: int = 1,
    payees: tuple[Vpa, ...] = EVERYONE,
    merchants: frozenset[Vpa] = MERCHANTS,
    **behaviour: object,
) -> Draws:
    return Draws(
        np.random.default_rng(seed),
        Behaviour(**behaviour),  # type: ignore[arg-type]
        payees,
        merchants,
        DEFAULT_METHODS,
    )


def test_same_seed_same_batches_other_seed_other_batches() -> None:
    a, b, c = draws(7, method_mix=ALL_PUSH), draws(7, method_mix=ALL_PUSH), draws(8)
    first = a.payments(200, PEOPLE)
    assert first == b.payments(200, PEOPLE)
    assert a.payments(200, PEOPLE) == b.payments(200, PEOPLE)  # and the next batch too
    assert first != c.payments(200, PEOPLE)
    assert a.collects(50, 3) == b.collects(50, 3)
    assert (a.uniform(), a.think_ms(500)) == (b.uniform(), b.think_ms(500))


@pytest.mark.parametrize("p2m_share", [None, 0.0, 0.5, 1.0])
def test_nobody_pays_themselves_even_with_two_payees(p2m_share: float | None) -> None:
    rahul, priya = person(1), person(2, merchant=True)
    payees = (rahul.vpa, priya.vpa)
    d = draws(3, payees, frozenset({priya.vpa}), p2m_share=p2m_share)
    batch = d.payments(500, [rahul, priya])
    payers = [(rahul, priya)[i].vpa for i in batch.payers]
    assert set(batch.payers) == {0, 1}
    for payer, payee in zip(payers, batch.payees, strict=True):
        assert payee == (priya.vpa if payer == rahul.vpa else rahul.vpa)


def test_batch_has_one_entry_per_payment() -> None:
    batch = draws(method_mix=ALL_PUSH).payments(64, PEOPLE)
    assert batch.picks is not None
    for column in batch:
        assert len(column) == 64  # type: ignore[arg-type]
    assert all(0 <= u < 1 for u in batch.picks)
    assert all(0 <= i < len(PEOPLE) for i in batch.payers)
    assert draws().payments(64, PEOPLE).picks is None  # UPI push only: nothing to pick


def test_amounts_are_whole_rupees_within_the_range() -> None:
    d = draws(
        median_amount=Paise(500_00),
        amount_sigma=2.0,
        min_amount=Paise(50_00),
        max_amount=Paise(2_000_00),
    )
    amounts = d.amounts(5_000)
    assert len(amounts) == 5_000
    assert all(type(a) is int and a % 100 == 0 for a in amounts)
    assert min(amounts) == 50_00 and max(amounts) == 2_000_00  # wide sigma: both ends clamp
    assert sum(50_00 < a < 2_000_00 for a in amounts) > 2_500  # most are drawn, not clamped
    batch = d.payments(1_000, PEOPLE)
    assert all(50_00 <= a <= 2_000_00 and a % 100 == 0 for a in batch.amounts)


def test_amounts_center_on_the_median() -> None:
    amounts = draws(median_amount=Paise(350_00), amount_sigma=0.5).amounts(10_000)
    assert np.median(amounts) == pytest.approx(350_00, rel=0.03)
    fixed = draws(median_amount=Paise(350_00), amount_sigma=0.0).amounts(10)
    assert fixed == [350_00] * 10


@pytest.mark.parametrize("share", [0.1, 0.3, 0.75])
def test_the_p2m_share_of_payments_goes_to_merchants(share: float) -> None:
    batch = draws(5, p2m_share=share).payments(20_000, PEOPLE)
    to_shops = sum(payee in MERCHANTS for payee in batch.payees) / 20_000
    assert to_shops == pytest.approx(share, abs=0.015)


def test_p2m_share_zero_and_one_are_exact() -> None:
    assert not any(p in MERCHANTS for p in draws(p2m_share=0.0).payments(2_000, PEOPLE).payees)
    assert all(p in MERCHANTS for p in draws(p2m_share=1.0).payments(2_000, PEOPLE).payees)
    # a merchant paying merchants only never pays itself either
    batch = draws(p2m_share=1.0).payments(2_000, SHOPS)
    assert all(p in MERCHANTS for p in batch.payees)
    assert all(SHOPS[i].vpa != p for i, p in zip(batch.payers, batch.payees, strict=True))


def test_without_a_share_payees_are_drawn_from_everyone() -> None:
    batch = draws(2).payments(20_000, PEOPLE)
    # half are merchants; the 1 in 20 who drew themselves draw again among the 19 others
    expected = 0.5 + 1 / 20 * 10 / 19
    assert sum(p in MERCHANTS for p in batch.payees) / 20_000 == pytest.approx(expected, abs=0.01)
    assert set(batch.payees) == set(EVERYONE)


U = [i / 100 for i in range(100)]


def test_a_person_payee_never_gets_a_merchant_only_method() -> None:
    d = draws(method_mix=ALL_PUSH)
    payee = PEOPLE[1].vpa
    chosen = {d.method(person(0, card=True), payee, u) for u in U}
    assert chosen == {UPI_PUSH, NET_BANKING}
    assert d.method(person(0, card=True), payee, 0.49) == UPI_PUSH  # half the weight each
    assert d.method(person(0, card=True), payee, 0.5) == NET_BANKING


def test_a_payer_without_a_card_never_pays_by_credit_card() -> None:
    d = draws(method_mix=ALL_PUSH)
    shop = SHOPS[0].vpa
    assert {d.method(person(0), shop, u) for u in U} == {UPI_PUSH, DEBIT_CARD, NET_BANKING}
    assert {d.method(person(0, card=True), shop, u) for u in U} == set(PUSH_METHODS)


def test_the_method_follows_the_weights_among_those_allowed() -> None:
    d = draws(method_mix=((UPI_PUSH, 1.0), (DEBIT_CARD, 1.0), (CREDIT_CARD, 2.0)))
    holder, shop = person(0, card=True), SHOPS[0].vpa
    picked = [d.method(holder, shop, u) for u in U]
    assert [picked.count(m) for m in (UPI_PUSH, DEBIT_CARD, CREDIT_CARD)] == [25, 25, 50]
    assert d.method(holder, shop, 0.999999) == CREDIT_CARD


def test_no_allowed_method_falls_back_to_upi_push() -> None:
    d = draws(method_mix=((DEBIT_CARD, 1.0), (CREDIT_CARD, 1.0)))
    assert {d.method(person(0, card=True), PEOPLE[1].vpa, u) for u in U} == {UPI_PUSH}
    assert {d.method(person(0), SHOPS[0].vpa, u) for u in U} == {DEBIT_CARD}


def test_zero_weight_methods_are_never_picked() -> None:
    d = draws(method_mix=((UPI_PUSH, 1.0), (NET_BANKING, 0.0)))
    assert {d.method(person(0), PEOPLE[1].vpa, u) for u in U} == {UPI_PUSH}
    assert d.payments(10, PEOPLE).picks is None  # only UPI push is left in the mix


@pytest.mark.parametrize(("rate", "expected"), [(0.0, False), (1.0, True)])
def test_wrong_pin_rate_zero_none_one_all(rate: float, expected: bool) -> None:
    assert draws(wrong_pin_rate=rate).payments(1_000, PEOPLE).wrong_pin == [expected] * 1_000


def test_wrong_pin_rate_in_between_mistypes_about_that_share() -> None:
    wrong = draws(wrong_pin_rate=0.2).payments(20_000, PEOPLE).wrong_pin
    assert sum(wrong) / 20_000 == pytest.approx(0.2, abs=0.015)


def test_collects_pick_askers_and_payees_by_index() -> None:
    askers, targets, amounts = draws().collects(500, 3)
    assert set(askers) == {0, 1, 2}
    assert set(targets) == set(range(len(EVERYONE)))
    assert len(amounts) == 500 and all(a % 100 == 0 for a in amounts)


def test_think_time_is_at_least_one_ms() -> None:
    d = draws()
    times = [d.think_ms(0) for _ in range(10)]
    assert times == [1] * 10
    assert np.mean([d.think_ms(1_000) for _ in range(5_000)]) == pytest.approx(1_001, rel=0.05)


def test_each_payers_bank_has_its_own_wrong_pin_habit() -> None:
    hdfc = [
        User(f"H{i}", Vpa(f"h{i}@okhdfcbank"), BankCode("HDFC"), f"H{i}", "1234") for i in range(10)
    ]
    d = draws(3, wrong_pin_rate=0.02, wrong_pin_by_bank=(("HDFC", 0.3),))
    batch = d.payments(40_000, PEOPLE + hdfc)
    payers = PEOPLE + hdfc
    by_bank: dict[str, list[bool]] = {"SBI": [], "HDFC": []}
    for i, wrong in zip(batch.payers, batch.wrong_pin, strict=True):
        by_bank[payers[i].bank].append(wrong)
    assert np.mean(by_bank["HDFC"]) == pytest.approx(0.3, abs=0.015)  # its own habit
    assert np.mean(by_bank["SBI"]) == pytest.approx(0.02, abs=0.005)  # the load's rate
