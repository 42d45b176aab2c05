"""Shared fixtures: every test that starts actors gets them stopped, whatever happens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def actors() -> Iterator[None]:
    """Stop every Pykka actor a test started, even when the test fails."""
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=10)


@pytest.fixture
def scenarios_dir() -> Path:
    return ROOT / "scenarios"


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled quickstart, run once per session: a real run folder to read."""
    from upisim.scenarios.config import bundled_scenarios, load_scenario
    from upisim.scenarios.run import run_scenario

    out = tmp_path_factory.mktemp("quickstart-run")
    run_scenario(load_scenario(bundled_scenarios()["quickstart"]), out)
    return out
