"""Capacity: a bank's core banking as a pool of workers, started alone and talked to by
message; then the pool alone, whose rows must obey Little's law."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from tests.actors.test_bank import RAHUL, debit, make_bank
from upisim.actors import codes
from upisim.actors.bank import Bank
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.capacity import (
    OPS,
    Capacity,
    CoreFaults,
    Pool,
    Service,
    Window,
)
from upisim.actors.messages import (
    CREDIT,
    DEBIT,
    ReqPayCredit,
    ReqPayReversal,
    RespPayLeg,
    SettlementAck,
    SettlementFile,
)
from upisim.actors.types import Paise, TxnId
from upisim.runfolder import QueueRow

SERVICE = 100  # ms, every operation, no spread


def capacity(workers: int, queue_limit: int | None = None, **faults: Any) -> Capacity:
    fixed = {op: Service(SERVICE, 0.0) for op in OPS}
    return Capacity(workers, fixed, queue_limit, CoreFaults(**faults))


def bank_with(cap: Capacity) -> Bank:
    return make_bank(capacity=cap)


def answers(bank: Bank, messages: list[Any], at: int = 0, until: int = 60_000) -> list[Any]:
    """(when each answer leaves, the answer), for ``messages`` all delivered at ``at``."""
    sent = list(bank.deliver([envelope(m, at=at, sender="switch") for m in messages]).sends)
    sent += bank.advance(until).sends
    return [(t, msg) for t, _, _, _, msg in sent]


def test_n_debits_at_once_come_back_spread_over_n_over_k_service_times() -> None:
    bank = bank_with(capacity(workers=3))
    out = answers(bank, [debit(f"T{i}", 100) for i in range(10)])
    assert [t for t, _ in out] == [100] * 3 + [200] * 3 + [300] * 3 + [400]  # ceil(10/3) = 4
    assert [m.txn_id for _, m in out] == [f"T{i}" for i in range(10)]  # first come, first served
    assert {m.code for _, m in out} == {codes.APPROVED}
    assert bank.balance(RAHUL) == 10_000_00 - 10 * 100


def test_without_capacity_a_bank_answers_at_once() -> None:
    bank = make_bank()
    assert [t for t, _ in answers(bank, [debit(f"T{i}", 100) for i in range(10)])] == [0] * 10


def test_a_full_queue_refuses_new_work_for_good_and_never_clean_up() -> None:
    bank = bank_with(capacity(workers=1, queue_limit=2))
    out = answers(bank, [debit(f"T{i}", 100) for i in range(5)], until=50)
    # one at a worker, two queued, two refused at once: XY (remitter core banking)
    assert [(t, m.txn_id, m.code) for t, m in out] == [
        (100, "T0", codes.APPROVED),
        (0, "T3", codes.REMITTER_CBS),
        (0, "T4", codes.REMITTER_CBS),
    ]
    credit = ReqPayCredit(TxnId("C1"), RAHUL, Paise(100))
    assert answers(bank, [credit], at=50, until=60) == [
        (50, RespPayLeg(TxnId("C1"), CREDIT, codes.BENEFICIARY_CBS))
    ]
    queued = answers(bank, [], at=60)
    assert [(t, m.txn_id) for t, m in queued] == [(200, "T1"), (300, "T2")]
    # the refusal stands: a copy arriving once the queue is empty does not post
    late = answers(bank, [debit("T3", 100)], at=10_000)
    assert [(m.txn_id, m.code) for _, m in late] == [("T3", codes.REMITTER_CBS)]
    # a reversal is clean-up: it queues however full the queue is
    bank2 = bank_with(capacity(workers=1, queue_limit=0))
    reversal = ReqPayReversal(TxnId("T0"), DEBIT, RAHUL, Paise(100))
    out = answers(bank2, [debit("T0", 100), reversal])
    assert [(t, m.code) for t, m in out] == [(100, codes.APPROVED), (200, codes.APPROVED)]
    assert bank2.balance(RAHUL) == 10_000_00  # debited, then given back


def test_core_banking_offline_refuses_payments_and_keeps_reversals_for_its_return() -> None:
    bank = bank_with(capacity(workers=4, offline=(Window(1_000, 5_000),)))
    assert answers(bank, [debit("T1", 100)], at=0, until=999)[0] == (
        100,
        RespPayLeg(TxnId("T1"), DEBIT, codes.APPROVED),
    )
    out = answers(
        bank, [debit("T2", 100), ReqPayReversal(TxnId("T1"), DEBIT, RAHUL, Paise(100))], at=2_000
    )
    assert out[0] == (2_000, RespPayLeg(TxnId("T2"), DEBIT, codes.REMITTER_CBS))
    assert out[1][0] == 5_000 + SERVICE and out[1][1].code == codes.APPROVED  # after it is back
    assert bank.balance(RAHUL) == 10_000_00


def test_a_slow_window_multiplies_service_and_a_cut_leaves_fewer_workers() -> None:
    slow = bank_with(capacity(workers=10, slow=(Window(0, 1_000, 5.0),)))
    assert {t for t, _ in answers(slow, [debit(f"T{i}", 1) for i in range(3)])} == {500}
    cut = bank_with(capacity(workers=10, cuts=(Window(0, 1_000, 2),)))
    times = [t for t, _ in answers(cut, [debit(f"T{i}", 1) for i in range(4)])]
    assert times == [100, 100, 200, 200]


def test_queued_work_survives_the_actor_shell(actors: None) -> None:
    ref = LogicActor.start(bank_with(capacity(workers=1)))
    try:
        out = ref.ask(
            Deliver([envelope(debit(f"T{i}", 1), at=0, sender="switch") for i in range(3)], 10_000)
        )
        assert sorted(t for t, *_ in out.sends) == [100, 200, 300]
    finally:
        ref.stop()


def test_service_times_are_log_normal_by_median_and_spread() -> None:
    steps = Service(40, 0.5).quantiles()
    assert steps == tuple(sorted(steps)) and len(steps) == 256
    assert steps[127] <= 40 <= steps[128]  # the median
    # sigma of the log: 0.5, but for the grid's trimmed tails and whole milliseconds
    logs = [math.log(s) for s in steps]
    mean = sum(logs) / len(logs)
    assert math.sqrt(sum((x - mean) ** 2 for x in logs) / len(logs)) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("load", [0.5, 0.9])
def test_littles_law_holds_in_the_rows(load: float) -> None:
    """Mean queue length (from the queue's time integral) = arrival rate x mean wait."""
    rows: list[QueueRow] = []
    workers, median = 4, 50
    pool = Pool(
        "bank:X", Capacity(workers, {"debit": Service(median, 0.5)}), random.Random(1), rows.append
    )
    rate = load * workers / (median * math.exp(0.5**2 / 2))  # arrivals per ms
    rng, t = random.Random(2), 0.0
    while t < 600_000:
        t += rng.expovariate(rate)
        pool.admit(int(t), "debit")
    pool.close(int(t))
    steady = [r for r in rows if 60 <= r.t_s < 540]
    seconds = len(range(60, 540))
    mean_queue = sum(r.queue_ms for r in steady) / 1000 / seconds
    arrivals = sum(r.arrivals for r in steady)
    per_ms, mean_wait = arrivals / (seconds * 1000), sum(r.wait_ms for r in steady) / arrivals
    assert mean_queue > 0.05
    assert mean_queue == pytest.approx(per_ms * mean_wait, rel=0.05)
    utilisation = sum(r.busy_ms for r in steady) / (seconds * 1000 * workers)
    assert utilisation == pytest.approx(load, rel=0.1)


def test_a_settlement_file_waits_for_the_work_queued_ahead_of_it() -> None:
    """A leg a worker takes after its payment's settlement file came must not be left
    behind (the bank would hold it for good, and could post a copy twice)."""
    bank = bank_with(capacity(workers=1))
    out = answers(bank, [debit(f"T{i}", 100) for i in range(3)], until=1)
    file = SettlementFile(1, tuple(TxnId(f"T{i}") for i in range(3)))
    acked = answers(bank, [file], at=1)  # T1 and T2 are still queued
    # T2 starts at 200 (its answer leaves at 300): the file is read then, after it posted
    assert [(t, m) for t, m in acked] == [(200, RespPayLeg(TxnId("T1"), DEBIT, "00")),
                                          (300, RespPayLeg(TxnId("T2"), DEBIT, "00")),
                                          (200, SettlementAck(1))]  # fmt: skip
    assert bank.open_legs == 0 and len(out) == 1
