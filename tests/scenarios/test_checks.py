"""The run's invariant checks, on a world built from the quickstart and books set by hand."""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pytest

from upisim.actors import addresses, codes
from upisim.actors.bank import Books
from upisim.actors.base import envelope
from upisim.actors.messages import ReqPayDebit, RespPayLeg
from upisim.actors.methods import CREDIT_CARD
from upisim.actors.records import pin_block
from upisim.actors.types import BankCode, Paise, TxnId
from upisim.runfolder import Kind, MoneyRow, State
from upisim.scenarios.checks import (
    Ledger,
    Moved,
    RowsOf,
    accounts_table,
    moved,
    problems,
    unreconciled,
)
from upisim.scenarios.config import (
    bundled_scenarios,
    load_scenario,
    parse_scenario,
    resolved_dict,
)
from upisim.scenarios.world import World, build_world

if TYPE_CHECKING:
    pass

HDFC, ICICI, SBI = addresses.bank("HDFC"), addresses.bank("ICICI"), addresses.bank("SBI")
MONEY = 70_000_00  # the quickstart's four friends hold ₹70,000 between them
OPENING = {HDFC: Books(56_000_00, 0, 0), ICICI: Books(6_000_00, 0, 0), SBI: Books(8_000_00, 0, 0)}


@pytest.fixture
def world() -> World:
    return build_world(load_scenario(bundled_scenarios()["quickstart"]), 1)


def told(
    world: World, net: dict[str, int] | None = None, card: dict[str, int] | None = None
) -> Moved:
    """What :func:`unreconciled` reads: money in and out, card charges, by account row."""
    vpas = list(world.users.vpas)
    moves = Moved(np.zeros(len(vpas), np.int64), np.zeros(len(vpas), np.int64))
    for column, amounts in ((moves.net, net or {}), (moves.card, card or {})):
        for vpa, amount in amounts.items():
            column[vpas.index(vpa)] += amount
    return moves


def wrong(world: World, moves: Moved) -> int:
    """The accounts of ``world``'s table that do not match what ``moves`` says moved."""
    return unreconciled(accounts_table(world), moves)


def test_the_ledger_opens_with_every_banks_books_and_the_money_of_the_world(
    world: World,
) -> None:
    ledger = Ledger(world)
    assert world.money_start == MONEY
    assert ledger.money_start == MONEY
    assert ledger.total == MONEY
    assert ledger.books == OPENING
    assert (ledger.in_settlement, ledger.card_outstanding) == (0, 0)
    assert (ledger.max_deviation, ledger.checks) == (0, 0)


def test_money_in_settlement_and_card_debt_keep_the_total(world: World) -> None:
    ledger = Ledger(world)
    ledger.update(HDFC, Books(55_000_00, 1_000_00, 0))  # debited, not yet credited
    ledger.update(SBI, Books(8_500_00, -500_00, 0))  # credited, debited elsewhere
    ledger.update(ICICI, Books(6_200_00, 0, 200_00))  # ₹200 paid in from a credit card
    assert ledger.total == MONEY
    assert (ledger.in_settlement, ledger.card_outstanding) == (500_00, 200_00)
    ledger.check()
    assert (ledger.max_deviation, ledger.checks) == (0, 1)


def test_check_records_the_largest_deviation(world: World) -> None:
    ledger = Ledger(world)
    ledger.update(HDFC, Books(55_999_50, 0, 0))  # 50 paise vanished
    assert ledger.total == MONEY - 50
    ledger.check()
    assert (ledger.max_deviation, ledger.checks) == (50, 1)
    ledger.update(HDFC, Books(56_000_30, 0, 0))  # 30 paise appeared: smaller, either way
    ledger.check()
    assert (ledger.max_deviation, ledger.checks) == (50, 2)
    ledger.update(HDFC, OPENING[HDFC])  # back in balance: the worst is still remembered
    ledger.check()
    assert (ledger.max_deviation, ledger.checks) == (50, 3)
    assert ledger.total == MONEY


def test_update_alone_does_not_check(world: World) -> None:
    ledger = Ledger(world)
    ledger.update(SBI, Books(0, 0, 0))
    assert (ledger.max_deviation, ledger.checks) == (0, 0)
    ledger.check()
    assert ledger.max_deviation == 8_000_00


def test_sample_gives_one_row_per_bank_in_address_order(world: World) -> None:
    ledger = Ledger(world)
    ledger.update(SBI, Books(7_000_00, 1_000_00, 0, -400_00))
    assert ledger.sample(1_500) == [
        MoneyRow(1_500, "HDFC", 56_000_00, 0, 0, 0),
        MoneyRow(1_500, "ICICI", 6_000_00, 0, 0, 0),
        MoneyRow(1_500, "SBI", 7_000_00, 1_000_00, 0, -400_00),
    ]


def test_a_bank_not_square_after_its_last_cycle_is_a_problem_once_the_run_settled(
    world: World,
) -> None:
    ledger = Ledger(world)
    # SBI's customers paid ₹1,000 out; its cycles posted only ₹400 of it back
    ledger.update(SBI, Books(7_000_00, 1_000_00, 0, -400_00))
    ledger.update(HDFC, Books(57_000_00, -1_000_00, 0, 1_000_00))
    assert ledger.unsquare == {"SBI": 600_00}
    assert "SBI is not square after its last settlement cycle: off by 60000 paise" in problems(
        ledger, 0, 0
    )
    # a run stopped at its drain limit has cycles still open: that is the problem it reports
    assert not any("square" in p for p in problems(ledger, 0, 1))


def test_a_run_that_kept_every_invariant_has_no_problems(world: World) -> None:
    ledger = Ledger(world)
    ledger.check()
    assert problems(ledger, 0, 0) == []


def test_problems_name_a_broken_conservation(world: World) -> None:
    ledger = Ledger(world)
    ledger.update(ICICI, Books(5_999_00, 0, 0))
    ledger.check()
    assert problems(ledger, 0, 0) == [
        "conservation broken: money moved by up to 100 paise",
        f"money at end {MONEY - 100} != money at start {MONEY} paise",
    ]
    ledger.update(ICICI, OPENING[ICICI])  # the end balances, but a window did not
    assert problems(ledger, 0, 0) == ["conservation broken: money moved by up to 100 paise"]


def test_problems_name_money_left_in_settlement_only_with_nothing_in_flight(
    world: World,
) -> None:
    ledger = Ledger(world)
    ledger.update(HDFC, Books(55_000_00, 1_000_00, 0))
    assert problems(ledger, 0, 0) == ["100000 paise left in settlement with no payment in flight"]
    # a payment still in flight may hold it: that one is reported instead
    assert problems(ledger, 0, 2) == ["2 payment(s) still in flight after the drain limit"]


def test_problems_name_stuck_payments_and_unreconciled_accounts(world: World) -> None:
    ledger = Ledger(world)
    assert problems(ledger, 3, 1) == [
        "3 account(s) do not match the payments their owners were told about",
        "1 payment(s) still in flight after the drain limit",
    ]


def test_every_users_account_is_found_at_their_bank_and_no_other() -> None:
    listed = tomllib.loads(bundled_scenarios()["quickstart"].read_text())
    world_scenario = parse_scenario({**listed, "population": {"size": 3_000}}, "q")
    world = build_world(world_scenario, 1)
    assert len(world.users) == 3_004  # the four friends, then the population
    for user in world.users:
        for code, bank in world.banks.items():
            assert (user.account in bank.accounts) == (code == user.bank), (user, code)
    assert sum(len(bank.accounts) for bank in world.banks.values()) == len(world.users)
    # the PIN block the bank stores, made as the account opens, is what the app sends
    for user in world.users[:: 3_004 // 60]:
        book = world.banks[user.bank].accounts
        right = pin_block(user.vpa, user.pin)
        assert user.pin_hash == "" and user.credential() == right  # no block kept
        assert book.pin_ok(book.slot(user.account), right)
        assert not book.pin_ok(book.slot(user.account), pin_block(user.vpa, user.pin + "0"))
    # the run folder's scenario gives the listed users' blocks, not their PINs: the same
    again = build_world(parse_scenario(resolved_dict(world_scenario), "q"), 1)
    for user, before in zip(again.users[:4], world.users[:4], strict=True):
        assert (user.pin, user.pin_hash) == ("", before.credential())
        book = again.banks[user.bank].accounts
        assert book.pin_ok(book.slot(user.account), pin_block(before.vpa, before.pin))


def test_every_account_reconciles_before_anything_moved(world: World) -> None:
    assert wrong(world, told(world)) == 0
    assert wrong(world, told(world, net={"rahul@okhdfcbank": 1})) == 1
    assert wrong(world, told(world, net={"rahul@okhdfcbank": 1, "priya@oksbi": -1})) == 2
    assert wrong(world, told(world, card={"amit@okicici": 100})) == 1


def test_a_vpa_is_matched_to_its_accounts_row_by_its_number_or_as_listed() -> None:
    # two listed users (one with a number in its name), then rows 2 and 3 numbered
    vpas = pa.array(["shop3@okaxis", "ravi@ybl", "a.b2@ybl", "c.d3@okaxis"])
    rows_of = RowsOf(vpas, 2)
    asked = ["c.d3@okaxis", "shop3@okaxis", "ravi@ybl", "a.b2@ybl", "a.b02@ybl", "c.d3@ybl",
             "shop2@okaxis", "e.f4@ybl", "ravi1@ybl", "x" * 30 + "1" * 25 + "@ybl"]  # fmt: skip
    assert rows_of(pa.array(asked)).tolist() == [3, 0, 1, 2, -1, -1, -1, -1, -1, -1]


def test_moves_are_read_off_the_transactions_table_by_state_method_and_kind() -> None:
    accounts = pa.table({"vpa": ["amit@okicici", "a.b1@ybl", "c.d2@ybl"]})
    rows = [  # kind, method, state, payer, payee, amount
        ("PAY", "UPI", State.SUCCESS, "a.b1@ybl", "c.d2@ybl", 100),
        ("PAY", "UPI", State.DEEMED, "c.d2@ybl", "amit@okicici", 30),
        ("PAY", "UPI", State.FAILED, "a.b1@ybl", "c.d2@ybl", 1_000),  # moved nothing
        ("PAY", CREDIT_CARD, State.SUCCESS, "amit@okicici", "c.d2@ybl", 7),
        (Kind.REFUND, CREDIT_CARD, State.SUCCESS, "c.d2@ybl", "amit@okicici", 2),
        ("PAY", "UPI", State.SUCCESS, "a.b1@ybl", "nobody@ybl", 5),  # no account's: left out
    ]
    names = ["kind", "method", "state", "payer_vpa", "payee_vpa", "amount_paise"]
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    moves = moved(table, accounts, 1)
    assert moves.net.tolist() == [30, -105, 100 - 30 + 7 - 2]
    assert moves.card.tolist() == [7 - 2, 0, 0]


def test_a_debit_reconciles_when_its_owner_was_told_and_not_otherwise(world: World) -> None:
    rahul = next(u for u in world.users if u.vpa == "rahul@okhdfcbank")
    bank = world.banks[BankCode("HDFC")]
    debit = ReqPayDebit(TxnId("T1"), rahul.account, Paise(300_00), pin_block(rahul.vpa, "1234"))
    out = bank.deliver([envelope(debit, sender=addresses.SWITCH)])
    (answer,) = [msg for *_, msg in out.sends]
    assert isinstance(answer, RespPayLeg) and answer.code == codes.APPROVED

    ledger = Ledger(world)  # the books as the bank reports them now
    assert ledger.books[HDFC] == Books(55_700_00, 300_00, 0)
    assert ledger.total == MONEY
    assert wrong(world, told(world)) == 1  # Rahul was not told of it
    assert wrong(world, told(world, net={rahul.vpa: -300_00})) == 0
    assert problems(ledger, 0, 0) == ["30000 paise left in settlement with no payment in flight"]
