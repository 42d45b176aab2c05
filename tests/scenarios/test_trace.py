"""``[trace]`` and ``upisim trace``: one payment's messages, in order, at the table's times."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from tests.scenarios.conftest import Bundled
from upisim.actors.base import envelope
from upisim.actors.messages import ReqPayDebit, RespPayLeg
from upisim.actors.types import Address, Paise, TxnId
from upisim.reports import load_run
from upisim.reports.trace import payment_trace
from upisim.runfolder import TraceRow
from upisim.scenarios.cli import main
from upisim.scenarios.config import ScenarioError, bundled_scenarios, parse_scenario
from upisim.scenarios.run import run_scenario
from upisim.scenarios.trace import TraceConfig, Tracer, picker

PUSH = [
    "ReqPay",
    "ReqAuthDetails",  # the switch asks the payee's PSP to resolve the VPA
    "RespAuthDetails",
    "ReqRiskScore",
    "RespRiskScore",
    "ReqPayDebit",
    "RespPayLeg",
    "ReqPayCredit",
    "RespPayLeg",
    "RespPay",
    "ReqTxnConfirmation",  # the payee's app hears the money arrived
]


def bundled_data(name: str) -> dict:
    return tomllib.loads(bundled_scenarios()[name].read_text(encoding="utf-8"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_tracer_pairs_each_send_with_its_delivery_and_keeps_the_lost() -> None:
    rows: list[TraceRow] = []
    tracer = Tracer(picker(TraceConfig(txn_ids=["T1"])), rows.append)
    debit = ReqPayDebit(TxnId("T1"), "acct", Paise(500), "cred")
    other = debit._replace(txn_id=TxnId("T2"))
    latency = {"bank:SBI": 60}
    # the switch sends at 100 ms (stamped 160 by its 60 ms link), and one for T2
    sends = [
        envelope(debit, 160, "switch", 7, "bank:SBI"),
        envelope(other, 160, "switch", 8, "bank:SBI"),
    ]
    tracer.sent("switch", sends, latency)
    answer = RespPayLeg(TxnId("T1"), "DEBIT", "00")
    tracer.sent("bank:SBI", [envelope(answer, 260, "bank:SBI", 3, "switch")], {"switch": 60})
    tracer.delivered({Address("bank:SBI"): [(163, *sends[0][1:])]})  # 3 ms of jitter
    assert rows == [TraceRow("T1", 100, 163, "switch", "bank:SBI", 7, "ReqPayDebit", "", "", 500)]
    tracer.close()  # the answer never arrived: lost
    lost = TraceRow("T1", 200, None, "bank:SBI", "switch", 3, "RespPayLeg", "00", "leg=DEBIT", None)
    assert rows[1:] == [lost]


def test_a_share_picks_the_same_payments_every_time() -> None:
    ids = [f"UPS{i:05d}T{i:011d}" for i in range(4000)]
    tenth = [i for i in ids if picker(TraceConfig(share=0.1))(i)]
    assert 320 < len(tenth) < 480
    assert tenth == [i for i in ids if picker(TraceConfig(share=0.1))(i)]
    assert all(picker(TraceConfig(share=1.0))(i) for i in ids)
    assert not any(picker(TraceConfig())(i) for i in ids)
    with pytest.raises(ScenarioError, match=r"trace\.share"):
        parse_scenario({"name": "x", "duration_s": 1, "trace": {"share": 2}}, "x.toml")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart traces every one of its ten payments."""
    out = tmp_path_factory.mktemp("traced")
    assert main(["run", "quickstart", "--out", str(out), "--no-report", "--quiet"]) == 0
    return out


def test_upisim_trace_lists_a_push_payments_messages_in_order_at_the_tables_times(
    quickstart: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tx = pd.read_parquet(quickstart / "transactions.parquet")
    pay = tx[(tx.state == "SUCCESS") & (tx.fraud_flags == "")].iloc[0]
    capsys.readouterr()
    diagram = tmp_path / "seq.svg"
    assert main(["trace", str(quickstart), pay.txn_id, "--diagram", str(diagram)]) == 0
    shown = capsys.readouterr().out
    assert re.findall(r"\b(?:Req|Resp)\w+", shown) == PUSH, shown  # one a line, in order
    steps = payment_trace(load_run(quickstart), pay.txn_id).steps
    assert list(steps.message) == PUSH
    one = steps.set_index(steps.message + steps.detail.str.extract(r"(leg=\w+)")[0].fillna(""))
    assert one.loc["ReqPay", "t_sent_ms"] == pay.t_initiated_ms
    assert one.loc["ReqPay", "t_delivered_ms"] == pay.t_received_ms
    assert one.loc["RespAuthDetails", "t_delivered_ms"] == pay.t_resolved_ms
    assert one.loc["RespRiskScore", "t_delivered_ms"] == pay.t_risk_ms
    assert one.loc["RespPayLegleg=DEBIT", "t_delivered_ms"] == pay.t_debited_ms
    assert one.loc["RespPayLegleg=CREDIT", "t_delivered_ms"] == pay.t_credited_ms
    assert one.loc["RespPay", "t_sent_ms"] == pay.t_completed_ms
    assert f"{pay.t_debited_ms:,}" in shown and "RespPay" in shown
    svg = diagram.read_text()
    assert svg.startswith("<?xml") and "payer's app" in svg and "ReqTxnConfirmation" in svg
    assert main(["trace", str(quickstart), pay.txn_id, "--diagram", str(diagram)]) == 0
    assert diagram.read_text() == svg  # no date in it: the same trace, the same file


def test_every_quickstart_payment_is_traced_and_listed(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = pd.read_parquet(quickstart / "trace.parquet")
    tx = pd.read_parquet(quickstart / "transactions.parquet")
    assert set(trace.txn_id) == set(tx.txn_id) and trace.t_delivered_ms.notna().all()
    capsys.readouterr()
    assert main(["trace", str(quickstart)]) == 0
    listed = capsys.readouterr().out
    assert "10 traced payments" in listed and all(t in listed for t in tx.txn_id)
    failed = tx[tx.state == "FAILED"].iloc[0]  # Kavya's ₹9,000: her bank declines the debit
    steps = payment_trace(load_run(quickstart), failed.txn_id).steps
    assert "ReqPayCredit" not in set(steps.message)
    leg = steps[steps.message == "RespPayLeg"].iloc[0]
    assert (leg.code, leg.detail) == ("Z9", "leg=DEBIT")


def test_tracing_changes_no_other_table(bundled: Bundled, tmp_path: Path) -> None:
    """collect_expiry with a tenth of its payments traced: every table is the untraced
    run's, byte for byte, and a collect request's steps are in the trace."""
    untraced, plain = bundled("collect_expiry")
    data = bundled_data("collect_expiry") | {"trace": {"share": 0.1}}
    traced = run_scenario(parse_scenario(data, "traced.toml"), tmp_path)
    for table in ("transactions", "events", "money", "accounts", "queues", "settlement"):
        assert digest(tmp_path / f"{table}.parquet") == digest(plain / f"{table}.parquet"), table
    assert traced.summary["payments_total"] == untraced.summary["payments_total"]
    trace = pd.read_parquet(tmp_path / "trace.parquet")
    tx = pd.read_parquet(tmp_path / "transactions.parquet")
    assert 0.05 < trace.txn_id.nunique() / len(tx) < 0.15
    collect = tx[(tx.kind == "COLLECT") & tx.txn_id.isin(trace.txn_id) & (tx.state == "SUCCESS")]
    steps = payment_trace(load_run(tmp_path), collect.txn_id.iloc[0]).steps
    assert list(steps.message[:3]) == ["ReqPayCollect", "ReqAuthDetails", "RespAuthDetails"]
    assert "collect_from=" in steps.detail.iloc[1]


def test_a_lost_message_and_the_timeout_it_causes_are_traced(tmp_path: Path) -> None:
    """bank_outage: HDFC goes dark; a traced payment's debit is lost, the switch times out."""
    data = bundled_data("bank_outage") | {"trace": {"share": 0.2}}
    run_scenario(parse_scenario(data, "outage.toml"), tmp_path, direct=True)
    trace = pd.read_parquet(tmp_path / "trace.parquet")
    lost = trace[trace.t_delivered_ms.isna()]
    assert len(lost) > 0 and set(lost.recipient) | set(lost.sender) >= {"bank:HDFC"}
    events = pd.read_parquet(tmp_path / "events.parquet")
    timed_out = set(events[events.kind == "TIMEOUT"].txn_id) & set(lost.txn_id)
    steps = payment_trace(load_run(tmp_path), sorted(timed_out)[0]).steps
    names = list(steps.message)
    first_lost = steps.index[steps.t_delivered_ms.isna() & ~steps.message.str.startswith("event")][
        0
    ]
    assert "event TIMEOUT" in names[first_lost:]


def test_trace_says_plainly_what_is_missing(
    bundled: Bundled, quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plain = bundled("bank_outage")
    capsys.readouterr()
    assert main(["trace", str(plain), "UPS00000T00000000001"]) == 2
    err = capsys.readouterr().err
    assert "no payment was traced" in err and "[trace]" in err and "Traceback" not in err
    assert main(["trace", str(quickstart), "NOSUCHTXN"]) == 2
    assert "NOSUCHTXN was not traced" in capsys.readouterr().err
    tx = pd.read_parquet(quickstart / "transactions.parquet")
    assert main(["trace", str(quickstart), tx.txn_id[0], "--diagram", "x.pdf"]) == 2
    assert "must end in .svg or .png" in capsys.readouterr().err
