"""The code's own shape: each module reads in one sitting, each address is made in one place."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def _sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def test_no_module_of_actors_or_scenarios_is_longer_than_one_sitting():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources("actors", "scenarios")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"over {MAX_LINES} lines: split them"


def test_addresses_are_made_and_read_only_in_the_addresses_module():
    spelled = re.compile(r'"bank:|"users:|"switch"')
    found = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in _sources("actors", "scenarios")
        if p.name != "addresses.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if spelled.search(line)
    ]
    assert found == []


def test_reports_read_run_folders_only():
    imports = re.compile(r"^\s*(from|import)\s+(upisim\.(actors|scenarios)|simpy|pykka)\b")
    found = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in _sources("reports")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if imports.search(line)
    ]
    assert found == []
