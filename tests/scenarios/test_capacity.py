"""Capacity in whole runs: a saturated bank's queue, its timeouts and refusals, faults
that slow a bank, and the queues table, each checked from the run folder's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.conftest import Bundled
from tests.scenarios.test_reliability import audited, people, run
from upisim.reports.audit import audit
from upisim.reports.run import load_run


def test_a_saturated_bank_times_out_reverses_and_refuses_without_a_message_lost(
    bundled: Bundled,
) -> None:
    result, out = bundled("saturation")
    s = result.summary
    assert result.ok, s["problems"]
    assert audit(out) == []  # every invariant, from the tables
    assert s["messages_dropped"] == 0 and s["messages_duplicated"] == 0
    codes = s["payments_by_code"]
    for code in ("U67", "U68", "XY", "Y1", "RET"):  # timeouts, refusals, deemed then returned
        assert codes.get(code, 0) > 100, code
    assert s["events_by_kind"]["REVERSAL"] > 1000 and "PENDING" not in s["events_by_kind"]
    queues = load_run(out).queues
    assert set(queues.place) == {"bank:HDFC", "bank:ICICI", "bank:SBI"}
    assert queues[queues.place != "bank:SBI"].queue_len.max() == 0  # ample capacity
    assert queues[queues.place == "bank:SBI"].queue_len.max() > 6000 * 0.95  # its bound


def test_latency_grows_with_offered_load_past_the_knee(bundled: Bundled) -> None:
    _, out = bundled("saturation")
    tx = load_run(out).transactions
    ok = tx[tx.state == "SUCCESS"]
    # the load steps up every 15 s: 100, 200, ... 700 payments a second
    step = ok.t_initiated_ms // 15_000
    p99 = ok.groupby(step).latency_ms.quantile(0.99)
    below = p99.loc[0:1]  # 100 and 200 a second: links and service only
    assert below.max() < 1_000
    assert p99.loc[3] < p99.loc[4] < p99.loc[5]  # 400, 500, 600 a second: the queue grows
    assert p99.loc[5] > 15_000  # past the switch's timeouts
    share = (tx.state == "SUCCESS").groupby(tx.t_initiated_ms // 15_000).mean()
    assert share.loc[0] > 0.99 and share.loc[6] < 0.7


def test_littles_law_holds_in_the_queues_table(bundled: Bundled) -> None:
    _, out = bundled("saturation")
    q = load_run(out).queues
    sbi = q[(q.place == "bank:SBI") & q.t_s.between(30, 44)]  # 300 a second: near its knee
    ms = 15 * 1000
    mean_queue = sbi.queue_ms.sum() / ms
    arrival_rate, mean_wait = sbi.arrivals.sum() / ms, sbi.wait_ms.sum() / sbi.arrivals.sum()
    assert mean_queue > 0.5
    assert mean_queue == pytest.approx(arrival_rate * mean_wait, rel=0.05)
    assert (sbi.busy_ms / (1000 * sbi.workers)).mean() == pytest.approx(0.85, abs=0.1)


def with_core(sbi: dict[str, Any], **faults: Any) -> dict[str, Any]:
    """:func:`people` at three banks, SBI's core banking set to ``sbi``."""
    scenario = people(**faults)
    scenario["banks"] = [
        {"code": "HDFC", "handle": "okhdfcbank"},
        {"code": "SBI", "handle": "oksbi", "core": sbi},
        {"code": "ICICI", "handle": "okicici"},
    ]
    return scenario


def test_below_capacity_a_run_is_an_uncapacitated_one_within_a_service_time(
    tmp_path: Path,
) -> None:
    fixed = {"median_ms": 20, "spread": 0}
    ample, _ = run(tmp_path / "a", with_core({"debit": fixed, "credit": fixed}))
    tight, _ = run(tmp_path / "b", with_core({"workers": 2, "debit": fixed, "credit": fixed}))
    assert ample.ok and tight.ok
    assert tight.summary["payments_by_code"] == ample.summary["payments_by_code"]
    waits = load_run(tmp_path / "b").queues.wait_ms.sum()
    assert waits > 0  # two workers, some 23 legs a second: now and then one waits
    for p in ("p50", "p99"):
        gap = tight.summary["latency_ms"][p] - ample.summary["latency_ms"][p]
        assert 0 <= gap <= 20, p


def test_core_banking_offline_refuses_payments_and_heals(tmp_path: Path) -> None:
    _, tx = audited(
        tmp_path, with_core({}, core_offline=[{"bank": "SBI", "from_s": 5, "to_s": 10}])
    )
    refused = tx[tx.reason_code.isin(["XY", "Y1"])]
    assert len(refused) > 20 and (refused.state == "FAILED").all()
    assert refused.t_initiated_ms.between(4_000, 10_000).all()
    assert set(refused.payer_bank[refused.reason_code == "XY"]) == {"SBI"}
    assert set(refused.payee_bank[refused.reason_code == "Y1"]) == {"SBI"}
    q = load_run(tmp_path).queues
    assert q[q.place == "bank:SBI"].refused.sum() == len(refused)


def test_a_slow_core_and_a_capacity_cut_time_payments_out_only_meanwhile(tmp_path: Path) -> None:
    _, tx = audited(
        tmp_path,
        with_core(
            {"workers": 20},
            core_slow=[{"bank": "SBI", "from_s": 5, "to_s": 8, "factor": 1000}],
            core_cuts=[{"bank": "SBI", "from_s": 12, "to_s": 14, "workers": 1}],
        ),
    )
    late = tx[tx.reason_code.isin(["U67", "U68"])]
    # none before the slow window; its 20 s services hold every worker well past its end
    assert len(late) > 10 and late.t_initiated_ms.min() >= 4_000
    q = load_run(tmp_path).queues
    sbi = q[q.place == "bank:SBI"].set_index("t_s")
    assert sbi.workers.loc[12:13].eq(1).all() and sbi.workers.drop(index=[12, 13]).eq(20).all()
    assert sbi.queue_len.loc[12:13].max() > 0


def test_a_saturated_switch_refuses_u80_and_queues_in_its_own_rows(tmp_path: Path) -> None:
    scenario = people()
    fixed = {"median_ms": 30, "spread": 0}  # one worker: 33 requests a second, 40 offered
    scenario["capacity"] = {"switch": {"workers": 1, "queue_limit": 5, "request": fixed}}
    _, tx = audited(tmp_path, scenario)
    busy = tx[tx.response_code == "U80"]
    assert len(busy) > 20 and (busy.state == "FAILED").all() and (busy.decline_type == "TD").all()
    assert busy.t_debited_ms.isna().all()  # refused before any bank heard of it
    q = load_run(tmp_path).queues
    switch = q[q.place == "switch"]
    assert switch.refused.sum() == len(busy) and switch.queue_len.max() <= 5
    assert (switch.busy_ms / 1000).max() > 0.9  # its worker busy nearly all the time


def test_a_slow_app_server_turns_payments_away_u86_and_lookups_time_out_u09(
    tmp_path: Path,
) -> None:
    scenario = people()
    scenario["cohorts"] = 2
    scenario["capacity"] = {
        "psp": {
            "workers": 1,  # 20 requests and 20 lookups a second: 1.2 s of work each second
            "queue_limit": 3,
            "request": {"median_ms": 40, "spread": 0},
            "lookup": {"median_ms": 20, "spread": 0},
        }
    }
    s, tx = audited(tmp_path, scenario)
    turned = tx[(tx.response_code == "U86") & tx.t_received_ms.isna()]
    assert len(turned) > 20 and s["events_by_kind"]["PSP_BUSY"] == len(turned)
    q = load_run(tmp_path).queues
    assert {"users:0", "users:1"} <= set(q.place)
    # lookups that often take longer than the switch waits for them (10 s): U09
    slow = people()
    lookup = {"median_ms": 9_000, "spread": 0.3}
    slow["capacity"] = {"psp": {"workers": 1_000, "lookup": lookup}}
    _, tx = audited(tmp_path / "slow", slow)
    late = (tx.response_code == "U09").mean()
    assert 0.2 < late < 0.6  # about the share of log-normal draws past 10 s: 36%
