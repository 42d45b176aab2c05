"""The README's examples run as written (on the quickstart, to stay quick)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_notebook_example_runs(tmp_path: Path, monkeypatch) -> None:
    (block,) = [b for b in python_blocks() if "import upisim" in b]
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(block.replace('"population"', '"quickstart"'), scope)
    assert len(scope["run"].transactions) == 10  # type: ignore[attr-defined]
    assert (tmp_path / "runs" / "population" / "summary.json").exists()


def test_the_actor_example_runs(actors: None) -> None:
    (block,) = [b for b in python_blocks() if "LogicActor.start" in b]
    assert "assert out.sends[0][4].code" in block  # the example checks its own answer
    exec(block, {})
