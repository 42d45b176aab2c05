"""Fixtures shared by the whole-run tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from upisim.scenarios.config import Scenario, bundled_scenarios, load_scenario
from upisim.scenarios.run import RunResult, run_scenario

Bundled = Callable[[str], tuple[RunResult, Path]]


#: bundled scenarios too big for the test suite: run a tenth of their people for ten minutes
LARGE = {"fraud_lab", "india_2026"}


def scaled(name: str) -> Scenario:
    """A bundled scenario as the tests run it: as it is, or cut down when it is LARGE."""
    scenario = load_scenario(bundled_scenarios()[name])
    if name not in LARGE:
        return scenario
    assert scenario.population is not None
    population = scenario.population.model_copy(update={"size": scenario.population.size // 10})
    return scenario.model_copy(update={"duration_s": 600, "population": population})


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Bundled:
    """Each bundled scenario (LARGE ones cut down: :func:`scaled`) run once for the whole
    test session, on first use."""
    runs: dict[str, tuple[RunResult, Path]] = {}

    def run(name: str) -> tuple[RunResult, Path]:
        if name not in runs:
            out = tmp_path_factory.mktemp(name)
            runs[name] = (run_scenario(scaled(name), out), out)
        return runs[name]

    return run
