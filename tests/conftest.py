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
