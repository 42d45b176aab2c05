"""Fixtures for the reports tests: hand-made run folders (see fake_run.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reports.fake_run import Fixture, write_run
from upisim.reports import build_report


@pytest.fixture(scope="session")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Fixture]:
    """Write a fresh fixture run: `make_run(name, rate_limited=24, per_minute=5, leak_paise=0,
    cards=True, card_leak_paise=0, seed=42)`."""

    def make(name: str = "run", **kwargs: int | bool) -> Fixture:
        return write_run(tmp_path_factory.mktemp(name), **kwargs)

    return make


@pytest.fixture(scope="session")
def fixture_run(make_run: Callable[..., Fixture]) -> Fixture:
    """The default fixture run; tests must not write into it except `report/`."""
    return make_run("run")


@pytest.fixture(scope="session")
def fixture_report(fixture_run: Fixture) -> Path:
    """The default run's report, built once into the run folder (the default place)."""
    return build_report(fixture_run.path)


@pytest.fixture(scope="session")
def fixture_report_again(fixture_run: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run's report built a second time, elsewhere (for determinism and browsers)."""
    return build_report(fixture_run.path, tmp_path_factory.mktemp("again"))
