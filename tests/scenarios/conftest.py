"""Fixtures shared by the whole-run tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from upisim.scenarios.config import bundled_scenarios, load_scenario
from upisim.scenarios.run import RunResult, run_scenario

Bundled = Callable[[str], tuple[RunResult, Path]]


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Bundled:
    """Each bundled scenario run once for the whole test session, on first use."""
    runs: dict[str, tuple[RunResult, Path]] = {}

    def run(name: str) -> tuple[RunResult, Path]:
        if name not in runs:
            out = tmp_path_factory.mktemp(name)
            runs[name] = (run_scenario(load_scenario(bundled_scenarios()[name]), out), out)
        return runs[name]

    return run
