"""Actors that crash and restart from their journal: nothing committed is lost, nothing
uncommitted survives, and every paisa comes home, whichever actor it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from upisim.actors import codes
from upisim.actors.bank import Bank
from upisim.actors.base import Journal, envelope
from upisim.actors.capacity import OPS, Capacity, Service
from upisim.actors.errors import ScenarioError
from upisim.actors.fraud import FraudMonitor
from upisim.actors.messages import DEBIT, ReqPayDebit, ReqPayReversal, RespPayLeg
from upisim.actors.records import AccountSpec, pin_block
from upisim.actors.types import BankCode, Paise, TxnId
from upisim.reports.audit import audit
from upisim.reports.run import load_run
from upisim.scenarios.config import parse_scenario
from upisim.scenarios.run import run_scenario

PIN = pin_block("rahul@okhdfcbank", "1234")


def debit(txn: str, amount: int = 100_00) -> ReqPayDebit:
    return ReqPayDebit(TxnId(txn), "H1", Paise(amount), PIN)


def test_a_restored_bank_knows_every_leg_it_committed_and_nothing_else() -> None:
    bank = Bank(BankCode("HDFC"), [AccountSpec("H1", "rahul@okhdfcbank", Paise(1_000_00), PIN)])
    journal = Journal(bank)
    first = [envelope(debit("T1"), at=10, sender="switch")]
    bank.deliver(first, 20)
    journal.commit(first, 20)
    bank.deliver([envelope(debit("T2"), at=30, sender="switch")], 40)  # crashed before commit
    assert bank.balance("H1") == 800_00
    journal.restore(bank)
    assert bank.balance("H1") == 900_00 and bank.gauges().settlement == 100_00
    # it still knows T1's debit: reversing it gives the money back, once
    out = bank.deliver([envelope(ReqPayReversal(TxnId("T1"), DEBIT, "H1", Paise(100_00)))], 60)
    ((*_, answer),) = out.sends
    assert answer.code == codes.APPROVED and answer.undone and bank.balance("H1") == 1_000_00
    # T2 never happened: asked again, it posts now (once)
    out = bank.deliver([envelope(debit("T2"), at=70), envelope(debit("T2"), at=71)], 80)
    assert [m for *_, m in out.sends] == [RespPayLeg(TxnId("T2"), DEBIT, "00")] * 2
    assert bank.balance("H1") == 900_00


def test_a_restored_bank_with_capacity_draws_the_service_times_it_drew_before() -> None:
    # chaos seed 40175: the replay drew service times from the live generator, so a debit
    # refused XY (queue full) the first time was admitted and posted on replay
    def bank() -> Bank:
        capacity = Capacity(1, {op: Service(20, 0.8) for op in OPS}, queue_limit=0)
        accounts = [AccountSpec("H1", "rahul@okhdfcbank", Paise(1_000_00), PIN)]
        return Bank(BankCode("HDFC"), accounts, capacity=capacity, seed=3)

    crashed, twin = bank(), bank()
    journal = Journal(crashed)
    batch = [envelope(debit(f"T{i}", 1_00), at=10 * i, sender="switch") for i in range(20)]
    for b in (crashed, twin):
        b.deliver(batch, 300)
    journal.commit(batch, 300)
    crashed.deliver([envelope(debit("X"), at=400, sender="switch")], 500)  # never committed
    journal.restore(crashed)
    assert crashed.balance("H1") == twin.balance("H1")
    after = [envelope(debit(f"U{i}", 1_00), at=600 + 7 * i, sender="switch") for i in range(20)]
    assert crashed.deliver(after, 900).sends == twin.deliver(after, 900).sends


def crowd(**faults: Any) -> dict[str, Any]:
    """Two thousand people paying each other for 20 s while an actor crashes."""
    return {
        "name": "crash",
        "seed": 9,
        "duration_s": 20,
        "drain_limit_s": 1200,
        "population": {"size": 2_000, "balance_median": "5000.00"},
        "load": {"rate_per_s": 60},
        "faults": faults,
    }


def crashed_run(tmp_path: Path, actor: str, point: str, direct: bool = False) -> dict[str, Any]:
    crash = {"actor": actor, "at_s": 6, "down_s": 4, "point": point}
    result = run_scenario(parse_scenario(crowd(crashes=[crash])), tmp_path, direct=direct)
    assert result.ok, result.summary["problems"]
    assert audit(tmp_path) == []  # every invariant, from the tables
    return result.summary


@pytest.mark.parametrize(
    ("actor", "point"),
    [
        ("bank:SBI", "before_commit"),
        ("bank:HDFC", "after_commit"),
        ("switch", "before_commit"),
        ("switch", "after_commit"),
        ("fraud", "after_commit"),
        ("users:0", "before_commit"),
    ],
)
def test_a_crashed_actor_restarts_from_its_journal_and_every_paisa_comes_home(
    tmp_path: Path, actor: str, point: str
) -> None:
    s = crashed_run(tmp_path, actor, point)
    events = load_run(tmp_path).events
    crash = events[events.kind == "ACTOR_CRASH"]
    restart = events[events.kind == "ACTOR_RESTART"]
    assert list(crash.actor) == [actor] and list(crash.subject) == [point]
    assert list(restart.actor) == [actor] and 6_000 <= crash.t_ms.iloc[0] < 6_100
    assert restart.t_ms.iloc[0] == 10_000 and "batches replayed" in restart.subject.iloc[0]
    assert s["stuck_payments"] == 0 and s["money_in_flight_end_paise"] == 0
    assert s["events_by_kind"].get("TIMEOUT", 0) + s["events_by_kind"].get("STATUS_CHECK", 0)


def test_a_run_with_a_crash_is_the_same_with_or_without_pykka(tmp_path: Path) -> None:
    crashed_run(tmp_path / "pykka", "switch", "after_commit")
    crashed_run(tmp_path / "direct", "switch", "after_commit", direct=True)
    for table in ("transactions", "events", "money"):
        pykka_bytes = (tmp_path / "pykka" / f"{table}.parquet").read_bytes()
        assert pykka_bytes == (tmp_path / "direct" / f"{table}.parquet").read_bytes()


def test_a_handler_that_raises_crashes_its_actor_which_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    score = FraudMonitor.on_ReqRiskScore

    def sometimes(self: FraudMonitor, msg: Any, sender: Any) -> None:
        if msg.txn_id.endswith("7"):
            raise ZeroDivisionError("a bug in a rule")
        score(self, msg, sender)

    monkeypatch.setattr(FraudMonitor, "on_ReqRiskScore", sometimes)
    monkeypatch.setattr(FraudMonitor, "GROUPED", {})  # each on its own: the patched handler
    late = {"actor": "fraud", "at_s": 19, "down_s": 1}  # gives the monitor its journal
    result = run_scenario(parse_scenario(crowd(crashes=[late])), tmp_path)
    assert result.ok and audit(tmp_path) == []
    events = load_run(tmp_path).events
    raised = events[(events.kind == "ACTOR_CRASH") & (events.detail == "ZeroDivisionError")]
    assert len(raised) > 10 and set(raised.actor) == {"fraud"}
    restarts = events[events.kind == "ACTOR_RESTART"]
    assert len(restarts) == len(raised) + 1  # each comes back, and so after the planned one
    tx = load_run(tmp_path).transactions
    assert (tx.fraud_flags == "RISK_TIMEOUT").sum() > 10  # their scores were lost: failed open


@pytest.mark.parametrize(
    ("crash", "expected"),
    [
        ({"actor": "bank:AXIS", "at_s": 1, "down_s": 1}, "no bank AXIS"),
        ({"actor": "switch", "at_s": 25, "down_s": 1}, "not within the load"),
        ({"actor": "banks", "at_s": 1, "down_s": 1}, "actor"),
    ],
)
def test_a_crash_of_no_actor_or_outside_the_load_is_refused(
    crash: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ScenarioError, match=expected):
        parse_scenario(crowd(crashes=[crash]))


def test_two_crashes_of_one_actor_at_once_are_refused() -> None:
    twice = [{"actor": "fraud", "at_s": 1, "down_s": 5}, {"actor": "fraud", "at_s": 3, "down_s": 1}]
    with pytest.raises(ScenarioError, match=r"already down"):
        parse_scenario(crowd(crashes=twice))


def test_a_crash_of_an_app_server_the_run_does_not_have_is_refused(tmp_path: Path) -> None:
    scenario = parse_scenario(crowd(crashes=[{"actor": "users:999", "at_s": 1, "down_s": 1}]))
    with pytest.raises(ScenarioError, match=r"no actor 'users:999'"):
        run_scenario(scenario, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_timers_that_fell_due_while_the_switch_was_down_send_into_a_later_window(
    tmp_path: Path,
) -> None:
    # chaos seed 51048: the switch came back at a window's start; a timer due while it was
    # down fired in the next window with the restart's time, and what it sent was due in
    # the window being delivered (the run stopped with an InvariantError)
    scenario: dict[str, Any] = {
        "name": "restart",
        "seed": 51048,
        "duration_s": 20,
        "drain_limit_s": 1200,
        "banks": [
            {"code": "HDFC", "handle": "okhdfcbank", "net_debit_cap": "2000.00"},
            {"code": "SBI", "handle": "oksbi"},
            {"code": "ICICI", "handle": "okicici"},
        ],
        "population": {"size": 200, "balance_median": "3000.00", "merchant_share": 0.2},
        "load": {"rate_per_s": 10},
        "faults": {
            "loss_rate": 0.05,
            "app_loss_rate": 0.3,
            "crashes": [{"actor": "switch", "at_s": 14.9, "down_s": 5, "point": "before_commit"}],
            "duplicate_rate": 0.05,
            "replay_max_ms": 50,
            "fraud_down": [{"from_s": 7.1, "to_s": 12.1}],
            "delays": [{"bank": "SBI", "from_s": 2.2, "to_s": 32.2, "extra_ms": 20_000}],
        },
        "timeouts": {"pay_ms": 2000, "reversal_ms": 500, "auth_ms": 2000, "risk_ms": 2000},
        "settlement": {"cycle_s": 0.5},
    }
    result = run_scenario(parse_scenario(scenario), tmp_path)
    assert result.ok, result.summary["problems"]
    assert audit(tmp_path) == []
