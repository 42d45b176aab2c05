"""Reports on a finished run: load its tables, build the HTML report, compare two runs.

Reads run folders only (docs/run-folder.md); never imports actors, scenarios or SimPy.
The report and the comparison (matplotlib) load on first use, so ``upisim run`` and
``from upisim.reports import export`` do not pay for them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from upisim.reports.run import Run, RunFolderError, load_run
from upisim.reports.statement import card_statement, statement

if TYPE_CHECKING:
    from upisim.reports.compare import compare_runs
    from upisim.reports.report import build_report

_LAZY = {"build_report": "report", "compare_runs": "compare"}

__all__ = [
    "Run",
    "RunFolderError",
    "build_report",
    "card_statement",
    "compare_runs",
    "load_run",
    "statement",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"upisim.reports.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'upisim.reports' has no attribute {name!r}")
