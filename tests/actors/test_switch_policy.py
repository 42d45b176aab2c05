"""The switch's retry policy: which stages ask again, how long it waits, when it stops."""

from __future__ import annotations

import pytest

from upisim.actors.switch.machine import Stage
from upisim.actors.switch.policy import RetryPolicy, SwitchTimeouts
from upisim.actors.types import SimTime

DEFAULT = RetryPolicy(SwitchTimeouts())
CUSTOM = RetryPolicy(
    SwitchTimeouts(reversal=SimTime(2_000), reversal_tries=2, check=SimTime(5_000), check_tries=4)
)


def waits(policy: RetryPolicy, stage: str) -> list[int]:
    """The wait after each unanswered quick try at ``stage``, until the quick tries are spent."""
    out: list[int] = []
    attempt = 0
    while not policy.spent(stage, attempt):
        out.append(policy.next_wait(stage, attempt))
        attempt += 1
        assert attempt < 100, "the tries never run out"
    return out


def test_defaults_are_the_npci_timeouts() -> None:
    t = SwitchTimeouts()
    assert (t.auth, t.risk, t.pay, t.reversal, t.check) == (10_000, 10_000, 15_000, 10_000, 30_000)
    assert (t.reversal_tries, t.check_tries) == (3, 3)
    assert DEFAULT.timeouts == t


@pytest.mark.parametrize(
    ("stage", "retries"),
    [
        (Stage.REVERSING_CREDIT, True),
        (Stage.REVERSING_DEBIT, True),
        (Stage.CHECKING, True),
        (Stage.COLLECTING, False),
        (Stage.RESOLVING, False),
        (Stage.RISK, False),
        (Stage.DEBITING, False),
        (Stage.CREDITING, False),
        (Stage.SUCCESS, False),
        (Stage.FAILED, False),
        (Stage.DEEMED, False),
        (Stage.EXPIRED, False),
    ],
)
def test_only_reversals_and_status_checks_are_asked_again(stage: str, retries: bool) -> None:
    assert DEFAULT.retries(stage) is retries
    assert CUSTOM.retries(stage) is retries


def test_credit_reversal_tries_quickly_reversal_tries_times() -> None:
    # the first try is sent on entering the stage; then two more, 10 s apart
    assert waits(DEFAULT, Stage.REVERSING_CREDIT) == [10_000, 10_000]
    assert DEFAULT.spent(Stage.REVERSING_CREDIT, 2)


def test_debit_reversal_tries_quickly_then_at_the_status_check_interval() -> None:
    # three quick tries at the reversal timeout, then three more, 30 s apart
    assert waits(DEFAULT, Stage.REVERSING_DEBIT) == [10_000, 10_000, 30_000, 30_000, 30_000]
    assert DEFAULT.spent(Stage.REVERSING_DEBIT, 5)


def test_status_checks_are_check_tries_at_the_check_interval() -> None:
    assert waits(DEFAULT, Stage.CHECKING) == [30_000, 30_000]
    assert DEFAULT.spent(Stage.CHECKING, 2)


@pytest.mark.parametrize("stage", [Stage.REVERSING_DEBIT, Stage.CHECKING])
def test_past_the_quick_tries_it_asks_on_less_and_less_often_never_giving_up(stage: str) -> None:
    first = {Stage.REVERSING_DEBIT: 5, Stage.CHECKING: 2}[stage]  # the last quick try
    later = [DEFAULT.next_wait(stage, first + i) for i in range(6)]
    assert later == [60_000, 120_000, 240_000, 300_000, 300_000, 300_000]  # up to recheck_max
    assert DEFAULT.next_wait(stage, 10_000) == 300_000


def test_custom_timeouts_change_waits_and_tries() -> None:
    assert waits(CUSTOM, Stage.REVERSING_CREDIT) == [2_000]
    assert waits(CUSTOM, Stage.REVERSING_DEBIT) == [2_000, 5_000, 5_000, 5_000, 5_000]
    assert waits(CUSTOM, Stage.CHECKING) == [5_000, 5_000, 5_000]


def test_one_reversal_try_goes_straight_to_the_check_interval() -> None:
    policy = RetryPolicy(SwitchTimeouts(reversal_tries=1, check_tries=2))
    assert waits(policy, Stage.REVERSING_CREDIT) == []
    assert waits(policy, Stage.REVERSING_DEBIT) == [30_000, 30_000]
    assert waits(policy, Stage.CHECKING) == [30_000]


def test_tries_per_stage_count_the_first_try() -> None:
    for policy, t in ((DEFAULT, SwitchTimeouts()), (CUSTOM, CUSTOM.timeouts)):
        assert len(waits(policy, Stage.REVERSING_CREDIT)) + 1 == t.reversal_tries
        assert len(waits(policy, Stage.REVERSING_DEBIT)) + 1 == t.reversal_tries + t.check_tries
        assert len(waits(policy, Stage.CHECKING)) + 1 == t.check_tries
