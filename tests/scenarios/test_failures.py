"""When something inside a run breaks, the run stops with a message; it never hangs."""

from __future__ import annotations

from pathlib import Path

import pykka
import pytest

from upisim.actors.fraud import FraudMonitor
from upisim.scenarios.config import bundled_scenarios, load_scenario, parse_scenario
from upisim.scenarios.engine import RunError
from upisim.scenarios.run import run_scenario


def test_an_actor_that_raises_stops_the_run_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: FraudMonitor, msg: object, sender: str) -> None:
        raise ZeroDivisionError("model weights missing")

    monkeypatch.setattr(FraudMonitor, "on_ReqRiskScore", broken)
    with pytest.raises(RunError, match=r"actor fraud failed .*ZeroDivisionError: model weights"):
        run_scenario(load_scenario(bundled_scenarios()["quickstart"]), tmp_path)
    assert pykka.ActorRegistry.get_all() == []  # every actor was stopped


def test_bad_payments_are_declines_not_crashes(tmp_path: Path) -> None:
    data = load_scenario(bundled_scenarios()["quickstart"]).model_dump(mode="json", by_alias=True)
    data["payments"] += [
        {"from": "rahul@okhdfcbank", "to": "ghost@nowhere", "amount": "1.00"},  # unknown VPA
        {"from": "rahul@okhdfcbank", "to": "rahul@okhdfcbank", "amount": "1.00"},  # oneself
        {"from": "amit@okicici", "to": "priya@oksbi", "amount": "1.00", "pin": "0000"},
        {"from": "kavya@okhdfcbank", "to": "priya@oksbi", "amount": "100001.00"},  # over caps
    ]
    result = run_scenario(parse_scenario(data), tmp_path)
    assert result.ok, result.summary["problems"]
    codes = result.summary["payments_by_code"]
    assert (codes["ZH"], codes["ZD"], codes["ZM"], codes["U16"]) == (1, 1, 1, 1)
    assert result.summary["payments_total"] == 14
    assert result.summary["money_end_paise"] == 70_000_00
