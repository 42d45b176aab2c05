"""The chaos harness: seeds draw their own faults, failures are kept and reproducible."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from upisim.scenarios.chaos import Report, SeedResult, _tally, run_seed, save_failures
from upisim.scenarios.cli import main
from upisim.scenarios.config import load_scenario, parse_scenario
from upisim.scenarios.swarm import draw


def test_each_seed_draws_its_own_valid_scenario_and_faults_the_same_way_every_time() -> None:
    drawn = [draw(seed) for seed in range(40)]
    assert drawn == [draw(seed) for seed in range(40)]
    for scenario, _ in drawn:
        parse_scenario(scenario)  # every draw is a scenario the simulator accepts
    kinds = Counter(kind for _, faults in drawn for kind in faults)
    assert {"outage_long", "outage_short", "loss", "jitter", "short_timeouts"} <= set(kinds)


def test_a_seed_runs_and_is_audited_from_its_tables() -> None:
    result = run_seed(3, direct=True, reference=True)
    assert result.violations == [] and result.error == ""
    assert sum(result.states.values()) == sum(result.latency.values()) > 0
    # threads or not, runs of envelopes handled at once or each on its own: same bytes
    assert run_seed(3, direct=False).digest == result.digest


def test_a_failing_seed_is_kept_as_a_scenario_file_that_upisim_run_takes(tmp_path: Path):
    good = SeedResult(1, [], ["loss"], {"SUCCESS": 2}, {400: 2}, "d1")
    bad = SeedResult(2, ["conservation: broken"], ["outage_long"], {"SUCCESS": 1}, {9: 1}, "d2")
    other = bad._replace(digest="d3", violations=[])
    report = _tally({1: [good, good], 2: [bad, other]})
    assert isinstance(report, Report) and report.mismatches == [2]
    assert [r.seed for r in report.failed] == [2]
    figures = report.figures()
    assert figures["violations"] == 1 and figures["determinism_mismatches"] == 1
    assert figures["payments_by_state"] == {"SUCCESS": 3}
    (path,) = save_failures(report, tmp_path)
    assert path.read_text().startswith("# conservation: broken\n")
    assert load_scenario(path).name == "chaos-2"  # `upisim run` takes it as it is


def test_the_command_runs_seeds_on_dask_and_prints_its_figures(tmp_path: Path, capsys) -> None:
    code = main(["chaos", "--seeds", "2", "--first", "5", "--json", "--out", str(tmp_path)])
    figures = json.loads(capsys.readouterr().out)
    assert code == 0 and figures["seeds"] == 2 and figures["violations"] == 0
    assert figures["determinism_mismatches"] == 0 and figures["stuck_payments"] == 0
    assert figures["payments"] == sum(figures["payments_by_state"].values()) > 0
    assert not list(tmp_path.iterdir())  # nothing failed, nothing kept


@pytest.mark.parametrize("bad", [["--seeds", "0"], ["--first", "-1"], ["--workers", "0"]])
def test_bad_arguments_are_refused(bad: list[str]) -> None:
    assert main(["chaos", *bad]) == 2
